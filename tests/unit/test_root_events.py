"""Root activity from CloudTrail events: parsing (raw and SNS-wrapped), the rules, folding.

The parser meets bodies from anyone who can send to the queue: whatever the body, it returns an
event or raises ``NotAnEvent``, never anything else.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.events.classify import classify
from bot.events.fold import Uses, window_of
from bot.events.models import Activity, NotAnEvent
from bot.events.parse import parse_message
from simulator import trail

AT = datetime(2026, 11, 30, 10, 42, 7, tzinfo=UTC)
ACCOUNT = "111111111111"
NEW_KEY = "AKIAI44QH8DHBEXAMPLE"


def parsed(event: dict[str, Any]):  # type: ignore[no-untyped-def]
    return classify(parse_message(trail.body(event)))


# --------------------------------------------------------------------------- the rules


def test_root_create_access_key_is_a_created_key_with_the_new_key_id() -> None:
    found = parsed(trail.key_created(NEW_KEY, at=AT))
    assert found is not None and found.activity is Activity.KEY_CREATED
    assert found.key_id == NEW_KEY  # from responseElements, not the key that signed the call
    assert found.account_id == ACCOUNT
    assert found.call.source_ip == "203.0.113.5"
    assert found.call.at == AT.replace(microsecond=0)


def test_reactivation_is_alerted_and_deactivation_is_not_an_alert() -> None:
    up = parsed(trail.key_updated(NEW_KEY, "Active", key=None))
    assert up is not None and up.activity is Activity.KEY_REACTIVATED and up.key_id == NEW_KEY
    assert parsed(trail.key_updated(NEW_KEY, "Inactive", key=None)) is None


def test_root_delete_access_key_is_a_deletion() -> None:
    found = parsed(trail.key_deleted(NEW_KEY, key=None))
    assert found is not None and found.activity is Activity.KEY_DELETED
    assert found.key_id == NEW_KEY


def test_any_root_call_signed_with_a_long_term_key_is_a_use() -> None:
    found = parsed(trail.key_used("s3:ListBuckets", at=AT))
    assert found is not None and found.activity is Activity.KEY_USED
    assert found.key_id == trail.ROOT_KEY
    assert found.call.action == "s3:ListBuckets"


@pytest.mark.parametrize(
    "event",
    [
        trail.key_used("s3:ListBuckets", key="ASIAIOSFODNN7EXAMPLE"),  # console/AssumeRoot session
        trail.key_used("s3:ListBuckets", key=None),
        trail.key_used("s3:ListBuckets", kind="IAMUser"),  # an IAM user's key
        trail.key_created(NEW_KEY, kind="IAMUser"),
        trail.key_updated(NEW_KEY, "Active", kind="AssumedRole", key="ASIAIOSFODNN7EXAMPLE"),
        # root creating an IAM user's key is not a root key
        trail.api_call(
            "CreateAccessKey",
            key="ASIAIOSFODNN7EXAMPLE",
            request={"userName": "alice"},
            response={"accessKey": {"accessKeyId": NEW_KEY, "status": "Active"}},
        ),
        # a failed CreateAccessKey created nothing (signed by a session, so not a use either)
        trail.key_created(NEW_KEY, key="ASIAIOSFODNN7EXAMPLE", error_code="LimitExceeded"),
    ],
    ids=[
        "session-key",
        "no-key",
        "iam-user",
        "iam-user-create",
        "role-update",
        "root-creates-user-key",
        "failed-create",
    ],
)
def test_what_is_not_root_key_activity_is_ignored(event: dict[str, Any]) -> None:
    assert parsed(event) is None


def test_a_failed_create_signed_with_a_root_key_is_still_a_use_of_that_key() -> None:
    found = parsed(trail.key_created(NEW_KEY, error_code="LimitExceeded"))
    assert found is not None and found.activity is Activity.KEY_USED
    assert found.key_id == trail.ROOT_KEY


def test_other_detail_types_are_events_but_never_alerts() -> None:
    signin = {
        "version": "0",
        "id": "6f2c1d1e-0000-4000-8000-000000000001",
        "detail-type": "AWS Console Sign In via CloudTrail",
        "source": "aws.signin",
        "account": ACCOUNT,
        "time": "2026-11-30T10:42:00Z",
        "region": "us-east-1",
        "detail": {"userIdentity": {"type": "Root"}, "eventName": "ConsoleLogin"},
    }
    call = parse_message(json.dumps(signin))
    assert call.event_id == signin["id"]
    assert classify(call) is None


def console_session(event: dict[str, Any]) -> dict[str, Any]:
    """``event`` made in the root user's console session: a temporary key and its
    ``sessionContext``, as in the "Root Access Key Created" test log of
    panther-labs/panther-analysis (rules/aws_cloudtrail_rules/aws_root_access_key_created.yml)."""
    identity = {
        **event["detail"]["userIdentity"],
        "accessKeyId": "ASIAIOSFODNN7EXAMPLE",
        "sessionContext": {
            "attributes": {"creationDate": "2026-11-30T10:31:55Z", "mfaAuthenticated": "true"}
        },
        "invokedBy": "signin.amazonaws.com",
    }
    return {**event, "detail": {**event["detail"], "userIdentity": identity}}


def with_created_key(value: object) -> dict[str, Any]:
    event = console_session(trail.key_created(NEW_KEY))
    access_key = {**event["detail"]["responseElements"]["accessKey"], "accessKeyId": value}
    detail = {**event["detail"], "responseElements": {"accessKey": access_key}}
    return {**event, "detail": detail}


def without_response(event: dict[str, Any]) -> dict[str, Any]:
    return {**event, "detail": {**event["detail"], "responseElements": None}}


@pytest.mark.parametrize(
    "event",
    [
        with_created_key("1111"),  # the key id as that public test log has it (redacted)
        with_created_key(""),
        with_created_key(None),
        with_created_key("akiai44qh8dhbexample"),
        with_created_key("AKIA<!channel>"),
        with_created_key("A" * 500),
        without_response(console_session(trail.key_created(NEW_KEY))),
    ],
    ids=["redacted", "empty", "null", "lowercase", "markup", "too-long", "no-response"],
)
def test_a_root_key_created_whose_key_id_is_not_readable_is_still_a_created_key(
    event: dict[str, Any],
) -> None:
    found = parsed(event)
    assert found is not None and found.activity is Activity.KEY_CREATED
    assert found.key_id == ""  # "key id not readable": alerted, never skipped


@pytest.mark.parametrize(
    "key",
    ["ASIAIOSFODNN7EXAMPLE", "ABIAIOSFODNN7EXAMPLE", "AKIAIOSFODNN7EXAMPLE"],
    ids=["asia-prefix", "other-prefix", "akia"],
)
def test_a_root_call_signed_with_a_key_and_no_session_is_a_use_of_a_long_term_key(
    key: str,
) -> None:
    """AWS adds ``sessionContext`` only for temporary credentials: without it the key is
    long-term, whatever its prefix."""
    found = parsed(trail.key_used("s3:ListBuckets", key=key, session=False))
    assert found is not None and found.activity is Activity.KEY_USED
    assert found.key_id == key


def test_a_root_call_signed_with_an_unreadable_key_and_no_session_is_a_use() -> None:
    found = parsed(trail.key_used("s3:ListBuckets", key="not a key id", session=False))
    assert found is not None and found.activity is Activity.KEY_USED
    assert found.key_id == ""


def test_a_root_console_session_call_is_not_a_key_use() -> None:
    assert parsed(console_session(trail.key_used("s3:ListBuckets"))) is None


# --------------------------------------------------------------------------- SNS and junk


def test_sns_wrapped_event_parses_to_the_same_call() -> None:
    body = trail.body(trail.key_created(NEW_KEY, at=AT))
    assert parse_message(trail.sns_body(body)) == parse_message(body)


@pytest.mark.parametrize(
    "body",
    [
        "",
        "not json",
        "[]",
        "null",
        '"a string"',
        "{}",
        json.dumps({"Type": "Notification", "Message": "not json"}),
        json.dumps({"Type": "Notification", "Message": {"detail-type": "x"}}),
        json.dumps({**trail.key_created(), "account": "11111111111"}),  # 11 digits
        json.dumps({**trail.key_created(), "account": "١١١١١١١١١١١١"}),  # non-ASCII digits
        json.dumps({**trail.key_created(), "account": "111111111111\n"}),
        json.dumps({**trail.key_created(), "detail": "x"}),
        json.dumps({**trail.key_created(), "detail-type": None}),
        json.dumps({**trail.key_created(), "time": "soon", "detail": {"eventID": "a"}}),
        json.dumps(
            {**trail.key_created(), "detail": {**trail.key_created()["detail"], "eventID": None}}
        ),
        json.dumps(
            {**trail.key_created(), "detail": {**trail.key_created()["detail"], "eventID": "<x>"}}
        ),
        "[" * 100_000,
    ],
)
def test_what_is_not_an_event_is_rejected(body: str) -> None:
    with pytest.raises(NotAnEvent):
        parse_message(body)


def with_times(event: dict[str, Any], envelope: str, record: str) -> str:
    return json.dumps(
        {**event, "time": envelope, "detail": {**event["detail"], "eventTime": record}}
    )


@pytest.mark.parametrize(
    "stamp",
    [
        "0001-01-01T00:00:00+01:00",  # before year 1 in UTC: OverflowError when converted
        "9999-12-31T23:30:00-01:00",  # after year 9999 in UTC
        "0001-01-01T00:00:00Z",  # converts, but not to every time zone a message is shown in
        "1970-01-01T00:00:00Z",  # before AWS existed: not a CloudTrail time
    ],
)
def test_an_event_time_out_of_range_is_not_an_event(stamp: str) -> None:
    with pytest.raises(NotAnEvent):
        parse_message(with_times(trail.key_created(NEW_KEY), stamp, stamp))


def test_a_root_key_created_with_an_unusable_event_time_keeps_the_envelopes_time() -> None:
    """A bad ``eventTime`` does not drop a root key creation: EventBridge's ``time`` stands in."""
    event = trail.key_created(NEW_KEY, at=AT)
    found = classify(parse_message(with_times(event, event["time"], "0001-01-01T00:00:00+01:00")))
    assert found is not None and found.activity is Activity.KEY_CREATED
    assert found.call.at == AT.replace(microsecond=0)


