"""Start everything of the demo on 127.0.0.1, and stop all of it.

1. moto's server with the simulated Organization (``scenario``);
2. the page and the Slack Web API (``server.DemoServer``);
3. the real bot, unchanged, as a subprocess (``python -m bot run --host 127.0.0.1``), in HTTP
   mode, with SQLite in a temporary directory (its DATABASE_URL printed at start, so the CLI
   and the digest's ``log --verify`` work on it), pointed at both, reading root activity from the
   simulated events queue; the page's mode switch restarts it with the other
   ``ROOTKEY_REMEDIATION`` (``assume-root`` at start, ``tracked`` the production default) on the
   same database;
4. print the page's address and wait for Ctrl-C (SIGINT) or SIGTERM, then stop the bot (SIGTERM,
   then SIGKILL if it hangs), the servers, and remove the temporary directory.

The bot runs in its own session (a terminal's Ctrl-C reaches only the demo, which stops it in
order), and on Linux it also gets SIGTERM should the demo itself be killed.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import json
import os
import queue
import secrets
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from bot.demo import activity, history, scenario
from bot.demo import identities as ids
from bot.demo.server import ControlRefused, DemoServer, ExportError

ROOT = Path(__file__).resolve().parents[2]
PASS_THROUGH = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "TZ")
BOT_START_TIMEOUT = 60.0
BOT_STOP_TIMEOUT = 25.0
EXPORT_TIMEOUT = 30.0
DEMO_TOKEN = "xoxb-demo-0000000000-local"  # accepted only by the demo's own Web API
MODES = ("assume-root", "tracked")  # ROOTKEY_REMEDIATION; the demo starts in the first


class DemoError(Exception):
    """Something kept the demo from starting; one line for the person who ran it."""


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def parent_death_signal() -> Callable[[], None] | None:
    """On Linux: a child pre-exec hook so the bot gets SIGTERM if the demo dies without cleanup."""
    if not sys.platform.startswith("linux"):
        return None
    name = ctypes.util.find_library("c")
    if not name:
        return None
    prctl = ctypes.CDLL(name, use_errno=True).prctl
    pr_set_pdeathsig = 1

    def hook() -> None:
        prctl(pr_set_pdeathsig, signal.SIGTERM)

    return hook


def bot_environment(
    api_url: str,
    aws_env: dict[str, str],
    port: int,
    secret: str,
    workdir: Path,
    mode: str = MODES[0],
    queue_url: str | None = None,
) -> dict[str, str]:
    """Only what the bot needs, set explicitly: nothing from the user's shell or a .env file
    (a real token or AWS profile there must never reach the demo)."""
    env = {k: os.environ[k] for k in PASS_THROUGH if k in os.environ}
    env.update(aws_env)
    env.update(
        {
            "PYTHONUNBUFFERED": "1",
            "PYTHONPATH": str(ROOT),
            "PYTHON_DOTENV_DISABLED": "1",
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
            "AWS_EC2_METADATA_DISABLED": "true",
            "SLACK_BOT_TOKEN": DEMO_TOKEN,
            "SLACK_SIGNING_SECRET": secret,
            "SLACK_API_URL": api_url,
            "SLACK_TEAM_ID": ids.TEAM_ID,
            "SLACK_APP_ID": ids.APP_ID,
            "PORT": str(port),
            "DATABASE_URL": f"sqlite:///{(workdir / 'rootkey.db').resolve()}",
            "ROOTKEY_SCOPE": "org",
            "ROOTKEY_REMEDIATION": mode,
            "ROOTKEY_APPROVERS": f"{ids.REQUESTER.user_id},{ids.APPROVER.user_id}",
            "ROOTKEY_DIGEST_CHANNEL": ids.DIGEST.channel_id,
            "ROOTKEY_ALERT_CHANNEL": ids.SECURITY.channel_id,
        }
    )
    if queue_url:
        env["ROOTKEY_EVENTS_QUEUE_URL"] = queue_url
    return env


def export_log(env: dict[str, str], workdir: Path | None, fmt: str) -> bytes:
    """The remediation audit log as the product exports it: ``python -m bot log``, run against
    the demo bot's database."""
    if workdir is None:
        raise ExportError("the demo is stopping")
    try:
        done = subprocess.run(
            [sys.executable, "-m", "bot", "log", "--format", fmt],
            cwd=workdir,
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=EXPORT_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise ExportError(f"python -m bot log took longer than {EXPORT_TIMEOUT:.0f} s") from None
    if done.returncode != 0:
        lines = done.stderr.decode(errors="replace").strip().splitlines()
        raise ExportError(lines[-1] if lines else f"python -m bot log exited {done.returncode}")
    return done.stdout


@dataclass
class Demo:
    port: int = 0
    out: TextIO = sys.stdout
    err: TextIO = sys.stderr
    stop_requested: threading.Event = field(default_factory=threading.Event)
    world: scenario.Scenario | None = None
    server: DemoServer | None = None
    bot: subprocess.Popen[bytes] | None = None
    workdir: Path | None = None
    mode: str = MODES[0]
    # held while the bot is replaced (the mode switch), so nobody takes the swap for a crash
    bot_lock: threading.Lock = field(default_factory=threading.Lock)
    # mode switches asked for by the page, carried out by the thread that runs ``wait``
    switches: queue.Queue[tuple[str, Future[None]]] = field(default_factory=queue.Queue)

    @property
    def log_path(self) -> Path | None:
        return self.workdir / "bot.log" if self.workdir else None

    @property
    def database_url(self) -> str:
        assert self.workdir is not None
        return f"sqlite:///{(self.workdir / 'rootkey.db').resolve()}"

    @property
    def database_env(self) -> str:
        """``DATABASE_URL=…``, as a shell takes it."""
        return f"DATABASE_URL={shlex.quote(self.database_url)}"

    def bot_log_tail(self, lines: int = 15) -> str:
        path = self.log_path
        if path is None or not path.exists():
            return ""
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])

    def start(self) -> str:
        """Start everything; returns the page's address."""
        scenario.load_support()  # before anything starts: one line if moto is missing
        try:  # the page's port first: a port in use fails before anything else starts
            self.server = DemoServer(self.port, token=DEMO_TOKEN)
        except OSError as exc:
            raise DemoError(f"cannot listen on 127.0.0.1:{self.port}: {exc.strerror}") from None
        self.workdir = Path(tempfile.mkdtemp(prefix="rootkey-demo-"))
        print(
            f"rootkey demo: the bot's database, until the demo stops: {self.database_env}\n"
            "  (python -m bot log, history and the digest's log --verify read it with that "
            "variable set)",
            file=self.err,
            flush=True,
        )
        print("rootkey demo: starting a simulated AWS Organization…", file=self.err, flush=True)
        self.world = scenario.start()
        self.server.info = {
            "accounts": self.world.accounts,
            "mode": self.mode,
            "modes": list(MODES),
            "members": [a.name for a in self.world.org.members],
            "root_actions": activity.ACTIONS,
        }
        self.server.switch_mode = self.switch_control
        self.server.root_activity = self.root_control
        # a month of daily audits, so the digest and history show streaks from the start
        history.seed(
            self.database_url,
            ((a.account_id, a.name) for a in self.world.org.all_accounts),
            datetime.now(UTC),
        )
        self.server.start()
        self.start_bot()
        return f"{self.server.base_url}/"

    def start_bot(self) -> None:
        assert self.server and self.world and self.workdir
        print("rootkey demo: starting the rootkey bot…", file=self.err, flush=True)
        secret = secrets.token_hex(16)
        port = free_port()
        env = bot_environment(
            self.server.api_url,
            self.world.env(),
            port,
            secret,
            self.workdir,
            mode=self.mode,
            queue_url=self.world.queue_url,
        )
        with open(self.workdir / "bot.log", "ab") as log:
            self.bot = subprocess.Popen(
                [sys.executable, "-m", "bot", "run", "--host", "127.0.0.1"],
                cwd=self.workdir,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=parent_death_signal(),
            )
        base = f"http://127.0.0.1:{port}"
        self.wait_healthy(base)
        self.server.connect(f"{base}/slack/events", secret)
        self.server.export_log = lambda fmt: export_log(env, self.workdir, fmt)

    def switch_control(self, mode: str) -> None:
        try:
            self.switch_mode(mode)
        except DemoError as exc:
            raise ControlRefused(str(exc)) from None

    def root_control(self, account: str, action: str) -> str:
        assert self.world is not None
        try:
            return activity.perform(self.world, account, action)
        except activity.ActivityRefused as exc:
            raise ControlRefused(str(exc)) from None

    def switch_mode(self, mode: str) -> None:
        """Restart the bot with ``ROOTKEY_REMEDIATION=mode`` on the same database, and wait
        until it answers; the page's clicks get "still starting" meanwhile. The restart is done
        by the thread that runs ``wait`` (the one that started the bot): on Linux the bot gets
        SIGTERM when the thread that started it ends, and a page request's thread ends with
        the request. Raises DemoError if the new bot does not start (the demo then stops, with
        the bot's log, as at start)."""
        if mode not in MODES:
            raise DemoError(f"unknown mode {mode!r}: one of {', '.join(MODES)}")
        asked: Future[None] = Future()
        self.switches.put((mode, asked))
        try:
            asked.result(BOT_STOP_TIMEOUT + BOT_START_TIMEOUT + 10)
        except FutureTimeout:
            raise DemoError(f"the bot did not restart in {mode} mode in time") from None

    def restart(self, mode: str) -> None:
        """In the thread that runs ``wait``: stop the bot, start it in ``mode``."""
        with self.bot_lock:
            if mode == self.mode and self.bot is not None and self.bot.poll() is None:
                return
            assert self.server is not None
            print(f"rootkey demo: restarting the bot in {mode} mode…", file=self.err, flush=True)
            self.server.relay = None
            self.stop_bot()
            self.mode = mode
            self.server.info = dict(self.server.info, mode=mode)
            self.start_bot()

    def serve_switches(self) -> None:
        """Carry out the mode switches asked for since the last look (from ``wait``)."""
        while True:
            try:
                mode, asked = self.switches.get_nowait()
            except queue.Empty:
                return
            try:
                self.restart(mode)
            except DemoError as exc:
                asked.set_exception(exc)
            except KeyboardInterrupt:
                asked.set_exception(DemoError("the demo is stopping"))
                raise
            else:
                asked.set_result(None)

    def wait_healthy(self, base: str) -> dict[str, Any]:
        deadline = time.monotonic() + BOT_START_TIMEOUT
        while True:
            assert self.bot is not None
            if self.bot.poll() is not None:
                raise DemoError(
                    f"the rootkey bot stopped while starting (exit {self.bot.returncode}):\n"
                    + self.bot_log_tail()
                )
            if self.stop_requested.is_set():
                raise KeyboardInterrupt
            try:
                with urllib.request.urlopen(f"{base}/healthz", timeout=1) as reply:
                    if reply.status == 200:
                        return dict(json.loads(reply.read() or b"{}"))
            except (urllib.error.URLError, OSError, ValueError):
                pass
            if time.monotonic() > deadline:
                raise DemoError(
                    f"the rootkey bot did not answer within {BOT_START_TIMEOUT:.0f} s:\n"
                    + self.bot_log_tail()
                )
            self.stop_requested.wait(0.1)

    def wait(self) -> int:
        """Until a signal (0) or the bot exits by itself (1)."""
        while not self.stop_requested.wait(0.2):
            try:
                self.serve_switches()
            except KeyboardInterrupt:
                return 0
            with self.bot_lock:
                stopped = self.bot is not None and self.bot.poll() is not None
            if stopped:
                assert self.bot is not None
                print(
                    f"rootkey demo: the bot stopped (exit {self.bot.returncode}):\n"
                    + self.bot_log_tail(),
                    file=self.err,
                    flush=True,
                )
                return 1
        return 0

    def kill_bot(self) -> None:
        if self.bot is not None and self.bot.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.bot.pid, signal.SIGKILL)

    def stop_bot(self) -> None:
        """SIGTERM, then SIGKILL if the bot hangs."""
        if self.bot is not None and self.bot.poll() is None:
            self.bot.send_signal(signal.SIGTERM)
            try:
                self.bot.wait(BOT_STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.kill_bot()
                self.bot.wait(5)

    def stop(self) -> None:
        """Stop everything that was started, in reverse order; safe to call more than once."""
        while not self.switches.empty():  # a switch nobody will carry out now
            self.switches.get_nowait()[1].set_exception(DemoError("the demo is stopping"))
        with self.bot_lock:
            self.stop_bot()
        if self.server is not None:
            self.server.stop()
            self.server = None
        if self.world is not None:
            self.world.stop()
            self.world = None
        if self.workdir is not None:
            shutil.rmtree(self.workdir, ignore_errors=True)
            self.workdir = None


def run(port: int = 0, out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
    demo = Demo(port=port, out=out, err=err)

    def request_stop(signum: int, _frame: Any) -> None:
        if demo.stop_requested.is_set():  # a second Ctrl-C: do not wait for the bot
            demo.kill_bot()
        demo.stop_requested.set()

    previous = {s: signal.signal(s, request_stop) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        try:
            address = demo.start()
        except (DemoError, scenario.ScenarioUnavailable) as exc:
            print(f"rootkey demo: {exc}", file=err, flush=True)
            return 2
        except KeyboardInterrupt:
            return 0
        print(
            f"rootkey demo: open {address} in your browser (Ctrl-C stops it)", file=out, flush=True
        )
        code = demo.wait()
        print("rootkey demo: stopping…", file=err, flush=True)
        return code
    finally:
        demo.stop()
        for signum, handler in previous.items():
            signal.signal(signum, handler)
