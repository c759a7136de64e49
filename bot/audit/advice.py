"""What to do about an account that could not be read: a hint for the error lines an operator
can fix by deploying something (pure: it reads the ``"Operation: Code"`` lines only).

- ``AssumeRole <role>: AccessDenied``: the audit role is missing in that account, or does not
  trust the bot's role;
- ``GetAccountSummary`` / ``GenerateCredentialReport`` / ``GetCredentialReport``:
  ``AccessDenied``: the role is there but lacks a permission (an older template).

Throttling, time-outs and AWS's own failures get no hint: deploying changes nothing there.
"""

from __future__ import annotations

from collections.abc import Sequence

DENIED = ("AccessDenied", "AccessDeniedException")
ROLE_READS = ("GetAccountSummary", "GenerateCredentialReport", "GetCredentialReport")
DOCTOR = "python -m bot doctor checks every account"


def denied(error: str, operation: str) -> bool:
    head, _, rest = error.partition(":")
    return head.strip().startswith(operation) and rest.strip().startswith(DENIED)


def advice(errors: Sequence[str]) -> str | None:
    """One sentence for the first error that a deployment fixes, else None."""
    for error in errors:
        if denied(error, "AssumeRole"):
            return (
                "deploy deploy/audit-role.yaml in that account (the rootkey-audit-role "
                f"StackSet, trusting the bot's role); {DOCTOR}"
            )
        if any(denied(error, operation) for operation in ROLE_READS):
            return (
                "the audit role there lacks this permission: update it from "
                f"deploy/audit-role.yaml (the rootkey-audit-role StackSet); {DOCTOR}"
            )
    return None
