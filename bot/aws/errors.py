"""Typed failures of the AWS side, without any boto3 import (handlers catch these by name)."""

from __future__ import annotations

from bot.records.errors import AuditError, error_code_in

__all__ = ["AccountTimeout", "AuditError", "AwsReadError", "error_code_in"]


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
