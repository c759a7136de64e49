"""The bot's HTTP server: health, routing, body cap, a cap on requests at once, and slow clients."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import requests

from bot.slack import server
from bot.slack.server import HttpServer, make_wsgi


def test_requests_beyond_the_cap_get_503_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(server, "MAX_REQUESTS", 2)
    release = threading.Event()
    entered = threading.Semaphore(0)
    health = make_wsgi(None, lambda: {"ok": True})

    def slow(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ["PATH_INFO"] == "/slow":
            entered.release()
            release.wait(10)
            environ = {**environ, "PATH_INFO": "/healthz"}
        return health(environ, start_response)

    http = HttpServer(slow, "127.0.0.1", 0).start()
    base = f"http://127.0.0.1:{http.port}"
    try:
        with ThreadPoolExecutor(2) as pool:
            held = [pool.submit(requests.get, f"{base}/slow", timeout=10) for _ in range(2)]
            assert entered.acquire(timeout=5) and entered.acquire(timeout=5)
            refused = requests.post(f"{base}/slack/events", timeout=5)
            # the health check is never counted among them: it answers while they are full
            assert requests.get(f"{base}/healthz", timeout=5).status_code == 200
            release.set()
            assert [f.result().status_code for f in held] == [200, 200]
        assert refused.status_code == 503
        assert requests.get(f"{base}/healthz", timeout=5).status_code == 200
    finally:
        release.set()
        http.stop()


def test_socket_mode_serves_only_the_health_check() -> None:
    http = HttpServer(make_wsgi(None, lambda: {"ok": True}), "127.0.0.1", 0).start()
    try:
        # Without a Bolt app (Socket Mode) /slack/events does not exist at all.
        reply = requests.post(f"http://127.0.0.1:{http.port}/slack/events", data=b"x", timeout=5)
        assert reply.status_code == 404
        assert requests.get(f"http://127.0.0.1:{http.port}/healthz", timeout=5).json() == {
            "ok": True
        }
    finally:
        http.stop()
