"""Security Hub export through boto3 against moto's server and its strict Security Hub layer.

What a security team sees in Security Hub after an audit (GetFindings), what survives a fix,
and what the stand-in refuses the way Security Hub does.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from botocore.config import Config as BotoConfig
from botocore.exceptions import ClientError

from bot.audit import asff, control
from bot.audit.models import (
    AccountSummary,
    AuditResult,
    KeySlot,
    Scope,
    Status,
    Verdict,
    utcnow,
)
from bot.audit.verdict import decide
from bot.aws.auditor import AwsAuditor
from bot.aws.securityhub import SecurityHubExporter
from bot.config import Config
from bot.services.export import ExportingAuditor
from simulator import aws_securityhub
from simulator.aws import MANAGEMENT_ACCOUNT, REGION, RootKeySpec, SimulatedAws, days_ago
from tests.support.waiting import wait_until

PRODUCT_ARN = asff.Hub(MANAGEMENT_ACCOUNT, REGION).product_arn


@pytest.fixture
def hub(aws: SimulatedAws) -> Iterator[Any]:
    """The management account's Security Hub, enabled; its boto3 client."""
    client = aws.session().client("securityhub")
    client.enable_security_hub()
    yield client


def exporter(
    aws: SimulatedAws, sleeps: list[float] | None = None, **kw: Any
) -> SecurityHubExporter:
    pauses = sleeps if sleeps is not None else []
    return SecurityHubExporter(aws.session(), REGION, sleep=pauses.append, **kw)


def audit_org(aws: SimulatedAws) -> tuple[Any, ...]:
    config = Config(report_deadline=5.0)
    return AwsAuditor(config, aws.session).audit(Scope("org")).verdicts


def findings(client: Any, **filters: str) -> dict[str, dict[str, Any]]:
    """Every finding of the hub (paged), by the audited account id."""
    query = {k: [{"Value": v, "Comparison": "EQUALS"}] for k, v in filters.items()}
    found: dict[str, dict[str, Any]] = {}
    for page in client.get_paginator("get_findings").paginate(
        Filters=query, PaginationConfig={"PageSize": 7}
    ):
        for item in page["Findings"]:
            (resource,) = item["Resources"]
            found[resource["Id"].removeprefix("AWS::::Account:")] = item
    return found


def org_with_every_verdict(aws: SimulatedAws) -> dict[str, str]:
    org = aws.create_organization(4, missing_role={2})
    active, inactive, no_role, clean = (m.account_id for m in org.members)
    aws.set_root_keys(active, [RootKeySpec(slot=1, created=days_ago(400), last_used=days_ago(2))])
    aws.set_root_keys(inactive, [RootKeySpec(slot=2, active=False, created=days_ago(90))])
    return {"active": active, "inactive": inactive, "no_role": no_role, "clean": clean}


def test_after_an_org_audit_findings_read_failed_for_each_noncompliant_and_passed_for_the_rest(
    aws: SimulatedAws, hub: Any
) -> None:
    accounts = org_with_every_verdict(aws)
    report = exporter(aws).export(audit_org(aws))

    assert report.ok, report.failure_lines()
    assert (report.imported, report.created) == (5, 5)
    got = findings(hub)
    assert set(got) == {*accounts.values(), MANAGEMENT_ACCOUNT}
    status = {a: f["Compliance"]["Status"] for a, f in got.items()}
    assert status == {
        accounts["active"]: "FAILED",
        accounts["inactive"]: "FAILED",
        accounts["no_role"]: "WARNING",
        accounts["clean"]: "PASSED",
        MANAGEMENT_ACCOUNT: "PASSED",
    }
    active = got[accounts["active"]]
    assert active["Severity"]["Label"] == "CRITICAL"
    assert got[accounts["inactive"]]["Severity"]["Label"] == "HIGH"
    assert active["Id"] == f"rootkey/root-access-key/{accounts['active']}"
    assert active["AwsAccountId"] == MANAGEMENT_ACCOUNT  # the aggregation account imports
    assert active["ProductArn"] == PRODUCT_ARN
    assert active["Resources"][0]["Type"] == "AwsAccount"
    assert "CIS AWS Foundations Benchmark v1.4.0/1.4" in active["Compliance"]["RelatedRequirements"]
    assert active["Types"] == [control.FINDING_TYPE]
    assert active["GeneratorId"] == control.GENERATOR_ID
    assert "400 days old" in active["Description"] and "key 1" in active["Description"]
    assert (active["RecordState"], active["Workflow"]["Status"]) == ("ACTIVE", "NEW")
    assert got[accounts["clean"]]["RecordState"] == "ARCHIVED"
    # Security Hub's own filter finds the same accounts
    assert set(findings(hub, ComplianceStatus="FAILED")) == {
        accounts["active"],
        accounts["inactive"],
    }


