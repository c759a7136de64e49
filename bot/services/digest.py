"""The compliance digest: built from the store, posted by the scheduler or `/rootkey digest`.

``DigestService.build(run_id, channel)`` reads the Organization's current state after a saved
audit run (``bot.services.org_state``: every account by its latest verdict from any audit,
accepted risks applied) and its history, and returns a plain ``Digest``: totals and percent
compliant (``org_state.counts``), what is newly noncompliant and what was fixed
since the last digest posted in that channel, what is still open (oldest first, with days
open), the accounts that could not be audited (listed, never counted as compliant), accepted
risks and open remediation requests (from the remediation part, through ``RemediationSource``),
and the 30-day trend. ``publish`` runs a fresh audit, saves it, builds it and hands it to the
notifier (``DigestNotifier``) with its attachment (the full CSV), which posts the message in
the channel, then draws the trend chart from the digest's plain trend and posts it and the
attachment in its thread.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Protocol

from bot.audit.models import Scope, Status, utcnow
from bot.records.errors import AuditError
from bot.records.history import AccountState, RunInfo, TrendDay, changes_of
from bot.services.audit import with_known
from bot.services.digest_report import (
    Digest,
    Excepted,
    Published,
    digest_csv,
)
from bot.services.org_state import Counts, CurrentState, Standing
from bot.services.ports import (
    Auditor,
    ExceptionView,
    KeyChangeSource,
    NotDelivered,
    OpenRequestView,
    RemediationSource,
    RunRepository,
)

log = logging.getLogger(__name__)

TREND_DAYS = 30
DEFAULT_LOOKBACK = timedelta(hours=24)  # the baseline when no digest was posted before

__all__ = [
    "Auditor",
    "Digest",
    "DigestNotifier",
    "DigestService",
    "Published",
    "digest_csv",
]


@dataclass(frozen=True)
class Attachment:
    """A file posted in the digest's thread."""

    name: str  # what it is, as a person says it ("trend chart")
    filename: str
    content: str | bytes
    title: str


AttachmentSource = Callable[[], Attachment | None]


class DigestNotifier(Protocol):
    """Where digests go (in Slack: ``bot.slack.notifier.SlackDigestNotifier``)."""

    def digest_ready(
        self,
        channel: str,
        digest: Digest,
        attachments: Sequence[AttachmentSource],
        *,
        response_url: str | None = None,
    ) -> str | None:
        """Post the digest, then its trend chart (drawn from ``digest.trend``) and each
        attachment in its thread (one that cannot be attached is said there); the message ts.
        Raises ``NotDelivered`` when the message itself was not delivered."""
        ...

    def digest_unavailable(
        self, channel: str, error: str, *, response_url: str | None = None
    ) -> str | None:
        """Nothing could be audited: the channel hears that (never silence). Raises
        ``NotDelivered``."""
        ...


def today_from(trend: Sequence[TrendDay], counts: Counts) -> tuple[TrendDay, ...]:
    """The trend with its last day (today) as the Organization stands now, so the chart and
    the text agree: accepted risks apart from the red bar, members only. Earlier days are the
    verdicts of their time, counted by status."""
    if not trend:
        return ()
    today = TrendDay(
        trend[-1].day, counts.compliant, counts.noncompliant, counts.error, counts.accepted
    )
    return (*trend[:-1], today)


def as_in_audit(states: Sequence[AccountState], seen: dict[str, Status]) -> list[AccountState]:
    """Each account's status at the baseline is its verdict in the baseline audit (so a key
    deleted minutes after that audit counts as fixed); an account that audit could not read,
    or did not include, keeps the last status seen before it."""
    out = []
    for state in states:
        then = seen.get(state.account_id)
        if then is None:
            out.append(state)
            continue
        known = state.baseline_status if then is Status.ERROR else then
        if known is state.baseline_status and then is state.baseline_raw_status:
            out.append(state)  # the history says the same: no copy
            continue
        out.append(replace(state, baseline_status=known, baseline_raw_status=then))
    return out


