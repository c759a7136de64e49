"""Listeners called directly, as Bolt calls them, with a context of fake services
(``simulator.fake_services``): what the person sees (the ack, the private note) and which use
case each listener hands the work to. One test goes through a real Bolt app to show the
middleware puts the services where the listeners take them."""

from __future__ import annotations

import json
from typing import Any

from slack_bolt import App, BoltRequest
from slack_bolt.authorization import AuthorizeResult
from slack_sdk import WebClient

import handlers
from bot.remediation.errors import InvalidInput
from bot.remediation.events import FormContext
from bot.remediation.states import Kind
from bot.slack.action_ids import ActionId, CallbackId
from bot.slack.blocks.remediation import INPUT_ACTION
from bot.slack.payloads import FORM_GONE
from bot.slack.values import FindingRef
from handlers import actions, commands, events, views
from handlers.deadline import ACK_BUDGET
from simulator.fake_services import RecordingAck, bolt_context, fake_services
from tests.support.signing import TEST_SIGNING_SECRET, command_body, signed_headers

ALICE = "U0ALICE001"
BOB = "U0BOB00001"
RESPONSE_URL = "https://hooks.slack.invalid/commands/1"


def shown(blocks: list[Any]) -> str:
    """Blocks as Slack receives them, in one string."""
    return json.dumps(
        [b.to_dict() if hasattr(b, "to_dict") else b for b in blocks], ensure_ascii=False
    )


def command(text: str) -> dict[str, Any]:
    return {
        "command": "/rootkey",
        "text": text,
        "channel_id": "C0FINDINGS",
        "user_id": ALICE,
        "response_url": RESPONSE_URL,
        "trigger_id": "1.2.trigger",
    }


def click(action: ActionId, value: str, *, ephemeral: bool = False) -> dict[str, Any]:
    return {
        "type": "block_actions",
        "user": {"id": BOB},
        "channel": {"id": "C0FINDINGS"},
        "actions": [{"action_id": action.value, "value": value}],
        "trigger_id": "1.2.click",
        "response_url": RESPONSE_URL,
        "container": {"is_ephemeral": ephemeral},
        "message": {"ts": "1700000000.000200"},
    }


def submission(callback: CallbackId, metadata: str, values: dict[str, str]) -> dict[str, Any]:
    view = {
        "id": "V0FORM0001",
        "type": "modal",
        "callback_id": callback.value,
        "private_metadata": metadata,
        "state": {"values": {block: {INPUT_ACTION: {"value": v}} for block, v in values.items()}},
    }
    return {"type": "view_submission", "user": {"id": BOB}, "view": view}


# -- /rootkey --------------------------------------------------------------------------------


def test_a_check_is_started_and_acked_privately_at_once() -> None:
    services, ack = fake_services(), RecordingAck()
    commands.rootkey_command(ack, command("check 123456789012"), bolt_context(services), services)
    reply = ack.once
    assert reply["response_type"] == "ephemeral"
    assert "Auditing 1 account" in reply["text"]
    (started,) = services.called("checks.start")
    assert started[0].scope.account_ids == ("123456789012",)
    assert started[0].user == ALICE and started[0].channel == "C0FINDINGS"


def test_a_full_audit_queue_is_said_in_the_ack() -> None:
    services, ack = fake_services(), RecordingAck()
    services.checks.accepts = False
    commands.rootkey_command(ack, command("check"), bolt_context(services), services)
    assert "already running" in ack.once["text"]


def test_an_unknown_subcommand_is_told_privately_and_starts_nothing() -> None:
    services, ack = fake_services(), RecordingAck()
    commands.rootkey_command(ack, command("frobnicate"), bolt_context(services), services)
    reply = ack.once
    assert reply["response_type"] == "ephemeral"
    assert "unknown command 'frobnicate'" in shown(reply["blocks"])
    assert services.calls == []


def test_history_without_an_account_says_how_to_ask() -> None:
    services, ack = fake_services(), RecordingAck()
    commands.rootkey_command(ack, command("history"), bolt_context(services), services)
    assert "usage: history 123456789012" in shown(ack.once["blocks"])
    assert services.called("history.account") == []


def test_history_is_acked_then_answered_privately_from_the_history_service() -> None:
    services, ack = fake_services(), RecordingAck()
    commands.rootkey_command(ack, command("history 123456789012"), bolt_context(services), services)
    assert ack.once == {}  # empty: the answer follows privately
    assert services.called("history.account") == [("123456789012", None)]
    (note,) = services.replies.told
    assert note.user == ALICE and note.response_url == RESPONSE_URL
    assert "No saved audit of 123456789012 yet" in note.message.text


