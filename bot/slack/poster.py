"""Posting to Slack with retries: rate limits and server errors never lose or double a message.

What ``Poster.post`` guarantees, with the scopes ``slack/manifest.yml`` grants:

- 429 / ``ratelimited``: it waits the ``Retry-After`` seconds Slack asked for (capped), then
  retries; 5xx, timeouts, refused connections: it retries with exponential backoff and jitter,
  up to ``attempts`` tries in all.
- Delivered once in a channel (``C...``, ``G...``, ``D...``) and in a thread: every message
  carries a delivery id in its metadata. After an answer that may hide a delivery (a timeout,
  a 5xx), the poster reads the messages posted since just before the first try, with
  ``conversations.history`` (channel messages; it lists no thread replies) or
  ``conversations.replies`` (a thread), ``include_all_metadata``. Found: that message is the
  result, nothing is posted again. Reading needs the ``*:history`` scope of the channel's kind
  and membership; in a public channel the bot posted to without being in it
  (``chat:write.public``), it joins first (``channels:join``).
- Posted at least once, maybe twice, when it cannot read: a post addressed to a user id (the
  DM's id is not known without ``im:write``), or a read that fails (history scope removed from
  the installation, the read itself failing): it posts again rather than lose the message.
- ``not_in_channel`` / ``channel_not_found``: no retry; the caller's ``on_unreachable`` builds
  a message for the command's ``response_url`` (a real HTTP POST).
- Anything else that finally fails is logged and, when a ``response_url`` is known, reported
  there in one line (``DeliveryError`` is raised).

``Poster.upload`` joins a public channel first (``conversations.join``): unlike posting, an
upload needs membership even where ``chat:write.public`` lets the bot post. A private channel
or a DM cannot be joined; there the upload works only if the bot was invited, else it raises
``DeliveryError("not_in_channel")`` (or ``channel_not_found``) for the caller to explain.
"""

from __future__ import annotations

import json
import logging
import random
import re
import socket
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.client import HTTPException
from typing import Any, TypeVar

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from bot.services.ports import NO_METRICS, Metrics, NotDelivered
from bot.slack.blocks.command import delivery_failed
from bot.slack.blocks.common import Message

log = logging.getLogger(__name__)
T = TypeVar("T")

CHANNEL_ERRORS = frozenset({"not_in_channel", "channel_not_found", "is_archived"})
CONVERSATION_IDS = ("C", "G", "D")  # a user id (U..., W...) names a DM whose id we do not know
JOINABLE_IDS = ("C", "G")  # public channels (C...); G... and new private C... ones refuse
RETRYABLE_ERRORS = frozenset(
    {"ratelimited", "internal_error", "fatal_error", "service_unavailable", "request_timeout"}
)
TRANSPORT_ERRORS = (
    urllib.error.URLError,
    TimeoutError,
    socket.timeout,
    ConnectionError,
    HTTPException,
)
# The methods the Poster sends and retries itself (the client's rate-limit handler skips them).
POSTER_METHODS = frozenset(
    {
        "chat.postMessage",
        "chat.update",
        "chat.postEphemeral",
        "files.getUploadURLExternal",
        "files.completeUploadExternal",
    }
)
DELIVERY_EVENT = "rootkey_delivery"
SDK_REQUEST_LOGGER = "slack_sdk.web.base_client"
SDK_REQUEST_FAILED = "Failed to send a request to Slack API server"


