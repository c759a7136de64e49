"""Audits in worker processes: the ``Auditor`` the bot wires (``bot.wiring``).

An audit is CPU-heavy Python (boto3 builds clients and parses every AWS answer). Run in the
bot's own process it holds the interpreter lock for long stretches, and Slack's 3-second ack
(and every button click) waits behind it. ``ProcessAuditor`` runs ``AwsAuditor`` in a small
pool of spawned processes instead; only the scope goes in and the plain ``AuditResult`` comes
back.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import TYPE_CHECKING

from bot.audit.models import AuditResult, Scope
from bot.config import Config
from bot.records.errors import AuditError, AuditFailed

if TYPE_CHECKING:
    from bot.aws.auditor import AwsAuditor

log = logging.getLogger(__name__)


WORKER: AwsAuditor | None = None  # the AwsAuditor of a worker process


def exit_with_parent(parent: int) -> None:
    """A worker whose bot was killed (even with SIGKILL) exits within a second."""
    while True:
        time.sleep(1.0)
        if os.getppid() != parent:
            os._exit(0)


def start_worker(config: Config, parent: int) -> None:
    global WORKER
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the bot's to handle
    from bot import logs

    logs.set_up(config.log_format)  # the bot's format (ROOTKEY_LOG_FORMAT)
    threading.Thread(target=exit_with_parent, args=(parent,), daemon=True).start()
    from bot.aws.auditor import AwsAuditor as WorkerAuditor

    WORKER = WorkerAuditor(config)


def audit_in_worker(scope: Scope) -> AuditResult:
    assert WORKER is not None, "start_worker did not run"
    try:
        return WORKER.audit(scope)
    except AuditError as exc:
        raise AuditFailed(str(exc)) from None
    except Exception as exc:  # crossing a process boundary: keep what the user may read
        from bot.errors import describe

        problem = describe(exc)  # logs unexpected errors with their id, here in the worker
        raise AuditFailed(problem.text, problem.error_id) from None


def worker_ready() -> bool:
    return WORKER is not None


class ProcessAuditor:
    """``Auditor`` whose audits run in worker processes; a crashed pool is replaced."""

    def __init__(self, config: Config, workers: int = 2) -> None:
        self.config = config
        self.workers = workers
        self.lock = threading.Lock()
        self.pool = self.new_pool()

    def new_pool(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(
            max_workers=self.workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=start_worker,
            initargs=(self.config, os.getpid()),
        )

    def audit(self, scope: Scope) -> AuditResult:
        with self.lock:
            pool = self.pool
        try:
            return pool.submit(audit_in_worker, scope).result()
        except BrokenProcessPool:
            log.error("an audit worker process died; starting new ones")
            with self.lock:
                if self.pool is pool:
                    self.pool = self.new_pool()
            raise AuditFailed(
                "the audit worker stopped unexpectedly; run the check again"
            ) from None

    def start(self) -> None:
        """Start the workers now (imports take a second or two), not at the first audit."""
        with self.lock:
            for _ in range(self.workers):
                self.pool.submit(worker_ready)

    def shutdown(self) -> None:
        self.close()

    def close(self) -> None:
        with self.lock:
            self.pool.shutdown(wait=False, cancel_futures=True)
