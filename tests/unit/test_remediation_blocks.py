"""The remediation messages and the audit-log export, built from plain data."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.audit.models import KeySlot, OrgFeatures, Status, Verdict
from bot.cli.log import write_csv
from bot.remediation.models import Approval, Conversation, Request, RiskException
from bot.remediation.progress import choose_mode
from bot.remediation.states import Kind, Mode, State
from bot.rules import csv_cell as neutralise
from bot.slack.action_ids import ActionId, CallbackId
from bot.slack.blocks import remediation as blocks
from bot.slack.blocks.common import MAX_MESSAGE_TEXT, block_text
from bot.slack.blocks.status import status_message

NOW = datetime(2026, 11, 30, 9, 12, tzinfo=UTC)
UTC_ZONE = ZoneInfo("UTC")


def request(**changes: object) -> Request:
    base: dict[str, object] = {
        "id": 12,
        "kind": Kind.REMEDIATION,
        "account_id": "111111111111",
        "state": State.REQUESTED,
        "requester": "UREQ",
        "reason": "unused",
        "where": Conversation("C1"),
        "created_at": NOW,
        "expires_at": NOW + timedelta(hours=72),
        "state_since": NOW,
        "mode": Mode.TRACKED,
    }
    base.update(changes)
    return Request(**base)  # type: ignore[arg-type]


def dumped(message: blocks.Message) -> str:
    return json.dumps([b.to_dict() for b in message.blocks], ensure_ascii=False)


def test_request_message_carries_ids_only_and_no_confirm_before_the_rights_check() -> None:
    message = blocks.request_message(request(), "<@UAPP>", 2, UTC_ZONE)
    actions = message.blocks[-1].to_dict()
    approve, reject, cancel = actions["elements"]
    assert (approve["action_id"], approve["value"]) == (ActionId.REVIEW_APPROVAL, "12")
    assert (reject["action_id"], reject["value"]) == (ActionId.REVIEW_REJECTION, "12")
    assert (cancel["action_id"], cancel["value"]) == (ActionId.CANCEL_REQUEST, "12")
    assert "nothing will be changed" in cancel["confirm"]["text"]["text"]
    # Slack would show a confirm to whoever clicks, before the bot can refuse them.
    assert "confirm" not in approve and "confirm" not in reject
    assert "2 approvals needed" in dumped(message)
    assert "Expires 2026-12-03 09:12 UTC" in dumped(message)


def test_the_approval_prompt_asks_to_confirm_what_cannot_be_undone() -> None:
    prompt = blocks.approval_prompt(request(kind=Kind.REMEDIATION, dry_run=False), UTC_ZONE)
    [button] = next(b for b in prompt.blocks if b.to_dict()["type"] == "actions").to_dict()[
        "elements"
    ]
    assert (button["action_id"], button["value"]) == (ActionId.APPROVE, "12")
    assert "cannot be undone" in dumped(prompt)
    dry = blocks.approval_prompt(request(kind=Kind.REMEDIATION, dry_run=True), UTC_ZONE)
    assert "Nothing will be deleted" in dumped(dry)


def test_the_reject_form_has_an_optional_reason_and_ids_only() -> None:
    view = blocks.reject_modal(request()).to_dict()
    assert view["callback_id"] == CallbackId.REJECT_REQUEST and view["private_metadata"] == "12"
    [reason] = [b for b in view["blocks"] if b.get("block_id") == "reason"]
    assert reason["optional"] is True


def test_user_text_cannot_mention_or_link() -> None:
    req = request(reason="<!channel> see <https://evil.example|here> @here")
    text = dumped(blocks.request_message(req, "<@UAPP>", 1, UTC_ZONE))
    assert "<!channel>" not in text and "<https://evil" not in text
    assert "&lt;!channel&gt;" in text


def test_the_decision_replaces_the_buttons() -> None:
    line = blocks.decision_line(State.APPROVED, "UAPP", NOW, UTC_ZONE)
    assert line.endswith("Approved by <@UAPP>, 09:12 UTC")
    message = blocks.decided_message(request(state=State.APPROVED), line, UTC_ZONE)
    assert not any(b.type == "actions" for b in message.blocks)
    assert "Approved by <@UAPP>, 09:12 UTC" in message.text


def test_the_form_warns_about_recent_use_and_masks_nothing_it_does_not_need() -> None:
    recent = KeySlot(1, True, last_used_date=NOW - timedelta(days=2), last_used_service="s3")
    old = KeySlot(2, False, last_used_date=NOW - timedelta(days=200))
    verdict = Verdict("111111111111", Status.NONCOMPLIANT, "r", "aws", keys=(recent, old))
    ctx = blocks.FormContext(Kind.REMEDIATION, "111111111111", "C1", "1.2")
    view = blocks.remediation_modal(ctx, verdict, Mode.TRACKED, "why", NOW).to_dict()
    text = json.dumps(view["blocks"])
    assert text.count("Used in the last 30 days") == 1
    assert blocks.FormContext.decode(view["private_metadata"]) == ctx


@pytest.mark.parametrize(
    ("configured", "features", "said", "why"),
    [
        ("tracked", OrgFeatures(True, True), "removes the key", None),
        ("assume-root", OrgFeatures(True, True), "deletes the key", None),
        ("assume-root", OrgFeatures(True, False), "removes the key", "RootSessions disabled"),
    ],
    ids=["tracked", "assume-root", "assume-root not ready"],
)
def test_the_form_says_its_mode_once(
    configured: str, features: OrgFeatures, said: str, why: str | None
) -> None:
    verdict = Verdict("111111111111", Status.NONCOMPLIANT, "r", "aws", keys=(KeySlot(1, True),))
    ctx = blocks.FormContext(Kind.REMEDIATION, "111111111111", "C1", "1.2")
    mode, reason = choose_mode(configured, features)
    text = json.dumps(blocks.remediation_modal(ctx, verdict, mode, reason, NOW).to_dict())
    assert text.count(mode.value) == 1 and text.count(said) == 1
    if why is not None:  # why it is not the mode asked for, said once too
        assert text.count(why) == 1 and "centralized root access is not ready" in text


@pytest.mark.parametrize(
    "meta",
    ['{"k": "remediation", "a": "１１１１１１１１１１１１", "c": "C1"}', "{}", "not json", ""],
)
def test_a_forged_form_context_is_refused(meta: str) -> None:
    with pytest.raises(ValueError):
        blocks.FormContext.decode(meta)


def test_status_stays_within_slack_limits_for_many_requests() -> None:
    many = [request(id=i, reason="x" * 500, account_name="n" * 200) for i in range(300)]
    exceptions = [
        RiskException(i, "222222222222", "UOWN", "r" * 300, NOW, NOW + timedelta(days=9))
        for i in range(300)
    ]
    message = status_message(many, exceptions, UTC_ZONE)
    assert len(message.blocks) <= 50
    sections = [b.to_dict() for b in message.blocks if b.type == "section"]
    assert all(len(b["text"]["text"]) <= 3000 for b in sections)
    assert block_text(message.blocks) <= MAX_MESSAGE_TEXT
    text = dumped(message)
    shown = text.count(" · *requested*")
    assert shown and f"…and {300 - shown} more." in text
    shown_risks = text.count(":shield:")
    assert shown_risks and f"…and {300 - shown_risks} more." in text


def test_approvals_so_far_are_named() -> None:
    req = request(approvals=(Approval("UA", NOW),))
    assert "approved so far by <@UA>" in dumped(blocks.request_message(req, "x", 2, UTC_ZONE))


@pytest.mark.parametrize("cell", ["=1+1", "+SUM(A1)", "-2", "@cmd", "\tx", "\rx"])
def test_csv_cells_never_start_a_formula(cell: str) -> None:
    assert neutralise(cell) == "'" + cell
    out = io.StringIO()
    row = dict.fromkeys(("id", "at", "request_id", "account_id", "kind"), "1")
    row.update(actor="U1", event="note", from_state=None, to_state=None, detail=cell)
    write_csv(out, [row])
    [parsed] = list(csv.DictReader(io.StringIO(out.getvalue(), newline="")))
    assert parsed["detail"] == "'" + cell and parsed["from_state"] == ""


def test_plain_cells_are_kept() -> None:
    assert neutralise("approved (1 of 1 approvals)") == "approved (1 of 1 approvals)"
    assert neutralise(None) == ""


def test_a_dry_run_request_says_so_to_the_approvers() -> None:
    dry = dumped(
        blocks.request_message(request(mode=Mode.ASSUME_ROOT, dry_run=True), "x", 1, UTC_ZONE)
    )
    assert "*dry run*: nothing will be deleted" in dry
    asked = dumped(blocks.approval_prompt(request(mode=Mode.ASSUME_ROOT, dry_run=True), UTC_ZONE))
    assert "Approve a dry run for 111111111111? Nothing will be deleted." in asked
    real = dumped(blocks.request_message(request(mode=Mode.ASSUME_ROOT), "x", 1, UTC_ZONE))
    assert "dry run" not in real
    real_asked = dumped(blocks.approval_prompt(request(mode=Mode.ASSUME_ROOT), UTC_ZONE))
    assert "dry run" not in real_asked and "Deletion cannot be undone." in real_asked