def test_history_by_an_unknown_name_says_so_privately() -> None:
    services, ack = fake_services(), RecordingAck()
    commands.rootkey_command(ack, command("history billing"), bolt_context(services), services)
    assert services.called("history.account") == [(None, "billing")]
    assert "No audited account is named 'billing'" in shown(services.replies.told[0].message.blocks)


def test_status_shows_the_status_service_counts_privately() -> None:
    services, ack = fake_services(), RecordingAck()
    commands.rootkey_command(ack, command("status"), bolt_context(services), services)
    assert ack.once == {}
    assert services.called("status.status") == [()]
    (note,) = services.replies.told
    text = shown(note.message.blocks)
    assert "#7" in text and "Open remediation requests" in text
    assert "3 accounts · 1 noncompliant" in text  # the counts the status service gave


# -- buttons ---------------------------------------------------------------------------------


def test_approve_is_acked_applied_and_the_confirmation_replaced() -> None:
    services, ack = fake_services(), RecordingAck()
    body = click(ActionId.APPROVE, "7", ephemeral=True)
    actions.approve(ack, body, bolt_context(services), services)
    assert ack.once == {}
    assert services.called("remediation.approve") == [(7, BOB)]
    ((url, message),) = services.replies.replaced
    assert url == RESPONSE_URL and "You approved request #7" in message.text


def test_a_button_value_rootkey_did_not_write_changes_nothing_and_is_told() -> None:
    services, ack = fake_services(), RecordingAck()
    body = click(ActionId.APPROVE, "7; drop table")
    actions.approve(ack, body, bolt_context(services), services)
    assert ack.once == {}
    assert services.calls == []
    assert services.replies.told[0].user == BOB
    assert "This button is not valid." in services.replies.texts[0]


def test_a_click_acked_too_late_is_not_applied_and_the_clicker_is_told() -> None:
    services, ack = fake_services(), RecordingAck()
    context = bolt_context(services, waited=ACK_BUDGET + 1)
    actions.approve(ack, click(ActionId.APPROVE, "7"), context, services)
    assert ack.once == {}
    assert services.called("remediation.approve") == []
    assert "too late" in services.replies.texts[0]


def test_reject_opens_the_reason_form_after_the_rights_check() -> None:
    services, ack = fake_services(), RecordingAck()
    actions.review_rejection(
        ack, click(ActionId.REVIEW_REJECTION, "7"), bolt_context(services), services
    )
    assert [name for name, _ in services.calls] == [
        "remediation.may_reject",
        "form_screen.open_rejection",
    ]
    assert services.replies.told == []


def test_a_rejection_form_slack_did_not_open_is_told() -> None:
    services, ack = fake_services(), RecordingAck()
    services.form_screen.opens = False
    actions.review_rejection(
        ack, click(ActionId.REVIEW_REJECTION, "7"), bolt_context(services), services
    )
    assert services.replies.texts == [actions.REJECT_FORM_NOT_OPENED]


def test_a_finding_button_opens_the_request_form() -> None:
    services, ack = fake_services(), RecordingAck()
    body = click(ActionId.REQUEST_REMEDIATION, FindingRef("123456789012").encode())
    actions.open_request_form(ack, body, bolt_context(services), services)
    assert ack.once == {}
    ((ctx, user, trigger, view_id),) = services.called("forms.open")
    assert (ctx.kind, ctx.account_id, ctx.channel) == (
        Kind.REMEDIATION,
        "123456789012",
        "C0FINDINGS",
    )
    assert (user, trigger, view_id) == (BOB, "1.2.click", None)


def test_a_tampered_finding_button_opens_no_form() -> None:
    services, ack = fake_services(), RecordingAck()
    body = click(ActionId.REQUEST_REMEDIATION, "not-a-finding")
    actions.open_request_form(ack, body, bolt_context(services), services)
    assert services.called("forms.open") == []
    assert "run the check again" in services.replies.texts[0]


# -- forms -----------------------------------------------------------------------------------


def test_a_rejection_form_rejects_with_its_reason() -> None:
    services, ack = fake_services(), RecordingAck()
    body = submission(CallbackId.REJECT_REQUEST, "7", {"reason": "not this quarter"})
    views.submit_rejection(ack, body, body["view"], bolt_context(services), services)
    assert ack.once == {}
    assert services.called("remediation.reject") == [(7, BOB, "not this quarter")]