class SdkRequestFailures(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith(SDK_REQUEST_FAILED)


@contextmanager
def sdk_request_failures_muted() -> Iterator[None]:
    """The SDK logs a request that could not reach Slack at ERROR, then raises. Where the
    caller turns that exception into its own one line (a start-up configuration error), the
    SDK's line would come first and say the same thing twice."""
    logger = logging.getLogger(SDK_REQUEST_LOGGER)
    muted = SdkRequestFailures()
    logger.addFilter(muted)
    try:
        yield
    finally:
        logger.removeFilter(muted)


class DeliveryError(NotDelivered):
    """Slack did not take the message; ``error`` is Slack's error code or the transport error."""

    def __init__(self, error: str, retryable: bool = False) -> None:
        super().__init__(error)
        self.retryable = retryable


@dataclass(frozen=True)
class Posted:
    channel: str | None
    ts: str | None
    via: str  # "chat" or "response_url"


def slack_error(exc: SlackApiError) -> str:
    data = exc.response.data if exc.response is not None else None
    error = data.get("error") if isinstance(data, dict) else None
    # Slack's codes are snake_case words; slack_sdk puts prose there for a non-JSON body.
    if isinstance(error, str) and re.fullmatch(r"[a-z0-9_]{1,64}", error):
        return error
    return f"http_{exc.response.status_code}" if exc.response is not None else "unknown_error"


def retry_after(exc: SlackApiError) -> float | None:
    if exc.response is None:
        return None
    headers = {k.lower(): v for k, v in (exc.response.headers or {}).items()}
    raw = headers.get("retry-after")
    if isinstance(raw, list):
        raw = raw[0] if raw else None
    try:
        return float(raw) if raw is not None else None
    except ValueError:
        return None


def classify(exc: Exception) -> tuple[str, bool, float | None]:
    """(error, retryable, seconds Slack asked us to wait)."""
    if isinstance(exc, SlackApiError):
        error = slack_error(exc)
        status = exc.response.status_code if exc.response is not None else 0
        if status == 429 or error == "ratelimited":
            return "ratelimited", True, retry_after(exc)
        return error, status >= 500 or error in RETRYABLE_ERRORS, None
    if isinstance(exc, TRANSPORT_ERRORS):
        return f"transport: {type(exc).__name__}", True, None
    if isinstance(exc, SlackClientError):  # e.g. a failed file upload step
        return f"client: {exc}", True, None
    raise exc


class Poster:
    def __init__(
        self,
        client: WebClient,
        *,
        attempts: int = 5,
        base_delay: float = 0.5,
        max_delay: float = 20.0,
        max_retry_after: float = 60.0,
        respond_timeout: float = 10.0,
        sleep: Callable[[float], None] = time.sleep,
        metrics: Metrics = NO_METRICS,
    ) -> None:
        self.client = client
        self.attempts = attempts
        self.base_delay = base_delay
        self.max_delay = max_delay
        self.max_retry_after = max_retry_after
        self.respond_timeout = respond_timeout
        self.sleep = sleep
        self.metrics = metrics  # each retry and each refusal, by method and Slack's reason

    # -- the retry loop -------------------------------------------------------------------

    def backoff(self, attempt: int) -> float:
        return min(self.max_delay, self.base_delay * 2**attempt) * (0.5 + random.random() / 2)

    def call(
        self,
        what: str,
        fn: Callable[[], T],
        delivered: Callable[[], T | None] | None = None,
    ) -> T:
        """Run ``fn`` until it succeeds, a permanent error, or the attempts run out.

        ``delivered`` is asked after an ambiguous failure (timeout, 5xx) whether the first try
        arrived anyway; a non-None answer is returned instead of trying again.
        """
        for attempt in range(self.attempts):
            try:
                return fn()
            except (SlackApiError, SlackClientError, *TRANSPORT_ERRORS) as exc:
                error, retryable, wait = classify(exc)
                if not retryable:
                    self.metrics.slack_refused(what, error)
                    raise DeliveryError(error) from exc
                if attempt == self.attempts - 1:
                    log.error("slack %s failed after %d attempts: %s", what, self.attempts, error)
                    self.metrics.slack_refused(what, error)
                    raise DeliveryError(error, retryable=True) from exc
                self.metrics.slack_retry(what, error)
                delay = (
                    min(wait, self.max_retry_after) if wait is not None else self.backoff(attempt)
                )
                log.warning("slack %s: %s; retrying in %.1f s", what, error, delay)
                self.sleep(delay)
                if delivered is not None and error != "ratelimited":
                    found = delivered()
                    if found is not None:
                        log.info("slack %s had arrived despite %s; not posting again", what, error)
                        return found
        raise AssertionError("unreachable")

    # -- Web API ----------------------------------------------------------------------------

    def post(
        self,
        channel: str,
        message: Message,
        *,
        thread_ts: str | None = None,
        response_url: str | None = None,
        on_unreachable: Callable[[str], Message] | None = None,
        delivery_id: str | None = None,
    ) -> Posted:
        """Post in ``channel``; where the bot may not post, fall back to ``response_url``.

        ``delivery_id`` (default: a new one) goes into the message's metadata; a caller that
        may post the same thing from another process passes its own, to find it later with
        ``find_delivery``. Raises ``DeliveryError`` when neither worked (after reporting it
        where possible).
        """
        delivery_id = delivery_id or uuid.uuid4().hex
        since = f"{time.time() - 5:.6f}"

        def send() -> Posted:
            response = self.client.chat_postMessage(
                channel=channel,
                blocks=message.blocks,
                text=message.text,
                thread_ts=thread_ts,
                unfurl_links=False,
                unfurl_media=False,
                metadata={"event_type": DELIVERY_EVENT, "event_payload": {"id": delivery_id}},
            )
            return Posted(channel=response.get("channel"), ts=response.get("ts"), via="chat")

        def delivered() -> Posted | None:
            return self.find_delivery(channel, delivery_id, since, thread_ts)

        try:
            return self.call("chat.postMessage", send, delivered)
        except DeliveryError as exc:
            if exc.error in CHANNEL_ERRORS and response_url:
                log.info(
                    "cannot post in %s (%s); answering through response_url", channel, exc.error
                )
                fallback = on_unreachable(exc.error) if on_unreachable else message
                self.respond(response_url, fallback, response_type="in_channel")
                return Posted(channel=channel, ts=None, via="response_url")
            log.error("could not post in %s: %s", channel, exc.error)
            if response_url:
                self.report_failure(response_url, exc.error)
            raise

    def find_delivery(
        self, channel: str, delivery_id: str, since: str, thread_ts: str | None = None
    ) -> Posted | None:
        """Our message, if an ambiguous failure had in fact delivered it (None: not found, or
        no way to tell; the caller posts again)."""
        if not channel.startswith(CONVERSATION_IDS):
            return None

        def read() -> Any:
            if thread_ts:  # conversations.history lists no thread replies
                return self.client.conversations_replies(
                    channel=channel,
                    ts=thread_ts,
                    oldest=since,
                    limit=200,
                    include_all_metadata=True,
                )
            return self.client.conversations_history(
                channel=channel, oldest=since, limit=50, include_all_metadata=True
            )

        try:
            try:
                page = self.call("conversations read-back", read)
            except DeliveryError as exc:
                # Posted with chat:write.public without being in the channel: join, read.
                if exc.error != "not_in_channel" or not self.join(channel):
                    raise
                page = self.call("conversations read-back", read)
        except DeliveryError as exc:
            log.warning("cannot tell whether %s got the message (%s)", channel, exc.error)
            return None
        for item in page.get("messages") or []:
            meta = item.get("metadata") or {}
            if (
                meta.get("event_type") == DELIVERY_EVENT
                and (meta.get("event_payload") or {}).get("id") == delivery_id
            ):
                return Posted(channel=channel, ts=item.get("ts"), via="chat")
        return None

    def join(self, channel: str) -> bool:
        """Join a public channel (``conversations.join``); False where the bot cannot join
        (a private channel or a DM, which only an invitation opens; a user id)."""
        if not channel.startswith(JOINABLE_IDS):
            return False
        try:
            self.call("conversations.join", lambda: self.client.conversations_join(channel=channel))
        except DeliveryError as exc:
            log.info("cannot join %s: %s", channel, exc.error)
            return False
        return True

    def update(self, channel: str, ts: str, message: Message) -> None:
        self.call(
            "chat.update",
            lambda: self.client.chat_update(
                channel=channel, ts=ts, blocks=message.blocks, text=message.text
            ),
        )

    def ephemeral(self, channel: str, user: str, message: Message) -> None:
        self.call(
            "chat.postEphemeral",
            lambda: self.client.chat_postEphemeral(
                channel=channel, user=user, blocks=message.blocks, text=message.text
            ),
        )

    def upload(
        self,
        channel: str,
        *,
        filename: str,
        content: str | bytes,
        title: str,
        thread_ts: str | None = None,
        initial_comment: str | None = None,
    ) -> None:
        """Upload a file into ``channel`` (in ``thread_ts``), joining a public channel first."""
        self.join(channel)
        self.call(
            "files_upload_v2",
            lambda: self.client.files_upload_v2(
                channel=channel,
                filename=filename,
                content=content,
                title=title,
                thread_ts=thread_ts,
                initial_comment=initial_comment,
            ),
        )

    # -- response_url -----------------------------------------------------------------------

    def respond(
        self,
        response_url: str,
        message: Message,
        *,
        response_type: str = "ephemeral",
        replace_original: bool = False,
    ) -> None:
        """POST a message to a command's or an action's ``response_url``."""
        if not response_url.startswith(("https://", "http://")):
            raise DeliveryError("invalid response_url")
        payload: dict[str, Any] = {
            "response_type": response_type,
            "replace_original": replace_original,
            "text": message.text,
            "blocks": [b.to_dict() for b in message.blocks],
        }
        body = json.dumps(payload).encode()

        def send() -> None:
            request = urllib.request.Request(
                response_url,
                data=body,
                method="POST",
                headers={"Content-Type": "application/json; charset=utf-8"},
            )
            try:
                with urllib.request.urlopen(request, timeout=self.respond_timeout) as reply:
                    reply.read()
            except urllib.error.HTTPError as exc:
                wait = exc.headers.get("Retry-After") if exc.headers else None
                if exc.code == 429 or exc.code >= 500:
                    raise RetryableHttp(exc.code, wait) from exc
                self.metrics.slack_refused("response_url", f"http_{exc.code}")
                raise DeliveryError(f"response_url http_{exc.code}") from exc

        for attempt in range(self.attempts):
            try:
                send()
                return
            except (RetryableHttp, *TRANSPORT_ERRORS) as exc:
                reason = str(exc) if isinstance(exc, RetryableHttp) else "transport"
                if attempt == self.attempts - 1:
                    log.error("response_url failed after %d attempts: %s", self.attempts, exc)
                    self.metrics.slack_refused("response_url", reason)
                    raise DeliveryError(f"response_url: {exc}", retryable=True) from exc
                wait = exc.retry_after if isinstance(exc, RetryableHttp) else None
                delay = (
                    min(wait, self.max_retry_after) if wait is not None else self.backoff(attempt)
                )
                log.warning("response_url: %s; retrying in %.1f s", exc, delay)
                self.metrics.slack_retry("response_url", reason)
                self.sleep(delay)

    def report_failure(self, response_url: str, error: str) -> None:
        try:
            self.respond(response_url, delivery_failed(error))
        except DeliveryError as exc:
            log.error("could not report the failure through response_url either: %s", exc.error)


class RetryableHttp(Exception):
    def __init__(self, status: int, retry_after: str | None) -> None:
        super().__init__(f"http_{status}")
        try:
            self.retry_after: float | None = float(retry_after) if retry_after else None
        except ValueError:
            self.retry_after = None
