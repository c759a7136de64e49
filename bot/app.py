"""``build_app``: the one place that wires the store, AWS, Slack and background work.

Slack handlers and scheduled jobs are two entry points over the same ``Services``. Tests pass
their own auditor, store or Slack client; production passes only the ``Config``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Protocol

from slack_bolt import App
from slack_bolt.error import BoltError
from slack_bolt.logger.messages import warning_client_prioritized_and_token_skipped
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.audit.models import AuditResult
from bot.config import Config, ConfigError
from bot.jobs import Jobs, MemoryGuard, RequestGuard, SharedGuard
from bot.services.audit import Auditor, AuditService, ProcessAuditor, RunStore
from bot.services.check import CheckRunner
from bot.slack.notifier import SlackCheckNotifier
from bot.slack.poster import TRANSPORT_ERRORS, Poster

log = logging.getLogger(__name__)

SLACK_TIMEOUT = 15  # seconds per Web API call
LISTENER_THREADS = 16  # Bolt's listener pool: acks only, so small and never starved by audits
AUDIT_WORKERS = 4
MAX_PENDING_AUDITS = 32


class Background(Protocol):
    """Something that runs beside the Slack listeners (the scheduler, for example)."""

    def start(self) -> None: ...

    def shutdown(self) -> None: ...


@dataclass
class Services:
    config: Config
    client: WebClient
    poster: Poster
    audit: AuditService
    jobs: Jobs
    checks: CheckRunner
    guard: RequestGuard
    store: Any | None = None
    # Filled by later features; handlers check for None and say "not enabled".
    remediation: Any | None = None
    forms: Any | None = None
    digest: Any | None = None
    background: list[Background] = field(default_factory=list)

    def start(self) -> None:
        for item in self.background:
            item.start()

    def shutdown(self, wait: bool = True) -> None:
        for item in reversed(self.background):
            item.shutdown()
        self.jobs.shutdown(wait=wait)
        close = getattr(self.audit.auditor, "close", None)
        if callable(close):
            close()


class SameTokenNotice(logging.Filter):
    """Bolt reads SLACK_BOT_TOKEN itself and warns that our client (built from that very
    token, with the configured base URL) takes precedence; that line is noise at start-up."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.getMessage() != warning_client_prioritized_and_token_skipped()


def web_client(config: Config) -> WebClient:
    return WebClient(
        token=config.slack_bot_token,
        base_url=config.slack_api_url or WebClient.BASE_URL,
        timeout=SLACK_TIMEOUT,
        # Retries are the Poster's job: it checks whether an ambiguous failure had delivered
        # the message before sending it again; a blind transport retry here could double it.
        retry_handlers=[],
    )


def default_csv() -> Callable[[AuditResult], str]:
    from bot.audit.render import to_csv

    return to_csv


def open_store(config: Config) -> Any:
    """The SQL store at ``DATABASE_URL``, migrated; one line (exit 2) when it cannot open."""
    from bot.store import Store, StoreError

    try:
        return Store.open(config.database_url)
    except StoreError as exc:
        raise ConfigError("DATABASE_URL", f"could not open the database ({exc})") from None


def default_guard(store: object) -> RequestGuard:
    """Retries and replays: claimed in the store when there is one (every replica on the same
    database sees the claim), else remembered in this process."""
    from bot.store import Store

    if isinstance(store, Store):
        from bot.store.claims import RequestClaims

        return SharedGuard(RequestClaims(store.engine))
    return MemoryGuard()


def root_alerts(
    config: Config, store: object, poster: Poster, remediation: Any | None
) -> list[Background]:
    """The events queue's poller, when ``ROOTKEY_EVENTS_QUEUE_URL`` and a channel are set."""
    from bot.store import Store

    if not config.events_queue_url:
        log.info("root-activity alerts are off: ROOTKEY_EVENTS_QUEUE_URL is not set")
        return []
    channel = config.alert_channel
    if channel is None or not isinstance(store, Store):
        log.warning(
            "root-activity alerts are off: ROOTKEY_EVENTS_QUEUE_URL is set but neither "
            "ROOTKEY_ALERT_CHANNEL nor ROOTKEY_DIGEST_CHANNEL names a channel"
        )
        return []
    from bot.aws.queue import EventQueue
    from bot.services.alerts import AlertPoller, AlertService, DeletionFollowUp
    from bot.slack.alerts import SlackAlerts
    from bot.store.alerts import AlertStore

    def account_name(account_id: str) -> str | None:
        state = store.latest_state(account_id)
        return state.account_name if state else None

    notifier = SlackAlerts(poster, channel, config.zone)
    follow_up = None
    if remediation is not None:
        follow_up = DeletionFollowUp(
            remediation.store, notifier, remediation.recheck, account_name=account_name
        )
    service = AlertService(
        AlertStore(store.engine),
        notifier,
        account_name=account_name,
        on_key_deleted=follow_up,
    )
    queue = EventQueue(config.events_queue_url, region=config.aws_region)
    log.info("root-activity alerts: posted in %s", channel)
    return [AlertPoller(service, queue)]


