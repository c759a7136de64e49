"""The remediation log's hash chain: each line carries a SHA-256 over its content and the
previous line's hash, so a line edited, removed or inserted after the fact (even by a database
superuser who can switch the triggers off) no longer matches, and every later line shows it.

A line written since revision 0009 also names its actor (``actor_name``: the person's name
as the Slack directory gave it, plain text): its hashed content then has a tenth element. Lines
written before have no name (NULL) and keep the nine elements they were hashed with, so the
whole chain still verifies; emptying a later line's name changes its content, and its hash.
A line written since revision 0010 may also carry the terms decided at that moment (``terms``,
``bot.remediation.terms``: the keys, the reason and ticket, an accepted risk's owner and dates):
its content then has eleven elements (the tenth, the name, may be null). Lines without terms
keep nine or ten.

Pure functions; the store writes the hash with each line, ``python -m bot log --verify`` checks
the chain. The first line's "previous hash" is ``GENESIS``.

A chain alone cannot show lines cut off its end, nor a chain rewritten from some line on by
someone who recomputes every later hash. An ``Anchor`` (a line's id and hash, kept outside the
database: every digest posts the log's head in Slack) closes that: ``--verify --anchor ID:HASH``
fails when that line is gone or no longer has that hash.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.remediation.models import LogEntry

GENESIS = "0" * 64


@dataclass(frozen=True)
class LineContent:
    """What a log line says, in the order it is hashed."""

    request_id: int
    account_id: str
    kind: str
    at: datetime
    actor: str
    event: str
    from_state: str | None
    to_state: str | None
    detail: str
    actor_name: str | None = None  # revision 0009; None: a line without one (older, or the bot)
    terms: str | None = None  # revision 0010: the terms decided (JSON); None: none decided here

    @classmethod
    def of(cls, entry: LogEntry) -> LineContent:
        """What a stored line says, as it was hashed when written."""
        return cls(
            request_id=entry.request_id,
            account_id=entry.account_id or "",
            kind=entry.kind or "",
            at=entry.at,
            actor=entry.actor,
            event=entry.event,
            from_state=entry.from_state,
            to_state=entry.to_state,
            detail=entry.detail,
            actor_name=entry.actor_name,
            terms=entry.terms,
        )

    def canonical(self) -> str:
        """One JSON text per content: fixed key order, the instant in UTC to the microsecond."""
        fields: list[object] = [
            self.request_id,
            self.account_id,
            self.kind,
            self.at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            self.actor,
            self.event,
            self.from_state,
            self.to_state,
            self.detail,
        ]
        if self.actor_name is not None or self.terms is not None:
            fields.append(self.actor_name)
        if self.terms is not None:
            fields.append(self.terms)
        return json.dumps(fields, ensure_ascii=False, separators=(",", ":"))


def line_hash(previous: str, content: LineContent) -> str:
    """SHA-256 (hex) of the previous line's hash, a newline, and the line's canonical content."""
    return hashlib.sha256(f"{previous}\n{content.canonical()}".encode()).hexdigest()


@dataclass(frozen=True)
class Mismatch:
    """The first line whose stored hash does not match its content and predecessor."""

    line_id: int
    stored: str | None
    expected: str


def first_mismatch(lines: Iterable[tuple[int, LineContent, str | None]]) -> Mismatch | None:
    """Walk ``(id, content, stored hash)`` in id order; the first line that does not match, or
    None when the whole chain holds."""
    previous = GENESIS
    for line_id, content, stored in lines:
        expected = line_hash(previous, content)
        if stored != expected:
            return Mismatch(line_id, stored, expected)
        previous = expected
    return None


@dataclass(frozen=True)
class Anchor:
    """A log line's id and hash as seen at some moment, kept outside the database."""

    line_id: int
    hash: str

    def __str__(self) -> str:
        return f"{self.line_id}:{self.hash}"

    @classmethod
    def parse(cls, raw: str) -> Anchor:
        """``ID:HASH`` (the 64 hex digits of a line's SHA-256); ``ValueError`` otherwise."""
        line, sep, digest = raw.strip().partition(":")
        digest = digest.lower()
        if (
            not sep
            or not line.isascii()
            or not line.isdigit()
            or len(digest) != 64
            or any(c not in "0123456789abcdef" for c in digest)
        ):
            raise ValueError(f"not an anchor (ID:HASH, a line id and its 64-hex hash): {raw!r}")
        return cls(int(line), digest)


def anchor_problem(anchor: Anchor, found: str | None) -> str | None:
    """None when the line ``anchor`` names still has its hash (``found``: the line's stored
    hash, None when there is no such line); else what is wrong, in words."""
    if found is None:
        return (
            f"log line {anchor.line_id} of the anchor is gone: lines were removed from the log "
            "after the anchor was taken"
        )
    if found != anchor.hash:
        return (
            f"log line {anchor.line_id} no longer has the anchor's hash: the log was rewritten "
            "up to that line after the anchor was taken"
        )
    return None
