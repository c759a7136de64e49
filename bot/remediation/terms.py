"""The terms of a request, as its hashed log line recorded them when they were decided.

The requests and exceptions tables are working copies the bot's database role may UPDATE; the
log is append-only and hash-chained (``bot.remediation.chain``). So what a request is about is
written into the log line of the moment it is decided, and read back from there:

* the line of the request (``requested``): the keys it is about, why it was made (its reason
  and ticket, as typed) and, for an accepted risk, its owner and end date, as the requester
  asked and the approvers were shown;
* the line of the approval (``approved``): the same terms, with the accepted risk's start;
* a request still open when revision 0010 was applied got one line recording its terms as the
  tables held them then (without a reason or ticket).

A line that records a reason records the ticket with it (absent: none was given); a line
without a reason records neither (lines written before they were logged keep their JSON text,
and their hash, as written), and the tables' reason and ticket stand for such a request.

Rules:
* A request's terms are those of its first line with terms that approved it (or recorded an
  approved request at the upgrade); before its approval, those of its first line with terms.
  A later line never overrides them.
* The coverage of an accepted risk (``keys.risk_coverage``), the accepted risks shown anywhere,
  the keys a remediation may delete and a request's reason and ticket all read these terms,
  never the tables.
* ``python -m bot log --verify`` names each request whose tables disagree with its line
  (``disagreements``).

Pure: no database, no Slack.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from bot.remediation.keys import KeyPrint
from bot.remediation.models import Request
from bot.remediation.states import Kind, State

INSTANT = "%Y-%m-%dT%H:%M:%S.%fZ"


def instant(value: datetime | None) -> str | None:
    return value.astimezone(UTC).strftime(INSTANT) if value is not None else None


def parse_instant(raw: Any) -> datetime | None:
    if raw is None:
        return None
    return datetime.strptime(str(raw), INSTANT).replace(tzinfo=UTC)


def shown(value: datetime | None) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC") if value else "none"


@dataclass(frozen=True)
class Terms:
    """What a request is about: its keys (None: none recorded), why it was made (its reason
    and ticket; a reason of None: neither recorded) and, for an accepted risk, its owner, start
    (once approved) and end."""

    keys: tuple[KeyPrint, ...] | None
    owner: str | None = None
    starts: datetime | None = None
    until: datetime | None = None
    reason: str | None = None
    ticket: str | None = None  # a ticket id or link as the request stored it; None: none given

    def encode(self) -> str:
        """One JSON text per terms (sorted keys): what the log line stores and hashes. The
        reason and the ticket are written only when set, so terms without them encode as they
        did before they were logged."""
        data: dict[str, Any] = {
            "keys": None if self.keys is None else [k.to_dict() for k in self.keys],
            "owner": self.owner,
            "starts": instant(self.starts),
            "until": instant(self.until),
        }
        if self.reason is not None:
            data["reason"] = self.reason
        if self.ticket is not None:
            data["ticket"] = self.ticket
        return json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def decode(cls, raw: str) -> Terms:
        data = json.loads(raw)
        prints = data.get("keys")
        return cls(
            keys=None if prints is None else tuple(KeyPrint.from_dict(p) for p in prints),
            owner=data.get("owner"),
            starts=parse_instant(data.get("starts")),
            until=parse_instant(data.get("until")),
            reason=data.get("reason"),
            ticket=data.get("ticket"),
        )

    @classmethod
    def asked(cls, kind: Kind, prints: Sequence[KeyPrint] | None, owner: str | None,
              until: datetime | None, reason: str, ticket: str | None) -> Terms:  # fmt: skip
        """The terms of a new request: every request's keys, reason and ticket, an accepted
        risk's owner and end."""
        prints = None if prints is None else tuple(prints)
        if kind is Kind.EXCEPTION:
            return cls(prints, owner=owner, until=until, reason=reason, ticket=ticket)
        return cls(prints, reason=reason, ticket=ticket)

    def approved(self, kind: Kind, requester: str, now: datetime) -> Terms:
        """The terms an approval at ``now`` decides: an accepted risk starts now, is owned by
        its requester when nobody else was named, and ends now when no end was asked."""
        if kind is not Kind.EXCEPTION:
            return self
        return replace(self, owner=self.owner or requester, starts=now, until=self.until or now)


