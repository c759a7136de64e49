"""Bolt listeners by kind; ``register`` wires them all onto the app."""

from __future__ import annotations

from typing import TYPE_CHECKING

from handlers import actions, commands, errors, events, middleware, views

if TYPE_CHECKING:
    from slack_bolt import App

    from bot.wiring import Services


def register(app: App, services: Services) -> None:
    middleware.register(app, services)
    errors.register(app, services)
    commands.register(app, services)
    actions.register(app, services)
    views.register(app, services)
    events.register(app, services)
