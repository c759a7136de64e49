"""Property-based tests of the parsers that read untrusted input: the credential report, the
``/rootkey`` command text, button values, modal ``private_metadata`` and the events queue's
message bodies.

They never crash with anything but their typed error, and garbage never becomes a
``compliant`` verdict.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import re
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from bot.audit.models import Status
from bot.audit.report import ReportError, parse_credential_report
from bot.audit.verdict import decide
from bot.events.classify import classify
from bot.events.fold import window_of
from bot.events.models import Activity, NotAnEvent
from bot.events.parse import parse_message
from bot.remediation.events import FormContext
from bot.remediation.progress import parse_owners
from bot.slack.commands import Check, Help, Subcommand, UsageError, parse_command
from bot.slack.payloads import request_id
from bot.slack.values import BadValue, FindingRef, decode_scope
from simulator.aws import RootKeySpec, RootState, root_row

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
HEADER = (
    "user,arn,user_creation_time,password_enabled,password_last_used,password_last_changed,"
    "password_next_rotation,mfa_active,access_key_1_active,access_key_1_last_rotated,"
    "access_key_1_last_used_date,access_key_1_last_used_region,access_key_1_last_used_service,"
    "access_key_2_active,access_key_2_last_rotated,access_key_2_last_used_date,"
    "access_key_2_last_used_region,access_key_2_last_used_service,cert_1_active,"
    "cert_1_last_rotated,cert_2_active,cert_2_last_rotated\n"
)
ACCOUNT = "111111111111"
USER_ROW = (
    "alice,arn:aws:iam::111111111111:user/alice,2021-01-01T00:00:00+00:00,true,N/A,N/A,N/A,"
    "false,true,2021-01-01T00:00:00+00:00,N/A,N/A,N/A,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A\n"
)
FALSE_WORDS = {"false", "0", "no"}


def verdict_of(data: bytes | str) -> Status:
    """What ``python -m bot check --credential-report`` concludes from this content."""
    try:
        root = parse_credential_report(data)
    except ReportError as exc:
        return decide("unknown", source="report:x", now=NOW, errors=[str(exc)]).status
    return decide(root.account_id or "unknown", source="report:x", now=NOW, root=root).status


def root_cells(text: str) -> dict[str, str] | None:
    """The root row of ``text`` read independently of the parser under test (comma CSV)."""
    try:
        rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"), newline="")))
    except csv.Error:
        return None
    if not rows:
        return None
    header = [h.strip().lower() for h in rows[0]]
    for row in rows[1:]:
        if row and row[0].strip().lower() == "<root_account>":
            return {h: (row[i] if i < len(row) else "") for i, h in enumerate(header)}
    return None


# -- strategies ------------------------------------------------------------------------------

dates = st.datetimes(
    min_value=datetime(2010, 1, 1), max_value=datetime(2026, 11, 1), timezones=st.just(UTC)
)
key_specs = st.builds(
    RootKeySpec,
    slot=st.sampled_from([1, 2]),
    active=st.booleans(),
    created=st.none() | dates,
    last_used=st.none() | dates,
    region=st.none() | st.sampled_from(["us-east-1", "eu-west-1"]),
    service=st.none() | st.sampled_from(["iam", "s3", "sts"]),
)
root_states = st.builds(
    RootState,
    keys=st.lists(key_specs, max_size=2, unique_by=lambda k: k.slot).map(tuple),
    mfa=st.booleans(),
    password=st.booleans(),
    password_last_used=st.none() | dates,
    signing_certs=st.lists(st.booleans(), max_size=2).map(tuple),
)
garbage_cells = st.one_of(
    st.sampled_from(
        ["", "N/A", "TRUE", "False", "maybe", "1", "-", "no_information", '"', "a,b", "\n"]
    ),
    st.text(max_size=30),
)


def report_for(state: RootState, *, crlf: bool = False, bom: bool = False) -> str:
    text = HEADER + USER_ROW + root_row(ACCOUNT, state)
    if crlf:
        text = text.replace("\n", "\r\n")
    return ("\ufeff" if bom else "") + text


# -- credential report -----------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(data=st.binary(max_size=600))
@example(data=b"\xff\xfe\x00")  # a UTF-16 byte order mark and half a character
@example(data=b"\xef\xbb\xbf")
@example(data=b"user,arn,access_key_1_active,access_key_2_active\n")
def test_any_bytes_parse_or_report_error(data: bytes) -> None:
    with contextlib.suppress(ReportError):
        parse_credential_report(data)
    assert verdict_of(data) in set(Status)


@settings(max_examples=300, deadline=None)
@given(text=st.text(max_size=400))
def test_random_text_is_never_compliant(text: str) -> None:
    """Text with no well-formed root row cannot be read as a clean bill of health."""
    assume("<root_account>" not in text.lower())
    assert verdict_of(text) is Status.ERROR


@settings(max_examples=200, deadline=None)
@given(state=root_states, crlf=st.booleans(), bom=st.booleans(), upper=st.booleans())
def test_well_formed_reports_round_trip(
    state: RootState, crlf: bool, bom: bool, upper: bool
) -> None:
    text = report_for(state, crlf=crlf, bom=bom)
    if upper:  # a spreadsheet re-save writes TRUE / FALSE
        text = text.replace("true", "TRUE").replace("false", "FALSE")
    root = parse_credential_report(text.encode("utf-8"))
    assert root.account_id == ACCOUNT
    assert {k.slot: k.active for k in root.keys if k.active} == {
        k.slot: True for k in state.keys if k.active
    }
    assert root.mfa_active is state.mfa
    expected = Status.NONCOMPLIANT if any(k.active for k in state.keys) else Status.COMPLIANT
    assert verdict_of(text) is expected


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(state=root_states, cut=st.integers(min_value=0, max_value=400))
@example(state=RootState(keys=(RootKeySpec(slot=1, active=True),)), cut=90)
def test_a_truncated_root_row_is_never_compliant(state: RootState, cut: int) -> None:
    """A report cut short inside the root row (a partial download, a bad copy) may lose the
    very cell that says a key is active: it must not come out compliant."""
    row = root_row(ACCOUNT, state)
    assume(cut < len(row) - 1)
    text = HEADER + USER_ROW + row[:cut]
    status = verdict_of(text)
    if status is Status.COMPLIANT:
        cells = root_cells(text)
        assert cells is not None
        for slot in (1, 2):
            assert cells.get(f"access_key_{slot}_active", "").strip().lower() in FALSE_WORDS, (
                f"compliant although access_key_{slot}_active is missing: {row[:cut]!r}"
            )


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(state=root_states, column=st.integers(min_value=0, max_value=21), value=garbage_cells)
def test_a_garbled_root_cell_is_never_read_as_compliant(
    state: RootState, column: int, value: str
) -> None:
    """Replace one cell of the root row with anything: the parser either refuses the report,
    or only says compliant when both key-active cells still say false."""
    cells = next(csv.reader(io.StringIO(root_row(ACCOUNT, state))))
    cells[column] = value
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerow(cells)
    text = HEADER + USER_ROW + out.getvalue()
    status = verdict_of(text)
    if status is Status.COMPLIANT:
        parsed = root_cells(text)
        assert parsed is not None
        for slot in (1, 2):
            assert parsed[f"access_key_{slot}_active"].strip().lower() in FALSE_WORDS
    if any(k.active for k in state.keys) and column not in (8, 13):
        assert status is not Status.COMPLIANT


# -- the /rootkey command --------------------------------------------------------------------

command_words = st.sampled_from(
    ["check", "CHECK", "all", "help", "digest", "history", "status", "123456789012",
     "1234-5678-9012", "12345678901", "١٢٣٤٥٦٧٨٩٠١٢", "<!channel>", "<@U0ALICE001>", "*x*", "-"]
)  # fmt: skip
command_texts = st.one_of(
    st.none(),
    st.text(max_size=200),
    st.lists(st.one_of(command_words, st.text(max_size=15)), max_size=8).map(" ".join),
    st.lists(st.from_regex(r"[0-9]{12}", fullmatch=True), max_size=120).map(
        lambda ids: "check " + " ".join(ids)
    ),
)


@settings(max_examples=500, deadline=None)
@given(text=command_texts)
@example(text="check ١٢٣٤٥٦٧٨٩٠١٢")  # Arabic-Indic digits are \d in Python, not in AWS
@example(text="check " + "x" * 10_000)
def test_command_parser_never_crashes(text: str | None) -> None:
    try:
        command = parse_command(text)
    except UsageError as exc:
        message = str(exc)
        assert message and "\n" not in message
        assert len(message) < 400, "a usage error quotes user text shortened"
        return
    assert isinstance(command, Check | Help | Subcommand)
    if isinstance(command, Check) and command.scope is not None:
        assert command.scope.kind in {"org", "accounts"}
        for account_id in command.scope.account_ids:
            assert len(account_id) == 12 and account_id.isascii() and account_id.isdigit()
        assert len(command.scope.account_ids) <= 100


# -- button values and private_metadata ------------------------------------------------------

values = st.one_of(
    st.text(max_size=100),
    st.sampled_from(["", ":", "account", "org", "accounts:", "accounts:1,2", "123456789012:"]),
    st.just("x" * 10_000),
    st.from_regex(r"accounts:[0-9,]{0,60}", fullmatch=True),
    st.from_regex(r"[0-9]{12}:[A-Za-z0-9_:-]{0,70}", fullmatch=True),
)


@settings(max_examples=400, deadline=None)
@given(value=values)
@example(value="²")  # str.isdigit() says yes, int() says no
@example(value="١٢")
def test_button_values_parse_or_bad_value(value: str) -> None:
    for decode in (decode_scope, FindingRef.decode):
        with contextlib.suppress(BadValue):
            decode(value)
    try:
        ident = request_id(value)
    except BadValue:
        pass
    else:
        assert str(ident) == value.lstrip("0") or ident == 0


@settings(max_examples=400, deadline=None)
@given(
    raw=st.one_of(
        st.text(max_size=200),
        st.just("x" * 10_000),
        st.recursive(
            st.none() | st.booleans() | st.integers() | st.text(max_size=20),
            lambda inner: (
                st.lists(inner, max_size=4)
                | st.dictionaries(st.sampled_from(["k", "a", "c", "t", "x"]), inner, max_size=5)
            ),
            max_leaves=10,
        ).map(json.dumps),
    )
)
@example(raw='{"k": "remediation", "a": "١٢٣٤٥٦٧٨٩٠١٢", "c": "C1", "t": null}')
def test_private_metadata_parses_or_value_error(raw: str) -> None:
    try:
        ctx = FormContext.decode(raw)
    except ValueError:
        return
    assert ctx.account_id.isascii() and ctx.account_id.isdigit() and len(ctx.account_id) == 12


# -- the owners file (ROOTKEY_OWNERS) -----------------------------------------------------------

owner_lines = st.lists(
    st.one_of(
        st.tuples(
            st.from_regex(r"[0-9]{12}", fullmatch=True),
            st.sampled_from([" ", "=", ":", ",", "\t", " = "]),
            st.from_regex(r"[UW][A-Z0-9]{2,10}", fullmatch=True),
        ).map("".join),
        st.text(max_size=40),
        st.sampled_from(["# comment", "", "١٢٣٤٥٦٧٨٩٠١٢ U0ABC", "111111111111 U1><!channel"]),
    ),
    max_size=8,
).map("\n".join)


@settings(max_examples=300, deadline=None)
@given(
    text=st.one_of(
        owner_lines,
        st.text(max_size=200),
        st.builds(
            json.dumps, st.dictionaries(st.text(max_size=14), st.text(max_size=14), max_size=4)
        ),
    )
)
@example(text="{" + '"a":{' * 100_000)  # nested past the recursion limit
@example(text="١٢٣٤٥٦٧٨٩٠١٢ U0ABC")
def test_owners_file_parses_or_value_error(text: str) -> None:
    """A mapping of ASCII 12-digit account ids to Slack user ids, or one ValueError (which
    start-up turns into a ConfigError naming ROOTKEY_OWNERS)."""
    try:
        owners = parse_owners(text)
    except ValueError as exc:
        assert "\n" not in str(exc)
        return
    for account, user in owners.items():
        assert re.fullmatch(r"[0-9]{12}", account), account
        assert re.fullmatch(r"[UW][A-Z0-9]+", user), user


# -- the events queue: an SQS message body ----------------------------------------------------

# A root user's console session creating the root's own access key, as EventBridge delivers it
# to SQS. The CloudTrail record follows the shape of the "Root Access Key Created" test log of
# panther-labs/panther-analysis (rules/aws_cloudtrail_rules/aws_root_access_key_created.yml):
# requestParameters null, no userName in the response, a session signed with a temporary key
# and its sessionContext; the envelope is EventBridge's "AWS API Call via CloudTrail" event.
# Ids are examples (AWS's documentation key ids, 111111111111).
ROOT_CREATE_ACCESS_KEY: dict[str, Any] = {
    "version": "0",
    "id": "0b7d4b2e-6a1f-4c38-9f0e-2d6c1a5e7f10",
    "detail-type": "AWS API Call via CloudTrail",
    "source": "aws.iam",
    "account": ACCOUNT,
    "time": "2026-11-30T10:42:07Z",
    "region": "us-east-1",
    "resources": [],
    "detail": {
        "eventVersion": "1.09",
        "userIdentity": {
            "type": "Root",
            "principalId": ACCOUNT,
            "arn": f"arn:aws:iam::{ACCOUNT}:root",
            "accountId": ACCOUNT,
            "accessKeyId": "ASIAIOSFODNN7EXAMPLE",
            "sessionContext": {
                "attributes": {"creationDate": "2026-11-30T10:31:55Z", "mfaAuthenticated": "true"}
            },
            "invokedBy": "signin.amazonaws.com",
        },
        "eventTime": "2026-11-30T10:42:07Z",
        "eventSource": "iam.amazonaws.com",
        "eventName": "CreateAccessKey",
        "awsRegion": "us-east-1",
        "sourceIPAddress": "203.0.113.5",
        "userAgent": "signin.amazonaws.com",
        "requestParameters": None,
        "responseElements": {
            "accessKey": {
                "accessKeyId": "AKIAI44QH8DHBEXAMPLE",
                "status": "Active",
                "createDate": "Nov 30, 2026, 10:42:07 AM",
            }
        },
        "requestID": "7f9c0d3e-2b1a-4e5f-8a6b-0c1d2e3f4a5b",
        "eventID": "3e1c9a2b-5d4f-4b6a-8c7e-9f0a1b2c3d4e",
        "readOnly": False,
        "eventType": "AwsApiCall",
        "managementEvent": True,
        "recipientAccountId": ACCOUNT,
        "eventCategory": "Management",
    },
}

# What a sender can put where a value was: any JSON, times at the edges of the calendar (with
# offsets that push them past it), text with NULs and lone surrogates (valid JSON escapes),
# nesting deeper than the recursion limit, and very long strings.
edge_times = st.builds(
    lambda year, offset: f"{year:04d}-01-01T00:00:00{offset}",
    st.sampled_from([1, 2, 1969, 1970, 2026, 9998, 9999]),
    st.sampled_from(["Z", "+01:00", "-01:00", "+14:00", "-12:00", ""]),
) | st.builds(lambda d: d.isoformat(), st.datetimes(timezones=st.timezones()))
odd_text = st.text(alphabet=st.characters(categories=["Cs", "Cc", "Lu", "Nd", "Zs"]), max_size=40)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20) | odd_text,
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=10), children, max_size=3)
    ),
    max_leaves=10,
)
replacements = json_values | edge_times | st.integers(min_value=10**30)


# The fields the parser reads, drawn as often as all the others together.
READ_FIELDS = [
    ("time",),
    ("account",),
    ("detail-type",),
    ("detail", "eventTime"),
    ("detail", "eventID"),
    ("detail", "eventSource"),
    ("detail", "sourceIPAddress"),
    ("detail", "userAgent"),
    ("detail", "userIdentity", "type"),
    ("detail", "userIdentity", "accessKeyId"),
    ("detail", "userIdentity", "sessionContext"),
    ("detail", "requestParameters"),
    ("detail", "responseElements", "accessKey", "accessKeyId"),
]


def paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every place in ``value`` a mutation can replace or remove."""
    found = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            found += paths(item, (*prefix, key))
    return found


