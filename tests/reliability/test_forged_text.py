"""Smaller trust holes: typed text that forges the bot's lines, CSV cells that run in
semicolon locales, and database errors that name the server.

Through the running bot: signed commands, clicks and form submissions in; the request message,
the CSV report and the private answers out (the Slack stand-in), AWS on moto's server, the
database a SQLite file or a throw-away PostgreSQL cluster stopped mid-run.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.remediation.states import State
from bot.slack.action_ids import ActionId
from simulator.aws import RootKeySpec, SimulatedAws, days_ago
from simulator.slack import SlackStandin
from tests.reliability.harness import (
    ALICE,
    APPROVER,
    CHANNEL,
    Bot,
    ask_for,
    bot_env,
    click,
    command,
    mrkdwn_of,
    wait_state,
)
from tests.support.pg_cluster import PgCluster

pytestmark = pytest.mark.slow

FORGED_REASON = (
    "unused since 2019\n*dry run*: nothing will be deleted\n"
    ":white_check_mark: *Approved by the security team*"
)


@pytest.fixture
def sqlite_bot(slack: SlackStandin, moto_server: SimulatedAws, tmp_path: Path) -> Iterator[Bot]:
    bot = Bot(bot_env(slack, moto_server.env(), ROOTKEY_SCOPE="org"), f"sqlite:///{tmp_path}/r.db")
    bot.start()
    yield bot
    bot.stop()


def keyed_account(aws: SimulatedAws) -> str:
    org = aws.create_organization(members=["prod"])
    account = org.members[0].account_id
    aws.set_root_keys(account, [RootKeySpec(slot=1, active=True, created=days_ago(400))])
    return account


def request_messages(slack: SlackStandin, request_id: int) -> list[dict[str, Any]]:
    """Every version of the request message: as posted, and as updated after decisions."""
    found = []
    for call in slack.calls("chat.postMessage") + slack.calls("chat.update"):
        blocks = call.args.get("blocks") or []
        if isinstance(blocks, str):
            blocks = json.loads(blocks)
        if any(b.get("block_id") == f"rootkey_request:{request_id}" for b in blocks):
            found.append({"blocks": blocks, "text": call.args.get("text")})
    return found


def test_a_multi_line_reason_cannot_forge_the_bots_lines(
    sqlite_bot: Bot, fresh: SlackStandin, aws: SimulatedAws
) -> None:
    """Attack: a reason whose second line reads "*dry run*: nothing will be deleted" once
    showed as one of the bot's own lines to the approvers."""
    bot = sqlite_bot
    request_id, ts = ask_for(bot, fresh, keyed_account(aws), ALICE, reason=FORGED_REASON)
    click(bot, fresh, ActionId.APPROVE.value, str(request_id), APPROVER, ts)
    wait_state(bot, request_id, State.TRACKING)
    messages = fresh.wait_for(
        lambda: (
            len(request_messages(fresh, request_id)) >= 2 and (request_messages(fresh, request_id))
        )
    )

    for message in messages:
        # no line the bot formats (mrkdwn, or the notification text) carries the typed text
        for text in mrkdwn_of(message):
            assert "dry run" not in text and "Approved by the security team" not in text, text
        # the reason is shown once, as typed, in a plain-text block on one line, quoted
        typed = [
            b["text"]["text"]
            for b in message["blocks"]
            if b.get("type") == "section" and b["text"]["type"] == "plain_text"
        ]
        assert typed == [
            "Reason: “unused since 2019 *dry run*: nothing will be deleted "
            ":white_check_mark: *Approved by the security team*”"
        ]
        assert all(
            b["text"].get("emoji") is False
            for b in message["blocks"]
            if b.get("type") == "section" and b["text"]["type"] == "plain_text"
        )


# -- CSV cells in semicolon locales ------------------------------------------------------------

NAMES = ["prod;=1+1", "dev,@SUM(1+1)", "qa|-2+3", "ops; +cmd", "plain-name"] + [
    f"member-{i:02d}" for i in range(10)
]


def test_account_names_with_a_formula_after_a_separator_are_quoted_and_prefixed(
    sqlite_bot: Bot, fresh: SlackStandin, aws: SimulatedAws
) -> None:
    """Attack: an account named ``prod;=1+1`` opened as a formula where ``;`` separates
    cells (the CSV report of a large result, attached in Slack)."""
    org = aws.create_organization(members=NAMES)
    aws.set_root_keys(org.members[0].account_id, [RootKeySpec(slot=1, active=True)])

    command(sqlite_bot, fresh, "check all")

    [upload] = fresh.wait_for(lambda: fresh.uploads(), timeout=60)
    raw = upload.content.decode()
    lines = [line for line in raw.split("\r\n") if line]
    # every cell quoted: a reader splitting on ";" keeps "prod;=1+1" in one cell
    for line in lines:
        [row] = list(csv.reader([line]))
        assert line == ",".join('"' + cell.replace('"', '""') + '"' for cell in row), line
    names = {row["account_name"] for row in csv.DictReader(io.StringIO(raw))}
    for hostile in NAMES[:4]:
        assert "'" + hostile in names, names
    assert "plain-name" in names and "'plain-name" not in names
    # read the way a semicolon-locale spreadsheet would: no cell starts a formula
    for line in lines:
        for cell in spreadsheet_cells(line, ";"):
            assert not cell.lstrip().startswith(("=", "+", "-", "@")), (cell, line)


def spreadsheet_cells(line: str, delimiter: str) -> list[str]:
    """Cells as a spreadsheet splits a line: a quote switches quoting on and off (a doubled
    one inside quotes is a quote), the delimiter splits only outside quotes."""
    cells, cell, quoted, i = [], [], False, 0
    while i < len(line):
        char = line[i]
        if char == '"':
            if quoted and line[i + 1 : i + 2] == '"':
                cell.append('"')
                i += 1
            else:
                quoted = not quoted
        elif char == delimiter and not quoted:
            cells.append("".join(cell))
            cell = []
        else:
            cell.append(char)
        i += 1
    cells.append("".join(cell))
    return cells


# -- database errors ----------------------------------------------------------------------------


def test_a_database_error_in_slack_says_only_database_not_available(
    pg_cluster: PgCluster, slack: SlackStandin, fresh: SlackStandin, aws: SimulatedAws
) -> None:
    """Attack-free but telling: a stopped PostgreSQL once put the driver's text (host, port,
    role) in the private answer, the result's note and the request's thread."""
    bot = Bot(bot_env(slack, aws.env(), ROOTKEY_SCOPE="org"), pg_cluster.url).start()
    try:
        account = keyed_account(aws)
        request_id, ts = ask_for(bot, fresh, account, ALICE)
        pg_cluster.stop()
        seen = len(fresh.responses())

        click(bot, fresh, ActionId.APPROVE.value, str(request_id), APPROVER, ts)
        command(bot, fresh, f"history {account}")
        command(bot, fresh, "check all")

        fresh.wait_for(lambda: len(fresh.responses()) >= seen + 2, timeout=60)
        fresh.wait_for(
            lambda: [m for m in fresh.messages(CHANNEL) if "not saved" in json.dumps(m.args)],
            timeout=60,
        )
        said = json.dumps(fresh.responses()[seen:]) + json.dumps(
            [m.args for m in fresh.messages(CHANNEL)]
        )
        assert "database not available" in said
        for leak in (str(pg_cluster.port), "127.0.0.1", "postgres", "psycopg", "connection"):
            assert leak not in said, leak
        # the detail is in the bot's log, for the operator
        assert str(pg_cluster.port) in bot.logs
    finally:
        pg_cluster.start()
        bot.stop()
