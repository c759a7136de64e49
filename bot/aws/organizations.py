"""Organizations: the active accounts, page by page, as a stream; one account's membership."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from bot.aws.errors import AuditError
from bot.aws.iam import AWS_CALL_ERRORS, malformed, read_error

PAGE_SIZE = 20  # the most ListAccounts returns per page


@dataclass(frozen=True)
class OrgAccount:
    account_id: str
    name: str | None


def iter_active_accounts(org: Any) -> Iterator[OrgAccount]:
    """Yield ACTIVE accounts as each page arrives (follows NextToken; empty pages are fine).

    A page that cannot be read raises ``AuditError``: the Organization cannot be enumerated.
    """
    token: str | None = None
    seen: set[str] = set()
    while True:
        kwargs: dict[str, Any] = {"MaxResults": PAGE_SIZE}
        if token:
            kwargs["NextToken"] = token
        try:
            page = org.list_accounts(**kwargs)
        except AWS_CALL_ERRORS as exc:
            raise AuditError(
                f"could not list the Organization's accounts ({read_error('ListAccounts', exc)})"
            ) from None
        for account in page.get("Accounts") or []:
            status = account.get("Status") or account.get("State")
            if status != "ACTIVE" or account["Id"] in seen:
                continue
            seen.add(account["Id"])
            yield OrgAccount(account_id=account["Id"], name=account.get("Name"))
        token = page.get("NextToken")
        if not token:
            if not seen:
                # every Organization has at least its management account
                raise AuditError("the Organization listed no active account (ListAccounts)")
            return


# DescribeAccount answers that mean "the caller cannot read an Organization" (a member account,
# or an account in no Organization).
NOT_READABLE = {"AccessDenied", "AccessDeniedException", "AWSOrganizationsNotInUseException"}


@dataclass(frozen=True)
class Membership:
    """What the Organization says about one account id: ``state`` is ``ACTIVE``,
    ``SUSPENDED``, ``PENDING_CLOSURE`` … or None when the id is not one of its accounts."""

    account_id: str
    state: str | None
    name: str | None = None

    @property
    def active(self) -> bool:
        return self.state == "ACTIVE"


def read_membership(org: Any, account_id: str) -> Membership:
    """DescribeAccount: is ``account_id`` an account of the caller's Organization, in what
    state. Raises ``AwsReadError`` for any other answer (denied, throttled, unreachable)."""
    try:
        account = org.describe_account(AccountId=account_id).get("Account")
    except AWS_CALL_ERRORS as exc:
        error = read_error("DescribeAccount", exc)
        if error.code == "AccountNotFoundException":
            return Membership(account_id, None)
        raise error from None
    if not isinstance(account, dict):
        # an empty page in place of AWS's answer (a proxy answering 200 with HTML)
        raise malformed("DescribeAccount", "Account")
    # AWS replaces the deprecated Status with State; either may be the one present.
    state = account.get("State") or account.get("Status")
    return Membership(account_id, str(state) if state else None, account.get("Name"))
