"""Every setting rootkey reads, described once: its name, its default as one would write it in
the environment, and what it means. ``docs/configuration.md`` is generated from this table
(``python -m bot.settings > docs/configuration.md``) and tests hold the table to the code:
every variable ``bot.config.load_config`` reads is here and nothing else, each default written
here is the one ``load_config`` applies, and ``.env.example`` names the same variables.

Reading and validating the values stays in ``bot.config``; this is their documentation.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

UNSET = "unset"


@dataclass(frozen=True)
class Setting:
    name: str
    default: str  # as written in the environment, or UNSET, or a phrase in parentheses
    meaning: str
    group: str

    @property
    def literal_default(self) -> bool:
        """True when ``default`` is a value that ``load_config`` takes as the default."""
        return self.default != UNSET and not self.default.startswith("(")


SLACK, STORE, AUDIT, DIGEST, REMEDIATION, ALERTS, OPERATIONS = (
    "Slack",
    "Store",
    "Audit",
    "Digest",
    "Remediation",
    "Root-activity alerts",
    "Operations",
)

SETTINGS: tuple[Setting, ...] = (
    Setting("SLACK_BOT_TOKEN", "(required)", "Bot token, `xoxb-...`", SLACK),
    Setting(
        "SLACK_SIGNING_SECRET",
        "(required for HTTP)",
        "Verifies that requests come from Slack",
        SLACK,
    ),
    Setting(
        "SLACK_APP_TOKEN", UNSET, "`xapp-...` app-level token: Socket Mode instead of HTTP", SLACK
    ),
    Setting(
        "SLACK_API_URL",
        "(https://slack.com/api/)",
        "Web API base URL (GovSlack, a local stand-in)",
        SLACK,
    ),
    Setting(
        "SLACK_TEAM_ID",
        UNSET,
        "Refuse requests from any other workspace: one that names no workspace, or any other "
        "one (the user's own workspace included), is refused (403)",
        SLACK,
    ),
    Setting(
        "SLACK_ENTERPRISE_ID",
        UNSET,
        "Enterprise Grid: accept requests from any workspace of this organization (`E...`); "
        "one naming another organization is refused",
        SLACK,
    ),
    Setting("SLACK_APP_ID", UNSET, "Refuse requests for any other app", SLACK),
    Setting(
        "PORT",
        "3000",
        "HTTP port: `POST /slack/events`, `GET /healthz`, `GET /metrics` (Prometheus; served "
        "in Socket Mode too)",
        SLACK,
    ),
    Setting(
        "DATABASE_URL",
        "sqlite:///rootkey.db",
        "Store; `postgresql+psycopg://...` for several replicas",
        STORE,
    ),
    Setting(
        "ROOTKEY_SCOPE", "account", "What a bare `/rootkey check` audits: `account` or `org`", AUDIT
    ),
    Setting("ROOTKEY_AUDIT_ROLE", "RootkeyAudit", "Role assumed in each member account", AUDIT),
    Setting(
        "ROOTKEY_CONCURRENCY",
        "64",
        "Ceiling of the AWS calls in flight per API (1-256); the audit finds its own level "
        "below it",
        AUDIT,
    ),
    Setting(
        "ROOTKEY_ACCOUNT_TIMEOUT",
        "60s",
        "Time limit per account (then it is an `error`)",
        AUDIT,
    ),
    Setting(
        "ROOTKEY_REPORT_DEADLINE", "30s", "Wait for a credential report at most this long", AUDIT
    ),
    Setting(
        "AWS_REGION",
        "us-east-1",
        "Region of the AWS calls (`AWS_DEFAULT_REGION` is read too); credentials as boto3 "
        "finds them: the compute's role or `AWS_PROFILE`, never access keys",
        AUDIT,
    ),
    Setting("AWS_DEFAULT_REGION", "(AWS_REGION)", "Read when `AWS_REGION` is unset", AUDIT),
    Setting(
        "ROOTKEY_SECURITYHUB",
        "false",
        "`true`: every audit read live (checks, rechecks, digests) is also sent to Security Hub",
        AUDIT,
    ),
    Setting(
        "ROOTKEY_DIGEST_CHANNEL",
        UNSET,
        "Channel id for the scheduled digest (none when unset)",
        DIGEST,
    ),
    Setting("ROOTKEY_DIGEST_CRON", "0 9 * * *", "When the digest is posted (5-field cron)", DIGEST),
    Setting("ROOTKEY_TIMEZONE", "UTC", "Time zone of the cron line and of dates shown", DIGEST),
    Setting(
        "ROOTKEY_DIGEST_GRACE",
        "6h",
        "A digest missed while down is posted once within this time",
        DIGEST,
    ),
    Setting(
        "ROOTKEY_APPROVERS",
        UNSET,
        "Approvers: Slack user ids `U...` and user-group ids `S...`",
        REMEDIATION,
    ),
    Setting("ROOTKEY_REQUIRED_APPROVALS", "1", "Distinct approvers needed (1-10)", REMEDIATION),
    Setting("ROOTKEY_APPROVAL_TTL", "72h", "Undecided requests expire after this", REMEDIATION),
    Setting("ROOTKEY_REMEDIATION", "tracked", "`tracked` or `assume-root`", REMEDIATION),
    Setting(
        "ROOTKEY_DRY_RUN",
        "false",
        "assume-root: everything but the deletion (also for requests made before it was turned on)",
        REMEDIATION,
    ),
    Setting(
        "ROOTKEY_REQUEST_CHANNEL",
        UNSET,
        "Channel id where every request is posted; unset: in the finding's thread, which must "
        "be in a channel (never a DM), and a request from the Home tab in "
        "`ROOTKEY_DIGEST_CHANNEL` (with neither set, the Home tab's button says so instead of "
        "opening a form). A request that would land in a private channel or group DM no "
        "approver is in is refused in the form",
        REMEDIATION,
    ),
    Setting(
        "ROOTKEY_TICKET_URL",
        UNSET,
        "Link for a ticket id typed in a request form (`SEC-1234`), with `{id}` for the id, "
        "e.g. `https://tickets.example.com/browse/{id}`; unset: the id is shown as typed. A "
        "full http(s) link is always accepted",
        REMEDIATION,
    ),
    Setting("ROOTKEY_OWNERS", UNSET, "File: account id -> Slack user id of its owner", REMEDIATION),
    Setting("ROOTKEY_RECHECK_INTERVAL", "6h", "Re-audit interval of tracked requests", REMEDIATION),
    Setting(
        "ROOTKEY_REMINDER_AFTER",
        "3d",
        "Remind the assignee after this (approvers after twice it)",
        REMEDIATION,
    ),
    Setting(
        "ROOTKEY_EVENTS_QUEUE_URL",
        UNSET,
        "SQS queue of root-activity events; unset: no alerts",
        ALERTS,
    ),
    Setting(
        "ROOTKEY_ALERT_CHANNEL",
        "(ROOTKEY_DIGEST_CHANNEL)",
        "Channel id for root-activity alerts",
        ALERTS,
    ),
    Setting(
        "ROOTKEY_LOG_FORMAT",
        "text",
        "`text`, or `json`: one JSON object per log line (`time`, `level`, `logger`, "
        "`message`, `exception` when there is one) for log pipelines",
        OPERATIONS,
    ),
)


def reference_markdown() -> str:
    """docs/configuration.md: one table per group, in the order of ``SETTINGS``."""
    lines = [
        "# Configuration reference",
        "",
        "<!-- Generated from bot/settings.py by `python -m bot.settings > "
        "docs/configuration.md`; a test fails when the two differ. -->",
        "",
        "Every setting comes from the environment; a `.env` file in the working directory is "
        "read first (the start-up log names it). A missing or malformed value stops start-up "
        "with one line naming the variable (exit code 2). Durations are written `90s`, `30m`, "
        "`6h` or `3d`. `.env.example` lists the same settings with comments.",
    ]
    groups: dict[str, list[Setting]] = {}
    for setting in SETTINGS:
        groups.setdefault(setting.group, []).append(setting)
    for group, settings in groups.items():
        lines += ["", f"## {group}", "", "| Variable | Default | Meaning |", "|---|---|---|"]
        for s in settings:
            default = s.default if not s.literal_default else f"`{s.default}`"
            lines.append(f"| `{s.name}` | {default} | {s.meaning} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.stdout.write(reference_markdown())
