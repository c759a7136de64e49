"""``build_app``: the Bolt app over the services ``bot.wiring.build_services`` builds.

Slack handlers and scheduled jobs are two entry points over the same ``Services``. Tests pass
their own auditor, store or Slack client; production passes only the ``Config``.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor

from slack_bolt import App
from slack_bolt.error import BoltError
from slack_bolt.logger.messages import warning_client_prioritized_and_token_skipped
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

import handlers
from bot.config import Config, ConfigError
from bot.jobs import RequestGuard
from bot.metrics import PrometheusMetrics
from bot.services.audit import Auditor
from bot.services.ports import Clock
from bot.slack.poster import TRANSPORT_ERRORS, Poster, sdk_request_failures_muted
from bot.store import Store
from bot.wiring import AUDIT_WORKERS, Services, build_services, web_client

log = logging.getLogger(__name__)

LISTENER_THREADS = 16  # Bolt's listener pool: acks only, so small and never starved by audits


class SameTokenNotice(logging.Filter):
    """Bolt reads SLACK_BOT_TOKEN itself and warns that our client (built from that very
    token, with the configured base URL) takes precedence; that line is noise at start-up."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.getMessage() != warning_client_prioritized_and_token_skipped()


def bolt_app(config: Config, client: WebClient, token_verification: bool) -> App:
    """Bolt over ``client``; calls Slack's ``auth.test`` once unless ``token_verification``
    is off (the cheapest check, and the likeliest start-up failure)."""
    bolt_logger = logging.getLogger("slack_bolt.App")
    if not any(isinstance(f, SameTokenNotice) for f in bolt_logger.filters):
        bolt_logger.addFilter(SameTokenNotice())
    try:
        with sdk_request_failures_muted():  # said below in one line
            return App(
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


def build_app(
    config: Config,
    *,
    auditor: Auditor | None = None,
    store: Store | None = None,
    slack_client: WebClient | None = None,
    guard: RequestGuard | None = None,
    poster: Poster | None = None,
    token_verification: bool = True,
    audit_workers: int = AUDIT_WORKERS,
    clock: Clock | None = None,
) -> tuple[App, Services]:
    """Slack first (``auth.test``), then the services, then the handlers on top. ``clock``:
    the time the services and the schedule go by (tests pass a ``ManualClock``)."""
    metrics = PrometheusMetrics()  # this app's own: its client's retries are counted too
    client = slack_client or web_client(config, metrics)
    app = bolt_app(config, client, token_verification)
    services = build_services(
        config,
        store=store,
        auditor=auditor,
        slack_client=client,
        poster=poster,
        guard=guard,
        audit_workers=audit_workers,
        metrics=metrics,
        clock=clock,
    )
    handlers.register(app, services)
    return app, services
