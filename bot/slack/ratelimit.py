"""Slack's rate limits, honoured on every Web API method the bot calls.

Slack answers a method called too often with HTTP 429 and ``Retry-After: <seconds>``; nothing
was done, so sending the same request again after that wait is safe for every method, posts
included. The handler waits what Slack asked, at most ``max_wait`` seconds (a listener thread
must not sleep for minutes: beyond that the call fails with ``ratelimited`` and the caller says
so), and gives up after ``max_retry_count`` retries. Methods the ``Poster`` sends are left to
it (``skip``): it retries them itself, logging each wait and checking that an ambiguous failure
had not delivered the message, so a second retry layer here would only multiply the attempts.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable

from slack_sdk.http_retry.handler import RetryHandler
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState

from bot.services.ports import NO_METRICS, Metrics

DEFAULT_WAIT = 1.0  # Slack always sends Retry-After with a 429; this is for a proxy's 429


def retry_after(response: HttpResponse) -> float | None:
    """The seconds of ``Retry-After``; None when absent or not a number."""
    for name, values in response.headers.items():
        if name.lower() == "retry-after" and values:
            try:
                wait = float(values[0])
            except ValueError:
                return None
            return wait if wait >= 0 else None
    return None


def method_of(request: HttpRequest) -> str:
    """``chat.postMessage`` of ``https://slack.com/api/chat.postMessage?...``."""
    return request.url.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1]


class RateLimitRetry(RetryHandler):
    def __init__(
        self,
        max_retry_count: int = 2,
        *,
        max_wait: float = 30.0,
        sleep: Callable[[float], None] = time.sleep,
        skip: Iterable[str] = (),
        metrics: Metrics = NO_METRICS,
    ) -> None:
        super().__init__(max_retry_count=max_retry_count)
        self.metrics = metrics
        self.max_wait = max_wait
        self.sleep = sleep
        self.skip = frozenset(skip)

    def _can_retry(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        if response is None or response.status_code != 429 or method_of(request) in self.skip:
            return False
        wait = retry_after(response)
        return wait is None or wait <= self.max_wait

    def prepare_for_next_attempt(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> None:
        wait = retry_after(response) if response is not None else None
        self.metrics.slack_retry(method_of(request), "ratelimited")
        self.sleep(DEFAULT_WAIT if wait is None else wait)
        state.next_attempt_requested = True
        state.increment_current_attempt()
