"""The verdict: does this account's root user have an access key?

A pure function of what was read (the IAM account summary, the credential report's root row,
and the errors met while reading). No boto3 here.

Rules:
* The account summary is the live truth for presence: ``AccountAccessKeysPresent`` counts a
  key whether it is active or not. A key present -> noncompliant; a key that is only inactive
  is "deactivated; delete it to finish".
* The credential report adds detail (slot, age, last use) but can hide inactive keys and can be
  up to 4 hours old, so its generation time goes into the reason.
* From a report alone (no summary) the verdict follows the CIS console audit: an active key is
  noncompliant; the reason says inactive keys are not visible in a report.
* Nothing read, or only partial data that cannot rule a key out -> error, never compliant. A
  report row that says a key is active is noncompliant however damaged the rest of it is; the
  values that could not be read are named as unknown. A slot whose active flag cannot be read
  (a row cut short) rules nothing out.
* An account id that is not an ACTIVE member of the Organization is not read at all -> error
  ("not a member of the Organization"), never compliant.
* A report generated in the future (a wrong clock, an edited file) is said in the reason.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import replace
from datetime import datetime, timedelta

from bot.audit.advice import advice
from bot.audit.models import AccountSummary, Evidence, KeySlot, RootRow, Status, Verdict

REPORT_BLIND_SPOT = "a credential report does not show inactive keys"
CLOCK_TOLERANCE = timedelta(minutes=5)


def when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else "unknown time"


def with_age(key: KeySlot, now: datetime) -> KeySlot:
    if key.last_rotated is None:
        return replace(key, age_days=None)
    return replace(key, age_days=max(0, (now - key.last_rotated).days))


def describe_key(key: KeySlot, unreadable: Collection[str] = ()) -> str:
    """``key 1 is 400 days old, last used 2026-05-30 by s3 in us-east-1``. ``unreadable``: the
    report's columns that could not be read (their values are unknown, not absent)."""
    parts = []
    if key.age_days is not None:
        parts.append(f"is {key.age_days} day{'s' if key.age_days != 1 else ''} old")
    elif f"access_key_{key.slot}_last_rotated" in unreadable:
        parts.append("age unknown")
    if f"access_key_{key.slot}_last_used_date" in unreadable and not key.last_used_date:
        parts.append("last use unknown")
    elif key.last_used_date:
        used = f"last used {key.last_used_date.strftime('%Y-%m-%d')}"
        if key.last_used_service:
            used += f" by {key.last_used_service}"
        if key.last_used_region:
            used += f" in {key.last_used_region}"
        parts.append(used)
    else:
        parts.append("never used")
    return f"key {key.slot} " + ", ".join(parts)


def describe_keys(keys: Sequence[KeySlot], unreadable: Collection[str] = ()) -> str:
    return "; ".join(describe_key(k, unreadable) for k in keys)


def unknown_note(root: RootRow | None) -> str:
    """``; unknown: access_key_2_active (no value: ...)`` for the values a report could not give."""
    if root is None or not root.unreadable:
        return ""
    return "; unknown: " + "; ".join(root.unreadable)


def future_note(generated_at: datetime | None, now: datetime) -> str:
    if generated_at is None or generated_at <= now + CLOCK_TOLERANCE:
        return ""
    return (
        f"; the report says it was generated at {when(generated_at)}, in the future: "
        "this machine's clock or the file is wrong"
    )


def report_note(generated_at: datetime | None) -> str:
    if generated_at is None:
        return "credential report"
    return f"credential report of {when(generated_at)}"


def credentials_removed(summary: AccountSummary) -> bool:
    return (
        summary.access_keys_present is False
        and summary.mfa_enabled is False
        and summary.signing_certificates_present is False
        and summary.password_present is False
    )