def test_a_failure_while_reading_is_not_an_event(monkeypatch: pytest.MonkeyPatch) -> None:
    """Whatever goes wrong inside the parser (here: the JSON reader overflowing the stack),
    the message is "not an event", never an exception that stops the batch."""

    def overflowing(*_: object, **__: object) -> object:
        raise RecursionError("maximum recursion depth exceeded")

    monkeypatch.setattr("bot.events.parse.parse_event", overflowing)
    with pytest.raises(NotAnEvent, match="RecursionError"):
        parse_message(trail.body(trail.key_created(NEW_KEY)))


def test_text_that_cannot_be_encoded_is_read_with_replacement_characters() -> None:
    """A lone surrogate or a NUL (valid JSON escapes) cannot be written to PostgreSQL or sent
    as UTF-8: the parser replaces them, and the root call still alerts."""
    event = trail.key_used("s3:ListBuckets", ip="203.0.113.5\u0000", agent="aws-cli \ud800")
    body = trail.body(event)  # json.dumps writes both as \\u escapes, as a sender could
    assert "\\u0000" in body and "\\ud800" in body
    found = classify(parse_message(body))
    assert found is not None and found.activity is Activity.KEY_USED
    assert found.call.source_ip == "203.0.113.5\ufffd"
    assert found.call.user_agent == "aws-cli \ufffd"
    assert found.call.user_agent.encode("utf-8") and found.call.source_ip.encode("utf-8")


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=6)
    ),
    max_leaves=20,
)
FIELDS = st.sampled_from(
    ["detail-type", "account", "time", "region", "id", "detail", "Type", "Message"]
)
DETAIL_FIELDS = st.sampled_from(
    [
        "userIdentity",
        "eventTime",
        "eventSource",
        "eventName",
        "awsRegion",
        "sourceIPAddress",
        "userAgent",
        "requestParameters",
        "responseElements",
        "eventID",
        "errorCode",
    ]
)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200) | JSON.map(json.dumps))
def test_any_body_parses_or_is_rejected_cleanly(body: str) -> None:
    try:
        call = parse_message(body)
    except NotAnEvent:
        return
    classify(call)


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(["created", "updated", "deleted", "used"]),
    st.dictionaries(FIELDS, JSON, max_size=3),
    st.dictionaries(DETAIL_FIELDS, JSON, max_size=3),
    st.booleans(),
)
def test_a_real_event_with_any_fields_replaced_parses_or_is_rejected_cleanly(
    which: str, top: dict[str, Any], detail: dict[str, Any], wrap: bool
) -> None:
    event = {
        "created": trail.key_created,
        "updated": trail.key_updated,
        "deleted": trail.key_deleted,
        "used": trail.key_used,
    }[which]()
    event = {**event, **top}
    if isinstance(event.get("detail"), dict):
        event["detail"] = {**event["detail"], **detail}
    body = trail.body(event)
    try:
        call = parse_message(trail.sns_body(body) if wrap else body)
    except NotAnEvent:
        return
    found = classify(call)
    if found is not None:
        assert found.key_id == "" or (found.key_id.isascii() and found.key_id.isalnum())
        assert call.account_id.isascii() and len(call.account_id) == 12


