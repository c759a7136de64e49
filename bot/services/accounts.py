"""Accounts named by a person: an id, or the name the latest audits stored for it.

``/rootkey history legacy-billing`` and ``/rootkey check legacy-billing`` take a name where an
id is expected. A name is looked up among the latest audits (an account renamed since answers
to its new name only), ignoring case; a name two accounts share is refused with both listed, so
the person picks the id: a command never acts on an account it had to guess.
"""

from __future__ import annotations

from bot.services.ports import NamedAccounts

MAX_LISTED = 10  # candidates listed when a name is ambiguous


class UnknownName(ValueError):
    """No account, or more than one, has the name: the message says what to type instead."""


def account_by_name(store: NamedAccounts, name: str) -> tuple[str, str]:
    """(account id, name as stored) of the one account named ``name``; ``UnknownName`` when
    none or several are."""
    found = store.accounts_named(name)
    if not found:
        raise UnknownName(
            f"No audited account is named '{name}'. Give its id (12 digits), or run "
            "`/rootkey check all` so that rootkey learns the Organization's account names."
        )
    if len(found) > 1:
        listed = ", ".join(f"{account_id} ({stored})" for account_id, stored in found[:MAX_LISTED])
        more = f" and {len(found) - MAX_LISTED} more" if len(found) > MAX_LISTED else ""
        raise UnknownName(
            f"{len(found)} accounts are named '{name}': {listed}{more}. Give the id of the one "
            "you mean."
        )
    return found[0]


class AccountNames:
    """The accounts people name: ``/rootkey check NAME`` and ``/rootkey history NAME``."""

    def __init__(self, store: NamedAccounts) -> None:
        self.store = store

    def find(self, name: str) -> tuple[str, str]:
        """(account id, name as stored); ``UnknownName`` when no account or several are
        named ``name``."""
        return account_by_name(self.store, name)
