"""The compliance digest: built from the store, posted by the scheduler or `/rootkey digest`.

``DigestService.build(run_id, channel)`` reads a saved audit run and its history and returns a
plain ``Digest``: totals and percent compliant, what is newly noncompliant and what was fixed
since the last digest posted in that channel, what is still open (oldest first, with days
open), the accounts that could not be audited (listed, never counted as compliant), accepted
risks and open remediation requests (from the remediation part, through ``RemediationSource``),
and the 30-day trend. ``publish`` runs a fresh audit, saves it, builds and posts: the message in
the channel, the trend chart and the full CSV in its thread.
"""

from __future__ import annotations

import csv
import io
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Protocol

from bot.audit.models import AuditResult, Scope, Status, iso, utcnow
from bot.aws.errors import AuditError
from bot.remediation.keys import KeyPrint, coverage
from bot.rules import csv_cell
from bot.slack.blocks.common import Message
from bot.slack.blocks.digest import attachment_failed, audit_failed, digest_message
from bot.slack.poster import DeliveryError, Posted
from bot.store import AccountState, RunInfo, Store, TrendDay, changes_of

log = logging.getLogger(__name__)

TREND_DAYS = 30
DEFAULT_LOOKBACK = timedelta(hours=24)  # the baseline when no digest was posted before


# -- what the remediation part supplies ----------------------------------------------------


class OpenRequestView(Protocol):
    @property
    def id(self) -> int: ...
    @property
    def account_id(self) -> str: ...
    @property
    def account_name(self) -> str | None: ...
    @property
    def kind(self) -> str: ...
    @property
    def state(self) -> str: ...
    @property
    def requester(self) -> str: ...
    @property
    def assignee(self) -> str | None: ...
    @property
    def created_at(self) -> datetime: ...


class ExceptionView(Protocol):
    @property
    def account_id(self) -> str: ...
    @property
    def owner(self) -> str: ...
    @property
    def reason(self) -> str: ...
    @property
    def expires_at(self) -> datetime: ...
    @property
    def key_prints(self) -> Sequence[KeyPrint] | None: ...


class RemediationSource(Protocol):
    """Open remediation requests and accepted risks (the remediation store answers this)."""

    def open_requests(self) -> Sequence[OpenRequestView]: ...

    def active_exceptions(self, now: datetime) -> Sequence[ExceptionView]: ...


class Auditor(Protocol):
    def audit(self, scope: Scope) -> AuditResult: ...


class DigestPoster(Protocol):
    """What publishing needs of ``bot.slack.poster.Poster`` (retries, 429 Retry-After)."""

    def post(
        self,
        channel: str,
        message: Message,
        *,
        thread_ts: str | None = None,
        response_url: str | None = None,
    ) -> Posted: ...

    def upload(
        self,
        channel: str,
        *,
        filename: str,
        content: str | bytes,
        title: str,
        thread_ts: str | None = None,
    ) -> None: ...


# -- the digest ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Excepted:
    state: AccountState
    owner: str
    reason: str
    expires_at: datetime


@dataclass(frozen=True)
class Digest:
    run: RunInfo
    generated_at: datetime
    zone: tzinfo
    baseline: datetime  # changes are counted from here
    baseline_run_id: int | None  # the run of the previous digest, None when there was none
    states: tuple[AccountState, ...]  # every account of the run
    new_noncompliant: tuple[AccountState, ...]
    fixed: tuple[AccountState, ...]
    still_open: tuple[AccountState, ...]  # oldest open streak first; excepted ones are apart
    errors: tuple[AccountState, ...]
    new_errors: tuple[AccountState, ...]
    excepted: tuple[Excepted, ...] = ()
    open_requests: tuple[OpenRequestView, ...] = ()
    trend: tuple[TrendDay, ...] = ()
    slot_time: datetime | None = None  # the schedule slot it was posted for, None when asked

    @property
    def total(self) -> int:
        return len(self.states)

    @property
    def compliant(self) -> int:
        return sum(1 for s in self.states if s.status is Status.COMPLIANT)

    @property
    def noncompliant(self) -> int:
        """Accounts with a root key, accepted risks not included (they are counted apart)."""
        return len(self.still_open)

    @property
    def percent_compliant(self) -> float:
        return 100.0 * self.compliant / self.total if self.total else 0.0

    @property
    def all_clear(self) -> bool:
        """Every audited account compliant: nothing open, nothing we could not look at."""
        return self.total > 0 and not self.still_open and not self.errors and not self.excepted

    def days_open(self, state: AccountState) -> int | None:
        return state.days_open(self.generated_at)

    def local(self, value: datetime) -> datetime:
        return value.astimezone(self.zone)

    @property
    def first_digest(self) -> bool:
        return self.baseline_run_id is None


