"""One current state of the Organization on every surface (issue 20, item 7): the Home tab,
the digest (text, chart and ``digest --print --no-audit``) and a check result updated in place
all count from ``bot.services.org_state``, never from whichever audit ran last."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from PIL import Image

from bot.audit.models import AuditResult, KeySlot, Status, Verdict
from bot.remediation.keys import KeyPrint
from bot.services.digest import DigestService
from bot.services.home import HomeService
from bot.slack.blocks.digest import digest_message
from bot.slack.blocks.home import home_message
from bot.slack.chart import BOTTOM, LEFT, RIGHT, TOP
from bot.slack.notifier.digest import chart_of
from bot.store import Store

ROOT = Path(__file__).resolve().parents[2]
T0 = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
KEY_MADE = datetime(2024, 5, 1, 8, 30, tzinfo=UTC)
C, N, E = Status.COMPLIANT, Status.NONCOMPLIANT, Status.ERROR
RED_PIXEL, YELLOW_PIXEL = (0xD6, 0x27, 0x28), (0xE8, 0xB5, 0x00)
A, B, D, F = "111111111111", "222222222222", "333333333333", "444444444444"


@pytest.fixture
def db(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'rootkey.db'}"


@pytest.fixture
def store(db: str) -> Iterator[Store]:
    opened = Store.open(db)
    yield opened
    opened.close()


def save(store: Store, minutes: int, scope: str, statuses: dict[str, Status]) -> int:
    at = T0 + timedelta(minutes=minutes)
    verdicts = tuple(
        Verdict(
            account_id=account,
            status=status,
            reason={C: "no root access key", N: "root key in slot 1", E: "AccessDenied"}[status],
            source="aws",
            keys=(KeySlot(slot=1, active=True, last_rotated=KEY_MADE),) if status is N else (),
            checked_at=at,
        )
        for account, status in statuses.items()
    )
    result = AuditResult(verdicts=verdicts, scope=scope, started_at=at, finished_at=at)
    return store.save_run(result, "schedule" if scope == "org" else "command")


@dataclass(frozen=True)
class Risk:
    """An accepted risk as the remediation store returns it (the fields the surfaces read)."""

    account_id: str
    owner: str = "U0OWNER001"
    reason: str = "vendor appliance"
    expires_at: datetime = T0 + timedelta(days=60)
    starts_at: datetime = KEY_MADE
    key_prints: tuple[KeyPrint, ...] | None = (KeyPrint(created=KEY_MADE, active=True, slot=1),)
    request_id: int = 5


class Risks:
    def __init__(self, *risks: Risk) -> None:
        self.risks = list(risks)

    def active_exceptions(self, now: datetime) -> list[Risk]:
        return [r for r in self.risks if r.expires_at > now]

    def open_requests(self) -> list[object]:
        return []

    def log_head(self) -> None:
        return None


def test_a_one_account_check_leaves_the_home_headline_on_the_organization(store: Store) -> None:
    """Attack: an Organization check with findings, then someone checks one compliant
    account. The Home tab said "1 account … 100% compliant" above the open findings."""
    save(store, 0, "org", {A: N, B: N, D: C, F: C})
    save(store, 5, "accounts", {D: C})
    home = HomeService(store, clock=lambda: T0 + timedelta(hours=1))
    text = home_message(home.snapshot("U0ME000001")).text
    assert "4 accounts" in text and "2 noncompliant" in text, text
    assert "50% compliant" in text, text
    assert "1 account" not in text and "100%" not in text, text


def test_digest_print_no_audit_after_a_form_s_one_account_audit_reports_the_organization(
    store: Store, db: str, tmp_path: Path
) -> None:
    """Attack: after a form's one-account audit, ``digest --print --no-audit`` built from it
    ("1 account audited · 0.0% compliant")."""
    save(store, 0, "org", {A: N, B: C, D: C, F: C})
    save(store, 5, "accounts", {A: N})
    env = {
        **{k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG")},
        "DATABASE_URL": db,
        "PYTHONPATH": str(ROOT),
    }
    done = subprocess.run(
        [sys.executable, "-m", "bot", "digest", "--print", "--no-audit"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    payload = json.loads(done.stdout)
    assert payload["text"].startswith("Root key digest: 1 of 4 accounts"), payload["text"]
    assert "75.0% compliant" in payload["text"], payload["text"]


def test_the_chart_and_the_digest_text_agree_on_accepted_risks(store: Store) -> None:
    """Attack: one account's risk is accepted; the digest text says 1 with a root key and 1
    accepted risk, the chart's bar for today said 2 with "root key present"."""
    run = save(store, 0, "org", {A: N, B: N, D: C})
    digest = DigestService(
        store, remediation=Risks(Risk(B)), clock=lambda: T0 + timedelta(hours=1)
    ).build(run)
    today = digest.trend[-1]
    assert (digest.noncompliant, digest.counts.accepted) == (1, 1)
    assert (today.noncompliant, today.accepted, today.compliant) == (1, 1, 1)
    assert "1 of 3 accounts with a root access key" in digest_message(digest).text
    assert "1 accepted risk" in digest_message(digest).text
    # The chart posted in the thread: today's bar is one red and one yellow account high.
    chart = chart_of(digest)
    assert isinstance(chart.content, bytes)
    image = Image.open(io.BytesIO(chart.content))
    slot = (RIGHT - LEFT) / (len(digest.trend) + 1)
    x = round(LEFT + slot * len(digest.trend) - slot * 0.3)
    red, yellow = (
        sum(1 for y in range(TOP, BOTTOM + 1) if image.getpixel((x, y)) == colour)
        for colour in (RED_PIXEL, YELLOW_PIXEL)
    )
    assert red > 10 and abs(red - yellow) <= 2, (red, yellow)


