"""Alert messages and the key-usage section: hostile text from CloudTrail stays inert, key ids
are masked, and every message fits Slack's limits however long the event's text."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.events.classify import classify
from bot.events.fold import Uses
from bot.events.parse import parse_message
from bot.events.usage import KeyUsage, UsageReport
from bot.slack.blocks.alerts import key_alert, key_deleted_note, uses_alert
from bot.slack.blocks.common import Message
from bot.slack.blocks.usage import usage_note
from simulator import trail
from tests.unit.test_properties_escaping import assert_inert

ZONE = ZoneInfo("UTC")
T0 = datetime(2026, 11, 30, 10, 42, tzinfo=UTC)
HOSTILE = [
    "<!channel> wake up",
    "<@U0EVIL0001> please approve",
    "<https://evil.example/login|Click to verify>",
    "@here @everyone",
    "<!subteam^S0EVIL0001|@admins>",
]
TEXTS = st.one_of(st.sampled_from(HOSTILE), st.text(max_size=3000))


def rendered(blocks: list[Any], text: str) -> str:
    return json.dumps([b.to_dict() for b in blocks], ensure_ascii=False) + text


def inert(message: Message) -> None:
    """Slack reads mrkdwn texts and the fallback: no live mention or link in any of them
    (plain_text headers are shown as typed)."""
    assert_inert(message)


@settings(max_examples=150, deadline=None)
@given(agent=TEXTS, ip=TEXTS, name=TEXTS)
def test_a_created_key_alert_is_inert_masked_and_within_limits(
    agent: str, ip: str, name: str
) -> None:
    activity = classify(parse_message(trail.body(trail.key_created(agent=agent, ip=ip, at=T0))))
    assert activity is not None
    message = key_alert(activity, name, ZONE)  # check_limits ran inside
    shown = rendered(*message)
    inert(message)
    assert trail.ROOT_KEY not in shown and "AKIA************MPLE" in shown


@settings(max_examples=150, deadline=None)
@given(actions=st.lists(TEXTS, min_size=1, max_size=30), sources=st.lists(TEXTS, max_size=8))
def test_folded_uses_are_inert_and_within_limits(actions: list[str], sources: list[str]) -> None:
    uses = Uses.first("111111111111", trail.ROOT_KEY, actions[0], T0, sources[0] if sources else "")
    for i, action in enumerate(actions[1:]):
        uses = uses.add(
            action, T0 + timedelta(seconds=i), sources[i % len(sources)] if sources else ""
        )
    inert(uses_alert(uses, "<!channel>", ZONE))


def test_folded_uses_read_as_a_count_per_action() -> None:
    uses = Uses.first("111111111111", trail.ROOT_KEY, "s3:ListBuckets", T0, "203.0.113.5")
    one = rendered(*uses_alert(uses, None, ZONE))
    assert "Root access key used: s3:ListBuckets from 203.0.113.5" in one
    for i in range(13):
        uses = uses.add("s3:ListBuckets" if i < 8 else "iam:ListUsers", T0, "203.0.113.5")
    many = rendered(*uses_alert(uses, None, ZONE))
    assert "used 14 times since 10:42 UTC: s3:ListBuckets ×9, iam:ListUsers ×5" in many


def test_the_deletion_note_is_inert() -> None:
    event = trail.key_deleted(trail.ROOT_KEY, key=None, ip="<!channel>")
    activity = classify(parse_message(trail.body(event)))
    assert activity is not None
    inert(key_deleted_note(activity, ZONE))


def usage(key: str, total: int, **kwargs: object) -> KeyUsage:
    seen = {"first_seen": T0, "last_seen": T0} if total else {}
    return KeyUsage(key_id=key, regions=("us-east-1",), total=total, **seen, **kwargs)  # type: ignore[arg-type]


def test_usage_says_no_recorded_use_only_when_every_region_was_read() -> None:
    clean = UsageReport("111111111111", ("eu-west-1", "us-east-1"))
    assert "No recorded use of a root access key in 90 days" in usage_note(clean, ZONE).text
    denied = UsageReport("111111111111", ("us-east-1",), problems=("us-east-1: access denied",))
    text = usage_note(denied, ZONE).text
    assert "No recorded use" not in text and "Not read: us-east-1: access denied" in text


@settings(max_examples=100, deadline=None)
@given(agents=st.lists(TEXTS, max_size=10), actions=st.lists(TEXTS, min_size=1, max_size=10))
def test_usage_is_inert_masked_and_within_limits(agents: list[str], actions: list[str]) -> None:
    key = usage(
        trail.ROOT_KEY,
        len(actions),
        actions=tuple((a, 1) for a in actions),
        agents=tuple((a, 1) for a in agents),
        sources=(("<!here>", 2),),
    )
    message = usage_note(UsageReport("111111111111", ("us-east-1",), keys=(key,)), ZONE)
    inert(message)
    assert trail.ROOT_KEY not in rendered(*message)


def test_the_form_gets_the_usage_section_above_its_fields_and_replaces_it_later() -> None:
    from slack_sdk.models.blocks import InputBlock, PlainTextInputElement
    from slack_sdk.models.views import View

    from bot.slack.blocks.common import mrkdwn_section
    from bot.slack.blocks.usage import with_usage

    form = View(
        type="modal",
        callback_id="rootkey_remediation_request",
        title="rootkey",
        submit="Request",
        blocks=[
            mrkdwn_section("Account 111111111111", block_id="intro"),
            InputBlock(
                block_id="reason",
                label="Reason",
                element=PlainTextInputElement(action_id="reason"),
            ),
        ],
    )
    looking = with_usage(form, None, ZONE)
    ids = [b.block_id for b in looking.blocks]
    assert ids == ["intro", "rootkey_key_usage", "reason"]
    found = with_usage(looking, UsageReport("111111111111", ("us-east-1",)), ZONE)
    assert [b.block_id for b in found.blocks] == ids  # replaced, not added twice
    assert "No recorded use" in json.dumps(found.to_dict())
    assert [b.block_id for b in form.blocks] == ["intro", "reason"]  # the original untouched
