"""The credential-report parser, on reports as AWS writes them and as spreadsheets re-save them."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.audit.report import ReportError, parse_credential_report
from bot.audit.report_forms import load_reports
from simulator.aws import RootKeySpec, RootState, root_row

HEADER = (
    "user,arn,user_creation_time,password_enabled,password_last_used,password_last_changed,"
    "password_next_rotation,mfa_active,access_key_1_active,access_key_1_last_rotated,"
    "access_key_1_last_used_date,access_key_1_last_used_region,access_key_1_last_used_service,"
    "access_key_2_active,access_key_2_last_rotated,access_key_2_last_used_date,"
    "access_key_2_last_used_region,access_key_2_last_used_service,cert_1_active,"
    "cert_1_last_rotated,cert_2_active,cert_2_last_rotated"
)
ROOT = (
    "<root_account>,arn:aws:iam::111111111111:root,2019-05-01T10:00:00+00:00,not_supported,"
    "2024-03-01T09:00:00+00:00,not_supported,not_supported,true,"
    "true,2023-01-02T03:04:05+00:00,2024-02-03T04:05:06+00:00,us-east-1,s3,"
    "false,N/A,N/A,N/A,N/A,false,N/A,false,N/A"
)
USER = (
    "alice,arn:aws:iam::111111111111:user/alice,2020-01-01T00:00:00+00:00,true,no_information,"
    "N/A,N/A,false,true,2020-01-01T00:00:00+00:00,N/A,N/A,N/A,false,N/A,N/A,N/A,N/A,"
    "false,N/A,false,N/A"
)
AWS_REPORT = f"{HEADER}\n{ROOT}\n{USER}\n"


def test_report_as_aws_returns_it() -> None:
    root = parse_credential_report(AWS_REPORT.encode())
    assert root.account_id == "111111111111"
    assert root.mfa_active is True
    assert root.password_enabled is None  # not_supported for root
    assert root.password_last_used == datetime(2024, 3, 1, 9, 0, tzinfo=UTC)
    assert len(root.keys) == 1
    key = root.keys[0]
    assert (key.slot, key.active) == (1, True)
    assert key.last_rotated == datetime(2023, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert key.last_used_date == datetime(2024, 2, 3, 4, 5, 6, tzinfo=UTC)
    assert (key.last_used_region, key.last_used_service) == ("us-east-1", "s3")
    assert root.signing_certificates_active is False


def test_spreadsheet_resave_bom_crlf_upper_case() -> None:
    text = AWS_REPORT.replace("true", "TRUE").replace("false", "False").replace("\n", "\r\n")
    root = parse_credential_report(b"\xef\xbb\xbf" + text.encode())
    assert root.account_id == "111111111111"
    assert [(k.slot, k.active) for k in root.keys] == [(1, True)]
    assert root.mfa_active is True


def test_utf16_tab_separated_unicode_text() -> None:
    text = AWS_REPORT.replace(",", "\t").replace("\n", "\r\n")
    root = parse_credential_report(text.encode("utf-16"))
    assert root.account_id == "111111111111"
    assert root.keys[0].active is True


def test_semicolon_separated_with_spreadsheet_dates() -> None:
    row = ROOT.replace("2023-01-02T03:04:05+00:00", "2023-01-02 03:04:05")
    text = f"{HEADER}\n{row}\n".replace(",", ";")
    root = parse_credential_report(text)
    assert root.keys[0].last_rotated == datetime(2023, 1, 2, 3, 4, 5, tzinfo=UTC)


@pytest.mark.parametrize(
    "saved", ["2023-01-02 03:04", "02.01.2023 03:04", "2023-01-02T03:04:00Z", "02/01/23 3:04 AM"]
)
def test_dates_as_spreadsheets_save_them(saved: str) -> None:
    row = ROOT.replace("2023-01-02T03:04:05+00:00", saved)
    # the user row's 13/01/2023 says this file writes the day first
    user = USER.replace("2020-01-01T00:00:00+00:00", "13/01/2023")
    root = parse_credential_report(f"{HEADER}\n{row}\n{user}\n")
    assert root.keys[0].last_rotated == datetime(2023, 1, 2, 3, 4, tzinfo=UTC)


def test_a_date_either_order_could_read_is_not_guessed() -> None:
    row = ROOT.replace("2023-01-02T03:04:05+00:00", "1/2/2023 3:04")
    root = parse_credential_report(f"{HEADER}\n{row}\n")
    assert root.keys[0].last_rotated is None
    assert root.unreadable == (
        "access_key_1_last_rotated '1/2/2023 3:04' (day and month order ambiguous)",
    )


def test_columns_found_by_name_not_position() -> None:
    names = HEADER.split(",")
    values = ROOT.split(",")
    order = list(reversed(range(len(names))))
    text = ",".join(names[i] for i in order) + "\n" + ",".join(values[i] for i in order) + "\n"
    root = parse_credential_report(text)
    assert root.account_id == "111111111111"
    assert root.keys[0].last_used_service == "s3"


def test_trailing_empty_cells_trimmed_by_a_spreadsheet() -> None:
    row = ROOT.rsplit(",false,N/A,false,N/A", 1)[0]
    root = parse_credential_report(f"{HEADER}\n{row}\n")
    assert root.cert_1_active is None and root.cert_2_active is None
    assert root.keys[0].active is True


def test_inactive_key_with_a_rotation_date_is_a_key_slot() -> None:
    row = ROOT.replace(
        "false,N/A,N/A,N/A,N/A,false", "false,2022-06-01T00:00:00+00:00,N/A,N/A,N/A,false"
    )
    root = parse_credential_report(f"{HEADER}\n{row}\n")
    assert [(k.slot, k.active) for k in root.keys] == [(1, True), (2, False)]
    assert root.keys[1].last_used_date is None


@pytest.mark.parametrize("empty", ["N/A", "n/a", "no_information", "not_supported", ""])
def test_special_values_mean_nothing_to_report(empty: str) -> None:
    row = ROOT.replace("2024-03-01T09:00:00+00:00", empty).replace(
        ",us-east-1,s3,", f",{empty},{empty},"
    )
    root = parse_credential_report(f"{HEADER}\n{row}\n")
    assert root.password_last_used is None
    assert root.keys[0].last_used_region is None
    assert root.keys[0].last_used_service is None


def test_no_root_row() -> None:
    with pytest.raises(ReportError, match="no <root_account> row"):
        parse_credential_report(f"{HEADER}\n{USER}\n")


@pytest.mark.parametrize(
    "data",
    [b"", b"name,email\nbob,bob@example.com\n", b"\x89PNG\r\n\x1a\n\x00\x00", "just words"],
)
def test_not_a_credential_report(data: bytes | str) -> None:
    with pytest.raises(ReportError, match="not a credential report"):
        parse_credential_report(data)


def test_malformed_flag_is_unknown_and_named() -> None:
    row = ROOT.replace(",true,2023-01-02", ",maybe,2023-01-02")
    root = parse_credential_report(f"{HEADER}\n{row}\n")
    assert root.unknown_slots == (1,) and root.keys == ()
    assert root.unreadable == ("access_key_1_active 'maybe' (not true or false)",)


def test_malformed_date_is_unknown_and_named() -> None:
    row = ROOT.replace("2023-01-02T03:04:05+00:00", "last tuesday")
    root = parse_credential_report(f"{HEADER}\n{row}\n")
    assert root.keys[0].active is True and root.keys[0].last_rotated is None
    assert root.unreadable == ("access_key_1_last_rotated 'last tuesday' (not a date)",)


def test_root_arn_must_name_an_account() -> None:
    row = ROOT.replace("arn:aws:iam::111111111111:root", "arn:aws:iam::1.11111E+11:root")
    with pytest.raises(ReportError, match="ARN"):
        parse_credential_report(f"{HEADER}\n{row}\n")


times = st.datetimes(
    min_value=datetime(2015, 1, 1), max_value=datetime(2030, 1, 1), timezones=st.just(UTC)
).map(lambda d: d.replace(microsecond=0))
key_specs = st.builds(
    RootKeySpec,
    slot=st.sampled_from([1, 2]),
    active=st.booleans(),
    created=times,
    last_used=st.none() | times,
    region=st.none() | st.sampled_from(["us-east-1", "eu-west-1"]),
    service=st.none() | st.sampled_from(["s3", "iam"]),
)


@given(
    keys=st.lists(key_specs, max_size=2, unique_by=lambda k: k.slot),
    mfa=st.booleans(),
    certs=st.lists(st.booleans(), max_size=2),
)
def test_any_root_row_reads_back(keys: list[RootKeySpec], mfa: bool, certs: list[bool]) -> None:
    state = RootState(keys=tuple(keys), mfa=mfa, signing_certs=tuple(certs))
    root = parse_credential_report(HEADER + "\n" + root_row("111111111111", state))
    assert root.mfa_active is mfa
    assert sorted((k.slot, k.active, k.last_rotated) for k in root.keys) == sorted(
        (k.slot, k.active, k.created) for k in keys
    )
    assert root.signing_certificates_active is (any(certs) if certs else False)


def test_json_of_the_aws_cli_gives_the_generation_time() -> None:
    document = json.dumps(
        {
            "Content": base64.b64encode(AWS_REPORT.encode()).decode(),
            "ReportFormat": "text/csv",
            "GeneratedTime": "2026-03-04T05:06:07Z",
        }
    )
    (reading,) = load_reports(document.encode())
    assert reading.root is not None and reading.root.account_id == "111111111111"
    assert reading.generated_at == datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC)


def test_plain_csv_through_load_reports_has_no_generation_time() -> None:
    (reading,) = load_reports(AWS_REPORT)
    assert reading.root is not None and reading.root.keys[0].active is True
    assert reading.generated_at is None


@pytest.mark.parametrize(
    "document",
    ['{"Content": "not base64!"}', '{"Report": "x"}', "{not json", "[1, 2]"],
)
def test_bad_json_is_not_a_report(document: str) -> None:
    with pytest.raises(ReportError, match="not a credential report"):
        load_reports(document)
