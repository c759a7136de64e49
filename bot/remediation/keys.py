"""Which root access keys a request or an accepted risk is about: key fingerprints and the two
rules that read them. Pure: no AWS, no Slack, no database.

A fingerprint is what an audit can tell about one key: its slot (credential report), its
creation date (the report's ``access_key_N_last_rotated``, a root session's ``CreateDate``),
whether it is active, and its id where a root session listed it. Last use rides along for the
people deciding; it is never part of the identity.

Rules:
* A key is *one of the recorded keys* when a recorded fingerprint has the same creation date
  (to the second) and, where both sides know them, the same slot and the same key id. A key
  whose creation date is unknown matches nothing: rootkey cannot tell it from a new one.
* A recorded key that was inactive and is active now was *reactivated*: it is no longer the key
  the people deciding saw, so it matches nothing either.
* An accepted risk covers a noncompliant verdict only when the verdict lists its keys and every
  key listed is one of the recorded keys (``coverage``). No key detail (a summary without a
  report row), no recorded keys, a new key or a reactivated one: the finding is shown, never
  the exception.
* The verdict's keys come from the IAM credential report, which AWS regenerates at most every
  4 hours: a key created or reactivated since the report was generated is not in it. So an
  accepted risk does not cover a verdict either when a root-activity alert saw a key created
  or reactivated in the account (``KeyChange``, its CloudTrail event time) at or after the
  time the verdict's report was generated; when that time is unknown, a change at or after the
  risk was accepted is enough. Without alerts there is no ``KeyChange``: the report is all
  rootkey knows.
* A remediation deletes only keys that are one of its recorded keys; any other key stops it
  before anything is deleted (``sort_for_deletion``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from bot.audit.models import KeySlot, Status, iso, mask_key_id, parse_iso


@dataclass(frozen=True)
class KeyPrint:
    """One root access key as rootkey saw it."""

    created: datetime | None
    active: bool
    slot: int | None = None
    key_id: str | None = None
    last_used_date: datetime | None = None
    last_used_region: str | None = None
    last_used_service: str | None = None

    @classmethod
    def of_slot(cls, key: KeySlot) -> KeyPrint:
        return cls(
            created=key.last_rotated,
            active=key.active,
            slot=key.slot,
            last_used_date=key.last_used_date,
            last_used_region=key.last_used_region,
            last_used_service=key.last_used_service,
        )

    @property
    def name(self) -> str:
        """``AKIA************0101`` where the id is known, else ``key 1``."""
        if self.key_id:
            return mask_key_id(self.key_id)
        return f"key {self.slot}" if self.slot is not None else "a key"

    @property
    def created_text(self) -> str:
        return self.created.strftime("%Y-%m-%d %H:%M UTC") if self.created else "at an unknown time"

    def describe(self) -> str:
        """``key 1 (active, created 2025-01-02 10:00 UTC)``: what a thread line names."""
        state = "active" if self.active else "inactive"
        return f"{self.name} ({state}, created {self.created_text})"

    def to_dict(self) -> dict[str, Any]:
        return {
            "slot": self.slot,
            "created": iso(self.created),
            "active": self.active,
            "key_id": self.key_id,
            "last_used_date": iso(self.last_used_date),
            "last_used_region": self.last_used_region,
            "last_used_service": self.last_used_service,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> KeyPrint:
        slot = data.get("slot")
        return cls(
            created=parse_iso(data.get("created")),
            active=bool(data["active"]),
            slot=int(slot) if slot is not None else None,
            key_id=data.get("key_id") or None,
            last_used_date=parse_iso(data.get("last_used_date")),
            last_used_region=data.get("last_used_region"),
            last_used_service=data.get("last_used_service"),
        )

    def as_slot(self) -> KeySlot:
        """The fingerprint as the audit's key model (for showing it like an audited key)."""
        return KeySlot(
            slot=self.slot or 0,
            active=self.active,
            last_rotated=self.created,
            last_used_date=self.last_used_date,
            last_used_region=self.last_used_region,
            last_used_service=self.last_used_service,
        )


def prints_of(keys: Iterable[KeySlot]) -> tuple[KeyPrint, ...]:
    return tuple(KeyPrint.of_slot(k) for k in keys)


def encode(prints: Sequence[KeyPrint] | None) -> str | None:
    """The stored form (a JSON list); None stays None (nothing recorded)."""
    return None if prints is None else json.dumps([p.to_dict() for p in prints])


def decode(raw: str | None) -> tuple[KeyPrint, ...] | None:
    if raw is None:
        return None
    return tuple(KeyPrint.from_dict(item) for item in json.loads(raw))


def same_second(a: datetime, b: datetime) -> bool:
    return a.replace(microsecond=0) == b.replace(microsecond=0)


def mismatch(recorded: KeyPrint, seen: KeyPrint) -> str | None:
    """None when ``seen`` is the key ``recorded`` was taken of (and not reactivated since);
    else the difference, in words."""
    if seen.created is None or recorded.created is None:
        return "its creation date is unknown"
    if not same_second(recorded.created, seen.created):
        return "created at another time"
    if recorded.slot is not None and seen.slot is not None and recorded.slot != seen.slot:
        return "in another slot"
    if recorded.key_id and seen.key_id and recorded.key_id != seen.key_id:
        return "another key id"
    if seen.active and not recorded.active:
        return "reactivated"
    return None


def recorded_match(recorded: Sequence[KeyPrint], seen: KeyPrint) -> KeyPrint | None:
    return next((r for r in recorded if mismatch(r, seen) is None), None)


