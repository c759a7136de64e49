"""Plain data of the audit: what was read from AWS, and the verdict drawn from it.

Nothing here talks to AWS; everything is immutable and JSON-serialisable through ``to_dict``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any


class Status(StrEnum):
    COMPLIANT = "compliant"
    NONCOMPLIANT = "noncompliant"
    ERROR = "error"


# A verdict's ``source`` when it was read live from AWS by an audit; any other source (a
# credential report file, "report:<file>") is evidence of the past, which may be hours old.
LIVE_SOURCE = "aws"

# Worst first: the order results are shown in.
STATUS_ORDER = {Status.NONCOMPLIANT: 0, Status.ERROR: 1, Status.COMPLIANT: 2}


def iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class KeySlot:
    """One of the root user's two access-key slots, where a key exists."""

    slot: int
    active: bool
    last_rotated: datetime | None = None
    last_used_date: datetime | None = None
    last_used_region: str | None = None
    last_used_service: str | None = None
    age_days: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "slot": self.slot,
            "active": self.active,
            "last_rotated": iso(self.last_rotated),
            "last_used_date": iso(self.last_used_date),
            "last_used_region": self.last_used_region,
            "last_used_service": self.last_used_service,
            "age_days": self.age_days,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> KeySlot:
        return cls(
            slot=int(data["slot"]),
            active=bool(data["active"]),
            last_rotated=parse_iso(data.get("last_rotated")),
            last_used_date=parse_iso(data.get("last_used_date")),
            last_used_region=data.get("last_used_region"),
            last_used_service=data.get("last_used_service"),
            age_days=data.get("age_days"),
        )


@dataclass(frozen=True)
class AccountSummary:
    """The root-user flags of IAM GetAccountSummary (None where AWS did not return one)."""

    access_keys_present: bool | None
    mfa_enabled: bool | None = None
    signing_certificates_present: bool | None = None
    password_present: bool | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "access_keys_present": self.access_keys_present,
            "mfa_enabled": self.mfa_enabled,
            "signing_certificates_present": self.signing_certificates_present,
            "password_present": self.password_present,
        }


@dataclass(frozen=True)
class RootRow:
    """The ``<root_account>`` row of a credential report, parsed."""

    arn: str
    account_id: str | None
    password_enabled: bool | None
    password_last_used: datetime | None
    mfa_active: bool | None
    keys: tuple[KeySlot, ...]
    cert_1_active: bool | None = None
    cert_2_active: bool | None = None
    # Values that could not be read, as written: ``access_key_1_last_rotated '04/07/2015' (day
    # and month order ambiguous)``. Each is unknown, never guessed.
    unreadable: tuple[str, ...] = ()
    # Key slots whose ``access_key_N_active`` could not be read: a key there may be active.
    unknown_slots: tuple[int, ...] = ()

    @property
    def active_keys(self) -> tuple[KeySlot, ...]:
        return tuple(k for k in self.keys if k.active)

    @property
    def unreadable_columns(self) -> set[str]:
        return {note.split(" ", 1)[0] for note in self.unreadable}

    @property
    def signing_certificates_active(self) -> bool | None:
        flags = [f for f in (self.cert_1_active, self.cert_2_active) if f is not None]
        return any(flags) if flags else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "arn": self.arn,
            "password_enabled": self.password_enabled,
            "password_last_used": iso(self.password_last_used),
            "mfa_active": self.mfa_active,
            "keys": [k.to_dict() for k in self.keys],
            "signing_certificates_active": self.signing_certificates_active,
            "unreadable": list(self.unreadable),
        }


@dataclass(frozen=True)
class Evidence:
    """What the verdict stands on: kept with every saved verdict."""

    summary: AccountSummary | None = None
    root: RootRow | None = None
    report_generated_at: datetime | None = None
    errors: tuple[str, ...] = ()  # e.g. "GetAccountSummary: AccessDenied"

    def to_dict(self) -> dict[str, Any]:
        return {
            "account_summary": self.summary.to_dict() if self.summary else None,
            "credential_report_root": self.root.to_dict() if self.root else None,
            "report_generated_at": iso(self.report_generated_at),
            "errors": list(self.errors),
        }


