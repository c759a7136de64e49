"""Who is in an approver group, asked of Slack (``usergroups.users.list``)."""

from __future__ import annotations

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from bot.remediation.errors import ApproverLookupFailed
from bot.slack.poster import TRANSPORT_ERRORS


class SlackDirectory:
    def __init__(self, client: WebClient) -> None:
        self.client = client

    def members(self, group: str) -> list[str]:
        try:
            response = self.client.usergroups_users_list(usergroup=group)
        except (SlackApiError, SlackClientError, *TRANSPORT_ERRORS) as exc:
            raise ApproverLookupFailed(
                f"Could not ask Slack who is in approver group {group}; nothing was changed, "
                "try again."
            ) from exc
        return [str(u) for u in response.get("users") or []]
