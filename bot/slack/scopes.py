"""The bot scopes rootkey needs: the ones ``slack/manifest.yml`` asks for (a test holds the two
to each other), here so that ``python -m bot doctor`` can compare them with what the installed
app was granted where the manifest file is not deployed (the container holds bot/ only)."""

from __future__ import annotations

BOT_SCOPES = frozenset(
    {
        "commands",
        "chat:write",
        "chat:write.public",
        "files:write",
        "usergroups:read",
        "users:read",
        "channels:join",
        "channels:read",
        "groups:read",
        "mpim:read",
        "channels:history",
        "groups:history",
        "im:history",
    }
)
