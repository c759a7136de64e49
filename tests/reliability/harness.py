"""Plumbing of the reliability tests: the real bot process with a store that survives
restarts, signed clicks and form submissions, and checks that posted text is inert.

No pytest fixtures here (``conftest.py`` has them); ``bench/load.py`` uses this module too.
"""

from __future__ import annotations

import json
import re
from typing import Any

import requests

from bot.remediation.models import LogEntry, Request
from bot.remediation.states import State
from bot.slack.action_ids import ActionId
from bot.store.engine import create_store_engine
from bot.store.remediation import RemediationStore
from simulator.slack import TEAM, SlackStandin
from tests.support import slackflow, waiting
from tests.support.botproc import BotProcess
from tests.support.botproc import export_log as export_log
from tests.support.signing import command_body, post_signed
from tests.support.slackflow import filled_form as filled_form
from tests.support.slackflow import private_answer as private_answer
from tests.support.slackflow import view_payload as view_payload
from tests.support.waiting import wait_until as wait_until

# Distinctive values: a test scans everything the bot wrote for them.
BOT_TOKEN = "xoxb-111-222-rk6SECRETbottokenQ7f3"
SIGNING_SECRET = "rk6SECRETsigningsecretZ9x2"
AWS_SECRET = "rk6SECRETawssecretkeyK4m8"
SECRETS = (BOT_TOKEN, SIGNING_SECRET, AWS_SECRET)

CHANNEL = "C0ROOTKEY1"
APP_ID = "A0ROOTKEY1"
FINDING_TS = "1700000000.000100"
ALICE = "U0ALICE001"  # asks for fixes, not an approver
APPROVER = "U0APPROVE1"  # named in ROOTKEY_APPROVERS
APPROVER_2 = "U0APPROVE3"  # named in ROOTKEY_APPROVERS
GROUP_APPROVER = "U0APPROVE2"  # approver through the user group
APPROVER_GROUP = "S0SECOPS01"
MALLORY = "U0MALLORY1"  # nobody in particular


class Bot:
    """One bot configuration; its database outlives restarts and kills of the process."""

    def __init__(self, env: dict[str, str], database_url: str) -> None:
        self.database_url = database_url
        self.env = {**env, "DATABASE_URL": database_url}
        self.process: BotProcess | None = None
        self.previous_logs = ""
        self._store: RemediationStore | None = None

    @property
    def store(self) -> RemediationStore:
        if self._store is None:
            self._store = RemediationStore(create_store_engine(self.database_url))
        return self._store

    def start(self, wait: float = 60.0) -> Bot:
        self.process = BotProcess(self.env)
        self.process.start(wait)
        return self

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop()
            self.previous_logs += self.process.logs
            self.process = None

    def kill(self) -> None:
        """SIGKILL: no clean-up of any kind."""
        assert self.process is not None
        self.process.kill()
        self.previous_logs += self.process.logs
        self.process = None

    def restart(self) -> Bot:
        self.stop()
        return self.start()

    def wait_idle(self, timeout: float = 30.0) -> None:
        """Until ``/healthz`` reports no pending job: the work an earlier click started (an
        audit, a request's steps) has ended and cannot land in what the next test reads."""
        assert self.process is not None, "the bot is not running"
        process = self.process

        def idle() -> bool:
            health = process.wait_healthy(timeout)
            return health.get("pending_jobs") == 0 and health.get("pending_audits") == 0

        wait_until(idle, timeout, what="the bot idle")

    @property
    def url(self) -> str:
        assert self.process is not None, "the bot is not running"
        return self.process.events_url

    @property
    def logs(self) -> str:
        return self.previous_logs + (self.process.logs if self.process else "")


def bot_env(slack: SlackStandin, aws_env: dict[str, str], **settings: str) -> dict[str, str]:
    return {
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": slack.base_url,
        "SLACK_TEAM_ID": TEAM,
        "SLACK_APP_ID": APP_ID,
        "ROOTKEY_APPROVERS": f"{APPROVER},{APPROVER_2},{APPROVER_GROUP}",
        **aws_env,
        "AWS_SECRET_ACCESS_KEY": AWS_SECRET,
        **settings,
    }


# -- requests into the bot -----------------------------------------------------------------------


def command(
    bot: Bot, slack: SlackStandin, text: str, user: str = ALICE, **kw: Any
) -> requests.Response:
    response_url = kw.pop("response_url", None) or slack.response_url()
    body = command_body(text, response_url=response_url, user=user, **kw)
    return post_signed(bot.url, body, SIGNING_SECRET)


def click(
    bot: Bot,
    slack: SlackStandin,
    action: str,
    value: str,
    user: str,
    ts: str = FINDING_TS,
    **kw: Any,
) -> requests.Response:
    return slackflow.click(bot.url, slack, action, value, user, ts, secret=SIGNING_SECRET, **kw)


