"""The root-activity checks: the events queue (readable, its dead-letter queue there, nobody
but EventBridge allowed to send to it) and the EventBridge rules that feed it (deliver
read-only calls, take only events AWS wrote). A rule or queue that lets anyone in the
Organization put an event would make a forged "key deleted" believed: the bot reads what
arrives, so these deployment facts are its defence."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from bot.aws.iam import AWS_CALL_ERRORS, error_code, read_error
from bot.doctor.findings import Finding, fail, ok, warn

AREA = "AWS"
CENTRAL = "deploy/root-activity-central.yaml"
# EventBridge delivers read-only management events (Get/List/Describe) only to rules in this
# state; ENABLED alone drops them, and with them a root key used for s3:ListBuckets.
ALL_MANAGEMENT_EVENTS = "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS"
SEND = {"sqs:SendMessage", "sqs:*", "*"}


def queue_findings(url: str, client: Any) -> Iterator[Finding]:
    sqs = client("sqs")
    try:
        attributes = sqs.get_queue_attributes(
            QueueUrl=url, AttributeNames=["QueueArn", "RedrivePolicy", "Policy"]
        )["Attributes"]
    except AWS_CALL_ERRORS as exc:
        yield fail(
            AREA,
            "events queue",
            f"cannot be read ({read_error('GetQueueAttributes', exc)})",
            f"deploy {CENTRAL} and set ROOTKEY_EVENTS_QUEUE_URL to its QueueUrl output",
        )
        return
    yield dead_letter_finding(sqs, attributes.get("RedrivePolicy"))
    yield queue_policy_finding(attributes.get("Policy"))
    yield from rule_findings(client("events"), attributes["QueueArn"])


def dead_letter_finding(sqs: Any, redrive: str | None) -> Finding:
    check = "events queue"
    if not redrive:
        return warn(
            AREA,
            check,
            "no dead-letter queue: a message that cannot be read is retried for ever",
            f"deploy {CENTRAL} (it makes one)",
        )
    try:
        target = str(json.loads(redrive)["deadLetterTargetArn"])
        _, _, _, _, account, name = target.split(":", 5)
        sqs.get_queue_url(QueueName=name, QueueOwnerAWSAccountId=account)
    except (ValueError, KeyError, TypeError):
        return fail(AREA, check, f"its redrive policy cannot be read ({redrive!r})", CENTRAL)
    except AWS_CALL_ERRORS as exc:
        code = error_code(exc)
        if "NonExistentQueue" in code or "QueueDoesNotExist" in code:
            return fail(
                AREA,
                check,
                f"its dead-letter queue {name} is gone: a message rootkey cannot read is lost",
                f"redeploy {CENTRAL}",
            )
        return warn(AREA, check, f"its dead-letter queue cannot be checked ({code})")
    return ok(AREA, check, f"readable, with its dead-letter queue {name}")


def queue_policy_finding(policy: str | None) -> Finding:
    """Nobody may send to the queue but EventBridge for its rule: a statement that allows any
    principal to send, with no condition, lets anyone write an "event"."""
    check = "events queue policy"
    try:
        statements = json.loads(policy)["Statement"] if policy else []
    except (ValueError, KeyError, TypeError):
        return fail(AREA, check, "the queue's policy cannot be read", f"redeploy {CENTRAL}")
    if isinstance(statements, dict):
        statements = [statements]
    for statement in statements:
        actions = statement.get("Action") or []
        actions = {actions} if isinstance(actions, str) else set(actions)
        principal = statement.get("Principal")
        anyone = principal == "*" or (
            isinstance(principal, dict) and "*" in json.dumps(principal.get("AWS", ""))
        )
        if (
            statement.get("Effect") == "Allow"
            and actions & SEND
            and anyone
            and not statement.get("Condition")
        ):
            return fail(
                AREA,
                check,
                "anyone may send messages to the queue: a forged event would be read as AWS's",
                f"allow only events.amazonaws.com for the rule's ARN (redeploy {CENTRAL})",
            )
    return ok(AREA, check, "no one may send to it but what its policy names")


def takes_only_aws_events(pattern: str | None) -> bool:
    """Whether an event pattern's ``source`` admits only ``aws.…`` sources (which PutEvents
    callers cannot use)."""
    try:
        sources = json.loads(pattern or "{}").get("source")
    except (ValueError, AttributeError):
        return False
    if not isinstance(sources, list) or not sources:
        return False
    for source in sources:
        if isinstance(source, str) and source.startswith("aws."):
            continue
        if isinstance(source, dict) and str(source.get("prefix", "")).startswith("aws."):
            continue
        return False
    return True


def rule_findings(events: Any, queue_arn: str) -> Iterator[Finding]:
    check = "EventBridge rules"
    try:
        buses = [bus["Name"] for bus in events.list_event_buses().get("EventBuses") or []]
        rules = [
            (bus, name)
            for bus in buses
            for name in events.list_rule_names_by_target(TargetArn=queue_arn, EventBusName=bus).get(
                "RuleNames"
            )
            or []
        ]
        described = {name: events.describe_rule(Name=name, EventBusName=bus) for bus, name in rules}
    except AWS_CALL_ERRORS as exc:
        yield warn(AREA, check, f"cannot be read ({read_error('ListRuleNamesByTarget', exc)})")
        return
    if not described:
        yield fail(
            AREA,
            check,
            "no rule sends events to the queue: no root-activity alert can arrive",
            f"deploy {CENTRAL} (and the member StackSet)",
        )
        return
    dropping = sorted(
        f"{name} ({rule.get('State')})"
        for name, rule in described.items()
        if rule.get("State") != ALL_MANAGEMENT_EVENTS
    )
    forgeable = sorted(
        name
        for name, rule in described.items()
        if not takes_only_aws_events(rule.get("EventPattern"))
    )
    if dropping:
        yield fail(
            AREA,
            check,
            f"{', '.join(dropping)}: read-only root calls (Get/List/Describe) never arrive",
            f"set State: {ALL_MANAGEMENT_EVENTS} (redeploy deploy/root-activity-*.yaml)",
        )
    if forgeable:
        yield fail(
            AREA,
            check,
            f"{', '.join(forgeable)} take events of any source: anyone allowed to put events on "
            "the bus could forge a root key event",
            f'filter "source": [{{"prefix": "aws."}}] (redeploy {CENTRAL})',
        )
    if not dropping and not forgeable:
        yield ok(
            AREA,
            check,
            f"{len(described)} rule(s) deliver every management event, from AWS only",
        )
