"""The remediation log's hash chain: each line carries a SHA-256 over its content and the
previous line's hash, so a line edited, removed or inserted after the fact (even by a database
superuser who can switch the triggers off) no longer matches, and every later line shows it.

A line written since revision 0009 also names its actor (``actor_name``: the person's name
as the Slack directory gave it, plain text): its hashed content then has a tenth element. Lines
written before have no name (NULL) and keep the nine elements they were hashed with, so the
whole chain still verifies; emptying a later line's name changes its content, and its hash.

Pure functions; the store writes the hash with each line, ``python -m bot log --verify`` checks
the chain. The first line's "previous hash" is ``GENESIS``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

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
        if self.actor_name is not None:
            fields.append(self.actor_name)
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
