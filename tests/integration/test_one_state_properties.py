"""Every surface shows the same numbers as the Organization's current state, whatever
happened before: random sequences of Organization audits, named audits, re-audits after a fix,
accepted risks and their revocation, and after each sequence the Home tab, the digest (text
and chart), ``/rootkey status`` and a check result recounted in place are read as a user sees
them and compared with a model of the rules written here, apart from the product's code."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.audit.models import AuditResult, KeySlot, Scope, Status, Verdict
from bot.remediation.keys import KeyPrint
from bot.services.digest import DigestService
from bot.services.home import HomeService
from bot.services.org_state import CurrentState
from bot.slack.blocks.audit import audit_result
from bot.slack.blocks.digest import digest_message
from bot.slack.blocks.home import home_message
from bot.slack.blocks.outcome import recount
from bot.slack.blocks.status import organization_line
from bot.store import Store
from tests.support.database import wipe

T0 = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
KEY_MADE = datetime(2024, 5, 1, 8, 30, tzinfo=UTC)
C, N, E = Status.COMPLIANT, Status.NONCOMPLIANT, Status.ERROR
ACCOUNTS = [f"{n}" * 12 for n in range(1, 6)]


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    path = tmp_path_factory.mktemp("one-state") / "rootkey.db"
    opened = Store.open(f"sqlite:///{Path(path)}")
    yield opened
    opened.close()


@dataclass(frozen=True)
class Risk:
    account_id: str
    owner: str = "U0OWNER001"
    reason: str = "vendor appliance"
    expires_at: datetime = T0 + timedelta(days=60)
    starts_at: datetime = KEY_MADE
    key_prints: tuple[KeyPrint, ...] | None = (KeyPrint(created=KEY_MADE, active=True, slot=1),)
    request_id: int = 1
    account_name: str | None = None


@dataclass
class World:
    """The model: what the rules say the Organization is, kept apart from the product."""

    store: Store
    minute: int = 0
    listed: set[str] | None = None  # the latest Organization audit's accounts
    named_since: set[str] = field(default_factory=set)
    latest: dict[str, Status] = field(default_factory=dict)
    risks: dict[str, Risk] = field(default_factory=dict)

    def audit(self, scope: str, statuses: dict[str, Status]) -> None:
        self.minute += 1
        at = T0 + timedelta(minutes=self.minute)
        verdicts = tuple(
            Verdict(
                a,
                s,
                s.value,
                "aws",
                keys=(KeySlot(1, True, KEY_MADE),) if s is N else (),
                checked_at=at,
            )
            for a, s in statuses.items()
        )
        result = AuditResult(verdicts, scope=scope, started_at=at, finished_at=at)
        self.store.save_run(result, "schedule" if scope == "org" else "recheck")
        self.latest.update(statuses)
        if scope == "org":
            self.listed, self.named_since = set(statuses), set()
        else:
            self.named_since |= set(statuses)

    def expected(self) -> tuple[int, int, int, int, int]:
        """(total, noncompliant, accepted, error, compliant) by the rules."""
        members = self.latest.keys() if self.listed is None else self.listed | self.named_since
        standing = []
        for account in members:
            status = self.latest[account]
            if status is N and account in self.risks:
                standing.append("accepted")
            else:
                standing.append(status.value)
        return (
            len(standing),
            standing.count("noncompliant"),
            standing.count("accepted"),
            standing.count("error"),
            standing.count("compliant"),
        )

    def active_exceptions(self, now: datetime) -> list[Risk]:
        return list(self.risks.values())

    def open_requests(self) -> list[object]:
        return []

    def log_head(self) -> None:
        return None


statuses = st.sampled_from([C, N, E])
step = st.one_of(
    st.tuples(st.just("org"), st.dictionaries(st.sampled_from(ACCOUNTS), statuses, min_size=1)),
    st.tuples(st.just("named"), st.sampled_from(ACCOUNTS), statuses),
    st.tuples(st.just("fix"), st.sampled_from(ACCOUNTS)),
    st.tuples(st.just("accept"), st.sampled_from(ACCOUNTS)),
    st.tuples(st.just("revoke"), st.sampled_from(ACCOUNTS)),
)


def numbers(pattern: str, text: str) -> tuple[int, ...]:
    found = re.search(pattern, text)
    assert found, f"{pattern!r} not in {text!r}"
    return tuple(int(g.replace(",", "")) for g in found.groups())


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=st.lists(step, min_size=1, max_size=8))
def test_every_surface_shows_the_organization_as_the_rules_say(
    store: Store, steps: list[tuple]
) -> None:
    wipe(store.engine)
    world = World(store)
    for action, *args in steps:
        if action == "org":
            world.audit("org", dict(args[0]))
        elif action == "named":
            world.audit("accounts", {args[0]: args[1]})
        elif action == "fix" and world.latest.get(args[0]) is N:
            world.audit("accounts", {args[0]: C})  # the re-audit after the key was deleted
        elif action == "accept":
            world.risks[args[0]] = Risk(args[0])
        elif action == "revoke":
            world.risks.pop(args[0], None)
    if not world.latest:
        return
    total, open_, accepted, errors, compliant = world.expected()
    now = T0 + timedelta(hours=1)

    # The Home tab, as the user reads it.
    home = HomeService(store, world, clock=lambda: now)  # type: ignore[arg-type]
    text = home_message(home.snapshot("U0ME000001")).text
    shown = re.search(
        r"(\d+) accounts?, (\d+) noncompliant(?:, (\d+) accepted risk)?, (\d+) error, "
        r"(\d+) compliant: (\d+)% compliant",
        text.replace("*", ""),
    )
    assert shown, text
    home_numbers = tuple(int(g or 0) for g in shown.groups())
    share = 100 * compliant // total if total else 0
    assert home_numbers == (total, open_, accepted, errors, compliant, share), text

    # /rootkey status.
    line = organization_line(home.organization().counts)
    assert numbers(
        r"(\d+) accounts? · (\d+) noncompliant · (\d+) accepted risk · (\d+) could not be "
        r"checked · (\d+) compliant",
        line,
    ) == (total, open_, accepted, errors, compliant)

    # The digest: its figures, its text and the chart's bar for today.
    service = DigestService(store, remediation=world, clock=lambda: now)  # type: ignore[arg-type]
    run_id = service.latest_run_id()
    assert run_id is not None
    digest = service.build(run_id)
    assert (digest.total, digest.noncompliant, digest.counts.accepted) == (total, open_, accepted)
    assert (len(digest.errors), digest.compliant) == (errors, compliant)
    summary = next(
        b.to_dict()["text"]["text"]
        for b in digest_message(digest).blocks
        if b.block_id == "rootkey_digest_summary"
    )
    if digest.all_clear:
        assert (open_, accepted, errors) == (0, 0, 0)
    else:
        assert numbers(r"(\d+) accounts? audited", summary) == (total,)
        assert numbers(r"(\d+) with a root access key", summary) == (open_,)
        assert numbers(r"(\d+) compliant\b", summary.split("·", 1)[1]) == (compliant,)
    today = digest.trend[-1]
    assert (today.noncompliant, today.accepted, today.error, today.compliant) == (
        open_, accepted, errors, compliant,
    )  # fmt: skip

    # An Organization check result, recounted in place.
    org_check = audit_result(
        AuditResult(tuple(Verdict(a, N, "r", "aws") for a in ACCOUNTS[:2]), scope="org"),
        Scope("org"),
    )
    blocks = [b.to_dict() for b in org_check.blocks]
    counted = recount(blocks, CurrentState(store, world, clock=lambda: now).read())  # type: ignore[arg-type]
    assert counted is not None
    counts_text = next(b for b in counted[0] if b.get("block_id") == "rootkey_summary")
    shown = counts_text["text"]["text"]
    assert numbers(r"\*(\d+)\* noncompliant", shown) == (open_,)
    assert numbers(r"\*(\d+)\* compliant", shown) == (compliant,)
