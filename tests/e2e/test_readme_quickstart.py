"""The command-line guide's quick start (docs/cli.md) does what it shows: each command, run
from the clone, prints the summary line and exits with the code written under it."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def quick_start() -> list[tuple[list[str], str, int]]:
    """(arguments, summary line, exit code) of each command in the quick start's console block."""
    section = (ROOT / "docs" / "cli.md").read_text()
    block = section.split("```console", 1)[1].split("```", 1)[0]
    found = []
    for chunk in re.split(r"^\$ (?=\.venv/bin/python)", block, flags=re.M)[1:]:
        command, *output = chunk.strip().splitlines()
        args = shlex.split(command.split(";")[0])[1:]  # drop .venv/bin/python
        summary = next(line for line in output if re.match(r"\d+ accounts?: ", line))
        code = int(next(line for line in output if line.strip().isdigit()))
        found.append((args, summary, code))
    return found


def test_the_quick_start_commands_print_and_exit_as_shown() -> None:
    commands = quick_start()
    assert [code for _, _, code in commands] == [1, 0]
    for args, summary, code in commands:
        done = subprocess.run(
            [sys.executable, *args], cwd=ROOT, capture_output=True, text=True, timeout=60
        )
        assert done.returncode == code, (args, done.stdout, done.stderr)
        assert summary in done.stdout, (summary, done.stdout)
        assert done.stderr == ""
