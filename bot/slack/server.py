"""The bot's HTTP side: ``POST /slack/events`` for every Slack request, ``GET /healthz``.

A threaded WSGI server from the standard library: one thread per connection, request bodies
capped, idle connections timed out, access lines logged at debug level only (a request line
never holds a secret, but it is noise). Put a TLS-terminating proxy or the platform's router in
front of it, as Slack requires HTTPS.
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
from collections.abc import Callable, Iterable
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler

log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
HEALTH_PATH = "/healthz"
MAX_BODY = 1024 * 1024  # Slack's payloads are a few KB; a modal submission well under 1 MB
SOCKET_TIMEOUT = 30  # seconds a client may idle mid-request
MAX_CONNECTIONS = 128
BUSY_RESPONSE = (
    b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nRetry-After: 1\r\n"
    b"Connection: close\r\n\r\n"
)

StartResponse = Callable[..., Any]
Environ = dict[str, Any]


class ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    """A thread per connection, at most ``MAX_CONNECTIONS`` at once; beyond that a
    connection gets an immediate 503 instead of another thread (Slack retries later)."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.slots = threading.BoundedSemaphore(MAX_CONNECTIONS)

    def process_request(self, request: Any, client_address: Any) -> None:
        if not self.slots.acquire(blocking=False):
            log.warning("more than %d connections at once: answering 503", MAX_CONNECTIONS)
            with contextlib.suppress(OSError):
                request.sendall(BUSY_RESPONSE)
            self.shutdown_request(request)
            return
        super().process_request(request, client_address)

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self.slots.release()


class QuietHandler(WSGIRequestHandler):
    timeout = SOCKET_TIMEOUT

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("http %s", format % args)


def plain(start_response: StartResponse, status: str, body: bytes, kind: str) -> list[bytes]:
    start_response(status, [("Content-Type", kind), ("Content-Length", str(len(body)))])
    return [body]


def make_wsgi(app: App | None, health: Callable[[], dict[str, Any]]) -> Callable[..., Any]:
    """The WSGI application; ``app`` None (Socket Mode) serves only the health check."""
    slack = SlackRequestHandler(app, path=EVENTS_PATH) if app is not None else None

    def wsgi(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        method = environ.get("REQUEST_METHOD", "GET")
        if path == HEALTH_PATH and method in {"GET", "HEAD"}:
            body = json.dumps(health()).encode()
            return plain(start_response, "200 OK", body, "application/json")
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
            return slack(environ, start_response)
        return plain(start_response, "404 Not Found", b"not found\n", "text/plain")

    return wsgi


class HttpServer:
    """The WSGI server on a background thread; ``stop`` waits for it to close."""

    def __init__(self, wsgi: Callable[..., Any], host: str, port: int) -> None:
        self.server = make_server(
            host, port, wsgi, server_class=ThreadingWSGIServer, handler_class=QuietHandler
        )
        self.thread = threading.Thread(
            target=self.server.serve_forever, name="rootkey-http", daemon=True
        )

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])

    def start(self) -> HttpServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        if self.thread.is_alive():  # shutdown() would wait for ever on a loop never started
            self.server.shutdown()
            self.thread.join(timeout=5)
        self.server.server_close()
