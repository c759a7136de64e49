"""The real bot (``python -m bot``) as a subprocess, for end-to-end tests and benchmarks.

    with BotProcess(env) as bot:          # waits for GET /healthz
        requests.post(bot.events_url, ...)
    bot.logs                              # everything it wrote, after it stopped

The process gets only the environment given (plus PATH and the like), never the test
runner's, so a test controls every setting. Its working directory is a temp folder removed
once the process has ended (its log is kept in memory first).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import weakref
from collections.abc import Callable
from pathlib import Path

import requests

from simulator.slack import SlackStandin
from tests.support.signing import TEST_SIGNING_SECRET
from tests.support.waiting import wait_until

ROOT = Path(__file__).resolve().parents[2]
PASS_THROUGH = ("PATH", "HOME", "LANG", "LC_ALL", "SYSTEMROOT", "TMPDIR")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def bot_env(
    slack: SlackStandin, database_url: str | None, aws_env: dict[str, str], **settings: str
) -> dict[str, str]:
    """The settings of a bot that talks to the Slack stand-in (its bot token, the test signing
    secret), to simulated AWS (``aws_env``) and keeps its store at ``database_url`` (None: the
    default SQLite file in the bot's own directory); then ``settings``."""
    database = {"DATABASE_URL": database_url} if database_url is not None else {}
    return {
        "SLACK_BOT_TOKEN": slack.bot_token,
        "SLACK_SIGNING_SECRET": TEST_SIGNING_SECRET,
        "SLACK_API_URL": slack.base_url,
        **database,
        **aws_env,
        **settings,
    }


class BotExited(RuntimeError):
    pass


def wait_healthy(
    base_url: str, exited: Callable[[], str | None], logs: Callable[[], str], timeout: float
) -> dict[str, object]:
    """``GET /healthz``'s answer once it is 200; ``BotExited`` as soon as ``exited()`` says why
    the bot is gone, ``TimeoutError`` after ``timeout`` seconds (both with the bot's log)."""

    def answer() -> dict[str, object] | None:
        gone = exited()
        if gone is not None:
            raise BotExited(f"{gone}:\n{logs()}")
        try:
            reply = requests.get(f"{base_url}/healthz", timeout=1)
        except requests.RequestException:
            return None
        return dict(reply.json()) if reply.status_code == 200 else None

    try:
        return wait_until(answer, timeout, what="bot healthy")
    except AssertionError:
        raise TimeoutError(f"bot not healthy after {timeout} s:\n{logs()}") from None


class BotProcess:
    def __init__(
        self,
        env: dict[str, str],
        *,
        args: tuple[str, ...] = ("run", "--host", "127.0.0.1"),
        port: int | None = None,
        cwd: Path | None = None,
    ) -> None:
        self.port = port or free_port()
        self.env = {k: os.environ[k] for k in PASS_THROUGH if k in os.environ}
        self.env.update({"PYTHONUNBUFFERED": "1", "PORT": str(self.port)})
        self.env.update(env)
        self.args = args
        # A directory of its own: no stray .env is read, the SQLite default lands here.
        self.workdir = Path(tempfile.mkdtemp(prefix="rootkey-bot-"))
        # Removed when the process ends, or at the latest when this object goes away.
        self._remove_workdir = weakref.finalize(
            self, shutil.rmtree, str(self.workdir), ignore_errors=True
        )
        self.cwd = cwd or self.workdir
        self.log_path = self.workdir / "bot.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self._final_logs: str | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def events_url(self) -> str:
        return f"{self.base_url}/slack/events"

    @property
    def logs(self) -> str:
        if self._final_logs is not None:
            return self._final_logs
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def _clean_up(self) -> None:
        """The process has ended: keep its log in memory, remove its folder."""
        if self._final_logs is None:
            self._final_logs = self.logs
        self._remove_workdir()

    def start(self, wait: float = 30.0) -> BotProcess:
        log = self.log_path.open("ab")
        pythonpath = os.pathsep.join(filter(None, [str(ROOT), self.env.get("PYTHONPATH")]))
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bot", *self.args],
            cwd=self.cwd,
            env={**self.env, "PYTHONPATH": pythonpath},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        try:
            self.wait_healthy(wait)
        except BaseException:
            self.kill()
            raise
        return self

    def wait_healthy(self, timeout: float) -> dict[str, object]:
        def exited() -> str | None:
            if self.proc is not None and self.proc.poll() is not None:
                return f"bot exited with {self.proc.returncode}"
            return None

        return wait_healthy(self.base_url, exited, lambda: self.logs, timeout)

    def alive(self) -> bool:
        """Still running (not exited, not killed)."""
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout: float = 15.0) -> int | None:
        """SIGTERM, then SIGKILL if it does not stop in ``timeout`` seconds."""
        try:
            if self.proc is None or self.proc.poll() is not None:
                return self.proc.returncode if self.proc else None
            self.proc.send_signal(signal.SIGTERM)
            try:
                return self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                return self.proc.wait(5)
        finally:
            self._clean_up()

    def kill(self) -> None:
        try:
            if self.proc is not None and self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait(5)
        finally:
            self._clean_up()

    def __enter__(self) -> BotProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def run_bot_once(
    env: dict[str, str], *args: str, timeout: float = 30.0
) -> subprocess.CompletedProcess[str]:
    """``python -m bot ARGS`` to completion (for start-up errors and one-shot commands)."""
    base = {k: os.environ[k] for k in PASS_THROUGH if k in os.environ}
    base.update({"PYTHONUNBUFFERED": "1", "PYTHONPATH": str(ROOT)})
    base.update(env)
    with tempfile.TemporaryDirectory(prefix="rootkey-bot-") as workdir:
        return subprocess.run(
            [sys.executable, "-m", "bot", *args],
            cwd=workdir,
            env=base,
            capture_output=True,
            text=True,
            timeout=timeout,
        )


def export_log(database_url: str, fmt: str) -> str:
    """``python -m bot log --format FMT --url DATABASE_URL``: the exported audit log (the
    command must succeed)."""
    done = run_bot_once({}, "log", "--format", fmt, "--url", database_url, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout
