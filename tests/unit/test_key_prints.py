"""Key fingerprints: which keys an accepted risk covers, which keys a remediation may delete.

Each rule is tried the way someone would slip a key past it: a new key in the other slot, a
new key in the same slot, a reactivated key, a key whose creation date is unknown, an audit
without key detail, an exception recorded without keys.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.audit.models import KeySlot, Status
from bot.remediation.keys import (
    KeyChange,
    KeyPrint,
    coverage,
    decode,
    encode,
    foreign_sentence,
    prints_of,
    sort_for_deletion,
)

OLD = datetime(2024, 3, 1, 10, 0, 0, tzinfo=UTC)
NEW = datetime(2026, 11, 30, 9, 15, 0, tzinfo=UTC)
OLD_KEY = KeySlot(slot=1, active=False, last_rotated=OLD)


def test_the_keys_it_was_accepted_for_are_covered() -> None:
    recorded = prints_of([OLD_KEY])
    assert coverage(Status.NONCOMPLIANT, [OLD_KEY], recorded).covered
    # Microseconds of a report's timestamp do not make another key.
    same = KeySlot(slot=1, active=False, last_rotated=OLD.replace(microsecond=5))
    assert coverage(Status.NONCOMPLIANT, [same], recorded).covered


def test_a_new_key_beside_the_accepted_one_is_not_covered() -> None:
    recorded = prints_of([OLD_KEY])
    new = KeySlot(slot=2, active=True, last_rotated=NEW)
    verdict = coverage(Status.NONCOMPLIANT, [OLD_KEY, new], recorded)
    assert not verdict.covered
    assert verdict.why == "key 2 (created 2026-11-30 09:15 UTC) is not one it was accepted for"


def test_a_new_key_in_the_same_slot_is_not_covered() -> None:
    recorded = prints_of([OLD_KEY])
    replaced = KeySlot(slot=1, active=True, last_rotated=NEW)
    assert not coverage(Status.NONCOMPLIANT, [replaced], recorded).covered


def test_a_reactivated_key_is_not_covered_but_a_deactivated_one_is() -> None:
    recorded = prints_of([OLD_KEY])
    again = KeySlot(slot=1, active=True, last_rotated=OLD)
    verdict = coverage(Status.NONCOMPLIANT, [again], recorded)
    assert not verdict.covered and "reactivated" in verdict.why
    active = prints_of([again])
    assert coverage(Status.NONCOMPLIANT, [OLD_KEY], active).covered  # safer than accepted


def test_what_cannot_be_told_apart_is_never_covered() -> None:
    recorded = prints_of([OLD_KEY])
    no_date = KeySlot(slot=1, active=False, last_rotated=None)
    assert not coverage(Status.NONCOMPLIANT, [no_date], recorded).covered
    assert not coverage(Status.NONCOMPLIANT, [], recorded).covered  # summary only
    assert "no key details" in coverage(Status.NONCOMPLIANT, [], recorded).why
    assert not coverage(Status.NONCOMPLIANT, [OLD_KEY], None).covered  # recorded nothing
    assert not coverage(Status.NONCOMPLIANT, [OLD_KEY], ()).covered
    assert not coverage(Status.ERROR, [], recorded).covered  # an error stays an error
    assert not coverage(Status.COMPLIANT, [], recorded).covered


# -- a key the credential report cannot show (created or reactivated after it was generated) --

REPORT = datetime(2026, 12, 1, 8, 2, 30, tzinfo=UTC)  # when the audit's report was generated
ACCEPTED = datetime(2026, 11, 20, 12, 0, 0, tzinfo=UTC)


def test_a_key_created_after_the_report_was_generated_is_not_covered() -> None:
    recorded = prints_of([OLD_KEY])
    change = KeyChange(datetime(2026, 12, 1, 9, 14, 5, tzinfo=UTC), "created")
    verdict = coverage(
        Status.NONCOMPLIANT, [OLD_KEY], recorded,
        change=change, report_at=REPORT, accepted_at=ACCEPTED,
    )  # fmt: skip
    assert not verdict.covered
    assert verdict.why == (
        "a root key was created at 2026-12-01 09:14 UTC, after the credential report this "
        "audit read (generated 08:02 UTC)"
    )


def test_a_key_changed_at_the_second_the_report_was_generated_is_not_covered() -> None:
    recorded = prints_of([OLD_KEY])
    change = KeyChange(REPORT, "reactivated")
    verdict = coverage(Status.NONCOMPLIANT, [OLD_KEY], recorded, change=change, report_at=REPORT)
    assert not verdict.covered and verdict.why.startswith("a root key was reactivated at")


def test_a_report_of_another_day_is_named_with_its_date() -> None:
    change = KeyChange(REPORT + timedelta(days=1))
    verdict = coverage(
        Status.NONCOMPLIANT, [OLD_KEY], prints_of([OLD_KEY]), change=change, report_at=REPORT
    )
    assert "(generated 2026-12-01 08:02 UTC)" in verdict.why


def test_a_key_change_the_report_already_shows_leaves_the_rule_to_the_keys() -> None:
    recorded = prints_of([OLD_KEY])
    before = KeyChange(REPORT - timedelta(seconds=1), "created")
    assert coverage(
        Status.NONCOMPLIANT, [OLD_KEY], recorded, change=before, report_at=REPORT
    ).covered  # the report was generated after it: the keys it lists are all there is
    new = KeySlot(slot=2, active=True, last_rotated=before.at)
    verdict = coverage(
        Status.NONCOMPLIANT, [OLD_KEY, new], recorded, change=before, report_at=REPORT
    )
    assert not verdict.covered and "is not one it was accepted for" in verdict.why


def test_without_the_report_time_a_change_since_the_acceptance_is_not_covered() -> None:
    recorded = prints_of([OLD_KEY])
    since = KeyChange(ACCEPTED + timedelta(hours=1))
    verdict = coverage(Status.NONCOMPLIANT, [OLD_KEY], recorded, change=since, accepted_at=ACCEPTED)
    assert not verdict.covered
    assert "after the risk was accepted" in verdict.why
    assert "does not say when its credential report was generated" in verdict.why
    earlier = KeyChange(ACCEPTED - timedelta(days=1))
    assert coverage(
        Status.NONCOMPLIANT, [OLD_KEY], recorded, change=earlier, accepted_at=ACCEPTED
    ).covered
    # Neither time known: a key change is enough.
    assert not coverage(Status.NONCOMPLIANT, [OLD_KEY], recorded, change=earlier).covered


def test_without_alerts_nothing_changes() -> None:
    recorded = prints_of([OLD_KEY])
    assert coverage(Status.NONCOMPLIANT, [OLD_KEY], recorded, report_at=REPORT).covered
    assert coverage(Status.NONCOMPLIANT, [OLD_KEY], recorded, change=None).covered


def test_a_key_change_never_makes_an_error_or_a_compliant_account_covered() -> None:
    change = KeyChange(REPORT + timedelta(hours=1))
    for status in (Status.ERROR, Status.COMPLIANT):
        assert not coverage(
            status, [OLD_KEY], prints_of([OLD_KEY]), change=change, report_at=REPORT
        ).covered


def test_deletion_takes_only_the_recorded_keys_and_names_the_others() -> None:
    recorded = prints_of([KeySlot(slot=1, active=True, last_rotated=OLD)])
    listed = [
        KeyPrint(created=OLD, active=True, key_id="AKIARK11111111111101"),
        KeyPrint(created=NEW, active=True, key_id="AKIARK11111111111102"),
    ]
    plan = sort_for_deletion(recorded, listed)
    assert plan.stop
    assert [k.key_id for k in plan.matching] == ["AKIARK11111111111101"]
    assert [k.key_id for k in plan.foreign] == ["AKIARK11111111111102"]
    assert foreign_sentence(plan.foreign[0], recorded) == (
        "a key that is not part of this request appeared: AKIA************1102, created "
        "2026-11-30 09:15 UTC; nothing was deleted for it; request again"
    )
    # Nothing recorded: every key is foreign.
    assert sort_for_deletion(None, listed).foreign == tuple(listed)
    # The recorded key alone: nothing stops it.
    assert not sort_for_deletion(recorded, listed[:1]).stop


def test_a_key_reactivated_after_the_request_stops_it() -> None:
    recorded = prints_of([OLD_KEY])
    listed = [KeyPrint(created=OLD, active=True, key_id="AKIARK11111111111101")]
    plan = sort_for_deletion(recorded, listed)
    assert plan.stop and "reactivated" in foreign_sentence(plan.foreign[0], recorded)


def test_fingerprints_survive_the_store() -> None:
    prints = (
        KeyPrint(created=OLD, active=False, slot=1, last_used_date=NEW, last_used_region="x"),
        KeyPrint(created=None, active=True, key_id="AKIARK11111111111102"),
    )
    assert decode(encode(prints)) == prints
    assert decode(encode(())) == ()
    assert decode(encode(None)) is None
