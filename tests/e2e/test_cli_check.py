"""`python -m bot check` as a subprocess: JSON on stdout, one line per error, exit codes."""

from __future__ import annotations

import base64
import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from simulator.aws import RootKeySpec, SimulatedAws, days_ago

REPO = Path(__file__).resolve().parents[2]
HEADER = (
    "user,arn,user_creation_time,password_enabled,password_last_used,password_last_changed,"
    "password_next_rotation,mfa_active,access_key_1_active,access_key_1_last_rotated,"
    "access_key_1_last_used_date,access_key_1_last_used_region,access_key_1_last_used_service,"
    "access_key_2_active,access_key_2_last_rotated,access_key_2_last_used_date,"
    "access_key_2_last_used_region,access_key_2_last_used_service,cert_1_active,"
    "cert_1_last_rotated,cert_2_active,cert_2_last_rotated"
)


def root_line(account: str, key1: str = "false", key2: str = "false") -> str:
    def slot(active: str) -> str:
        rotated = "2021-04-05T06:07:08+00:00" if active.lower() == "true" else "N/A"
        return f"{active},{rotated},N/A,N/A,N/A"

    return (
        f"<root_account>,arn:aws:iam::{account}:root,2019-01-01T00:00:00+00:00,not_supported,"
        f"no_information,not_supported,not_supported,false,{slot(key1)},{slot(key2)},"
        "false,N/A,false,N/A"
    )


def run_check(
    *args: str, env: dict[str, str] | None = None, cwd: Path, stdin: bytes | None = None
) -> subprocess.CompletedProcess[str]:
    base = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(cwd),
        "PYTHONPATH": str(REPO),
        # nothing reachable unless a test aims it somewhere
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": "http://127.0.0.1:9",
    }
    return subprocess.run(
        [sys.executable, "-m", "bot", "check", *args],
        env={**base, **(env or {})},
        cwd=cwd,
        input=stdin.decode("latin-1") if stdin is not None else None,
        capture_output=True,
        text=True,
        timeout=120,
    )


def assert_clean_stderr(proc: subprocess.CompletedProcess[str], error_lines: int) -> None:
    assert "Traceback" not in proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == error_lines, proc.stderr


@pytest.fixture
def reports(tmp_path: Path) -> dict[str, Path]:
    files = {
        # as decoded from `aws iam get-credential-report`
        "clean": (HEADER + "\n" + root_line("111111111111") + "\n").encode(),
        # re-saved by a spreadsheet: BOM, CRLF, TRUE/FALSE
        "excel_key": (
            "\ufeff"
            + HEADER
            + "\r\n"
            + root_line("222222222222", key1="TRUE", key2="FALSE")
            + "\r\n"
        ).encode("utf-8"),
        # "Unicode text" from a spreadsheet: UTF-16, tab separated
        "utf16_key": (
            (HEADER + "\r\n" + root_line("333333333333", key2="True") + "\r\n").replace(",", "\t")
        ).encode("utf-16"),
        "no_root": (HEADER + "\n").encode(),
        "not_report": b"name,email\nbob,bob@example.com\n",
    }
    paths = {}
    for name, data in files.items():
        path = tmp_path / f"{name}.csv"
        path.write_bytes(data)
        paths[name] = path
    return paths


