"""IAM reads: the account summary, the credential report, the Organization's root features.

Each function takes a client and returns plain data from ``bot.audit.models`` or raises
``AwsReadError`` naming the operation and the AWS error code.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError
from botocore.parsers import ResponseParserError

from bot.audit.models import AccountSummary, OrgFeatures
from bot.aws.errors import AccountTimeout, AwsReadError

# Codes that mean "the report is not there yet / any more": generate it and wait.
THROTTLING_CODES = {
    "Throttling",
    "ThrottlingException",
    "TooManyRequestsException",
    "RequestLimitExceeded",
    "SlowDown",
}
REPORT_RETRY_CODES = {"ReportInProgress", "ReportNotPresent", "ReportExpired", "LimitExceeded"}


# Every failure an AWS call can raise through botocore. ResponseParserError (an answer that is
# not XML: an HTML error page from a proxy, a load balancer or an endpoint that does not serve
# the API) is not a BotoCoreError, and botocore does not retry it.
AWS_CALL_ERRORS = (ClientError, BotoCoreError, ResponseParserError)


def error_code(exc: Exception) -> str:
    if isinstance(exc, ClientError):
        return str(exc.response.get("Error", {}).get("Code") or "ClientError")
    return type(exc).__name__


def read_error(operation: str, exc: Exception) -> AwsReadError:
    code = error_code(exc)
    notes = []
    if isinstance(exc, NoCredentialsError):
        notes.append("no AWS credentials found: environment, config files or an attached role")
    if isinstance(exc, ResponseParserError):
        notes.append("the answer was not XML: an HTML page from a proxy or load balancer?")
    elif code.isdigit():
        # botocore's name for an HTTP 5xx whose body starts with <html>: no AWS error in it
        notes.append(f"HTTP {code} with an HTML body, not an AWS answer")
    if code in THROTTLING_CODES and "throttl" not in code.lower():
        notes.append("throttled")
    if isinstance(exc, ClientError):
        retries = exc.response.get("ResponseMetadata", {}).get("RetryAttempts", 0)
        if retries:
            notes.append(f"after {retries} {'retry' if retries == 1 else 'retries'}")
    return AwsReadError(operation, code, ", ".join(notes))


def malformed(operation: str, missing: str) -> AwsReadError:
    """An answer without what AWS always sends (an empty page in its place)."""
    return AwsReadError(operation, "MalformedAnswer", f"no {missing} in the answer")


def flag(summary_map: dict[str, Any], name: str) -> bool | None:
    value = summary_map.get(name)
    return None if value is None else bool(int(value))


def read_account_summary(iam: Any) -> AccountSummary:
    try:
        summary_map = iam.get_account_summary().get("SummaryMap")
    except AWS_CALL_ERRORS as exc:
        raise read_error("GetAccountSummary", exc) from None
    if not isinstance(summary_map, dict):
        raise malformed("GetAccountSummary", "SummaryMap")
    return AccountSummary(
        access_keys_present=flag(summary_map, "AccountAccessKeysPresent"),
        mfa_enabled=flag(summary_map, "AccountMFAEnabled"),
        signing_certificates_present=flag(summary_map, "AccountSigningCertificatesPresent"),
        password_present=flag(summary_map, "AccountPasswordPresent"),
    )


@dataclass(frozen=True)
class CredentialReport:
    content: bytes
    generated_at: datetime | None


class Deadline:
    """A point in (monotonic) time; ``remaining()`` seconds until it."""

    def __init__(
        self, seconds: float, clock: Callable[[], float] = time.monotonic, label: str = ""
    ) -> None:
        self.seconds = seconds
        self.clock = clock
        self.at = clock() + seconds
        self.label = label

    def remaining(self) -> float:
        return self.at - self.clock()

    def check(self, operation: str) -> None:
        if self.remaining() <= 0:
            raise AccountTimeout(operation, self.seconds)


def read_credential_report(
    iam: Any,
    deadline: float,
    account_deadline: Deadline | None = None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    first_wait: float = 0.25,
    max_wait: float = 5.0,
) -> CredentialReport:
    """Generate (if needed), wait with backoff until ready or ``deadline`` seconds, then get.

    ``LimitExceeded``, ``ReportInProgress``, ``ReportNotPresent`` and ``ReportExpired`` are
    waited out; the deadline gives ``ReportNotReady``; other errors are raised at once.
    """
    report_deadline = Deadline(deadline, clock)
    wait = first_wait
    last_code = "ReportInProgress"
    while True:
        if account_deadline is not None:
            account_deadline.check("GetCredentialReport")
        try:
            state = iam.generate_credential_report().get("State")
        except ClientError as exc:
            if error_code(exc) not in REPORT_RETRY_CODES:
                raise read_error("GenerateCredentialReport", exc) from None
            state, last_code = "INPROGRESS", error_code(exc)
        except (BotoCoreError, ResponseParserError) as exc:
            raise read_error("GenerateCredentialReport", exc) from None
        if state == "COMPLETE":
            try:
                response = iam.get_credential_report()
            except ClientError as exc:
                if error_code(exc) not in REPORT_RETRY_CODES:
                    raise read_error("GetCredentialReport", exc) from None
                last_code = error_code(exc)
            except (BotoCoreError, ResponseParserError) as exc:
                raise read_error("GetCredentialReport", exc) from None
            else:
                return CredentialReport(
                    content=as_bytes(response.get("Content", b"")),
                    generated_at=as_utc(response.get("GeneratedTime")),
                )
        limit = report_deadline.remaining()
        if account_deadline is not None:
            limit = min(limit, account_deadline.remaining())
        if limit <= 0:
            raise AwsReadError(
                "GetCredentialReport", "ReportNotReady", f"{last_code} after {deadline:g} s"
            )
        sleep(min(wait, limit))
        wait = min(wait * 2, max_wait)


def as_bytes(content: Any) -> bytes:
    if isinstance(content, bytes):
        return content
    return str(content).encode()


def as_utc(value: Any) -> datetime | None:
    if not isinstance(value, datetime):
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def read_org_features(iam: Any) -> OrgFeatures:
    """Centralized root access features. Callers other than the management account (or a
    delegated administrator) cannot read them: that is "unknown", not an error."""
    try:
        answer = iam.list_organizations_features()
    except AWS_CALL_ERRORS:
        return OrgFeatures()
    if not isinstance(answer.get("EnabledFeatures"), list):
        return OrgFeatures()  # not AWS's answer (an empty page in its place): unknown
    enabled = set(answer["EnabledFeatures"])
    return OrgFeatures(
        root_credentials_management="RootCredentialsManagement" in enabled,
        root_sessions="RootSessions" in enabled,
    )
