"""The Slack checks: the token, the scopes it was granted, the mode's secret, the channels the
bot posts in, and the approvers. Read-only: ``auth.test``, ``conversations.info``,
``users.info``, ``usergroups.users.list`` and, in Socket Mode, ``apps.connections.open``."""

from __future__ import annotations

from collections.abc import Iterator

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from bot.config import Config
from bot.doctor.findings import Finding, fail, ok, warn
from bot.rules import is_group_id
from bot.slack.scopes import BOT_SCOPES

AREA = "Slack"
REINSTALL = (
    "add them under OAuth & Permissions (or paste slack/manifest.yml again), reinstall the app, "
    "and copy the new Bot User OAuth Token to SLACK_BOT_TOKEN"
)


def error_of(exc: SlackClientError) -> str:
    if isinstance(exc, SlackApiError):
        return str(exc.response.get("error") or exc.response.status_code)
    return f"{type(exc).__name__}: {exc}"


def check_slack(config: Config, client: WebClient) -> Iterator[Finding]:
    try:
        auth = client.auth_test()
    except SlackClientError as exc:
        yield fail(
            AREA,
            "bot token",
            f"auth.test refused SLACK_BOT_TOKEN ({error_of(exc)})",
            "copy the Bot User OAuth Token (xoxb-…) from the app's OAuth & Permissions page",
        )
        return
    yield ok(AREA, "bot token", f"bot @{auth.get('user')} in workspace {auth.get('team')}")
    yield scopes_finding(auth.headers.get("x-oauth-scopes"))
    yield from mode_findings(config)
    channels = {
        "ROOTKEY_DIGEST_CHANNEL": config.digest_channel,
        "ROOTKEY_ALERT_CHANNEL": config.alert_channel_setting,
        "ROOTKEY_REQUEST_CHANNEL": config.request_channel,
    }
    granted = set((auth.headers.get("x-oauth-scopes") or "").split(","))
    for variable, channel in channels.items():
        if channel:
            yield channel_finding(client, variable, channel, "channels:join" in granted)
    yield from approver_findings(config, client)


def scopes_finding(header: str | None) -> Finding:
    if header is None:
        return warn(AREA, "scopes", "Slack did not name the token's scopes (x-oauth-scopes)")
    granted = {scope.strip() for scope in header.split(",") if scope.strip()}
    missing = sorted(BOT_SCOPES - granted)
    if missing:
        return fail(AREA, "scopes", f"the token lacks {', '.join(missing)}", REINSTALL)
    return ok(AREA, "scopes", f"all {len(BOT_SCOPES)} scopes of slack/manifest.yml granted")


def mode_findings(config: Config) -> Iterator[Finding]:
    if config.socket_mode:
        yield ok(AREA, "mode", "Socket Mode (SLACK_APP_TOKEN set): no public address needed")
    elif config.slack_signing_secret:
        yield ok(AREA, "mode", "HTTP (SLACK_SIGNING_SECRET set): Slack posts to /slack/events")
    else:
        yield fail(
            AREA,
            "mode",
            "neither SLACK_SIGNING_SECRET (HTTP) nor SLACK_APP_TOKEN (Socket Mode) is set",
            "copy the Signing Secret from the app's Basic Information page to "
            "SLACK_SIGNING_SECRET, or create an app-level token (connections:write) and set "
            "SLACK_APP_TOKEN",
        )


def channel_finding(client: WebClient, variable: str, channel: str, can_join: bool) -> Finding:
    """Read one message of ``channel`` (``conversations.history``, which the bot's history
    scopes allow; ``conversations.info`` would need a read scope the app does not ask for):
    Slack answers it for a member, ``not_in_channel`` for a public channel the bot is not in,
    and ``channel_not_found`` for a wrong id or a private channel it was not invited to."""
    check = f"{variable} {channel}"
    try:
        client.conversations_history(channel=channel, limit=1)
    except SlackApiError as exc:
        error = error_of(exc)
        if error == "not_in_channel" and can_join:
            return ok(AREA, check, "public; the bot joins it when it first posts there")
        if error == "not_in_channel":
            return fail(AREA, check, "the bot is not a member", f"/invite @rootkey in {channel}")
        return fail(
            AREA,
            check,
            f"the bot cannot see this channel ({error})",
            "check the id (the channel's name -> View channel details -> the id at the bottom, "
            "C… or G…); a private channel needs the bot invited: /invite @rootkey",
        )
    except SlackClientError as exc:
        return fail(AREA, check, f"Slack did not answer ({error_of(exc)})", "try again")
    return ok(AREA, check, "the bot is a member")


def approver_findings(config: Config, client: WebClient) -> Iterator[Finding]:
    if not config.approvers:
        yield fail(
            AREA,
            "approvers",
            "ROOTKEY_APPROVERS is empty: no request can be approved",
            "set ROOTKEY_APPROVERS to Slack user ids (U…: profile -> ⋮ -> Copy member ID) "
            "or user-group ids (S…: the group's page URL ends with it)",
        )
        return
    people: set[str] = set()
    for approver in config.approvers:
        check = f"approver {approver}"
        try:
            if is_group_id(approver):
                users = client.usergroups_users_list(usergroup=approver).get("users") or []
                people.update(str(user) for user in users)
                if users:
                    yield ok(AREA, check, f"user group with {len(users)} members")
                else:
                    yield fail(AREA, check, "the user group has no members", "add approvers")
                continue
            user = client.users_info(user=approver)["user"]
        except SlackClientError as exc:
            yield fail(
                AREA,
                check,
                f"Slack does not know this approver ({error_of(exc)})",
                "fix ROOTKEY_APPROVERS: member ids (U…) from a profile's ⋮ -> Copy member ID",
            )
            continue
        if user.get("deleted"):
            yield fail(
                AREA, check, "the account is deactivated", "remove it from ROOTKEY_APPROVERS"
            )
        else:
            people.add(approver)
            yield ok(AREA, check, f"{user.get('real_name') or user.get('name')}")
    yield enough_approvers(len(people), config.required_approvals)


def enough_approvers(people: int, required: int) -> Finding:
    """``required`` distinct approvers, never the requester: with fewer people no request can
    be approved; with exactly as many, none that one of them asks for."""
    check = "ROOTKEY_REQUIRED_APPROVALS"
    fix = f"add approvers to ROOTKEY_APPROVERS, or lower ROOTKEY_REQUIRED_APPROVALS ({required})"
    if people < required:
        return fail(
            AREA,
            check,
            f"{required} distinct approvals needed but only {people} approver(s) found: no "
            "request can ever be approved",
            fix,
        )
    if people == required:
        return warn(
            AREA,
            check,
            f"{required} approvals needed from {people} approver(s): a request one of them makes "
            "can never be approved (nobody approves their own)",
            fix,
        )
    return ok(AREA, check, f"{required} of {people} approvers needed")
