"""The demo's HTTP server on 127.0.0.1: the Slack Web API for the bot, response URLs, file
uploads and downloads, the page, and the page's backend (``/ui/...``).

Routes:
  POST /api/<method>          Slack Web API (the bot's SLACK_API_URL is ``<base>/api/``)
  POST /upload/<file id>      the upload URL of files.getUploadURLExternal
  POST /response/<token>      a command's or a click's response_url
  GET  /files/<file id>       an uploaded file (images inline, anything else as text or download)
  GET  /                      the page; /static/<name> its script and style
  GET  /ui/config, /ui/state  who is who; the long-polled state for one person
  POST /ui/command, /ui/action, /ui/submit, /ui/close, /ui/message, /ui/home   what the
                              person did (/ui/home: opened the app's Home or Messages tab)
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from bot.demo import identities as ids
from bot.demo.feed import Feed
from bot.demo.mrkdwn import EMOJI_DIR, SHIPPED
from bot.demo.relay import Relay, person_ref
from simulator.slack.scopes import granted_scopes
from simulator.slack.webapi import WebApi
from simulator.slack.workspace import Json, SlackError, Workspace

log = logging.getLogger(__name__)

PAGE_DIR = Path(__file__).with_name("page")
STATIC = {
    "app.js": "text/javascript; charset=utf-8",
    "style.css": "text/css; charset=utf-8",
}
CLIENT_GONE = (BrokenPipeError, ConnectionResetError, ConnectionAbortedError)
EMOJI_FILES = frozenset(f"{name}.svg" for name in SHIPPED)  # only these names are served
INLINE_TYPES = {"image/png", "image/jpeg", "image/gif"}
MAX_BODY = 20 * 1024 * 1024
LONG_POLL = 20.0


class ExportError(Exception):
    """The audit-log export failed; the message is one line for the page."""


class ControlRefused(Exception):
    """A simulation control (mode switch, root activity) could not act; one line for the page."""


def demo_workspace() -> Workspace:
    """The demo's cast: two people, two channels (everyone in them), a DM each, one user group."""
    ws = Workspace(ids.IDENTITY)
    for p in ids.PEOPLE:
        ws.add_user(p.user_id, p.handle, p.real_name, p.role)
    everyone = [p.user_id for p in ids.PEOPLE]
    for c in ids.CHANNELS:
        ws.add_channel(c.channel_id, c.name, topic=c.topic, members=everyone)
    for p in ids.PEOPLE:
        ws.add_dm(p.user_id, ids.dm_channel_id(p.user_id))
    ws.usergroups["S0DEMOLEAD"] = ("security-leads", (ids.APPROVER.user_id,))
    return ws


class DemoServer:
    """The workspace, its Web API and the page, served on one local port."""

    def __init__(self, port: int = 0, token: str = "xoxb-demo") -> None:
        self.workspace = demo_workspace()
        self.feed = Feed(self.workspace)
        self.relay: Relay | None = None
        self.info: Json = {}  # what the page says about the simulation (accounts, mode)
        # The product's own audit-log export (``python -m bot log``), set by the orchestrator:
        # format ("json" or "csv") -> the export, or raises DemoExportError.
        self.export_log: Callable[[str], bytes] | None = None
        # The simulation's controls, set by the orchestrator: restart the bot in another
        # remediation mode; a simulated root user's key activity (account, action) -> what
        # happened. Each raises ControlRefused, whose message is one line for the page.
        self.switch_mode: Callable[[str], None] | None = None
        self.root_activity: Callable[[str, str], str] | None = None
        self.closing = False
        handler = type("Handler", (RequestHandler,), {"demo": self})
        self.httpd = ThreadingHTTPServer(("127.0.0.1", port), handler)
        self.httpd.daemon_threads = True
        self.port = int(self.httpd.server_address[1])
        self.base_url = f"http://127.0.0.1:{self.port}"
        # the app has the scopes slack/manifest.yml grants, no more, as in a real workspace
        self.api = WebApi(self.workspace, token, self.base_url, scopes=granted_scopes())
        self.thread: threading.Thread | None = None

    @property
    def api_url(self) -> str:
        return f"{self.base_url}/api/"

    def connect(self, bot_url: str, signing_secret: str) -> None:
        """Point the page's actions at the bot's ``/slack/events``."""
        self.relay = Relay(self.workspace, self.api, bot_url, signing_secret)

    def start(self) -> None:
        # a stop request is seen within 50 ms (socketserver's default is 0.5 s)
        self.thread = threading.Thread(
            target=lambda: self.httpd.serve_forever(poll_interval=0.05),
            name="demo-http",
            daemon=True,
        )
        self.thread.start()

    def stop(self) -> None:
        self.closing = True
        with self.workspace.changed:
            self.workspace.touch()  # wake the long polls
        if self.thread is not None:  # shutdown() waits for serve_forever: only if it runs
            self.httpd.shutdown()
            self.thread = None
        self.httpd.server_close()