def test_after_the_fix_the_same_finding_id_reads_passed_archived_and_resolved(
    aws: SimulatedAws, hub: Any
) -> None:
    accounts = org_with_every_verdict(aws)
    exporter(aws).export(audit_org(aws))
    before = findings(hub)[accounts["active"]]

    aws.set_root_keys(accounts["active"], [])  # the key is deleted
    report = exporter(aws).export(audit_org(aws))

    assert report.ok and report.created == 0 and report.resolved == 1
    after = findings(hub)
    assert len(after) == 5  # updated in place, nothing added
    fixed = after[accounts["active"]]
    assert fixed["Id"] == before["Id"]
    assert fixed["Compliance"]["Status"] == "PASSED"
    assert fixed["RecordState"] == "ARCHIVED"
    assert fixed["Workflow"]["Status"] == "RESOLVED"
    assert fixed["Severity"]["Label"] == "INFORMATIONAL"
    assert fixed["CreatedAt"] == before["CreatedAt"]  # still dated from the key's creation
    assert fixed["UpdatedAt"] > before["UpdatedAt"]

    # the key comes back: the same finding is FAILED again and back in the workflow
    aws.set_root_keys(accounts["active"], [RootKeySpec(slot=1, created=days_ago(1))])
    exporter(aws).export(audit_org(aws))
    again = findings(hub)[accounts["active"]]
    assert again["Compliance"]["Status"] == "FAILED"
    assert (again["RecordState"], again["Workflow"]["Status"]) == ("ACTIVE", "NEW")


def test_a_finding_the_team_suppressed_is_not_resolved_by_the_bot(
    aws: SimulatedAws, hub: Any
) -> None:
    accounts = org_with_every_verdict(aws)
    exporter(aws).export(audit_org(aws))
    finding_id = f"rootkey/root-access-key/{accounts['inactive']}"
    hub.batch_update_findings(
        FindingIdentifiers=[{"Id": finding_id, "ProductArn": PRODUCT_ARN}],
        Workflow={"Status": "SUPPRESSED"},
    )
    aws.set_root_keys(accounts["inactive"], [])
    report = exporter(aws).export(audit_org(aws))
    assert report.resolved == 0
    item = findings(hub)[accounts["inactive"]]
    assert (item["Compliance"]["Status"], item["Workflow"]["Status"]) == ("PASSED", "SUPPRESSED")


def many_verdicts(n: int, status: Status = Status.NONCOMPLIANT) -> list[Verdict]:
    summary = AccountSummary(status is Status.NONCOMPLIANT, False, False, True)
    return [
        decide(f"{100000000000 + i:012d}", source="aws", now=utcnow(), summary=summary)
        for i in range(n)
    ]


def test_findings_go_in_batches_of_at_most_100(aws: SimulatedAws, hub: Any) -> None:
    aws.reset_calls()
    report = exporter(aws).export(many_verdicts(230))
    assert report.ok and report.imported == 230
    assert aws.call_count(action="BatchImportFindings") == 3  # 100 + 100 + 30
    assert len(findings(hub)) == 230


