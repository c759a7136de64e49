"""The command line's help and its start-up: what a newcomer reads, what a pipeline pays."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "tests" / "samples" / "reports" / "content-decoded.json"


def bot(
    *args: str, cwd: Path, python_flags: tuple[str, ...] = ()
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *python_flags, "-m", "bot", *args],
        env={"PATH": os.environ.get("PATH", ""), "HOME": str(cwd), "PYTHONPATH": str(REPO)},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_help_names_the_exit_codes_and_every_format(tmp_path: Path) -> None:
    proc = bot("check", "--help", cwd=tmp_path)
    assert proc.returncode == 0
    out = proc.stdout
    assert "exit codes:" in out
    for code, meaning in (("0", "compliant"), ("1", "noncompliant"), ("2", "could not be audited")):
        line = next(line for line in out.splitlines() if line.strip().startswith(code + " "))
        assert meaning in line
    formats = out.split("formats (--format):", 1)[1]
    for name in ("text", "json", "csv", "ocsf"):
        assert f"\n  {name} " in formats
    assert "--output text" in out  # the accepted credential-report forms


def test_db_help_shows_revision(tmp_path: Path) -> None:
    proc = bot("db", "--help", cwd=tmp_path)
    assert proc.returncode == 0
    assert "revision: print the revision" in " ".join(proc.stdout.split())
    assert "db revision" in bot("--help", cwd=tmp_path).stdout


@pytest.mark.parametrize("heavy", ["sqlalchemy", "alembic", "boto3", "slack_bolt"])
def test_offline_check_never_loads_the_database_or_aws_libraries(
    tmp_path: Path, heavy: str
) -> None:
    proc = bot(
        "check", "--credential-report", str(SAMPLE), cwd=tmp_path, python_flags=("-X", "importtime")
    )
    assert proc.returncode == 1  # the sample has an active root key
    imported = {line.rsplit("|", 1)[-1].strip() for line in proc.stderr.splitlines()}
    assert heavy not in imported


def test_unknown_subcommand_is_one_line_exit_2(tmp_path: Path) -> None:
    proc = bot("chek", cwd=tmp_path)
    assert proc.returncode == 2
    assert len(proc.stderr.strip().splitlines()) == 1 and "chek" in proc.stderr
