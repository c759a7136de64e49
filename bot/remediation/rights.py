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

    def resolve(self, group_members: Callable[[str], Iterable[str]]) -> frozenset[str]:
        """All approver user ids; ``group_members(S...)`` lists a group's users.

        ``group_members`` raises ``ApproverLookupFailed`` when Slack cannot be asked: the
        check then fails closed instead of treating nobody or everybody as an approver.
        """
        members = set(self.users)
        for group in self.groups:
            members.update(group_members(group))
        return frozenset(members)


def remaining_approvals(
    request: Request, required: int, approvers: frozenset[str] | None = None
) -> int:
    """Approvals still needed; only people who are approvers now (``approvers``) count."""
    counted = {u for u in request.approvers_so_far if approvers is None or u in approvers}
    return max(0, required - len(counted))


def not_an_approver(request: Request, verb: str, spec_text: str) -> NotAllowed:
    """The refusal for someone who is not an approver, naming who is.

    ``spec_text`` is ``ApproverSpec.mention()``: mentions the bot built from validated ids, so
    the line is also trusted mrkdwn and the approvers are shown as real mentions.
    """
    line = f"Only approvers can {verb} request #{request.id}: {spec_text}."
    return NotAllowed(line, mrkdwn=line)


def check_approve(request: Request, user: str, approvers: frozenset[str], spec_text: str) -> None:
    """Raise unless ``user`` may add an approval to ``request`` now (``spec_text``: the
    approver mentions of ``ApproverSpec.mention()``)."""
    if request.state is not State.REQUESTED:
        raise StaleState(request.id, request.state.value, "approve")
    if user not in approvers:
        raise not_an_approver(request, "approve", spec_text)
    if user == request.requester:
        raise NotAllowed(
            f"You asked for request #{request.id}, so you cannot approve it; "
            "another approver has to."
        )
    if user in request.approvers_so_far:
        raise NotAllowed(f"You already approved request #{request.id}; it needs another approver.")


def check_revoke(request: Request, user: str, approvers: frozenset[str], spec_text: str) -> None:
    """Raise unless ``user`` may end the accepted risk ``request`` now."""
    if request.kind is not Kind.EXCEPTION or request.state is not State.APPROVED:
        raise StaleState(request.id, request.state.value, "revoke")
    if user not in approvers and user != (request.owner or request.requester):
        line = (
            f"Only approvers or the risk owner can revoke the accepted risk #{request.id}: "
            f"{spec_text}, <@{request.owner or request.requester}>."
        )
        raise NotAllowed(line, mrkdwn=line)


CANCELLABLE = frozenset({State.REQUESTED, State.APPROVED, State.TRACKING, State.DEACTIVATED})


def check_cancel(request: Request, user: str, approvers: frozenset[str], spec_text: str) -> None:
    """Raise unless ``user`` may withdraw (the requester) or cancel (an approver) ``request``."""
    if request.state not in CANCELLABLE or (
        request.kind is Kind.EXCEPTION and request.state is not State.REQUESTED
    ):
        raise StaleState(request.id, request.state.value, "cancel")
    if user != request.requester and user not in approvers:
        line = (
            f"Only the requester <@{request.requester}> or an approver can cancel request "
            f"#{request.id}: {spec_text}."
        )
        raise NotAllowed(line, mrkdwn=line)


def check_reject(request: Request, user: str, approvers: frozenset[str], spec_text: str) -> None:
    """Raise unless ``user`` may reject ``request`` now."""
    if request.state is not State.REQUESTED:
        raise StaleState(request.id, request.state.value, "reject")
    if user not in approvers:
        raise not_an_approver(request, "reject", spec_text)