def test_security_hub_refuses_a_batch_of_101(hub: Any) -> None:
    verdicts = many_verdicts(101)
    batch = [asff.finding(v, asff.Hub(MANAGEMENT_ACCOUNT, REGION)) for v in verdicts]
    with pytest.raises(ClientError) as caught:
        hub.batch_import_findings(Findings=batch)
    assert caught.value.response["Error"]["Code"] == "InvalidInputException"


def test_throttled_batches_are_sent_again(aws: SimulatedAws, hub: Any) -> None:
    aws.throttle(None, "BatchImportFindings", times=2)
    pauses: list[float] = []
    report = exporter(aws, pauses, backoff=0.5).export(many_verdicts(3))
    assert report.ok and report.imported == 3
    assert pauses == [0.5, 1.0]  # the pause doubles between attempts
    assert aws.call_count(action="BatchImportFindings") == 3
    assert len(findings(hub)) == 3


def test_throttled_for_good_every_finding_is_reported_failed(aws: SimulatedAws, hub: Any) -> None:
    aws.throttle(None, "BatchImportFindings")
    report = exporter(aws, attempts=3).export(many_verdicts(2))
    assert not report.ok and report.imported == 0
    assert [f.code for f in report.failed] == ["LimitExceededException"] * 2
    assert {f.account_id for f in report.failed} == {"100000000000", "100000000001"}
    assert aws.call_count(action="BatchImportFindings") == 3


def test_a_refused_finding_is_reported_alone_and_the_others_go_through(
    aws: SimulatedAws, hub: Any
) -> None:
    verdicts = many_verdicts(3)
    # rootkey's findings keep every limit AWS documents, so the refusal is injected
    aws.refuse_finding(control.finding_id(verdicts[1]), "simulated refusal of this finding")
    report = exporter(aws).export(verdicts)
    assert report.imported == 2
    (failure,) = report.failed
    assert (failure.account_id, failure.code) == ("100000000001", "InvalidInput")
    assert "simulated refusal" in failure.message
    assert set(findings(hub)) == {"100000000000", "100000000002"}


def test_long_texts_are_clipped_and_the_finding_imported(aws: SimulatedAws, hub: Any) -> None:
    """An AWS error text that runs long, and report values past anything AWS writes: Security
    Hub refuses a ProductFields value over 2,048 characters, so rootkey clips each one."""
    message = "User: arn:aws:sts::100000000000:assumed-role/rootkey-audit/rootkey is not " * 40
    failed = decide("100000000000", source="aws", now=utcnow(), errors=[f"AssumeRole: {message}"])
    odd = KeySlot(slot=1, active=True, last_used_service="s" * 5000)
    keyed = replace(many_verdicts(2)[1], keys=(odd,))
    report = exporter(aws).export([failed, keyed])
    assert report.ok and report.imported == 2, report.failure_lines()
    stored = findings(hub)
    reason = stored["100000000000"]["ProductFields"]["rootkey/reason"]
    assert len(reason) == 2048 and reason.startswith("could not audit: AssumeRole: User: arn")
    service = stored["100000000001"]["ProductFields"]["rootkey/key1/last_used_service"]
    assert service == "s" * 2047 + "…"


def test_hub_not_enabled_is_one_clear_error_and_nothing_raised(aws: SimulatedAws) -> None:
    report = exporter(aws).export(many_verdicts(2))
    assert not report.ok
    assert report.error is not None and "not subscribed" in report.error
    assert "nothing sent" in report.summary()


def test_a_verdict_without_an_account_id_is_skipped(aws: SimulatedAws, hub: Any) -> None:
    unknown = decide("", source="aws", now=utcnow(), errors=["no account id was read"])
    report = exporter(aws).export([unknown, *many_verdicts(1)])
    assert report.ok and report.imported == 1
    assert report.skipped == ["unknown account (aws): no account id"]


