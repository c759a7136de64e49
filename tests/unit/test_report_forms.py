"""Credential reports as people really have them: the sample files in tests/samples/reports.

Each sample is one shape a report takes after a download, a CLI command, a script or a
spreadsheet; each test says what the audit must make of it.
"""

from __future__ import annotations

import io
import json
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.audit.models import Status, Verdict
from bot.audit.report import ReportError
from bot.audit.report_files import audit_report_data
from bot.audit.report_forms import load_reports

SAMPLES = Path(__file__).resolve().parents[1] / "samples" / "reports"
NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def sample(name: str) -> bytes:
    return (SAMPLES / name).read_bytes()


def verdicts(data: bytes | str) -> list[Verdict]:
    """The verdict of every report in ``data``, as ``check --credential-report`` draws them."""
    return audit_report_data(data, "sample", NOW)


# 1 ------------------------------------------------------------------ several reports in a file


def test_two_reports_pasted_together_each_get_their_verdict() -> None:
    by_id = {v.account_id: v for v in verdicts(sample("concatenated.csv"))}
    assert set(by_id) == {"111111111111", "222222222222"}
    assert by_id["111111111111"].status is Status.COMPLIANT
    assert by_id["222222222222"].status is Status.NONCOMPLIANT
    assert "report 2 of 2" in by_id["222222222222"].reason


def test_second_report_without_its_header_is_still_read() -> None:
    text = sample("concatenated.csv").decode()
    header = text.splitlines()[0]
    first, second = text.split(header + "\n")[1:]
    glued = header + "\n" + first + second  # the second header line deleted by hand
    by_id = {v.account_id: v.status for v in verdicts(glued)}
    assert by_id == {"111111111111": Status.COMPLIANT, "222222222222": Status.NONCOMPLIANT}


def test_a_report_in_the_file_without_root_row_is_an_error_not_dropped() -> None:
    text = sample("concatenated.csv").decode()
    header = text.splitlines()[0]
    users_only = header + "\nzoe,arn:aws:iam::333333333333:user/zoe\n"
    results = verdicts(text + users_only)
    assert [v.status for v in results].count(Status.ERROR) == 1
    (error,) = [v for v in results if v.status is Status.ERROR]
    assert "report 3 of 3" in error.reason and "<root_account>" in error.reason


def reports_of(name: str) -> tuple[str, str]:
    text = sample(name).decode()
    header = text.splitlines()[0]
    first, second = text.split(header + "\n")[1:]
    return header + "\n" + first, header + "\n" + second


def reorder(report: str) -> str:
    """The same report with its columns after ``user`` in reverse order (columns are found by
    name, not position)."""
    lines = [line.split(",") for line in report.splitlines()]
    return "\n".join(",".join(cells[:1] + cells[:0:-1]) for cells in lines) + "\n"


def test_two_spreadsheet_saves_pasted_together_with_their_byte_order_marks() -> None:
    first, second = reports_of("concatenated.csv")
    data = ("\ufeff" + first).encode() + ("\ufeff" + reorder(second)).encode()
    by_id = {v.account_id: v.status for v in verdicts(data)}
    assert by_id == {"111111111111": Status.COMPLIANT, "222222222222": Status.NONCOMPLIANT}


def test_reports_with_different_separators_pasted_together() -> None:
    first, second = reports_of("concatenated.csv")
    by_id = {v.account_id: v.status for v in verdicts(first + second.replace(",", ";"))}
    assert by_id == {"111111111111": Status.COMPLIANT, "222222222222": Status.NONCOMPLIANT}


def test_reports_pasted_without_a_final_line_break_are_both_read() -> None:
    first, second = reports_of("concatenated.csv")
    joined = first.rstrip("\n") + second  # the first file had no final line break
    by_id = {v.account_id: v.status for v in verdicts(joined)}
    assert by_id == {"111111111111": Status.COMPLIANT, "222222222222": Status.NONCOMPLIANT}


def test_a_root_line_no_report_can_read_is_an_error_never_skipped() -> None:
    header, row = keyed_report()
    text = sample("concatenated.csv").decode()
    (alice,) = [line for line in text.splitlines() if line.startswith("alice,")]
    results = verdicts(header + "\n" + alice + row + "\n")  # two lines run together
    assert Status.COMPLIANT not in {v.status for v in results}
    assert any(v.status is Status.ERROR and "could not be read" in v.reason for v in results)


def test_two_json_documents_in_one_file() -> None:
    one = sample("content-decoded.json").decode()
    two = sample("future-generated.json").decode()
    ids = sorted(v.account_id for v in verdicts(one + two))
    assert ids == ["121212121212", "333333333333"]


# 2 --------------------------------------------------------------------------- JSON and CLI forms


