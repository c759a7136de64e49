"""The live audit: read each account's root-user state from AWS and decide its verdict.

``AwsAuditor(config).audit(Scope("org"))`` lists the Organization's active accounts (its OUs
several at once, see ``bot.aws.organizations``) and audits each account as soon as it is read,
on a pool of ``ROOTKEY_CONCURRENCY`` worker threads sharing one boto3 session and its clients.
How many calls of each API are in flight is found at run time (``bot.aws.pacing``): it grows
while calls succeed and halves on throttling, so a throttled API slows the scan down instead of
turning accounts into errors. Per account: AssumeRole into ``config.audit_role`` (the account of
the current credentials is read directly), GetAccountSummary, and only where the summary says a
root key is present (or could not be read) the credential report for the key's details. One
account's failure is that account's ``error`` verdict; the others go on.

A flat Organization's ListAccounts pages (one after another: the listing's critical path) are
read in a process of their own where the clients use the standard credential chain
(``bot.aws.listing``), so that no page waits for the interpreter lock behind the scan.

Where the caller knows the accounts of the last audit (``Scope("org", known=...)``), they are
scanned at once, while the listing is read; the listing alone decides what is reported: a known
account it does not yield as ACTIVE is dropped (its audit cancelled or ignored), one it yields
that was not known is audited as it comes.

Named accounts (``Scope("accounts", ...)``) are audited only when the Organization shows them
ACTIVE (DescribeAccount); the bot's own account always is. Any other id is an ``error`` verdict
"not a member of the Organization" and nothing of it is read: AssumeRole into a role of an
unrelated account could succeed and report a stranger's account as compliant. Where the caller
cannot read the Organization, ``membership="required"`` (the bot) refuses every other id, and
``membership="when-readable"`` (``python -m bot check --account``) audits it anyway.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, TypeVar

import boto3

from bot.audit.models import (
    LIVE_SOURCE,
    AccountSummary,
    AuditResult,
    OrgFeatures,
    RootRow,
    Scope,
    Verdict,
    utcnow,
)
from bot.audit.report import ReportError, parse_credential_report
from bot.audit.verdict import decide, not_audited
from bot.aws.errors import AccountTimeout, AuditError, AwsReadError
from bot.aws.iam import (
    AWS_CALL_ERRORS,
    Deadline,
    malformed,
    read_account_summary,
    read_credential_report,
    read_error,
    read_org_features,
)
from bot.aws.listing import accounts_in_process
from bot.aws.organizations import (
    NOT_READABLE,
    OrgAccount,
    iter_active_accounts,
    list_active_accounts,
    read_membership,
)
from bot.aws.pacing import Pacer
from bot.aws.session import CallCounter, Clients
from bot.config import Config

T = TypeVar("T")
log = logging.getLogger(__name__)

ROLE_SESSION_NAME = "rootkey-audit"
SOURCE = LIVE_SOURCE
TIME_LIMIT_GRACE = 1.0  # seconds past the per-account limit before a stuck account is given up
# A summary refused by policy may still leave the credential report readable.
ACCESS_DENIED = {"AccessDenied", "AccessDeniedException", "UnauthorizedOperation"}
MEMBERSHIP_MODES = {"required", "when-readable"}


@dataclass
class Job:
    """One account's audit on the pool."""

    account_id: str
    name: str | None
    named: bool = False  # asked for by id: its membership of the Organization is checked
    future: Future[Verdict] | None = None
    started: float | None = None  # time.monotonic() when a worker picked it up

    @property
    def label(self) -> str:
        return f"{self.account_id} ({self.name})" if self.name else self.account_id


@dataclass(frozen=True)
class Caller:
    account_id: str
    arn: str

    @property
    def partition(self) -> str:
        parts = self.arn.split(":")
        return parts[1] if len(parts) > 1 and parts[1] else "aws"