def test_a_verdict_not_read_live_never_reaches_security_hub(aws: SimulatedAws, hub: Any) -> None:
    """Whatever passes it on (the bot's shared auditor, a caller of the exporter), a verdict
    from a credential report file is never sent: its "no key" would resolve the live finding."""
    accounts = org_with_every_verdict(aws)
    exporter(aws).export(audit_org(aws))
    offline = decide(
        accounts["active"],
        source="report:old.csv",
        now=utcnow(),
        summary=AccountSummary(False, False, False, True),
    )
    assert offline.status is Status.COMPLIANT

    class FileAuditor:
        def audit(self, scope: Scope) -> AuditResult:
            now = utcnow()
            return AuditResult(
                verdicts=(offline,), scope="reports", started_at=now, finished_at=now
            )

    aws.reset_calls()
    sender = exporter(aws)
    ExportingAuditor(FileAuditor(), sender).audit(Scope("account"))
    report = sender.export([offline])

    assert (report.imported, report.resolved) == (0, 0)
    assert report.skipped == [
        f"{accounts['active']} (report:old.csv): not read live from AWS, never sent"
    ]
    assert aws.call_count(action="BatchImportFindings") == 0
    assert aws.call_count(action="BatchUpdateFindings") == 0
    item = findings(hub)[accounts["active"]]
    assert (item["Compliance"]["Status"], item["RecordState"], item["Workflow"]["Status"]) == (
        "FAILED",
        "ACTIVE",
        "NEW",
    )


def test_the_bots_audits_are_exported_when_enabled(aws: SimulatedAws, hub: Any) -> None:
    """ROOTKEY_SECURITYHUB: every audit through the shared auditor also reaches Security Hub."""
    accounts = org_with_every_verdict(aws)
    auditor = ExportingAuditor(AwsAuditor(Config(report_deadline=5.0), aws.session), exporter(aws))
    result = auditor.audit(Scope("accounts", (accounts["active"],)))
    assert [v.status for v in result.verdicts] == [Status.NONCOMPLIANT]
    assert findings(hub)[accounts["active"]]["Compliance"]["Status"] == "FAILED"


def test_an_older_verdict_exported_last_leaves_the_newer_failed_finding_as_it_is(
    aws: SimulatedAws, hub: Any
) -> None:
    """Audits run side by side in the job pool and each exports as it ends. `/rootkey check all`
    reads account X early (no key); the root user then creates a key; `/rootkey check X` reads
    it and exports FAILED; then the long audit ends and exports its older "compliant". The
    finding must still read FAILED (not PASSED, ARCHIVED and RESOLVED while the key exists),
    and the older verdict is reported skipped: never sent, never resolved."""
    (member,) = aws.create_organization(1).members
    x = member.account_id
    config = Config(report_deadline=5.0)
    named = ExportingAuditor(AwsAuditor(config, aws.session), exporter(aws))

    class CheckAll:
        """The long audit: X is read, and before the audit ends the key is created and the
        named check of X runs and exports."""

        def audit(self, scope: Scope) -> AuditResult:
            result = AwsAuditor(config, aws.session).audit(scope)
            aws.set_root_keys(x, [RootKeySpec(slot=1, created=days_ago(0.01))])
            named.audit(Scope("accounts", (x,)))
            return result

    reports: list[Any] = []

    class Recording:
        def __init__(self, inner: SecurityHubExporter) -> None:
            self.inner = inner

        def export(self, verdicts: Any) -> Any:
            reports.append(self.inner.export(verdicts))
            return reports[-1]

    result = ExportingAuditor(CheckAll(), Recording(exporter(aws))).audit(Scope("org"))
    (early,) = [v for v in result.verdicts if v.account_id == x]
    assert early.status is Status.COMPLIANT  # read before the key was created

    item = findings(hub)[x]
    assert (item["Compliance"]["Status"], item["RecordState"], item["Workflow"]["Status"]) == (
        "FAILED",
        "ACTIVE",
        "NEW",
    )
    assert item["UpdatedAt"] > asff.timestamp(early.checked_at)  # the named check's finding
    (report,) = reports
    assert report.ok and report.resolved == 0
    assert [s for s in report.skipped if s.startswith(x)] == [
        f"{early.label} (aws): older than the finding ({asff.timestamp(early.checked_at)} before "
        f"{item['UpdatedAt']}), never sent"
    ]


