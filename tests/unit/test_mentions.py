"""Mentions the bot builds itself stay mentions; text from users stays escaped.

The refusal a non-approver gets names the approvers. It goes from ``bot.remediation.rights``
through the one error handler to the click's ``response_url``: here a real, signed click is
dispatched into the app built by ``build_app`` and the private answer is read where Slack would
receive it (the Slack stand-in).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from slack_bolt import App, BoltRequest

from bot.app import build_app
from bot.audit.models import AuditResult, Scope
from bot.config import load_config
from bot.errors import describe
from bot.remediation.errors import NotAllowed, RemediationError, StaleState
from bot.remediation.models import Conversation
from bot.remediation.states import Kind, Mode
from bot.slack.action_ids import ActionId
from bot.slack.blocks.command import error_message
from bot.store.remediation import NewRequest, RemediationStore
from bot.wiring import Services
from simulator.slack import SlackStandin
from tests.support.botproc import bot_env
from tests.support.signing import FINDING_MESSAGE, actions_body, signed_headers

TOKEN = "xoxb-test-token"
CHANNEL = "C0ROOTKEY1"
APPROVER = "U0DEMOAPR1"
GROUP = "S0SECOPS01"
ALICE = "U0ALICE001"
MALLORY = "U0MALLORY1"


class NoAudit:
    """The refusal never audits; an audit here would be a bug."""

    def audit(self, scope: Scope) -> AuditResult:
        raise AssertionError("no audit expected")


@pytest.fixture
def slack() -> Iterator[SlackStandin]:
    with SlackStandin(bot_token=TOKEN, earlier=[FINDING_MESSAGE]) as standin:
        yield standin


@pytest.fixture
def bot(slack: SlackStandin, tmp_path: Path) -> Iterator[tuple[App, Services, int]]:
    database = f"sqlite:///{tmp_path / 'rootkey.db'}"
    config = load_config(bot_env(slack, database, {}, ROOTKEY_APPROVERS=f"{APPROVER},{GROUP}"))
    app, services = build_app(config, auditor=NoAudit(), audit_workers=1)
    assert services.store is not None
    now = datetime.now(UTC)
    request = RemediationStore(services.store.engine).create(
        NewRequest(
            kind=Kind.REMEDIATION,
            account_id="111111111111",
            requester=ALICE,
            # A reason with markup: it must never turn into a mention or a link anywhere.
            reason="<!channel> <@U0MALLORY1> & co",
            where=Conversation(CHANNEL),
            expires_at=now + timedelta(hours=1),
            mode=Mode.TRACKED,
        ),
        now,
    )
    slack.set_usergroup(GROUP, [])
    yield app, services, request.id
    services.shutdown(wait=False)
    services.store.close()


def click(app: App, slack: SlackStandin, action: ActionId, value: str, user: str) -> str:
    """Click; returns the click's response_url, where its private answer goes."""
    response_url = slack.response_url()
    trigger = slack.workspace.new_trigger(user)  # as Slack issues it: it expires
    body = actions_body(
        action.value, value, response_url=response_url, user=user, trigger_id=trigger
    )
    headers = {k.lower(): [v] for k, v in signed_headers(body).items()}
    response = app.dispatch(BoltRequest(body=body, headers=headers))
    assert response.status == 200
    return response_url


def private_answer(slack: SlackStandin, response_url: str) -> dict[str, Any]:
    return slack.answer_to(response_url)


@pytest.mark.parametrize(
    ("action", "verb"), [(ActionId.APPROVE, "approve"), (ActionId.REJECT, "reject")]
)
def test_a_non_approver_is_told_who_the_approvers_are_with_real_mentions(
    bot: tuple[App, Services, int], slack: SlackStandin, action: ActionId, verb: str
) -> None:
    app, _, request_id = bot

    clicked = click(app, slack, action, str(request_id), MALLORY)

    answer = private_answer(slack, clicked)
    text = str(answer["text"])
    shown = json.dumps(answer["blocks"])
    assert answer["response_type"] == "ephemeral"
    assert f"Only approvers can {verb} request #{request_id}" in text
    for rendered in (text, shown):
        assert f"<@{APPROVER}>" in rendered  # a mention Slack turns into a name and a ping
        assert f"<!subteam^{GROUP}>" in rendered
        assert "&lt;@" not in rendered and "&lt;!" not in rendered


def test_a_refusal_built_from_user_text_stays_escaped(
    bot: tuple[App, Services, int], slack: SlackStandin
) -> None:
    """The requester's own approval: the line names nobody, and the stored reason (markup)
    never appears unescaped in any private answer."""
    app, _, request_id = bot
    clicked = click(app, slack, ActionId.APPROVE, str(request_id), ALICE)
    answer = private_answer(slack, clicked)
    assert "Only approvers can approve" in str(answer["text"])  # Alice is not an approver
    assert "<!channel>" not in json.dumps(answer) and "<@U0MALLORY1>" not in json.dumps(answer)


def test_plain_domain_errors_are_escaped_and_only_trusted_mrkdwn_is_kept() -> None:
    hostile = "Request for <@U0MALLORY1> <!here> <https://evil.example|click> & more"

    plain = describe(RemediationError(hostile))
    assert plain.mrkdwn is None
    message = error_message(plain.text, plain.error_id, mrkdwn=plain.mrkdwn)
    assert "<@U0MALLORY1>" not in message.text and "<https://" not in message.text
    assert "&lt;@U0MALLORY1&gt;" in message.text and "&amp; more" in message.text

    trusted = describe(NotAllowed(hostile, mrkdwn=f"Only approvers can approve: <@{APPROVER}>."))
    message = error_message(trusted.text, trusted.error_id, mrkdwn=trusted.mrkdwn)
    assert message.text == f"Only approvers can approve: <@{APPROVER}>."
    assert "U0MALLORY1" not in json.dumps([b.to_dict() for b in message.blocks])

    # Errors that carry no trusted line (state names, ids) are escaped as before.
    stale = describe(StaleState(7, "approved", "approve"))
    assert (
        stale.mrkdwn is None and stale.text == "Request #7 is already approved; nothing to approve."
    )