def build_app(
    config: Config,
    *,
    auditor: Auditor | None = None,
    store: RunStore | None = None,
    slack_client: WebClient | None = None,
    guard: RequestGuard | None = None,
    poster: Poster | None = None,
    token_verification: bool = True,
    audit_workers: int = AUDIT_WORKERS,
) -> tuple[App, Services]:
    """Wire everything; calls Slack's ``auth.test`` once unless ``token_verification`` is off."""
    import handlers

    client = slack_client or web_client(config)
    # Slack first: auth.test is the cheapest check and the likeliest start-up failure.
    bolt_logger = logging.getLogger("slack_bolt.App")
    if not any(isinstance(f, SameTokenNotice) for f in bolt_logger.filters):
        bolt_logger.addFilter(SameTokenNotice())
    try:
        app = App(
            client=client,
            signing_secret=config.slack_signing_secret or "",
            token_verification_enabled=token_verification,
            process_before_response=False,
            listener_executor=ThreadPoolExecutor(
                max_workers=LISTENER_THREADS, thread_name_prefix="rootkey-listener"
            ),
        )
    except BoltError as exc:
        # auth.test refused the token (invalid_auth, account_inactive, ...); say only the code.
        cause = exc.__cause__ or exc.__context__
        code = cause.response.get("error") if isinstance(cause, SlackApiError) else "refused"
        raise ConfigError(
            "SLACK_BOT_TOKEN", f"Slack's auth.test refused the token ({code})"
        ) from None
    except TRANSPORT_ERRORS as exc:
        where = config.slack_api_url or WebClient.BASE_URL
        raise ConfigError(
            "SLACK_API_URL", f"could not reach Slack's Web API at {where} ({type(exc).__name__})"
        ) from None
    if auditor is None:
        # Audits run in worker processes, so they never hold up Slack's acks and clicks.
        process_auditor = ProcessAuditor(config)
        auditor = process_auditor
    else:
        process_auditor = None
    if config.securityhub:
        # every audit (checks, rechecks, digests) is also sent to Security Hub
        from bot.aws.securityhub import SecurityHubExporter
        from bot.services.export import ExportingAuditor

        auditor = ExportingAuditor(auditor, SecurityHubExporter.from_config(config))
    if store is None:
        store = open_store(config)
    poster = poster or Poster(client)
    jobs = Jobs(workers=audit_workers, max_pending=MAX_PENDING_AUDITS)
    audit = AuditService(auditor, store)
    guard = guard or default_guard(store)
    services = Services(
        config=config,
        client=client,
        poster=poster,
        audit=audit,
        jobs=jobs,
        checks=CheckRunner(audit, SlackCheckNotifier(poster, csv=default_csv()), jobs, guard=guard),
        guard=guard,
        store=store,
    )
    if process_auditor is not None:
        services.background.append(process_auditor)  # workers started with the bot
    from bot.scheduler import attach_digest

    attach_digest(services, auditor)  # services.digest, and the digest scheduler as background
    attach_remediation(services)  # services.remediation, and its sweep as background
    if services.remediation is not None:  # accepted risks are shown apart in check results
        services.checks.exceptions = services.remediation.active_exceptions
    services.background.extend(root_alerts(config, store, poster, services.remediation))
    handlers.register(app, services)
    return app, services


def attach_remediation(services: Services) -> None:
    """Give the bot its remediation flow (buttons, modals, `/rootkey status`) and its sweep.
    Needs the SQL store; without it the buttons say remediation is not enabled."""
    from bot.aws.root import RootAccess
    from bot.remediation.rights import ApproverSpec
    from bot.remediation.states import Mode
    from bot.services.remediation import RemediationService
    from bot.slack.directory import SlackDirectory
    from bot.slack.forms import RequestForms
    from bot.slack.notifier import SlackRemediationNotifier
    from bot.store import Store
    from bot.store.remediation import RemediationStore

    store = services.store
    if not isinstance(store, Store):
        log.info("no remediation: it needs the store (DATABASE_URL)")
        return
    config = services.config
    root_access = (
        RootAccess(config.aws_region) if config.remediation == Mode.ASSUME_ROOT.value else None
    )
    notifier = SlackRemediationNotifier(
        services.poster,
        approvers=ApproverSpec.parse(config.approvers),
        required_approvals=config.required_approvals,
        zone=config.zone,
    )
    service = RemediationService(
        config,
        RemediationStore(store.engine),
        notifier,
        SlackDirectory(services.client),
        services.audit,
        root_access=root_access,
        names=lambda account: getattr(store.latest_state(account), "account_name", None),
        latest=store.latest_state,
    )
    services.remediation = service
    services.forms = RequestForms(services.client, service)
    services.background.extend([service, service.scheduled()])
