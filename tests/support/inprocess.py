"""The bot in the test's own process: the same start and stop as ``python -m bot``
(``bot.cli.run.serve``), run in a thread, with the face of ``BotProcess``.

    with InProcessBot(env) as bot:        # waits for GET /healthz
        requests.post(bot.events_url, ...)
    bot.logs                              # every log line written while it ran

Use it wherever a test is not about processes (signals, SIGKILL, replicas, a second
interpreter's start-up): it starts in a fraction of the time of a process, and a test may
hand it a clock (``clock=ManualClock(...)``) or anything else ``build_app`` takes.

Settings come from ``env`` only, as for a process: ``load_config(env)``. What the bot reads
from the process environment itself (boto3's ``AWS_*`` credential chain) is set from ``env``
while it runs and put back when the last bot stops: in-process bots running at the same
time must agree on those variables (the harness refuses one that does not). A bot without
``DATABASE_URL`` gets a SQLite file in a directory of its own, as a process gets one in its
working directory.

Several bots may run side by side (replicas on one database, sharing one ``ManualClock``):
each has its own Bolt app, services and port, and its own log. A thread belongs to the bot
whose thread started it (the harness notes that on ``threading.Thread.start``), so
``bot.logs`` holds the lines of that bot's threads only, plus those of threads no bot started
(the test's own). The root logger stays at INFO until the last bot stops.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from bot import logs as bot_logs
from bot.cli.run import serve
from bot.config import ConfigError, load_config
from tests.support.botproc import free_port, wait_healthy
from tests.support.waiting import wait_until

AWS_PREFIX = "AWS_"
OWNER = "rootkey_in_process_bot"  # the attribute naming the bot a thread belongs to


def owner_of(thread: threading.Thread) -> object | None:
    return getattr(thread, OWNER, None)


def follow_thread_owners() -> None:
    """From now on a thread started by a bot's thread belongs to that bot too (its pool
    lanes, scheduler, HTTP server threads...). Installed once; a no-op for other threads."""
    started = threading.Thread.start
    if getattr(started, OWNER, False):
        return

    def start(self: threading.Thread) -> None:
        if owner_of(self) is None:
            owner = owner_of(threading.current_thread())
            if owner is not None:
                setattr(self, OWNER, owner)
        started(self)

    setattr(start, OWNER, True)
    threading.Thread.start = start  # type: ignore[method-assign]


class Captured(logging.Handler):
    """Every record of ``owner``'s threads (and of threads no bot started) while the bot runs,
    formatted as the bot's own log would be."""

    def __init__(self, log_format: str, owner: object) -> None:
        super().__init__(logging.INFO)
        self.setFormatter(bot_logs.formatter(log_format))
        self.owner = owner
        self.lines: list[str] = []
        self.guard = threading.Lock()

    def emit(self, record: logging.LogRecord) -> None:
        owner = owner_of(threading.current_thread())
        if owner is not None and owner is not self.owner:
            return  # another bot's line
        line = self.format(record)
        with self.guard:
            self.lines.append(line)


class RootLevel:
    """The root logger at INFO while any in-process bot runs; its level put back after the
    last one stops (bots may stop in any order)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.users = 0
        self.saved = logging.WARNING

    def enter(self) -> None:
        with self.lock:
            root = logging.getLogger()
            if not self.users:
                self.saved = root.level
            self.users += 1
            root.setLevel(logging.INFO)

    def leave(self) -> None:
        with self.lock:
            self.users -= 1
            if not self.users:
                logging.getLogger().setLevel(self.saved)


class AwsEnvironment:
    """``os.environ``'s AWS variables are exactly those of the running bots' ``env``."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.users = 0
        self.active: dict[str, str] = {}
        self.saved: dict[str, str] = {}

    def enter(self, env: dict[str, str]) -> None:
        wanted = {k: v for k, v in env.items() if k.startswith(AWS_PREFIX)}
        with self.lock:
            if self.users and wanted != self.active:
                raise RuntimeError("in-process bots running together need the same AWS settings")
            if not self.users:
                self.saved = {k: v for k, v in os.environ.items() if k.startswith(AWS_PREFIX)}
                for key in self.saved:
                    del os.environ[key]
                os.environ.update(wanted)
                self.active = wanted
            self.users += 1

    def leave(self) -> None:
        with self.lock:
            self.users -= 1
            if self.users:
                return
            for key in [k for k in os.environ if k.startswith(AWS_PREFIX)]:
                del os.environ[key]
            os.environ.update(self.saved)


