"""``build_services``: the one place that builds the use cases and their adapters from the
configuration. The bot (``bot.app.build_app`` adds Bolt and the handlers on top), and the
command line's ``digest``, ``log`` and ``db`` all call it, so each sees the same digest, the
same remediation store and the same rules.

Nothing here talks to Slack or AWS: building is cheap and offline. All background work is in
one ``bot.runtime.Runtime`` on one clock (``clock``, the system's unless a test passes its
own): the bot's ``start`` starts it (audit workers, the digest schedule, the remediation sweep,
the events queue's polling) and ``shutdown`` stops it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import timedelta

from slack_sdk import WebClient

from bot.audit.models import Scope
from bot.audit.render import to_csv
from bot.aws.audit_pool import ProcessAuditor
from bot.aws.root import RootAccess
from bot.config import Config, ConfigError
from bot.jobs import RequestGuard, SharedGuard
from bot.metrics import PrometheusMetrics
from bot.process import ProcessIdentity
from bot.remediation.rights import ApproverSpec
from bot.remediation.states import Mode
from bot.runtime import Lane, Runtime
from bot.scheduler import CronSchedule, DigestScheduler
from bot.services.accounts import AccountNames
from bot.services.audit import Auditor, AuditService
from bot.services.check import CheckRunner
from bot.services.digest import DigestService
from bot.services.history import HistoryService
from bot.services.home import HomeService, StoredAlerts
from bot.services.org_state import CurrentState
from bot.services.ports import NO_METRICS, Clock, KeyChangeSource, Metrics
from bot.services.remediation import RemediationService
from bot.services.request_form import KeyUsage, RequestFormService
from bot.services.status import StatusService
from bot.slack.directory import SlackDirectory
from bot.slack.forms import SlackFormScreen
from bot.slack.home import SlackHomeScreen
from bot.slack.notifier import SlackCheckNotifier, SlackDigestNotifier, SlackRemediationNotifier
from bot.slack.poster import POSTER_METHODS, Poster
from bot.slack.private import PrivateReplies
from bot.slack.ratelimit import RateLimitRetry
from bot.store import Store, StoreError
from bot.store.claims import RequestClaims
from bot.store.remediation import RemediationStore

log = logging.getLogger(__name__)

SLACK_TIMEOUT = 15  # seconds per Web API call
AUDIT_WORKERS = 4
FORM_CHECKERS = 4  # submitted forms checked at once; beyond, they wait their turn
MAX_PENDING_AUDITS = 32
REMEDIATION_WORKERS = 2  # the work after an approval or a click, two requests at once


@dataclass
class Services:
    """Everything the handlers, the scheduler and the command line use, built once."""

    config: Config
    store: Store
    client: WebClient
    poster: Poster
    auditor: Auditor
    audit: AuditService
    jobs: Lane  # the audits' lane of the runtime's job pool
    guard: RequestGuard
    checks: CheckRunner
    digest: DigestService
    remediation: RemediationService
    requests: RemediationStore  # the remediation requests and their log (python -m bot log)
    forms: RequestFormService
    home: HomeService
    history: HistoryService
    status: StatusService
    names: AccountNames
    replies: PrivateReplies  # private notes to one person (handlers.private)
    form_screen: SlackFormScreen  # modals (the rejection form; the request form's screen)
    metrics: PrometheusMetrics = field(default_factory=PrometheusMetrics)  # GET /metrics
    runtime: Runtime = field(default_factory=Runtime)  # all background work, on one clock

    def start(self) -> None:
        self.runtime.start()

    def shutdown(self, wait: bool = True) -> None:
        self.runtime.stop(wait=wait)
        close = getattr(self.auditor, "close", None)
        if callable(close):
            close()

    def close(self) -> None:
        """For the command line: stop what building started and close the database."""
        self.shutdown(wait=False)
        self.store.close()


def web_client(config: Config, metrics: Metrics = NO_METRICS) -> WebClient:
    return WebClient(
        token=config.slack_bot_token,
        base_url=config.slack_api_url or WebClient.BASE_URL,
        timeout=SLACK_TIMEOUT,
        # A 429 did nothing, so every method is sent again after Slack's Retry-After. Other
        # retries are the Poster's job: it checks whether an ambiguous failure (a timeout) had
        # delivered the message before sending it again; a blind transport retry could double it.
        retry_handlers=[RateLimitRetry(skip=POSTER_METHODS, metrics=metrics)],
    )


def open_store(config: Config) -> Store:
    """The SQL store at ``DATABASE_URL``, migrated; one line (exit 2) when it cannot open."""
    try:
        store = Store.open(config.database_url)
    except StoreError as exc:
        raise ConfigError("DATABASE_URL", f"could not open the database ({exc})") from None
    try:
        if store.can_rewrite_log():
            log.warning(
                "DATABASE_URL's role owns the remediation log (or is a superuser): it could "
                "switch the append-only trigger off; run the bot with a role of its own "
                "(python -m bot db grant; docs/deploy.md, step 6)"
            )
    except StoreError as exc:
        log.warning("could not check the database role's rights on the log: %s", exc)
    return store


def root_alerts(
    config: Config,
    store: Store,
    poster: Poster,
    remediation: RemediationService,
    runtime: Runtime,
    metrics: Metrics = NO_METRICS,
) -> None:
    """The events queue's polling in ``runtime``, when ``ROOTKEY_EVENTS_QUEUE_URL`` and a
    channel are set."""
    if not config.events_queue_url:
        log.info("root-activity alerts are off: ROOTKEY_EVENTS_QUEUE_URL is not set")
        return
    channel = config.alert_channel
    if channel is None:
        log.warning(
            "root-activity alerts are off: ROOTKEY_EVENTS_QUEUE_URL is set but neither "
            "ROOTKEY_ALERT_CHANNEL nor ROOTKEY_DIGEST_CHANNEL names a channel"
        )
        return
    from bot.aws.queue import EventQueue
    from bot.services.alert_followup import DeletionFollowUp
    from bot.services.alerts import ERROR_PAUSE, AlertPoller, AlertService
    from bot.slack.alerts import SlackAlerts
    from bot.store.alerts import AlertStore

    def account_name(account_id: str) -> str | None:
        state = store.latest_state(account_id)
        return state.account_name if state else None

    notifier = SlackAlerts(poster, channel, config.zone)
    follow_up = DeletionFollowUp(remediation.store, remediation.recheck, runtime.scheduler)
    service = AlertService(
        AlertStore(store.engine),
        notifier,
        account_name=account_name,
        on_key_deleted=follow_up,
        metrics=metrics,
        now=runtime.clock.now,
    )
    queue = EventQueue(config.events_queue_url, region=config.aws_region)
    log.info("root-activity alerts: posted in %s", channel)
    poller = AlertPoller(service, queue)
    runtime.manage(poller)
    runtime.scheduler.repeat("events queue", poller.poll, pause=timedelta(seconds=ERROR_PAUSE))


def alert_key_changes(config: Config, store: Store) -> KeyChangeSource | None:
    """Each account's latest root key created or reactivated, per the stored root-activity
    alerts; None where alerts are off (then the credential report is all there is)."""
    if not config.events_queue_url:
        return None
    from bot.store.alerts import AlertStore

    return AlertStore(store.engine).key_changes


def build_services(
    config: Config,
    *,
    store: Store | None = None,
    auditor: Auditor | None = None,
    slack_client: WebClient | None = None,
    poster: Poster | None = None,
    guard: RequestGuard | None = None,
    audit_workers: int = AUDIT_WORKERS,
    key_usage: KeyUsage | None = None,
    metrics: PrometheusMetrics | None = None,
    clock: Clock | None = None,
) -> Services:
    """Build every use case with its adapters. Tests pass their own auditor, store or Slack
    client; production passes only the ``Config``. Without ``auditor``, audits run in worker
    processes (started with the bot), so they never hold up Slack's acks and clicks. ``clock``
    is the time every use case and the schedule go by (tests move a ``ManualClock``)."""
    metrics = metrics or PrometheusMetrics()
    client = slack_client or web_client(config, metrics)
    poster = poster or Poster(client, metrics=metrics)
    store = store or open_store(config)
    runtime = Runtime(clock)
    now = runtime.clock.now
    default_aws = auditor is None  # AWS as configured (tests that bring an auditor bring theirs)
    if auditor is None:
        process_auditor = ProcessAuditor(config)
        runtime.manage(process_auditor)  # workers started with the bot
        auditor = process_auditor
    if config.securityhub:
        # every audit (checks, rechecks, digests) is also sent to Security Hub
        from bot.aws.securityhub import SecurityHubExporter
        from bot.services.export import ExportingAuditor

        auditor = ExportingAuditor(auditor, SecurityHubExporter.from_config(config))
    audit = AuditService(auditor, store, metrics=metrics)
    # Retries and replays are claimed in the store: every replica on the database sees them.
    guard = guard or SharedGuard(RequestClaims(store.engine))
    remediation_store = RemediationStore(store.engine)
    # Where root-activity alerts are set up, a key they saw created or reactivated after the
    # credential report an audit read keeps an accepted risk from covering that account.
    key_changes = alert_key_changes(config, store)

    digest = DigestService(
        store,
        auditor=auditor,
        notifier=SlackDigestNotifier(poster),
        remediation=remediation_store,
        key_changes=key_changes,
        scope=Scope(kind=config.scope),
        zone=config.zone,
        clock=now,
    )
    DigestScheduler(config, store, digest, runtime.scheduler).install()

    directory = SlackDirectory(client)
    remediation = RemediationService(
        config,
        remediation_store,
        SlackRemediationNotifier(
            poster,
            approvers=ApproverSpec.parse(config.approvers),
            required_approvals=config.required_approvals,
            zone=config.zone,
            current=CurrentState(store, remediation_store, key_changes=key_changes, clock=now).read,
        ),
        directory,
        audit,
        identity=ProcessIdentity(),
        root_access=(
            RootAccess(config.aws_region) if config.remediation == Mode.ASSUME_ROOT.value else None
        ),
        names=lambda account: getattr(store.latest_state(account), "account_name", None),
        people=directory.name,
        latest=store.latest_state,
        key_changes=key_changes,
        jobs=runtime.lane("remediation", workers=REMEDIATION_WORKERS),
        now=now,
    )
    runtime.on_start(remediation.start)  # resumes the work the last stop interrupted
    runtime.scheduler.every("remediation sweep", remediation.sweep_interval, remediation.sweep)

    root_alerts(config, store, poster, remediation, runtime, metrics)
    if key_usage is None and default_aws:
        # What used a root key (CloudTrail LookupEvents through the audit role), for the form.
        from bot.aws.cloudtrail import KeyUsageReader
        from bot.services.key_usage import KeyUsageLookup
        from bot.store.alerts import AlertStore

        key_usage = KeyUsageLookup(
            KeyUsageReader(config),
            AlertStore(store.engine).known_keys,
            latest=lambda account: getattr(store.latest_state(account), "keys", ()),
        )

    jobs = runtime.lane("audits", workers=audit_workers, max_pending=MAX_PENDING_AUDITS)
    checks = CheckRunner(
        audit,
        SlackCheckNotifier(poster, csv=to_csv),
        jobs,
        exceptions=remediation.active_exceptions,  # accepted risks are shown apart
        guard=guard,
        key_changes=key_changes,
    )
    from bot.store.alerts import AlertStore

    # Read at each scrape of /metrics, from the one read model and the remediation store.
    state = CurrentState(store, remediation_store, key_changes=key_changes, clock=now)
    metrics.watch(
        accounts=lambda: state.read().counts, open_requests=remediation_store.open_requests
    )

    names = AccountNames(store)
    form_screen = SlackFormScreen(client, poster, config.zone)
    return Services(
        config=config,
        store=store,
        client=client,
        poster=poster,
        auditor=auditor,
        audit=audit,
        jobs=jobs,
        guard=guard,
        checks=checks,
        digest=digest,
        remediation=remediation,
        requests=remediation_store,
        forms=RequestFormService(
            remediation,
            form_screen,
            jobs,
            runtime.lane("form checks", workers=FORM_CHECKERS).executor(),
            usage=key_usage,
        ),
        home=HomeService(
            store,
            remediation_store,
            approvers=ApproverSpec.parse(config.approvers),
            group_members=directory.members,
            digest_channel=config.digest_channel,
            schedule=CronSchedule(config.digest_cron, config.timezone),
            timezone=config.timezone,
            # root-activity alerts of the last 7 days, where alerts are set up
            alerts=StoredAlerts(AlertStore(store.engine)) if config.events_queue_url else None,
            key_changes=key_changes,
            screen=SlackHomeScreen(client),
            clock=now,
        ),
        history=HistoryService(store, remediation_store, names),
        status=StatusService(remediation, state),
        names=names,
        replies=PrivateReplies(poster),
        form_screen=form_screen,
        metrics=metrics,
        runtime=runtime,
    )
