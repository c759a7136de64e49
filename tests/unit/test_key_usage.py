"""What used a root key: the summary of CloudTrail's recorded calls, and the lookup rate."""

from __future__ import annotations

import itertools
import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.audit.models import KeySlot
from bot.aws.cloudtrail import OutOfTime, RateLimit
from bot.events.usage import (
    Cut,
    RecordedCall,
    RegionRead,
    ReportedUse,
    UsageReport,
    not_found,
    recorded_call,
    regions_to_read,
    report,
    summarise,
)
from bot.services.key_usage import KeyUsageLookup
from bot.slack.blocks.usage import usage_note

T0 = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)
KEY = "AKIAIOSFODNN7EXAMPLE"


def event(name: str, source: str, at: datetime, ip: str, agent: str) -> dict[str, object]:
    record = {"sourceIPAddress": ip, "userAgent": agent, "eventName": name}
    return {
        "EventId": "e1",
        "EventName": name,
        "EventSource": source,
        "EventTime": at,
        "AccessKeyId": KEY,
        "CloudTrailEvent": json.dumps(record),
    }


def test_calls_are_counted_per_action_with_sources_agents_and_first_last_seen() -> None:
    calls = [
        recorded_call(
            "eu-west-1", event("ListBuckets", "s3.amazonaws.com", T0, "203.0.113.5", "boto3/1")
        ),
        recorded_call(
            "eu-west-1",
            event(
                "ListBuckets", "s3.amazonaws.com", T0 + timedelta(days=3), "203.0.113.5", "boto3/1"
            ),
        ),
        recorded_call(
            "us-east-1",
            event(
                "ListUsers",
                "iam.amazonaws.com",
                T0 - timedelta(days=1),
                "198.51.100.7",
                "aws-cli/2",
            ),
        ),
    ]
    assert all(c is not None for c in calls)
    reads = [
        RegionRead("eu-west-1", tuple(c for c in calls[:2] if c)),
        RegionRead("us-east-1", tuple(c for c in calls[2:] if c)),
    ]
    usage = summarise(KEY, reads)
    assert usage.total == 3
    assert usage.actions == (("s3:ListBuckets", 2), ("iam:ListUsers", 1))
    assert usage.sources == (("203.0.113.5", 2), ("198.51.100.7", 1))
    assert dict(usage.agents) == {"boto3/1": 2, "aws-cli/2": 1}
    assert usage.first_seen == T0 - timedelta(days=1)
    assert usage.last_seen == T0 + timedelta(days=3)
    assert usage.read_everything and not usage.unused


def test_no_recorded_use_only_when_every_region_was_read() -> None:
    assert summarise(KEY, [RegionRead("us-east-1")]).unused
    denied = summarise(
        KEY, [RegionRead("eu-west-1"), RegionRead("us-east-1", problem="access denied")]
    )
    assert not denied.unused  # a region not read is never "no use"
    assert denied.problems == ("us-east-1: access denied",)


def test_the_regions_are_the_last_used_one_and_us_east_1() -> None:
    assert regions_to_read("eu-west-1") == ("eu-west-1", "us-east-1")
    assert regions_to_read("eu-west-1", None, "eu-west-1", "ap-south-1") == (
        "eu-west-1",
        "ap-south-1",
        "us-east-1",
    )
    assert regions_to_read("us-east-1") == ("us-east-1",)
    assert regions_to_read(None) == ("us-east-1",)
    assert regions_to_read("N/A") == ("us-east-1",)  # the credential report's "no region"
    assert regions_to_read("../../etc") == ("us-east-1",)


@settings(max_examples=200, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(["EventName", "EventSource", "EventTime", "CloudTrailEvent"]),
        st.none() | st.text(max_size=40) | st.integers(),
    )
)
def test_any_lookup_item_is_read_or_skipped(item: dict[str, object]) -> None:
    found = recorded_call("us-east-1", item)
    assert found is None or found.action.count(":") >= 1


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_lookups_are_spaced_to_two_per_second_per_account_and_region() -> None:
    fake = FakeClock()
    limit = RateLimit(clock=fake.clock, sleep=fake.sleep)
    starts = []
    for _ in range(5):
        limit.wait(("111111111111", "us-east-1"), deadline=1000)
        starts.append(fake.now)
    assert [round(b - a, 3) for a, b in itertools.pairwise(starts)] == [0.5] * 4
    before = fake.now
    limit.wait(("222222222222", "us-east-1"), deadline=1000)  # another account: its own budget
    limit.wait(("111111111111", "eu-west-1"), deadline=1000)  # another region too
    assert fake.now == before


def test_a_slot_after_the_deadline_gives_up_instead_of_waiting() -> None:
    fake = FakeClock()
    limit = RateLimit(clock=fake.clock, sleep=fake.sleep)
    limit.wait(("111111111111", "us-east-1"), deadline=fake.now + 0.2)
    with pytest.raises(OutOfTime):
        limit.wait(("111111111111", "us-east-1"), deadline=fake.now + 0.2)