@dataclass(frozen=True)
class Logged:
    """A request's terms and the log line that recorded them."""

    line_id: int
    approved: bool  # written when the request was approved (or recorded as approved)
    terms: Terms


def decided(lines: Iterable[tuple[int, str | None, str]]) -> Logged | None:
    """``(line id, to_state, terms)`` of one request's lines with terms, in id order: the first
    that approved it, else the first (None: no line recorded terms)."""
    first: Logged | None = None
    for line_id, to_state, raw in lines:
        approved = to_state == State.APPROVED.value
        if first is None or approved:
            found = Logged(line_id, approved, Terms.decode(raw))
            if approved:
                return found
            first = found
    return first


def applied(request: Request, logged: Logged | None) -> Request:
    """``request`` with the terms its log recorded in place of its table's (unchanged when no
    line recorded any: a request from before revision 0010 that was closed by then; its reason
    and ticket unchanged when the line recorded no reason)."""
    if logged is None:
        return request
    terms = logged.terms
    if terms.reason is not None:
        request = replace(request, reason=terms.reason, ticket_url=terms.ticket)
    if request.kind is Kind.EXCEPTION:
        return replace(
            request, key_prints=terms.keys, owner=terms.owner, exception_until=terms.until
        )
    return replace(request, key_prints=terms.keys)


def _prints(value: Sequence[KeyPrint] | None) -> list[dict[str, Any]] | None:
    return None if value is None else [k.to_dict() for k in value]


def _keys_text(value: Sequence[KeyPrint] | None) -> str:
    if value is None:
        return "none recorded"
    return ", ".join(k.describe() for k in value) or "no key"


def _quoted(value: str | None) -> str:
    """Free text in double quotes, on one line (a reason may hold commas and line breaks)."""
    return json.dumps(value, ensure_ascii=False) if value is not None else "none"


def disagreements(
    logged: Terms,
    request: Request,
    exception: tuple[str, datetime, datetime, str] | None,
) -> list[str]:
    """Where the tables (``request``'s row; ``exception``: the accepted risk's owner, start,
    end and reason in ``risk_exceptions``) say something else than the logged terms, in
    words. A reason and ticket are compared only when the line recorded a reason."""
    found: list[str] = []
    if _prints(request.key_prints) != _prints(logged.keys):
        found.append(
            f"remediation_requests.key_prints has {_keys_text(request.key_prints)}, "
            f"the line {_keys_text(logged.keys)}"
        )
    if logged.reason is not None:
        if request.reason != logged.reason:
            found.append(
                f"remediation_requests.reason is {_quoted(request.reason)}, "
                f"the line {_quoted(logged.reason)}"
            )
        if request.ticket_url != logged.ticket:
            found.append(
                f"remediation_requests.ticket_url is {_quoted(request.ticket_url)}, "
                f"the line {_quoted(logged.ticket)}"
            )
    if request.kind is not Kind.EXCEPTION:
        return found
    if (request.owner or request.requester) != (logged.owner or request.requester):
        found.append(f"remediation_requests.owner is {request.owner}, the line {logged.owner}")
    if request.exception_until is not None and request.exception_until != logged.until:
        found.append(
            f"remediation_requests.exception_until is {shown(request.exception_until)}, "
            f"the line {shown(logged.until)}"
        )
    if exception is not None:
        owner, starts, until, reason = exception
        if logged.reason is not None and reason != logged.reason:
            found.append(
                f"risk_exceptions.reason is {_quoted(reason)}, the line {_quoted(logged.reason)}"
            )
        if owner != (logged.owner or request.requester):
            found.append(f"risk_exceptions.owner is {owner}, the line {logged.owner}")
        if logged.starts is not None and starts != logged.starts:
            found.append(
                f"risk_exceptions.starts_at is {shown(starts)}, the line {shown(logged.starts)}"
            )
        if until != logged.until:
            found.append(
                f"risk_exceptions.expires_at is {shown(until)}, the line {shown(logged.until)}"
            )
    return found
