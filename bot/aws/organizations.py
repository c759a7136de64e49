"""Organizations: the active accounts as a stream, fed as pages arrive; one account's membership.

``list_active_accounts`` reads the root first (ListRoots, ListOrganizationalUnitsForParent).
An Organization whose root holds OUs is walked with several OUs in flight
(ListOrganizationalUnitsForParent and ListAccountsForParent on ``LIST_WORKERS`` threads), so
10,000 accounts in 100 OUs are listed in seconds, not in 500 serial pages. A flat Organization
(no OU under the root), or a caller not allowed to read the tree, is listed with ListAccounts,
page by page. Either way only ACTIVE accounts are yielded, each once; a page that cannot be
read is an ``AuditError`` (the Organization cannot be enumerated), never a shorter list.
"""

from __future__ import annotations

import functools
import queue
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

from bot.aws.errors import AuditError, AwsReadError
from bot.aws.iam import AWS_CALL_ERRORS, malformed, read_error
from bot.aws.pacing import Pacer

T = TypeVar("T")

PAGE_SIZE = 20  # the most ListAccounts (and the other list calls) return per page
LIST_WORKERS = 8  # OUs read at once
METHODS = {
    "ListAccounts": "list_accounts",
    "ListAccountsForParent": "list_accounts_for_parent",
    "ListOrganizationalUnitsForParent": "list_organizational_units_for_parent",
}
# DescribeAccount answers that mean "the caller cannot read an Organization" (a member account,
# or an account in no Organization).
NOT_READABLE = {"AccessDenied", "AccessDeniedException", "AWSOrganizationsNotInUseException"}


@dataclass(frozen=True)
class OrgAccount:
    account_id: str
    name: str | None


def pages(org: Any, pacer: Pacer, operation: str, key: str, **params: Any) -> Iterator[list[Any]]:
    """Each page's ``key`` list of one Organizations list call (follows NextToken; empty pages
    are fine). Raises the botocore error of a page that cannot be read."""
    method = getattr(org, METHODS[operation])
    token: str | None = None
    while True:
        kwargs: dict[str, Any] = {"MaxResults": PAGE_SIZE, **params}
        if token:
            kwargs["NextToken"] = token
        page = pacer.call(operation, functools.partial(method, **kwargs))
        items = page.get(key)
        if items is not None and not isinstance(items, list):
            raise malformed(operation, key)
        yield items or []
        token = page.get("NextToken")
        if not token:
            return


def active(account: dict[str, Any]) -> OrgAccount | None:
    status = account.get("State") or account.get("Status")
    if status != "ACTIVE" or not account.get("Id"):
        return None
    return OrgAccount(account_id=account["Id"], name=account.get("Name"))


def list_active_accounts(
    org: Any, pacer: Pacer, flat: Callable[[], Iterator[OrgAccount]] | None = None
) -> Iterator[OrgAccount]:
    """Yield the Organization's ACTIVE accounts as they are read (see the module docstring).
    ``flat``: where a flat Organization's ListAccounts pages are read (default: a thread of
    this process; the auditor gives ``bot.aws.listing``'s process where it can)."""
    top = read_top(org, pacer)
    if top is not None:
        source = walk(org, pacer, *top)
    else:
        source = flat() if flat is not None else iter_active_accounts(org, pacer)
    seen: set[str] = set()
    for account in source:
        if account.account_id not in seen:
            seen.add(account.account_id)
            yield account
    if not seen:
        # every Organization has at least its management account: an empty listing is an
        # answer that is not AWS's (a proxy's page parsed as nothing), named by its call
        call = "ListAccountsForParent" if top is not None else "ListAccounts"
        raise AuditError(f"the Organization listed no active account ({call})")


def read_top(org: Any, pacer: Pacer) -> tuple[str, list[str], bool] | None:
    """The root, its first page of OUs and whether more follow; None where the Organization is
    flat or its tree cannot be read (ListAccounts is then the cheaper, or the only, way)."""
    try:
        roots = pacer.call("ListRoots", lambda: org.list_roots()).get("Roots")
        if not isinstance(roots, list) or len(roots) != 1 or not roots[0].get("Id"):
            return None
        root = roots[0]["Id"]
        first = pacer.call(
            "ListOrganizationalUnitsForParent",
            lambda: org.list_organizational_units_for_parent(ParentId=root, MaxResults=PAGE_SIZE),
        )
    except AWS_CALL_ERRORS:
        return None  # not allowed to read the tree (an older policy): ListAccounts says
    ous = [ou["Id"] for ou in first.get("OrganizationalUnits") or [] if ou.get("Id")]
    if not ous and not first.get("NextToken"):
        return None
    return root, ous, bool(first.get("NextToken"))


