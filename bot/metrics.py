"""``GET /metrics``: what an operator watches, in the Prometheus text format (prometheus_client).

``PrometheusMetrics`` implements ``bot.services.ports.Metrics`` (the use cases and the Slack
poster tell it events as they happen) and reads two numbers at each scrape, from the same
places the bot's own surfaces read them: the Organization's accounts by verdict (the read model
``bot.services.org_state``, through its one counting function) and the open requests by state.

Each instance has a registry of its own (never prometheus_client's global one), so several
bots in one process keep their numbers apart. The series (names and labels):

- ``rootkey_audits_total{scope, trigger, outcome}``: audits run; outcome ``completed`` (every
  account has a verdict, errors included) or ``failed`` (the audit could not run at all).
- ``rootkey_audit_duration_seconds{scope, trigger}``: histogram of their duration.
- ``rootkey_accounts{verdict}``: member accounts by how they count now: ``compliant``,
  ``noncompliant``, ``accepted_risk``, ``error``.
- ``rootkey_aws_errors_total{reason}``: AWS calls that failed, by error code.
- ``rootkey_alert_lag_seconds{activity}``: histogram of the time from a root event
  (CloudTrail's eventTime) to its alert in Slack.
- ``rootkey_queue_messages_total{outcome}``: events-queue messages ``received``, ``handled``
  (deleted) and ``dead_lettered`` (left on the queue for its dead-letter queue).
- ``rootkey_open_requests{kind, state}``: requests not yet closed, by state.
- ``rootkey_slack_retries_total{method, reason}`` and ``rootkey_slack_refusals_total{method,
  error}``: Slack calls sent again, and calls Slack did not take for good.

A number that cannot be read at a scrape (the database is down) is left out of that scrape
and logged; the rest is served.
"""

from __future__ import annotations

import logging
import re
from collections import Counter as Tally
from collections.abc import Callable, Iterable, Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import choose_encoder
from prometheus_client.registry import Collector

from bot.remediation.models import Request
from bot.remediation.states import OPEN_STATES
from bot.services.audit import TRIGGERS
from bot.services.org_state import Counts
from bot.store.records import StoreError

log = logging.getLogger(__name__)

# An org audit takes seconds to many minutes; an alert should land within a minute.
AUDIT_BUCKETS = (1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600)
LAG_BUCKETS = (5, 10, 30, 60, 120, 300, 600, 1800, 3600)
SCOPES = ("account", "org", "accounts")
VERDICTS = {  # label -> the field of ``Counts``
    "compliant": "compliant",
    "noncompliant": "noncompliant",
    "accepted_risk": "accepted",
    "error": "error",
}
SLACK_CODE = re.compile(r"[a-z0-9_]{1,64}")


def label(reason: str) -> str:
    """A bounded label from an error: Slack's snake_case code as it is, else its kind (the
    words before a colon: ``transport`` of ``transport: TimeoutError``)."""
    if SLACK_CODE.fullmatch(reason):
        return reason
    kind = reason.split(":", 1)[0].strip().lower().replace(" ", "_")
    return kind if SLACK_CODE.fullmatch(kind) else "other"


class StateCollector(Collector):
    """The gauges read at each scrape: accounts by verdict, open requests by state."""

    def __init__(
        self,
        accounts: Callable[[], Counts] | None,
        open_requests: Callable[[], Iterable[Request]] | None,
    ) -> None:
        self.accounts = accounts
        self.open_requests = open_requests

    def collect(self) -> Iterator[Metric]:
        if self.accounts is not None:
            try:
                counts = self.accounts()
            except StoreError as exc:
                log.warning("metrics: could not read the accounts' verdicts: %s", exc)
            else:
                family = GaugeMetricFamily(
                    "rootkey_accounts",
                    "Member accounts of the Organization by how they count now",
                    labels=["verdict"],
                )
                for verdict, field in VERDICTS.items():
                    family.add_metric([verdict], getattr(counts, field))
                yield family
        if self.open_requests is not None:
            try:
                found = Tally((r.kind.value, r.state.value) for r in self.open_requests())
            except StoreError as exc:
                log.warning("metrics: could not read the open requests: %s", exc)
                return
            family = GaugeMetricFamily(
                "rootkey_open_requests",
                "Requests not yet closed, by state",
                labels=["kind", "state"],
            )
            for kind, states in OPEN_STATES.items():
                for state in sorted(states):
                    family.add_metric([kind.value, state.value], found[(kind.value, state.value)])
            yield family


