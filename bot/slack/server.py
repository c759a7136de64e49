"""The bot's HTTP side: ``POST /slack/events`` for every Slack request, ``GET /healthz``,
``GET /metrics`` (Prometheus text format, ``bot.metrics``).

Served by waitress: one event loop holds the connections and reads each request whole (headers
and body, the body capped) before a worker thread sees it, so slow or idle clients cost a
socket, never a thread; a connection idle for ``CHANNEL_TIMEOUT`` is closed, and connections
nobody is served on are shed to keep room for new ones (``bot.slack.connections``). At most
``MAX_REQUESTS`` Slack requests are handled at once; one more gets an immediate 503 (Slack
retries); ``/healthz`` is never counted among them.
A body Bolt could not parse (not UTF-8, a payload that is not a JSON object) is answered 400 in
one log line, never a 500 that Slack would retry. Put a TLS-terminating proxy or the platform's
router in front of it, as Slack requires HTTPS.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qsl

from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler
from waitress.server import create_server

from bot.slack.connections import Shedder, accept_many, connection_limit

log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
HEALTH_PATH = "/healthz"
METRICS_PATH = "/metrics"
# Set on every Slack request as it enters the application (any value sent is overwritten):
# ``time.monotonic()`` of its arrival, before any queue, for ``handlers.deadline``.
ARRIVAL_HEADER = "x-rootkey-arrived"
ARRIVAL_ENVIRON = "HTTP_" + ARRIVAL_HEADER.upper().replace("-", "_")
MAX_BODY = 1024 * 1024  # Slack's payloads are a few KB; a modal submission well under 1 MB
MAX_HEADERS = 64 * 1024
CHANNEL_TIMEOUT = 30  # seconds a connection may stay idle
CLEANUP_INTERVAL = 2  # seconds between two checks for idle connections
LISTEN_BACKLOG = 4096  # connections the kernel queues before the loop takes them (somaxconn caps)
MAX_REQUESTS = 64  # requests handled at once; one more is answered 503 at once
SPARE_THREADS = 4  # threads left over to answer those 503s without queueing
MAX_OPEN_CONNECTIONS = 2000  # sockets held open at once (idle or mid-request)
LOOP_TIMEOUT = 0.5  # seconds; how soon the loop notices stop()

StartResponse = Callable[..., Any]
Environ = dict[str, Any]
WsgiApp = Callable[[Environ, StartResponse], Iterable[bytes]]


def plain(start_response: StartResponse, status: str, body: bytes, kind: str) -> list[bytes]:
    start_response(status, [("Content-Type", kind), ("Content-Length", str(len(body)))])
    return [body]


def body_problem(raw: bytes, content_type: str) -> str | None:
    """Why a request body cannot be a Slack payload (a few words for the log), or None.

    Read as Bolt reads it (``slack_bolt.request.internals.parse_body``): UTF-8; JSON when sent
    as ``application/json`` or starting with ``{``; else a form whose ``payload`` field, when
    there is one, is JSON. Where Bolt would raise (a 500, which Slack retries) the JSON must
    parse to an object.
    """
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return "the body is not UTF-8"
    if content_type.split(";")[0].strip() == "application/json" or text.startswith("{"):
        document: str | None = text
    elif "payload" in text:
        document = dict(parse_qsl(text, keep_blank_values=True)).get("payload")
    else:
        return None
    if document is None:
        return None
    try:
        parsed = json.loads(document)
    except ValueError:
        return "the payload is not JSON"
    return None if isinstance(parsed, dict) else "the payload is not a JSON object"


def capped(wsgi: WsgiApp, limit: int) -> WsgiApp:
    """``wsgi`` handling at most ``limit`` requests at once; beyond, a 503 at once."""
    slots = threading.BoundedSemaphore(limit)

    def gate(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("PATH_INFO") == HEALTH_PATH:  # answered at once, never turned away
            return wsgi(environ, start_response)
        if not slots.acquire(blocking=False):
            log.warning("more than %d requests at once: answering 503", limit)
            start_response(
                "503 Service Unavailable", [("Content-Length", "0"), ("Retry-After", "1")]
            )
            return [b""]
        try:
            # Bolt answers with a list, so the work is done when this returns.
            return list(wsgi(environ, start_response))
        finally:
            slots.release()

    return gate


def make_wsgi(
    app: App | None,
    health: Callable[[], dict[str, Any]],
    metrics: Callable[[str], tuple[bytes, str]] | None = None,
) -> Callable[..., Any]:
    """The WSGI application; ``app`` None (Socket Mode) serves only the health check and the
    metrics. ``metrics`` gives the body of ``GET /metrics`` and its content type for the
    request's ``Accept`` header."""
    slack = SlackRequestHandler(app, path=EVENTS_PATH) if app is not None else None

    def wsgi(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        environ[ARRIVAL_ENVIRON] = f"{time.monotonic():.6f}"
        path = environ.get("PATH_INFO", "")
        method = environ.get("REQUEST_METHOD", "GET")
        if path == HEALTH_PATH and method in {"GET", "HEAD"}:
            body = json.dumps(health()).encode()
            return plain(start_response, "200 OK", body, "application/json")
        if path == METRICS_PATH and method in {"GET", "HEAD"} and metrics is not None:
            body, kind = metrics(str(environ.get("HTTP_ACCEPT") or ""))
            return plain(start_response, "200 OK", body, kind)
        if path == EVENTS_PATH and slack is not None:
            if method != "POST":
                return plain(start_response, "405 Method Not Allowed", b"", "text/plain")
            try:
                length = int(environ.get("CONTENT_LENGTH") or 0)
            except ValueError:
                length = -1
            if length < 0 or length > MAX_BODY:
                return plain(start_response, "413 Content Too Large", b"", "text/plain")
            stamp = environ.get("HTTP_X_SLACK_REQUEST_TIMESTAMP", "")
            if stamp and not (stamp.isascii() and stamp.lstrip("-").isdigit()):
                # slack_sdk's verifier raises on a non-numeric timestamp (a 500): refuse it
                # as the bad signature it is.
                return plain(start_response, "401 Unauthorized", b"", "text/plain")
            raw = environ["wsgi.input"].read(length) if length else b""
            environ["wsgi.input"] = io.BytesIO(raw)
            problem = body_problem(raw, str(environ.get("CONTENT_TYPE") or ""))
            if problem:
                log.warning("refused a malformed request (%s)", problem)
                return plain(start_response, "400 Bad Request", b"", "text/plain")
            return slack(environ, start_response)
        return plain(start_response, "404 Not Found", b"not found\n", "text/plain")

    return wsgi


class HttpServer:
    """The WSGI server on a background thread; ``stop`` closes every connection and waits
    for the worker threads."""

    def __init__(self, wsgi: Callable[..., Any], host: str, port: int) -> None:
        limit = connection_limit(MAX_OPEN_CONNECTIONS)
        self.server: Any = create_server(
            capped(wsgi, MAX_REQUESTS),
            host=host,
            port=port,
            threads=MAX_REQUESTS + SPARE_THREADS,
            connection_limit=limit,
            backlog=LISTEN_BACKLOG,
            channel_timeout=CHANNEL_TIMEOUT,
            cleanup_interval=CLEANUP_INTERVAL,
            max_request_body_size=MAX_BODY,
            max_request_header_size=MAX_HEADERS,
            asyncore_use_poll=True,  # select() cannot watch a descriptor past 1024
            ident="rootkey",
        )
        accept_many(self.server)
        self.shed = Shedder(self.server, limit)
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self.serve, name="rootkey-http", daemon=True)

    @property
    def port(self) -> int:
        return int(self.server.effective_port)

    def serve(self) -> None:
        channels = self.server._map  # the listening socket, the wake-up pipe, connections
        while not self.stopping.is_set():
            self.shed()
            self.server.asyncore.loop(timeout=LOOP_TIMEOUT, map=channels, use_poll=True, count=1)
        for channel in list(channels.values()):
            with contextlib.suppress(OSError):
                channel.close()

    def start(self) -> HttpServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.stopping.set()
        if self.thread.is_alive():
            with contextlib.suppress(OSError):
                self.server.pull_trigger()
            self.thread.join(timeout=5)
        else:
            self.server.close()
        self.server.task_dispatcher.shutdown(timeout=5)