def reactivated(recorded: Sequence[KeyPrint], seen: KeyPrint) -> bool:
    return any(mismatch(r, seen) == "reactivated" for r in recorded)


@dataclass(frozen=True)
class KeyChange:
    """The latest root key created or reactivated in an account, as a root-activity alert
    recorded it: CloudTrail's event time, and which of the two it was."""

    at: datetime
    activity: str = "created"  # or "reactivated"


KeyChanges = Mapping[str, KeyChange]  # account id -> its latest key change
NO_CHANGES: KeyChanges = {}


def unseen_change(
    change: KeyChange | None, report_at: datetime | None, accepted_at: datetime | None
) -> str | None:
    """Why the verdict may miss a key (a key change its credential report cannot show), or
    None. ``report_at``: when the report the verdict read was generated."""
    if change is None:
        return None
    at = change.at.astimezone(UTC)
    when = at.strftime("%Y-%m-%d %H:%M UTC")
    if report_at is not None:
        report = report_at.astimezone(UTC)
        if at < report:
            return None
        generated = report.strftime(
            "%H:%M UTC" if report.date() == at.date() else "%Y-%m-%d %H:%M UTC"
        )
        return (
            f"a root key was {change.activity} at {when}, after the credential report this "
            f"audit read (generated {generated})"
        )
    if accepted_at is not None and at < accepted_at.astimezone(UTC):
        return None
    return (
        f"a root key was {change.activity} at {when}, after the risk was accepted, and the "
        "audit does not say when its credential report was generated"
    )


@dataclass(frozen=True)
class Coverage:
    """Whether an accepted risk covers a verdict; ``why`` says why not (for the result)."""

    covered: bool
    why: str = ""


def coverage(
    status: Status,
    keys: Sequence[KeySlot],
    recorded: Sequence[KeyPrint] | None,
    *,
    change: KeyChange | None = None,
    report_at: datetime | None = None,
    accepted_at: datetime | None = None,
) -> Coverage:
    """The one rule deciding whether an accepted risk covers an account's verdict (the check,
    the digest, the Home tab and ``/rootkey status`` all ask it). ``keys`` are the verdict's
    keys, ``recorded`` the fingerprints taken when the risk was accepted (None: none recorded),
    ``change`` the account's latest key created or reactivated per the root-activity alerts
    (None: none, or alerts are off), ``report_at`` when the credential report the verdict read
    was generated, ``accepted_at`` when the risk was accepted."""
    if status is not Status.NONCOMPLIANT:
        return Coverage(False)  # nothing to cover: an error stays an error
    if not recorded:
        return Coverage(
            False, "the exception recorded no keys, so rootkey cannot tell which it was for"
        )
    if not keys:
        return Coverage(
            False, "the audit has no key details, so rootkey cannot tell whether these are "
            "the keys it was accepted for",
        )  # fmt: skip
    for key in keys:
        seen = KeyPrint.of_slot(key)
        if recorded_match(recorded, seen) is not None:
            continue
        if reactivated(recorded, seen):
            return Coverage(False, f"key {key.slot} was reactivated after the risk was accepted")
        return Coverage(
            False, f"key {key.slot} (created {seen.created_text}) is not one it was accepted for"
        )
    unseen = unseen_change(change, report_at, accepted_at)
    if unseen is not None:
        return Coverage(False, unseen)
    return Coverage(True)


class AcceptedRisk(Protocol):
    """What ``risk_coverage`` reads of an accepted risk (a stored exception or its view)."""

    @property
    def key_prints(self) -> Sequence[KeyPrint] | None: ...

    @property
    def starts_at(self) -> datetime: ...


def risk_coverage(
    risk: AcceptedRisk,
    status: Status,
    keys: Sequence[KeySlot],
    report_at: datetime | None,
    change: KeyChange | None,
) -> Coverage:
    """``coverage`` of a verdict (its status, keys and report time) by ``risk``. The store
    builds ``risk`` from the terms its approval's log line recorded (``bot.remediation.terms``):
    its keys and start are never read from the tables the bot's database role may change."""
    return coverage(
        status,
        keys,
        risk.key_prints,
        change=change,
        report_at=report_at,
        accepted_at=risk.starts_at,
    )


@dataclass(frozen=True)
class DeletionPlan:
    """A root session's keys sorted by a request's recorded keys."""

    matching: tuple[KeyPrint, ...]  # recorded: may be deleted
    foreign: tuple[KeyPrint, ...]  # not part of the request: stop, delete nothing

    @property
    def stop(self) -> bool:
        return bool(self.foreign)


def sort_for_deletion(
    recorded: Sequence[KeyPrint] | None, listed: Sequence[KeyPrint]
) -> DeletionPlan:
    matching: list[KeyPrint] = []
    foreign: list[KeyPrint] = []
    for key in listed:
        (matching if recorded_match(recorded or (), key) is not None else foreign).append(key)
    return DeletionPlan(tuple(matching), tuple(foreign))


def foreign_sentence(key: KeyPrint, recorded: Sequence[KeyPrint] | None) -> str:
    """The thread's line for a key that stops a request."""
    if reactivated(recorded or (), key):
        return (
            f"a key of this request was reactivated after it was requested: {key.name}, "
            f"created {key.created_text}; nothing was deleted for it; request again"
        )
    return (
        f"a key that is not part of this request appeared: {key.name}, created "
        f"{key.created_text}; nothing was deleted for it; request again"
    )