class PrometheusMetrics:
    """``bot.services.ports.Metrics`` counted into a registry of this instance's own."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.audits = Counter(
            "rootkey_audits", "Audits run", ["scope", "trigger", "outcome"], registry=r
        )
        self.audit_seconds = Histogram(
            "rootkey_audit_duration_seconds",
            "How long audits took",
            ["scope", "trigger"],
            buckets=AUDIT_BUCKETS,
            registry=r,
        )
        self.aws_errors = Counter(
            "rootkey_aws_errors", "AWS calls that failed, by error code", ["reason"], registry=r
        )
        self.alert_lag = Histogram(
            "rootkey_alert_lag_seconds",
            "Time from a root event to its alert in Slack",
            ["activity"],
            buckets=LAG_BUCKETS,
            registry=r,
        )
        self.queue = Counter(
            "rootkey_queue_messages", "Events-queue messages by outcome", ["outcome"], registry=r
        )
        self.slack_retries = Counter(
            "rootkey_slack_retries", "Slack calls sent again", ["method", "reason"], registry=r
        )
        self.slack_refusals = Counter(
            "rootkey_slack_refusals",
            "Slack calls Slack did not take, for good",
            ["method", "error"],
            registry=r,
        )
        # Series that exist from the start, so that "none in 26 h" and rates read 0, not nothing.
        for scope in SCOPES:
            for trigger in sorted(TRIGGERS):
                for outcome in ("completed", "failed"):
                    self.audits.labels(scope, trigger, outcome)
        for outcome in ("received", "handled", "dead_lettered"):
            self.queue.labels(outcome)
        self.state: StateCollector | None = None

    def watch(
        self,
        *,
        accounts: Callable[[], Counts] | None = None,
        open_requests: Callable[[], Iterable[Request]] | None = None,
    ) -> None:
        """Read these at each scrape (set once, when the services are built)."""
        if self.state is not None:
            self.registry.unregister(self.state)
        self.state = StateCollector(accounts, open_requests)
        self.registry.register(self.state)

    def exposition(self, accept: str = "") -> tuple[bytes, str]:
        """The body of ``GET /metrics`` and its content type, in the format the scraper's
        ``Accept`` header asks for (the text format 0.0.4 when it asks for none)."""
        encode, kind = choose_encoder(accept)
        return encode(self.registry), kind

    # -- the events (``bot.services.ports.Metrics``) ---------------------------------------

    def audit_done(self, scope: str, trigger: str, seconds: float, *, failed: bool) -> None:
        self.audits.labels(scope, trigger, "failed" if failed else "completed").inc()
        self.audit_seconds.labels(scope, trigger).observe(max(seconds, 0.0))

    def aws_error(self, reason: str) -> None:
        self.aws_errors.labels(reason).inc()

    def alert_posted(self, activity: str, lag: float) -> None:
        self.alert_lag.labels(activity).observe(max(lag, 0.0))

    def messages_received(self, count: int) -> None:
        self.queue.labels("received").inc(count)

    def messages_handled(self, count: int) -> None:
        self.queue.labels("handled").inc(count)

    def message_dead_lettered(self) -> None:
        self.queue.labels("dead_lettered").inc()

    def slack_retry(self, method: str, reason: str) -> None:
        self.slack_retries.labels(method, label(reason)).inc()

    def slack_refused(self, method: str, error: str) -> None:
        self.slack_refusals.labels(method, label(error)).inc()
