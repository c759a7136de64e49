"""`python -m bot check --credential-report` on the sample files, as a user runs it."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SAMPLES = REPO / "tests" / "samples" / "reports"


def check(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", "check", *args],
        env={"PATH": os.environ.get("PATH", ""), "HOME": str(cwd), "PYTHONPATH": str(REPO)},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


def error_lines(proc: subprocess.CompletedProcess[str]) -> list[str]:
    assert "Traceback" not in proc.stderr
    return [line for line in proc.stderr.splitlines() if line.strip()]


def test_every_sample_form_in_one_run(tmp_path: Path) -> None:
    names = sorted(p.name for p in SAMPLES.iterdir())
    proc = check(
        "--format", "json", "--credential-report", *(str(SAMPLES / n) for n in names), cwd=tmp_path
    )
    assert proc.returncode == 1, proc.stderr
    doc = json.loads(proc.stdout)
    status = {
        (a["source"].rsplit("/", 1)[-1], a["account_id"]): a["status"] for a in doc["accounts"]
    }
    assert status == {
        ("concatenated.csv", "111111111111"): "compliant",
        ("concatenated.csv", "222222222222"): "noncompliant",
        ("content-decoded.json", "333333333333"): "noncompliant",
        ("content-wrapped.json", "444444444444"): "noncompliant",
        ("query-content.txt", "555555555555"): "noncompliant",
        ("output-text.txt", "666666666666"): "noncompliant",
        ("truncated-root.csv", "777777777777"): "noncompliant",
        ("day-first.csv", "888888888888"): "noncompliant",
        ("ambiguous-dates.csv", "999999999999"): "noncompliant",
        ("future-generated.json", "121212121212"): "compliant",
        ("boto3-default-str.json", "131313131313"): "noncompliant",
    }
    assert error_lines(proc) == []


def test_two_reports_pasted_together_exit_1_not_0(tmp_path: Path) -> None:
    proc = check("--credential-report", str(SAMPLES / "concatenated.csv"), cwd=tmp_path)
    assert proc.returncode == 1
    assert "222222222222" in proc.stdout and "report 2 of 2 in the file" in proc.stdout


def test_files_that_fail_have_no_account_id_and_name_their_file(tmp_path: Path) -> None:
    not_report = tmp_path / "contacts.csv"
    not_report.write_text("name,email\nbob,bob@example.com\n")
    workbook = tmp_path / "report.xlsx"
    workbook.write_bytes(b"PK\x03\x04" + b"\x00" * 40)
    missing = tmp_path / "missing.csv"
    files = [str(not_report), str(workbook), str(missing)]

    proc = check("--format", "json", "--credential-report", *files, cwd=tmp_path)
    assert proc.returncode == 2
    accounts = json.loads(proc.stdout)["accounts"]
    assert [a["account_id"] for a in accounts] == [None, None, None]
    assert sorted(a["source"] for a in accounts) == sorted(f"report:{f}" for f in files)
    assert len(error_lines(proc)) == 3
    excel = next(a for a in accounts if a["source"].endswith(".xlsx"))
    assert "Excel workbook" in excel["reason"] and "CSV" in excel["reason"]

    proc = check("--format", "csv", "--credential-report", *files, cwd=tmp_path)
    rows = list(csv.DictReader(io.StringIO(proc.stdout)))
    assert [r["account_id"] for r in rows] == ["", "", ""]
    assert sorted(r["source"] for r in rows) == sorted(f"report:{f}" for f in files)


def test_ambiguous_dates_shown_as_written_in_the_text_table(tmp_path: Path) -> None:
    proc = check("--credential-report", str(SAMPLES / "ambiguous-dates.csv"), cwd=tmp_path)
    assert proc.returncode == 1
    assert "'04/07/2015' (day and month order ambiguous)" in proc.stdout
    assert "days old" not in proc.stdout
