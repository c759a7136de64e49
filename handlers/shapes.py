"""Is a signed payload shaped as Slack shapes it, in the parts the listeners read?

Slack signs what it sends, so a payload that passes the signature check but lacks what every
payload of its type carries (a ``view_submission`` without its ``view``, a ``block_actions``
without its ``actions``) is a client's error, never the bot's: it is refused with 400 (a 5xx
makes Slack send it again) in one log line, before any listener sees it. The body itself (not
JSON, not a JSON object) is checked earlier, as it enters the WSGI application
(``bot.slack.server.body_problem``). Pure functions of the payload.
"""

from __future__ import annotations

from typing import Any

# Payload types whose listeners read ``view`` / ``actions`` (Slack's reference of the
# block_actions and view_submission payloads: both always carry ``user``).
VIEW_TYPES = frozenset({"view_submission", "view_closed"})


def is_object(value: Any) -> bool:
    return isinstance(value, dict)


def problem(body: dict[str, Any]) -> str | None:
    """What is missing or misshapen (a few words for the log), or None when well formed."""
    kind = body.get("type")
    for field in ("team", "user", "channel", "view", "message", "container"):
        if body.get(field) is not None and not is_object(body[field]):
            return f"{field} is not an object"
    if kind == "block_actions":
        actions = body.get("actions")
        if not isinstance(actions, list) or not actions:
            return "a click without actions"
        if not all(is_object(a) and isinstance(a.get("action_id"), str) for a in actions):
            return "a click whose actions have no action_id"
    if kind in VIEW_TYPES:
        view = body.get("view")
        if not isinstance(view, dict):
            return "a form without its view"
        state = view.get("state") or {}
        values = state.get("values") or {} if isinstance(state, dict) else None
        if not isinstance(values, dict) or not all(is_object(v) for v in values.values()):
            return "a form whose fields are not objects"
    if kind in (*VIEW_TYPES, "block_actions") and not is_object(body.get("user")):
        return f"a {kind} payload without its user"
    return None
