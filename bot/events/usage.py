"""What used a root key: CloudTrail's recorded calls made with it, summarised (pure).

``summarise`` turns the events ``LookupEvents`` returned for one access key (in one or more
regions) into calls per action, source IPs, user agents and first/last seen. The summary says
what it could read and never pretends "no use" for what it did not read:

* a region that could not be read (access denied, throttled, timed out) is named in
  ``problems``;
* a region whose lookup stopped before the end of the 90 days (its page limit, or a failure
  after some pages) is a ``Cut``: how many of the most recent events were read, back to when;
* a use the credential report shows (a key's last-used date) that no recorded call matches is
  ``unseen`` (``not_found``): a data event such as an S3 object read, a region not read, or a
  call older than the events read. It is said, never contradicted by "no recorded use".
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

DAYS = 90  # CloudTrail's event history keeps 90 days of management events
MAX_RECORD = 100_000  # a CloudTrailEvent string longer than this is not read
SAME_CALL = timedelta(hours=1)  # the report's last-used time and CloudTrail's event time of a call
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
    truncated: bool = False  # stopped before the end: more pages than rootkey reads, or a failure
    problem: str | None = None  # "access denied", "timed out", "throttled", ...
    events: int = 0  # events read (every principal's, before grouping by key)
    back_to: datetime | None = None  # the oldest of them


@dataclass(frozen=True)
class Cut:
    """A region read only in part: its ``events`` most recent events, back to ``back_to``
    (None: no event was read before it stopped); older events were not read."""

    region: str
    events: int
    back_to: datetime | None


@dataclass(frozen=True)
class ReportedUse:
    """A key's last use as the credential report shows it (``access_key_N_last_used_*``)."""

    slot: int
    at: datetime
    service: str | None = None
    region: str | None = None


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
        """Every region was read to the end and none recorded a call: "no recorded use"."""
        return self.total == 0 and self.read_everything


@dataclass(frozen=True)
class UsageReport:
    """An account's root keys and what used them, as far as CloudTrail could be read."""

    account_id: str
    regions: tuple[str, ...]
    keys: tuple[KeyUsage, ...] = ()
    problems: tuple[str, ...] = ()  # regions not (fully) read, and why
    cuts: tuple[Cut, ...] = ()  # regions read only back to some time
    unseen: tuple[ReportedUse, ...] = ()  # the credential report's uses no recorded call matches

    @property
    def truncated(self) -> bool:
        return bool(self.cuts)

    @property
    def complete(self) -> bool:
        """Every region read to the end of the 90 days, and every use the credential report
        shows found: only then may a key with no recorded call be said unused."""
        return not self.problems and not self.cuts and not self.unseen

    @property
    def unused(self) -> bool:
        """Everything read, and no call signed by a root access key: "no recorded use"."""
        return self.complete and all(k.total == 0 for k in self.keys)


def report(account_id: str, reads: Sequence[RegionRead], known: Sequence[str] = ()) -> UsageReport:
    return UsageReport(
        account_id=account_id,
        regions=tuple(r.region for r in reads),
        keys=tuple(per_key(reads, known)),
        problems=tuple(f"{r.region}: {r.problem}" for r in reads if r.problem),
        cuts=tuple(Cut(r.region, r.events, r.back_to) for r in reads if r.truncated),
    )


def not_found(keys: Sequence[KeyUsage], uses: Sequence[ReportedUse]) -> tuple[ReportedUse, ...]:
    """The credential report's uses that no recorded call matches, by slot.

    The report does not say which key id is in which slot, so each use is matched to a
    distinct key whose last recorded call is no older than the use (less ``SAME_CALL``: the
    two clocks round differently; a report hours older than the lookup shows an earlier use
    than CloudTrail's latest, which still matches). The most recent use takes the most recent
    key first; a use left without a key was not found."""
    latest = sorted((k.last_seen for k in keys if k.last_seen is not None), reverse=True)
    missing = []
    for use in sorted(uses, key=lambda u: u.at, reverse=True):
        if latest and latest[0] >= use.at - SAME_CALL:
            latest.pop(0)
        else:
            missing.append(use)
    return tuple(sorted(missing, key=lambda u: u.slot))


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
                    events=r.events,
                    back_to=r.back_to,
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
