"""The Slack adapters of the use cases' notifier ports (``bot.services.ports``)."""

from bot.slack.notifier.check import SlackCheckNotifier
from bot.slack.notifier.digest import SlackDigestNotifier
from bot.slack.notifier.remediation import SlackRemediationNotifier

__all__ = ["SlackCheckNotifier", "SlackDigestNotifier", "SlackRemediationNotifier"]
