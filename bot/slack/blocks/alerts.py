"""Root-activity alerts: a created or reactivated root key, a key's folded uses, a deletion.

Every value from the event (user agent, source IP, action names, region) came from whoever
could put a message on the queue: it is escaped like any other text. Key ids are masked; a key
id that did not look like one is "(key id not readable)".
An alert carries *Request remediation* (the same form as a finding's) and *Audit now* (an
audit of that one account) buttons.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, tzinfo

from slack_sdk.models.blocks import ActionsBlock, ButtonElement

from bot.audit.models import Scope
from bot.events.fold import Uses
from bot.events.models import Activity, RootActivity
from bot.slack.action_ids import ActionId
from bot.slack.blocks.common import (
    Message,
    check_limits,
    context,
    escape,
    header,
    mask,
    mrkdwn_section,
    truncate,
)
from bot.slack.values import FindingRef, encode_scope

MAX_SHOWN_ACTIONS = 8
MAX_AGENT = 300
TITLES = {
    Activity.KEY_CREATED: "Root access key created",
    Activity.KEY_REACTIVATED: "Root access key reactivated",
}


def key_name(key_id: str) -> str:
    """The key masked, or what to say when the event's key id did not look like one."""
    return mask(key_id) if key_id else "(key id not readable)"


def when(at: datetime, zone: tzinfo) -> str:
    local = at.astimezone(zone)
    return f"{local:%Y-%m-%d %H:%M:%S} {local.tzname()}"


def clock(at: datetime, zone: tzinfo) -> str:
    local = at.astimezone(zone)
    return f"{local:%H:%M} {local.tzname()}"


def account_line(account_id: str, name: str | None) -> str:
    return f"*{account_id}*" + (f" · {escape(name)}" if name else "")


def buttons(account_id: str) -> ActionsBlock:
    return ActionsBlock(
        block_id=f"rootkey_alert_actions:{account_id}",
        elements=[
            ButtonElement(
                text="Request remediation",
                action_id=ActionId.REQUEST_REMEDIATION.value,
                value=FindingRef(account_id).encode(),
                style="danger",
            ),
            ButtonElement(
                text="Audit now",
                action_id=ActionId.RERUN.value,
                value=encode_scope(Scope(kind="accounts", account_ids=(account_id,))),
            ),
        ],
    )


def key_alert(activity: RootActivity, account_name: str | None, zone: tzinfo) -> Message:
    """A root key was created or reactivated."""
    call = activity.call
    title = TITLES[activity.activity]
    lines = [
        f":rotating_light: {account_line(activity.account_id, account_name)}",
        f"Key {key_name(activity.key_id)} · {when(call.at, zone)}",
        f"From {escape(call.source_ip or 'an unknown address')}",
    ]
    if call.user_agent:
        lines.append(
            f"User agent: {escape(truncate(' '.join(call.user_agent.split()), MAX_AGENT))}"
        )
    blocks = [
        header(title),
        mrkdwn_section("\n".join(lines)),
        context(
            "The root user should have no access key (CIS, Security Hub IAM.4). Request "
            "remediation to remove it, or audit the account now."
        ),
        buttons(activity.account_id),
    ]
    where = f"{activity.account_id} ({account_name})" if account_name else activity.account_id
    text = f"{title} in {where}: {key_name(activity.key_id)}"
    return check_limits(Message(blocks=blocks, text=truncate(escape(text), 3000)))


def action_counts(ranked: Iterable[tuple[str, int]]) -> str:
    items = list(ranked)
    shown = [f"{escape(action)} ×{count}" for action, count in items[:MAX_SHOWN_ACTIONS]]
    rest = len(items) - len(shown)
    return ", ".join(shown) + (f" and {rest} more" if rest > 0 else "")


def uses_alert(uses: Uses, account_name: str | None, zone: tzinfo) -> Message:
    """A key's uses in one 10-minute window (posted at the first, updated at each next)."""
    ranked = uses.ranked()
    first_action = ranked[0][0] if ranked else "a call"
    source = uses.sources[0] if uses.sources else "an unknown address"
    if uses.total == 1:
        title = f"Root access key used: {first_action} from {source}"
        summary = f"used once at {when(uses.first_at, zone)}: {action_counts(ranked)}"
    else:
        title = f"Root access key used {uses.total} times"
        summary = (
            f"used {uses.total} times since {clock(uses.first_at, zone)}: {action_counts(ranked)}"
        )
    lines = [
        f":rotating_light: {account_line(uses.account_id, account_name)}",
        f"Key {key_name(uses.key_id)} {summary}",
        "From " + ", ".join(escape(s) for s in uses.sources or ("an unknown address",)),
        f"Last use {when(uses.last_at, zone)}",
    ]
    blocks = [
        header(title),
        mrkdwn_section("\n".join(lines)),
        context(
            "A root access key signs these calls. Uses of this key in this account within "
            "10 minutes are counted in this message."
        ),
        buttons(uses.account_id),
    ]
    text = f"{title} in {uses.account_id}: key {key_name(uses.key_id)}"
    return check_limits(Message(blocks=blocks, text=truncate(escape(text), 3000)))


def key_deleted_note(activity: RootActivity, zone: tzinfo, *, thread_gone: bool = False) -> Message:
    """In the thread of the account's alert and open request: the root user deleted a key.
    ``thread_gone``: posted in the alert channel instead, because that thread is no longer in
    Slack (its message was deleted), which the note says."""
    call = activity.call
    text = (
        f":wastebasket: The root user deleted access key {key_name(activity.key_id)} of "
        f"*{activity.account_id}* at {when(call.at, zone)} (from "
        f"{escape(call.source_ip or 'an unknown address')}). rootkey re-audits the account."
    )
    if thread_gone:
        text += (
            " The alert or request this note belongs under is no longer in Slack (its message "
            "was deleted), so it is posted here."
        )
    return check_limits(Message(blocks=[mrkdwn_section(text)], text=truncate(text, 3000)))