def walk(org: Any, pacer: Pacer, root: str, ous: list[str], more: bool) -> Iterator[OrgAccount]:
    """The accounts of the root and of every OU below it, read with several OUs in flight."""
    found: queue.SimpleQueue[Any] = queue.SimpleQueue()
    done = object()
    lock = threading.Lock()
    pending = 0
    stop = threading.Event()
    pool = ThreadPoolExecutor(
        max_workers=min(LIST_WORKERS, pacer.ceiling), thread_name_prefix="rootkey-list"
    )

    def task(step: Callable[[], None]) -> None:
        nonlocal pending
        try:
            if not stop.is_set():
                step()
        except Exception as exc:  # handed to the reader, which raises it as an AuditError
            found.put(exc)
        finally:
            with lock:
                pending -= 1
                last = pending == 0
            if last:
                found.put(done)

    def submit(step: Callable[[], None]) -> None:
        nonlocal pending
        with lock:
            pending += 1
        pool.submit(task, step)

    def accounts_of(parent: str) -> None:
        for page in pages(org, pacer, "ListAccountsForParent", "Accounts", ParentId=parent):
            for account in page:
                found.put(account)
            if stop.is_set():
                return

    def children_of(parent: str, skip_first: bool = False) -> None:
        items = pages(
            org, pacer, "ListOrganizationalUnitsForParent", "OrganizationalUnits", ParentId=parent
        )
        for index, page in enumerate(items):
            if skip_first and index == 0:
                continue
            for ou in page:
                start_ou(ou["Id"])
            if stop.is_set():
                return

    def start_ou(ou: str) -> None:
        submit(lambda: accounts_of(ou))
        submit(lambda: children_of(ou))

    submit(lambda: accounts_of(root))
    for ou in ous:
        start_ou(ou)
    if more:
        submit(lambda: children_of(root, skip_first=True))
    try:
        while (item := found.get()) is not done:
            if isinstance(item, Exception):
                raise listing_error(item)
            account = active(item) if isinstance(item, dict) else None
            if account is not None:
                yield account
    finally:
        stop.set()
        pool.shutdown(wait=False, cancel_futures=True)


def listing_error(exc: Exception) -> AuditError:
    if isinstance(exc, AuditError):
        return exc
    if isinstance(exc, AWS_CALL_ERRORS) and not isinstance(exc, AwsReadError):
        operation = str(getattr(exc, "operation_name", "") or "ListAccountsForParent")
        exc = read_error(operation, exc)
    return AuditError(f"could not list the Organization's accounts ({exc})")


def read_ahead(items: Iterator[T], name: str) -> Iterator[T]:
    """``items``, produced on a thread of their own as fast as they come: a paginated listing
    asks for its next page as soon as it has read one, not once the consumer has handled it.
    The producer's exception is raised here; closing this iterator stops the producer at its
    next item."""
    out: queue.SimpleQueue[tuple[bool, Any]] = queue.SimpleQueue()
    stop = threading.Event()

    def produce() -> None:
        try:
            for item in items:
                out.put((False, item))
                if stop.is_set():
                    return
        except BaseException as exc:  # handed to the consumer, raised there
            out.put((True, exc))
            return
        out.put((True, None))

    threading.Thread(target=produce, name=name, daemon=True).start()
    try:
        while True:
            last, item = out.get()
            if last:
                if item is not None:
                    raise item
                return
            yield item
    finally:
        stop.set()


def iter_active_pages(org: Any, pacer: Pacer, *, ahead: bool = True) -> Iterator[list[OrgAccount]]:
    """Each ListAccounts page's ACTIVE accounts, as the page arrives (``ahead``: the next page
    is asked for while this one is handed out, on a thread of its own)."""
    try:
        listing = pages(org, pacer, "ListAccounts", "Accounts")
        for page in read_ahead(listing, "rootkey-list") if ahead else listing:
            yield [account for item in page if (account := active(item)) is not None]
    except (*AWS_CALL_ERRORS, AwsReadError) as exc:
        error = exc if isinstance(exc, AwsReadError) else read_error("ListAccounts", exc)
        raise AuditError(f"could not list the Organization's accounts ({error})") from None


def iter_active_accounts(org: Any, pacer: Pacer) -> Iterator[OrgAccount]:
    """ACTIVE accounts from ListAccounts, as each page arrives (the next page is asked for
    while the accounts of this one are handed out)."""
    for page in iter_active_pages(org, pacer):
        yield from page


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
