"""The ``/rootkey`` command text, parsed into a typed command (pure: no Slack, no AWS).

``parse_command(text)`` never raises anything but ``UsageError``; the message of a
``UsageError`` is safe to show (user text in it is quoted and shortened, and the Block Kit
layer escapes it).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bot.audit.models import Scope
from bot.rules import ACCOUNT_ID, DASHED_ACCOUNT_ID

MAX_ACCOUNTS = 100  # accounts named in one command
MAX_SHOWN_ARG = 40  # characters of a bad argument quoted back
MAX_NAME = 50  # characters of an AWS account name


class UsageError(ValueError):
    """The command text is not understood; the message says why in one line."""


@dataclass(frozen=True)
class Check:
    """``/rootkey check [all | ID-or-NAME ...]``; ``scope`` None (and no ``names``) means the
    configured default. ``names``: accounts given by name, to be looked up in the latest
    audits (``bot.services.accounts``) before the audit starts."""

    scope: Scope | None = None
    names: tuple[str, ...] = ()


@dataclass(frozen=True)
class AccountName:
    """An account named by its name (``legacy-billing``), not its id: looked up later."""

    text: str


@dataclass(frozen=True)
class Help:
    """``/rootkey help`` (or an empty command)."""


@dataclass(frozen=True)
class Subcommand:
    """Any other word: the dispatch table decides whether it exists."""

    name: str
    args: tuple[str, ...] = ()


Command = Check | Help | Subcommand


def quote(arg: str) -> str:
    shown = arg if len(arg) <= MAX_SHOWN_ARG else arg[: MAX_SHOWN_ARG - 1] + "…"
    return f"'{shown}'"


def split(text: str | None) -> list[str]:
    # Slack may send non-breaking spaces pasted from elsewhere; treat every space alike.
    return (text or "").split()


def parse_account_id(arg: str) -> str:
    """``123456789012`` or ``1234-5678-9012`` -> ``123456789012``; else ``UsageError``."""
    if ACCOUNT_ID.fullmatch(arg):
        return arg
    if DASHED_ACCOUNT_ID.fullmatch(arg):
        return arg.replace("-", "")
    raise UsageError(f"{quote(arg)} is not an AWS account id (12 digits, like 123456789012)")


def is_id_like(arg: str) -> bool:
    """Digits and dashes only: meant as an account id (a malformed one is said as such, never
    looked up as a name)."""
    return bool(arg) and all(c.isascii() and (c.isdigit() or c == "-") for c in arg)


def is_account_id_arg(arg: str) -> bool:
    return bool(ACCOUNT_ID.fullmatch(arg) or DASHED_ACCOUNT_ID.fullmatch(arg))


def is_name(arg: str) -> bool:
    """What AWS allows in an account name: 1 to 50 printable ASCII characters."""
    return 0 < len(arg) <= MAX_NAME and all(" " <= c <= "~" for c in arg)


def parse_check(args: list[str]) -> Check:
    if not args:
        return Check()
    if len(args) == 1 and args[0].lower() in {"all", "org", "organization", "organisation"}:
        return Check(Scope(kind="org"))
    if any(a.lower() == "all" for a in args):
        raise UsageError("use either 'check all' or a list of account ids, not both")
    bad = [a for a in args if not is_account_id_arg(a) and (is_id_like(a) or not is_name(a))]
    if bad:
        shown = ", ".join(quote(a) for a in bad[:3]) + (" …" if len(bad) > 3 else "")
        noun = "is not an AWS account id" if len(bad) == 1 else "are not AWS account ids"
        raise UsageError(f"{shown} {noun} (12 digits, like 123456789012) or account name")
    ids = tuple(dict.fromkeys(parse_account_id(a) for a in args if is_account_id_arg(a)))
    names = tuple(dict.fromkeys(a for a in args if not is_account_id_arg(a)))
    if len(ids) + len(names) > MAX_ACCOUNTS:
        raise UsageError(
            f"at most {MAX_ACCOUNTS} accounts per command; use 'check all' for the Organization"
        )
    return Check(Scope(kind="accounts", account_ids=ids) if ids else None, names)


def parse_account_ref(args: Sequence[str]) -> str | AccountName:
    """One account: its id (``123456789012``, ``1234-5678-9012``) or its name, the rest of the
    command (a name may hold spaces); else ``UsageError``."""
    if len(args) == 1 and is_id_like(args[0]):
        return parse_account_id(args[0])
    name = " ".join(args)
    if not is_name(name):
        raise UsageError(
            "name one account: its id (12 digits, like 123456789012) or its name "
            f"(up to {MAX_NAME} characters)"
        )
    return AccountName(name)


def parse_command(text: str | None) -> Command:
    words = split(text)
    if not words:
        return Help()
    name, args = words[0].lower(), words[1:]
    if name in {"help", "-h", "--help", "?"}:
        return Help()
    if name == "check":
        return parse_check(args)
    return Subcommand(name=name, args=tuple(args))
