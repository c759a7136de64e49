"""The digest from crafted histories saved through the store (SQLite): figures, Block Kit, CSV,
chart, and the `digest --print` command."""

from __future__ import annotations

import csv
import io
import json
import logging
import os
import re
import struct
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.audit.models import AuditResult, KeySlot, Status, Verdict
from bot.cli import main
from bot.remediation.chain import Anchor
from bot.remediation.keys import KeyPrint
from bot.remediation.models import Conversation
from bot.services.digest import Digest, DigestService, digest_csv
from bot.slack.blocks.common import MAX_BLOCKS, MAX_MESSAGE_TEXT, MAX_SECTION_TEXT, block_text
from bot.slack.blocks.digest import digest_message
from bot.slack.blocks.history import history_message
from bot.slack.chart import trend_png
from bot.store import Store

T0 = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
KEY_MADE = datetime(2024, 5, 1, 8, 30, tzinfo=UTC)
C, N, E = Status.COMPLIANT, Status.NONCOMPLIANT, Status.ERROR


@pytest.fixture
def store(sqlite_url: str) -> Iterator[Store]:
    opened = Store.open(sqlite_url)
    yield opened
    opened.close()


def save(store: Store, day: float, statuses: dict[str, Status], names: bool = True) -> int:
    at = T0 + timedelta(days=day)
    verdicts = tuple(
        Verdict(
            account_id=account,
            status=status,
            reason={C: "no root access key", N: "root key in slot 1", E: "AccessDenied"}[status],
            source="aws",
            account_name=f"team-{account[-3:]}" if names else None,
            keys=(KeySlot(slot=1, active=True, last_rotated=KEY_MADE),) if status is N else (),
            checked_at=at,
        )
        for account, status in statuses.items()
    )
    return store.save_run(
        AuditResult(verdicts=verdicts, scope="org", started_at=at, finished_at=at), "schedule"
    )


def post_digest(store: Store, channel: str, run_id: int, slot: datetime) -> None:
    """Record a posted digest of ``run_id``, as the scheduler does."""
    claim = store.claim_slot(channel, slot, "test")
    assert claim is not None
    store.mark_slot_posted(claim.id, "test", run_id=run_id, baseline_run_id=None, message_ts="1")


def service(store: Store, day: float, **kw: object) -> DigestService:
    return DigestService(store, clock=lambda: T0 + timedelta(days=day, hours=1), **kw)  # type: ignore[arg-type]


def ids(states: object) -> list[str]:
    return [s.account_id for s in states]  # type: ignore[attr-defined]


def block_texts(digest: Digest) -> str:
    message = digest_message(digest)
    return json.dumps([b.to_dict() for b in message.blocks], ensure_ascii=False)


def test_figures_match_the_saved_audits(store: Store) -> None:
    a, b, c, d, e, f = (f"{i}" * 12 for i in range(1, 7))
    save(store, 0, {a: N, b: C, c: N, d: C, e: C})
    previous = save(store, 10, {a: N, b: C, c: N, d: C, e: C})
    post_digest(store, "C1", previous, T0 + timedelta(days=10))
    save(store, 11, {a: N, b: N, c: C, d: E, e: C})  # a check between digests
    now_run = save(store, 12, {a: N, b: N, c: C, d: E, e: C, f: N})

    digest = service(store, 12).build(now_run, channel="C1")

    assert digest.baseline_run_id == previous
    assert (digest.total, digest.compliant, digest.noncompliant, len(digest.errors)) == (6, 2, 3, 1)
    assert digest.percent_compliant == pytest.approx(100 * 2 / 6)
    assert ids(digest.new_noncompliant) == [b, f]
    assert ids(digest.fixed) == [c]
    assert ids(digest.still_open) == [a, b, f]  # oldest open streak first
    assert [digest.days_open(s) for s in digest.still_open] == [12, 1, 0]
    assert ids(digest.errors) == [d]
    assert not digest.all_clear

    text = block_texts(digest)
    assert "seen open since 2026-11-01 (12 days)" in text
    assert "seen open since 2026-11-12 (1 day)" in text
    assert "Could not be audited (1)" in text and "AccessDenied" in text
    fallback = digest_message(digest).text
    assert "3 of 6 accounts with a root access key (2 new)" in fallback
    assert "1 fixed" in fallback and "1 could not be audited" in fallback
    assert "33.3% compliant" in fallback


