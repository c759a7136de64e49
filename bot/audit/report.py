"""Parse IAM credential reports (CSV) and pick out each report's root-user row.

Accepts the CSV as AWS returns it and as people save it: a byte order mark, CRLF line ends,
``TRUE``/``FALSE`` in any letter case, comma, semicolon or tab separated, UTF-8 or UTF-16,
dates re-written by a spreadsheet (see ``bot.audit.dates``), and several reports pasted into one
file (each header line starts a new report). Columns are found by their header names, never by
position. A value that cannot be read is unknown (``RootRow.unreadable``), never guessed: a row
that says a key is active still says so when the rest of it is damaged.
The other forms a report comes in (JSON, base64, the AWS CLI's text output) are unwrapped by
``bot.audit.report_forms``. Pure: no I/O, no boto3.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from datetime import datetime

from bot.audit.dates import DateOrder, UnreadableDate, infer_order, is_empty, parse_date
from bot.audit.models import KeySlot, RootRow
from bot.rules import ACCOUNT_ID

ROOT_USER = "<root_account>"
ROOT_ARN = re.compile(rf"arn:aws[a-z-]*:iam::({ACCOUNT_ID.pattern}):root")
REQUIRED = ("user", "arn", "access_key_1_active", "access_key_2_active")


class ReportError(ValueError):
    """The input is not a credential report, or a report in it has no readable root row."""


@dataclass(frozen=True)
class Reading:
    """One report found in the input: its root row, or the reason there is none."""

    root: RootRow | None
    generated_at: datetime | None = None
    problem: str | None = None
    root_row: bool = False  # read from a <root_account> row (even one that failed)


def decode(data: bytes | str) -> str:
    if isinstance(data, str):
        return data.lstrip("\ufeff")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            raise ReportError("not a credential report: unreadable UTF-16 text") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ReportError("not a credential report: not UTF-8 text") from None


def parse_flag(column: str, raw: str) -> bool | None:
    value = raw.strip().lower()
    if is_empty(value):
        return None
    if value in {"true", "1", "yes"}:
        return True
    if value in {"false", "0", "no"}:
        return False
    raise ReportError(f"malformed credential report: {column} should be true or false, got {raw!r}")


def parse_text(value: str) -> str | None:
    return None if is_empty(value) else value.strip()


def sniff_delimiter(header_line: str) -> str:
    counts = {d: header_line.count(d) for d in (",", ";", "\t")}
    return max(counts, key=lambda d: counts[d])


def is_header(row: list[str]) -> bool:
    names = {cell.strip().lower() for cell in row}
    return all(name in names for name in REQUIRED)


def is_header_line(line: str) -> bool:
    """A line naming the required columns, whatever its separator or quoting."""
    words = set(re.split(r"[^a-z0-9_]+", line.lower()))
    return all(name in words for name in REQUIRED)


def read_rows(text: str) -> list[list[str]]:
    """The non-empty rows of one report's CSV, split by the separator its first line uses."""
    first_line = text.lstrip().split("\n", 1)[0]
    reader = csv.reader(
        io.StringIO(text.lstrip(), newline=""), delimiter=sniff_delimiter(first_line)
    )
    try:
        return [row for row in reader if any(cell.strip() for cell in row)]
    except csv.Error as exc:
        raise ReportError(f"malformed credential report: {exc}") from None


def parse_reports(data: bytes | str) -> list[Reading]:
    """Every report in a CSV text: one ``Reading`` per ``<root_account>`` row, and one (with a
    problem) per report that has none. Raises ``ReportError`` when the text has no report.

    Each header line starts a report, read with its own separator (files pasted together may
    come from different spreadsheets). A ``<root_account>`` line that no report reads as its
    root row (a line cut or joined) is a problem, never silently skipped."""
    text = decode(data).replace("\ufeff", "")  # byte order marks of files pasted together
    if "\x00" in text:
        raise ReportError("not a credential report: binary data")
    chunks: list[list[str]] = [[]]
    for line in text.splitlines(keepends=True):
        if is_header_line(line) and chunks[-1]:
            chunks.append([])
        chunks[-1].append(line)
    texts: list[str] = []
    for chunk in chunks:
        chunk_text = "".join(chunk)
        rows = read_rows(chunk_text)
        if texts and not (rows and is_header(rows[0])):
            texts[-1] += chunk_text  # a row that only names the columns (an IAM user's name)
        else:
            texts.append(chunk_text)
    sections = []
    for report_text in texts:
        rows = read_rows(report_text)
        if rows and is_header(rows[0]):
            sections.append(([name.strip().lower() for name in rows[0]], rows[1:]))
    if not sections:
        rows = read_rows(text)
        if not rows:
            raise ReportError("not a credential report: the file is empty")
        header = {name.strip().lower() for name in rows[0]}
        missing = [name for name in REQUIRED if name not in header]
        raise ReportError(
            "not a credential report: no "
            + ", ".join(repr(m) for m in missing)
            + " column"
            + ("s" if len(missing) > 1 else "")
        )
    readings = [reading for header, body in sections for reading in read_section(header, body)]
    root_lines = sum(1 for line in text.splitlines() if ROOT_USER in line.lower())
    read = sum(1 for reading in readings if reading.root_row)
    if root_lines > read:
        readings.append(
            Reading(
                None,
                problem=f"{root_lines - read} {ROOT_USER} line(s) could not be read as a root "
                "row of a report (a line cut, joined or with another separator?)",
            )
        )
    return readings


