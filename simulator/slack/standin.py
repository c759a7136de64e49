"""The Slack platform for tests and benchmarks: the Web API, response URLs, file uploads on
127.0.0.1, over the same ``Workspace`` and ``WebApi`` as the demo.

No pytest in here: benchmarks use it too.

    with SlackStandin(bot_token="xoxb-test") as slack:
        env = {"SLACK_API_URL": slack.base_url, ...}
        slack.fail("chat.postMessage", "ratelimited", retry_after=1)   # one 429, then normal
        slack.refuse_channel("C0PRIVATE1")                             # not_in_channel for ever
        ...
        slack.wait_for(lambda: slack.calls("chat.postMessage"))

The workspace is an open one (see ``simulator.slack.workspace``): a channel or user id the bot
names exists; ``slack.workspace.add_channel(...)`` lays out one whose shape matters (an
uninvited public channel, a private one), ``add_message`` a message posted before the test (a
finding whose thread a click continues; ``earlier=`` keeps such messages across ``reset()``).
The app has the bot scopes of ``slack/manifest.yml`` (``scopes=`` to test others), and the Web
API is as strict as Slack's (``simulator.slack.webapi``). Every Web API request is recorded
(``attempts``: all of them, ``calls``: those answered ok); the views ``messages()``,
``uploads()`` and ``responses()`` show what the bot posted, shared and answered.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import threading
import time
import uuid
from collections import defaultdict, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, TypeVar
from urllib.parse import parse_qs, urlparse

from simulator.slack.scopes import app_home, granted_scopes
from simulator.slack.webapi import WebApi
from simulator.slack.workspace import Identity, ResponseTarget, SlackError, Workspace

# How often a server thread looks for a stop request: stopping takes at most this long
# (socketserver waits 0.5 s by default, paid at the end of every test that starts one).
POLL = 0.05

T = TypeVar("T")

BOT_USER = "U0ROOTKEY0"
BOT_ID = "B0ROOTKEY0"
TEAM = "T0TEAM0001"
APP_ID = "A0ROOTKEY1"
IDENTITY = Identity(TEAM, "Example", "example", APP_ID, BOT_ID, BOT_USER, "rootkey")


@dataclass
class Call:
    method: str
    args: dict[str, Any]
    at: float
    status: int = 200
    error: str | None = None  # Slack's error code when answered ok=false

    @property
    def ok(self) -> bool:
        return self.status == 200 and self.error is None


@dataclass
class Fault:
    error: str  # "ratelimited", "server_error", "timeout" or any Slack error code
    retry_after: float = 1.0
    delay: float = 0.0  # for "timeout": seconds to wait before answering
    until: threading.Event | None = None  # for "timeout": answer earlier once this is set


@dataclass(frozen=True)
class Upload:
    """A file the bot shared (one per channel it went to)."""

    file_id: str
    filename: str
    length: int
    content: bytes
    title: str | None
    channel: str | None
    thread_ts: str | None
    initial_comment: str | None


@dataclass(frozen=True)
class Posted:
    """A message the bot posted with chat.postMessage, as it stands now (after chat.update)."""

    channel: str
    ts: str
    args: dict[str, Any]
    thread_ts: str | None = None
    metadata: dict[str, Any] | None = None


@dataclass
class Controls:
    faults: dict[str, deque[Fault]] = field(default_factory=lambda: defaultdict(deque))
    refused_channels: dict[str, str] = field(default_factory=dict)
    attempts: list[Call] = field(default_factory=list)
    responses: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    response_faults: deque[int] = field(default_factory=deque)


def parse_args(content_type: str, raw: bytes, query: str) -> dict[str, Any]:
    args: dict[str, Any] = {k: v[-1] for k, v in parse_qs(query).items()}
    if "json" in content_type:
        body = json.loads(raw or b"{}")
        if isinstance(body, dict):
            args.update(body)
    elif raw and "multipart" not in content_type:
        args.update({k: v[-1] for k, v in parse_qs(raw.decode()).items()})
    for key, value in list(args.items()):  # structured arguments sent as JSON strings
        if isinstance(value, str) and value[:1] in "[{":
            with contextlib.suppress(ValueError):
                args[key] = json.loads(value)
    return args


# Methods that act on the channel named in their arguments, and where that argument is.
CHANNEL_ARG = {
    "chat.postMessage": "channel",
    "chat.postEphemeral": "channel",
    "files.completeUploadExternal": "channel_id",
}


class SlackStandin:
    def __init__(
        self,
        bot_token: str = "xoxb-test-token",
        app_token: str | None = None,
        *,
        scopes: Iterable[str] | None = None,
        earlier: Iterable[tuple[str, str]] = (),
    ) -> None:
        self.bot_token = bot_token
        self.app_token = app_token
        self.scopes = frozenset(scopes) if scopes is not None else granted_scopes()
        self.earlier = list(earlier)  # (channel, ts) of messages laid out again on reset()
        self.socket_url: str | None = None
        self.ts_counter = itertools.count(1)
        standin = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                return

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                parsed = urlparse(self.path)
                status, headers, body = standin.dispatch(
                    parsed.path, parsed.query, dict(self.headers.items()), raw
                )
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(
            target=lambda: self.server.serve_forever(poll_interval=POLL), daemon=True
        )
        self.fresh()

    def fresh(self) -> None:
        self.workspace = Workspace(IDENTITY, open_world=True)
        self.workspace.messages_tab_enabled = app_home().get("messages_tab_enabled", False)
        self.lock = self.workspace.changed
        self.api = WebApi(
            self.workspace,
            self.bot_token,
            f"http://127.0.0.1:{self.port}",
            app_token=self.app_token,
            socket_url=self.socket_url,
            scopes=self.scopes,
        )
        self.controls = Controls()
        for channel, ts in self.earlier:
            self.add_message(channel, ts)

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> SlackStandin:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self) -> SlackStandin:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/"

    def response_url(self, channel: str | None = None, user: str | None = None) -> str:
        """A fresh response_url, as Slack puts in each command and click. With a ``channel``
        (and the ``user`` who acted), what is sent there is shown in that channel too."""
        if channel is None:
            return f"http://127.0.0.1:{self.port}/response/{uuid.uuid4().hex}"
        target = ResponseTarget(user=user or "", channel=channel)
        return f"http://127.0.0.1:{self.port}/response/{self.workspace.new_response_url(target)}"

    # -- test controls ---------------------------------------------------------------------

    def fail(
        self,
        method: str,
        error: str,
        *,
        times: int = 1,
        retry_after: float = 1.0,
        delay: float = 0,
        until: threading.Event | None = None,
    ) -> None:
        with self.lock:
            for _ in range(times):
                self.controls.faults[method].append(Fault(error, retry_after, delay, until))

    def stop_failing(self, method: str) -> None:
        """Drop the faults still queued for ``method``: Slack takes its calls again."""
        with self.lock:
            self.controls.faults[method].clear()

    def refuse_channel(self, channel: str, error: str = "not_in_channel") -> None:
        """Posts and uploads into ``channel`` answer ``error`` until the bot joins it."""
        with self.lock:
            self.controls.refused_channels[channel] = error

    def add_message(
        self, channel: str, ts: str, text: str = "an earlier message", *, from_bot: bool = True
    ) -> None:
        """A message that was in ``channel`` before the test (by the bot unless ``from_bot``
        is False): a click on it, or a reply in its thread, refers to something that exists."""
        self.workspace.post(
            channel=self.workspace.resolve_channel(channel).channel_id,
            user=BOT_USER if from_bot else "U0SOMEONE1",
            from_bot=from_bot,
            text=text,
            ts=ts,
        )

    def fail_responses(self, *statuses: int) -> None:
        with self.lock:
            self.controls.response_faults.extend(statuses)

    def set_socket_url(self, url: str) -> None:
        self.socket_url = url
        self.api.socket_url = url

    def set_usergroup(self, group: str, users: list[str]) -> None:
        with self.lock:
            self.workspace.usergroups[group] = (group.lower(), tuple(users))

    def reset(self) -> None:
        with self.lock:
            self.fresh()

    # -- what happened ---------------------------------------------------------------------

    def calls(self, method: str | None = None) -> list[Call]:
        with self.lock:
            return [c for c in self.controls.attempts if c.ok and method in (None, c.method)]

    def attempts(self, method: str | None = None) -> list[Call]:
        with self.lock:
            return [c for c in self.controls.attempts if method in (None, c.method)]

    def messages(self, channel: str | None = None) -> list[Posted]:
        """The bot's chat.postMessage messages (not ephemeral ones, not file shares); a user id
        as ``channel`` means the DM with that user."""
        with self.lock:
            dm = next(
                (
                    c.channel_id
                    for c in self.workspace.conversations.values()
                    if channel is not None and c.im_user == channel
                ),
                None,
            )
            channel = dm or channel
            return [
                Posted(m.channel, m.ts, dict(m.args), m.args.get("thread_ts") or None, m.metadata)
                for m in self.workspace.messages.values()
                if m.from_bot and m.args and not m.ephemeral_to and channel in (None, m.channel)
            ]

    def seen_by(self, user: str) -> list[Posted]:
        """The bot's messages ``user`` can see in Slack: those in a conversation they are in,
        and its DMs to them only where the app's Messages tab is on (Slack takes a DM to a user
        id either way, but with the tab off the user has nowhere to see it)."""
        with self.lock:
            ws = self.workspace
            seen = {
                c.channel_id
                for c in ws.conversations.values()
                if (c.im_user == user and ws.messages_tab_enabled)
                or (c.im_user is None and (user in c.members or c.anyone))
            }
            return [
                Posted(m.channel, m.ts, dict(m.args), m.args.get("thread_ts") or None, m.metadata)
                for m in ws.messages.values()
                if m.from_bot and m.args and m.channel in seen and m.ephemeral_to in (None, user)
            ]

    def home_view(self, user: str) -> dict[str, Any] | None:
        """The Home tab the bot last published for ``user`` (views.publish), if any."""
        with self.lock:
            view = self.workspace.home_views.get(user)
            return json.loads(json.dumps(view)) if view is not None else None

    def responses(self, to: str | None = None) -> list[dict[str, Any]]:
        """Everything posted to response_urls, or only to the one ``to`` names."""
        path = urlparse(to).path if to else None
        with self.lock:
            return [p for where, p in self.controls.responses if path in (None, where)]

    def answer_to(self, response_url: str, timeout: float = 30.0) -> dict[str, Any]:
        """The first answer posted to ``response_url`` (one click's or one command's own),
        whatever else arrives before or after it."""

        def first() -> dict[str, Any] | None:
            found = self.responses(to=response_url)
            return found[0] if found else None

        reply = self.wait_for(first, timeout)
        assert reply is not None  # wait_for returns only a truthy value
        return reply

    def response_log(self) -> list[tuple[str, dict[str, Any]]]:
        """(path, payload) of every response_url POST."""
        with self.lock:
            return list(self.controls.responses)

    def uploads(self, unshared: bool = False) -> list[Upload]:
        """Files shared into a channel; with ``unshared`` also those uploaded but never shared."""
        with self.lock:
            found = []
            for f in self.workspace.files.values():
                shares: list[tuple[str | None, str | None]] = list(f.shares)
                if not shares and unshared:
                    shares = [(None, None)]
                found += [
                    Upload(
                        f.file_id,
                        f.name,
                        f.length or 0,
                        f.content,
                        f.title,
                        channel,
                        thread_ts,
                        f.initial_comment,
                    )
                    for channel, thread_ts in shares
                ]
            return found

    def wait_for(self, probe: Callable[[], T], timeout: float = 60.0) -> T:
        """Wait until ``probe()`` is truthy (re-checked on every request); return its value."""
        deadline = time.monotonic() + timeout
        with self.lock:
            while True:
                value = probe()
                if value:
                    return value
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"stand-in: condition not met in {timeout} s")
                self.lock.wait(min(left, 0.2))

    # -- the server side -------------------------------------------------------------------

    def dispatch(
        self, path: str, query: str, headers: dict[str, str], raw: bytes
    ) -> tuple[int, dict[str, str], bytes]:
        lower = {k.lower(): v for k, v in headers.items()}
        if path.startswith("/response/"):
            return self.on_response(path, raw)
        if path.startswith("/upload/"):
            return self.on_upload(path.rsplit("/", 1)[-1], raw)
        if not path.startswith("/api/"):
            return 404, {}, b"not found"
        method = path[len("/api/") :]
        try:
            args = parse_args(lower.get("content-type", ""), raw, query)
        except (ValueError, UnicodeDecodeError):
            return self.answer(method, {}, {"ok": False, "error": "invalid_json"})
        token = lower.get("authorization", "").removeprefix("Bearer ") or args.pop("token", "")
        with self.lock:
            queue = self.controls.faults[method]
            fault = queue.popleft() if queue else None
        if fault is not None and fault.error == "timeout":
            # Slack did the work, but the answer comes too late: the caller may have given up.
            answer = self.call_method(method, args, token)
            if fault.until is not None:
                fault.until.wait(fault.delay)
            else:
                time.sleep(fault.delay)
            return answer
        if fault is not None:
            return self.record_fault(method, args, fault)
        return self.call_method(method, args, token)

    def call_method(
        self, method: str, args: dict[str, Any], token: str
    ) -> tuple[int, dict[str, str], bytes]:
        with self.lock:
            channel = str(args.get(CHANNEL_ARG.get(method, ""), "") or "")
            refused = self.controls.refused_channels.get(channel)
            if method == "conversations.join":
                self.controls.refused_channels.pop(str(args.get("channel", "")), None)
        if refused and token == self.bot_token:
            return self.answer(method, args, {"ok": False, "error": refused})
        status, headers, body = self.answer(method, args, self.api.call(method, args, token))
        if token == self.bot_token and self.api.scopes is not None:
            # Slack names the token's scopes on every answer to an authenticated call
            headers["x-oauth-scopes"] = ",".join(sorted(self.api.scopes))
        return status, headers, body

    def answer(
        self, method: str, args: dict[str, Any], data: dict[str, Any]
    ) -> tuple[int, dict[str, str], bytes]:
        with self.lock:
            error = None if data.get("ok") else str(data.get("error"))
            self.controls.attempts.append(Call(method, args, time.time(), 200, error))
            self.lock.notify_all()
        return 200, {"Content-Type": "application/json"}, json.dumps(data).encode()

    def record_fault(
        self, method: str, args: dict[str, Any], fault: Fault
    ) -> tuple[int, dict[str, str], bytes]:
        if fault.error == "ratelimited":
            status, headers = 429, {"Retry-After": f"{fault.retry_after:g}"}
            body = json.dumps({"ok": False, "error": "ratelimited"}).encode()
            headers["Content-Type"] = "application/json"
        elif fault.error == "server_error":
            status, headers, body = 500, {"Content-Type": "text/html"}, b"<html>500</html>"
        else:
            return self.answer(method, args, {"ok": False, "error": fault.error})
        with self.lock:
            self.controls.attempts.append(Call(method, args, time.time(), status, fault.error))
            self.lock.notify_all()
        return status, headers, body

    def on_response(self, path: str, raw: bytes) -> tuple[int, dict[str, str], bytes]:
        with self.lock:
            if self.controls.response_faults:
                return self.controls.response_faults.popleft(), {}, b"error"
            try:
                payload = json.loads(raw or b"{}")
            except ValueError:
                return 400, {"Content-Type": "text/plain"}, b"invalid_payload"
            self.controls.responses.append((path, payload))
            self.lock.notify_all()
            token = path.rsplit("/", 1)[-1]
            if token in self.workspace.response_urls and isinstance(payload, dict):
                try:
                    self.api.respond(token, payload)
                except SlackError as exc:
                    status = 404 if exc.code in ("expired_url", "used_url") else 400
                    return (
                        status,
                        {"Content-Type": "application/json"},
                        json.dumps({"ok": False, "error": exc.code}).encode(),
                    )
        return 200, {"Content-Type": "text/plain"}, b"ok"

    def on_upload(self, file_id: str, raw: bytes) -> tuple[int, dict[str, str], bytes]:
        try:
            self.workspace.upload(file_id, raw)
        except SlackError:
            return 404, {}, b"no such upload"
        with self.lock:
            self.lock.notify_all()
        return 200, {"Content-Type": "text/plain"}, f"OK - {len(raw)}".encode()


class SocketModeServer:
    """A websocket server speaking Slack's Socket Mode envelope protocol, for one app."""

    def __init__(self) -> None:
        from websockets.sync.server import serve

        self.lock = threading.Condition()
        self.connections: list[Any] = []
        self.acks: dict[str, dict[str, Any]] = {}
        self.server = serve(self.handle, "127.0.0.1", 0)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        port = self.server.socket.getsockname()[1]
        return f"ws://127.0.0.1:{port}/link/?ticket=test"

    def start(self) -> SocketModeServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()

    def __enter__(self) -> SocketModeServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def handle(self, connection: Any) -> None:
        connection.send(
            json.dumps(
                {
                    "type": "hello",
                    "num_connections": 1,
                    "connection_info": {"app_id": "A0ROOTKEY1"},
                    "debug_info": {"host": "standin"},
                }
            )
        )
        with self.lock:
            self.connections.append(connection)
            self.lock.notify_all()
        from websockets.exceptions import ConnectionClosed

        try:
            for message in connection:
                data = json.loads(message)
                if "envelope_id" in data:
                    with self.lock:
                        self.acks[data["envelope_id"]] = data
                        self.lock.notify_all()
        except ConnectionClosed:
            pass  # the bot went away without a close frame (it was stopped)
        finally:
            with self.lock:
                self.connections.remove(connection)

    def wait_connected(self, timeout: float = 20.0) -> None:
        with self.lock:
            if not self.lock.wait_for(lambda: self.connections, timeout):
                raise TimeoutError("the bot never opened a Socket Mode connection")

    def push(self, envelope_type: str, payload: dict[str, Any]) -> str:
        envelope_id = str(uuid.uuid4())
        envelope = {
            "envelope_id": envelope_id,
            "type": envelope_type,
            "payload": payload,
            "accepts_response_payload": envelope_type != "events_api",
            "retry_attempt": 0,
            "retry_reason": "",
        }
        with self.lock:
            connection = self.connections[-1]
        connection.send(json.dumps(envelope))
        return envelope_id

    def wait_ack(self, envelope_id: str, timeout: float = 10.0) -> dict[str, Any]:
        with self.lock:
            if not self.lock.wait_for(lambda: envelope_id in self.acks, timeout):
                raise TimeoutError(f"no ack for envelope {envelope_id}")
            return self.acks[envelope_id]
