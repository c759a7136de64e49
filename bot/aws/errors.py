"""Typed failures of the AWS side, without any boto3 import (handlers catch these by name)."""

from __future__ import annotations

import re

# "Operation: Code" as ``AwsReadError`` writes it, alone or quoted in a longer line. A code is
# AWS's CamelCase (AccessDenied, ThrottlingException) or an HTTP status botocore names an HTML
# answer by; a member state (SUSPENDED) or prose after the colon is no AWS error code.
ERROR_CODE = re.compile(r"(?:^|[(\s])[A-Za-z]+: ([A-Z][a-z][A-Za-z0-9.]{0,62}|[0-9]{3})\b")


class AuditError(Exception):
    """The audit as a whole could not run (no credentials, the Organization cannot be listed).

    Per-account failures never raise: they become ``error`` verdicts.
    """


class AwsReadError(Exception):
    """One read failed; ``str()`` is one line like ``GetAccountSummary: AccessDenied``."""

    def __init__(self, operation: str, code: str, detail: str = "") -> None:
        self.operation = operation
        self.code = code
        self.detail = detail
        super().__init__(f"{operation}: {code}" + (f" ({detail})" if detail else ""))


class AccountTimeout(AwsReadError):
    """The per-account time limit ran out."""

    def __init__(self, operation: str, seconds: float) -> None:
        super().__init__(operation, "Timeout", f"account time limit of {seconds:g} s reached")


def error_code_in(line: str) -> str | None:
    """The AWS error code a one-line error (``GetAccountSummary: AccessDenied (...)``, an
    audit's failure quoting one) names; None when it names none (an unexpected failure)."""
    match = ERROR_CODE.search(line)
    return match.group(1) if match else None
