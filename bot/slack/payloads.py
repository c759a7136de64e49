"""Slack payloads decoded into typed inputs: what a handler hands to a use case.

Everything here is untrusted input that travelled through Slack (button values, a modal's
``private_metadata`` and state); decoding is strict and fails with one clear error.
"""

from __future__ import annotations

from typing import Any

from bot.remediation.errors import InvalidInput
from bot.remediation.events import FormContext, RequestForm
from bot.remediation.states import Kind
from bot.slack.blocks.remediation import INPUT_ACTION

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