class WatchedLock:
    """The exporter's lock, telling which threads are waiting for it."""

    def __init__(self, lock: Any) -> None:
        self.lock = lock
        self.waiting: set[int | None] = set()

    def __enter__(self) -> None:
        me = threading.get_ident()
        self.waiting.add(me)
        self.lock.acquire()
        self.waiting.discard(me)

    def __exit__(self, *exc: object) -> None:
        self.lock.release()


def test_two_exports_ending_together_judge_against_the_findings_one_after_the_other(
    aws: SimulatedAws, hub: Any
) -> None:
    """The same race inside the exporter: the long audit's export has read the findings (the
    key's old FAILED) and is about to import its "no key" when the named check's export reads,
    imports its newer FAILED and ends. Security Hub ignores the older import, but resolving
    after it would mark the newer FAILED finding RESOLVED. One exporter (the bot has one) runs
    its exports one at a time, so the second judges against what the first sent."""
    account = "100000000007"
    at = utcnow()

    def verdict(minutes_ago: int, key: bool) -> Verdict:
        summary = AccountSummary(key, False, False, True)
        return decide(
            account, source="aws", now=at - timedelta(minutes=minutes_ago), summary=summary
        )

    sender = exporter(aws)
    assert sender.export([verdict(3, key=True)]).ok  # an earlier audit's FAILED, workflow NEW
    early, late = verdict(2, key=False), verdict(1, key=True)
    other = threading.Thread(target=sender.export, args=([late],), daemon=True)
    watched = WatchedLock(sender.lock)
    sender.lock = watched  # type: ignore[assignment]

    def named_check_meanwhile(**_: Any) -> None:
        if other.ident is None:  # the first import: the long audit's
            other.start()
            # it ends at once unless it waits for this export (the exporter's lock)
            wait_until(
                lambda: not other.is_alive() or other.ident in watched.waiting,
                timeout=30,
                what="the named check's export ended or waiting for this one",
            )

    sender.hub_client.meta.events.register(
        "before-call.securityhub.BatchImportFindings", named_check_meanwhile
    )
    report = sender.export([early])
    other.join(timeout=60.0)
    assert not other.is_alive()

    item = findings(hub)[account]
    assert (item["Compliance"]["Status"], item["RecordState"], item["Workflow"]["Status"]) == (
        "FAILED",
        "ACTIVE",
        "NEW",
    )
    assert item["UpdatedAt"] == asff.timestamp(late.checked_at)
    assert report.ok


# ------------------------------------------------ the stand-in refuses what Security Hub refuses


def valid_finding() -> dict[str, Any]:
    return asff.finding(many_verdicts(1)[0], asff.Hub(MANAGEMENT_ACCOUNT, REGION))