@settings(max_examples=200, deadline=None)
@given(
    agent=st.text(max_size=300),
    ip=st.text(max_size=60),
    region=st.text(max_size=30),
    at=st.datetimes(
        min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
    ),
)
def test_generated_root_uses_keep_their_text_as_sent(
    agent: str, ip: str, region: str, at: datetime
) -> None:
    at = at.replace(microsecond=0)
    found = parsed(
        trail.key_used("ec2:DescribeInstances", agent=agent, ip=ip, region=region, at=at)
    )
    assert found is not None and found.activity is Activity.KEY_USED
    # Kept as sent (escaping is the builders' job), but for NULs, which no database keeps.
    assert found.call.user_agent == agent[:1024].replace("\x00", "\ufffd")
    assert found.call.source_ip == ip.replace("\x00", "\ufffd")
    assert found.call.at == at
    assert found.call.action == "ec2:DescribeInstances"


# --------------------------------------------------------------------------- folding


def test_windows_are_ten_minutes_on_the_clock() -> None:
    assert window_of(AT) == datetime(2026, 11, 30, 10, 40, tzinfo=UTC)
    assert window_of(datetime(2026, 11, 30, 10, 49, 59, tzinfo=UTC)) == window_of(AT)
    assert window_of(datetime(2026, 11, 30, 10, 50, tzinfo=UTC)) != window_of(AT)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["s3:ListBuckets", "iam:ListUsers", "ec2:RunInstances"]),
            st.integers(min_value=0, max_value=599),
            st.sampled_from(["203.0.113.5", "198.51.100.7", ""]),
        ),
        min_size=1,
        max_size=40,
    )
)
def test_folding_counts_every_use_once_whatever_the_order(
    uses: list[tuple[str, int, str]],
) -> None:
    start = datetime(2026, 11, 30, 10, 40, tzinfo=UTC)
    (action, offset, ip), *rest = uses
    folded = Uses.first(ACCOUNT, trail.ROOT_KEY, action, start + timedelta(seconds=offset), ip)
    for action, offset, ip in rest:
        folded = folded.add(action, start + timedelta(seconds=offset), ip)
    assert folded.total == len(uses)
    assert folded.window == start
    assert folded.first_at == start + timedelta(seconds=min(u[1] for u in uses))
    assert folded.last_at == start + timedelta(seconds=max(u[1] for u in uses))
    assert set(folded.sources) == {u[2] for u in uses if u[2]}
    ranked = folded.ranked()
    assert [c for _, c in ranked] == sorted((c for _, c in ranked), reverse=True)


@pytest.mark.parametrize("source", ["my.forged.app", "", None, "aws", "custom.aws.iam", 7])
def test_an_event_aws_did_not_write_is_not_an_event(source: object) -> None:
    """Only AWS writes sources starting "aws." (a PutEvents caller cannot): a "root key
    deleted" from any other source is refused by the bot itself, not only by the rule."""
    event = {**trail.key_deleted(), "source": source}
    with pytest.raises(NotAnEvent, match="source"):
        parse_message(trail.body(event))