def test_clean_report_is_compliant_exit_0(reports: dict[str, Path], tmp_path: Path) -> None:
    proc = run_check("--credential-report", str(reports["clean"]), "--format", "json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    (account,) = doc["accounts"]
    assert account["account_id"] == "111111111111"
    assert account["status"] == "compliant"
    assert account["source"] == f"report:{reports['clean']}"
    assert "inactive keys" in account["reason"]
    assert account["keys"] == []
    assert doc["summary"] == {"total": 1, "compliant": 1, "noncompliant": 0, "error": 0}
    assert_clean_stderr(proc, 0)


def test_every_form_of_report_in_one_run(reports: dict[str, Path], tmp_path: Path) -> None:
    names = ["clean", "excel_key", "utf16_key", "no_root", "not_report"]
    proc = run_check(
        "--format", "json", "--credential-report", *(str(reports[n]) for n in names), cwd=tmp_path
    )
    assert proc.returncode == 1  # a noncompliant account wins over errors
    doc = json.loads(proc.stdout)
    by_source = {a["source"].removeprefix("report:"): a for a in doc["accounts"]}
    assert by_source[str(reports["clean"])]["status"] == "compliant"
    excel = by_source[str(reports["excel_key"])]
    assert (excel["account_id"], excel["status"]) == ("222222222222", "noncompliant")
    assert [(k["slot"], k["active"]) for k in excel["keys"]] == [(1, True)]
    assert excel["keys"][0]["last_rotated"] == "2021-04-05T06:07:08Z"
    assert excel["keys"][0]["age_days"] > 365
    utf16 = by_source[str(reports["utf16_key"])]
    assert (utf16["account_id"], utf16["status"]) == ("333333333333", "noncompliant")
    assert [k["slot"] for k in utf16["keys"]] == [2]
    no_root = by_source[str(reports["no_root"])]
    assert no_root["status"] == "error"
    assert str(reports["no_root"]) in no_root["reason"] and "<root_account>" in no_root["reason"]
    not_report = by_source[str(reports["not_report"])]
    assert not_report["status"] == "error" and "not a credential report" in not_report["reason"]
    assert doc["summary"] == {"total": 5, "compliant": 1, "noncompliant": 2, "error": 2}
    assert_clean_stderr(proc, 2)
    assert str(reports["no_root"]) in proc.stderr


def test_error_without_noncompliant_exits_2(reports: dict[str, Path], tmp_path: Path) -> None:
    missing = tmp_path / "missing.csv"
    proc = run_check(
        "--credential-report",
        str(reports["clean"]),
        str(missing),
        "--format",
        "json",
        cwd=tmp_path,
    )
    assert proc.returncode == 2
    doc = json.loads(proc.stdout)
    assert [a["status"] for a in doc["accounts"]] == ["error", "compliant"]
    assert "No such file" in doc["accounts"][0]["reason"]
    assert_clean_stderr(proc, 1)


def test_csv_and_text_formats(reports: dict[str, Path], tmp_path: Path) -> None:
    files = [str(reports["clean"]), str(reports["excel_key"])]
    proc = run_check("--format", "csv", "--credential-report", *files, cwd=tmp_path)
    rows = list(csv.DictReader(io.StringIO(proc.stdout)))
    assert [(r["account_id"], r["status"]) for r in rows] == [
        ("222222222222", "noncompliant"),
        ("111111111111", "compliant"),
    ]
    proc = run_check("--credential-report", *files, cwd=tmp_path)
    lines = proc.stdout.splitlines()
    assert lines[1].startswith("NONCOMPLIANT")
    assert str(reports["excel_key"]) in lines[1]  # a report's row names its file
    assert lines[-1] == "2 accounts: 1 noncompliant, 0 error, 1 compliant"
    assert proc.returncode == 1


@pytest.mark.parametrize(
    "args",
    [
        ["--account", "12345"],
        ["--org", "--account", "111111111111"],
        ["--org", "--credential-report", "x.csv"],
        ["--format", "yaml"],
        ["--concurrency", "0"],
        ["--bogus"],
    ],
)
def test_bad_arguments_exit_2_with_one_line(args: list[str], tmp_path: Path) -> None:
    proc = run_check(*args, cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert_clean_stderr(proc, 1)


def test_unreachable_aws_is_one_line_exit_2(tmp_path: Path) -> None:
    proc = run_check("--format", "json", cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert_clean_stderr(proc, 1)
    assert "GetCallerIdentity" in proc.stderr


def test_organization_audit_json_and_exit_codes(aws: SimulatedAws, tmp_path: Path) -> None:
    org = aws.create_organization(["dev", "prod", "legacy"], missing_role={"legacy"})
    dev, prod, legacy = org.members
    aws.set_root_keys(prod.account_id, [RootKeySpec(slot=1, created=days_ago(30))])

    proc = run_check("--org", "--format", "json", "--concurrency", "4", env=aws.env(), cwd=tmp_path)
    assert proc.returncode == 1
    doc = json.loads(proc.stdout)
    status = {a["account_id"]: (a["account_name"], a["status"]) for a in doc["accounts"]}
    assert status == {
        org.management_id: ("master", "compliant"),
        dev.account_id: ("dev", "compliant"),
        prod.account_id: ("prod", "noncompliant"),
        legacy.account_id: ("legacy", "error"),
    }
    assert doc["accounts"][0]["account_id"] == prod.account_id
    assert doc["accounts"][0]["keys"][0]["age_days"] == 30
    assert doc["summary"] == {"total": 4, "compliant": 2, "noncompliant": 1, "error": 1}
    assert_clean_stderr(proc, 1)
    assert legacy.account_id in proc.stderr and "AccessDenied" in proc.stderr

    aws.set_root_keys(prod.account_id, [])
    proc = run_check("--org", "--format", "json", env=aws.env(), cwd=tmp_path)
    assert proc.returncode == 2  # no noncompliant left, one error

    proc = run_check(
        "--account",
        dev.account_id,
        prod.account_id,
        "--format",
        "json",
        env=aws.env(),
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    assert {a["account_id"] for a in json.loads(proc.stdout)["accounts"]} == {
        dev.account_id,
        prod.account_id,
    }


def test_current_account_default(aws: SimulatedAws, tmp_path: Path) -> None:
    aws.create_organization(0)
    aws.set_root_keys("123456789012", [RootKeySpec(slot=2, active=False)])
    proc = run_check("--format", "json", env=aws.env(), cwd=tmp_path)
    assert proc.returncode == 1
    (account,) = json.loads(proc.stdout)["accounts"]
    assert account["account_id"] == "123456789012"
    assert "deactivated; delete it to finish" in account["reason"]
    assert account["keys"] == [{**account["keys"][0], "slot": 2, "active": False}]


def test_json_of_the_aws_cli_and_standard_input(tmp_path: Path) -> None:
    report = HEADER + "\n" + root_line("444444444444", key1="true") + "\n"
    cli_json = json.dumps(
        {
            "Content": base64.b64encode(report.encode()).decode(),
            "ReportFormat": "text/csv",
            "GeneratedTime": "2026-03-04T05:06:07+00:00",
        }
    )
    saved = tmp_path / "from-cli.json"
    saved.write_text(cli_json)
    proc = run_check(
        "--format",
        "json",
        "--credential-report",
        str(saved),
        "-",
        cwd=tmp_path,
        stdin=(HEADER + "\n" + root_line("555555555555") + "\n").encode(),
    )
    assert proc.returncode == 1, proc.stderr
    by_id = {a["account_id"]: a for a in json.loads(proc.stdout)["accounts"]}
    assert by_id["444444444444"]["status"] == "noncompliant"
    assert "2026-03-04 05:06 UTC" in by_id["444444444444"]["reason"]
    assert by_id["444444444444"]["evidence"]["report_generated_at"] == "2026-03-04T05:06:07Z"
    assert by_id["555555555555"]["status"] == "compliant"
    assert by_id["555555555555"]["source"] == "report:<stdin>"


def test_no_credentials_is_one_line_exit_2(tmp_path: Path) -> None:
    proc = run_check(
        "--org",
        cwd=tmp_path,
        env={
            "AWS_ACCESS_KEY_ID": "",
            "AWS_SECRET_ACCESS_KEY": "",
            "AWS_EC2_METADATA_DISABLED": "true",  # never probe an instance metadata service
            "AWS_CONFIG_FILE": str(tmp_path / "none"),
            "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"),
        },
    )
    assert proc.returncode == 2
    assert_clean_stderr(proc, 1)
    assert "no AWS credentials found" in proc.stderr


def test_two_hundred_member_organization_in_one_command(aws: SimulatedAws, tmp_path: Path) -> None:
    org = aws.create_organization(200, missing_role={42})
    keyed = {org.members[0].account_id, org.members[199].account_id}
    for account_id in keyed:
        aws.set_root_keys(account_id, [RootKeySpec(slot=1, created=days_ago(5))])
    proc = run_check("--org", "--format", "json", env=aws.env(), cwd=tmp_path)
    assert proc.returncode == 1
    doc = json.loads(proc.stdout)
    assert doc["summary"] == {"total": 201, "compliant": 198, "noncompliant": 2, "error": 1}
    assert {a["account_id"] for a in doc["accounts"][:2]} == keyed
    assert doc["accounts"][2]["account_id"] == org.members[42].account_id
    assert doc["accounts"][2]["account_name"] == "member-0042"
    assert_clean_stderr(proc, 1)
