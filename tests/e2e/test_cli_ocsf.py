"""`python -m bot check --format ocsf` as a subprocess: OCSF on stdout that the released
OCSF 1.8.0 schema accepts (from the PyPI package ocsf-json-schema: tests/support/ocsf_released.py).
"""

from __future__ import annotations

import json
from pathlib import Path

from tests.e2e.test_cli_check import HEADER, root_line, run_check
from tests.support import ocsf_released

RELEASE = "1.8.0"  # the newest OCSF release; 1.9.0 is still -dev


def test_credential_reports_as_ocsf_findings(tmp_path: Path) -> None:
    clean = tmp_path / "clean.csv"
    clean.write_text(HEADER + "\n" + root_line("111111111111") + "\n")
    keyed = tmp_path / "keyed.csv"
    keyed.write_text(HEADER + "\n" + root_line("222222222222", key1="true") + "\n")
    broken = tmp_path / "broken.csv"
    broken.write_text("name,email\nbob,bob@example.com\n")

    proc = run_check(
        "--format",
        "ocsf",
        "--credential-report",
        str(clean),
        str(keyed),
        str(broken),
        cwd=tmp_path,
    )

    assert proc.returncode == 1, proc.stderr  # exit codes as for every format
    events = json.loads(proc.stdout)
    for event in events:
        assert ocsf_released.errors(event, RELEASE) == []
    by_account = {e["cloud"]["account"]["uid"]: e for e in events}
    assert set(by_account) == {"111111111111", "222222222222", "unknown"}
    assert by_account["222222222222"]["compliance"]["status"] == "Fail"
    assert by_account["222222222222"]["severity"] == "Critical"
    assert by_account["111111111111"]["compliance"]["status"] == "Pass"
    assert by_account["unknown"]["compliance"]["status"] == "Warning"
    assert "not a credential report" in by_account["unknown"]["finding_info"]["desc"]
    assert by_account["222222222222"]["finding_info"]["uid"] == (
        "rootkey/root-access-key/222222222222"
    )
    assert "Traceback" not in proc.stderr