def test_each_open_account_is_listed_once_new_ones_first_and_marked(store: Store) -> None:
    old, new = "111111111111", "222222222222"
    previous = save(store, 0, {old: N, new: C})
    post_digest(store, "C1", previous, T0)
    run = save(store, 1, {old: N, new: N})

    digest = service(store, 1).build(run, channel="C1")

    assert ids(digest.new_noncompliant) == [new]
    text = block_texts(digest)
    assert text.count(new) == 1 and text.count(old) == 1, text
    assert "Open (2, 1 new" in text
    assert text.index(new) < text.index(old), "the new account comes first"
    assert f"{new}` team-222 · *new*" in text and f"{old}` team-111 — " in text


def test_the_key_age_and_how_long_rootkey_has_seen_it_open_are_both_shown(store: Store) -> None:
    """A key the report says is 400 days old, seen by rootkey for the first time today."""
    at = T0
    verdict = Verdict(
        account_id="111111111111",
        status=N,
        reason="root key in slot 1",
        source="aws",
        account_name="legacy-billing",
        keys=(KeySlot(slot=1, active=True, last_rotated=KEY_MADE, age_days=400),),
        checked_at=at,
    )
    run = store.save_run(
        AuditResult(verdicts=(verdict,), scope="org", started_at=at, finished_at=at), "schedule"
    )
    text = block_texts(service(store, 0).build(run))
    assert "1 key (1 active), 400 days old; seen open since 2026-11-01 (0 days)" in text


def test_a_key_deleted_minutes_after_the_baseline_audit_counts_as_fixed(store: Store) -> None:
    """No digest yet: changes count from the first audit (the history is shorter than the
    look-back). The key was deleted minutes after it: noncompliant then, compliant now."""
    fixed, still = "111111111111", "222222222222"
    first = save(store, 0, {fixed: N, still: N})
    save(store, 0.005, {fixed: C, still: N})  # the re-audit after the deletion
    run = save(store, 0.01, {fixed: C, still: N})

    digest = service(store, 0.01).build(run, channel="C1")

    assert digest.first_digest and digest.baseline_audit_id == first
    assert ids(digest.fixed) == [fixed]
    assert ids(digest.new_noncompliant) == []  # already open in the baseline audit
    assert "1 fixed" in digest_message(digest).text
    text = block_texts(digest)
    assert "1 fixed since the audit of 2026-11-01 09:00 UTC (no earlier digest)" in text
    # A first digest never speaks of a last one: its lists are titled by the audit they count
    # from.
    assert "Fixed since the audit of 2026-11-01 09:00 UTC (1)" in text
    assert "last digest" not in text.lower()


def test_the_footer_says_when_the_audit_ran_not_an_internal_id(store: Store) -> None:
    run = save(store, 12, {"111111111111": N})
    text = block_texts(service(store, 12).build(run))
    assert "Audit of 2026-11-13 09:00 UTC" in text
    assert "audit run" not in text and f"run {run}" not in text


def test_without_an_earlier_digest_changes_are_those_of_the_last_24_hours(store: Store) -> None:
    save(store, 0, {"111111111111": N, "222222222222": C})
    run = save(store, 5, {"111111111111": N, "222222222222": N})
    digest = service(store, 5).build(run, channel="C9")
    assert digest.first_digest
    assert ids(digest.new_noncompliant) == ["222222222222"]
    assert "no earlier digest" in block_texts(digest)


def test_an_account_that_could_not_be_audited_is_never_all_clear(store: Store) -> None:
    run = save(store, 0, {"111111111111": C, "222222222222": E})
    digest = service(store, 0).build(run)
    assert not digest.all_clear and digest.compliant == 1
    assert digest.percent_compliant == 50.0
    assert "Root key digest: 1 account not audited" in block_texts(digest)


def test_all_clear_is_one_short_message(store: Store) -> None:
    save(store, 0, {"111111111111": N, "222222222222": C})
    previous = save(store, 1, {"111111111111": N, "222222222222": C})
    post_digest(store, "C1", previous, T0 + timedelta(days=1))
    run = save(store, 2, {"111111111111": C, "222222222222": C})
    digest = service(store, 2).build(run, channel="C1")
    assert digest.all_clear
    message = digest_message(digest)
    assert len(message.blocks) == 2
    assert message.text.startswith("Root key digest: all clear, 2 accounts audited")
    assert "1 account fixed since the last digest" in block_texts(digest)
    assert service(store, 2).csv_file(digest) is None  # nothing to list


