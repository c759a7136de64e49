"""``/rootkey``: parse, ack at once, hand slow work to a service.

``SUBCOMMANDS`` maps each subcommand to its function; a new one is one entry (and a line of
``bot.slack.blocks.command.HELP_LINES``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from slack_bolt import Ack, BoltContext

from bot.audit.models import Scope
from bot.services.accounts import UnknownName
from bot.services.check import CheckRequest
from bot.slack.action_ids import SLASH_COMMAND
from bot.slack.blocks.command import ack_text, busy_text, help_message, note, usage_error
from bot.slack.blocks.common import Message, escape
from bot.slack.blocks.digest import digest_started
from bot.slack.blocks.history import history_message
from bot.slack.blocks.status import status_message
from bot.slack.commands import (
    AccountName,
    Check,
    Command,
    Help,
    Subcommand,
    UsageError,
    parse_account_ref,
    parse_command,
)
from handlers.middleware import claimed, key_of
from handlers.private import tell_privately

if TYPE_CHECKING:
    from slack_bolt import App

    from bot.wiring import Services

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CommandContext:
    """One invocation of ``/rootkey``, as the subcommand functions see it."""

    services: Services
    ack: Ack
    channel: str
    user: str
    response_url: str | None
    body: dict[str, Any]
    context: BoltContext

    def reply(self, message: Message) -> None:
        """Ack with a private message (only the person who typed the command sees it)."""
        self.ack(text=message.text, blocks=message.blocks, response_type="ephemeral")

    def say_privately(self, text: str) -> None:
        self.ack(text=text, response_type="ephemeral")

    def answer_after_ack(self, build: Callable[[], Message]) -> None:
        """Ack at once, then build the answer (it reads the database, which may be slow) and
        send it privately (``handlers.private``: through ``response_url``, else ephemeral in
        the channel, else a direct message). A database that cannot answer reaches the one
        error handler, which tells the user "database not available"."""
        self.ack()
        message = build()
        tell_privately(
            self.services,
            self.user,
            message,
            response_url=self.response_url,
            channel=self.channel,
        )


def check(ctx: CommandContext, command: Command) -> None:
    assert isinstance(command, Check)
    if command.names:  # looked up in the database: after the ack
        ctx.answer_after_ack(lambda: check_named(ctx, command))
        return
    scope = command.scope or Scope(kind=ctx.services.config.scope)
    ctx.say_privately(start_check(ctx, scope))


def start_check(ctx: CommandContext, scope: Scope, named: str = "") -> str:
    """Start the audit of ``scope``; what to tell the person who asked."""
    request = CheckRequest(
        scope=scope,
        channel=ctx.channel,
        user=ctx.user,
        response_url=ctx.response_url,
        key=key_of(ctx.context),
    )
    if ctx.services.checks.start(request):
        return ack_text(scope) + named
    return busy_text(ctx.services.jobs.pending)


def check_named(ctx: CommandContext, command: Check) -> Message:
    """``check`` with accounts given by name: each looked up in the latest audits; one name
    no account (or several) has refuses the whole command, saying which."""
    ids = list(command.scope.account_ids if command.scope else ())
    found: list[str] = []
    for name in command.names:
        try:
            account_id, stored = ctx.services.names.find(name)
        except UnknownName as exc:
            return usage_error(str(exc))
        ids.append(account_id)
        found.append(f"{stored} is {account_id}")
    scope = Scope(kind="accounts", account_ids=tuple(dict.fromkeys(ids)))
    return note(escape(start_check(ctx, scope, f" ({'; '.join(found)})")))


def show_help(ctx: CommandContext, command: Command) -> None:
    ctx.reply(help_message())


def digest(ctx: CommandContext, command: Command) -> None:
    service = ctx.services.digest

    def job() -> None:
        if claimed(ctx.services, ctx.context):  # not already taken on by another replica
            service.post_now(ctx.channel, ctx.user, ctx.response_url)

    if ctx.services.jobs.submit("digest", job):
        ctx.say_privately(digest_started(ctx.channel).text)
    else:
        ctx.say_privately(busy_text(ctx.services.jobs.pending))


def history(ctx: CommandContext, command: Command) -> None:
    assert isinstance(command, Subcommand)
    if not command.args:
        ctx.reply(usage_error("usage: history 123456789012 (one account id or name)"))
        return
    try:
        ref = parse_account_ref(command.args)
    except UsageError as exc:
        ctx.reply(usage_error(str(exc)))
        return
    service = ctx.services.history

    def build() -> Message:
        try:
            if isinstance(ref, AccountName):
                found = service.account(name=ref.text)
            else:
                found = service.account(ref)
        except UnknownName as exc:
            return usage_error(str(exc))
        return history_message(
            found.account_id, found.audits, found.state, now=found.as_of, requests=found.requests
        )

    ctx.answer_after_ack(build)


def status(ctx: CommandContext, command: Command) -> None:
    """Open remediation requests and accepted risks, privately."""
    service = ctx.services.status

    def build() -> Message:
        found = service.status()
        return status_message(
            found.requests,
            found.exceptions,
            ctx.services.config.zone,
            found.not_covering,
            team_domain=ctx.body.get("team_domain"),
            counts=found.counts,
        )

    ctx.answer_after_ack(build)


Handler = Callable[[CommandContext, Command], None]

SUBCOMMANDS: dict[str, Handler] = {
    "check": check,
    "help": show_help,
    "digest": digest,
    "history": history,
    "status": status,
}


def name_of(command: Command) -> str:
    if isinstance(command, Check):
        return "check"
    if isinstance(command, Help):
        return "help"
    assert isinstance(command, Subcommand)
    return command.name


def rootkey_command(
    ack: Ack, command: dict[str, Any], context: BoltContext, services: Services
) -> None:
    """``/rootkey``: parsed, then one subcommand's function (a bad command is told privately
    in the ack)."""
    ctx = CommandContext(
        services=services,
        ack=ack,
        channel=command.get("channel_id", ""),
        user=command.get("user_id", ""),
        response_url=command.get("response_url"),
        body=command,
        context=context,
    )
    try:
        parsed = parse_command(command.get("text"))
    except UsageError as exc:
        ctx.reply(usage_error(str(exc)))
        return
    handler = SUBCOMMANDS.get(name_of(parsed))
    if handler is None:
        ctx.reply(usage_error(f"unknown command '{name_of(parsed)[:40]}'"))
        return
    handler(ctx, parsed)


def register(app: App, services: Services) -> None:
    app.command(SLASH_COMMAND)(rootkey_command)