def read_section(header: list[str], body: list[list[str]]) -> list[Reading]:
    index = {name: i for i, name in enumerate(header)}
    order = infer_order(cell for row in body for cell in row)
    readings = []
    for row in body:
        user = row[index["user"]] if index["user"] < len(row) else ""
        if user.strip().lower() != ROOT_USER:
            continue
        cells = {name: row[i] for name, i in index.items() if i < len(row)}
        try:
            readings.append(Reading(root_from_cells(cells, order), root_row=True))
        except ReportError as exc:
            readings.append(Reading(None, problem=str(exc), root_row=True))
    return readings or [Reading(None, problem=f"no {ROOT_USER} row in the credential report")]


def parse_credential_report(data: bytes | str) -> RootRow:
    """The ``<root_account>`` row of one credential report (as ``GetCredentialReport`` gives)."""
    readings = parse_reports(data)
    if len(readings) > 1:
        raise ReportError(f"malformed credential report: {len(readings)} {ROOT_USER} rows")
    (reading,) = readings
    if reading.root is None:
        raise ReportError(reading.problem or f"no {ROOT_USER} row in the credential report")
    return reading.root


class RowReader:
    """Reads a root row's cells, noting each value that cannot be read instead of failing."""

    def __init__(self, cells: dict[str, str], order: DateOrder) -> None:
        self.cells = cells
        self.order = order
        self.unreadable: list[str] = []

    def raw(self, name: str) -> str:
        return self.cells.get(name, "")

    def missing(self, name: str) -> bool:
        """The row ends before this column (the header has it): the file was cut short."""
        return name not in self.cells

    def flag(self, name: str) -> bool | None:
        raw = self.raw(name)
        try:
            return parse_flag(name, raw)
        except ReportError:
            self.unreadable.append(f"{name} {raw.strip()!r} (not true or false)")
            return None

    def date(self, name: str) -> datetime | None:
        raw = self.raw(name)
        try:
            return parse_date(raw, self.order)
        except UnreadableDate as exc:
            self.unreadable.append(f"{name} {raw.strip()!r} ({exc})")
            return None

    def text(self, name: str) -> str | None:
        return parse_text(self.raw(name))


def root_from_cells(cells: dict[str, str], order: DateOrder = DateOrder.UNDECIDED) -> RootRow:
    arn = cells.get("arn", "").strip()
    match = ROOT_ARN.fullmatch(arn)
    if not match:
        raise ReportError(
            f"malformed credential report: the root row's ARN {arn!r} is not "
            "arn:aws:iam::<12-digit account id>:root"
        )
    row = RowReader(cells, order)
    keys = []
    unknown_slots = []
    for slot in (1, 2):
        prefix = f"access_key_{slot}_"
        active_column = prefix + "active"
        active = row.flag(active_column)
        if active is None:
            # AWS always writes true or false here: a blank means the row was cut short, and
            # reading it as "no key" would call a damaged report compliant.
            unknown_slots.append(slot)
            if is_empty(row.raw(active_column)):
                why = "the row ends before it" if row.missing(active_column) else "empty"
                row.unreadable.append(f"{active_column} (no value: {why}; is the file cut short?)")
            continue
        rotated_column = prefix + "last_rotated"
        rotated = row.date(rotated_column)
        if not active and is_empty(row.raw(rotated_column)):
            continue  # no key in this slot
        keys.append(
            KeySlot(
                slot=slot,
                active=active,
                last_rotated=rotated,
                last_used_date=row.date(prefix + "last_used_date"),
                last_used_region=row.text(prefix + "last_used_region"),
                last_used_service=row.text(prefix + "last_used_service"),
            )
        )
    return RootRow(
        arn=arn,
        account_id=match.group(1),
        password_enabled=row.flag("password_enabled"),
        password_last_used=row.date("password_last_used"),
        mfa_active=row.flag("mfa_active"),
        keys=tuple(keys),
        cert_1_active=row.flag("cert_1_active"),
        cert_2_active=row.flag("cert_2_active"),
        unreadable=tuple(row.unreadable),
        unknown_slots=tuple(unknown_slots),
    )