def test_a_first_digest_all_clear_says_what_its_fix_is_counted_from(store: Store) -> None:
    save(store, 0, {"111111111111": N, "222222222222": C})
    run = save(store, 0.5, {"111111111111": C, "222222222222": C})
    digest = service(store, 0.5).build(run, channel="C1")
    assert digest.all_clear and digest.first_digest
    text = block_texts(digest)
    assert "1 account fixed since the audit of 2026-11-01 09:00 UTC (no earlier digest)" in text
    assert "last digest" not in text.lower()


def test_no_accounts_audited_is_not_all_clear(store: Store) -> None:
    run = save(store, 0, {})
    digest = service(store, 0).build(run)
    assert not digest.all_clear
    assert digest_message(digest).text == "Root key digest: no accounts were audited."


@dataclass(frozen=True)
class Req:
    id: int
    account_id: str
    kind: str
    state: str
    requester: str
    created_at: datetime
    account_name: str | None = None
    assignee: str | None = None


@dataclass(frozen=True)
class Exc:
    account_id: str
    owner: str
    reason: str
    expires_at: datetime
    key_prints: tuple[KeyPrint, ...] | None = (KeyPrint(created=KEY_MADE, active=True, slot=1),)
    starts_at: datetime = KEY_MADE  # accepted when (no key change since in these tests)


HEAD = Anchor(41, "ab" * 32)


class Remediation:
    def open_requests(self) -> list[Req]:
        return [Req(7, "111111111111", "remediation", "tracking", "UREQ1", T0, assignee="UOWN1")]

    def active_exceptions(self, now: datetime) -> list[Exc]:
        return [Exc("222222222222", "UOWN2", "legacy batch job", T0 + timedelta(days=60))]

    def log_head(self) -> Anchor | None:
        return HEAD


def test_accepted_risks_are_shown_apart_and_open_requests_listed(store: Store) -> None:
    run = save(store, 0, {"111111111111": N, "222222222222": N, "333333333333": C})
    digest = service(store, 3, remediation=Remediation()).build(run)
    assert ids(digest.still_open) == ["111111111111"]
    assert [x.state.account_id for x in digest.excepted] == ["222222222222"]
    text = block_texts(digest)
    assert "Accepted risks (1)" in text and "<@UOWN2>" in text and "legacy batch job" in text
    assert "Open remediation requests (1)" in text and "#7" in text and "<@UOWN1>" in text
    rows = list(csv.DictReader(io.StringIO(digest_csv(digest))))
    assert [r["status"] for r in rows] == ["noncompliant", "excepted", "compliant"]


def test_the_digest_posts_the_remediation_logs_head_to_keep_outside_the_database(
    store: Store,
) -> None:
    run = save(store, 0, {"111111111111": N, "333333333333": C})
    digest = service(store, 3, remediation=Remediation()).build(run)
    assert digest.log_head == HEAD
    footer = [b for b in digest_message(digest).blocks if b.block_id == "rootkey_digest_log_head"]
    assert footer and f"--anchor {HEAD.line_id}:{HEAD.hash}" in str(footer[0].to_dict())

    class Empty(Remediation):
        def log_head(self) -> Anchor | None:
            return None

    digest = service(store, 3, remediation=Empty()).build(run)
    assert "rootkey_digest_log_head" not in str(
        [b.to_dict() for b in digest_message(digest).blocks]
    )


def test_the_log_head_is_shown_whole_in_a_block_that_wraps_with_a_long_database_path(
    store: Store,
) -> None:
    """The anchor is what ``log --verify --anchor ID:HASH`` needs, so it is never cut: not by a
    context block's small print (the thread pane cut the 64 hex digits off), nor by a database
    path too long for the command."""
    run = save(store, 0, {"111111111111": N, "333333333333": C})
    anchor = f"{HEAD.line_id}:{HEAD.hash}"
    for path in ("/srv/rootkey/rootkey.db", "/srv/" + "deep/" * 390 + "rootkey.db"):
        built = service(store, 3, remediation=Remediation()).build(run)
        digest = replace(built, log_database=f"sqlite:///{path}")
        blocks = [b.to_dict() for b in digest_message(digest).blocks]
        shown = [b for b in blocks if b.get("block_id") == "rootkey_digest_log_head"]
        assert len(shown) == 1 and shown[0]["type"] == "section", shown
        text = shown[0]["text"]["text"]
        assert f"`{anchor}`" in text
        command = re.search(r"`([^`]*python -m bot log --verify --anchor [^`]*)`", text)
        assert command and command.group(1).endswith(f"--anchor {anchor}"), text
        if len(path) < 100:
            assert command.group(1).startswith(f"DATABASE_URL=sqlite:///{path} ")
        else:  # too long to print whole: said, never cut
            assert "DATABASE_URL" in text and "…" not in text


