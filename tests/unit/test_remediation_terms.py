"""A request's terms as its log line records them: why it was made (its reason and ticket)
beside its keys, and the lines written before reasons were logged read as they were written."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from bot.remediation.keys import KeyPrint
from bot.remediation.models import Conversation, Request
from bot.remediation.states import Kind, State
from bot.remediation.terms import Logged, Terms, applied, disagreements

NOW = datetime(2026, 5, 1, 9, 30, tzinfo=UTC)
KEY = KeyPrint(created=datetime(2019, 3, 1, tzinfo=UTC), active=True, slot=1)

# The terms text of a request line as rootkey wrote it under revision 0010, before reasons and
# tickets were logged (one key, a remediation): it must read back and encode unchanged.
OLD_LINE = (
    '{"keys":[{"active":true,"created":"2019-03-01T00:00:00Z","key_id":null,'
    '"last_used_date":null,"last_used_region":null,"last_used_service":null,"slot":1}],'
    '"owner":null,"starts":null,"until":null}'
)


def request(**fields: object) -> Request:
    base = Request(
        id=7, kind=Kind.REMEDIATION, account_id="111111111111", state=State.REQUESTED,
        requester="U0ALICE001", reason="unused since 2019", where=Conversation("C0ROOTKEY1"),
        created_at=NOW, expires_at=NOW, state_since=NOW, ticket_url="SEC-1234",
        key_prints=(KEY,),
    )  # fmt: skip
    return replace(base, **fields)  # type: ignore[arg-type]


def asked(ticket: str | None = "SEC-1234") -> Terms:
    return Terms.asked(Kind.REMEDIATION, [KEY], None, None, "unused since 2019", ticket)


def test_a_request_line_records_its_reason_and_ticket() -> None:
    terms = asked()
    assert Terms.decode(terms.encode()) == terms
    assert '"reason":"unused since 2019"' in terms.encode()
    assert '"ticket":"SEC-1234"' in terms.encode()
    assert "ticket" not in asked(ticket=None).encode()  # none given: nothing written


def test_a_line_from_before_reasons_were_logged_reads_and_encodes_as_written() -> None:
    old = Terms.decode(OLD_LINE)
    assert (old.keys, old.reason, old.ticket) == ((KEY,), None, None)
    assert old.encode() == OLD_LINE
    assert replace(asked(), reason=None, ticket=None).encode() == OLD_LINE


def test_the_reason_and_ticket_shown_are_the_line_s_not_the_table_s() -> None:
    changed = request(reason="approved by the CISO", ticket_url=None)
    shown = applied(changed, Logged(3, False, asked()))
    assert (shown.reason, shown.ticket_url) == ("unused since 2019", "SEC-1234")
    # a line that recorded no reason leaves the table's (the only record there is)
    kept = applied(changed, Logged(3, False, Terms.decode(OLD_LINE)))
    assert (kept.reason, kept.ticket_url) == ("approved by the CISO", None)


def test_a_reason_or_ticket_changed_in_the_table_is_named() -> None:
    assert disagreements(asked(), request(), None) == []
    found = disagreements(asked(), request(reason="approved,\nby the CISO"), None)
    assert found == [
        'remediation_requests.reason is "approved,\\nby the CISO", the line "unused since 2019"'
    ]
    added = disagreements(asked(ticket=None), request(ticket_url="SEC-9999"), None)
    assert added == ['remediation_requests.ticket_url is "SEC-9999", the line none']
    # nothing to compare with on a line that recorded no reason
    assert disagreements(Terms.decode(OLD_LINE), request(reason="anything"), None) == []


def test_an_accepted_risk_s_reason_changed_in_its_exception_row_is_named() -> None:
    terms = Terms.asked(Kind.EXCEPTION, [KEY], "U0OWNER001", NOW, "vendor appliance", None)
    terms = terms.approved(Kind.EXCEPTION, "U0ALICE001", NOW)
    risk = request(kind=Kind.EXCEPTION, reason="vendor appliance", ticket_url=None,
                   owner="U0OWNER001", exception_until=NOW)  # fmt: skip
    row = ("U0OWNER001", NOW, NOW, "vendor appliance")
    assert disagreements(terms, risk, row) == []
    found = disagreements(terms, risk, (*row[:3], "forever"))
    assert found == ['risk_exceptions.reason is "forever", the line "vendor appliance"']
