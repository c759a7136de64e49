"""What used a root key: CloudTrail's recorded calls made with it, summarised (pure).

``summarise`` turns the events ``LookupEvents`` returned for one access key (in one or more
regions) into calls per action, source IPs, user agents and first/last seen. A region that could
not be read (access denied, throttled, timed out) is named in ``problems``; the summary says
what it could read and never pretends "no use" for a region it did not read.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

DAYS = 90  # CloudTrail's event history keeps 90 days of management events
MAX_RECORD = 100_000  # a CloudTrailEvent string longer than this is not read
REGION = re.compile(r"[a-z]{2}(-[a-z]+){1,2}-[0-9]{1,2}")  # us-east-1, us-gov-west-1


@dataclass(frozen=True)
class RecordedCall:
    """One event of ``LookupEvents`` (the parts rootkey shows)."""

    region: str
    action: str  # "s3:ListBuckets"
    at: datetime
    source_ip: str = ""
    user_agent: str = ""
    key_id: str = ""  # the access key that signed the call


@dataclass(frozen=True)
class RegionRead:
    """What one region's lookup gave: its calls, whether it stopped early, or why it failed."""

    region: str
    calls: tuple[RecordedCall, ...] = ()
    truncated: bool = False  # more pages than rootkey reads
    problem: str | None = None  # "access denied", "timed out", "throttled", ...


@dataclass(frozen=True)
class KeyUsage:
    key_id: str
    regions: tuple[str, ...]
    total: int = 0
    actions: tuple[tuple[str, int], ...] = ()  # most first
    sources: tuple[tuple[str, int], ...] = ()
    agents: tuple[tuple[str, int], ...] = ()
    first_seen: datetime | None = None
    last_seen: datetime | None = None
    truncated: bool = False
    problems: tuple[str, ...] = field(default_factory=tuple)  # "us-east-1: access denied"

    @property
    def read_everything(self) -> bool:
        return not self.problems and not self.truncated

    @property
    def unused(self) -> bool:
        """Every region was read and none recorded a call: "no recorded use in 90 days"."""
        return self.total == 0 and not self.problems


@dataclass(frozen=True)
class UsageReport:
    """An account's root keys and what used them, as far as CloudTrail could be read."""

    account_id: str
    regions: tuple[str, ...]
    keys: tuple[KeyUsage, ...] = ()
    problems: tuple[str, ...] = ()  # regions not (fully) read, and why
    truncated: bool = False

    @property
    def unused(self) -> bool:
        """Every region read, and no call signed by a root access key: "no recorded use"."""
        return not self.problems and all(k.total == 0 for k in self.keys)


def report(account_id: str, reads: Sequence[RegionRead], known: Sequence[str] = ()) -> UsageReport:
    return UsageReport(
        account_id=account_id,
        regions=tuple(r.region for r in reads),
        keys=tuple(per_key(reads, known)),
        problems=tuple(f"{r.region}: {r.problem}" for r in reads if r.problem),
        truncated=any(r.truncated for r in reads),
    )


def ranked(counter: Counter[str]) -> tuple[tuple[str, int], ...]:
    return tuple(sorted(counter.items(), key=lambda item: (-item[1], item[0])))


def summarise(key_id: str, reads: Sequence[RegionRead]) -> KeyUsage:
    actions: Counter[str] = Counter()
    sources: Counter[str] = Counter()
    agents: Counter[str] = Counter()
    times: list[datetime] = []
    for read in reads:
        for call in read.calls:
            actions[call.action] += 1
            if call.source_ip:
                sources[call.source_ip] += 1
            if call.user_agent:
                agents[call.user_agent] += 1
            times.append(call.at)
    return KeyUsage(
        key_id=key_id,
        regions=tuple(r.region for r in reads),
        total=sum(actions.values()),
        actions=ranked(actions),
        sources=ranked(sources),
        agents=ranked(agents),
        first_seen=min(times) if times else None,
        last_seen=max(times) if times else None,
        truncated=any(r.truncated for r in reads),
        problems=tuple(f"{r.region}: {r.problem}" for r in reads if r.problem),
    )


def per_key(reads: Sequence[RegionRead], known: Sequence[str] = ()) -> list[KeyUsage]:
    """Root's recorded calls grouped by the long-term key (``AKIA...``) that signed them, plus
    each ``known`` key (from alerts) that recorded none. Console and AssumeRoot sessions sign
    with temporary keys and are left out."""
    keys = sorted({c.key_id for r in reads for c in r.calls if c.key_id.startswith("AKIA")})
    keys += [k for k in known if k not in keys]
    return [
        summarise(
            key,
            [
                RegionRead(
                    r.region,
                    tuple(c for c in r.calls if c.key_id == key),
                    truncated=r.truncated,
                    problem=r.problem,
                )
                for r in reads
            ],
        )
        for key in keys
    ]


def recorded_call(region: str, event: dict[str, object]) -> RecordedCall | None:
    """One ``Events`` item of a LookupEvents answer; None when it is not one."""
    at = event.get("EventTime")
    if not isinstance(at, datetime):
        return None
    source = event.get("EventSource")
    name = event.get("EventName")
    service = source.split(".", 1)[0] if isinstance(source, str) and source else "unknown"
    action = f"{service}:{name if isinstance(name, str) and name else 'unknown'}"
    ip = agent = ""
    raw = event.get("CloudTrailEvent")
    if isinstance(raw, str) and len(raw) <= MAX_RECORD:
        try:
            record = json.loads(raw)
        except (ValueError, RecursionError):
            record = None
        if isinstance(record, dict):
            ip = text(record.get("sourceIPAddress"))
            agent = text(record.get("userAgent"))
    key = event.get("AccessKeyId")
    return RecordedCall(
        region=region,
        action=action,
        at=at,
        source_ip=ip,
        user_agent=agent,
        key_id=key if isinstance(key, str) else "",
    )


def text(value: object, limit: int = 300) -> str:
    return " ".join(value.split())[:limit] if isinstance(value, str) else ""


def regions_to_read(*last_used: str | None, home: str = "us-east-1") -> tuple[str, ...]:
    """The keys' last-used regions (those that name one) and us-east-1, where IAM's calls are."""
    regions = [r for r in dict.fromkeys(last_used) if r and r != home and is_region(r)]
    return (*regions, home)


def is_region(value: str) -> bool:
    return REGION.fullmatch(value) is not None
