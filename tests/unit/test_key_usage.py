"""What used a root key: the summary of CloudTrail's recorded calls, and the lookup rate."""

from __future__ import annotations

import itertools
import json
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.aws.cloudtrail import OutOfTime, RateLimit
from bot.events.usage import RegionRead, recorded_call, regions_to_read, summarise

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
