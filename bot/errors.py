"""Exceptions turned into one line a person reads (in Slack, or on the command line).

Domain exceptions say what went wrong through a ``user_message`` attribute (any module can
define one without importing this), plain text that is escaped when shown; a ``user_mrkdwn``
attribute may give the same line as mrkdwn the bot built itself (e.g. approver mentions).
Known library errors get a fixed sentence. Anything else is a bug: it is logged with a short
error id, and the user sees only that id.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass

from bot.aws.errors import AuditError, AwsReadError
from bot.config import ConfigError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class UserError:
    text: str
    error_id: str | None = None  # set for unexpected errors: the same id is in the log
    # The same line as mrkdwn the bot built itself (its mentions stay mentions); None: escape
    # ``text``.
    mrkdwn: str | None = None


def describe(exc: BaseException) -> UserError:
    message = getattr(exc, "user_message", None)
    if isinstance(message, str) and message:
        if getattr(exc, "log_detail", False):  # the user reads a summary; the log has the rest
            log.warning("%s: %s", message.split(":")[0], exc)
        trusted = getattr(exc, "user_mrkdwn", None)
        return UserError(message, mrkdwn=trusted if isinstance(trusted, str) and trusted else None)
    if isinstance(exc, ConfigError):
        return UserError(f"configuration problem: {exc}")
    if isinstance(exc, AuditError | AwsReadError):
        return UserError(str(exc))  # one line by design, e.g. "ListAccounts: AccessDenied"
    aws = describe_aws(exc)
    if aws:
        return UserError(aws)
    error_id = uuid.uuid4().hex[:8]
    log.error("unexpected error %s", error_id, exc_info=exc)
    return UserError("something went wrong inside rootkey", error_id)


def describe_aws(exc: BaseException) -> str | None:
    try:
        from botocore.exceptions import (
            ClientError,
            EndpointConnectionError,
            NoCredentialsError,
            NoRegionError,
        )
    except ImportError:  # pragma: no cover - boto3 is a runtime requirement
        return None
    if isinstance(exc, ClientError):
        err = exc.response.get("Error", {})
        op = getattr(exc, "operation_name", "an AWS call")
        return f"AWS refused {op}: {err.get('Code', 'error')}"
    if isinstance(exc, NoCredentialsError):
        return "no AWS credentials found for the bot (environment, profile or instance role)"
    if isinstance(exc, NoRegionError):
        return "no AWS region configured (set AWS_REGION)"
    if isinstance(exc, EndpointConnectionError):
        return "could not reach AWS"
    return None