def test_an_accepted_risk_for_another_key_is_counted_as_a_root_key(store: Store) -> None:
    other = (KeyPrint(created=KEY_MADE - timedelta(days=9), active=True, slot=1),)

    class Stale(Remediation):
        def active_exceptions(self, now: datetime) -> list[Exc]:
            return [Exc("222222222222", "UOWN2", "old key", T0 + timedelta(days=60), other)]

    run = save(store, 0, {"111111111111": N, "222222222222": N})
    digest = service(store, 3, remediation=Stale()).build(run)
    assert ids(digest.still_open) == ["111111111111", "222222222222"] and not digest.excepted
    assert digest.noncompliant == 2


def test_ten_thousand_accounts_stay_within_slack_limits_and_the_csv_has_them_all(
    store: Store,
) -> None:
    statuses = {f"{i:012d}": (N if i % 3 == 0 else E if i % 7 == 0 else C) for i in range(10_000)}
    save(store, 0, statuses, names=False)
    run = save(store, 1, statuses)
    digest = service(store, 1).build(run)
    message = digest_message(digest)
    assert len(message.blocks) <= MAX_BLOCKS
    for block in message.blocks:
        body = block.to_dict()
        assert len(body.get("text", {}).get("text", "")) <= MAX_SECTION_TEXT
    assert len(json.dumps([b.to_dict() for b in message.blocks])) < 20_000
    assert f"…and {digest.noncompliant - 10:,} more in the CSV" in block_texts(digest)
    rows = list(csv.DictReader(io.StringIO(digest_csv(digest))))
    assert len(rows) == 10_000
    assert sum(r["status"] == "error" for r in rows) == len(digest.errors)


def test_sixty_unreadable_accounts_with_long_aws_text_share_one_line_within_the_budget(
    store: Store,
) -> None:
    at = T0 + timedelta(days=1)
    denied = (
        "could not audit: AssumeRole RootkeyAudit: AccessDenied (User: arn:aws:sts::111111111111:"
        "assumed-role/rootkey-bot/i-0abc123 is not authorized to perform: sts:AssumeRole on "
        "resource: arn:aws:iam::{}:role/RootkeyAudit, after 2 retries)"
    )
    verdicts = [
        Verdict(f"{i:012d}", E, denied.format(f"{i:012d}"), "aws", checked_at=at)
        for i in range(1, 61)
    ] + [
        Verdict(
            f"{i:012d}",
            N,
            "root key in slot 1 " + "x" * 200,
            "aws",
            account_name="team-" + "y" * 60,
            keys=(KeySlot(slot=1, active=True),),
            checked_at=at,
        )
        for i in range(101, 141)
    ]
    run = store.save_run(
        AuditResult(verdicts=tuple(verdicts), scope="org", started_at=at, finished_at=at),
        "schedule",
    )
    digest = service(store, 1).build(run)

    message = digest_message(digest)

    assert block_text(message.blocks) <= MAX_MESSAGE_TEXT
    assert "60 accounts: could not audit: AssumeRole RootkeyAudit: AccessDenied" in block_texts(
        digest
    )
    rows = list(csv.DictReader(io.StringIO(digest_csv(digest))))
    assert len(rows) == 100


def test_a_name_that_looks_like_a_formula_is_inert_in_the_csv(store: Store) -> None:
    at = T0
    verdict = Verdict(
        account_id="111111111111",
        status=N,
        reason="root key",
        source="aws",
        account_name='=HYPERLINK("http://x")',
        checked_at=at,
    )
    run = store.save_run(AuditResult(verdicts=(verdict,), started_at=at, finished_at=at), "cli")
    rows = list(csv.reader(io.StringIO(digest_csv(service(store, 0).build(run)))))
    assert rows[1][1].startswith("'=")


def test_the_trend_chart_is_a_png_of_the_thirty_days(store: Store) -> None:
    for day in range(30):
        save(store, day, {"111111111111": N if day < 20 else C, "222222222222": C})
    digest = service(store, 29).build(save(store, 29, {"111111111111": C}))
    assert len(digest.trend) == 30
    assert digest.trend[0].noncompliant == 1 and digest.trend[-1].noncompliant == 0
    png = trend_png(digest.trend)
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", png[16:24])
    assert (width, height) == (800, 320)