@dataclass(frozen=True)
class Published:
    run_id: int | None  # None when the audit could not run at all (the message says so)
    channel: str
    ts: str | None
    baseline_run_id: int | None
    all_clear: bool


class DigestService:
    """Builds digests from the store; ``publish`` also audits and posts."""

    def __init__(
        self,
        store: Store,
        *,
        auditor: Auditor | None = None,
        poster: DigestPoster | None = None,
        remediation: RemediationSource | None = None,
        scope: Scope | None = None,
        zone: tzinfo = UTC,
        trend_days: int = TREND_DAYS,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.store = store
        self.auditor = auditor
        self.poster = poster
        self.remediation = remediation
        self.scope = scope or Scope(kind="account")
        self.zone = zone
        self.trend_days = trend_days
        self.clock = clock

    # -- building -------------------------------------------------------------------------

    def baseline_for(self, channel: str | None, run: RunInfo) -> tuple[datetime, int | None]:
        """The end of the audit of the last digest posted in ``channel`` (else in any
        channel), else 24 hours before this run."""
        previous = None
        if channel is not None:
            previous = self.store.last_posted_slot(channel, with_run=True)
        if previous is None:
            previous = self.store.last_posted_slot(with_run=True)
        if previous is not None and previous.run_id is not None and previous.run_id != run.id:
            before = self.store.get_run(previous.run_id)
            if before.finished_at <= run.finished_at:
                return before.finished_at, before.id
        return run.finished_at - DEFAULT_LOOKBACK, None

    def build(
        self,
        run_id: int,
        *,
        channel: str | None = None,
        baseline: datetime | None = None,
        baseline_run_id: int | None = None,
        slot_time: datetime | None = None,
    ) -> Digest:
        run = self.store.get_run(run_id)
        if baseline is None:
            baseline, baseline_run_id = self.baseline_for(channel, run)
        now = self.clock()
        states = self.store.account_states(run_id=run_id, baseline=baseline)
        changes = changes_of(states, baseline)

        exceptions: dict[str, ExceptionView] = {}
        requests: tuple[OpenRequestView, ...] = ()
        if self.remediation is not None:
            exceptions = {x.account_id: x for x in self.remediation.active_exceptions(now)}
            requests = tuple(self.remediation.open_requests())
        excepted = tuple(
            Excepted(state=s, owner=x.owner, reason=x.reason, expires_at=x.expires_at)
            for s in changes.still_open
            if (x := exceptions.get(s.account_id)) is not None
            and coverage(s.status, s.keys, x.key_prints).covered
        )
        excepted_ids = {e.state.account_id for e in excepted}
        return Digest(
            run=run,
            generated_at=now,
            zone=self.zone,
            baseline=baseline,
            baseline_run_id=baseline_run_id,
            states=tuple(states),
            new_noncompliant=tuple(
                s for s in changes.new_noncompliant if s.account_id not in excepted_ids
            ),
            fixed=changes.fixed,
            still_open=tuple(s for s in changes.still_open if s.account_id not in excepted_ids),
            errors=changes.errors,
            new_errors=changes.new_errors,
            excepted=excepted,
            open_requests=requests,
            trend=tuple(self.store.trend(self.trend_days, now=now, zone=self.zone)),
            slot_time=slot_time,
        )

    # -- auditing and posting -------------------------------------------------------------

    def audit(self, trigger: str, requested_by: str | None, channel: str | None) -> int:
        """A fresh audit of the configured scope, saved; returns the run id."""
        if self.auditor is None:
            raise RuntimeError("DigestService needs an auditor to run an audit")
        result = self.auditor.audit(self.scope)
        return self.store.save_run(result, trigger, requested_by, channel)

    def publish(
        self,
        channel: str,
        *,
        trigger: str = "schedule",
        requested_by: str | None = None,
        response_url: str | None = None,
        slot_time: datetime | None = None,
    ) -> Published:
        """Audit, save, build and post the digest in ``channel``; chart and CSV in its thread.

        Raises ``bot.slack.poster.DeliveryError`` when the message itself could not be posted
        (the caller records that); a failed attachment is said in the thread instead.
        """
        if self.poster is None:
            raise RuntimeError("DigestService needs a poster to publish")
        try:
            run_id = self.audit(trigger, requested_by, channel)
        except AuditError as exc:
            # Nothing could be audited: the channel hears that, it never gets silence.
            log.error("digest audit for %s failed: %s", channel, exc)
            posted = self.poster.post(channel, audit_failed(str(exc)), response_url=response_url)
            return Published(
                run_id=None, channel=channel, ts=posted.ts, baseline_run_id=None, all_clear=False
            )
        digest = self.build(run_id, channel=channel, slot_time=slot_time)
        # Where the bot may not post, the poster answers through the command's response_url.
        posted = self.poster.post(channel, digest_message(digest), response_url=response_url)
        thread = posted.ts
        if thread:
            for name, make in (("trend chart", self.chart_file), ("CSV report", self.csv_file)):
                try:
                    attachment = make(digest)
                    if attachment is None:
                        continue
                    filename, content, title = attachment
                    self.poster.upload(
                        channel,
                        filename=filename,
                        content=content,
                        title=title,
                        thread_ts=thread,
                    )
                except DeliveryError as exc:
                    log.warning("digest %s not attached in %s: %s", name, channel, exc.error)
                    self.poster.post(channel, attachment_failed(name, exc.error), thread_ts=thread)
        log.info(
            "digest posted in %s (run %s, %d accounts, %d open, %d errors)",
            channel,
            run_id,
            digest.total,
            digest.noncompliant,
            len(digest.errors),
        )
        return Published(
            run_id=run_id,
            channel=channel,
            ts=thread,
            baseline_run_id=digest.baseline_run_id,
            all_clear=digest.all_clear,
        )

    def post_now(
        self, channel: str, requested_by: str | None, response_url: str | None
    ) -> Published | None:
        """``/rootkey digest``: publish; a delivery failure was already told through
        ``response_url`` by the poster, so it ends here."""
        try:
            return self.publish(
                channel, trigger="command", requested_by=requested_by, response_url=response_url
            )
        except DeliveryError as exc:
            log.warning("digest for %s not delivered: %s", channel, exc.error)
            return None

    def chart_file(self, digest: Digest) -> tuple[str, bytes, str] | None:
        from bot.services.chart import trend_png

        day = digest.local(digest.generated_at).date().isoformat()
        return (
            f"rootkey-trend-{day}.png",
            trend_png(digest.trend),
            f"Root access keys, last {len(digest.trend)} days",
        )

    def csv_file(self, digest: Digest) -> tuple[str, str, str] | None:
        if digest.all_clear:
            return None
        day = digest.local(digest.generated_at).date().isoformat()
        return (
            f"rootkey-digest-{day}.csv",
            digest_csv(digest),
            f"All {digest.total} accounts of the digest",
        )


# -- the CSV -------------------------------------------------------------------------------

CSV_COLUMNS = (
    "account_id",
    "account_name",
    "status",
    "new_since_last_digest",
    "open_since",
    "days_open",
    "last_change",
    "first_seen",
    "keys_present",
    "keys_active",
    "root_mfa_active",
    "excepted_until",
    "reason",
    "checked_at",
)


def digest_csv(digest: Digest) -> str:
    """Every account of the digest, worst first (open oldest first, errors, excepted, fixed)."""
    excepted = {e.state.account_id: e for e in digest.excepted}
    new = {s.account_id for s in digest.new_noncompliant}
    order = {s.account_id: i for i, s in enumerate(digest.still_open)}
    rank = {Status.NONCOMPLIANT: 0, Status.ERROR: 2, Status.COMPLIANT: 3}

    def key(state: AccountState) -> tuple[int, int, str]:
        group = 1 if state.account_id in excepted else rank[state.status]
        return group, order.get(state.account_id, 0), state.account_id

    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for s in sorted(digest.states, key=key):
        exc = excepted.get(s.account_id)
        writer.writerow(
            [
                csv_cell(s.account_id),
                csv_cell(s.account_name),
                csv_cell("excepted" if exc else s.status.value),
                "yes" if s.account_id in new else "",
                iso(s.open_since) or "",
                "" if s.open_since is None else digest.days_open(s),
                iso(s.last_change),
                iso(s.first_seen),
                len(s.keys),
                sum(1 for k in s.keys if k.active),
                "" if s.root_mfa_active is None else str(s.root_mfa_active).lower(),
                iso(exc.expires_at) if exc else "",
                csv_cell(s.reason),
                iso(s.checked_at),
            ]
        )
    return out.getvalue()