def test_a_check_result_fixed_in_place_counts_what_is_still_open(store: Store) -> None:
    """Attack: a check result with four findings; two are fixed (re-audit verified) and their
    entries updated in place. The header still said "4 noncompliant" above two red entries."""
    from slack_sdk import WebClient

    from bot.audit.models import Scope
    from bot.remediation.models import Conversation, Request
    from bot.remediation.states import Kind, Mode, State
    from bot.services.org_state import CurrentState
    from bot.slack.blocks.audit import audit_result
    from bot.slack.notifier.finding import FindingMessages
    from bot.slack.poster import Poster
    from simulator.slack import SlackStandin

    accounts = [A, B, D, F]
    run = save(store, 0, "org", dict.fromkeys(accounts, N))
    with SlackStandin(bot_token="xoxb-test-token") as slack:
        client = WebClient(token="xoxb-test-token", base_url=slack.base_url)
        result = AuditResult(
            verdicts=tuple(
                Verdict(a, N, "root key in slot 1", "aws", keys=(KeySlot(1, True, KEY_MADE),))
                for a in accounts
            ),
            scope="org",
            started_at=T0,
            finished_at=T0,
        )
        message = audit_result(result, Scope("org"), run_id=str(run))
        ts = client.chat_postMessage(
            channel="C0ROOTKEY1", blocks=message.blocks, text=message.text
        )["ts"]
        findings = FindingMessages(
            Poster(client, sleep=lambda _s: None),
            current=CurrentState(store, clock=lambda: T0 + timedelta(hours=1)).read,
        )
        for rid, account in enumerate(accounts[:2], 1):
            save(store, 10 + rid, "accounts", {account: C})  # the re-audit after the fix
            findings.settle(
                Request(
                    id=rid,
                    kind=Kind.REMEDIATION,
                    account_id=account,
                    state=State.VERIFIED,
                    requester="U0ALICE001",
                    reason="unused",
                    where=Conversation("C0ROOTKEY1", ts, f"18000000{rid}.000100"),
                    created_at=T0,
                    expires_at=T0 + timedelta(days=1),
                    state_since=T0 + timedelta(minutes=10 + rid),
                    mode=Mode.ASSUME_ROOT,
                )
            )
        [now] = [m for m in slack.messages("C0ROOTKEY1") if m.ts == ts]
    by_id = {b.get("block_id"): b for b in now.args["blocks"]}
    assert by_id["rootkey_header"]["text"]["text"] == "Root access keys in 2 of 4 accounts"
    summary = by_id["rootkey_summary"]["text"]["text"]
    assert ":red_circle: *2* noncompliant" in summary and "*2* compliant" in summary, summary
    assert now.args["text"].startswith("rootkey: Root access keys in 2 of 4 accounts")
