"""What an operator watches (``bot.metrics`` implements it for ``GET /metrics``)."""

from __future__ import annotations

from typing import Protocol


class Metrics(Protocol):
    """What an operator watches, told as it happens (``bot.metrics`` counts it for
    ``GET /metrics``). Labels are few and bounded: a scope, a trigger, an error code."""

    def audit_done(self, scope: str, trigger: str, seconds: float, *, failed: bool) -> None:
        """An audit of ``scope`` ran for ``seconds``; ``failed``: it could not run as a whole."""
        ...

    def aws_error(self, reason: str) -> None:
        """An AWS call failed with the error code ``reason`` (``AccessDenied``, ...)."""
        ...

    def alert_posted(self, activity: str, lag: float) -> None:
        """A root-activity alert was posted ``lag`` seconds after the event happened."""
        ...

    def messages_received(self, count: int) -> None: ...

    def messages_handled(self, count: int) -> None:
        """Deleted from the queue: alerted, or deliberately skipped (duplicates, not ours)."""
        ...

    def message_dead_lettered(self) -> None:
        """Left on the queue for its dead-letter queue: not an event, or handling it failed."""
        ...

    def slack_retry(self, method: str, reason: str) -> None:
        """A Slack call is sent again after ``reason`` (``ratelimited``, a 5xx, a timeout)."""
        ...

    def slack_refused(self, method: str, error: str) -> None:
        """Slack did not take a call, for good (after any retries)."""
        ...


class NoMetrics:
    """``Metrics`` that counts nothing: the default of every use case and adapter."""

    def audit_done(self, scope: str, trigger: str, seconds: float, *, failed: bool) -> None:
        pass

    def aws_error(self, reason: str) -> None:
        pass

    def alert_posted(self, activity: str, lag: float) -> None:
        pass

    def messages_received(self, count: int) -> None:
        pass

    def messages_handled(self, count: int) -> None:
        pass

    def message_dead_lettered(self) -> None:
        pass

    def slack_retry(self, method: str, reason: str) -> None:
        pass

    def slack_refused(self, method: str, error: str) -> None:
        pass


NO_METRICS: Metrics = NoMetrics()


class AuditMetrics(Protocol):
    """The part of ``bot.services.ports.Metrics`` this use case tells."""

    def audit_done(self, scope: str, trigger: str, seconds: float, *, failed: bool) -> None: ...

    def aws_error(self, reason: str) -> None: ...