AWS_ENVIRONMENT = AwsEnvironment()
ROOT_LEVEL = RootLevel()


class InProcessBot:
    def __init__(self, env: dict[str, str], *, port: int | None = None, **build: Any) -> None:
        self.port = port or free_port()
        self.workdir = Path(tempfile.mkdtemp(prefix="rootkey-bot-"))
        self.env = {"PORT": str(self.port), **env}
        self.env.setdefault("DATABASE_URL", f"sqlite:///{self.workdir / 'rootkey.db'}")
        self.build = build
        log_format = self.env.get("ROOTKEY_LOG_FORMAT", "text").strip() or "text"
        self.handler = Captured(log_format, owner=self)
        self.stopping = threading.Event()
        self.thread: threading.Thread | None = None
        self.exit_code: int | None = None
        self._in_environment = False
        self._logging = False

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def events_url(self) -> str:
        return f"{self.base_url}/slack/events"

    @property
    def logs(self) -> str:
        with self.handler.guard:
            return "\n".join(self.handler.lines) + ("\n" if self.handler.lines else "")

    def _run(self, config: Any) -> None:
        try:
            self.exit_code = serve(config, "127.0.0.1", self.stopping, **self.build)
        except ConfigError as exc:
            logging.getLogger("bot").error("configuration error: %s", exc)
            self.exit_code = 2
        except Exception:
            logging.getLogger("bot").exception("the bot stopped on an unexpected error")
            self.exit_code = 2

    def start(self, wait: float = 30.0) -> InProcessBot:
        follow_thread_owners()
        AWS_ENVIRONMENT.enter(self.env)
        self._in_environment = True
        ROOT_LEVEL.enter()
        logging.getLogger().addHandler(self.handler)
        self._logging = True
        try:
            config = load_config(self.env)
            config.require_slack()
            self.thread = threading.Thread(
                target=self._run, args=(config,), name=f"rootkey-bot-{self.port}", daemon=True
            )
            setattr(self.thread, OWNER, self)  # and so every thread it starts
            self.thread.start()
            self.wait_healthy(wait)
        except BaseException:
            self.stop()
            raise
        return self

    def wait_healthy(self, timeout: float) -> dict[str, object]:
        def exited() -> str | None:
            if self.thread is not None and not self.thread.is_alive():
                return f"bot exited with {self.exit_code}"
            return None

        return wait_healthy(self.base_url, exited, lambda: self.logs, timeout)

    def alive(self) -> bool:
        """Still serving (its thread has not returned)."""
        return self.thread is not None and self.thread.is_alive() and not self.stopping.is_set()

    def wait_idle(self, timeout: float = 30.0) -> None:
        """Until ``/healthz`` reports no pending job (audits, a click's work, a digest or sweep
        running). A job the scheduler has not started yet is not pending: after moving the
        clock, first wait for something the job does, then for this (before moving the clock
        again: a scheduled job still running when it comes due again skips that run)."""
        deadline = time.monotonic() + timeout

        def idle() -> bool:
            health = self.wait_healthy(max(0.0, deadline - time.monotonic()))
            return health.get("pending_jobs") == 0

        try:
            wait_until(idle, timeout, what="bot idle")
        except AssertionError:
            raise TimeoutError(f"bot still busy after {timeout} s:\n{self.logs}") from None

    def stop(self, timeout: float = 30.0) -> int | None:
        """Set the bot's stop event (what SIGTERM does to a process) and wait for it."""
        try:
            self.stopping.set()
            if self.thread is not None:
                self.thread.join(timeout)
                if self.thread.is_alive():
                    raise TimeoutError(f"in-process bot did not stop in {timeout} s:\n{self.logs}")
            return self.exit_code
        finally:
            if self._in_environment:
                self._in_environment = False
                AWS_ENVIRONMENT.leave()
            if self._logging:
                self._logging = False
                logging.getLogger().removeHandler(self.handler)
                ROOT_LEVEL.leave()
            shutil.rmtree(self.workdir, ignore_errors=True)

    kill = stop  # no process to kill: the quickest stop there is

    def __enter__(self) -> InProcessBot:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