@dataclass(frozen=True)
class Verdict:
    # "" when no account could be read (a credential-report file that is not one): JSON says
    # null and CSV an empty cell, so that such verdicts never share an account id.
    account_id: str
    status: Status
    reason: str
    source: str  # LIVE_SOURCE ("aws") for a live audit, "report:<file>" for a report file
    account_name: str | None = None
    keys: tuple[KeySlot, ...] = ()
    root_mfa_active: bool | None = None
    evidence: Evidence = field(default_factory=Evidence)
    checked_at: datetime = field(default_factory=utcnow)

    @property
    def read_live(self) -> bool:
        """Read from AWS by this audit, not taken from a saved credential report."""
        return self.source == LIVE_SOURCE

    @property
    def label(self) -> str:
        account = self.account_id or "unknown account"
        return f"{account} ({self.account_name})" if self.account_name else account

    def to_dict(self) -> dict[str, Any]:
        return {
            "account_id": self.account_id or None,
            "account_name": self.account_name,
            "source": self.source,
            "status": self.status.value,
            "reason": self.reason,
            "keys": [k.to_dict() for k in self.keys],
            "root_mfa_active": self.root_mfa_active,
            "checked_at": iso(self.checked_at),
            "evidence": self.evidence.to_dict(),
        }


@dataclass(frozen=True)
class OrgFeatures:
    """Centralized root access features; None = unknown (caller is not the management account)."""

    root_credentials_management: bool | None = None
    root_sessions: bool | None = None

    @property
    def assume_root_ready(self) -> bool:
        return bool(self.root_credentials_management and self.root_sessions)

    def to_dict(self) -> dict[str, Any]:
        def word(flag: bool | None) -> str:
            return "unknown" if flag is None else ("enabled" if flag else "disabled")

        return {
            "RootCredentialsManagement": word(self.root_credentials_management),
            "RootSessions": word(self.root_sessions),
        }


@dataclass(frozen=True)
class Scope:
    """What to audit: the current account, the whole Organization, or named accounts.

    ``known`` (scope ``org``): the accounts of the last audit of the Organization, scanned at
    once while the fresh listing is read. Only a hint: the listing alone decides who is
    reported (a known account that is not an ACTIVE member now is dropped, a new one added)."""

    kind: str  # "account", "org" or "accounts"
    account_ids: tuple[str, ...] = ()
    known: tuple[str, ...] = field(default=(), compare=False, repr=False)

    def describe(self) -> str:
        if self.kind == "org":
            return "every active account of the Organization"
        if self.kind == "accounts":
            n = len(self.account_ids)
            return f"{n} account{'s' if n != 1 else ''}: {', '.join(self.account_ids)}"
        return "the account of the bot's AWS credentials"


@dataclass(frozen=True)
class Summary:
    total: int
    compliant: int
    noncompliant: int
    error: int

    def to_dict(self) -> dict[str, int]:
        return {
            "total": self.total,
            "compliant": self.compliant,
            "noncompliant": self.noncompliant,
            "error": self.error,
        }


@dataclass(frozen=True)
class AuditResult:
    verdicts: tuple[Verdict, ...]
    scope: str = "account"  # "account", "org", "accounts", "reports"
    started_at: datetime = field(default_factory=utcnow)
    finished_at: datetime = field(default_factory=utcnow)
    features: OrgFeatures = field(default_factory=OrgFeatures)
    calls: int = 0  # AWS API calls made, where counted

    @property
    def summary(self) -> Summary:
        count = {s: 0 for s in Status}
        for v in self.verdicts:
            count[v.status] += 1
        return Summary(
            total=len(self.verdicts),
            compliant=count[Status.COMPLIANT],
            noncompliant=count[Status.NONCOMPLIANT],
            error=count[Status.ERROR],
        )

    def sorted(self) -> list[Verdict]:
        """Worst first (noncompliant, error, compliant), then by account id."""
        return sorted(self.verdicts, key=lambda v: (STATUS_ORDER[v.status], v.account_id))

    def to_dict(self) -> dict[str, Any]:
        return {
            "accounts": [v.to_dict() for v in self.sorted()],
            "summary": self.summary.to_dict(),
            "scope": self.scope,
            "started_at": iso(self.started_at),
            "finished_at": iso(self.finished_at),
            "organization_features": self.features.to_dict(),
        }


def parse_iso(value: str | None) -> datetime | None:
    if not value:
        return None
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def mask_key_id(key_id: str) -> str:
    """``AKIAIOSFODNN7EXAMPLE`` -> ``AKIA************MPLE``: never show a whole key id."""
    if len(key_id) <= 8:
        return "*" * len(key_id)
    return key_id[:4] + "*" * (len(key_id) - 8) + key_id[-4:]
