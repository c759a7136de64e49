"""Every setting rootkey reads, validated in one place.

Values come from the environment; ``load_dotenv`` (called by the command line, not at import)
fills it from a ``.env`` file first. A bad value raises ``ConfigError`` naming the variable and
what is expected; the command line turns it into one line on stderr and exit code 2.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.rules import is_enterprise_id, is_group_id, is_team_id, is_user_id

ROLE_NAME = re.compile(r"[A-Za-z0-9_+=,.@-]{1,64}")  # IAM role names: ASCII only
QUEUE_URL = re.compile(r"https?://[A-Za-z0-9.:-]+/[0-9]{12}/[A-Za-z0-9_-]{1,80}(\.fifo)?")
CHANNEL_ID = re.compile(r"[CG][A-Z0-9]{2,20}")
DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*$")
DURATION_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}
LOG_FORMATS = ("text", "json")


class ConfigError(Exception):
    """A setting is missing or malformed."""

    def __init__(self, variable: str, expected: str) -> None:
        super().__init__(f"{variable}: {expected}")
        self.variable = variable
        self.expected = expected


@dataclass(frozen=True)
class Config:
    # Slack
    slack_bot_token: str | None = None
    slack_signing_secret: str | None = None
    slack_app_token: str | None = None
    slack_api_url: str | None = None
    slack_team_id: str | None = None  # refuse payloads for another workspace when set
    slack_enterprise_id: str | None = None  # Enterprise Grid: accept any workspace of this org
    slack_app_id: str | None = None  # refuse payloads for another app when set
    port: int = 3000
    # Store
    database_url: str = "sqlite:///rootkey.db"
    # Audit
    audit_role: str = "RootkeyAudit"
    scope: str = "account"  # what a bare `/rootkey check` audits: "account" or "org"
    concurrency: int = 64  # the ceiling: bot.aws.pacing finds the level under it
    account_timeout: float = 60.0  # seconds one account may take
    report_deadline: float = 30.0  # seconds to wait for a credential report
    aws_region: str = "us-east-1"
    # Export: every audit's verdicts also go to the Security Hub of the bot's account
    securityhub: bool = False
    # Digest
    digest_channel: str | None = None
    digest_cron: str = "0 9 * * *"
    timezone: str = "UTC"
    digest_grace: float = 6 * 3600.0
    # Remediation
    approvers: tuple[str, ...] = ()
    required_approvals: int = 1
    approval_ttl: float = 72 * 3600.0
    remediation: str = "tracked"  # "tracked" or "assume-root"
    dry_run: bool = False
    owners_file: str | None = None
    recheck_interval: float = 6 * 3600.0
    reminder_after: float = 3 * 86400.0
    request_channel: str | None = None  # ROOTKEY_REQUEST_CHANNEL: every request is posted here
    ticket_url: str | None = None  # ROOTKEY_TICKET_URL: a ticket id's link, with {id}
    # Operations
    log_format: str = "text"  # ROOTKEY_LOG_FORMAT: "text", or "json" (one object per line)
    # Root-activity alerts
    events_queue_url: str | None = None  # the SQS queue every bot process long-polls
    alert_channel_setting: str | None = None  # ROOTKEY_ALERT_CHANNEL as set

    @property
    def alert_channel(self) -> str | None:
        """Where root-activity alerts go: ROOTKEY_ALERT_CHANNEL, else the digest channel."""
        return self.alert_channel_setting or self.digest_channel

    @property
    def socket_mode(self) -> bool:
        return bool(self.slack_app_token)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def require_slack(self) -> None:
        """The bot itself (not the command-line audit) needs Slack credentials."""
        if not self.slack_bot_token:
            raise ConfigError(
                "SLACK_BOT_TOKEN",
                "required: the bot token (xoxb-...); to try rootkey without Slack or AWS, "
                "run: python -m bot demo",
            )
        if not self.slack_bot_token.startswith("xox"):
            raise ConfigError("SLACK_BOT_TOKEN", "expected a Slack bot token starting with xoxb-")
        if self.slack_app_token:
            if not self.slack_app_token.startswith("xapp-"):
                raise ConfigError("SLACK_APP_TOKEN", "expected an app-level token starting xapp-")
        elif not self.slack_signing_secret:
            raise ConfigError(
                "SLACK_SIGNING_SECRET",
                "required in HTTP mode (set it, or set SLACK_APP_TOKEN for Socket Mode)",
            )


def parse_duration(variable: str, raw: str) -> float:
    """``90``, ``90s``, ``30m``, ``6h``, ``3d`` -> seconds."""
    match = DURATION.match(raw)
    if not match or float(match.group(1)) <= 0:
        raise ConfigError(variable, f"expected a positive duration like 30m, 6h or 3d, got {raw!r}")
    return float(match.group(1)) * DURATION_UNITS[match.group(2)]


def parse_bool(variable: str, raw: str) -> bool:
    lowered = raw.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off", ""}:
        return False
    raise ConfigError(variable, f"expected true or false, got {raw!r}")


def parse_int(variable: str, raw: str, low: int, high: int) -> int:
    try:
        value = int(raw.strip())
    except ValueError:
        raise ConfigError(variable, f"expected a whole number, got {raw!r}") from None
    if not low <= value <= high:
        raise ConfigError(variable, f"expected a number from {low} to {high}, got {value}")
    return value


def parse_approvers(raw: str) -> tuple[str, ...]:
    ids = tuple(part.strip() for part in raw.split(",") if part.strip())
    for ident in ids:
        if not (is_user_id(ident) or is_group_id(ident)):
            raise ConfigError(
                "ROOTKEY_APPROVERS",
                f"expected comma-separated Slack user ids (U... or W...) or user-group ids "
                f"(S...), "
                f"got {ident!r}",
            )
    return ids


def parse_queue_url(raw: str | None) -> str | None:
    if raw is None:
        return None
    if not QUEUE_URL.fullmatch(raw):
        raise ConfigError(
            "ROOTKEY_EVENTS_QUEUE_URL",
            "expected an SQS queue URL like "
            f"https://sqs.us-east-1.amazonaws.com/111111111111/rootkey-root-activity, got {raw!r}",
        )
    return raw


def parse_channel(variable: str, raw: str | None) -> str | None:
    if raw is not None and not CHANNEL_ID.fullmatch(raw):
        raise ConfigError(variable, f"expected a Slack channel id like C0123ABCD, got {raw!r}")
    return raw


def parse_ticket_url(raw: str | None) -> str | None:
    if raw is not None and not (re.match(r"^https?://\S+$", raw) and "{id}" in raw):
        raise ConfigError(
            "ROOTKEY_TICKET_URL",
            "expected an http(s) URL with {id} where the ticket id goes, like "
            f"https://tickets.example.com/browse/{{id}}, got {raw!r}",
        )
    return raw


def parse_log_format(raw: str | None) -> str:
    """``ROOTKEY_LOG_FORMAT``: ``text`` (the default) or ``json``. Read before the rest of the
    configuration too, since the command line sets its log up first."""
    value = (raw or "").strip().lower() or "text"
    if value not in LOG_FORMATS:
        raise ConfigError(
            "ROOTKEY_LOG_FORMAT", f"expected 'text' or 'json', got {(raw or '').strip()!r}"
        )
    return value


def validate_cron(raw: str, zone: str) -> None:
    from apscheduler.triggers.cron import CronTrigger

    try:
        CronTrigger.from_crontab(raw, timezone=zone)
    except ValueError as exc:
        raise ConfigError(
            "ROOTKEY_DIGEST_CRON", f"expected a 5-field cron line like '0 9 * * *' ({exc})"
        ) from None


def load_config(env: Mapping[str, str]) -> Config:
    def get(name: str) -> str | None:
        value = env.get(name)
        return value.strip() if value and value.strip() else None

    def slack_id(name: str, kind: str, valid: Callable[[str], bool]) -> str | None:
        value = get(name)
        if value is not None and not valid(value):
            raise ConfigError(name, f"expected a Slack {kind} id, got {value!r}")
        return value

    port = parse_int("PORT", get("PORT") or "3000", 1, 65535)

    scope = (get("ROOTKEY_SCOPE") or "account").lower()
    if scope not in {"account", "org"}:
        raise ConfigError("ROOTKEY_SCOPE", f"expected 'account' or 'org', got {scope!r}")

    role = get("ROOTKEY_AUDIT_ROLE") or "RootkeyAudit"
    if not ROLE_NAME.fullmatch(role):
        raise ConfigError("ROOTKEY_AUDIT_ROLE", f"expected an IAM role name, got {role!r}")

    timezone = get("ROOTKEY_TIMEZONE") or "UTC"
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(
            "ROOTKEY_TIMEZONE", f"expected an IANA time zone like Europe/Berlin, got {timezone!r}"
        ) from None
    cron = get("ROOTKEY_DIGEST_CRON") or "0 9 * * *"
    validate_cron(cron, timezone)

    remediation = (get("ROOTKEY_REMEDIATION") or "tracked").lower()
    if remediation not in {"tracked", "assume-root"}:
        raise ConfigError(
            "ROOTKEY_REMEDIATION", f"expected 'tracked' or 'assume-root', got {remediation!r}"
        )

    owners_file = get("ROOTKEY_OWNERS")
    if owners_file and not Path(owners_file).is_file():
        raise ConfigError("ROOTKEY_OWNERS", f"expected a readable file, {owners_file!r} not found")

    database_url = get("DATABASE_URL") or "sqlite:///rootkey.db"
    if "://" not in database_url:
        raise ConfigError(
            "DATABASE_URL",
            "expected a URL like sqlite:///rootkey.db or postgresql+psycopg://user@host/db",
        )

    api_url = get("SLACK_API_URL")
    if api_url and not re.match(r"^https?://", api_url):
        raise ConfigError("SLACK_API_URL", f"expected an http(s) URL, got {api_url!r}")
    if api_url and not api_url.endswith("/"):
        api_url += "/"

    return Config(
        slack_bot_token=get("SLACK_BOT_TOKEN"),
        slack_signing_secret=get("SLACK_SIGNING_SECRET"),
        slack_app_token=get("SLACK_APP_TOKEN"),
        slack_api_url=api_url,
        slack_team_id=slack_id("SLACK_TEAM_ID", "workspace (T...)", is_team_id),
        slack_enterprise_id=slack_id(
            "SLACK_ENTERPRISE_ID", "Enterprise Grid organization (E...)", is_enterprise_id
        ),
        slack_app_id=get("SLACK_APP_ID"),
        port=port,
        database_url=database_url,
        audit_role=role,
        scope=scope,
        concurrency=parse_int("ROOTKEY_CONCURRENCY", get("ROOTKEY_CONCURRENCY") or "64", 1, 256),
        account_timeout=parse_duration(
            "ROOTKEY_ACCOUNT_TIMEOUT", get("ROOTKEY_ACCOUNT_TIMEOUT") or "60s"
        ),
        report_deadline=parse_duration(
            "ROOTKEY_REPORT_DEADLINE", get("ROOTKEY_REPORT_DEADLINE") or "30s"
        ),
        aws_region=get("AWS_REGION") or get("AWS_DEFAULT_REGION") or "us-east-1",
        securityhub=parse_bool("ROOTKEY_SECURITYHUB", get("ROOTKEY_SECURITYHUB") or "false"),
        digest_channel=get("ROOTKEY_DIGEST_CHANNEL"),
        digest_cron=cron,
        timezone=timezone,
        digest_grace=parse_duration("ROOTKEY_DIGEST_GRACE", get("ROOTKEY_DIGEST_GRACE") or "6h"),
        approvers=parse_approvers(get("ROOTKEY_APPROVERS") or ""),
        required_approvals=parse_int(
            "ROOTKEY_REQUIRED_APPROVALS", get("ROOTKEY_REQUIRED_APPROVALS") or "1", 1, 10
        ),
        approval_ttl=parse_duration("ROOTKEY_APPROVAL_TTL", get("ROOTKEY_APPROVAL_TTL") or "72h"),
        remediation=remediation,
        dry_run=parse_bool("ROOTKEY_DRY_RUN", get("ROOTKEY_DRY_RUN") or "false"),
        owners_file=owners_file,
        recheck_interval=parse_duration(
            "ROOTKEY_RECHECK_INTERVAL", get("ROOTKEY_RECHECK_INTERVAL") or "6h"
        ),
        reminder_after=parse_duration(
            "ROOTKEY_REMINDER_AFTER", get("ROOTKEY_REMINDER_AFTER") or "3d"
        ),
        request_channel=parse_channel("ROOTKEY_REQUEST_CHANNEL", get("ROOTKEY_REQUEST_CHANNEL")),
        ticket_url=parse_ticket_url(get("ROOTKEY_TICKET_URL")),
        log_format=parse_log_format(get("ROOTKEY_LOG_FORMAT")),
        events_queue_url=parse_queue_url(get("ROOTKEY_EVENTS_QUEUE_URL")),
        alert_channel_setting=parse_channel("ROOTKEY_ALERT_CHANNEL", get("ROOTKEY_ALERT_CHANNEL")),
    )
