"""The audit use case, shared by Slack commands, buttons and the scheduler.

``AuditService.run`` audits a scope through the auditor (AWS) and, when a store is wired,
saves the run so that history, digests and remediation can refer to it by id. Every audit is
measured here, in the bot's own process (audits run in worker processes): its duration, whether
it ran, and the AWS error code of each account that could not be read.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, replace
from typing import Protocol, runtime_checkable

from bot.audit.models import AuditResult, Scope
from bot.config import Config
from bot.records.errors import StoreError, error_code_in

log = logging.getLogger(__name__)

TRIGGERS = frozenset({"command", "schedule", "recheck", "button", "cli"})


class Auditor(Protocol):
    def audit(self, scope: Scope) -> AuditResult: ...


class RunStore(Protocol):
    """The part of the store this use case needs."""

    def save_run(
        self, result: AuditResult, trigger: str, requested_by: str | None, channel: str | None
    ) -> object: ...


@runtime_checkable
class LastMembers(Protocol):
    """The store's memory of the Organization, where it has one."""

    def last_org_accounts(self) -> tuple[str, ...]: ...


def with_known(scope: Scope, store: object) -> Scope:
    """An Organization audit starts from the last one's accounts (``Scope.known``): the scan
    begins at once and the fresh listing decides who is reported. Without a store that keeps
    them, or when it cannot be read, the audit simply waits for the listing."""
    if scope.kind != "org" or scope.known or not isinstance(store, LastMembers):
        return scope
    try:
        known = store.last_org_accounts()
    except StoreError as exc:
        log.warning("last audit's accounts not read, listing first: %s", exc)
        return scope
    return replace(scope, known=known)


class AuditMetrics(Protocol):
    """The part of ``bot.services.ports.Metrics`` this use case tells."""

    def audit_done(self, scope: str, trigger: str, seconds: float, *, failed: bool) -> None: ...

    def aws_error(self, reason: str) -> None: ...


@dataclass(frozen=True)
class AuditRun:
    result: AuditResult
    run_id: str | None  # None when no store is wired, or saving failed
    save_error: str | None = None  # the audit ran but could not be saved


class AuditService:
    def __init__(
        self,
        auditor: Auditor,
        store: RunStore | None = None,
        *,
        metrics: AuditMetrics | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.auditor = auditor
        self.store = store
        self.metrics = metrics
        self.clock = clock

    def measured(self, scope: Scope, trigger: str) -> AuditResult:
        """The auditor's result, timed and counted (a failed audit too, then re-raised)."""
        started = self.clock()
        scope = with_known(scope, self.store)
        try:
            result = self.auditor.audit(scope)
        except Exception as exc:
            self.count(scope, trigger, started, failed=True, errors=[str(exc)])
            raise
        errors = (e for v in result.verdicts for e in v.evidence.errors)
        self.count(scope, trigger, started, failed=False, errors=errors)
        return result

    def count(
        self, scope: Scope, trigger: str, started: float, *, failed: bool, errors: Iterable[str]
    ) -> None:
        if self.metrics is None:
            return
        self.metrics.audit_done(scope.kind, trigger, self.clock() - started, failed=failed)
        for error in errors:
            code = error_code_in(error)
            if code is not None:
                self.metrics.aws_error(code)

    def record(
        self,
        scope: Scope,
        trigger: str,
        requested_by: str | None = None,
        channel: str | None = None,
    ) -> AuditRun:
        """Audit ``scope`` and save it; the run id (if saved) lets buttons refer to it."""
        if trigger not in TRIGGERS:
            raise ValueError(f"unknown trigger {trigger!r}")
        result = self.measured(scope, trigger)
        s = result.summary
        log.info(
            "audit of %s (%s): %d accounts, %d noncompliant, %d error",
            scope.kind,
            trigger,
            s.total,
            s.noncompliant,
            s.error,
        )
        if self.store is None:
            return AuditRun(result=result, run_id=None)
        try:
            run_id = self.store.save_run(result, trigger, requested_by, channel)
        except StoreError as exc:
            # The verdicts are still true: show them, and say they were not recorded.
            log.error("audit of %s not saved: %s", scope.kind, exc)
            return AuditRun(result=result, run_id=None, save_error=str(exc))
        return AuditRun(result=result, run_id=str(run_id) if run_id is not None else None)

    def run(
        self,
        scope: Scope,
        trigger: str,
        requested_by: str | None = None,
        channel: str | None = None,
    ) -> AuditResult:
        return self.record(scope, trigger, requested_by, channel).result


# -- audits in worker processes ---------------------------------------------------------------
#
# An audit is CPU-heavy Python (boto3 builds clients and parses every AWS answer). Run in the
# bot's own process it holds the interpreter lock for long stretches, and Slack's 3-second ack
# (and every button click) waits behind it. ``ProcessAuditor`` runs ``AwsAuditor`` in a small
# pool of spawned processes instead; only the scope goes in and the plain ``AuditResult`` comes
# back.

WORKER: Auditor | None = None  # the AwsAuditor of a worker process


class AuditFailed(Exception):
    """An audit failed inside a worker; carries only what the user reads (picklable)."""

    def __init__(self, message: str, error_id: str | None = None) -> None:
        super().__init__(message)
        self.user_message = message + (f" (error id {error_id})" if error_id else "")
        self.error_id = error_id

    def __reduce__(self) -> tuple[type[AuditFailed], tuple[str, str | None]]:
        return (AuditFailed, (str(self.args[0]), self.error_id))


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
    from bot.aws.auditor import AwsAuditor

    WORKER = AwsAuditor(config)


def audit_in_worker(scope: Scope) -> AuditResult:
    from bot.aws.errors import AuditError

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
