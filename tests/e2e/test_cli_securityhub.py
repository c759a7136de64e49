"""`python -m bot check --org --export securityhub` as a subprocess against the simulated AWS."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from simulator.aws import MANAGEMENT_ACCOUNT, RootKeySpec, SimulatedAws, days_ago
from tests.e2e.test_cli_check import HEADER, assert_clean_stderr, root_line, run_check


def test_cli_exports_one_finding_per_account(aws: SimulatedAws, tmp_path: Path) -> None:
    hub = aws.client("securityhub")
    hub.enable_security_hub()
    org = aws.create_organization(2)
    keyed, clean = (m.account_id for m in org.members)
    aws.set_root_keys(keyed, [RootKeySpec(slot=1, created=days_ago(30))])

    proc = run_check(
        "--org", "--format", "json", "--export", "securityhub", env=aws.env(), cwd=tmp_path
    )

    assert proc.returncode == 1, proc.stderr  # noncompliant, as without the export
    assert "Security Hub: 3 imported (3 new), 0 resolved" in proc.stderr
    assert proc.stdout.startswith("{")  # stdout keeps only the chosen format
    status = {
        f["Resources"][0]["Id"].rsplit(":", 1)[-1]: f["Compliance"]["Status"]
        for f in hub.get_findings()["Findings"]
    }
    assert status == {keyed: "FAILED", clean: "PASSED", MANAGEMENT_ACCOUNT: "PASSED"}


def test_cli_export_failure_is_an_error_exit(aws: SimulatedAws, tmp_path: Path) -> None:
    aws.create_organization(1)  # everything compliant, but Security Hub is not enabled
    proc = run_check("--org", "--export", "securityhub", env=aws.env(), cwd=tmp_path)
    assert proc.returncode == 2
    assert "error: Security Hub: nothing sent" in proc.stderr
    assert "not subscribed" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_an_offline_report_never_resolves_a_live_finding(aws: SimulatedAws, tmp_path: Path) -> None:
    """A credential report cannot show a key deactivated or created since it was generated, and
    may be hours old: its "no key" must not close the finding a live audit opened."""
    hub = aws.client("securityhub")
    hub.enable_security_hub()
    org = aws.create_organization(1)
    (keyed,) = (m.account_id for m in org.members)
    aws.set_root_keys(keyed, [RootKeySpec(slot=1, created=days_ago(30))])
    live = run_check("--account", keyed, "--export", "securityhub", env=aws.env(), cwd=tmp_path)
    assert live.returncode == 1, live.stderr
    before = finding_of(hub, keyed)
    assert state(before) == ("FAILED", "ACTIVE", "NEW")

    # an old report of the same account, saved before the key was created: "no key"
    report = tmp_path / "old-report.csv"
    report.write_text(HEADER + "\n" + root_line(keyed) + "\n")
    aws.reset_calls()
    proc = run_check(
        "--credential-report", str(report), "--export", "securityhub", env=aws.env(), cwd=tmp_path
    )

    assert proc.returncode == 2, proc.stderr
    assert_clean_stderr(proc, error_lines=1)
    assert "--export securityhub" in proc.stderr and "credential report" in proc.stderr
    assert proc.stdout == ""  # refused before anything is read or printed
    assert aws.call_count() == 0  # no AWS call at all: nothing sent
    after = finding_of(hub, keyed)
    assert state(after) == ("FAILED", "ACTIVE", "NEW")
    assert after["UpdatedAt"] == before["UpdatedAt"]


def finding_of(hub: Any, account_id: str) -> dict[str, Any]:
    (item,) = [
        f
        for f in hub.get_findings()["Findings"]
        if f["Resources"][0]["Id"] == f"AWS::::Account:{account_id}"
    ]
    return dict(item)


def state(finding: dict[str, Any]) -> tuple[str, str, str]:
    return (
        finding["Compliance"]["Status"],
        finding["RecordState"],
        finding["Workflow"]["Status"],
    )
