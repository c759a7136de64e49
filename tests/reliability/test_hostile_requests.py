"""Hostile and bad requests against the real bot process (HTTP mode, signed like Slack).

Bad signatures, replays, payloads for another workspace or app, unknown action ids, tampered
button values and ``private_metadata``: each is refused or answered privately in one line, and
nothing changes (no audit, no message in the channel, no request moved, no log line lost).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import pytest
import requests

from bot.remediation.states import State
from bot.slack.action_ids import ActionId
from simulator.aws import RootKeySpec, SimulatedAws, days_ago
from simulator.slack import TEAM, SlackStandin
from tests.reliability.harness import (
    ALICE,
    APP_ID,
    APPROVER,
    CHANNEL,
    FINDING_TS,
    MALLORY,
    SIGNING_SECRET,
    Bot,
    ask_for,
    bot_env,
    click,
    command,
    decide_buttons,
    filled_form,
    live_markup,
    posted_now,
    snapshot,
    submit,
    view_payload,
    wait_until,
)
from tests.support.signing import actions_body, command_body, post_signed, sign

pytestmark = pytest.mark.slow

TEN_KB = "9" * 10_240
OTHER_TS = "1700000000.999999"  # a message that is not the request's


@pytest.fixture(scope="module")
def bot(
    slack: SlackStandin, moto_server: SimulatedAws, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Bot]:
    db = tmp_path_factory.mktemp("hostile") / "rootkey.db"
    env = bot_env(slack, moto_server.env(), ROOTKEY_SCOPE="org")
    bot = Bot(env, f"sqlite:///{db}").start()
    yield bot
    bot.stop()


def org_with_key(aws: SimulatedAws, names: tuple[str, ...] = ("prod", "dev")) -> list[str]:
    org = aws.create_organization(members=list(names))
    accounts = [m.account_id for m in org.members]
    aws.set_root_keys(accounts[0], [RootKeySpec(slot=1, active=True, created=days_ago(400))])
    aws.reset_calls()  # count only what the bot does
    return accounts


def results(slack: SlackStandin) -> list[Any]:
    return [m for m in slack.messages(CHANNEL) if not m.thread_ts]


def quiet_for(slack: SlackStandin, seconds: float = 1.0) -> None:
    """Give the bot time to do anything it (wrongly) might; then the tests look."""
    time.sleep(seconds)


# -- signatures ------------------------------------------------------------------------------


def headers(body: str, *, secret: str = SIGNING_SECRET, ts: str | None = None) -> dict[str, str]:
    stamp = ts if ts is not None else str(int(time.time()))
    return {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Slack-Request-Timestamp": stamp,
        "X-Slack-Signature": sign(secret, stamp, body),
    }


BAD_SIGNATURES = {
    "missing both headers": lambda body: {"Content-Type": "application/x-www-form-urlencoded"},
    "missing signature": lambda body: {
        k: v for k, v in headers(body).items() if k != "X-Slack-Signature"
    },
    "missing timestamp": lambda body: {
        k: v for k, v in headers(body).items() if k != "X-Slack-Request-Timestamp"
    },
    "wrong secret": lambda body: headers(body, secret="not-the-signing-secret"),
    "stale (10 minutes old)": lambda body: headers(body, ts=str(int(time.time()) - 600)),
    "from the future (10 minutes)": lambda body: headers(body, ts=str(int(time.time()) + 600)),
    "timestamp not a number": lambda body: {**headers(body), "X-Slack-Request-Timestamp": "now"},
    "v1 scheme": lambda body: {
        **headers(body),
        "X-Slack-Signature": headers(body)["X-Slack-Signature"].replace("v0=", "v1="),
    },
    "signature of another body": lambda body: headers(body + "&text=check+all"),
    "empty signature": lambda body: {**headers(body), "X-Slack-Signature": ""},
}


@pytest.mark.parametrize("kind", ["command", "click"])
def test_missing_bad_and_stale_signatures_get_401(
    bot: Bot, fresh: SlackStandin, aws: SimulatedAws, kind: str
) -> None:
    org_with_key(aws)
    if kind == "command":
        body = command_body("check all", response_url=fresh.response_url(), api_app_id=APP_ID)
    else:
        body = actions_body(ActionId.RERUN.value, "org", response_url=fresh.response_url())
    statuses = {
        name: requests.post(bot.url, data=body.encode(), headers=make(body), timeout=10).status_code
        for name, make in BAD_SIGNATURES.items()
    }
    quiet_for(fresh)
    assert statuses == dict.fromkeys(BAD_SIGNATURES, 401)
    assert fresh.attempts() == [] and fresh.responses() == [], "a refused request did nothing"
    assert aws.call_count(action="ListAccounts") == 0, "no audit was started"


def test_a_replayed_valid_command_does_not_start_a_second_audit(
    bot: Bot, fresh: SlackStandin, aws: SimulatedAws
) -> None:
    org_with_key(aws)
    body = command_body("check all", response_url=fresh.response_url())
    sent = headers(body)
    replies = [
        requests.post(bot.url, data=body.encode(), headers=sent, timeout=10) for _ in range(3)
    ]
    assert [r.status_code for r in replies] == [200, 200, 200]
    assert "Auditing" in replies[0].text and not replies[1].text and not replies[2].text
    fresh.wait_for(lambda: fresh.messages(CHANNEL))
    quiet_for(fresh, 1.5)
    assert len(fresh.messages(CHANNEL)) == 1
    assert aws.call_count(action="ListAccounts") == 1, "one audit, not three"


def test_a_replayed_click_acts_once(bot: Bot, fresh: SlackStandin, aws: SimulatedAws) -> None:
    org_with_key(aws)
    body = actions_body(ActionId.RERUN.value, "org", response_url=fresh.response_url())
    sent = headers(body)
    for _ in range(3):
        assert requests.post(bot.url, data=body.encode(), headers=sent, timeout=10).ok
    fresh.wait_for(lambda: fresh.messages(CHANNEL))
    quiet_for(fresh, 1.5)
    assert len(fresh.messages(CHANNEL)) == 1
    assert aws.call_count(action="ListAccounts") == 1


@pytest.mark.parametrize(
    "team, app_id", [("T0OTHER001", APP_ID), (TEAM, "A0OTHERAPP"), ("T0OTHER001", "A0OTHERAPP")]
)
def test_payloads_for_another_workspace_or_app_are_refused(
    bot: Bot, fresh: SlackStandin, aws: SimulatedAws, team: str, app_id: str
) -> None:
    accounts = org_with_key(aws)
    before = snapshot(bot)
    url = fresh.response_url()
    bodies = [
        command_body("check all", response_url=url, team=team, api_app_id=app_id),
        actions_body(
            ActionId.REQUEST_REMEDIATION.value,
            f"{accounts[0]}:",
            response_url=url,
            team=team,
            api_app_id=app_id,
            trigger_id=fresh.workspace.new_trigger("U0ALICE001"),
        ),
        view_payload(
            {
                "id": "V0FORM0001",
                "type": "modal",
                "callback_id": "rootkey_remediation_request",
                "private_metadata": json.dumps(
                    {"k": "remediation", "a": accounts[0], "c": CHANNEL, "t": None}
                ),
            },
            ALICE,
            {"reason": "forged from another workspace"},
            team=team,
            api_app_id=app_id,
        ),
    ]
    statuses = [post_signed(bot.url, body, SIGNING_SECRET).status_code for body in bodies]
    quiet_for(fresh)
    assert all(s in (401, 403) for s in statuses), statuses
    assert fresh.attempts() == [] and fresh.responses() == []
    assert aws.call_count() == 0
    assert snapshot(bot) == before


@pytest.mark.parametrize(
    "action_id", ["rootkey_delete_everything", "rootkey_approve_all", "", "x" * 300]
)
def test_unknown_action_ids_change_nothing(
    bot: Bot, fresh: SlackStandin, aws: SimulatedAws, action_id: str
) -> None:
    accounts = org_with_key(aws)
    before = snapshot(bot)
    reply = click(bot, fresh, action_id, f"{accounts[0]}:", APPROVER)
    quiet_for(fresh)
    assert reply.status_code in (200, 404), reply.status_code
    assert not posted_now(fresh) and aws.call_count() == 0
    assert snapshot(bot) == before


# -- tampered values -----------------------------------------------------------------------------

GARBAGE_VALUES = [
    "",
    "abc",
    "-1",
    "1 OR 1=1",
    "0x10",
    "²",
    " 1",
    "1e3",
    "{}",
    '{"id": 1}',
    "../../1",
    TEN_KB,
    "<!channel>",
]


def clicks(
    bot: Bot, slack: SlackStandin, action: str, values: list[str], user: str, ts: str = FINDING_TS
) -> list[str]:
    """One click per value, each with its own response_url; returns those urls."""
    urls = []
    for value in values:
        urls.append(slack.response_url())
        reply = click(bot, slack, action, value, user, ts, response_url=urls[-1])
        assert reply.status_code == 200
    return urls


def private_answers(slack: SlackStandin, urls: list[str]) -> list[str]:
    """The answer to each click, matched by its response_url (answers to clicks made one
    after the other may arrive in any order)."""
    replies = [slack.answer_to(url) for url in urls]
    for r in replies:
        assert r.get("response_type", "ephemeral") == "ephemeral"
        assert not live_markup(r), live_markup(r)
    return [str(r.get("text")) for r in replies]


@pytest.mark.parametrize("action", [ActionId.APPROVE, ActionId.REJECT, ActionId.VERIFY_NOW])
def test_tampered_request_buttons_change_nothing_and_answer_privately(
    bot: Bot, fresh: SlackStandin, aws: SimulatedAws, action: ActionId
) -> None:
    accounts = org_with_key(aws)
    request_id, ts = ask_for(bot, fresh, accounts[0], ALICE)
    before = snapshot(bot)
    values = [*GARBAGE_VALUES, "999999", str(request_id + 1000), "9" * 19]
    urls = clicks(bot, fresh, action.value, values, APPROVER, ts)
    texts = private_answers(fresh, urls)
    quiet_for(fresh, 0.5)
    requests_after, log_after = snapshot(bot)
    assert requests_after == before[0], "no request changed"
    assert [e for e in log_after if e.event != "refused"] == [
        e for e in before[1] if e.event != "refused"
    ]
    assert all(len(fresh.responses(to=url)) == 1 for url in urls), "one answer per click"
    assert len(fresh.responses()) == len(values), "no answer but those"
    for text in texts:
        assert "\n" not in text.strip() and len(text) < 300, text
        assert "not valid" in text or "does not exist" in text, text
    assert bot.store.get(request_id).state is State.REQUESTED
    assert "Traceback" not in bot.logs


def test_clicks_carrying_another_requests_id_follow_that_requests_rules(
    bot: Bot, fresh: SlackStandin, aws: SimulatedAws
) -> None:
    """A button value names a request; rights and state are checked on the request it names,
    so pointing a click at another request gains nothing."""
    accounts = org_with_key(aws, ("prod", "dev", "test"))
    aws.set_root_keys(accounts[1], [RootKeySpec(slot=1, active=True)])
    mine, my_ts = ask_for(bot, fresh, accounts[0], ALICE)
    theirs, _ = ask_for(bot, fresh, accounts[1], APPROVER)
    before = snapshot(bot)
    # The approver clicks Approve on ALICE's message, but the value names their own request.
    [own] = clicks(bot, fresh, ActionId.APPROVE.value, [str(theirs)], APPROVER, my_ts)
    # Mallory clicks Reject with ALICE's request id on another message.
    [stranger] = clicks(bot, fresh, ActionId.REJECT.value, [str(mine)], MALLORY, OTHER_TS)
    own_answer, stranger_answer = private_answers(fresh, [own, stranger])
    assert "cannot approve" in own_answer and f"#{theirs}" in own_answer, own_answer
    assert "Only approvers" in stranger_answer and f"#{mine}" in stranger_answer
    assert snapshot(bot)[0] == before[0]
    refused = [e for e in bot.store.log() if e.event == "refused"]
    assert {(e.request_id, e.actor) for e in refused} >= {(theirs, APPROVER), (mine, MALLORY)}


@pytest.mark.parametrize(
    "action", [ActionId.REQUEST_REMEDIATION, ActionId.ACCEPT_RISK, ActionId.RERUN]
)
def test_tampered_finding_and_rerun_values_answer_privately(
    bot: Bot, fresh: SlackStandin, aws: SimulatedAws, action: ActionId
) -> None:
    org_with_key(aws)
    before = snapshot(bot)
    values = [v for v in GARBAGE_VALUES if v] + ["12345678901:", "accounts:", "accounts:1,2"]
    texts = private_answers(fresh, clicks(bot, fresh, action.value, values, ALICE))
    quiet_for(fresh, 0.5)
    assert all("not valid" in t for t in texts), texts
    assert not fresh.calls("views.open") and not posted_now(fresh)
    # No account was audited (an earlier test's background key-usage lookup may still be
    # reading CloudTrail through the audit role; it never reads the account summary).
    assert aws.call_count(action="GetAccountSummary") == aws.call_count(action="ListAccounts") == 0
    assert snapshot(bot) == before


def test_tampered_private_metadata_changes_nothing(
    bot: Bot, fresh: SlackStandin, aws: SimulatedAws
) -> None:
    accounts = org_with_key(aws)
    updates = len(fresh.calls("views.update"))
    click(bot, fresh, ActionId.REQUEST_REMEDIATION.value, f"{accounts[0]}:", ALICE)
    form = filled_form(fresh, accounts[0], after=updates)
    before = snapshot(bot)
    metas = [
        "",
        "garbage",
        TEN_KB,
        "[]",
        "null",
        json.dumps({"k": "remediation"}),
        json.dumps({"k": "exception", "a": accounts[0], "c": CHANNEL, "t": None}),  # wrong kind
        json.dumps({"k": "remediation", "a": "１２３４５６７８９０１２", "c": CHANNEL, "t": None}),
        json.dumps({"k": "remediation", "a": accounts[0], "c": CHANNEL, "t": {"x": 1}}),
        json.dumps({"k": "remediation", "a": accounts[0] + "0", "c": CHANNEL, "t": None}),
    ]
    for meta in metas:
        reply = submit(bot, {**form, "private_metadata": meta}, ALICE, {"reason": "tampered"})
        assert reply.status_code == 200
        answer = reply.json()
        assert answer["response_action"] == "errors", answer
        assert "not valid" in json.dumps(answer["errors"])
    quiet_for(fresh, 0.5)
    assert snapshot(bot) == before
    assert not decide_buttons(fresh)


def test_a_remediation_form_for_another_account_is_checked_against_aws(
    bot: Bot, fresh: SlackStandin, aws: SimulatedAws
) -> None:
    """``private_metadata`` edited to name another account: the bot re-audits that account
    itself and only files a request when AWS shows a root key there."""
    accounts = org_with_key(aws)  # accounts[1] is compliant
    updates = len(fresh.calls("views.update"))
    click(bot, fresh, ActionId.REQUEST_REMEDIATION.value, f"{accounts[1]}:", ALICE)
    quiet_for(fresh, 1.0)
    form_views = [
        c.args["view"]
        for c in fresh.calls("views.update")[updates:]
        if c.args["view"].get("submit")
    ]
    assert not form_views, "no request form for an account without a root key"
    assert "no root access key" in json.dumps([c.args for c in fresh.calls("views.update")])
    assert not decide_buttons(fresh)


# -- hostile text end to end ---------------------------------------------------------------------

HOSTILE = "<!channel> <@U0EVIL0001> <https://evil.example|verify> @here *bold* 账户 حساب"


def test_hostile_text_is_inert_in_everything_posted(
    bot: Bot, fresh: SlackStandin, aws: SimulatedAws
) -> None:
    accounts = org_with_key(aws, (HOSTILE, "x" * 60 + HOSTILE))
    reply = command(bot, fresh, f"check {HOSTILE} " + "y" * 5000)
    assert reply.status_code == 200 and not live_markup(reply.json())
    reply = command(bot, fresh, f"{HOSTILE}")
    assert reply.status_code == 200 and not live_markup(reply.json())
    command(bot, fresh, "check all")
    result = fresh.wait_for(lambda: fresh.messages(CHANNEL))[0]
    assert "账户" in json.dumps(result.args, ensure_ascii=False), "non-Latin text survives"
    request_id, _ = ask_for(bot, fresh, accounts[0], ALICE, reason=HOSTILE + " " + "z" * 1900)
    click(bot, fresh, ActionId.REJECT.value, str(request_id), APPROVER)
    wait_until(lambda: bot.store.get(request_id).state is State.REJECTED)
    command(bot, fresh, f"history {accounts[0]}")
    status_url = fresh.response_url()
    command(bot, fresh, "status", response_url=status_url)
    assert not live_markup(fresh.answer_to(status_url))
    command(bot, fresh, "digest")
    fresh.wait_for(
        lambda: any("digest" in str(m.args.get("text")).lower() for m in fresh.messages())
    )
    fresh.wait_for(lambda: len(fresh.messages(CHANNEL)) >= 3)
    posted = [c.args for c in fresh.calls() if c.method.startswith(("chat.", "views."))]
    posted += fresh.responses()
    assert len(posted) >= 6
    problems = [p for args in posted for p in live_markup(args)]
    assert problems == []


def test_nothing_is_logged_with_a_traceback(bot: Bot) -> None:
    """After every hostile request above, the log holds one-line warnings, no tracebacks."""
    assert "Traceback" not in bot.logs
    assert bot.process is not None and bot.process.alive(), "the bot is still running"


def test_oversized_and_malformed_bodies_are_refused(bot: Bot, fresh: SlackStandin) -> None:
    """Only Slack (holding the signing secret) could send these; they are refused and the bot
    keeps serving."""
    bodies = ["payload=not-json", "payload=" + "%7B" * 5000, urlencode({"payload": "[]"})]
    for body in bodies:
        reply = post_signed(bot.url, body, SIGNING_SECRET)
        assert reply.status_code >= 400, (body[:30], reply.status_code)
    huge = "x" * (1024 * 1024 + 1)
    reply = requests.post(bot.url, data=huge, headers=headers(huge), timeout=30)
    assert reply.status_code == 413
    quiet_for(fresh)
    assert not posted_now(fresh)
    health = requests.get(bot.url.replace("/slack/events", "/healthz"), timeout=5)
    assert health.status_code == 200


def test_report_files_are_not_served(bot: Bot) -> None:
    for path in ["/../../etc/passwd", "/rootkey.db", "/slack/events/../../rootkey.db"]:
        reply = requests.get(bot.url.replace("/slack/events", path), timeout=5)
        assert reply.status_code in (400, 404, 405), (path, reply.status_code)


def garbage_payload(**fields: Any) -> str:
    """A ``payload=`` body of the payload type ``fields`` names (the envelope of Slack's
    block_actions / view_submission payloads, as in ``tests.support.signing``) with the parts
    the listener reads missing."""
    payload = {
        "team": {"id": TEAM, "domain": "example"},
        "user": {"id": MALLORY, "username": "mallory", "team_id": TEAM},
        "api_app_id": APP_ID,
        "token": "deprecated-verification-token",
        "trigger_id": f"{time.time_ns() % 10**12}.{time.time_ns() % 10**9}",
        **fields,
    }
    return urlencode({"payload": json.dumps(payload)})


SIGNED_GARBAGE = {
    "payload not JSON": lambda: "payload=%7Bbroken",
    "payload a JSON list": lambda: urlencode({"payload": "[]"}),
    "form without its view": lambda: garbage_payload(type="view_submission"),
    "form whose view is text": lambda: garbage_payload(type="view_submission", view="x"),
    "click without actions": lambda: garbage_payload(
        type="block_actions", response_url="", channel={"id": CHANNEL}
    ),
    "click whose actions are text": lambda: garbage_payload(type="block_actions", actions="x"),
}


@pytest.mark.parametrize("kind", list(SIGNED_GARBAGE))
def test_signed_garbage_is_refused_with_400_in_one_log_line(
    bot: Bot, fresh: SlackStandin, kind: str
) -> None:
    """A correctly signed body whose payload is broken is a client error, not the bot's: 400
    (a 5xx makes Slack send it again), one warning line, no traceback, nothing done."""
    logged = len(bot.logs)
    before = snapshot(bot)
    reply = post_signed(bot.url, SIGNED_GARBAGE[kind](), SIGNING_SECRET)
    assert reply.status_code == 400, (kind, reply.status_code, reply.text)
    said = wait_until(
        lambda: [line for line in bot.logs[logged:].splitlines() if "malformed" in line],
        what="the refusal logged",
    )
    assert len(said) == 1, said
    quiet_for(fresh)
    assert "Traceback" not in bot.logs[logged:], bot.logs[logged:]
    assert not posted_now(fresh) and not fresh.responses()
    assert snapshot(bot) == before