class RequestHandler(BaseHTTPRequestHandler):
    demo: DemoServer
    server_version = "rootkey-demo"
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s " + format, self.address_string(), *args)

    def handle(self) -> None:
        """A browser closing or reloading a tab drops its connections (a long poll, most
        often) while an answer is on its way: normal for a page, so one debug line."""
        try:
            super().handle()
        except CLIENT_GONE as exc:
            log.debug("%s closed the connection: %s", self.address_string(), exc)
            self.close_connection = True

    def finish(self) -> None:
        try:
            super().finish()  # flushes what is left for a client that may be gone
        except CLIENT_GONE as exc:
            log.debug("%s closed the connection: %s", self.address_string(), exc)

    # -- plumbing ------------------------------------------------------------------------

    def send(
        self, status: int, body: bytes, content_type: str, extra: dict[str, str] | None = None
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Cache-Control", "no-store")
        for key, value in (extra or {}).items():
            self.send_header(key, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def send_json(self, data: object, status: int = 200) -> None:
        self.send(status, json.dumps(data).encode(), "application/json; charset=utf-8")

    def body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            raise SlackError("request_too_large")
        return self.rfile.read(length) if length else b""

    def local_host(self) -> bool:
        """Refuse other Host names, so a web page elsewhere cannot reach the demo by DNS tricks."""
        host = (self.headers.get("Host") or "").rsplit(":", 1)[0]
        return host in ("127.0.0.1", "localhost", "[::1]")

    def route(self) -> tuple[str, dict[str, list[str]]]:
        parts = urlsplit(self.path)
        return parts.path, parse_qs(parts.query)

    # -- GET -----------------------------------------------------------------------------

    def do_GET(self) -> None:
        if not self.local_host():
            self.send(HTTPStatus.MISDIRECTED_REQUEST, b"unknown host", "text/plain")
            return
        path, query = self.route()
        if path == "/":
            page = (PAGE_DIR / "index.html").read_bytes()
            self.send(
                200,
                page,
                "text/html; charset=utf-8",
                {
                    "Content-Security-Policy": (
                        "default-src 'self'; img-src 'self' data:; "
                        "style-src 'self' 'unsafe-inline'; script-src 'self'; "
                        "connect-src 'self'; frame-ancestors 'none'"
                    ),
                },
            )
        elif path.startswith("/static/") and path[len("/static/") :] in STATIC:
            name = path[len("/static/") :]
            self.send(200, (PAGE_DIR / name).read_bytes(), STATIC[name])
        elif path.startswith("/static/emoji/") and path[len("/static/emoji/") :] in EMOJI_FILES:
            name = path[len("/static/emoji/") :]
            self.send(200, (EMOJI_DIR / name).read_bytes(), "image/svg+xml")
        elif path.startswith("/files/"):
            self.file(path[len("/files/") :], "download" in query)
        elif path == "/ui/config":
            self.send_json(self.config())
        elif path == "/ui/state":
            self.state(query)
        elif path == "/ui/audit-log":
            self.audit_log((query.get("format") or ["json"])[-1])
        elif path == "/healthz":
            self.send_json({"ok": True, "bot_connected": self.demo.relay is not None})
        elif path.startswith("/api/"):
            self.web_api(path[len("/api/") :], {k: v[-1] for k, v in query.items()})
        else:
            self.send(404, b"not found", "text/plain")

    def config(self) -> Json:
        return {
            "team": ids.TEAM_NAME,
            "bot": ids.BOT_NAME,
            "command": ids.COMMAND,
            "people": [
                {"id": p.user_id, "name": p.real_name, "role": p.role, "color": p.color}
                for p in ids.PEOPLE
            ],
            "default_channel": ids.SECURITY.channel_id,
            "digest_channel": ids.DIGEST.channel_id,
            "info": self.demo.info,
        }

    def state(self, query: dict[str, list[str]]) -> None:
        user = (query.get("user") or [ids.REQUESTER.user_id])[-1]
        try:
            person_ref(user)
        except SlackError:
            self.send_json({"error": "unknown user"}, 400)
            return
        since = (query.get("since") or [""])[-1]
        if since.isdigit() and not self.demo.closing:
            self.demo.workspace.wait(int(since), LONG_POLL)
        snapshot = self.demo.feed.snapshot(user)
        snapshot["info"] = self.demo.info  # the simulation: its mode may change
        self.send_json(snapshot)

    def audit_log(self, fmt: str) -> None:
        export = self.demo.export_log
        if export is None or fmt not in ("json", "csv"):
            self.send_json({"error": "the audit log export is not available"}, 404)
            return
        try:
            data = export(fmt)
        except ExportError as exc:
            self.send_json({"error": str(exc)}, 502)
            return
        if fmt == "csv":
            extra = {"Content-Disposition": 'attachment; filename="rootkey-audit-log.csv"'}
            self.send(200, data, "text/csv; charset=utf-8", extra)
        else:
            self.send(200, data, "application/json; charset=utf-8")

    def file(self, file_id: str, download: bool) -> None:
        stored = self.demo.workspace.files.get(file_id)
        if stored is None or not stored.complete:
            self.send(404, b"no such file", "text/plain")
            return
        mime = stored.mimetype
        safe_name = "".join(c for c in stored.name if c.isalnum() or c in "._-") or "file"
        if download:
            extra = {"Content-Disposition": f'attachment; filename="{safe_name}"'}
            self.send(200, stored.content, "application/octet-stream", extra)
        elif mime in INLINE_TYPES:
            self.send(200, stored.content, mime)
        else:  # shown as text, never interpreted by the browser
            self.send(
                200,
                stored.content,
                "text/plain; charset=utf-8",
                {"Content-Security-Policy": "default-src 'none'; sandbox"},
            )

    # -- POST ----------------------------------------------------------------------------

    def do_POST(self) -> None:
        if not self.local_host():
            self.send(HTTPStatus.MISDIRECTED_REQUEST, b"unknown host", "text/plain")
            return
        path, query = self.route()
        try:
            body = self.body()
        except SlackError:
            self.send(413, b"too large", "text/plain")
            return
        if path.startswith("/api/"):
            args: Json = {k: v[-1] for k, v in query.items()}
            args.update(self.parse_args(body))
            self.web_api(path[len("/api/") :], args)
        elif path.startswith("/upload/"):
            try:
                self.demo.workspace.upload(path[len("/upload/") :], body)
            except SlackError:
                self.send(404, b"unknown upload", "text/plain")
                return
            self.send(200, f"OK - {len(body)}".encode(), "text/plain")
        elif path.startswith("/response/"):
            self.response_url(path[len("/response/") :], body)
        elif path.startswith("/ui/"):
            self.ui(path[len("/ui/") :], body)
        else:
            self.send(404, b"not found", "text/plain")

    def parse_args(self, body: bytes) -> Json:
        kind = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if not body:
            return {}
        if kind == "application/json":
            try:
                data = json.loads(body)
            except json.JSONDecodeError:
                return {}
            return data if isinstance(data, dict) else {}
        return {k: v[-1] for k, v in parse_qs(body.decode("utf-8", "replace")).items()}

    def web_api(self, method: str, args: Json) -> None:
        auth = self.headers.get("Authorization") or ""
        token = auth[len("Bearer ") :] if auth.startswith("Bearer ") else args.pop("token", None)
        args.pop("token", None)
        self.send_json(self.demo.api.call(method, args, token))

    def response_url(self, token: str, body: bytes) -> None:
        try:
            data = json.loads(body or b"{}")
            if not isinstance(data, dict):
                raise SlackError("invalid_payload")
            self.demo.api.respond(token, data)
        except json.JSONDecodeError:
            self.send_json({"ok": False, "error": "invalid_payload"}, 400)
        except SlackError as exc:
            status = 404 if exc.code in ("expired_url", "used_url") else 400
            self.send_json({"ok": False, "error": exc.code}, status)
        else:
            self.send_json({"ok": True})

    # -- the page's backend --------------------------------------------------------------

    def ui(self, name: str, body: bytes) -> None:
        kind = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if kind != "application/json":  # a cross-site form cannot send JSON without CORS
            self.send_json({"error": "expected application/json"}, 415)
            return
        try:
            data = json.loads(body or b"{}")
        except json.JSONDecodeError:
            self.send_json({"error": "invalid JSON"}, 400)
            return
        handlers: dict[str, Callable[[Relay, Json], Json]] = {
            "command": self.ui_command,
            "action": self.ui_action,
            "submit": self.ui_submit,
            "close": self.ui_close,
            "message": self.ui_message,
            "home": self.ui_home,
        }
        if name in ("mode", "root-activity") and isinstance(data, dict):
            self.send_json(self.simulation(name, data))
            return
        handler = handlers.get(name)
        relay = self.demo.relay
        if handler is None or not isinstance(data, dict):
            self.send_json({"error": "unknown"}, 404)
        elif relay is None:
            self.send_json({"error": "rootkey is still starting; try again in a moment"}, 503)
        else:
            try:
                person_ref(str(data.get("user")))
                self.send_json(handler(relay, data))
            except SlackError as exc:
                self.send_json({"error": exc.code}, 400)

    def simulation(self, name: str, data: Json) -> Json:
        """The page's simulation controls (not Slack): the bot's remediation mode, and a
        simulated root user's key activity. Refusals come back as ``{"error": line}``."""
        demo = self.demo
        if demo.switch_mode is None or demo.root_activity is None:
            return {"error": "the simulation is still starting; try again in a moment"}
        try:
            if name == "mode":
                mode = str(data.get("mode"))
                self.touch_info(switching=mode)
                try:
                    demo.switch_mode(mode)
                finally:
                    self.touch_info(switching=None)
                return {"mode": demo.info.get("mode")}
            assert demo.root_activity is not None
            return {"done": demo.root_activity(str(data.get("account")), str(data.get("action")))}
        except ControlRefused as exc:
            log.info("the simulation refused %s: %s", name, exc)
            return {"error": str(exc)}

    def touch_info(self, switching: str | None) -> None:
        """Say on every page that the bot is restarting (or no longer): wakes the long polls."""
        self.demo.info = dict(self.demo.info, switching=switching)
        with self.demo.workspace.changed:
            self.demo.workspace.touch()

    def ui_command(self, relay: Relay, data: Json) -> Json:
        text = str(data.get("text") or "").strip()
        command = ids.COMMAND
        if not text.startswith(command + " ") and text != command:
            name = text.split()[0] if text else ""
            return {"error": f"{name} is not a command here: try {command} help"}
        reply = relay.command(
            str(data["user"]), str(data.get("channel")), text[len(command) :].strip()
        )
        return {"status": reply.status, "problem": reply.problem}

    def ui_action(self, relay: Relay, data: Json) -> Json:
        container = data.get("container")
        if not isinstance(container, dict):
            raise SlackError("invalid_arguments")
        reply = relay.action(
            str(data["user"]),
            container,
            str(data.get("block_id")),
            str(data.get("action_id")),
            value=data.get("value"),
            values=data.get("values"),
            state=data.get("state"),
        )
        return {"status": reply.status, "problem": reply.problem}

    def ui_submit(self, relay: Relay, data: Json) -> Json:
        return relay.submit(str(data["user"]), str(data.get("view_id")), data.get("values"))

    def ui_close(self, relay: Relay, data: Json) -> Json:
        relay.close(str(data["user"]), str(data.get("view_id")))
        return {"closed": True}

    def ui_home(self, relay: Relay, data: Json) -> Json:
        """The person opened the app's Home or Messages tab: sent to the bot as Slack's
        ``app_home_opened``; the Home view arrives with the next state (views.publish)."""
        reply = relay.home_opened(str(data["user"]), str(data.get("tab") or "home"))
        return {"status": reply.status, "problem": reply.problem}

    def ui_message(self, relay: Relay, data: Json) -> Json:
        """A plain message from the person: shown in the channel (the bot does not read it)."""
        channel = self.demo.workspace.resolve_channel(data.get("channel"))
        text = str(data.get("text") or "")[:4000]
        if not text.strip():
            raise SlackError("no_text")
        thread = str(data.get("thread_ts") or "") or None
        self.demo.workspace.post(
            channel=channel.channel_id, user=str(data["user"]), text=text, thread_ts=thread
        )
        return {"posted": True}