@pytest.mark.parametrize(
    ("name", "account", "slots"),
    [
        ("content-decoded.json", "333333333333", [1]),  # Content already decoded CSV
        ("content-wrapped.json", "444444444444", [2]),  # base64 wrapped over lines
        ("query-content.txt", "555555555555", [1]),  # --query Content --output text
        ("output-text.txt", "666666666666", [1]),  # --output text
        ("boto3-default-str.json", "131313131313", [1]),  # json.dumps(response, default=str)
    ],
)
def test_forms_of_the_cli_and_sdk_output(name: str, account: str, slots: list[int]) -> None:
    (v,) = verdicts(sample(name))
    assert (v.account_id, v.status) == (account, Status.NONCOMPLIANT)
    assert [k.slot for k in v.keys if k.active] == slots


def test_output_text_line_carries_the_generation_time() -> None:
    (reading,) = load_reports(sample("output-text.txt"))
    assert reading.generated_at == datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC)


def test_raw_base64_wrapped_at_76_columns() -> None:
    raw = sample("query-content.txt").decode().strip()
    wrapped = "\n".join(raw[i : i + 76] for i in range(0, len(raw), 76)) + "\n"
    (v,) = verdicts(wrapped)
    assert (v.account_id, v.status) == ("555555555555", Status.NONCOMPLIANT)


def workbook() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/workbook.xml", "<workbook/>")
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("data", "what", "how"),
    [
        (workbook(), "Excel workbook", "CSV"),
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n", "PDF", "CSV"),
        (
            "{'Content': b'user,arn\\n', 'ReportFormat': 'text/csv'}",
            "Python",
            "--output json",
        ),
        (
            "-----------------\n|GetCredentialReport|\n+-------+---------+\n",
            "--output table",
            "--output json",
        ),
        (
            "<GetCredentialReportResponse><GetCredentialReportResult><Content>",
            "XML",
            "--output json",
        ),
    ],
)
def test_unsupported_forms_say_what_they_are_and_how_to_get_one(
    data: bytes | str, what: str, how: str
) -> None:
    with pytest.raises(ReportError) as caught:
        load_reports(data)
    message = str(caught.value)
    assert what in message and how in message
    assert "'user', 'arn'" not in message  # not the misleading "missing columns"


def test_json_content_that_is_neither_base64_nor_csv() -> None:
    with pytest.raises(ReportError, match="neither base64 nor"):
        load_reports(json.dumps({"Content": "not base64 at all!"}))


# 3 ------------------------------------------------------------- a visible key despite damage


def test_root_row_cut_short_after_an_active_key_is_noncompliant() -> None:
    (v,) = verdicts(sample("truncated-root.csv"))
    assert (v.account_id, v.status) == ("777777777777", Status.NONCOMPLIANT)
    assert "unknown" in v.reason and "access_key_2_active" in v.reason
    assert [(k.slot, k.active) for k in v.keys] == [(1, True)]


def test_cut_short_before_any_active_flag_is_an_error() -> None:
    text = sample("truncated-root.csv").decode().removesuffix(",true\n") + ",false\n"
    (v,) = verdicts(text)
    assert v.status is Status.ERROR
    assert "access_key_2_active" in v.reason


def test_unreadable_date_of_an_active_key_is_noncompliant_with_the_date_unknown() -> None:
    text = sample("concatenated.csv").decode().replace("2021-03-04T05:06:07+00:00", "yesterday")
    statuses = {v.account_id: v for v in verdicts(text)}
    v = statuses["222222222222"]
    assert v.status is Status.NONCOMPLIANT
    assert "access_key_1_last_rotated 'yesterday'" in v.reason
    assert v.keys[0].last_rotated is None and v.keys[0].age_days is None


def test_unreadable_active_flag_without_another_active_key_is_an_error() -> None:
    text = sample("truncated-root.csv").decode().removesuffix(",true\n") + ",maybe\n"
    (v,) = verdicts(text)
    assert v.status is Status.ERROR
    assert "access_key_1_active 'maybe'" in v.reason
    assert "does not say whether keys 1 and 2 are active;" in v.reason


def test_one_unknown_active_flag_is_said_in_the_singular() -> None:
    text = sample("truncated-root.csv").decode().removesuffix(",true\n") + ",false\n"
    (v,) = verdicts(text)
    assert "does not say whether key 2 is active;" in v.reason


# 4 -------------------------------------------------------------------------- day and month order


def test_day_first_dates_read_day_first_when_the_file_decides() -> None:
    (reading,) = load_reports(sample("day-first.csv"))
    key = reading.root.keys[0]
    assert key.last_rotated == datetime(2015, 7, 4, 9, 30, tzinfo=UTC)
    assert key.last_used_date == datetime(2024, 6, 5, tzinfo=UTC)


