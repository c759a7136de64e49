"""The workspace check fails closed: with ``SLACK_TEAM_ID`` set, a signed payload that cannot be
shown to come from that workspace is refused before any listener; Enterprise Grid payloads pass
with ``SLACK_ENTERPRISE_ID``.

Through the running bot (HTTP mode): signed commands, clicks and form submissions in; nothing
may reach Slack's Web API, AWS (moto's server) or the store when refused.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import parse_qsl, urlencode

import pytest

from bot.slack.action_ids import ActionId
from simulator.aws import SimulatedAws
from simulator.slack import TEAM, SlackStandin
from tests.reliability.harness import (
    ALICE,
    APP_ID,
    CHANNEL,
    SIGNING_SECRET,
    Bot,
    bot_env,
    snapshot,
    view_payload,
)
from tests.support.signing import actions_body, command_body, post_signed

pytestmark = pytest.mark.slow

OTHER_TEAM = "T0OTHER001"
GRID = "E0GRID0001"  # the Enterprise Grid organization the workspace belongs to
SISTER_TEAM = "T0SISTER01"  # another workspace of that organization
OTHER_GRID = "E0OTHER001"


@pytest.fixture(scope="module")
def bot(
    slack: SlackStandin, moto_server: SimulatedAws, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Bot]:
    db = tmp_path_factory.mktemp("workspace") / "rootkey.db"
    env = bot_env(slack, moto_server.env(), ROOTKEY_SCOPE="org", SLACK_ENTERPRISE_ID=GRID)
    bot = Bot(env, f"sqlite:///{db}").start()
    yield bot
    bot.stop()


# -- payloads, edited the way an attacker would ---------------------------------------------------


def command(edit: Callable[[dict[str, Any]], None], url: str) -> str:
    fields = dict(parse_qsl(command_body("check all", response_url=url), keep_blank_values=True))
    edit(fields)
    return urlencode(fields)


def rerun_click(edit: Callable[[dict[str, Any]], None], url: str) -> str:
    """The "Re-run" button of an Organization result: it starts an Organization-wide audit."""
    [(_, raw)] = parse_qsl(actions_body(ActionId.RERUN.value, "org", response_url=url))
    payload = json.loads(raw)
    edit(payload)
    return urlencode({"payload": json.dumps(payload)})


def form(edit: Callable[[dict[str, Any]], None], _: str) -> str:
    view = {
        "id": "V0FORM0001",
        "type": "modal",
        "callback_id": "rootkey_remediation_request",
        "team_id": TEAM,
        "private_metadata": json.dumps(
            {"k": "remediation", "a": "111111111111", "c": CHANNEL, "t": None}
        ),
    }
    [(_, raw)] = parse_qsl(view_payload(view, ALICE, {"reason": "forged"}, api_app_id=APP_ID))
    payload = json.loads(raw)
    edit(payload)
    return urlencode({"payload": json.dumps(payload)})


def drop(*path: str) -> Callable[[dict[str, Any]], None]:
    def edit(payload: dict[str, Any]) -> None:
        target = payload
        for key in path[:-1]:
            target = target[key]
        target.pop(path[-1], None)

    return edit


def put(value: Any, *path: str) -> Callable[[dict[str, Any]], None]:
    def edit(payload: dict[str, Any]) -> None:
        target = payload
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value

    return edit


def both(*edits: Callable[[dict[str, Any]], None]) -> Callable[[dict[str, Any]], None]:
    def edit(payload: dict[str, Any]) -> None:
        for one in edits:
            one(payload)

    return edit


REFUSED = {
    "command without team_id": (command, drop("team_id")),
    "command with an empty team_id": (command, put("", "team_id")),
    "command with team_id null-ish": (command, put(" ", "team_id")),
    "command from another organization": (
        command,
        both(put(OTHER_TEAM, "team_id"), put(OTHER_GRID, "enterprise_id")),
    ),
    "command naming our team but another organization": (
        command,
        put(OTHER_GRID, "enterprise_id"),
    ),
    "click without team": (rerun_click, drop("team")),
    "click with team null": (rerun_click, put(None, "team")),
    "click with an empty team id": (rerun_click, put({"id": "", "domain": "x"}, "team")),
    "click without team nor user.team_id": (
        rerun_click,
        both(drop("team"), drop("user", "team_id")),
    ),
    "click by a user of another workspace": (rerun_click, put(OTHER_TEAM, "user", "team_id")),
    "click with a numeric team id": (rerun_click, put({"id": 1}, "team")),
    "form by a user of another workspace": (form, put(OTHER_TEAM, "user", "team_id")),
    "form without team": (form, drop("team")),
    "form opened in another workspace": (form, put(OTHER_TEAM, "view", "team_id")),
}

ACCEPTED = {
    "command from a sister workspace of the organization": (
        command,
        both(put(SISTER_TEAM, "team_id"), put(GRID, "enterprise_id")),
    ),
    "click with an organization-wide install (team null)": (
        rerun_click,
        both(
            put(None, "team"),
            put({"id": GRID, "name": "Grid"}, "enterprise"),
            put(SISTER_TEAM, "user", "team_id"),
        ),
    ),
    "click with Grid's empty enterprise fields": (
        rerun_click,
        put({"id": "", "name": ""}, "enterprise"),
    ),
}


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_a_payload_not_shown_to_come_from_the_workspace_is_refused(
    bot: Bot, fresh: SlackStandin, aws: SimulatedAws, case: str
) -> None:
    """Attack: with SLACK_TEAM_ID set, a payload with no team, an empty one, or a user of
    another workspace once started an Organization-wide audit."""
    aws.create_organization(members=["prod"])
    aws.reset_calls()
    before = snapshot(bot)
    build, edit = REFUSED[case]

    reply = post_signed(bot.url, build(edit, fresh.response_url()), SIGNING_SECRET)

    # refused in the middleware, before any listener: nothing can start after the answer
    assert reply.status_code == 403, reply.text
    assert fresh.attempts() == [] and fresh.responses() == []
    assert aws.call_count() == 0
    assert snapshot(bot) == before
    assert "refused a request for another workspace, or naming none" in bot.logs


@pytest.mark.parametrize("case", sorted(ACCEPTED))
def test_enterprise_grid_payloads_of_the_organization_are_served(
    bot: Bot, fresh: SlackStandin, aws: SimulatedAws, case: str
) -> None:
    aws.create_organization(members=["prod"])
    build, edit = ACCEPTED[case]

    reply = post_signed(bot.url, build(edit, fresh.response_url()), SIGNING_SECRET)

    assert reply.status_code == 200, reply.text
    [result] = fresh.wait_for(lambda: [m for m in fresh.messages(CHANNEL) if not m.thread_ts])
    assert "accounts" in result.args["text"]
    assert aws.call_count(action="ListAccounts") >= 1
