"""Who may decide, and how a request is asked for, placed and told: the remediation use case's
ports to the chat side (``bot.slack.notifier.SlackRemediationNotifier``,
``bot.slack.directory.SlackDirectory``, ``bot.slack.forms.SlackFormScreen``).
"""

from __future__ import annotations

from typing import Protocol

from bot.events.usage import UsageReport
from bot.remediation.events import FormOutcome, RemediationOffer
from bot.remediation.models import Conversation, Request
from bot.remediation.notices import Notice


class NotDelivered(Exception):
    """A message could not be delivered; ``error`` is the platform's short reason."""

    def __init__(self, error: str) -> None:
        super().__init__(error)
        self.error = error


class ApproverDirectory(Protocol):
    def members(self, group: str) -> list[str]:
        """The user ids in approver group ``group`` (S...); raises ``ApproverLookupFailed``
        when the platform cannot be asked."""
        ...

    def private_members(self, channel: str) -> frozenset[str] | None:
        """Who can read ``channel`` when it is private (its members); None when anyone in the
        workspace can read it, or when the platform could not say."""
        ...


class RemediationNotifier(Protocol):
    """Where a request lives, and what it is told there (``bot.remediation.notices``).

    ``notify`` and ``open`` apart, because posting a request is not telling it something:
    ``open`` is where the request comes to live (the conversation comes back with its message,
    to be saved) and its failure is the caller's to act on (``NotDelivered``: the request is
    closed at once, since nobody could approve it); ``notify`` returns nothing and never raises
    (a notice that cannot be delivered is the adapter's to log: it never undoes a move). Which
    conversations may hold a request is the platform's rule (``can_post_in``).
    """

    def can_post_in(self, where: Conversation) -> bool:
        """Whether a request may live in ``where``: one the approvers can see (never a
        direct message with the bot)."""
        ...

    def open(self, req: Request) -> Conversation:
        """Post the request with its buttons; where it now lives (its message included).
        Raises ``NotDelivered``."""
        ...

    def notify(self, req: Request, notice: Notice) -> None:
        """Tell ``notice`` where ``req`` (as it stands after the event) lives."""
        ...


class FormScreen(Protocol):
    """The form as the person sees it. ``show*`` return False when the form could not be
    updated (closed or submitted meanwhile: a person may close it at any time)."""

    def open_loading(self, trigger_id: str, view_id: str | None) -> str | None:
        """Show the form loading: opened with the click's trigger (``view_id`` None), else in
        the open form ``view_id``. Its view id; None when the trigger was spent (too late, or
        another replica opened the form with it)."""
        ...

    def no_channel(self, trigger_id: str, view_id: str | None) -> None:
        """A note instead of a form: a request from the Home tab has nowhere to go."""
        ...

    def busy(self, view_id: str) -> None:
        """The audit could not be queued: the pool is full."""
        ...

    def failed(self, view_id: str) -> bool:
        """The audit failed in a way it does not turn into a verdict."""
        ...

    def show(self, view_id: str, outcome: FormOutcome) -> bool: ...

    def show_usage(self, view_id: str, offer: RemediationOffer, report: UsageReport | None) -> bool:
        """The remediation form with what used the keys (None: still looking it up)."""
        ...

    def post_usage(self, req: Request, report: UsageReport) -> None:
        """The summary in the request's thread. Never raises."""
        ...
