"""What used a root key: the bot's LookupEvents reader against the simulated CloudTrail.

The simulation is as strict as CloudTrail (one lookup attribute, 50 events a page, tokens bound
to their query, two lookups per second per account and region); the reader reads every page
within that rate, through the member's audit role, and says which regions it could not read.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError
from slack_sdk.models.views import View

from bot.audit.models import KeySlot, Status, Verdict
from bot.aws.auditor import AwsAuditor
from bot.aws.cloudtrail import KeyUsageReader
from bot.config import Config
from bot.events.usage import UsageReport
from bot.services.key_usage import KeyUsageLookup
from bot.slack.blocks.common import mrkdwn_section
from bot.slack.blocks.usage import usage_note, with_usage
from simulator.aws import RootKeySpec, SimulatedAws, days_ago

KEY = "AKIAIOSFODNN7EXAMPLE"
OTHER = "AKIAI44QH8DHBEXAMPLE"
SESSION = "ASIAIOSFODNN7EXAMPLE"


def reader(aws: SimulatedAws, **kwargs: Any) -> KeyUsageReader:
    return KeyUsageReader(Config(), aws.session, **kwargs)


def recent(hours: float) -> datetime:
    return datetime.now(UTC) - timedelta(hours=hours)


def test_root_key_use_is_summarised_per_key_through_the_audit_role(aws: SimulatedAws) -> None:
    org = aws.create_organization(members=1)
    member = org.members[0].account_id
    trail = aws.trail
    for i in range(3):
        trail.record(
            member, "eu-west-1", KEY, "s3:ListBuckets", recent(i + 1), source_ip="203.0.113.5"
        )
    trail.record(
        member,
        "us-east-1",
        KEY,
        "iam:ListUsers",
        recent(30),
        source_ip="198.51.100.7",
        user_agent="Boto3/1.35",
    )
    trail.record(member, "us-east-1", SESSION, "iam:ListUsers", recent(2))  # console session
    trail.record(member, "ap-south-1", OTHER, "ec2:RunInstances", recent(2))  # not a read region
    trail.record(member, "us-east-1", OTHER, "s3:ListBuckets", recent(24 * 91))  # too old

    report = reader(aws).read(member, last_used_regions=["eu-west-1"], known_keys=[OTHER])
    assert report.regions == ("eu-west-1", "us-east-1")
    assert not report.problems and not report.unused
    by_key = {k.key_id: k for k in report.keys}
    assert set(by_key) == {KEY, OTHER}  # the session key is not a root access key
    used = by_key[KEY]
    assert used.total == 4
    assert used.actions == (("s3:ListBuckets", 3), ("iam:ListUsers", 1))
    assert used.sources == (("203.0.113.5", 3), ("198.51.100.7", 1))
    assert ("Boto3/1.35", 1) in used.agents
    assert by_key[OTHER].total == 0  # known from an alert, no recorded use in the read regions
    assert aws.call_count(member, "LookupEvents") == 2


def test_every_page_is_read_within_the_rate_limit(aws: SimulatedAws) -> None:
    aws.create_organization(members=0)
    account = "123456789012"  # the bot's own account: read with its own credentials
    for i in range(130):
        aws.trail.record(account, "us-east-1", KEY, "s3:GetObject", recent(i / 10 + 0.1))
    report = reader(aws).read(account)
    (usage,) = report.keys
    assert usage.total == 130 and not report.truncated and not report.problems
    assert aws.trail.throttled == 0  # three pages, spaced to the allowed rate
    short = reader(aws, max_pages=2).read(account)
    assert short.truncated and short.keys[0].total == 100


def test_denied_or_slow_regions_are_named_and_never_called_unused(aws: SimulatedAws) -> None:
    org = aws.create_organization(members=2)
    denied, slow = (m.account_id for m in org.members)
    aws.deny(denied, "LookupEvents")
    report = reader(aws).read(denied, last_used_regions=["eu-west-1"])
    assert report.problems == ("eu-west-1: access denied", "us-east-1: access denied")
    assert not report.unused
    aws.set_latency(0.0)
    aws.state.account_latency[slow] = 3.0
    late = reader(aws, deadline=1.0).read(slow)
    assert late.problems == ("us-east-1: timed out",) and not late.unused


def test_a_missing_audit_role_is_said_for_every_region(aws: SimulatedAws) -> None:
    org = aws.create_organization(members=1, missing_role={0})
    report = reader(aws).read(org.members[0].account_id, last_used_regions=["eu-west-1"])
    assert all("the audit role: access denied" in p for p in report.problems)
    assert len(report.problems) == 2


# -- the simulation is as strict as CloudTrail -------------------------------------------------


def lookup(aws: SimulatedAws, **params: Any) -> dict[str, Any]:
    client = aws.session().client("cloudtrail", region_name="us-east-1")
    return dict(client.lookup_events(**params))


def code_of(aws: SimulatedAws, **params: Any) -> str:
    """The error code of one lookup, sent with the account's rate budget full (the throttle
    is tested on its own: here a third call within a second must not be refused for it)."""
    aws.trail.buckets.clear()
    with pytest.raises(ClientError) as caught:
        lookup(aws, **params)
    return str(caught.value.response["Error"]["Code"])


def test_the_simulated_lookup_refuses_what_cloudtrail_refuses(aws: SimulatedAws) -> None:
    attribute = {"AttributeKey": "AccessKeyId", "AttributeValue": KEY}
    two = [attribute, {"AttributeKey": "Username", "AttributeValue": "root"}]
    assert code_of(aws, LookupAttributes=two) == "InvalidLookupAttributesException"
    assert code_of(aws, MaxResults=51) == "InvalidMaxResultsException"
    now = datetime.now(UTC)
    assert (
        code_of(aws, StartTime=now, EndTime=now - timedelta(hours=1)) == "InvalidTimeRangeException"
    )
    for i in range(3):
        aws.trail.record("123456789012", "us-east-1", KEY, "s3:GetObject", recent(i + 1))
    aws.trail.buckets.clear()
    page = lookup(aws, LookupAttributes=[attribute], MaxResults=2)
    assert len(page["Events"]) == 2 and page["NextToken"]
    assert (
        code_of(aws, LookupAttributes=[attribute], MaxResults=1, NextToken=page["NextToken"])
        == "InvalidNextTokenException"
    )


def test_the_simulated_lookup_throttles_past_two_a_second(aws: SimulatedAws) -> None:
    codes = []
    client = aws.session().client(
        "cloudtrail",
        region_name="us-east-1",
        config=__import__("botocore").config.Config(retries={"total_max_attempts": 1}),
    )
    for _ in range(6):
        try:
            client.lookup_events(MaxResults=1)
            codes.append("ok")
        except ClientError as exc:
            codes.append(exc.response["Error"]["Code"])
    assert codes.count("ThrottlingException") >= 3
    assert codes[:2] == ["ok", "ok"]


def test_the_lookup_for_a_verdict_reads_the_keys_regions_and_names_keys_alerts_saw(
    aws: SimulatedAws,
) -> None:
    org = aws.create_organization(members=1)
    member = org.members[0].account_id
    aws.trail.record(member, "eu-central-1", KEY, "s3:ListBuckets", recent(5))
    verdict = Verdict(
        account_id=member,
        status=Status.NONCOMPLIANT,
        reason="root access key present",
        source="aws",
        keys=(KeySlot(slot=1, active=True, last_used_region="eu-central-1"),),
    )
    seen: list[tuple[str, datetime]] = []

    def known(account: str, since: datetime) -> list[str]:
        seen.append((account, since))
        return [OTHER]

    report = KeyUsageLookup(reader(aws), known)(verdict)
    assert report.regions == ("eu-central-1", "us-east-1")
    assert {k.key_id: k.total for k in report.keys} == {KEY: 1, OTHER: 0}
    assert seen and seen[0][0] == member
    assert datetime.now(UTC) - seen[0][1] > timedelta(days=89)  # alerts of the last 90 days


def test_the_lookup_never_raises_even_when_everything_fails(aws: SimulatedAws) -> None:
    class Broken:
        def read(self, *args: Any, **kwargs: Any) -> Any:
            raise RuntimeError("boom")

    def broken_store(account: str, since: datetime) -> list[str]:
        raise OSError("database is gone")

    verdict = Verdict(
        account_id="111111111111", status=Status.NONCOMPLIANT, reason="key", source="aws"
    )
    report = KeyUsageLookup(Broken(), broken_store)(verdict)
    assert report.problems and not report.unused


# -- a lookup that did not see everything never says "no recorded use" ---------------------------


def shown(report: UsageReport) -> tuple[str, str]:
    """What people read: the request's thread note, and the request form's usage section."""
    form = View(
        type="modal",
        callback_id="rootkey_remediation_request",
        title="rootkey",
        blocks=[mrkdwn_section("Account", block_id="intro")],
    )
    section = with_usage(form, report, UTC).blocks[-1].to_dict()
    return usage_note(report, UTC).text, json.dumps(section, ensure_ascii=False)


def test_a_lookup_cut_at_its_page_limit_says_how_far_back_it_read(aws: SimulatedAws) -> None:
    org = aws.create_organization(members=1)
    member = org.members[0].account_id
    # An alert saw OTHER; it signed one call 20 days ago. Since then the root user's console
    # sessions made 120 calls: more than the two pages this reader reads.
    aws.trail.record(member, "us-east-1", OTHER, "iam:CreateUser", recent(24 * 20))
    for i in range(120):
        aws.trail.record(member, "us-east-1", SESSION, "iam:ListUsers", recent(i / 6 + 0.1))
    verdict = Verdict(
        account_id=member,
        status=Status.NONCOMPLIANT,
        reason="root access key present",
        source="aws",
        keys=(KeySlot(slot=1, active=True),),
    )
    report = KeyUsageLookup(reader(aws, max_pages=2), lambda _a, _s: [OTHER])(verdict)
    oldest = min(
        e.at for e in sorted(aws.trail.events[(member, "us-east-1")], key=lambda e: e.at)[-100:]
    )
    for text in shown(report):
        assert "No recorded use" not in text and "no recorded use" not in text
        assert (
            f"us-east-1: the 100 most recent events, back to {oldest:%Y-%m-%d %H:%M}; "
            "older events not read" in text
        )
        assert "AKIA************MPLE: no call among the events read" in text
    assert not report.unused


def test_a_use_the_credential_report_shows_and_the_lookup_did_not_find_is_said(
    aws: SimulatedAws,
) -> None:
    org = aws.create_organization(members=2)
    data_event, recorded = (m.account_id for m in org.members)
    used = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(days=3)
    for account in (data_event, recorded):
        aws.set_root_keys(
            account,
            [
                RootKeySpec(
                    slot=1, created=days_ago(200), last_used=used, region="eu-west-1", service="s3"
                )
            ],
        )
    # The key read an S3 object (a data event: not in CloudTrail's event history) in one
    # account; in the other it listed the buckets (a management event, recorded).
    aws.trail.record(recorded, "eu-west-1", KEY, "s3:ListBuckets", used + timedelta(seconds=20))
    auditor = AwsAuditor(Config(), session_factory=aws.session)
    lookup = KeyUsageLookup(reader(aws))

    unseen = lookup(auditor.audit_account(data_event))
    for text in shown(unseen):
        assert "No recorded use" not in text and "no recorded use" not in text
        assert f"key 1 last used {used:%Y-%m-%d %H:%M} (s3, eu-west-1)" in text
        assert "not found in CloudTrail's event history" in text
    assert not unseen.unused

    seen = lookup(auditor.audit_account(recorded))
    for text in shown(seen):
        assert "AKIA************MPLE: 1 call," in text and "credential report" not in text
