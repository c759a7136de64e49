"""What the installed app may do: the bot scopes ``slack/manifest.yml`` grants, and the scope
each Web API method needs with a bot token (Slack's method reference, "Required scopes").

Slack answers a method outside the granted scopes with
``{"ok": false, "error": "missing_scope", "needed": "<scope>", "provided": "<granted,...>"}``.
Methods on a conversation need the scope of its kind: ``channels:*`` for a public channel,
``groups:*`` for a private one, ``im:*`` for a direct message.
"""

from __future__ import annotations

from pathlib import Path

MANIFEST = Path(__file__).resolve().parents[2] / "slack" / "manifest.yml"

# method -> the one bot scope it needs (None: no scope needed)
FIXED: dict[str, str | None] = {
    "api.test": None,
    "auth.test": None,
    "apps.connections.open": None,  # the app-level token's connections:write
    "views.open": None,
    "views.push": None,
    "views.update": None,
    "views.publish": None,
    "chat.getPermalink": None,
    "chat.postMessage": "chat:write",
    "chat.postEphemeral": "chat:write",
    "chat.update": "chat:write",
    "chat.delete": "chat:write",
    "files.getUploadURLExternal": "files:write",
    "files.completeUploadExternal": "files:write",
    "files.info": "files:read",
    "usergroups.list": "usergroups:read",
    "usergroups.users.list": "usergroups:read",
    "users.info": "users:read",
    "users.list": "users:read",
    "bots.info": "users:read",
    "team.info": "team:read",
    "reactions.add": "reactions:write",
    "reactions.remove": "reactions:write",
    "conversations.join": "channels:join",
    "conversations.open": "im:write",
    "conversations.list": "channels:read",
}
# method -> the suffix of the scope it needs, by the kind of conversation it names
BY_KIND: dict[str, str] = {
    "conversations.history": "history",
    "conversations.replies": "history",
    "conversations.info": "read",
    "conversations.members": "read",
}
PREFIX = {"public": "channels", "private": "groups", "im": "im"}


def granted_scopes(manifest: Path = MANIFEST) -> frozenset[str]:
    """The bot scopes of the app as the manifest declares them (commented-out lines are not
    granted)."""
    import yaml  # type: ignore[import-untyped]

    data = yaml.safe_load(manifest.read_text(encoding="utf-8"))
    scopes = ((data.get("oauth_config") or {}).get("scopes") or {}).get("bot") or []
    return frozenset(str(s) for s in scopes)


def needed_scope(method: str, kind: str | None) -> str | None:
    """The scope ``method`` needs on a conversation of ``kind`` ("public", "private", "im")."""
    if method in BY_KIND:
        return f"{PREFIX[kind or 'public']}:{BY_KIND[method]}"
    return FIXED.get(method)


def app_home(manifest: Path = MANIFEST) -> dict[str, bool]:
    """The manifest's ``features.app_home`` switches (``home_tab_enabled``,
    ``messages_tab_enabled``, ``messages_tab_read_only_enabled``)."""
    import yaml

    data = yaml.safe_load(manifest.read_text(encoding="utf-8"))
    home = (data.get("features") or {}).get("app_home") or {}
    return {str(k): bool(v) for k, v in home.items()}
