"""What one check found, and how the command prints it and turns it into an exit code."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum


class Level(StrEnum):
    OK = "ok"
    WARN = "warn"
    FAIL = "FAIL"


@dataclass(frozen=True)
class Finding:
    """``area`` (Slack, AWS, database), what was checked, what was seen, and for a warning or
    a failure the fix: what to run or deploy."""

    area: str
    check: str
    level: Level
    detail: str
    fix: str | None = None

    def lines(self) -> list[str]:
        head = f"{self.level.value:<4} {self.area:<8} {self.check}: {self.detail}"
        return [head] if not self.fix else [head, f"     {'':<8} fix: {self.fix}"]


def ok(area: str, check: str, detail: str) -> Finding:
    return Finding(area, check, Level.OK, detail)


def warn(area: str, check: str, detail: str, fix: str | None = None) -> Finding:
    return Finding(area, check, Level.WARN, detail, fix)


def fail(area: str, check: str, detail: str, fix: str) -> Finding:
    return Finding(area, check, Level.FAIL, detail, fix)


def exit_code(findings: Iterable[Finding]) -> int:
    """0 when nothing failed (warnings allowed), 1 when any check failed."""
    return 1 if any(f.level is Level.FAIL for f in findings) else 0


def summary(findings: list[Finding]) -> str:
    counts = {level: sum(f.level is level for f in findings) for level in Level}
    return f"{counts[Level.OK]} ok, {counts[Level.WARN]} warnings, {counts[Level.FAIL]} failed" + (
        "" if counts[Level.FAIL] else ": ready for /rootkey check all"
    )