def test_history_shows_the_changes_of_an_account(store: Store) -> None:
    for day, status in enumerate([C, C, N, N, N, E, N]):
        save(store, day, {"111111111111": status})
    now = T0 + timedelta(days=6, hours=2)
    message = history_message(
        "111111111111",
        store.history("111111111111"),
        store.latest_state("111111111111"),
        now=now,
    )
    text = json.dumps([b.to_dict() for b in message.blocks], ensure_ascii=False)
    assert "Open since* 2026-11-03 09:00 UTC: 4 days" in text
    assert text.count("root access key present") == 3  # now, then the two streaks around the error
    assert re.search(r"the same in 1 later audit\b(?!s)", text), text
    assert "the same in 2 later audits" in text and "found by the scheduled audit" in text
    assert "(schedule" not in text, "no internal trigger names"
    assert message.text == "History of 111111111111 (team-111): now noncompliant, open 4 days"
    empty = history_message("999999999999", [], None, now=now)
    assert "No saved audit of 999999999999 yet" in empty.text


def test_digest_print_writes_block_kit_json_from_the_last_saved_audit(
    store: Store,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # The command line's own entry point, in this process: the environment holds only what a
    # fresh shell would (no settings of ours, no .env in the working directory).
    save(store, 0, {"111111111111": N, "222222222222": C})
    for name in list(os.environ):
        if name not in ("PATH", "HOME", "LANG"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'rootkey.db'}")
    monkeypatch.chdir(tmp_path)
    capsys.readouterr()
    root = logging.getLogger()
    level = root.level
    try:
        code = main(["digest", "--print", "--no-audit"])
        done = capsys.readouterr()
        refused = main(["digest"])
        err = capsys.readouterr().err
    finally:
        root.setLevel(level)  # the command sets its own log level
    assert code == 0, done.err
    payload = json.loads(done.out)
    assert payload["text"].startswith("Root key digest: 1 of 2 accounts with a root access key")
    assert payload["blocks"][0]["type"] == "header"
    assert refused == 2 and err.count("\n") == 1, err


def test_the_remediation_store_feeds_accepted_risks_and_open_requests(store: Store) -> None:
    from bot.remediation.states import Kind, Mode
    from bot.store.remediation import NewRequest, RemediationStore

    remediation = RemediationStore(store.engine)
    until = T0 + timedelta(days=30)
    excepted = remediation.create(
        NewRequest(
            kind=Kind.EXCEPTION,
            account_id="222222222222",
            requester="UREQ1",
            reason="vendor appliance, replaced in Q1",
            where=Conversation("C1"),
            expires_at=T0 + timedelta(hours=72),
            owner="UOWN2",
            exception_until=until,
            key_prints=(KeyPrint(created=KEY_MADE, active=True, slot=1),),
        ),
        T0,
    )
    assert remediation.approve(excepted.id, "UAPPROVER", 1, T0).approved
    remediation.create(
        NewRequest(
            kind=Kind.REMEDIATION,
            account_id="111111111111",
            requester="UREQ1",
            reason="unused key",
            where=Conversation("C1"),
            expires_at=T0 + timedelta(hours=72),
            mode=Mode.TRACKED,
        ),
        T0,
    )
    run = save(store, 1, {"111111111111": N, "222222222222": N, "333333333333": C})

    during = service(store, 2, remediation=remediation).build(run)
    assert ids(during.still_open) == ["111111111111"]
    assert [x.state.account_id for x in during.excepted] == ["222222222222"]
    assert [r.account_id for r in during.open_requests] == ["111111111111"]
    text = block_texts(during)
    assert "vendor appliance" in text and "until 2026-12-01" in text
    assert "requested by <@UREQ1>" in text

    after = service(store, 31, remediation=remediation).build(run)  # the exception ran out
    assert ids(after.still_open) == ["111111111111", "222222222222"]
    assert after.excepted == ()


def test_an_account_with_a_key_that_can_no_longer_be_read_keeps_its_open_date(
    store: Store,
) -> None:
    save(store, 0, {"111111111111": N})
    run = save(store, 3, {"111111111111": E})
    digest = service(store, 3).build(run)
    assert digest.still_open == () and ids(digest.errors) == ["111111111111"]
    assert "Last seen with a root key, open since 2026-11-01." in block_texts(digest)
    assert not digest.all_clear
