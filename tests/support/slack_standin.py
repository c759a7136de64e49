"""A local stand-in of Slack's Web API, a response_url endpoint and a Socket Mode server.

No pytest in here: benchmarks and the demo use it too.

    with SlackStandin(bot_token="xoxb-test") as slack:
        env = {"SLACK_API_URL": slack.base_url, ...}
        slack.fail("chat.postMessage", "ratelimited", retry_after=1)   # one 429, then normal
        slack.refuse_channel("C0PRIVATE1")                             # not_in_channel for ever
        ...
        slack.wait_for(lambda: slack.calls("chat.postMessage"))

Every Web API request is recorded (``attempts``: all of them, ``calls``: those answered ok).
Methods implemented: the ones the bot calls (auth.test, chat.*, views.*, files upload v2,
usergroups.users.list, conversations.*, users.info, apps.connections.open).
"""

from __future__ import annotations

import contextlib
import itertools
import json
import threading
import time
import uuid
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, TypeVar
from urllib.parse import parse_qs, urlparse

T = TypeVar("T")

BOT_USER = "U0ROOTKEY0"
BOT_ID = "B0ROOTKEY0"
TEAM = "T0TEAM0001"


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


@dataclass
class Upload:
    file_id: str
    filename: str
    length: int
    content: bytes = b""
    title: str | None = None
    channel: str | None = None
    thread_ts: str | None = None
    initial_comment: str | None = None


@dataclass
class Posted:
    channel: str
    ts: str
    args: dict[str, Any]
    thread_ts: str | None = None
    metadata: dict[str, Any] | None = None


@dataclass
class SlackState:
    bot_token: str
    app_token: str | None
    attempts: list[Call] = field(default_factory=list)
    faults: dict[str, deque[Fault]] = field(default_factory=lambda: defaultdict(deque))
    refused_channels: dict[str, str] = field(default_factory=dict)
    messages: list[Posted] = field(default_factory=list)
    uploads: dict[str, Upload] = field(default_factory=dict)
    responses: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    response_faults: deque[int] = field(default_factory=deque)
    usergroups: dict[str, list[str]] = field(default_factory=dict)
    socket_url: str | None = None


def parse_args(content_type: str, raw: bytes, query: str) -> dict[str, Any]:
    args: dict[str, Any] = {k: v[-1] for k, v in parse_qs(query).items()}
    if "json" in content_type:
        args.update(json.loads(raw or b"{}"))
    elif raw and "multipart" not in content_type:
        args.update({k: v[-1] for k, v in parse_qs(raw.decode()).items()})
    for key, value in list(args.items()):
        if isinstance(value, str) and value[:1] in "[{":
            with contextlib.suppress(ValueError):
                args[key] = json.loads(value)
    return args


