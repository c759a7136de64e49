"""Pure decisions drawn from audit verdicts and settings: mode, key progress, dates, owners."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from urllib.parse import quote

from bot.audit.models import KeySlot, OrgFeatures, Status, Verdict
from bot.remediation.errors import InvalidInput
from bot.remediation.states import Mode, State
from bot.rules import is_account_id, is_user_id

MAX_EXCEPTION_DAYS = 90
RECENT_USE_DAYS = 30


class KeyProgress(StrEnum):
    """Where the root keys of an account stand, as one re-audit sees them."""

    ACTIVE = "active"  # at least one key is active (or present and we cannot tell)
    DEACTIVATED = "deactivated"  # keys present, all inactive
    DELETED = "deleted"  # no root key left
    UNKNOWN = "unknown"  # the audit could not read the account


def key_progress(verdict: Verdict) -> KeyProgress:
    if verdict.status is Status.ERROR:
        return KeyProgress.UNKNOWN
    if verdict.status is Status.COMPLIANT:
        return KeyProgress.DELETED
    if verdict.keys and not any(k.active for k in verdict.keys):
        return KeyProgress.DEACTIVATED
    return KeyProgress.ACTIVE


def tracked_target(state: State, progress: KeyProgress) -> State | None:
    """The state a tracked request moves to after a re-audit, or None to stay put."""
    if progress is KeyProgress.DELETED:
        return State.VERIFIED
    if progress is KeyProgress.DEACTIVATED and state is State.TRACKING:
        return State.DEACTIVATED
    if progress is KeyProgress.ACTIVE and state is State.DEACTIVATED:
        return State.TRACKING
    return None


def choose_mode(configured: str, features: OrgFeatures) -> tuple[Mode, str]:
    """The mode that applies to an account, and why it is not the one configured ("" when it
    is: the mode itself is described once, where it is shown)."""
    if configured != Mode.ASSUME_ROOT.value:
        return Mode.TRACKED, ""
    if features.assume_root_ready:
        return Mode.ASSUME_ROOT, ""
    flags = features.to_dict()
    return Mode.TRACKED, (
        "ROOTKEY_REMEDIATION=assume-root, but centralized root access is not ready "
        f"(RootCredentialsManagement {flags['RootCredentialsManagement']}, "
        f"RootSessions {flags['RootSessions']})"
    )


def used_recently(key: KeySlot, now: datetime, days: int = RECENT_USE_DAYS) -> bool:
    return key.last_used_date is not None and now - key.last_used_date <= timedelta(days=days)


def exception_end(until: date, today: date) -> datetime:
    """The end of an exception chosen as a date: after today and at most 90 days ahead."""
    if until <= today:
        raise InvalidInput("until", "Pick a date after today.")
    if until > today + timedelta(days=MAX_EXCEPTION_DAYS):
        raise InvalidInput("until", f"An exception lasts at most {MAX_EXCEPTION_DAYS} days.")
    return datetime.combine(until, time(0, 0), tzinfo=UTC)


def clean_reason(raw: str | None) -> str:
    reason = (raw or "").strip()
    if len(reason) < 3:
        raise InvalidInput("reason", "Give a reason (a few words at least).")
    if len(reason) > 2000:
        raise InvalidInput("reason", "Keep the reason under 2,000 characters.")
    return reason


def clean_optional_reason(raw: str | None) -> str | None:
    """A reason that may be left out (a rejection's): None when blank, else as ``clean_reason``
    keeps it (at most 2,000 characters, else ``InvalidInput``)."""
    reason = (raw or "").strip()
    if not reason:
        return None
    if len(reason) > 2000:
        raise InvalidInput("reason", "Keep the reason under 2,000 characters.")
    return reason


TICKET_LINK = re.compile(r"https?://[^\s<>|]{3,500}")
# A ticket id as trackers write them: SEC-1234, INC0012345, #42. No spaces, dots, slashes or
# markup, so that neither the text nor a link made from it can carry anything else.
TICKET_ID = re.compile(r"#?[A-Za-z0-9][A-Za-z0-9_-]{0,63}")


def clean_ticket(raw: str | None, link_template: str | None = None) -> str | None:
    """A ticket reference as typed: a link (http or https) is kept; a ticket id (``SEC-1234``)
    becomes a link through ``link_template`` (``ROOTKEY_TICKET_URL``, with ``{id}``) when one
    is set, else stays the id. Anything else raises ``InvalidInput``."""
    ticket = (raw or "").strip()
    if not ticket:
        return None
    if TICKET_LINK.fullmatch(ticket):
        return ticket
    if not TICKET_ID.fullmatch(ticket) or "://" in ticket:
        raise InvalidInput(
            "ticket", "Give a ticket id like SEC-1234, or a link (http or https) to the ticket."
        )
    if link_template:
        return link_template.replace("{id}", quote(ticket, safe=""))
    return ticket


def parse_owners(text: str) -> dict[str, str]:
    """Parse an owners file: a JSON object, or lines ``<account id> <Slack user id>``.

    Lines may use spaces, ``=``, ``:`` or ``,`` between the two; ``#`` starts a comment.
    Raises ``ValueError`` naming the bad entry.
    """
    stripped = text.strip()
    pairs: list[tuple[str, str, str]] = []
    if stripped.startswith("{"):
        try:
            data = json.loads(stripped)
        except RecursionError:
            raise ValueError("the JSON is nested too deeply") from None
        if not isinstance(data, dict):
            raise ValueError("expected a JSON object of account id -> Slack user id")
        pairs = [(str(k), str(v), f"key {k!r}") for k, v in data.items()]
    else:
        for number, line in enumerate(text.splitlines(), start=1):
            body = line.split("#", 1)[0].strip()
            if not body:
                continue
            parts = [p for p in re.split(r"[\s=:,]+", body) if p]
            if len(parts) != 2:
                raise ValueError(f"line {number}: expected '<account id> <Slack user id>'")
            pairs.append((parts[0], parts[1], f"line {number}"))
    owners: dict[str, str] = {}
    for account, user, where in pairs:
        if not is_account_id(account):
            raise ValueError(f"{where}: {account!r} is not a 12-digit account id")
        if not is_user_id(user):
            raise ValueError(f"{where}: {user!r} is not a Slack user id (U...)")
        owners[account] = user
    return owners


def dry_run_applies(request_dry_run: bool, configured_dry_run: bool) -> bool:
    """Dry run when the request was made in dry run or the configuration says so now: the
    safer of the two wins, so turning ``ROOTKEY_DRY_RUN`` on stops deletions still pending."""
    return request_dry_run or configured_dry_run


def too_old_to_start(created_at: datetime, ttl_seconds: float, now: datetime) -> bool:
    """An approved request that has not started and is older than ``ROOTKEY_APPROVAL_TTL``
    expires instead of running (e.g. found at start-up after a long outage)."""
    return created_at + timedelta(seconds=ttl_seconds) <= now