def click_answer(
    bot: Bot, slack: SlackStandin, action: str, value: str, user: str, ts: str = FINDING_TS
) -> str:
    """Click and return the private answer to that click."""
    return slackflow.click_answer(bot.url, slack, action, value, user, ts, secret=SIGNING_SECRET)


def submit(
    bot: Bot, view: dict[str, Any], user: str, values: dict[str, Any], **kw: Any
) -> requests.Response:
    return slackflow.submit(bot.url, view, user, values, secret=SIGNING_SECRET, **kw)


def decide_buttons(slack: SlackStandin) -> dict[int, str]:
    """request id -> ts of every request message (the one with Approve / Reject)."""
    return slackflow.decide_buttons(slack, CHANNEL)


def ask_for(
    bot: Bot,
    slack: SlackStandin,
    account: str,
    user: str = ALICE,
    action: ActionId = ActionId.REQUEST_REMEDIATION,
    reason: str = "unused since 2019, owner agrees",
    extra: dict[str, Any] | None = None,
) -> tuple[int, str]:
    """Button, form, submit: returns the new request's id and the ts of its message."""
    known = set(decide_buttons(slack))
    updates = len(slack.calls("views.update"))
    reply = click(bot, slack, action.value, f"{account}:", user)
    assert reply.status_code == 200, reply.text
    form = filled_form(slack, account, after=updates)
    reply = submit(bot, form, user, {"reason": reason, "ticket": None, **(extra or {})})
    assert reply.status_code == 200 and not reply.text, reply.text
    new = slack.wait_for(lambda: set(decide_buttons(slack)) - known)
    request_id = max(new)
    ts = decide_buttons(slack)[request_id]
    wait_until(lambda: bot.store.get(request_id).where.message == ts, what="request message saved")
    return request_id, ts


def posted_now(slack: SlackStandin) -> list[Any]:
    """What the bot posted, less key-usage summaries in request threads: that CloudTrail lookup
    ends in the background after a request is made, so an earlier test's summary may land in
    this one (a request made by this test shows in ``snapshot`` instead)."""
    return [
        m
        for m in slack.messages()
        if not (m.thread_ts and "What used the root keys" in (m.args.get("text") or ""))
    ]


def snapshot(bot: Bot) -> tuple[list[Request], list[LogEntry]]:
    """Every request and every audit-log line, to compare before and after."""
    return bot.store.find(), list(bot.store.iter_log(None))


def wait_state(bot: Bot, request_id: int, state: State, timeout: float = 30.0) -> Request:
    return waiting.wait_state(bot.store, request_id, state, timeout, lambda: bot.logs)


# -- what the bot said ----------------------------------------------------------------------------

LIVE_MARKUP = re.compile(
    r"<!(channel|here|everyone)|<@U0EVIL|<#C0EVIL|<!subteam\^S0EVIL|<https://evil",
    re.IGNORECASE,
)
MASS_MENTION = re.compile(r"(?<![\w\u200b])@(channel|here|everyone)\b", re.IGNORECASE)


def mrkdwn_of(payload: Any) -> list[str]:
    """Every string of a message payload that Slack reads as mrkdwn (and the ``text``)."""
    found: list[str] = []

    def walk(node: Any, parent_type: str | None) -> None:
        if isinstance(node, dict):
            kind = node.get("type")
            if kind == "mrkdwn" and isinstance(node.get("text"), str):
                found.append(node["text"])
            for key, value in node.items():
                if key == "text" and isinstance(value, str) and parent_type is None:
                    found.append(value)
                walk(value, kind if isinstance(kind, str) else parent_type)
        elif isinstance(node, list):
            for item in node:
                walk(item, parent_type)

    walk(payload, None)
    return found


def live_markup(payload: Any) -> list[str]:
    """Hostile markup that would ping, link or mention, as found in ``payload``."""
    bad = []
    for text in mrkdwn_of(payload):
        for pattern in (LIVE_MARKUP, MASS_MENTION):
            match = pattern.search(text)
            if match:
                bad.append(f"{match.group(0)!r} in {text[:120]!r}")
    return bad


def everything_sent(slack: SlackStandin) -> str:
    """Every Web API request, response_url message and upload the stand-in received."""
    parts = [json.dumps(c.args, default=str) for c in slack.attempts()]
    parts += [json.dumps(r, default=str) for r in slack.responses()]
    parts += [u.content.decode("utf-8", "replace") for u in slack.uploads(unshared=True)]
    parts += [str(u.initial_comment or "") + str(u.title or "") for u in slack.uploads()]
    return "\n".join(parts)
