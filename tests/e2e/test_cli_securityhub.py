"""`python -m bot check --org --export securityhub` as a subprocess against the simulated AWS."""

from __future__ import annotations

from pathlib import Path

from simulator.aws import MANAGEMENT_ACCOUNT, RootKeySpec, SimulatedAws, days_ago
from tests.e2e.test_cli_check import run_check


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