class DigestService:
    """Builds digests from the store; ``publish`` also audits and posts."""

    def __init__(
        self,
        store: RunRepository,
        *,
        auditor: Auditor | None = None,
        notifier: DigestNotifier | None = None,
        remediation: RemediationSource | None = None,
        key_changes: KeyChangeSource | None = None,
        scope: Scope | None = None,
        zone: tzinfo = UTC,
        trend_days: int = TREND_DAYS,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.store = store
        self.auditor = auditor
        self.notifier = notifier
        self.remediation = remediation
        self.key_changes = key_changes  # root keys created/reactivated, where alerts are on
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
        # Changes are counted against an audit: the previous digest's, else the audit of the
        # look-back's start (or the first one, when the history is shorter than that).
        baseline_audit_id = baseline_run_id
        if baseline_audit_id is None and (first := self.store.baseline_run(run, baseline)):
            baseline, baseline_audit_id = first.finished_at, first.id
        now = self.clock()
        exceptions: list[ExceptionView] = []
        requests: tuple[OpenRequestView, ...] = ()
        head = None
        if self.remediation is not None:
            exceptions = list(self.remediation.active_exceptions(now))
            requests = tuple(self.remediation.open_requests())
            head = self.remediation.log_head()
        # The Organization now: every account by its latest verdict, accepted risks applied.
        org = CurrentState(self.store, key_changes=self.key_changes).read(
            baseline, now, risks=exceptions
        )
        states = [a.state for a in org.accounts]
        if baseline_audit_id is not None:
            states = as_in_audit(states, self.store.statuses_in(baseline_audit_id))
        changes = changes_of(states, baseline)
        standing = {a.account_id: a.standing for a in org.accounts}
        covered = org.covered
        excepted = tuple(
            Excepted(state=s, owner=x.owner, reason=x.reason, expires_at=x.expires_at)
            for s in changes.still_open
            if (x := covered.get(s.account_id)) is not None
        )

        def needs_work(s: AccountState) -> bool:
            return standing[s.account_id] is Standing.NONCOMPLIANT

        counts = org.counts
        return Digest(
            run=run,
            generated_at=now,
            zone=self.zone,
            baseline=baseline,
            baseline_run_id=baseline_run_id,
            baseline_audit_id=baseline_audit_id,
            states=tuple(states),
            new_noncompliant=tuple(filter(needs_work, changes.new_noncompliant)),
            fixed=changes.fixed,
            still_open=tuple(filter(needs_work, changes.still_open)),
            errors=changes.errors,
            new_errors=changes.new_errors,
            excepted=excepted,
            open_requests=requests,
            trend=today_from(self.store.trend(self.trend_days, now=now, zone=self.zone), counts),
            slot_time=slot_time,
            log_head=head,
            log_database=self.store.file_url() if head is not None else None,
            counts=counts,
        )

    def latest_run_id(self) -> int | None:
        """What ``digest --print --no-audit`` builds after: the latest whole audit (of the
        Organization), else the last audit of any scope; None before the first audit."""
        whole = self.store.whole_audit_id()
        if whole is not None:
            return whole
        last = self.store.last_run()
        return last.id if last is not None else None

    # -- auditing and posting -------------------------------------------------------------

    def audit(self, trigger: str, requested_by: str | None, channel: str | None) -> int:
        """A fresh audit of the configured scope, saved; returns the run id."""
        if self.auditor is None:
            raise RuntimeError("DigestService needs an auditor to run an audit")
        result = self.auditor.audit(with_known(self.scope, self.store))
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

        Raises ``NotDelivered`` when the message itself could not be posted (the caller
        records that); a failed attachment is said in the thread instead.
        """
        if self.notifier is None:
            raise RuntimeError("DigestService needs a notifier to publish")
        try:
            run_id = self.audit(trigger, requested_by, channel)
        except AuditError as exc:
            # Nothing could be audited: the channel hears that, it never gets silence.
            log.error("digest audit for %s failed: %s", channel, exc)
            ts = self.notifier.digest_unavailable(channel, str(exc), response_url=response_url)
            return Published(
                run_id=None, channel=channel, ts=ts, baseline_run_id=None, all_clear=False
            )
        digest = self.build(run_id, channel=channel, slot_time=slot_time)
        ts = self.notifier.digest_ready(
            channel,
            digest,
            [lambda: self.csv_file(digest)],
            response_url=response_url,
        )
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
            ts=ts,
            baseline_run_id=digest.baseline_run_id,
            all_clear=digest.all_clear,
        )

    def post_now(
        self, channel: str, requested_by: str | None, response_url: str | None
    ) -> Published | None:
        """``/rootkey digest``: publish; a delivery failure was already told through
        ``response_url`` by the notifier, so it ends here."""
        try:
            return self.publish(
                channel, trigger="command", requested_by=requested_by, response_url=response_url
            )
        except NotDelivered as exc:
            log.warning("digest for %s not delivered: %s", channel, exc.error)
            return None

    def csv_file(self, digest: Digest) -> Attachment | None:
        if digest.all_clear:
            return None
        day = digest.local(digest.generated_at).date().isoformat()
        return Attachment(
            "CSV report",
            f"rootkey-digest-{day}.csv",
            digest_csv(digest),
            f"All {digest.total} accounts of the digest",
        )
