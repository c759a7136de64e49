"""The EventBridge rules of deploy/ deliver what rootkey must see, and nothing anyone can forge.

The templates are read as CloudFormation YAML and their rules' event patterns are run against
events with moto's implementation of EventBridge's pattern matching. What EventBridge does
around the pattern is modelled here as AWS documents it:

* ``PutEvents`` refuses an entry whose ``Source`` starts with ``aws.``
  (``NotAuthorizedForSourceException``): only AWS services write those sources.
* A rule in state ``ENABLED`` matches every event *except* read-only management events
  delivered through CloudTrail (``Get*``, ``List*``, ``Describe*``: ``readOnly`` true); only
  ``ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS`` matches those too. That state is valid on
  the default bus and on custom buses, not on partner buses (EventBridge User Guide,
  "Receiving read-only management events from AWS services"; ``PutRule``'s ``State``).

The events are ``simulator.trail``'s, shaped like EventBridge's "AWS API Call via CloudTrail"
events.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from moto.events.models import EventPattern

from bot.events.parse import API_CALL
from simulator import trail
from tests.test_iam_templates import CENTRAL, MEMBER, load_template

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
AWS_PREFIX = "aws."  # the sources only AWS services may write


ALL_MANAGEMENT_EVENTS = "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS"


def rule(template: Path) -> dict[str, Any]:
    return dict(load_template(template)["Resources"]["RootActivityRule"]["Properties"])


def matches(rule_properties: dict[str, Any], event: dict[str, Any]) -> bool:
    """Whether EventBridge matches ``event`` against the rule's pattern (state aside)."""
    pattern = rule_properties["EventPattern"]
    return EventPattern(None, pattern).matches_event(event)


def read_only_management(event: dict[str, Any]) -> bool:
    detail = event.get("detail") or {}
    return (
        event.get("detail-type") == API_CALL
        and detail.get("readOnly") is True
        and detail.get("eventCategory", "Management") == "Management"
    )


def delivered(rule_properties: dict[str, Any], event: dict[str, Any]) -> bool:
    """Whether EventBridge sends ``event`` to the rule's targets, the rule's state included."""
    state = rule_properties.get("State", "ENABLED")
    if state == "DISABLED" or not matches(rule_properties, event):
        return False
    return state == ALL_MANAGEMENT_EVENTS or not read_only_management(event)


def reaches_the_queue(event: dict[str, Any]) -> bool:
    """A member account's event: its rule forwards it unchanged to the central bus, whose
    rule sends it to the queue."""
    return delivered(rule(MEMBER), event) and delivered(rule(CENTRAL), event)


def put_events(source: str) -> bool:
    """Whether a ``PutEvents`` caller may send an entry with this ``Source``."""
    return not source.startswith(AWS_PREFIX)


def forged(source: str) -> dict[str, Any]:
    """A root "key created" event as a principal of the Organization could put it on the
    central bus with ``PutEvents``: every field copied from a real one but ``source``."""
    event = trail.key_created("AKIAIOSFODNN7EXAMPLE", account_id="111111111111")
    return {**event, "source": source}


# ---------------------------------------------------------------- forged events


@pytest.mark.parametrize(
    "source",
    ["rootkey.forged", "com.example.iam", "iam.amazonaws.com", "aws", "awsiam", "AWS.iam", ""],
)
def test_an_event_put_by_a_principal_of_the_organization_never_reaches_the_queue(
    source: str,
) -> None:
    """The bus policy lets every principal of the Organization call PutEvents (the member
    rules forward through it). Whatever source such a caller may use, the central rule drops
    the event: a forged "key created" or "key used" would otherwise alert."""
    event = forged(source)
    assert put_events(source)  # the caller may send it ...
    assert not matches(rule(CENTRAL), event)  # ... and it never reaches the queue


def test_an_aws_source_cannot_be_put_by_a_caller() -> None:
    assert not put_events("aws.iam")


@pytest.mark.parametrize(
    "event",
    [
        trail.key_created(),
        trail.key_updated(),
        trail.key_deleted(),
        trail.key_used("s3:PutObject"),
        trail.key_used("ec2:RunInstances"),
    ],
    ids=["created", "reactivated", "deleted", "s3-put", "ec2-run"],
)
def test_root_api_calls_aws_wrote_match_both_rules(event: dict[str, Any]) -> None:
    assert matches(rule(MEMBER), event)
    assert matches(rule(CENTRAL), event)


def test_the_central_rule_takes_only_events_aws_wrote_of_the_types_rootkey_reads() -> None:
    pattern = rule(CENTRAL)["EventPattern"]
    assert pattern["source"] == [{"prefix": AWS_PREFIX}]
    assert pattern["detail-type"] == [API_CALL]  # the only detail-type bot/events/ reads
    text = CENTRAL.read_text()
    assert "PutEvents" in text.split("RootActivityRule:", 1)[1].split("Targets:", 1)[0], (
        "the template says why the rule filters on the source"
    )


# ---------------------------------------------------------------- read-only root calls


@pytest.mark.parametrize(
    "action", ["s3:ListBuckets", "iam:ListUsers", "ec2:DescribeInstances", "iam:GetAccountSummary"]
)
def test_a_read_only_root_call_reaches_the_queue(action: str) -> None:
    """A root key used only to read (what an attacker tries first) alerts like any use."""
    event = trail.key_used(action)
    assert event["detail"]["readOnly"] is True  # as CloudTrail records these calls
    assert reaches_the_queue(event)


def test_a_root_call_that_changes_something_still_reaches_the_queue() -> None:
    assert reaches_the_queue(trail.key_created())
    assert reaches_the_queue(trail.key_used("s3:PutObject"))


def rules() -> dict[str, dict[str, Any]]:
    """Every EventBridge rule of deploy/, by ``template.yaml/LogicalId``, with its template's
    resources under ``_resources``."""
    found: dict[str, dict[str, Any]] = {}
    for path in sorted(DEPLOY.glob("*.yaml")):
        resources = load_template(path).get("Resources", {})
        for name, resource in resources.items():
            if resource.get("Type") == "AWS::Events::Rule":
                found[f"{path.name}/{name}"] = {**resource["Properties"], "_resources": resources}
    return found


def takes_api_calls(properties: dict[str, Any]) -> bool:
    pattern = properties.get("EventPattern") or {}
    return API_CALL in (pattern.get("detail-type") or [])


def test_every_rule_on_cloudtrail_api_calls_takes_read_only_management_events() -> None:
    found = rules()
    assert set(found) == {
        "root-activity-central.yaml/RootActivityRule",
        "root-activity-member.yaml/RootActivityRule",
    }
    for name, properties in found.items():
        if takes_api_calls(properties):
            assert properties.get("State") == ALL_MANAGEMENT_EVENTS, name


def test_the_all_management_events_state_is_only_where_aws_accepts_it() -> None:
    """Only on rules matching CloudTrail's API calls, on the default bus or a custom bus (never
    a partner bus: one made from an ``EventSourceName``)."""
    for name, properties in rules().items():
        if properties.get("State") != ALL_MANAGEMENT_EVENTS:
            continue
        assert takes_api_calls(properties), name
        bus = properties.get("EventBusName")
        if bus is None or bus == "default":
            continue
        assert set(bus) == {"Ref"}, name  # a bus of the same template
        resource = properties["_resources"][bus["Ref"]]
        assert resource["Type"] == "AWS::Events::EventBus", name
        assert "EventSourceName" not in resource["Properties"], name
