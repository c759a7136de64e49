"""Parse an IAM credential report and pick out the root user's row.

Accepts the report as AWS returns it and as people save it: a byte order mark, CRLF line ends,
``TRUE``/``FALSE`` in any letter case, comma, semicolon or tab separated, UTF-8 or UTF-16.
Columns are found by their header names, never by position. ``load_report`` also takes the JSON
that ``aws iam get-credential-report`` prints (base64 ``Content`` and ``GeneratedTime``).
Pure: no I/O, no boto3.
"""

from __future__ import annotations

import base64
import binascii
import csv
import io
import json
import re
from datetime import UTC, datetime

from bot.audit.models import KeySlot, RootRow

ROOT_USER = "<root_account>"
ROOT_ARN = re.compile(r"^arn:aws[a-z-]*:iam::([0-9]{12}):root$")
REQUIRED = ("user", "arn", "access_key_1_active", "access_key_2_active")
# Values AWS writes where there is nothing to report.
EMPTY_VALUES = {"", "n/a", "no_information", "not_supported", "not supported", "-"}
DATE_FORMATS = (
    "%Y-%m-%dT%H:%M:%S%z",
    "%Y-%m-%dT%H:%M:%S.%f%z",
    "%Y-%m-%d %H:%M:%S%z",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%d",
    "%m/%d/%Y %H:%M:%S",
    "%m/%d/%Y %H:%M",
    "%m/%d/%Y",
    "%d.%m.%Y %H:%M:%S",
    "%d.%m.%Y %H:%M",
    "%d.%m.%Y",
)


class ReportError(ValueError):
    """The input is not a credential report, has no root row, or a value cannot be read."""


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
    if value in EMPTY_VALUES:
        return None
    if value in {"true", "1", "yes"}:
        return True
    if value in {"false", "0", "no"}:
        return False
    raise ReportError(f"malformed credential report: {column} should be true or false, got {raw!r}")


def parse_time(column: str, raw: str) -> datetime | None:
    value = raw.strip()
    if value.lower() in EMPTY_VALUES:
        return None
    text = value[:-1] + "+00:00" if value.endswith(("Z", "z")) else value
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        parsed = None
        for fmt in DATE_FORMATS:
            try:
                parsed = datetime.strptime(text, fmt)
                break
            except ValueError:
                continue
    if parsed is None:
        raise ReportError(f"malformed credential report: {column} should be a date, got {raw!r}")
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def parse_text(value: str) -> str | None:
    stripped = value.strip()
    return None if stripped.lower() in EMPTY_VALUES else stripped


def sniff_delimiter(header_line: str) -> str:
    counts = {d: header_line.count(d) for d in (",", ";", "\t")}
    return max(counts, key=lambda d: counts[d])


def parse_credential_report(data: bytes | str) -> RootRow:
    """The ``<root_account>`` row of a credential report, with the account id from its ARN."""
    text = decode(data)
    if "\x00" in text:
        raise ReportError("not a credential report: binary data")
    first_line = text.lstrip().split("\n", 1)[0]
    reader = csv.reader(
        io.StringIO(text.lstrip(), newline=""), delimiter=sniff_delimiter(first_line)
    )
    try:
        rows = [row for row in reader if any(cell.strip() for cell in row)]
    except csv.Error as exc:
        raise ReportError(f"malformed credential report: {exc}") from None
    if not rows:
        raise ReportError("not a credential report: the file is empty")
    header = [name.strip().lower() for name in rows[0]]
    missing = [name for name in REQUIRED if name not in header]
    if missing:
        raise ReportError(
            "not a credential report: no "
            + ", ".join(repr(m) for m in missing)
            + " column"
            + ("s" if len(missing) > 1 else "")
        )
    index = {name: i for i, name in enumerate(header)}
    for row in rows[1:]:
        cells = row + [""] * (len(header) - len(row))
        if cells[index["user"]].strip().lower() == ROOT_USER:
            return root_from_cells({name: cells[i] for name, i in index.items()})
    raise ReportError(f"no {ROOT_USER} row in the credential report")


def root_from_cells(cells: dict[str, str]) -> RootRow:
    arn = cells["arn"].strip()
    match = ROOT_ARN.match(arn)
    if not match:
        raise ReportError(
            f"malformed credential report: the root row's ARN {arn!r} is not "
            "arn:aws:iam::<12-digit account id>:root"
        )

    def get(name: str) -> str:
        return cells.get(name, "")

    keys = []
    for slot in (1, 2):
        prefix = f"access_key_{slot}_"
        active = parse_flag(prefix + "active", get(prefix + "active"))
        if active is None:
            # AWS always writes true or false here; a blank means the row was cut short, and
            # reading it as "no key" would call a truncated report compliant.
            raise ReportError(
                f"malformed credential report: the root row has no {prefix}active value "
                "(is the file cut short?)"
            )
        rotated = parse_time(prefix + "last_rotated", get(prefix + "last_rotated"))
        if not active and rotated is None:
            continue  # no key in this slot
        keys.append(
            KeySlot(
                slot=slot,
                active=bool(active),
                last_rotated=rotated,
                last_used_date=parse_time(
                    prefix + "last_used_date", get(prefix + "last_used_date")
                ),
                last_used_region=parse_text(get(prefix + "last_used_region")),
                last_used_service=parse_text(get(prefix + "last_used_service")),
            )
        )
    return RootRow(
        arn=arn,
        account_id=match.group(1),
        password_enabled=parse_flag("password_enabled", get("password_enabled")),
        password_last_used=parse_time("password_last_used", get("password_last_used")),
        mfa_active=parse_flag("mfa_active", get("mfa_active")),
        keys=tuple(keys),
        cert_1_active=parse_flag("cert_1_active", get("cert_1_active")),
        cert_2_active=parse_flag("cert_2_active", get("cert_2_active")),
    )


def load_report(data: bytes | str) -> tuple[RootRow, datetime | None]:
    """The root row and, when the input says it, the report's generation time.

    Takes a credential report (any form ``parse_credential_report`` takes) or the JSON printed
    by ``aws iam get-credential-report`` (``{"Content": "<base64>", "GeneratedTime": ...}``).
    """
    text = decode(data).strip()
    if not text.startswith("{"):
        return parse_credential_report(data), None
    try:
        document = json.loads(text)
    except ValueError:
        raise ReportError("not a credential report: malformed JSON") from None
    if not isinstance(document, dict) or not isinstance(document.get("Content"), str):
        raise ReportError("not a credential report: JSON without a Content field")
    try:
        content = base64.b64decode(document["Content"], validate=True)
    except (binascii.Error, ValueError):
        raise ReportError("not a credential report: Content is not base64") from None
    generated = document.get("GeneratedTime")
    generated_at = parse_time("GeneratedTime", generated) if isinstance(generated, str) else None
    return parse_credential_report(content), generated_at
