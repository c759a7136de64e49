"""The root-activity queue (``ROOTKEY_EVENTS_QUEUE_URL``): SQS long polling and deletion.

``receive`` waits up to ``WaitTimeSeconds`` (20, SQS's longest) for up to 10 messages (SQS's
most per call); ``delete`` removes handled messages in one ``DeleteMessageBatch``. Messages
that are not deleted come back after the queue's visibility timeout, and the queue's redrive
policy moves a message received too often to its dead-letter queue. No AWS call at import or
construction.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence
from typing import Any

import boto3
from botocore.config import Config as BotoConfig

from bot.records.aws import Received

log = logging.getLogger(__name__)

WAIT_SECONDS = 20
MAX_MESSAGES = 10
QUEUE_REGION = re.compile(r"^https://sqs[.-]([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?/")

SessionFactory = Callable[[], boto3.session.Session]


def region_of(queue_url: str, default: str) -> str:
    """The queue's region from its URL (``https://sqs.eu-west-1.amazonaws.com/...``)."""
    match = QUEUE_REGION.match(queue_url)
    return match.group(1) if match else default


class EventQueue:
    def __init__(
        self,
        queue_url: str,
        *,
        region: str,
        session_factory: SessionFactory | None = None,
        wait_seconds: int = WAIT_SECONDS,
        max_messages: int = MAX_MESSAGES,
    ) -> None:
        self.queue_url = queue_url
        self.region = region_of(queue_url, region)
        self.session_factory = session_factory or boto3.session.Session
        self.wait_seconds = wait_seconds
        self.max_messages = max_messages
        self.sqs: Any = None

    def client(self) -> Any:
        if self.sqs is None:
            config = BotoConfig(
                region_name=self.region,
                retries={"mode": "standard", "total_max_attempts": 3},
                connect_timeout=5,
                read_timeout=self.wait_seconds + 10,  # a long poll holds the response open
                user_agent_extra="rootkey",
            )
            self.sqs = self.session_factory().client("sqs", config=config)
        return self.sqs

    def receive(self) -> list[Received]:
        reply = self.client().receive_message(
            QueueUrl=self.queue_url,
            MaxNumberOfMessages=self.max_messages,
            WaitTimeSeconds=self.wait_seconds,
            MessageSystemAttributeNames=["ApproximateReceiveCount"],
        )
        found = []
        for message in reply.get("Messages") or []:
            attributes = message.get("Attributes") or {}
            try:
                count = int(attributes.get("ApproximateReceiveCount", "1"))
            except ValueError:
                count = 1
            found.append(
                Received(
                    message_id=str(message.get("MessageId", "")),
                    receipt=str(message.get("ReceiptHandle", "")),
                    body=str(message.get("Body", "")),
                    receive_count=count,
                )
            )
        return found

    def delete(self, messages: Sequence[Received]) -> list[str]:
        """Delete ``messages``; the ids SQS did not delete (they come back, and are skipped as
        already handled)."""
        failed: list[str] = []
        for start in range(0, len(messages), MAX_MESSAGES):
            batch = messages[start : start + MAX_MESSAGES]
            reply = self.client().delete_message_batch(
                QueueUrl=self.queue_url,
                Entries=[{"Id": str(i), "ReceiptHandle": m.receipt} for i, m in enumerate(batch)],
            )
            for failure in reply.get("Failed") or []:
                message = batch[int(failure.get("Id", 0))]
                log.warning(
                    "events queue: could not delete message %s (%s)",
                    message.message_id,
                    failure.get("Code"),
                )
                failed.append(message.message_id)
        return failed
