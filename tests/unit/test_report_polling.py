"""Waiting for a credential report: backoff, a deadline, and AWS's report error codes.

A small fake IAM client stands in for AWS here (the same paths run against moto's server in
tests/integration/test_aws_audit.py); the clock is fake, so nothing sleeps.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

import pytest
from botocore.exceptions import ClientError

from bot.aws.errors import AwsReadError
from bot.aws.iam import CredentialReport, read_credential_report


def aws_error(code: str, operation: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": code}}, operation)


class FakeIam:
    """Answers GenerateCredentialReport with ``states`` then COMPLETE; GetCredentialReport with
    ``get_errors`` then the report."""

    def __init__(
        self, states: Iterable[str | Exception] = (), get_errors: Iterable[str] = ()
    ) -> None:
        self.states = list(states)
        self.get_errors = list(get_errors)
        self.calls: list[str] = []

    def generate_credential_report(self) -> dict[str, Any]:
        self.calls.append("generate")
        state = self.states.pop(0) if self.states else "COMPLETE"
        if isinstance(state, Exception):
            raise state
        return {"State": state}

    def get_credential_report(self) -> dict[str, Any]:
        self.calls.append("get")
        if self.get_errors:
            raise aws_error(self.get_errors.pop(0), "GetCredentialReport")
        return {"Content": b"user,arn\n", "GeneratedTime": datetime(2026, 1, 2, 3, 4)}


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def read(iam: FakeIam, t: FakeTime, deadline: float = 30.0) -> CredentialReport:
    return read_credential_report(iam, deadline, sleep=t.sleep, clock=t.clock)


def test_ready_report_is_read_at_once() -> None:
    iam, t = FakeIam(), FakeTime()
    report = read(iam, t)
    assert iam.calls == ["generate", "get"]
    assert t.sleeps == []
    assert report.generated_at == datetime(2026, 1, 2, 3, 4, tzinfo=UTC)
    assert report.content == b"user,arn\n"


def test_waits_with_growing_backoff_until_complete() -> None:
    iam, t = FakeIam(states=["STARTED", "INPROGRESS", "INPROGRESS", "INPROGRESS"]), FakeTime()
    read(iam, t)
    assert t.sleeps == [0.25, 0.5, 1.0, 2.0]
    assert iam.calls[-1] == "get"


def test_deadline_gives_report_not_ready() -> None:
    iam, t = FakeIam(states=["INPROGRESS"] * 1000), FakeTime()
    with pytest.raises(AwsReadError) as caught:
        read(iam, t, deadline=10.0)
    assert caught.value.code == "ReportNotReady"
    assert t.now == pytest.approx(10.0)
    assert max(t.sleeps) <= 5.0
    assert len(iam.calls) < 12  # backoff, not a busy loop


@pytest.mark.parametrize("code", ["ReportInProgress", "ReportNotPresent", "ReportExpired"])
def test_get_errors_that_mean_wait_and_regenerate(code: str) -> None:
    iam, t = FakeIam(get_errors=[code]), FakeTime()
    read(iam, t)
    assert iam.calls == ["generate", "get", "generate", "get"]
    assert t.sleeps == [0.25]


def test_limit_exceeded_on_generate_is_waited_out() -> None:
    limit = aws_error("LimitExceeded", "GenerateCredentialReport")
    iam, t = FakeIam(states=[limit, limit]), FakeTime()
    read(iam, t)
    assert t.sleeps == [0.25, 0.5]


def test_other_errors_are_raised_with_the_operation_and_code() -> None:
    iam = FakeIam(states=[aws_error("AccessDenied", "GenerateCredentialReport")])
    with pytest.raises(AwsReadError, match="GenerateCredentialReport: AccessDenied"):
        read(iam, FakeTime())
