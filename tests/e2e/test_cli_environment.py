"""What a one-shot command does with its surroundings: the `.env` file of the directory it is
run from (not the one next to the code), and a reader that stops reading early (`| head`)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "tests" / "samples" / "reports" / "content-decoded.json"


def bot_env(cwd: Path) -> dict[str, str]:
    return {"PATH": os.environ.get("PATH", ""), "HOME": str(cwd), "PYTHONPATH": str(REPO)}


def test_the_dotenv_of_the_working_directory_is_read(tmp_path: Path) -> None:
    """README: "a `.env` file in the working directory is read first". Run from a directory
    that is not the code's, the setting in that directory's `.env` is the one used."""
    elsewhere = tmp_path / "data" / "elsewhere.db"
    (tmp_path / ".env").write_text(f"DATABASE_URL=sqlite:///{elsewhere}\n", encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, "-m", "bot", "log"],
        env=bot_env(tmp_path),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    assert str(elsewhere) in proc.stderr  # "no database at …/elsewhere.db", not rootkey.db


def test_a_bad_value_in_the_dotenv_is_the_one_refused(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("ROOTKEY_CONCURRENCY=not-a-number\n", encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, "-m", "bot"],
        env=bot_env(tmp_path),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2  # the bad value from that file is the one refused
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "ROOTKEY_CONCURRENCY" in lines[0]  # one line, as ever


def test_a_reader_that_stops_early_is_a_quiet_exit(tmp_path: Path) -> None:
    """`python -m bot check … | head -0`: the pipe is closed before rootkey writes. No
    "unexpected error: BrokenPipeError", no traceback; the exit code never reads as
    "compliant" (0) since the result was not delivered."""
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader is gone before the first byte
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "bot", "check", "--credential-report", str(SAMPLE)],
            env=bot_env(tmp_path),
            cwd=tmp_path,
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            timeout=120,
        )
    finally:
        os.close(write_end)
    assert proc.stderr == ""
    assert proc.returncode == 2