@pytest.mark.parametrize(
    ("change", "code"),
    [
        (lambda f: f.update(AwsAccountId="222222222222"), "InvalidAccess"),
        (
            lambda f: f.update(
                ProductArn=asff.Hub("222222222222", REGION).product_arn,
            ),
            "InvalidAccess",
        ),
        (lambda f: f.pop("Title"), "InvalidInput"),
        (lambda f: f.update(Description="d" * 1025), "InvalidInput"),
        (lambda f: (f.pop("Types"), f["FindingProviderFields"].pop("Types")), "InvalidInput"),
        (lambda f: f.update(Types=["Made Up/Category"]), "InvalidInput"),
        (lambda f: f.update(Severity={"Label": "SEVERE"}), "InvalidInput"),
        (lambda f: f.update(Resources=[]), "InvalidInput"),
        (lambda f: f.update(UpdatedAt="yesterday"), "InvalidInput"),
        # AWS: ProductFields values up to 2,048 characters, keys up to 128
        (lambda f: f["ProductFields"].update({"rootkey/reason": "r" * 2049}), "InvalidInput"),
        (lambda f: f["ProductFields"].update({"k" * 129: "v"}), "InvalidInput"),
    ],
)
def test_the_stand_in_refuses_a_malformed_or_foreign_finding(
    aws: SimulatedAws, hub: Any, change: Any, code: str
) -> None:
    finding = valid_finding()
    change(finding)
    # past botocore's own checks, as a hand-made request (or another SDK) would arrive
    raw = aws.session().client("securityhub", config=BotoConfig(parameter_validation=False))
    answer = raw.batch_import_findings(Findings=[finding])
    assert answer["FailedCount"] == 1
    assert answer["FailedFindings"][0]["ErrorCode"] == code
    assert hub.get_findings()["Findings"] == []


def test_the_stand_in_keeps_the_customers_workflow_on_a_providers_update(hub: Any) -> None:
    finding = valid_finding()
    hub.batch_import_findings(Findings=[finding])
    ident = {"Id": finding["Id"], "ProductArn": finding["ProductArn"]}
    hub.batch_update_findings(FindingIdentifiers=[ident], Workflow={"Status": "NOTIFIED"})
    later = {**finding, "UpdatedAt": asff.timestamp(utcnow() + timedelta(seconds=1))}
    later["Workflow"] = {"Status": "RESOLVED"}  # a provider cannot do this after creation
    hub.batch_import_findings(Findings=[later])
    (stored,) = hub.get_findings()["Findings"]
    assert stored["Workflow"]["Status"] == "NOTIFIED"


def test_the_stand_in_ignores_an_import_older_than_the_stored_finding(hub: Any) -> None:
    """Security Hub user guide, "Determining whether to create or update a finding": an update
    whose UpdatedAt is before the stored finding's is ignored. It is not refused: the answer
    counts it a success, which is why the exporter must not resolve after it."""
    finding = valid_finding()
    hub.batch_import_findings(Findings=[finding])
    earlier = {**finding, "UpdatedAt": asff.timestamp(utcnow() - timedelta(minutes=5))}
    earlier["Compliance"] = {"Status": "PASSED"}
    earlier["RecordState"] = "ARCHIVED"
    answer = hub.batch_import_findings(Findings=[earlier])
    assert (answer["SuccessCount"], answer["FailedCount"]) == (1, 0)
    (stored,) = hub.get_findings()["Findings"]
    assert (stored["Compliance"]["Status"], stored["RecordState"]) == ("FAILED", "ACTIVE")
    assert stored["UpdatedAt"] == finding["UpdatedAt"]


def test_the_stand_in_answers_unknown_findings_and_disabled_hubs(aws: SimulatedAws) -> None:
    client = aws.session().client("securityhub")
    with pytest.raises(ClientError) as caught:
        client.get_findings()
    assert caught.value.response["Error"]["Code"] == "InvalidAccessException"
    client.enable_security_hub()
    answer = client.batch_update_findings(
        FindingIdentifiers=[{"Id": "nope", "ProductArn": PRODUCT_ARN}],
        Workflow={"Status": "RESOLVED"},
    )
    assert answer["ProcessedFindings"] == []
    assert answer["UnprocessedFindings"][0]["ErrorCode"] == "FindingNotFound"
    assert aws_securityhub.route("PATCH", "/findings/batchupdate") == "BatchUpdateFindings"