def decide(
    account_id: str,
    *,
    source: str,
    now: datetime,
    summary: AccountSummary | None = None,
    root: RootRow | None = None,
    report_generated_at: datetime | None = None,
    errors: Sequence[str] = (),
    account_name: str | None = None,
) -> Verdict:
    """One account's verdict from what could be read. ``errors`` are lines like
    ``"GetAccountSummary: AccessDenied"``; ``now`` dates the key ages."""
    keys = tuple(with_age(k, now) for k in root.keys) if root else ()
    evidence = Evidence(
        summary=summary,
        root=root,
        report_generated_at=report_generated_at,
        errors=tuple(errors),
    )

    def verdict(status: Status, reason: str, shown: tuple[KeySlot, ...] = keys) -> Verdict:
        # the summary is live; the report may be hours old
        mfa = summary.mfa_enabled if summary is not None else None
        if mfa is None and root is not None:
            mfa = root.mfa_active
        if root is not None:
            reason += unknown_note(root) + future_note(report_generated_at, now)
        return Verdict(
            account_id=account_id,
            account_name=account_name,
            status=status,
            reason=reason,
            source=source,
            keys=shown,
            root_mfa_active=mfa,
            evidence=evidence,
            checked_at=now,
        )

    problems = "; ".join(errors)

    if summary is not None and summary.access_keys_present is not None:
        return from_summary(summary, root, keys, report_generated_at, problems, verdict)

    if summary is not None and not errors:
        problems = "GetAccountSummary did not return AccountAccessKeysPresent"

    if root is not None:
        return from_report(root, keys, report_generated_at, problems, verdict)

    hint = advice(errors)
    reason = f"could not audit: {problems or 'nothing could be read'}"
    return verdict(Status.ERROR, reason + (f" ({hint})" if hint else ""), ())


def from_summary(
    summary: AccountSummary,
    root: RootRow | None,
    keys: tuple[KeySlot, ...],
    generated_at: datetime | None,
    problems: str,
    verdict: Callable[..., Verdict],
) -> Verdict:
    if not summary.access_keys_present:
        if credentials_removed(summary):
            return verdict(
                Status.COMPLIANT,
                "root credentials removed: no password, access key, signing certificate or MFA",
                (),
            )
        if root is not None and root.keys:
            return verdict(
                Status.COMPLIANT,
                f"no root access key (account summary); the {report_note(generated_at)} "
                "still lists one, deleted since",
                (),
            )
        return verdict(Status.COMPLIANT, "no root access key (account summary)", ())

    active = tuple(k for k in keys if k.active)
    inactive = tuple(k for k in keys if not k.active)
    unreadable = root.unreadable_columns if root is not None else set()
    if active:
        reason = f"root access key active: {describe_keys(active, unreadable)}"
        if inactive:
            reason += f"; also deactivated, delete it too: {describe_keys(inactive, unreadable)}"
        return verdict(Status.NONCOMPLIANT, f"{reason} ({report_note(generated_at)})")
    if inactive:
        return verdict(
            Status.NONCOMPLIANT,
            "root access key deactivated; delete it to finish: "
            f"{describe_keys(inactive, unreadable)} ({report_note(generated_at)})",
        )
    if root is not None:
        return verdict(
            Status.NONCOMPLIANT,
            f"root access key present (account summary); the {report_note(generated_at)} "
            "does not list it: it is inactive or newer than the report; delete it",
        )
    detail = f" ({problems})" if problems else ""
    return verdict(
        Status.NONCOMPLIANT, f"root access key present (account summary); no key details{detail}"
    )


def from_report(
    root: RootRow,
    keys: tuple[KeySlot, ...],
    generated_at: datetime | None,
    problems: str,
    verdict: Callable[..., Verdict],
) -> Verdict:
    active = tuple(k for k in keys if k.active)
    inactive = tuple(k for k in keys if not k.active)
    note = report_note(generated_at)
    if active:
        described = describe_keys(active, root.unreadable_columns)
        reason = f"root access key active: {described} ({note})"
        if problems:
            reason += f" (account summary unavailable: {problems})"
        return verdict(Status.NONCOMPLIANT, reason)
    if root.unknown_slots:
        slots = " and ".join(str(slot) for slot in root.unknown_slots)
        which = f"keys {slots} are" if len(root.unknown_slots) > 1 else f"key {slots} is"
        detail = f"; {problems}" if problems else ""
        return verdict(
            Status.ERROR,
            f"could not audit: the {note}'s root row does not say whether {which} active{detail}",
        )
    if problems:
        return verdict(
            Status.ERROR,
            f"could not audit: {problems}; the {note} shows no active key, but {REPORT_BLIND_SPOT}",
        )
    reason = f"no active root access key in the {note}; {REPORT_BLIND_SPOT}"
    if inactive:
        slots = " and ".join(str(k.slot) for k in inactive)
        reason += f" (key {slots} marked inactive: deactivated or deleted)"
    return verdict(Status.COMPLIANT, reason)


def not_audited(
    account_id: str,
    reason: str,
    *,
    source: str,
    now: datetime,
    errors: Sequence[str] = (),
    account_name: str | None = None,
) -> Verdict:
    """An account that was deliberately not read (not a member of the Organization): an
    ``error`` whose reason says why, never compliant."""
    return Verdict(
        account_id=account_id,
        account_name=account_name,
        status=Status.ERROR,
        reason=reason,
        source=source,
        evidence=Evidence(errors=tuple(errors) or (reason,)),
        checked_at=now,
    )
