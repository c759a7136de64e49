"""The verdicts of a credential-report file: one per report in it (pure: bytes in, no I/O)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from bot.audit.models import Verdict
from bot.audit.report import ReportError
from bot.audit.report_forms import load_reports
from bot.audit.verdict import decide

UNKNOWN_ACCOUNT = ""  # null in JSON, an empty cell in CSV: failed files never share an id


def source_of(name: str) -> str:
    return f"report:{name}"


def unreadable_file(name: str, reason: str, now: datetime) -> Verdict:
    """The one verdict of a file that could not be read at all."""
    return decide(UNKNOWN_ACCOUNT, source=source_of(name), now=now, errors=[f"{name}: {reason}"])


def audit_report_data(data: bytes | str, name: str, now: datetime) -> list[Verdict]:
    """The verdict of each report in ``data`` (the file ``name``), from the CIS console audit of
    its root row. A file with no report in it is one error; with several reports, each verdict's
    reason says which report of the file it is."""
    try:
        readings = load_reports(data)
    except ReportError as exc:
        return [unreadable_file(name, str(exc), now)]
    verdicts = []
    for position, reading in enumerate(readings, start=1):
        if reading.root is None:
            verdict = unreadable_file(name, reading.problem or "no root row", now)
        else:
            verdict = decide(
                reading.root.account_id or UNKNOWN_ACCOUNT,
                source=source_of(name),
                now=now,
                root=reading.root,
                report_generated_at=reading.generated_at,
            )
        if len(readings) > 1:
            where = f"report {position} of {len(readings)} in the file"
            verdict = replace(verdict, reason=f"{where}: {verdict.reason}")
        verdicts.append(verdict)
    return verdicts