class SlackStandin:
    def __init__(self, bot_token: str = "xoxb-test-token", app_token: str | None = None) -> None:
        self.state = SlackState(bot_token=bot_token, app_token=app_token)
        self.lock = threading.Condition()
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
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

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

    def response_url(self) -> str:
        """A fresh response_url, as Slack puts in each command and click."""
        return f"http://127.0.0.1:{self.port}/response/{uuid.uuid4().hex}"

    # -- test controls ---------------------------------------------------------------------

    def fail(
        self, method: str, error: str, *, times: int = 1, retry_after: float = 1.0, delay: float = 0
    ) -> None:
        with self.lock:
            for _ in range(times):
                self.state.faults[method].append(Fault(error, retry_after, delay))

    def refuse_channel(self, channel: str, error: str = "not_in_channel") -> None:
        with self.lock:
            self.state.refused_channels[channel] = error

    def fail_responses(self, *statuses: int) -> None:
        with self.lock:
            self.state.response_faults.extend(statuses)

    def set_socket_url(self, url: str) -> None:
        self.state.socket_url = url

    def set_usergroup(self, group: str, users: list[str]) -> None:
        self.state.usergroups[group] = list(users)

    def reset(self) -> None:
        with self.lock:
            token, app = self.state.bot_token, self.state.app_token
            self.state = SlackState(bot_token=token, app_token=app)

    # -- what happened ---------------------------------------------------------------------

    def calls(self, method: str | None = None) -> list[Call]:
        with self.lock:
            return [c for c in self.state.attempts if c.ok and method in (None, c.method)]

    def attempts(self, method: str | None = None) -> list[Call]:
        with self.lock:
            return [c for c in self.state.attempts if method in (None, c.method)]

    def messages(self, channel: str | None = None) -> list[Posted]:
        with self.lock:
            return [m for m in self.state.messages if channel in (None, m.channel)]

    def responses(self, to: str | None = None) -> list[dict[str, Any]]:
        """Everything posted to response_urls, or only to the one ``to`` names."""
        path = urlparse(to).path if to else None
        with self.lock:
            return [p for where, p in self.state.responses if path in (None, where)]

    def answer_to(self, response_url: str, timeout: float = 30.0) -> dict[str, Any]:
        """The first answer posted to ``response_url`` (one click's or one command's own),
        whatever else arrives before or after it."""
        return self.wait_for(lambda: next(iter(self.responses(to=response_url)), None), timeout)

    def uploads(self) -> list[Upload]:
        with self.lock:
            return [u for u in self.state.uploads.values() if u.channel]

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
        args = parse_args(lower.get("content-type", ""), raw, query)
        token = lower.get("authorization", "").removeprefix("Bearer ") or args.get("token", "")
        with self.lock:
            fault = self.state.faults[method].popleft() if self.state.faults[method] else None
        if fault is not None and fault.error == "timeout":
            # Slack did the work, but the answer comes too late: the caller may have given up.
            answer = self.call_method(method, args, token)
            time.sleep(fault.delay)
            return answer
        if fault is not None:
            return self.record_fault(method, args, fault)
        return self.call_method(method, args, token)

    def call_method(
        self, method: str, args: dict[str, Any], token: str
    ) -> tuple[int, dict[str, str], bytes]:
        expected = self.state.app_token if method == "apps.connections.open" else None
        if token not in {self.state.bot_token, expected}:
            return self.answer(method, args, {"ok": False, "error": "invalid_auth"})
        handler = getattr(self, "api_" + method.replace(".", "_"), None)
        if handler is None:
            return self.answer(method, args, {"ok": False, "error": "unknown_method"})
        with self.lock:
            data = handler(args)
        return self.answer(method, args, data)

    def answer(
        self, method: str, args: dict[str, Any], data: dict[str, Any]
    ) -> tuple[int, dict[str, str], bytes]:
        with self.lock:
            error = None if data.get("ok") else str(data.get("error"))
            self.state.attempts.append(Call(method, args, time.time(), 200, error))
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
            self.state.attempts.append(Call(method, args, time.time(), status, fault.error))
            self.lock.notify_all()
        return status, headers, body

    def on_response(self, path: str, raw: bytes) -> tuple[int, dict[str, str], bytes]:
        with self.lock:
            if self.state.response_faults:
                return self.state.response_faults.popleft(), {}, b"error"
            self.state.responses.append((path, json.loads(raw or b"{}")))
            self.lock.notify_all()
        return 200, {"Content-Type": "text/plain"}, b"ok"

    def on_upload(self, file_id: str, raw: bytes) -> tuple[int, dict[str, str], bytes]:
        with self.lock:
            upload = self.state.uploads.get(file_id)
            if upload is None:
                return 404, {}, b"no such upload"
            upload.content = raw
        return 200, {"Content-Type": "text/plain"}, f"OK - {len(raw)}".encode()

    def next_ts(self) -> str:
        return f"{int(time.time())}.{next(self.ts_counter):06d}"

    # -- Web API methods (called with the lock held) ---------------------------------------

    def api_auth_test(self, args: dict[str, Any]) -> dict[str, Any]:
        return {
            "ok": True,
            "url": "https://example.slack.com/",
            "team": "Example",
            "user": "rootkey",
            "team_id": TEAM,
            "user_id": BOT_USER,
            "bot_id": BOT_ID,
            "is_enterprise_install": False,
        }

    def refused(self, channel: str) -> dict[str, Any] | None:
        error = self.state.refused_channels.get(channel)
        return {"ok": False, "error": error} if error else None

    def api_chat_postMessage(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = str(args.get("channel", ""))
        if not channel:
            return {"ok": False, "error": "channel_not_found"}
        if refused := self.refused(channel):
            return refused
        if not args.get("text") and not args.get("blocks"):
            return {"ok": False, "error": "no_text"}
        ts = self.next_ts()
        self.state.messages.append(
            Posted(channel, ts, args, args.get("thread_ts"), args.get("metadata"))
        )
        message = {"ts": ts, "text": args.get("text"), "blocks": args.get("blocks")}
        return {"ok": True, "channel": channel, "ts": ts, "message": message}

    def api_chat_update(self, args: dict[str, Any]) -> dict[str, Any]:
        for posted in self.state.messages:
            if posted.channel == args.get("channel") and posted.ts == args.get("ts"):
                posted.args = {**posted.args, **args}
                return {"ok": True, "channel": posted.channel, "ts": posted.ts}
        return {"ok": False, "error": "message_not_found"}

    def api_chat_postEphemeral(self, args: dict[str, Any]) -> dict[str, Any]:
        if refused := self.refused(str(args.get("channel", ""))):
            return refused
        return {"ok": True, "message_ts": self.next_ts()}

    def api_chat_getPermalink(self, args: dict[str, Any]) -> dict[str, Any]:
        ts = str(args.get("message_ts", "")).replace(".", "")
        return {"ok": True, "permalink": f"https://example.slack.com/archives/x/p{ts}"}

    def api_conversations_history(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = args.get("channel")
        oldest = float(args.get("oldest") or 0)
        found = [
            {"ts": m.ts, "text": m.args.get("text"), "metadata": m.metadata}
            for m in reversed(self.state.messages)
            if m.channel == channel and float(m.ts) >= oldest and not m.thread_ts
        ]
        return {"ok": True, "messages": found[: int(args.get("limit") or 100)]}

    def api_conversations_info(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = str(args.get("channel", ""))
        member = channel not in self.state.refused_channels
        return {"ok": True, "channel": {"id": channel, "is_member": member}}

    def api_conversations_join(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = str(args.get("channel", ""))
        self.state.refused_channels.pop(channel, None)
        return {"ok": True, "channel": {"id": channel}}

    def api_users_info(self, args: dict[str, Any]) -> dict[str, Any]:
        user = str(args.get("user", ""))
        return {"ok": True, "user": {"id": user, "name": user.lower(), "tz": "UTC"}}

    def api_usergroups_users_list(self, args: dict[str, Any]) -> dict[str, Any]:
        users = self.state.usergroups.get(str(args.get("usergroup", "")))
        if users is None:
            return {"ok": False, "error": "no_such_subteam"}
        return {"ok": True, "users": users}

    def view(self, args: dict[str, Any], view_id: str | None = None) -> dict[str, Any]:
        view = args.get("view") or {}
        return {"ok": True, "view": {**view, "id": view_id or "V" + uuid.uuid4().hex[:10]}}

    def api_views_open(self, args: dict[str, Any]) -> dict[str, Any]:
        if not args.get("trigger_id"):
            return {"ok": False, "error": "invalid_trigger_id"}
        return self.view(args)

    def api_views_push(self, args: dict[str, Any]) -> dict[str, Any]:
        return self.api_views_open(args)

    def api_views_update(self, args: dict[str, Any]) -> dict[str, Any]:
        return self.view(args, args.get("view_id"))

    def api_files_getUploadURLExternal(self, args: dict[str, Any]) -> dict[str, Any]:
        file_id = "F" + uuid.uuid4().hex[:10].upper()
        self.state.uploads[file_id] = Upload(
            file_id, str(args.get("filename")), int(args.get("length") or 0)
        )
        return {
            "ok": True,
            "upload_url": f"http://127.0.0.1:{self.port}/upload/{file_id}",
            "file_id": file_id,
        }

    def api_files_completeUploadExternal(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = args.get("channel_id")
        if channel and (refused := self.refused(str(channel))):
            return refused
        done = []
        for item in args.get("files") or []:
            upload = self.state.uploads.get(item.get("id"))
            if upload is None or len(upload.content) != upload.length:
                return {"ok": False, "error": "file_not_found"}
            upload.title = item.get("title")
            upload.channel = channel
            upload.thread_ts = args.get("thread_ts")
            upload.initial_comment = args.get("initial_comment")
            done.append({"id": upload.file_id, "title": upload.title, "name": upload.filename})
        return {"ok": True, "files": done}

    def api_apps_connections_open(self, args: dict[str, Any]) -> dict[str, Any]:
        if not self.state.socket_url:
            return {"ok": False, "error": "socket_mode_not_enabled"}
        return {"ok": True, "url": self.state.socket_url}


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
