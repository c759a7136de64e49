"""What used a root key: CloudTrail ``LookupEvents`` through the audit role.

The last 90 days in the keys' last-used regions and in us-east-1 (where IAM's calls are
recorded): by ``AccessKeyId`` for a key whose id is known (from an alert), else by user name
``root``, grouped by the long-term key that signed each call. CloudTrail allows two lookups
per second per account and region: ``RateLimit`` spaces this process's calls to that rate (and
botocore's standard retries back off on a ``ThrottlingException`` all the same). Everything
has a deadline: a region that is denied, throttled for good or too slow is named in the
summary as not read, and the caller goes on.
No AWS call at import or construction.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
from botocore.config import Config as BotoConfig
from botocore.exceptions import ConnectTimeoutError, ReadTimeoutError

from bot.aws.iam import AWS_CALL_ERRORS, error_code
from bot.config import Config
from bot.events.usage import (
    DAYS,
    KeyUsage,
    RecordedCall,
    RegionRead,
    UsageReport,
    recorded_call,
    report,
    summarise,
)
from bot.events.usage import regions_to_read as default_regions

log = logging.getLogger(__name__)

RATE = 2.0  # LookupEvents: two requests per second, per account, per region
PAGE = 50  # CloudTrail's largest page
MAX_PAGES = 20  # per region: 1,000 events are plenty to say what used a key
DEADLINE = 8.0  # seconds for one key, every region included
ROLE_SESSION_NAME = "rootkey-key-usage"
DENIED = {"AccessDenied", "AccessDeniedException", "UnauthorizedOperation"}
THROTTLED = {"ThrottlingException", "Throttling", "TooManyRequestsException"}

SessionFactory = Callable[[], boto3.session.Session]


class OutOfTime(Exception):
    pass


class RateLimit:
    """At most ``rate`` calls per second per key (account, region), across this process's
    threads: each call takes the next free slot, waiting for it, or gives up at the deadline."""

    def __init__(
        self,
        rate: float = RATE,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.interval = 1.0 / rate
        self.clock = clock
        self.sleep = sleep
        self.lock = threading.Lock()
        self.next_free: dict[tuple[str, str], float] = {}

    def wait(self, key: tuple[str, str], deadline: float) -> None:
        with self.lock:
            now = self.clock()
            slot = max(now, self.next_free.get(key, now))
            if slot > deadline:
                raise OutOfTime()
            self.next_free[key] = slot + self.interval
        if slot > now:
            self.sleep(slot - now)


class KeyUsageReader:
    def __init__(
        self,
        config: Config,
        session_factory: SessionFactory | None = None,
        *,
        limit: RateLimit | None = None,
        deadline: float = DEADLINE,
        max_pages: int = MAX_PAGES,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.config = config
        self.session_factory = session_factory or boto3.session.Session
        self.limit = limit or RateLimit()
        self.deadline = deadline
        self.max_pages = max_pages
        self.now = now
        self.caller: tuple[str, str] | None = None  # (account id, partition)
        self.lock = threading.Lock()

    def boto_config(self, region: str, remaining: float) -> BotoConfig:
        return BotoConfig(
            region_name=region,
            retries={"mode": "standard", "total_max_attempts": 3},
            connect_timeout=max(0.5, min(3.0, remaining)),
            read_timeout=max(0.5, min(5.0, remaining)),
            user_agent_extra="rootkey",
        )

    def whoami(self, session: boto3.session.Session) -> tuple[str, str]:
        with self.lock:
            if self.caller is None:
                sts = session.client("sts", config=self.boto_config(self.config.aws_region, 5))
                identity = sts.get_caller_identity()
                parts = str(identity["Arn"]).split(":")
                self.caller = (str(identity["Account"]), parts[1] if len(parts) > 1 else "aws")
            return self.caller

    def credentials(self, session: boto3.session.Session, account_id: str) -> dict[str, Any]:
        """Keyword arguments for clients reading ``account_id`` (the audit role, unless it is
        the bot's own account)."""
        caller, partition = self.whoami(session)
        if account_id == caller:
            return {}
        sts = session.client("sts", config=self.boto_config(self.config.aws_region, 5))
        role = f"arn:{partition}:iam::{account_id}:role/{self.config.audit_role}"
        creds = sts.assume_role(
            RoleArn=role, RoleSessionName=ROLE_SESSION_NAME, DurationSeconds=900
        )["Credentials"]
        return {
            "aws_access_key_id": creds["AccessKeyId"],
            "aws_secret_access_key": creds["SecretAccessKey"],
            "aws_session_token": creds["SessionToken"],
        }

    def read(
        self,
        account_id: str,
        *,
        last_used_regions: Sequence[str | None] = (),
        known_keys: Sequence[str] = (),
    ) -> UsageReport:
        """The root user's calls signed by a long-term key in the last 90 days, per key, in the
        keys' last-used regions and us-east-1. (The audit cannot list root key ids, so the
        lookup is by user name ``root``; ``known_keys``, from alerts, are listed even when
        unused.) Never raises for AWS's reasons: they are in ``problems``."""
        regions = default_regions(*last_used_regions)
        deadline = time.monotonic() + self.deadline
        attribute = {"AttributeKey": "Username", "AttributeValue": "root"}
        try:
            session = self.session_factory()
            kwargs = self.credentials(session, account_id)
        except AWS_CALL_ERRORS as exc:
            why = f"the audit role: {problem(exc)}"
            log.info("key usage of %s: %s", account_id, why)
            return report(account_id, [RegionRead(r, problem=why) for r in regions], known_keys)
        reads = [
            self.read_region(session, kwargs, account_id, attribute, region, deadline)
            for region in regions
        ]
        return report(account_id, reads, known_keys)

    def read_key(self, account_id: str, key_id: str, last_used_region: str | None) -> KeyUsage:
        """One key's calls (``AccessKeyId``), when its id is known."""
        regions = default_regions(last_used_region)
        deadline = time.monotonic() + self.deadline
        attribute = {"AttributeKey": "AccessKeyId", "AttributeValue": key_id}
        try:
            session = self.session_factory()
            kwargs = self.credentials(session, account_id)
        except AWS_CALL_ERRORS as exc:
            why = f"the audit role: {problem(exc)}"
            return summarise(key_id, [RegionRead(r, problem=why) for r in regions])
        reads = [
            self.read_region(session, kwargs, account_id, attribute, region, deadline)
            for region in regions
        ]
        return summarise(key_id, reads)

    def read_region(
        self,
        session: boto3.session.Session,
        kwargs: dict[str, Any],
        account_id: str,
        attribute: dict[str, str],
        region: str,
        deadline: float,
    ) -> RegionRead:
        end = self.now()
        calls: list[RecordedCall] = []
        events = 0
        token: str | None = None

        def cut(problem: str | None = None) -> RegionRead:
            """What was read when the lookup stopped before the end of the 90 days: at its
            page limit (no problem), or failing after some pages."""
            return RegionRead(
                region,
                tuple(calls),
                truncated=problem is None or events > 0,
                problem=problem,
                events=events,
                back_to=min((c.at for c in calls), default=None),
            )

        try:
            client = session.client(
                "cloudtrail",
                config=self.boto_config(region, deadline - time.monotonic()),
                **kwargs,
            )
            for _ in range(self.max_pages):
                self.limit.wait((account_id, region), deadline)
                request: dict[str, Any] = {
                    "LookupAttributes": [attribute],
                    "StartTime": end - timedelta(days=DAYS),
                    "EndTime": end,
                    "MaxResults": PAGE,
                }
                if token:
                    request["NextToken"] = token
                reply = client.lookup_events(**request)
                for event in reply.get("Events") or []:
                    events += 1
                    found = recorded_call(region, event)
                    if found is not None:
                        calls.append(found)
                token = reply.get("NextToken") or None
                if not token:
                    return RegionRead(region, tuple(calls), events=events)
            return cut()  # the page limit
        except OutOfTime:
            return cut("timed out")
        except AWS_CALL_ERRORS as exc:
            return cut(problem(exc))


def problem(exc: Exception) -> str:
    if isinstance(exc, ReadTimeoutError | ConnectTimeoutError):
        return "timed out"
    code = error_code(exc)
    if code in DENIED:
        return "access denied"
    if code in THROTTLED:
        return "throttled"
    return code
