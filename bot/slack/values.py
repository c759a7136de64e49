"""Button values: ids only, encoded and parsed here.

A value travels through Slack and comes back in a click; it is untrusted input. Parsing is
strict and raises ``BadValue``; handlers reload everything else from the store or from AWS.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.audit.models import Scope
from bot.rules import is_account_id

RUN_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
MAX_VALUE = 2000  # Slack's limit for a button value
MAX_RERUN_ACCOUNTS = 100


class BadValue(ValueError):
    """A button value that the bot did not write (tampered, truncated or from an old version)."""


@dataclass(frozen=True)
class FindingRef:
    """Which finding a button belongs to: the account and, when saved, the audit run."""

    account_id: str
    run_id: str | None = None

    def encode(self) -> str:
        return f"{self.account_id}:{self.run_id or ''}"

    @classmethod
    def decode(cls, value: str) -> FindingRef:
        account_id, sep, run_id = (value or "").partition(":")
        if not sep or not is_account_id(account_id):
            raise BadValue("not a finding reference")
        if run_id and not RUN_ID.fullmatch(run_id):
            raise BadValue("not a finding reference")
        return cls(account_id=account_id, run_id=run_id or None)


def encode_scope(scope: Scope) -> str:
    """``account``, ``org`` or ``accounts:111111111111,222222222222``."""
    if scope.kind == "accounts":
        return "accounts:" + ",".join(scope.account_ids)
    return scope.kind


def decode_scope(value: str) -> Scope:
    if len(value or "") > MAX_VALUE:
        raise BadValue("value too long")
    if value in {"account", "org"}:
        return Scope(kind=value)
    kind, sep, rest = (value or "").partition(":")
    ids = tuple(rest.split(",")) if rest else ()
    if (
        kind != "accounts"
        or not sep
        or not ids
        or len(ids) > MAX_RERUN_ACCOUNTS
        or not all(is_account_id(i) for i in ids)
    ):
        raise BadValue("not an audit scope")
    return Scope(kind="accounts", account_ids=ids)