class AwsAuditor:
    """Audits root access keys through AWS. Thread-safe; no AWS call until ``audit``."""

    def __init__(
        self,
        config: Config,
        session_factory: Callable[[], boto3.session.Session] | None = None,
        *,
        now: Callable[[], datetime] = utcnow,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        retry_sleep: Callable[[float], None] | None = None,
        max_attempts: int = 5,
        membership: str = "required",
    ) -> None:
        """``max_attempts``: tries per AWS call (botocore standard retry mode, backoff between).
        ``membership``: ``"required"`` or ``"when-readable"`` (see the module's docstring).
        ``sleep`` and ``clock``: the waits for a credential report and the time its deadline is
        kept on; ``retry_sleep``: botocore's back-off between attempts (None: botocore's own)."""
        if membership not in MEMBERSHIP_MODES:
            raise ValueError(f"membership must be one of {sorted(MEMBERSHIP_MODES)}")
        self.config = config
        self.membership = membership
        self.pacer = Pacer(config.concurrency)
        self.clients = Clients(
            config,
            session_factory,
            max_attempts,
            on_throttle=lambda op: self.pacer.gate(op).throttled(),
            retry_sleep=retry_sleep,
        )
        self.now = now
        self.sleep = sleep
        self.clock = clock
        self.lock = threading.Lock()
        self.pool: ThreadPoolExecutor | None = None
        self.caller: Caller | None = None

    # lifecycle -----------------------------------------------------------------
    def executor(self) -> ThreadPoolExecutor:
        with self.lock:
            if self.pool is None:
                self.pool = ThreadPoolExecutor(
                    max_workers=self.config.concurrency, thread_name_prefix="rootkey-audit"
                )
            return self.pool

    def close(self) -> None:
        with self.lock:
            pool, self.pool = self.pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)

    # public ----------------------------------------------------------------------
    def audit(self, scope: Scope) -> AuditResult:
        """Audit ``scope``; raises ``AuditError`` only when nothing can be audited at all."""
        started = self.now()
        counter = CallCounter()
        pool = self.executor()
        caller_future = (
            None if self.caller else pool.submit(self.counted, counter, self.caller_identity)
        )
        features_future = pool.submit(self.counted, counter, self.read_features)
        jobs: list[Job] = []

        def caller() -> Caller:
            return caller_future.result() if caller_future else self.caller_identity()

        def submit(account_id: str, name: str | None, resolved: Caller, named: bool = False) -> Job:
            job = Job(account_id, name, named)
            job.future = pool.submit(self.guarded, counter, account_id, name, resolved, job)
            jobs.append(job)
            return job

        reported = jobs
        try:
            if scope.kind == "org":
                self.clients.count_into(counter)
                org = self.clients.current("organizations")
                resolved: Caller | None = caller() if scope.known else None
                early = {
                    account_id: submit(account_id, None, resolved)
                    for account_id in dict.fromkeys(scope.known)
                    if resolved is not None
                }
                reported = []
                for account in list_active_accounts(org, self.pacer, self.flat_listing(counter)):
                    job = early.pop(account.account_id, None)
                    if job is None:
                        resolved = resolved or caller()
                        job = submit(account.account_id, account.name, resolved)
                    job.name = account.name
                    reported.append(job)
                for job in early.values():  # not an ACTIVE member now: never reported
                    assert job.future is not None
                    job.future.cancel()
            elif scope.kind == "accounts":
                resolved = caller()
                for account_id in dict.fromkeys(scope.account_ids):
                    submit(account_id, None, resolved, named=True)
            elif scope.kind == "account":
                resolved = caller()
                submit(resolved.account_id, None, resolved)
            else:
                raise AuditError(f"unknown audit scope {scope.kind!r}")
        except AuditError:
            for job in jobs:
                if job.future is not None:
                    job.future.cancel()
            raise
        verdicts = tuple(self.collect(job) for job in reported)
        features = features_future.result()
        return AuditResult(
            verdicts=verdicts,
            scope=scope.kind,
            started_at=started,
            finished_at=self.now(),
            features=features,
            calls=counter.value(),
        )

    def audit_account(self, account_id: str, name: str | None = None) -> Verdict:
        """Audit one account now, in this thread (the re-audit after a remediation)."""
        counter = CallCounter()
        self.clients.count_into(counter)
        try:
            caller = self.caller_identity()
        except AuditError as exc:
            return decide(
                account_id, source=SOURCE, now=self.now(), errors=[str(exc)], account_name=name
            )
        return self.guarded(counter, account_id, name, caller)

    def collect(self, job: Job) -> Verdict:
        """The job's verdict, or an ``error`` once it has run past the per-account time limit
        (plus a little grace): a call that hangs must not hold the whole audit. The abandoned
        thread finishes on its own; its late result is dropped."""
        limit = self.config.account_timeout + TIME_LIMIT_GRACE
        future = job.future
        assert future is not None
        while not future.done():
            if job.started is None:
                wait([future], timeout=0.2)  # still queued behind other accounts
                continue
            remaining = job.started + limit - time.monotonic()
            if remaining <= 0:
                log.warning("audit of %s passed its time limit; reported as an error", job.label)
                return decide(
                    job.account_id,
                    source=SOURCE,
                    now=self.now(),
                    errors=[str(AccountTimeout("audit", self.config.account_timeout))],
                    account_name=job.name,
                )
            wait([future], timeout=remaining)
        verdict = future.result()
        if job.name and verdict.account_name is None:
            # begun from the last audit's list, before the listing gave the account's name
            verdict = replace(verdict, account_name=job.name)
        return verdict

    # steps -----------------------------------------------------------------------
    def counted(self, counter: CallCounter, step: Callable[[], T]) -> T:
        self.clients.count_into(counter)
        return step()

    def flat_listing(self, counter: CallCounter) -> Callable[[], Iterator[OrgAccount]] | None:
        """Where a flat Organization's ListAccounts pages are read: a process of their own
        (``bot.aws.listing``) where the clients use the standard credential chain, so that
        no page waits for the interpreter lock behind the scan; else this process."""
        if not self.clients.standard:
            return None

        def start() -> Iterator[OrgAccount]:
            org = self.clients.current("organizations")
            credentials = self.clients.session().get_credentials()
            if credentials is None:  # nothing to hand over: this process's listing says why
                return iter_active_accounts(org, self.pacer)
            return accounts_in_process(
                credentials.get_frozen_credentials(),
                org,
                ceiling=self.config.concurrency,
                account_timeout=self.config.account_timeout,
                max_attempts=self.clients.max_attempts,
                on_calls=counter.add,
            )

        return start

    def caller_identity(self) -> Caller:
        if self.caller is not None:
            return self.caller
        try:
            identity = self.clients.current("sts").get_caller_identity()
        except AWS_CALL_ERRORS as exc:
            raise AuditError(
                f"could not identify the AWS caller ({read_error('GetCallerIdentity', exc)})"
            ) from None
        if not identity.get("Account") or not identity.get("Arn"):
            error = malformed("GetCallerIdentity", "Account or Arn")
            raise AuditError(f"could not identify the AWS caller ({error})")
        caller = Caller(account_id=identity["Account"], arn=identity["Arn"])
        self.caller = caller
        return caller

    def read_features(self) -> OrgFeatures:
        return read_org_features(self.clients.current("iam"))

    def guarded(
        self,
        counter: CallCounter,
        account_id: str,
        name: str | None,
        caller: Caller,
        job: Job | None = None,
    ) -> Verdict:
        """One account's verdict, whatever happens: an unexpected failure is an error verdict
        with a reference that is also logged."""
        self.clients.count_into(counter)
        try:
            self.clients.prepare()
            if job is not None:
                job.started = time.monotonic()
            if job is not None and job.named:
                refused, known = self.refuse_non_member(account_id, caller)
                if refused is not None:
                    return refused
                name = name or known  # the Organization's name for it, as a full audit has
            return self.audit_one(account_id, name, caller)
        except Exception:  # one account's surprise must not sink the others' verdicts
            ref = uuid.uuid4().hex[:8]
            log.exception("unexpected failure auditing %s (ref %s)", account_id, ref)
            return decide(
                account_id,
                source=SOURCE,
                now=self.now(),
                errors=[f"unexpected failure (ref {ref}, see the bot's log)"],
                account_name=name,
            )

    def refuse_non_member(
        self, account_id: str, caller: Caller
    ) -> tuple[Verdict | None, str | None]:
        """The ``error`` verdict of a named account that must not be audited (else None), and
        the account's name in the Organization where it was read."""
        if account_id == caller.account_id:
            return None, None  # the bot's own account

        def refuse(reason: str, error: str) -> tuple[Verdict, None]:
            verdict = not_audited(account_id, reason, source=SOURCE, now=self.now(), errors=[error])
            return verdict, None

        try:
            member = read_membership(self.clients.current("organizations"), account_id)
        except AwsReadError as exc:
            if self.membership == "when-readable" and exc.code in NOT_READABLE:
                return None, None  # the caller cannot read the Organization: audit as asked
            if exc.code == "AWSOrganizationsNotInUseException":
                return refuse(
                    "not a member of the Organization: the bot's account "
                    f"{caller.account_id} is in no Organization, so only it is audited",
                    str(exc),
                )
            return refuse(
                "could not confirm it is an ACTIVE member of the Organization "
                f"({exc}); only the bot's own account {caller.account_id} is audited "
                "without that",
                str(exc),
            )
        if member.state is None:
            return refuse(
                "not a member of the Organization: nothing of it was read",
                "DescribeAccount: AccountNotFoundException",
            )
        if not member.active:
            return refuse(
                f"not an ACTIVE member of the Organization ({member.state}): "
                "nothing of it was read",
                f"DescribeAccount: {member.state}",
            )
        return None, member.name

    def audit_one(self, account_id: str, name: str | None, caller: Caller) -> Verdict:
        deadline = Deadline(self.config.account_timeout)
        errors: list[str] = []
        summary: AccountSummary | None = None
        root: RootRow | None = None
        generated: datetime | None = None
        try:
            iam = self.iam_for(account_id, caller, deadline)
            deadline.check("GetAccountSummary")
            try:
                summary = self.pacer.call(
                    "GetAccountSummary", lambda: read_account_summary(iam), shared_quota=False
                )
            except AwsReadError as exc:
                errors.append(str(exc))
                # throttled or unreachable: the report would fare no better
                report_may_help = exc.code in ACCESS_DENIED
            else:
                report_may_help = summary.access_keys_present is not False
            if report_may_help:
                # A key is present (or presence is unknown): the report tells which and how old.
                deadline.check("GetCredentialReport")
                report = read_credential_report(
                    iam,
                    min(self.config.report_deadline, deadline.remaining()),
                    account_deadline=deadline,
                    sleep=self.sleep,
                    clock=self.clock,
                )
                generated = report.generated_at
                try:
                    root = parse_credential_report(report.content)
                except ReportError as exc:
                    errors.append(f"GetCredentialReport: {exc}")
        except AwsReadError as exc:
            errors.append(str(exc))
        return decide(
            account_id,
            source=SOURCE,
            now=self.now(),
            summary=summary,
            root=root,
            report_generated_at=generated,
            errors=errors,
            account_name=name,
        )

    def iam_for(self, account_id: str, caller: Caller, deadline: Deadline | None = None) -> Any:
        """IAM of ``account_id``: current credentials for the caller's own account, else the
        audit role assumed from it."""
        if account_id == caller.account_id:
            return self.clients.current("iam")
        role_arn = f"arn:{caller.partition}:iam::{account_id}:role/{self.config.audit_role}"
        sts = self.clients.current("sts")
        try:
            credentials = self.pacer.call(
                "AssumeRole",
                lambda: sts.assume_role(
                    RoleArn=role_arn, RoleSessionName=ROLE_SESSION_NAME, DurationSeconds=900
                ),
                deadline=deadline,
            ).get("Credentials")
        except AWS_CALL_ERRORS as exc:
            error = read_error(f"AssumeRole {self.config.audit_role}", exc)
            raise error from None
        if not isinstance(credentials, dict) or not credentials.get("SessionToken"):
            raise malformed(f"AssumeRole {self.config.audit_role}", "Credentials")
        return self.clients.member_iam(credentials)
