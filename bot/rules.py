"""The small rules written once: AWS account ids, Slack user and group ids, CSV cells.

Every pattern is matched whole (``fullmatch``) and takes ASCII digits only: ``\\d`` also
matches other scripts' digits, and ``$`` lets a trailing newline through.
"""

from __future__ import annotations

import re

ACCOUNT_ID = re.compile(r"[0-9]{12}")
DASHED_ACCOUNT_ID = re.compile(r"[0-9]{4}-[0-9]{4}-[0-9]{4}")  # as the AWS console shows it
SLACK_USER_ID = re.compile(r"[UW][A-Z0-9]{2,20}")  # W...: Enterprise Grid
SLACK_GROUP_ID = re.compile(r"S[A-Z0-9]{2,20}")
SLACK_TEAM_ID = re.compile(r"T[A-Z0-9]{2,20}")  # a workspace
SLACK_ENTERPRISE_ID = re.compile(r"E[A-Z0-9]{2,20}")  # an Enterprise Grid organization

# A spreadsheet runs a cell that starts with one of these as a formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# ... and a cell holding one right after a separator: a reader that splits on ";" (semicolon
# locales), "," "|" a tab or a line break, and ignores quotes, starts a new cell there.
FORMULA_AFTER_SEPARATOR = re.compile(r"[,;|\t\r\n][ ]*[=+\-@]")


def is_account_id(value: str) -> bool:
    return ACCOUNT_ID.fullmatch(value) is not None


def is_user_id(value: str) -> bool:
    return SLACK_USER_ID.fullmatch(value) is not None


def is_group_id(value: str) -> bool:
    return SLACK_GROUP_ID.fullmatch(value) is not None


def is_team_id(value: str) -> bool:
    return SLACK_TEAM_ID.fullmatch(value) is not None


def is_enterprise_id(value: str) -> bool:
    return SLACK_ENTERPRISE_ID.fullmatch(value) is not None


def csv_cell(value: object) -> str:
    """A CSV cell a spreadsheet shows as text and never runs as a formula: a leading ``'``
    when it starts with a formula trigger or holds one right after a separator (``prod;=1+1``).
    Writers quote every cell as well (``csv.QUOTE_ALL``)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(value)
    if text.startswith(FORMULA_STARTS) or FORMULA_AFTER_SEPARATOR.search(text):
        return "'" + text
    return text
