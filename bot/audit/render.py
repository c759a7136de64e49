"""Audit results as text, JSON and CSV (pure: strings out, nothing printed here)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Sequence

from bot.audit.models import STATUS_ORDER, AuditResult, KeySlot, Status, Verdict, iso
from bot.rules import csv_cell

CSV_COLUMNS = (
    "account_id",
    "account_name",
    "status",
    "reason",
    "source",
    "key_1_active",
    "key_1_age_days",
    "key_1_last_rotated",
    "key_1_last_used_date",
    "key_1_last_used_region",
    "key_1_last_used_service",
    "key_2_active",
    "key_2_age_days",
    "key_2_last_rotated",
    "key_2_last_used_date",
    "key_2_last_used_region",
    "key_2_last_used_service",
    "root_mfa_active",
    "report_generated_at",
    "checked_at",
)


def ordered(items: AuditResult | Iterable[Verdict]) -> list[Verdict]:
    if isinstance(items, AuditResult):
        return items.sorted()
    return sorted(items, key=lambda v: (STATUS_ORDER[v.status], v.account_id))


def summary_line(verdicts: Sequence[Verdict]) -> str:
    counts = {s: sum(1 for v in verdicts if v.status is s) for s in Status}
    n = len(verdicts)
    return (
        f"{n} account{'s' if n != 1 else ''}: {counts[Status.NONCOMPLIANT]} noncompliant, "
        f"{counts[Status.ERROR]} error, {counts[Status.COMPLIANT]} compliant"
    )


def keys_cell(keys: Sequence[KeySlot]) -> str:
    if not keys:
        return "-"
    return ", ".join(f"{k.slot}:{'active' if k.active else 'inactive'}" for k in keys)


def name_cell(v: Verdict) -> str:
    return v.account_name or "-"


def file_cell(v: Verdict) -> str:
    """The credential-report file a verdict was read from ("-" for a live read)."""
    return v.source.removeprefix("report:") if v.source.startswith("report:") else "-"


def flag_cell(value: bool | None) -> str:
    return "?" if value is None else ("yes" if value else "no")


def to_text(result: AuditResult | Iterable[Verdict]) -> str:
    """A table, noncompliant first, then errors, then compliant; a summary line at the end."""
    verdicts = ordered(result)
    from_files = any(v.source.startswith("report:") for v in verdicts)
    header: tuple[str, ...] = ("STATUS", "ACCOUNT", "NAME", "KEYS", "MFA")
    header += ("FILE", "REASON") if from_files else ("REASON",)
    rows = [
        (
            v.status.value.upper(),
            v.account_id or "-",
            name_cell(v),
            keys_cell(v.keys),
            flag_cell(v.root_mfa_active),
            *((file_cell(v),) if from_files else ()),
            v.reason,
        )
        for v in verdicts
    ]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header) - 1)]
    lines = []
    for row in [header, *rows]:
        cells = [cell.ljust(widths[i]) for i, cell in enumerate(row[:-1])]
        lines.append("  ".join([*cells, row[-1]]).rstrip())
    lines.append("")
    lines.append(summary_line(verdicts))
    if isinstance(result, AuditResult) and result.features.root_credentials_management is not None:
        f = result.features.to_dict()
        lines.append(
            "centralized root access: RootCredentialsManagement "
            f"{f['RootCredentialsManagement']}, RootSessions {f['RootSessions']}"
        )
    return "\n".join(lines) + "\n"


def to_json(result: AuditResult) -> str:
    """The JSON document of ``AuditResult.to_dict`` (accounts worst first, then the summary)."""
    return json.dumps(result.to_dict(), indent=2) + "\n"


def csv_row(v: Verdict) -> list[str]:
    slots = {k.slot: k for k in v.keys}
    cells: list[object] = [v.account_id, v.account_name, v.status.value, v.reason, v.source]
    for slot in (1, 2):
        key = slots.get(slot)
        if key is None:
            cells += [None] * 6
        else:
            cells += [
                key.active,
                key.age_days,
                iso(key.last_rotated),
                iso(key.last_used_date),
                key.last_used_region,
                key.last_used_service,
            ]
    cells += [v.root_mfa_active, iso(v.evidence.report_generated_at), iso(v.checked_at)]
    return [csv_cell(c) for c in cells]


def to_csv(result: AuditResult | Iterable[Verdict]) -> str:
    """One row per account (worst first) under a header row; cells are formula-safe."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n", quoting=csv.QUOTE_ALL)
    writer.writerow(CSV_COLUMNS)
    for verdict in ordered(result):
        writer.writerow(csv_row(verdict))
    return out.getvalue()
