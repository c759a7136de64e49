"""Slack payloads decoded into typed inputs: what a handler hands to a use case.

Everything here is untrusted input that travelled through Slack (a click's button value, a
modal's ``private_metadata`` and state): decoding is strict, and a value rootkey did not
write is ``BadValue`` (a form: ``InvalidInput`` shown in the form). Handlers pass only the
typed results on; the use cases reload everything else from the store or from AWS.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Any

from bot.audit.models import Scope
from bot.remediation.errors import InvalidInput
from bot.remediation.events import FormContext, RequestForm
from bot.remediation.states import Kind
from bot.slack.action_ids import ActionId, CallbackId
from bot.slack.blocks.remediation import INPUT_ACTION
from bot.slack.values import BadValue, FindingRef, decode_scope

REQUEST_ID = re.compile(r"[0-9]{1,18}")


@dataclass(frozen=True)
class Click:
    """One button click (a ``block_actions`` payload): which button, by whom, where."""

    action_id: str
    value: str
    channel: str
    user: str
    response_url: str | None
    trigger_id: str
    thread_ts: str | None  # the message the button is on (its thread, if it is in one)
    view_id: str | None  # set when the button is inside a modal (not on the Home tab)
    view_meta: str | None  # that modal's private_metadata
    ephemeral: bool = False  # the button is on a message only the clicker sees


def click(body: dict[str, Any]) -> Click:
    action = (body.get("actions") or [{}])[0]
    message = body.get("message") or {}
    view = body.get("view") or {}
    if view.get("type") != "modal":  # a Home tab is no form: a click there has no form ids
        view = {}
    return Click(
        action_id=str(action.get("action_id") or ""),
        value=str(action.get("value") or ""),
        channel=(body.get("channel") or {}).get("id", ""),
        user=submitter(body),
        response_url=body.get("response_url"),
        trigger_id=body.get("trigger_id", ""),
        thread_ts=message.get("thread_ts") or message.get("ts"),
        view_id=view.get("id") if view else None,
        view_meta=view.get("private_metadata", "") if view else None,
        ephemeral=bool((body.get("container") or {}).get("is_ephemeral")),
    )


def rerun_scope(clicked: Click) -> Scope:
    """The scope a "Re-run" button audits again."""
    return decode_scope(clicked.value)


def form_context(clicked: Click) -> FormContext:
    """Where the request form a finding's button (or "accept the risk instead" inside the
    form) opens comes from: the finding's account and thread, or the open form's ids."""
    kind = Kind.EXCEPTION if clicked.action_id == ActionId.ACCEPT_RISK.value else Kind.REMEDIATION
    try:
        if clicked.view_meta is not None:  # inside the form: its ids are in private_metadata
            return replace(FormContext.decode(clicked.view_meta), kind=kind)
        account_id = FindingRef.decode(clicked.value).account_id
    except ValueError:  # BadValue included
        raise BadValue("not a finding or form of rootkey") from None
    return FormContext(kind, account_id, clicked.channel, clicked.thread_ts)


def request_id(value: str) -> int:
    """A request button's value: the request id and nothing else."""
    if not REQUEST_ID.fullmatch(value):
        raise BadValue("not a request id")
    return int(value)


FORM_GONE = "This form is not valid any more; open it again."


def form_values(view: dict[str, Any]) -> dict[str, str | None]:
    """``{block_id: value}`` of a submitted request modal (text, date or user)."""
    values: dict[str, str | None] = {}
    for block_id, actions in ((view.get("state") or {}).get("values") or {}).items():
        item = (actions or {}).get(INPUT_ACTION) or {}
        values[block_id] = (
            item.get("value") or item.get("selected_date") or item.get("selected_user")
        )
    return values


def submission_kind(view: dict[str, Any]) -> Kind:
    """Which request form was submitted (its callback id)."""
    return Kind.EXCEPTION if view.get("callback_id") == CallbackId.ACCEPT_RISK else Kind.REMEDIATION


def submitter(body: dict[str, Any]) -> str:
    """Who submitted a view (or clicked): the payload's user id."""
    return str((body.get("user") or {}).get("id", ""))


def request_form(kind: Kind, view: dict[str, Any]) -> RequestForm:
    """A submitted request modal of ``kind``; ``InvalidInput`` (on the reason field) when its
    ``private_metadata`` is not one rootkey wrote for that kind of form."""
    try:
        ctx = FormContext.decode(view.get("private_metadata", ""))
    except ValueError:
        raise InvalidInput("reason", FORM_GONE) from None
    if ctx.kind is not kind:
        raise InvalidInput("reason", FORM_GONE)
    values = form_values(view)
    return RequestForm(
        context=ctx,
        reason=values.get("reason"),
        ticket=values.get("ticket"),
        until=values.get("until"),
        owner=values.get("owner"),
    )
