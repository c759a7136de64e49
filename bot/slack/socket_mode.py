"""Socket Mode: every envelope stamped with its arrival as it comes off the socket.

slack_sdk's built-in client reads envelopes on its connection thread and queues them for a
pool of ``SOCKET_WORKERS`` threads, each of which hands one to Bolt and waits (up to 3 s) for
its ack. With every worker busy an envelope waits in that queue, while Slack's 3 s run. So the
arrival that ``handlers.deadline`` measures from is taken as the envelope is queued, on the
connection thread, and reaches the middleware as the same ``ARRIVAL_HEADER`` the HTTP server
sets: a click or form acked more than ``ACK_BUDGET`` after it came off the socket is never
applied, however long it waited for a worker.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from slack_bolt import App, BoltRequest
from slack_bolt.adapter.socket_mode.base_handler import BaseSocketModeHandler
from slack_bolt.adapter.socket_mode.internals import build_headers, send_response
from slack_sdk.socket_mode.builtin import SocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest

from bot.slack.server import ARRIVAL_HEADER

SOCKET_WORKERS = 10  # envelopes handed to Bolt at once (slack_sdk's default)


class Arrived(str):
    """A raw envelope as read off the socket, with ``time.monotonic()`` of that moment."""

    arrived: float

    def __new__(cls, raw: str, arrived: float) -> Arrived:
        message = super().__new__(cls, raw)
        message.arrived = arrived
        return message


class StampingClient(SocketModeClient):
    """slack_sdk's built-in client, noting when each envelope came off the socket; a worker
    running an envelope finds that moment in ``arrival()``."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.running = threading.local()
        super().__init__(*args, **kwargs)

    def enqueue_message(self, message: str) -> None:
        """On the connection thread, as the envelope is read: before any queue."""
        super().enqueue_message(Arrived(message, time.monotonic()))

    def run_message_listeners(self, message: dict[str, Any], raw_message: str) -> None:
        self.running.arrived = getattr(raw_message, "arrived", None)
        try:
            super().run_message_listeners(message, raw_message)
        finally:
            self.running.arrived = None

    def arrival(self) -> float | None:
        """When the envelope this worker thread runs came off the socket (None: unknown)."""
        arrived = getattr(self.running, "arrived", None)
        return arrived if isinstance(arrived, float) else None


class SocketModeHandler(BaseSocketModeHandler):
    """Bolt's built-in Socket Mode handler over ``StampingClient``: the envelope goes to Bolt
    with its arrival in ``ARRIVAL_HEADER``."""

    def __init__(self, app: App, app_token: str | None) -> None:
        if not app_token:
            raise ValueError("Socket Mode needs an app-level token (SLACK_APP_TOKEN)")
        self.app = app
        self.app_token = app_token
        self.client = StampingClient(
            app_token=app_token,
            logger=app.logger,
            web_client=app.client,
            proxy=app.client.proxy,
            concurrency=SOCKET_WORKERS,
        )
        self.client.socket_mode_request_listeners.append(self.handle)  # type: ignore[arg-type]

    def handle(self, client: StampingClient, req: SocketModeRequest) -> None:  # type: ignore[override]
        started = time.time()
        headers: dict[str, Any] = dict(build_headers(req) or {})
        arrived = client.arrival()
        if arrived is not None:
            headers[ARRIVAL_HEADER] = f"{arrived:.6f}"
        request = BoltRequest(mode="socket_mode", body=req.payload, headers=headers)
        send_response(client, req, self.app.dispatch(request), started)
