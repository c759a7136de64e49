"""Checks that run before every listener: repeats and foreign payloads never reach one.

With ``SLACK_TEAM_ID`` / ``SLACK_ENTERPRISE_ID`` set, a payload that cannot be shown to come
from that workspace or organization is refused with 403 (``handlers.workspace``).

A signed payload lacking what Slack puts in every payload of its type is refused with 400
(``handlers.shapes``): a client's error, so no 5xx that Slack would send again.

A repeat (Slack's retry, a replay) is recognised by ``services.guard`` in two steps. Before
the ack, this process's memory only: a repeat reaching the same process gets an empty ack, and
no ack waits for the database. After the ack, whatever starts work (an audit, a digest, a
click's or a form's effect) first calls ``claimed``: with the store wired the key is claimed in
the database, so a retry that reached another replica was acknowledged but does nothing.

The middleware also leaves the request's arrival time in the context: a click or form acked too
late for Slack to have accepted it is never applied (``handlers.deadline``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from slack_bolt import BoltContext, BoltRequest, BoltResponse

from handlers import deadline, shapes, workspace

if TYPE_CHECKING:
    from slack_bolt import App

    from bot.wiring import Services

log = logging.getLogger(__name__)

REQUEST_KEY = "rootkey_request_key"  # where the middleware leaves the key in Bolt's context


def request_key(body: dict[str, Any]) -> str | None:
    """What makes a Slack request unique: a retry or a replay carries the same value."""
    for field in ("trigger_id", "event_id"):
        value = body.get(field)
        if isinstance(value, str) and value:
            return f"{field}:{value}"
    return None


def key_of(context: BoltContext) -> str | None:
    value = context.get(REQUEST_KEY)
    return value if isinstance(value, str) else None


def claimed(services: Services, context: BoltContext) -> bool:
    """After the ack, before the work: False when another replica already took this request
    on (then do nothing and post nothing)."""
    key = key_of(context)
    return key is None or services.guard.claim(key)


SERVICES = "services"  # where ``provide`` leaves the services: listeners take ``services``


def provide(services: Services) -> Callable[..., BoltResponse]:
    """The first middleware: ``services`` in every request's Bolt context, so a listener
    declares a ``services`` argument (or reads ``context["services"]``) and is a plain
    module-level function, testable with a context of fakes."""

    def put_services(context: BoltContext, next: Callable[[], BoltResponse]) -> BoltResponse:
        context[SERVICES] = services
        return next()

    return put_services


def refuse_repeats_and_strangers(
    body: dict[str, Any],
    request: BoltRequest,
    context: BoltContext,
    next: Callable[[], BoltResponse],
    services: Services,
) -> BoltResponse | None:
    config = services.config
    context[deadline.ARRIVED] = deadline.arrival(request)
    malformed = shapes.problem(body)
    if malformed:
        log.warning("refused a malformed request (%s)", malformed)
        return BoltResponse(status=400, body="")
    refused = workspace.refusal(body, config.slack_team_id, config.slack_enterprise_id)
    if refused:
        log.warning("refused a request for another workspace, or naming none (%s)", refused)
        return BoltResponse(status=403, body="")
    app_id = body.get("api_app_id")
    if config.slack_app_id and app_id and app_id != config.slack_app_id:
        log.warning("refused a request for another app")
        return BoltResponse(status=403, body="")
    key = request_key(body)
    if key and not services.guard.first_time(key):
        retry = request.headers.get("x-slack-retry-num", ["-"])[0]
        log.info("ignored a repeated request (retry %s)", retry)
        return BoltResponse(status=200, body="")
    if key:
        context[REQUEST_KEY] = key
    return next()


def register(app: App, services: Services) -> None:
    app.use(provide(services))
    app.use(refuse_repeats_and_strangers)