# -- what the lookup did not read is said, never "no recorded use" -------------------------------


def call(key: str, at: datetime) -> RecordedCall:
    return RecordedCall("us-east-1", "iam:ListUsers", at, key_id=key)


def test_a_reported_use_is_matched_to_a_distinct_key_as_recent() -> None:
    other = "AKIAI44QH8DHBEXAMPLE"
    keys = [
        summarise(KEY, [RegionRead("us-east-1", (call(KEY, T0),))]),
        summarise(other, [RegionRead("us-east-1")]),
    ]
    recent, data_event = ReportedUse(1, T0), ReportedUse(2, T0 - timedelta(days=4))
    # One key recorded calls; the credential report shows two keys used: one was not seen.
    assert not_found(keys, [recent, data_event]) == (data_event,)
    # A report hours older than the lookup shows an earlier last use: still that key's.
    assert not_found(keys, [ReportedUse(1, T0 - timedelta(hours=5))]) == ()
    # The report's minute and CloudTrail's second round differently.
    assert not_found(keys, [ReportedUse(1, T0 + timedelta(minutes=1))]) == ()
    later = ReportedUse(1, T0 + timedelta(days=1))  # used after the last recorded call
    assert not_found(keys, [later]) == (later,)
    assert not_found([], [recent]) == (recent,)


def test_a_region_read_in_part_is_a_cut_and_never_unused() -> None:
    reads = [
        RegionRead("eu-west-1", (call(KEY, T0),), events=1),
        RegionRead(
            "us-east-1",
            (call("ASIAIOSFODNN7EXAMPLE", T0 - timedelta(days=2)),),
            truncated=True,
            problem="timed out",
            events=1,
            back_to=T0 - timedelta(days=2),
        ),
    ]
    found = report("111111111111", reads, known=["AKIAI44QH8DHBEXAMPLE"])
    assert found.cuts == (Cut("us-east-1", 1, T0 - timedelta(days=2)),)
    assert found.truncated and not found.complete and not found.unused
    assert all(not k.unused for k in found.keys)
    text = usage_note(found, UTC).text
    assert "Read in part, us-east-1: the most recent event only, at 2026-10-30 08:00; older" in text
    assert "no recorded use" not in text.lower()
    empty = report("111111111111", [RegionRead("us-east-1", truncated=True)])
    assert "us-east-1: no event read before the lookup stopped" in usage_note(empty, UTC).text
    assert not empty.unused


def test_a_reported_use_older_than_the_events_read_says_so() -> None:
    cut = UsageReport(
        "111111111111",
        ("us-east-1",),
        cuts=(Cut("us-east-1", 1000, T0 - timedelta(days=3)),),
        unseen=(ReportedUse(2, T0 - timedelta(days=9), "iam", "us-east-1"),),
    )
    text = usage_note(cut, UTC).text
    assert "key 2 last used 2026-10-23 08:00 (iam, us-east-1)" in text
    assert "it is older than the events read" in text
    assert "the 1,000 most recent events, back to 2026-10-29 08:00; older events not read" in text
    data = UsageReport(
        "111111111111", ("us-east-1",), unseen=(ReportedUse(1, T0, "<!here>", "N/A"),)
    )
    text = usage_note(data, UTC).text
    assert "key 1 last used 2026-11-01 08:00 (&lt;!here&gt;)" in text
    assert "a data event" in text and "No recorded use" not in text


class Reader:
    def __init__(self, found: UsageReport) -> None:
        self.found = found
        self.regions: list[Sequence[str | None]] = []

    def read(
        self,
        account_id: str,
        *,
        last_used_regions: Sequence[str | None] = (),
        known_keys: Sequence[str] = (),
    ) -> UsageReport:
        self.regions.append(last_used_regions)
        return self.found


def test_a_thread_without_its_form_reads_the_latest_audit_for_the_reports_view() -> None:
    """Another replica showed the form: the thread's lookup takes the last-used regions and
    dates from the latest audit, and says the use CloudTrail did not show."""
    slot = KeySlot(slot=1, active=True, last_used_date=T0, last_used_region="eu-west-1")
    old = KeySlot(slot=2, active=True, last_used_date=T0 - timedelta(days=100))  # before 90 days
    reader = Reader(UsageReport("111111111111", ("eu-west-1", "us-east-1")))
    lookup = KeyUsageLookup(
        reader, now=lambda: T0 + timedelta(days=1), latest=lambda _account: [slot, old]
    )
    found = lookup.account("111111111111")
    assert reader.regions == [["eu-west-1", None]]
    assert found.unseen == (ReportedUse(1, T0, None, "eu-west-1"),) and not found.unused

    def broken(_account: str) -> list[KeySlot]:
        raise OSError("database is gone")

    alone = KeyUsageLookup(reader, latest=broken).account("111111111111")
    assert alone.unused  # the lookup goes on without the latest audit
