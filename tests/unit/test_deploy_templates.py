"""The EventBridge rules of deploy/ deliver what rootkey must see, and nothing anyone can forge.

The templates are read as CloudFormation YAML and their rules' event patterns are run against
events with moto's implementation of EventBridge's pattern matching. What EventBridge does
around the pattern is modelled here as AWS documents it:

* ``PutEvents`` refuses an entry whose ``Source`` starts with ``aws.``
  (``NotAuthorizedForSourceException``): only AWS services write those sources.

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


def rule(template: Path) -> dict[str, Any]:
    return dict(load_template(template)["Resources"]["RootActivityRule"]["Properties"])


def matches(rule_properties: dict[str, Any], event: dict[str, Any]) -> bool:
    """Whether EventBridge matches ``event`` against the rule's pattern (state aside)."""
    pattern = rule_properties["EventPattern"]
    return EventPattern(None, pattern).matches_event(event)


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