def mutated(record: Any, path: tuple[Any, ...], new: Any, drop: bool) -> Any:
    if not path:
        return new
    if not isinstance(record, dict):
        return record  # an earlier mutation replaced the object this path went through
    copy = dict(record)
    head, *rest = path
    if drop and not rest:
        copy.pop(head, None)
    else:
        copy[head] = mutated(copy.get(head), tuple(rest), new, drop)
    return copy


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    data=st.data(),
    mutations=st.integers(min_value=1, max_value=4),
    wrap=st.booleans(),
    raw_nesting=st.none() | st.integers(min_value=1_000, max_value=100_000),
    padding=st.none() | st.sampled_from([1024 * 1024, 2 * 1024 * 1024]),
)
def test_a_mutated_root_create_access_key_parses_or_is_not_an_event(
    data: st.DataObject,
    mutations: int,
    wrap: bool,
    raw_nesting: int | None,
    padding: int | None,
) -> None:
    """The parser raises nothing but ``NotAnEvent``; what it returns can be classified, shown
    in any time zone, and written to the database (no NUL, no lone surrogate)."""
    record: Any = ROOT_CREATE_ACCESS_KEY
    for _ in range(mutations):
        path = data.draw(st.sampled_from(READ_FIELDS) | st.sampled_from(paths(record)))
        record = mutated(record, path, data.draw(replacements), data.draw(st.booleans()))
    body = json.dumps(record)  # NaN/Infinity are written as JSON readers accept them
    if raw_nesting is not None:
        body = body.replace('"resources": []', '"resources": ' + "[" * raw_nesting, 1)
    if padding is not None:  # past SQS's largest message
        body = body.replace('"resources": []', '"resources": ["' + "A" * padding + '"]', 1)
    if wrap:
        body = json.dumps({"Type": "Notification", "Message": body})
    try:
        call = parse_message(body)
    except NotAnEvent:
        return
    found = classify(call)
    for zone in (timezone(timedelta(hours=-12)), timezone(timedelta(hours=14))):
        call.at.astimezone(zone)
    window_of(call.at)
    for text in (call.source_ip, call.user_agent, call.region, call.action, call.event_id):
        text.encode("utf-8")  # no lone surrogate
        assert "\x00" not in text
    if found is not None:
        assert found.key_id.isascii()
        assert re.fullmatch(r"[0-9]{12}", found.account_id)


def test_the_real_record_is_a_root_key_created() -> None:
    found = classify(parse_message(json.dumps(ROOT_CREATE_ACCESS_KEY)))
    assert found is not None and found.activity is Activity.KEY_CREATED
    assert found.key_id == "AKIAI44QH8DHBEXAMPLE"


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(categories=["Cs", "Cc", "P", "L", "N"]), max_size=300))
@example("[" * 200_000)
@example(
    '{"detail-type": "x", "account": "111111111111", "time": "0001-01-01T00:00:00+01:00", '
    '"id": "x", "detail": {}}'
)
def test_any_text_as_a_message_body_is_an_event_or_not_an_event(body: str) -> None:
    try:
        call = parse_message(body)
    except NotAnEvent:
        return
    classify(call)
