"""Properties of the verdict over every combination of what could be read."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from bot.audit.models import AccountSummary, KeySlot, RootRow, Status
from bot.audit.verdict import decide

NOW = datetime(2026, 6, 1, tzinfo=UTC)
flags = st.none() | st.booleans()
summaries = st.none() | st.builds(
    AccountSummary,
    access_keys_present=flags,
    mfa_enabled=flags,
    signing_certificates_present=flags,
    password_present=flags,
)
keys = st.builds(
    KeySlot,
    slot=st.sampled_from([1, 2]),
    active=st.booleans(),
    last_rotated=st.none() | st.integers(0, 4000).map(lambda d: NOW - timedelta(days=d)),
)
roots = st.none() | st.builds(
    RootRow,
    arn=st.just("arn:aws:iam::111111111111:root"),
    account_id=st.just("111111111111"),
    password_enabled=flags,
    password_last_used=st.none(),
    mfa_active=flags,
    keys=st.lists(keys, max_size=2, unique_by=lambda k: k.slot).map(tuple),
)
errors = st.lists(st.sampled_from(["GetAccountSummary: AccessDenied", "AssumeRole X: Throttling"]))


@given(summary=summaries, root=roots, errs=errors)
def test_compliant_only_when_a_read_rules_a_key_out(
    summary: AccountSummary | None, root: RootRow | None, errs: list[str]
) -> None:
    v = decide("111111111111", source="aws", now=NOW, summary=summary, root=root, errors=errs)
    summary_says_none = summary is not None and summary.access_keys_present is False
    report_alone_clean = (
        summary is None and root is not None and not errs and not any(k.active for k in root.keys)
    )
    if v.status is Status.COMPLIANT:
        assert summary_says_none or report_alone_clean
        assert v.keys == () or report_alone_clean
    if summary is not None and summary.access_keys_present:
        assert v.status is Status.NONCOMPLIANT
    if root is not None and any(k.active for k in root.keys) and not summary_says_none:
        assert v.status is Status.NONCOMPLIANT
    if summary is None and root is None:
        assert v.status is Status.ERROR
    if v.status is Status.ERROR:
        assert v.reason.startswith("could not audit")
        for line in errs:
            assert line in v.reason
    assert "\n" not in v.reason
    assert all(k.age_days is None or k.age_days >= 0 for k in v.keys)
