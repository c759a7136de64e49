"""Events API listeners: the App Home tab, drawn whenever a user opens it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bot.rules import is_user_id

if TYPE_CHECKING:
    from slack_bolt import App

    from bot.wiring import Services


def home_opened(event: dict[str, Any], services: Services) -> None:
    """Acked by Bolt first; then the tab is built from the store (no AWS call) and published.
    The Messages tab and anything but a user id are ignored."""
    user = event.get("user")
    if event.get("tab") != "home" or not isinstance(user, str) or not is_user_id(user):
        return
    services.home.opened(user)


def register(app: App, services: Services) -> None:
    app.event("app_home_opened")(home_opened)
