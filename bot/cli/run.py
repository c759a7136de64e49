"""``python -m bot`` (or ``python -m bot run``): start the Slack bot.

Socket Mode when ``SLACK_APP_TOKEN`` is set, otherwise HTTP on ``PORT`` with every Slack
request at ``POST /slack/events``. ``GET /healthz`` and ``GET /metrics`` (Prometheus) answer in
both modes (platforms that start a web process expect the port to be bound). SIGTERM or Ctrl-C
stops it cleanly.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import threading
from typing import Any

from bot.config import Config, ConfigError, load_config

log = logging.getLogger("bot")

SHUTDOWN_GRACE = 20.0  # seconds running audits get to finish after SIGTERM


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--host",
        default="0.0.0.0",
        help="address to listen on (default 0.0.0.0; 127.0.0.1 for local use only)",
    )


def stop_on_signal() -> threading.Event:
    """SIGTERM and SIGINT set the returned event. Installed before the port answers: a
    signal sent as soon as ``/healthz`` does must stop the bot cleanly, not kill it."""
    stop = threading.Event()

    def handle(signum: int, _frame: Any) -> None:
        log.info("received %s, stopping", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, handle)
    signal.signal(signal.SIGINT, handle)
    return stop


def connect_socket_mode(handler: Any) -> None:
    """Open the Socket Mode connection; a refused app token is one configuration line."""
    from slack_sdk.errors import SlackApiError

    from bot.slack.poster import TRANSPORT_ERRORS, sdk_request_failures_muted

    try:
        with sdk_request_failures_muted():  # said below in one line
            handler.connect()
    except SlackApiError as exc:
        code = exc.response.get("error") if exc.response is not None else "refused"
        raise ConfigError(
            "SLACK_APP_TOKEN", f"Slack refused to open a Socket Mode connection ({code})"
        ) from None
    except TRANSPORT_ERRORS as exc:
        raise ConfigError(
            "SLACK_APP_TOKEN", f"could not open a Socket Mode connection ({type(exc).__name__})"
        ) from None


def run(args: argparse.Namespace) -> int:
    config = load_config(os.environ)
    config.require_slack()
    return serve(config, args.host, stop_on_signal(), dotenv=getattr(args, "dotenv", None))


def serve(
    config: Config,
    host: str,
    stop: threading.Event,
    *,
    dotenv: object = None,
    **build: Any,
) -> int:
    """The bot until ``stop`` is set: Bolt and the services (``build`` goes to ``build_app``),
    the HTTP side or Socket Mode, the background work; then a clean stop. ``run`` calls it for
    ``python -m bot``; the tests' in-process bots call it in a thread of their own."""
    from bot.app import build_app
    from bot.slack.server import HttpServer, make_wsgi

    app, services = build_app(config, **build)
    mode = "socket" if config.socket_mode else "http"
    socket_handler = None
    if config.socket_mode:
        from bot.slack.socket_mode import SocketModeHandler

        socket_handler = SocketModeHandler(app, config.slack_app_token)

    def health() -> dict[str, Any]:
        status: dict[str, Any] = {
            "ok": True,
            "mode": mode,
            "pending_audits": services.jobs.pending,
            # all background work: audits, a click's work, a digest or sweep running
            "pending_jobs": services.runtime.pending,
        }
        if socket_handler is not None:
            status["slack_connected"] = bool(socket_handler.client.is_connected())
        return status

    try:
        server = HttpServer(
            make_wsgi(None if config.socket_mode else app, health, services.metrics.exposition),
            host,
            config.port,
        )
    except OSError as exc:
        services.shutdown(wait=False)
        raise ConfigError(
            "PORT", f"cannot listen on {host}:{config.port} ({exc.strerror or exc})"
        ) from None
    try:
        if socket_handler is not None:
            connect_socket_mode(socket_handler)
        services.start()
        server.start()
        if socket_handler is not None:
            log.info("rootkey running in Socket Mode (health check on port %d)", server.port)
        else:
            log.info("rootkey listening on %s:%d (POST /slack/events)", host, server.port)
        log.info("settings read from %s", dotenv or "the environment (no .env here)")
        stop.wait()
    finally:
        server.stop()
        if socket_handler is not None:
            socket_handler.close()
        if not services.jobs.wait_idle(SHUTDOWN_GRACE):
            log.warning("stopping with audits still running; they will not be posted")
        services.shutdown(wait=False)
    return 0
