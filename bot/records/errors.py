"""The failures the use cases catch, raised by the adapters: the database could not answer
(``StoreError``), the audit as a whole could not run (``AuditError``; ``AuditFailed`` as it
comes back from an audit worker process), a step of centralized root access failed
(``RootAccessError``). No driver, boto3 or Slack import.
"""

from __future__ import annotations

import re

# "Operation: Code" as ``AwsReadError`` writes it, alone or quoted in a longer line. A code is
# AWS's CamelCase (AccessDenied, ThrottlingException) or an HTTP status botocore names an HTML
# answer by; a member state (SUSPENDED) or prose after the colon is no AWS error code.
ERROR_CODE = re.compile(r"(?:^|[(\s])[A-Za-z]+: ([A-Z][a-z][A-Za-z0-9.]{0,62}|[0-9]{3})\b")


class StoreError(Exception):
    """The database could not be reached or answered with an error."""

    # What Slack users read: never the driver's text (it names hosts, ports and roles); the
    # one error handler logs that detail instead.
    USER_LINE = "database not available: try again in a minute (the details are in rootkey's log)"
    log_detail = True

    @property
    def user_message(self) -> str:
        """The one line a Slack user reads (through the one error handler)."""
        return self.USER_LINE


def shown_error(exc: BaseException) -> str:
    """A failure as Slack may show it: a database's own text (hosts, ports, roles) goes to the
    log only."""
    return "database not available" if isinstance(exc, StoreError) else str(exc)


class UnknownRun(StoreError):
    def __init__(self, run_id: int) -> None:
        super().__init__(f"no saved audit run with id {run_id}")
        self.run_id = run_id

    @property
    def user_message(self) -> str:
        return str(self)


class AuditError(Exception):
    """The audit as a whole could not run (no credentials, the Organization cannot be listed).

    Per-account failures never raise: they become ``error`` verdicts.
    """


def error_code_in(line: str) -> str | None:
    """The AWS error code a one-line error (``GetAccountSummary: AccessDenied (...)``, an
    audit's failure quoting one) names; None when it names none (an unexpected failure)."""
    match = ERROR_CODE.search(line)
    return match.group(1) if match else None


class RootAccessError(Exception):
    """A step of centralized root access failed; ``str()`` is one line for the thread."""


class AuditFailed(Exception):
    """An audit failed in its worker process (or the worker died); carries only what the user
    reads, so that it crosses the process boundary (picklable)."""

    def __init__(self, message: str, error_id: str | None = None) -> None:
        super().__init__(message)
        self.user_message = message + (f" (error id {error_id})" if error_id else "")
        self.error_id = error_id

    def __reduce__(self) -> tuple[type[AuditFailed], tuple[str, str | None]]:
        return (AuditFailed, (str(self.args[0]), self.error_id))
