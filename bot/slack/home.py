"""The Home tab in Slack: a ``HomeSnapshot`` drawn and published with ``views.publish``."""

from __future__ import annotations

import logging

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from bot.services.home import HomeSnapshot
from bot.slack.blocks.home import home_view
from bot.slack.poster import TRANSPORT_ERRORS

log = logging.getLogger(__name__)


class SlackHomeScreen:
    """``HomeScreen`` for Slack. A refused publish is logged with Slack's error code (the user
    sees the tab as it was and gets a fresh one the next time they open it)."""

    def __init__(self, client: WebClient) -> None:
        self.client = client

    def show(self, snapshot: HomeSnapshot) -> None:
        try:
            self.client.views_publish(user_id=snapshot.user, view=home_view(snapshot))
        except SlackApiError as exc:
            log.warning(
                "the Home tab of %s was not published: %s",
                snapshot.user,
                exc.response.get("error", "refused"),
            )
        except (SlackClientError, *TRANSPORT_ERRORS) as exc:
            log.warning("the Home tab of %s was not published: %s", snapshot.user, exc)
