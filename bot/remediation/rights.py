"""Who may do what with a request.

- Anyone who can see a finding may ask for its remediation or for a risk exception.
- Approvers are the users and user-group members named in ``ROOTKEY_APPROVERS``; an approver
  may also request.
- The requester never approves their own request, and each approver counts once:
  ``ROOTKEY_REQUIRED_APPROVALS`` distinct approvers move a request to approved.
- Any approver may reject a request that is still waiting.
- An approver or the risk's owner may revoke an accepted risk before its end.
- The requester may withdraw their own open request; an approver may cancel any open one
  (not while it is executing: a root session is deleting keys then).

A refusal names people twice: as Slack mentions for the person who clicked (``mrkdwn``) and as
plain text, "Avery Approver (U0APPROVE1)", in ``str(exc)``, the line the audit log keeps.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from bot.remediation.errors import NotAllowed, StaleState
from bot.remediation.models import Request
from bot.remediation.states import Kind, State


@dataclass(frozen=True)
class ApproverSpec:
    """``ROOTKEY_APPROVERS`` split into user ids (U.../W...) and user-group ids (S...)."""

    users: frozenset[str]
    groups: tuple[str, ...]

    @classmethod
    def parse(cls, ids: Iterable[str]) -> ApproverSpec:
        users: set[str] = set()
        groups: list[str] = []
        for ident in ids:
            if ident.startswith("S"):
                groups.append(ident)
            else:
                users.add(ident)
        return cls(users=frozenset(users), groups=tuple(groups))

    def mention(self) -> str:
        """Slack mentions of every approver entry (groups as user-group mentions)."""
        parts = [f"<@{u}>" for u in sorted(self.users)]
        parts += [f"<!subteam^{g}>" for g in self.groups]
        return ", ".join(parts) if parts else "(no approvers configured: set ROOTKEY_APPROVERS)"

    def plain(self, name_of: Callable[[str], str | None]) -> str:
        """Every approver entry in plain text (names and ids, no markup), for the log."""
        parts = [named(u, name_of(u)) for u in sorted(self.users)]
        parts += [f"user group {g}" for g in self.groups]
        return ", ".join(parts) if parts else "(no approvers configured: set ROOTKEY_APPROVERS)"

    def resolve(self, group_members: Callable[[str], Iterable[str]]) -> frozenset[str]:
        """All approver user ids; ``group_members(S...)`` lists a group's users.

        ``group_members`` raises ``ApproverLookupFailed`` when Slack cannot be asked: the
        check then fails closed instead of treating nobody or everybody as an approver.
        """
        members = set(self.users)
        for group in self.groups:
            members.update(group_members(group))
        return frozenset(members)


def named(user: str, name: str | None) -> str:
    """A person in plain text: ``Avery Approver (U0APPROVE1)``, or the id alone."""
    return f"{name} ({user})" if name else user


@dataclass(frozen=True)
class Naming:
    """How a refusal names people: the approvers as configured, and each person's name
    (``name_of``: a user id to their name, or None) for the plain-text line."""

    spec: ApproverSpec
    name_of: Callable[[str], str | None] = lambda _user: None

    def approvers_mrkdwn(self) -> str:
        return self.spec.mention()

    def approvers_plain(self) -> str:
        return self.spec.plain(self.name_of)

    def person(self, user: str) -> str:
        return named(user, self.name_of(user))


def refusal(plain: str, mrkdwn: str) -> NotAllowed:
    """``str(exc)`` is the plain line (the log keeps it); Slack shows the mrkdwn one."""
    return NotAllowed(plain, mrkdwn=mrkdwn)


def remaining_approvals(
    request: Request, required: int, approvers: frozenset[str] | None = None
) -> int:
    """Approvals still needed; only people who are approvers now (``approvers``) count."""
    counted = {u for u in request.approvers_so_far if approvers is None or u in approvers}
    return max(0, required - len(counted))


def not_an_approver(request: Request, verb: str, naming: Naming) -> NotAllowed:
    """The refusal for someone who is not an approver, naming who is: in Slack as mentions the
    bot built from validated ids (trusted mrkdwn, real mentions), in the log as names and ids.
    """
    line = f"Only approvers can {verb} request #{request.id}: "
    return refusal(f"{line}{naming.approvers_plain()}.", f"{line}{naming.approvers_mrkdwn()}.")


def check_approve(request: Request, user: str, approvers: frozenset[str], naming: Naming) -> None:
    """Raise unless ``user`` may add an approval to ``request`` now (``naming``: how the
    refusal names the approvers)."""
    if request.state is not State.REQUESTED:
        raise StaleState(request.id, request.state.value, "approve")
    if user not in approvers:
        raise not_an_approver(request, "approve", naming)
    if user == request.requester:
        raise NotAllowed(
            f"You asked for request #{request.id}, so you cannot approve it; "
            "another approver has to."
        )
    if user in request.approvers_so_far:
        raise NotAllowed(f"You already approved request #{request.id}; it needs another approver.")


def check_revoke(request: Request, user: str, approvers: frozenset[str], naming: Naming) -> None:
    """Raise unless ``user`` may end the accepted risk ``request`` now."""
    if request.kind is not Kind.EXCEPTION or request.state is not State.APPROVED:
        raise StaleState(request.id, request.state.value, "revoke")
    if user not in approvers and user != (request.owner or request.requester):
        owner = request.owner or request.requester
        line = f"Only approvers or the risk owner can revoke the accepted risk #{request.id}: "
        raise refusal(
            f"{line}{naming.approvers_plain()}, {naming.person(owner)}.",
            f"{line}{naming.approvers_mrkdwn()}, <@{owner}>.",
        )


CANCELLABLE = frozenset({State.REQUESTED, State.APPROVED, State.TRACKING, State.DEACTIVATED})


def check_cancel(request: Request, user: str, approvers: frozenset[str], naming: Naming) -> None:
    """Raise unless ``user`` may withdraw (the requester) or cancel (an approver) ``request``."""
    if request.state not in CANCELLABLE or (
        request.kind is Kind.EXCEPTION and request.state is not State.REQUESTED
    ):
        raise StaleState(request.id, request.state.value, "cancel")
    if user != request.requester and user not in approvers:
        requester, number = request.requester, request.id
        raise refusal(
            f"Only the requester {naming.person(requester)} or an approver can cancel request "
            f"#{number}: {naming.approvers_plain()}.",
            f"Only the requester <@{requester}> or an approver can cancel request "
            f"#{number}: {naming.approvers_mrkdwn()}.",
        )


def check_reject(request: Request, user: str, approvers: frozenset[str], naming: Naming) -> None:
    """Raise unless ``user`` may reject ``request`` now."""
    if request.state is not State.REQUESTED:
        raise StaleState(request.id, request.state.value, "reject")
    if user not in approvers:
        raise not_an_approver(request, "reject", naming)