def test_a_rejection_form_of_no_request_goes_back_with_the_error() -> None:
    services, ack = fake_services(), RecordingAck()
    body = submission(CallbackId.REJECT_REQUEST, "seven", {"reason": "x"})
    views.submit_rejection(ack, body, body["view"], bolt_context(services), services)
    assert ack.once == {"response_action": "errors", "errors": {"reason": FORM_GONE}}
    assert services.called("remediation.reject") == []


def test_a_refused_rejection_after_the_ack_is_told_in_the_request_channel() -> None:
    services, ack = fake_services(), RecordingAck()
    services.remediation.refusal = InvalidInput("reason", "decided meanwhile")
    body = submission(CallbackId.REJECT_REQUEST, "7", {})
    views.submit_rejection(ack, body, body["view"], bolt_context(services), services)
    assert ack.once == {}
    (note,) = services.replies.told
    assert note.user == BOB and note.channel == "C0FINDINGS"


def request_form_body() -> dict[str, Any]:
    ctx = FormContext(Kind.REMEDIATION, "123456789012", "C0FINDINGS", "1700000000.000100")
    return submission(CallbackId.REMEDIATION_REQUEST, ctx.encode(), {"reason": "unused key"})


def test_a_request_form_is_checked_acked_then_accepted() -> None:
    services, ack = fake_services(), RecordingAck()
    body = request_form_body()
    views.submit_request(ack, body, body["view"], bolt_context(services), services)
    assert ack.once == {}
    assert [name for name, _ in services.calls] == ["forms.check", "forms.accept"]
    (accepted,) = services.called("forms.accept")
    assert accepted[0].form.reason == "unused key" and accepted[1] == "V0FORM0001"


def test_a_request_form_with_a_problem_goes_back_with_it_and_nothing_is_created() -> None:
    services, ack = fake_services(), RecordingAck()
    services.forms.problem = InvalidInput("ticket", "a ticket link is required")
    body = request_form_body()
    views.submit_request(ack, body, body["view"], bolt_context(services), services)
    assert ack.once == {
        "response_action": "errors",
        "errors": {"ticket": "a ticket link is required"},
    }
    assert services.called("forms.accept") == []


def test_a_request_form_when_rootkey_is_busy_says_so_in_the_form() -> None:
    services, ack = fake_services(), RecordingAck()
    services.forms.room = False
    body = request_form_body()
    views.submit_request(ack, body, body["view"], bolt_context(services), services)
    assert ack.once == {"response_action": "errors", "errors": {"reason": views.BUSY}}
    assert services.called("forms.accept") == []


def test_a_request_form_acked_too_late_gives_its_place_back_and_creates_nothing() -> None:
    services, ack = fake_services(), RecordingAck()
    body = request_form_body()
    context = bolt_context(services, waited=ACK_BUDGET + 1)
    views.submit_request(ack, body, body["view"], context, services)
    assert services.called("forms.accept") == []
    assert "too late" in services.replies.texts[0]


# -- events, and the middleware through Bolt ---------------------------------------------------


def test_the_home_tab_is_drawn_for_a_user_only() -> None:
    services = fake_services()
    drawn: list[str] = []
    services.home = type("Home", (), {"opened": lambda self, user: drawn.append(user)})()
    events.home_opened({"tab": "messages", "user": ALICE}, services)
    events.home_opened({"tab": "home", "user": "not a user"}, services)
    events.home_opened({"tab": "home", "user": ALICE}, services)
    assert drawn == [ALICE]


def test_the_middleware_hands_the_services_to_the_listeners() -> None:
    services = fake_services()
    app = App(
        client=WebClient(base_url="http://127.0.0.1:9/"),  # never called: no auth.test
        signing_secret=TEST_SIGNING_SECRET,
        authorize=lambda **_: AuthorizeResult(
            enterprise_id=None, team_id="T0TEAM0001", bot_token="xoxb-not-a-real-token"
        ),
    )
    handlers.register(app, services)  # type: ignore[arg-type]
    body = command_body("check 123456789012", response_url=RESPONSE_URL)
    response = app.dispatch(
        BoltRequest(body=body, headers={k.lower(): [v] for k, v in signed_headers(body).items()})
    )
    assert response.status == 200
    assert "Auditing 1 account" in response.body
    assert len(services.called("checks.start")) == 1
