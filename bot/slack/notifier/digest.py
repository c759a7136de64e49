"""The Slack side of the digest: the message in the channel, then the trend chart and the CSV
in its thread (an attachment that fails is said there)."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from bot.services.digest import Attachment, AttachmentSource
from bot.services.digest_report import Digest
from bot.slack.blocks.digest import attachment_failed, audit_failed, digest_message
from bot.slack.chart import trend_png
from bot.slack.poster import DeliveryError, Poster

log = logging.getLogger(__name__)


def chart_of(digest: Digest) -> Attachment:
    """The digest's trend drawn as a PNG, named for the day it was generated (local time)."""
    day = digest.local(digest.generated_at).date().isoformat()
    return Attachment(
        "trend chart",
        f"rootkey-trend-{day}.png",
        trend_png(digest.trend),
        f"Root access keys, last {len(digest.trend)} days",
    )


class SlackDigestNotifier:
    def __init__(self, poster: Poster) -> None:
        self.poster = poster

    def digest_ready(
        self,
        channel: str,
        digest: Digest,
        attachments: Sequence[AttachmentSource],
        *,
        response_url: str | None = None,
    ) -> str | None:
        # Where the bot may not post, the poster answers through the command's response_url.
        thread = self.poster.post(channel, digest_message(digest), response_url=response_url).ts
        if not thread:
            return thread
        for make in (lambda: chart_of(digest), *attachments):
            attachment = make()
            if attachment is None:
                continue
            try:
                self.poster.upload(
                    channel,
                    filename=attachment.filename,
                    content=attachment.content,
                    title=attachment.title,
                    thread_ts=thread,
                )
            except DeliveryError as exc:
                log.warning("digest %s not attached in %s: %s", attachment.name, channel, exc.error)
                self.poster.post(
                    channel, attachment_failed(attachment.name, exc.error), thread_ts=thread
                )
        return thread

    def digest_unavailable(
        self, channel: str, error: str, *, response_url: str | None = None
    ) -> str | None:
        return self.poster.post(channel, audit_failed(error), response_url=response_url).ts
