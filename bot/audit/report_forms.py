"""The forms a credential report comes in, unwrapped to the CSV inside.

* the CSV itself (the console's download, a spreadsheet's re-save), one report or several pasted
  together (``bot.audit.report``);
* the JSON of ``aws iam get-credential-report`` (``Content`` in base64, wrapped over lines or
  not), of a script that wrote ``Content`` already decoded, or of ``json.dumps(response,
  default=str)`` of boto3's answer (``Content`` a Python bytes literal); several documents one
  after the other, or a JSON array of them;
* the raw base64 of ``aws iam get-credential-report --query Content --output text``;
* the line of ``aws iam get-credential-report --output text`` (``Content``, ``GeneratedTime``
  and ``ReportFormat`` separated by tabs).

Anything else is refused with what it looks like and how to get a form that works.
Pure: no I/O, no boto3.
"""

from __future__ import annotations

import ast
import base64
import binascii
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any, TypeVar

from bot.audit.dates import UnreadableDate, parse_date
from bot.audit.report import Reading, ReportError, decode, parse_reports

HOW = (
    "download the CSV from the IAM console (Credential report) or save the output of "
    "`aws iam get-credential-report --output json`"
)
# (magic bytes, what the file is)
BINARY_FORMS = (
    (b"PK\x03\x04", "an Excel workbook (.xlsx) or another ZIP archive"),
    (b"\xd0\xcf\x11\xe0", "an Excel 97-2003 workbook (.xls)"),
    (b"%PDF", "a PDF document"),
    (b"\x1f\x8b", "gzip-compressed data (decompress it first)"),
)
BASE64_LINE = re.compile(r"^[A-Za-z0-9+/]+=*$")
TEXT_OUTPUT_LINE = re.compile(r"^([A-Za-z0-9+/]{8,}=*)\t([^\t]+)(?:\t([^\t]*))?$")
PYTHON_BYTES = re.compile(r"""['"]Content['"]\s*:\s*b['"]""")
BYTES_LITERAL = re.compile(r"b'(?:[^'\\]|\\.)*'|b\"(?:[^\"\\]|\\.)*\"", re.S)
ITEM = TypeVar("ITEM")


def unsupported(what: str, how: str = HOW) -> ReportError:
    return ReportError(f"not a credential report: this is {what}; {how}")


def load_reports(data: bytes | str) -> list[Reading]:
    """Every report in ``data``, whatever its form; raises ``ReportError`` when there is none."""
    if isinstance(data, bytes):
        for magic, what in BINARY_FORMS:
            if data.startswith(magic):
                raise unsupported(what, "save it as CSV (CSV UTF-8), or " + HOW)
    text = decode(data).strip()
    if text.startswith(("{", "[")):
        return from_json(text)
    if text.startswith("<"):
        raise unsupported("XML or HTML (an API answer or a web page)")
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if len(lines) > 1 and set(lines[0]) <= set("-+") and lines[1].startswith("|"):
        raise unsupported(
            "the AWS CLI's --output table, which cuts the report short",
            "run `aws iam get-credential-report --output json` instead",
        )
    if lines and all(TEXT_OUTPUT_LINE.match(line) for line in lines):
        return each(lines, from_text_line)
    if lines and all(BASE64_LINE.match(line) for line in lines):
        return from_base64(lines)
    return parse_reports(text)


def each(items: Sequence[ITEM], read: Callable[[ITEM], list[Reading]]) -> list[Reading]:
    """``read`` every item; with several, one that fails is that report's problem, not the
    whole file's (the others still get their verdicts), unless none is a report."""
    if len(items) == 1:
        return read(items[0])
    readings: list[Reading] = []
    failures: list[ReportError] = []
    for item in items:
        try:
            readings += read(item)
        except ReportError as exc:
            failures.append(exc)
            readings.append(Reading(None, problem=str(exc)))
    if len(failures) == len(items):
        raise failures[0]  # nothing in it is a report
    return readings


def generated(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return parse_date(value)
    except UnreadableDate:
        return None


def with_time(readings: list[Reading], generated_at: datetime | None) -> list[Reading]:
    return [replace(r, generated_at=generated_at) for r in readings]


# JSON ------------------------------------------------------------------------------------


def from_json(text: str) -> list[Reading]:
    documents: list[Any] = []
    decoder = json.JSONDecoder()
    position = 0
    try:
        while position < len(text):
            document, position = decoder.raw_decode(text, position)
            documents += document if isinstance(document, list) else [document]
            while position < len(text) and text[position].isspace():
                position += 1
    except ValueError:
        if PYTHON_BYTES.search(text):
            raise unsupported(
                "the Python repr of a boto3 answer (print(response))",
                "write response['Content'] (the CSV) to a file, or save the output of "
                "`aws iam get-credential-report --output json`",
            ) from None
        raise ReportError("not a credential report: malformed JSON") from None
    if not documents:
        raise ReportError("not a credential report: an empty JSON array")
    return each(documents, from_document)


def from_document(document: Any) -> list[Reading]:
    if not isinstance(document, dict) or not isinstance(document.get("Content"), str):
        raise ReportError("not a credential report: JSON without a Content field; " + HOW)
    content: str = document["Content"]
    if BYTES_LITERAL.fullmatch(content):
        # json.dumps(response, default=str) of a boto3 answer: Content is a Python bytes repr
        return with_time(
            parse_reports(bytes_literal(content)), generated(document.get("GeneratedTime"))
        )
    compact = "".join(content.split())
    try:
        csv_data: bytes | str = base64.b64decode(compact, validate=True)
    except (binascii.Error, ValueError):
        if not any(sep in content for sep in (",", ";", "\t")):
            raise ReportError(
                "not a credential report: Content is neither base64 nor CSV text"
            ) from None
        csv_data = content  # already decoded by the tool that wrote the JSON
    return with_time(parse_reports(csv_data), generated(document.get("GeneratedTime")))


def bytes_literal(text: str) -> bytes:
    """A Python bytes literal's value, read as a literal only (``ast.literal_eval``)."""
    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError):
        raise ReportError("not a credential report: Content is an unreadable bytes value") from None
    if not isinstance(value, bytes):
        raise ReportError("not a credential report: Content is an unreadable bytes value")
    return value


# the AWS CLI's text output ----------------------------------------------------------------


def from_text_line(line: str) -> list[Reading]:
    """``<base64 Content>\\t<GeneratedTime>\\ttext/csv`` (keys in sorted order, as the AWS CLI
    prints a structure's scalars)."""
    match = TEXT_OUTPUT_LINE.match(line)
    assert match is not None
    content = decode_base64(match.group(1))
    return with_time(parse_reports(content), generated(match.group(2)))


def from_base64(lines: list[str]) -> list[Reading]:
    """Raw base64: one report wrapped over lines, or one report per line."""
    try:
        return parse_reports(decode_base64("".join(lines)))
    except ReportError:
        if len(lines) == 1:
            raise
    return each(lines, lambda line: parse_reports(decode_base64(line)))


def decode_base64(text: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise ReportError(
            "not a credential report: looks like base64 but does not decode; " + HOW
        ) from None