def test_month_first_dates_read_month_first_when_the_file_decides() -> None:
    text = sample("day-first.csv").decode().replace("31/01/2020", "01/31/2020")
    (reading,) = load_reports(text)
    assert reading.root.keys[0].last_rotated == datetime(2015, 4, 7, 9, 30, tzinfo=UTC)


def test_ambiguous_dates_are_shown_as_written_never_guessed() -> None:
    (v,) = verdicts(sample("ambiguous-dates.csv"))
    assert (v.account_id, v.status) == ("999999999999", Status.NONCOMPLIANT)
    (key,) = v.keys
    assert key.last_rotated is None and key.age_days is None and key.last_used_date is None
    assert "'04/07/2015'" in v.reason and "ambiguous" in v.reason
    assert "days old" not in v.reason


def test_dates_that_contradict_each_other_are_not_guessed() -> None:
    text = sample("day-first.csv").decode().replace("05/06/2024", "06/13/2024")
    (v,) = verdicts(text)
    assert v.status is Status.NONCOMPLIANT
    assert v.keys[0].last_rotated is None
    assert "'04/07/2015 09:30'" in v.reason


# 5 ----------------------------------------------------------------------- generated in the future


def test_generation_time_in_the_future_is_said() -> None:
    (v,) = verdicts(sample("future-generated.json"))
    assert v.status is Status.COMPLIANT
    assert "in the future" in v.reason and "2099-01-01" in v.reason


def test_generation_time_in_the_past_says_nothing_of_the_future() -> None:
    (v,) = verdicts(sample("content-decoded.json"))
    assert "future" not in v.reason


def test_boto3_response_dumped_with_default_str_keeps_its_generation_time() -> None:
    (reading,) = load_reports(sample("boto3-default-str.json"))
    assert reading.generated_at == datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC)


def test_a_python_bytes_literal_is_only_read_as_a_literal() -> None:
    document = json.dumps({"Content": "b'user,arn' + __import__('os').getcwd()"})
    with pytest.raises(ReportError):
        load_reports(document)


# properties: a visible active key is never lost ----------------------------------------------


def keyed_report() -> tuple[str, str]:
    """The header and the root row of 222222222222 (key 1 active)."""
    text = sample("concatenated.csv").decode()
    header = text.splitlines()[0]
    (row,) = [line for line in text.splitlines() if "222222222222:root" in line]
    return header, row


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(cut=st.integers(min_value=0, max_value=400), others=st.integers(0, 3))
def test_a_root_row_cut_anywhere_after_its_active_key_stays_noncompliant(
    cut: int, others: int
) -> None:
    header, row = keyed_report()
    position = header.split(",").index("access_key_1_active")
    flag_end = len(",".join(row.split(",")[: position + 1]))  # just after its "true"
    damaged = row[: flag_end + cut]
    clean = sample("concatenated.csv").decode().split(header + "\n")[1]
    text = "".join(header + "\n" + clean for _ in range(others)) + header + "\n" + damaged + "\n"
    results = [v for v in verdicts(text) if v.account_id == "222222222222"]
    assert [v.status for v in results] == [Status.NONCOMPLIANT]


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(
    column=st.sampled_from(
        [
            "password_last_used",
            "mfa_active",
            "access_key_1_last_rotated",
            "access_key_1_last_used_date",
            "access_key_2_active",
            "access_key_2_last_rotated",
            "cert_1_active",
        ]
    ),
    garbage=st.text(
        # (a NUL byte makes the file binary: an error for the whole file, never compliant)
        alphabet=st.characters(blacklist_characters=',\n\r"\x00', blacklist_categories=["Cs"]),
        max_size=20,
    ),
)
def test_garbage_in_any_other_cell_keeps_the_active_key_noncompliant(
    column: str, garbage: str
) -> None:
    header, row = keyed_report()
    names = header.split(",")
    cells = row.split(",")
    cells[names.index(column)] = garbage
    (v,) = verdicts(header + "\n" + ",".join(cells) + "\n")
    assert (v.account_id, v.status) == ("222222222222", Status.NONCOMPLIANT)


def test_an_iam_user_named_like_the_header_cannot_hide_the_root_row() -> None:
    header, row = keyed_report()
    hostile = row.replace("<root_account>", "access_key_1_active.access_key_2_active").replace(
        ":root,", ":user/access_key_1_active.access_key_2_active,"
    )
    (v,) = verdicts(header + "\n" + hostile + "\n" + row + "\n")  # sorted by name: root last
    assert (v.account_id, v.status) == ("222222222222", Status.NONCOMPLIANT)
