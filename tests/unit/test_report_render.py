"""Text, JSON and CSV renderings of an audit result."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta

from bot.audit.models import AccountSummary, AuditResult, KeySlot, OrgFeatures, RootRow
from bot.audit.render import to_csv, to_json, to_text
from bot.audit.verdict import decide

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def result() -> AuditResult:
    ok = decide(
        "111111111111",
        source="aws",
        now=NOW,
        summary=AccountSummary(False),
        account_name='=HYPERLINK("http://x")',
    )
    bad_root = RootRow(
        arn="arn:aws:iam::222222222222:root",
        account_id="222222222222",
        password_enabled=None,
        password_last_used=None,
        mfa_active=False,
        keys=(KeySlot(slot=2, active=True, last_rotated=NOW - timedelta(days=30)),),
    )
    bad = decide(
        "222222222222",
        source="aws",
        now=NOW,
        summary=AccountSummary(True),
        root=bad_root,
        account_name="prod",
    )
    err = decide(
        "333333333333",
        source="aws",
        now=NOW,
        errors=["AssumeRole RootkeyAudit: AccessDenied"],
        account_name="-sandbox",
    )
    return AuditResult(verdicts=(ok, err, bad), scope="org", features=OrgFeatures(True, False))


def test_text_lists_noncompliant_first_then_a_summary_line() -> None:
    lines = to_text(result()).splitlines()
    assert lines[0].split()[:2] == ["STATUS", "ACCOUNT"]
    assert lines[1].startswith("NONCOMPLIANT") and "222222222222" in lines[1]
    assert lines[2].startswith("ERROR") and "AccessDenied" in lines[2]
    assert lines[3].startswith("COMPLIANT")
    assert "3 accounts: 1 noncompliant, 1 error, 1 compliant" in lines
    assert any("RootSessions disabled" in line for line in lines)


def test_json_has_accounts_and_summary() -> None:
    doc = json.loads(to_json(result()))
    assert [a["status"] for a in doc["accounts"]] == ["noncompliant", "error", "compliant"]
    assert doc["summary"] == {"total": 3, "compliant": 1, "noncompliant": 1, "error": 1}
    assert doc["accounts"][0]["keys"][0]["slot"] == 2
    assert doc["accounts"][0]["keys"][0]["age_days"] == 30


def test_csv_one_row_per_account_and_formula_safe() -> None:
    rows = list(csv.DictReader(io.StringIO(to_csv(result()))))
    assert [r["account_id"] for r in rows] == ["222222222222", "333333333333", "111111111111"]
    assert rows[0]["key_2_active"] == "true" and rows[0]["key_2_age_days"] == "30"
    assert rows[0]["key_1_active"] == ""
    assert rows[1]["account_name"] == "'-sandbox"
    assert rows[2]["account_name"].startswith("'=")


def test_csv_accepts_plain_verdicts() -> None:
    verdicts = result().verdicts
    text = to_csv(verdicts[:1])
    assert text.count("\r\n") == 2


def test_offline_reports_show_the_file_in_its_own_column_not_as_the_name() -> None:
    """A credential-report file is where the verdict came from, not the account's name."""
    root = RootRow(
        arn="arn:aws:iam::333333333333:root",
        account_id="333333333333",
        password_enabled=None,
        password_last_used=None,
        mfa_active=True,
        keys=(KeySlot(slot=1, active=True, last_rotated=NOW - timedelta(days=3)),),
    )
    named = decide(
        "333333333333",
        source="report:reports/billing.csv",
        now=NOW,
        root=root,
        account_name="legacy-billing",
    )
    unnamed = decide("444444444444", source="report:reports/other.csv", now=NOW, root=root)
    header, *rows = to_text([named, unnamed]).splitlines()[:3]
    assert header.split() == ["STATUS", "ACCOUNT", "NAME", "KEYS", "MFA", "FILE", "REASON"]
    by_account = {row.split()[1]: row.split() for row in rows}
    assert by_account["333333333333"][2] == "legacy-billing"
    assert by_account["333333333333"][5] == "reports/billing.csv"
    assert by_account["444444444444"][2] == "-"
    assert by_account["444444444444"][5] == "reports/other.csv"
    # a live audit has no file column at all
    live_header = to_text(result()).splitlines()[0]
    assert "FILE" not in live_header.split()
