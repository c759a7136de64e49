"""Dates in credential reports: ISO 8601 as AWS writes them, and what spreadsheets make of them.

A spreadsheet re-saves ``2015-07-04T09:30:00+00:00`` as ``04/07/2015 09:30`` (day first) or
``7/4/2015 9:30`` (month first), depending on its locale. The order is inferred from the whole
report: a date whose first number is above 12 is day first, one whose second number is above 12
is month first. When no date decides (or the dates contradict each other), a date that could be
read either way is not guessed: it stays unknown and is shown as written.
Pure: no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, datetime
from enum import StrEnum

# Values AWS writes where there is nothing to report.
EMPTY_VALUES = {"", "n/a", "no_information", "not_supported", "not supported", "-"}
ISO_FORMATS = (
    "%Y-%m-%d %H:%M:%S%z",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%d",
)
# d.m.Y is only ever day first.
DOTTED = re.compile(r"^(\d{1,2})\.(\d{1,2})\.(\d{4})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?)?$")
# a/b/Y or a-b-Y: day first or month first, depending on the spreadsheet's locale.
NUMERIC = re.compile(
    r"^(\d{1,2})([/-])(\d{1,2})\2(\d{4}|\d{2})"
    r"(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?(?:\s*([AaPp])[Mm])?)?$"
)


class DateOrder(StrEnum):
    DAY_FIRST = "day first"
    MONTH_FIRST = "month first"
    UNDECIDED = "undecided"  # no date in the report tells
    MIXED = "mixed"  # some dates are day first, others month first


class UnreadableDate(ValueError):
    """A date that cannot be read; ``str()`` says why (e.g. the order is ambiguous)."""


def is_empty(raw: str) -> bool:
    return raw.strip().lower() in EMPTY_VALUES


def infer_order(cells: Iterable[str]) -> DateOrder:
    """The day/month order the report's numeric dates use, from those that decide it."""
    day_first = month_first = False
    for cell in cells:
        match = NUMERIC.match(cell.strip())
        if not match:
            continue
        first, second = int(match.group(1)), int(match.group(3))
        day_first |= first > 12 >= second
        month_first |= second > 12 >= first
    if day_first and month_first:
        return DateOrder.MIXED
    if day_first:
        return DateOrder.DAY_FIRST
    if month_first:
        return DateOrder.MONTH_FIRST
    return DateOrder.UNDECIDED


def parse_date(raw: str, order: DateOrder = DateOrder.UNDECIDED) -> datetime | None:
    """``raw`` as a UTC datetime; None for AWS's "nothing to report" values.

    Raises ``UnreadableDate`` when ``raw`` is not a date or its day/month order is ambiguous.
    """
    value = raw.strip()
    if value.lower() in EMPTY_VALUES:
        return None
    text = value[:-1] + "+00:00" if value.endswith(("Z", "z")) else value
    parsed = iso(text) or dotted(text) or numeric(text, order)
    if parsed is None:
        raise UnreadableDate("not a date")
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def iso(text: str) -> datetime | None:
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        pass
    for fmt in ISO_FORMATS:
        try:
            return datetime.strptime(text, fmt)
        except ValueError:
            continue
    return None


def clock(hour: str | None, minute: str | None, second: str | None) -> tuple[int, int, int]:
    return int(hour or 0), int(minute or 0), int(second or 0)


def dotted(text: str) -> datetime | None:
    match = DOTTED.match(text)
    if not match:
        return None
    day, month, year = (int(match.group(i)) for i in (1, 2, 3))
    return build(year, month, day, *clock(*match.group(4, 5, 6)))


def numeric(text: str, order: DateOrder) -> datetime | None:
    match = NUMERIC.match(text)
    if not match:
        return None
    first, second = int(match.group(1)), int(match.group(3))
    year = int(match.group(4))
    if len(match.group(4)) == 2:
        year += 2000  # credential reports start in 2014
    hour, minute, sec = clock(*match.group(5, 6, 7))
    meridian = (match.group(8) or "").lower()
    if meridian:
        if not 1 <= hour <= 12:
            raise UnreadableDate("not a time of day")
        hour = hour % 12 + (12 if meridian == "p" else 0)
    if first == second or first > 12 or second > 12:
        # the date itself decides (or both orders give the same day)
        day, month = (first, second) if first > 12 or first == second else (second, first)
    elif order is DateOrder.DAY_FIRST:
        day, month = first, second
    elif order is DateOrder.MONTH_FIRST:
        day, month = second, first
    elif order is DateOrder.MIXED:
        raise UnreadableDate("day and month order ambiguous: the file's dates use both orders")
    else:
        raise UnreadableDate("day and month order ambiguous")
    return build(year, month, day, hour, minute, sec)


def build(year: int, month: int, day: int, hour: int, minute: int, second: int) -> datetime:
    try:
        return datetime(year, month, day, hour, minute, second)
    except ValueError:
        raise UnreadableDate("not a date") from None
