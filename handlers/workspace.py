"""Does a signed payload come from the configured workspace (or Enterprise Grid organization)?

Slack names the workspace in several places depending on the payload's kind:

* slash commands: ``team_id`` (and ``enterprise_id`` on Enterprise Grid), form-encoded;
* interactivity (``block_actions``, ``view_submission``, shortcuts): ``team`` ``{id,
  enterprise_id}``, ``user.team_id``, ``view.team_id`` and ``view.app_installed_team_id``,
  ``enterprise`` ``{id, name}``; with an organization-wide install ``team`` can be null and
  ``enterprise`` can carry empty strings;
* Events API: ``team_id``, ``enterprise_id``, ``authorizations[].team_id`` /
  ``enterprise_id``, ``context_team_id`` / ``context_enterprise_id``.

The rule fails closed: with ``SLACK_TEAM_ID`` set, a payload passes only when its own workspace
field (``team_id``, else ``team``) names one and every workspace it names is that one. With
``SLACK_ENTERPRISE_ID`` set, a payload whose every organization claim names that organization
passes whatever its workspace (any workspace of the organization); one naming another
organization never does. Empty strings and nulls name nothing. Pure functions of the
payload; no Slack call.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any


def ids(value: Any, key: str = "id") -> Iterator[str]:
    """A non-empty string id held directly or under ``key`` of a dict."""
    if isinstance(value, dict):
        value = value.get(key)
    if isinstance(value, str) and value:
        yield value
    elif value is not None and not isinstance(value, str | dict):
        yield repr(value)  # a number or a list where an id belongs: names something else


def authorizations(body: dict[str, Any]) -> list[dict[str, Any]]:
    found = body.get("authorizations")
    return [a for a in found if isinstance(a, dict)] if isinstance(found, list) else []


def team_claims(body: dict[str, Any]) -> list[str]:
    """Every workspace id the payload names."""
    claims = [*ids(body.get("team_id")), *ids(body.get("team")), *ids(body.get("context_team_id"))]
    user, view = body.get("user"), body.get("view")
    if isinstance(user, dict):
        claims += ids(user.get("team_id"))
    if isinstance(view, dict):
        claims += [*ids(view.get("team_id")), *ids(view.get("app_installed_team_id"))]
    for entry in authorizations(body):
        claims += ids(entry.get("team_id"))
    return claims


def enterprise_claims(body: dict[str, Any]) -> list[str]:
    """Every Enterprise Grid organization id the payload names."""
    claims = [
        *ids(body.get("enterprise_id")),
        *ids(body.get("enterprise")),
        *ids(body.get("context_enterprise_id")),
    ]
    team = body.get("team")
    if isinstance(team, dict):
        claims += ids(team.get("enterprise_id"))
    for entry in authorizations(body):
        claims += ids(entry.get("enterprise_id"))
    return claims


def refusal(body: dict[str, Any], team_id: str | None, enterprise_id: str | None) -> str | None:
    """Why the payload is refused (a few words for the log), or None when it is accepted."""
    if not team_id and not enterprise_id:
        return None
    organizations = enterprise_claims(body)
    if enterprise_id:
        if any(claim != enterprise_id for claim in organizations):
            return "another Enterprise Grid organization"
        if organizations:
            return None  # any workspace of the configured organization
    if not team_id:
        return "no Enterprise Grid organization named"
    # the field naming the payload's workspace: team_id (commands, events) or team (the rest)
    primary = body.get("team_id") if "team_id" in body else body.get("team")
    if not list(ids(primary)):
        return "no workspace named"
    teams = team_claims(body)
    if any(claim != team_id for claim in teams):
        return "another workspace"
    return None
