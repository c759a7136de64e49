"""Send audit verdicts to AWS Security Hub: BatchImportFindings in ASFF (``bot/audit/asff.py``).

The findings go to the Security Hub of the credentials' own account and region. Only verdicts
read live from AWS are sent (``bot.audit.asff.refusal``); the others are listed as skipped.
Per export:

1. ``sts:GetCallerIdentity`` names the account and partition (the default product's ARN).
2. ``GetFindings`` (filtered on that product and rootkey's generator) reads the findings sent
   before, to keep their creation dates and to see their workflow. A verdict read before what
   its finding already shows (``bot.audit.asff.stale``: a long audit ending after a later one)
   is listed as skipped, "older than the finding", and neither sent nor resolved.
3. ``BatchImportFindings`` in batches of at most 100 (Security Hub's limit). A throttled batch
   is sent again after a growing pause, up to ``attempts`` times; the findings Security Hub
   refuses come back one by one in the report with its error code.
4. ``BatchUpdateFindings`` sets the workflow to RESOLVED for findings that turned PASSED and
   were NEW or NOTIFIED (a provider cannot change the workflow through an import), and only
   where the verdict is newer than the finding it replaced (Security Hub ignores an import
   that is not, yet answers success); a finding someone SUPPRESSED is left as it is.

Exports through one exporter run one at a time (a lock): each reads the findings, imports and
resolves before the next reads, so two audits ending together cannot both judge against the
findings as they were before either.

Nothing is raised for a refused finding or batch: the ``ExportReport`` says what failed and
why. No AWS call happens at import time.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import boto3
from botocore.config import Config as BotoConfig
from botocore.exceptions import BotoCoreError, ClientError
from botocore.parsers import ResponseParserError

from bot.audit import asff, control
from bot.audit.models import Verdict
from bot.aws.iam import AWS_CALL_ERRORS
from bot.config import Config

BATCH_LIMIT = 100  # findings per BatchImportFindings / BatchUpdateFindings request
THROTTLING = frozenset(
    {
        "TooManyRequestsException",
        "ThrottlingException",
        "Throttling",
        "LimitExceededException",
        "RequestLimitExceeded",
    }
)
RESOLVABLE_WORKFLOW = frozenset({"NEW", "NOTIFIED"})


@dataclass(frozen=True)
class Failure:
    """One finding Security Hub did not take."""

    account_id: str
    finding_id: str
    code: str
    message: str

    def line(self) -> str:
        return f"{self.account_id}: {self.code}: {self.message}"


@dataclass
class ExportReport:
    imported: int = 0  # findings Security Hub accepted (created or updated)
    created: int = 0
    resolved: int = 0  # findings whose workflow was set to RESOLVED
    failed: list[Failure] = field(default_factory=list)
    # verdicts not sent: not read live, no account id, older than the finding
    skipped: list[str] = field(default_factory=list)
    requests: int = 0  # Security Hub requests sent, retries included
    error: str | None = None  # the export as a whole could not run (nothing was sent)

    @property
    def ok(self) -> bool:
        return not self.failed and self.error is None

    def failure_lines(self) -> list[str]:
        lines = [f"Security Hub: {self.error}"] if self.error else []
        lines += [f"Security Hub: {f.line()}" for f in self.failed]
        return lines

    def summary(self) -> str:
        if self.error:
            return f"Security Hub: nothing sent: {self.error}"
        parts = [f"{self.imported} imported ({self.created} new)", f"{self.resolved} resolved"]
        if self.failed:
            parts.append(f"{len(self.failed)} failed")
        if self.skipped:
            parts.append(f"{len(self.skipped)} skipped")
        return "Security Hub: " + ", ".join(parts)


class SecurityHubExportError(Exception):
    """The export could not start (no credentials, the caller cannot be identified)."""


def batches(items: Sequence[Any], size: int = BATCH_LIMIT) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code") or "Unknown")


def error_message(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Message") or "")


class SecurityHubExporter:
    """Sends verdicts to the Security Hub of ``session``'s account (``region``)."""

    def __init__(
        self,
        session: boto3.session.Session,
        region: str,
        *,
        attempts: int = 6,
        backoff: float = 0.5,
        max_pause: float = 8.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        # Retries are ours (below), so that a throttled batch is retried as a whole and
        # counted; botocore retries only connection errors here.
        config = BotoConfig(
            region_name=region,
            retries={"mode": "standard", "total_max_attempts": 1},
            connect_timeout=10,
            read_timeout=30,
            user_agent_extra="rootkey",
        )
        self.region = region
        self.sts = session.client("sts", config=config)
        self.hub_client = session.client("securityhub", config=config)
        self.attempts = max(1, attempts)
        self.backoff = backoff
        self.max_pause = max_pause
        self.sleep = sleep
        self.lock = threading.Lock()  # one export at a time: read, import, resolve

    @classmethod
    def from_config(cls, config: Config) -> SecurityHubExporter:
        """The standard credential chain, in ``AWS_REGION``: the bot's own account's hub."""
        return cls(boto3.session.Session(region_name=config.aws_region), config.aws_region)

    # ------------------------------------------------------------------ public

    def hub(self) -> asff.Hub:
        try:
            identity = self.sts.get_caller_identity()
        except AWS_CALL_ERRORS as exc:
            raise SecurityHubExportError(f"cannot identify the AWS account: {exc}") from None
        arn = str(identity.get("Arn", ""))
        partition = arn.split(":")[1] if arn.startswith("arn:") and ":" in arn else "aws"
        return asff.Hub(str(identity["Account"]), self.region, partition or "aws")

    def export(self, verdicts: Iterable[Verdict]) -> ExportReport:
        """Send every verdict with an account id; never raises for what AWS answers."""
        report = ExportReport()
        try:
            with self.lock:
                self.send(list(verdicts), report)
        except SecurityHubExportError as exc:
            report.error = str(exc)
        except ClientError as exc:
            report.error = f"{error_code(exc)}: {error_message(exc)}"
        except (BotoCoreError, ResponseParserError) as exc:
            report.error = f"{type(exc).__name__}: {exc}"
        return report

    def send(self, verdicts: list[Verdict], report: ExportReport) -> None:
        chosen: list[Verdict] = []
        for v in verdicts:
            refused = asff.refusal(v)
            if refused is None:
                chosen.append(v)
            else:
                report.skipped.append(f"{v.label} ({v.source}): {refused}")
        if not chosen:
            return
        hub = self.hub()
        previous = self.existing(hub, report)
        current: list[Verdict] = []
        for v in chosen:
            older = asff.stale(v, previous.get(control.finding_id(v)))
            if older is None:
                current.append(v)
            else:  # a later audit's finding stands: never sent, never resolved
                report.skipped.append(f"{v.label} ({v.source}): {older}")
        if not current:
            return
        findings = [asff.finding(v, hub, previous.get(control.finding_id(v))) for v in current]
        by_id = {f["Id"]: v for f, v in zip(findings, current, strict=True)}
        accepted = self.import_findings(findings, by_id, report)
        report.created = sum(1 for fid in accepted if fid not in previous)
        to_resolve = [
            f
            for f in findings
            if f["Id"] in accepted
            and f["Compliance"]["Status"] == "PASSED"
            and f["Id"] in previous
            and workflow(previous[f["Id"]]) in RESOLVABLE_WORKFLOW
            and asff.newer(by_id[f["Id"]], previous[f["Id"]])
        ]
        if to_resolve:
            self.resolve(hub, to_resolve, by_id, report)

    # ------------------------------------------------------------------ steps

    def existing(self, hub: asff.Hub, report: ExportReport) -> dict[str, dict[str, Any]]:
        """The findings rootkey sent to this hub before, by id."""
        filters = {
            "ProductArn": [{"Value": hub.product_arn, "Comparison": "EQUALS"}],
            "GeneratorId": [{"Value": control.GENERATOR_ID, "Comparison": "EQUALS"}],
        }
        found: dict[str, dict[str, Any]] = {}
        token: str | None = None
        while True:
            kwargs: dict[str, Any] = {"Filters": filters, "MaxResults": 100}
            if token:
                kwargs["NextToken"] = token
            page = self.call(report, self.hub_client.get_findings, **kwargs)
            for item in page.get("Findings", []):
                # the filter is the service's; check it here too
                if item.get("ProductArn") == hub.product_arn:
                    found[str(item["Id"])] = item
            token = page.get("NextToken")
            if not token:
                return found

    def import_findings(
        self,
        findings: list[dict[str, Any]],
        by_id: dict[str, Verdict],
        report: ExportReport,
    ) -> set[str]:
        accepted: set[str] = set()
        for batch in batches(findings):
            ids = [f["Id"] for f in batch]
            try:
                answer = self.call(report, self.hub_client.batch_import_findings, Findings=batch)
            except ClientError as exc:
                for fid in ids:
                    report.failed.append(
                        Failure(by_id[fid].account_id, fid, error_code(exc), error_message(exc))
                    )
                continue
            refused = {str(f.get("Id")): f for f in answer.get("FailedFindings", [])}
            for fid in ids:
                if fid in refused:
                    item = refused[fid]
                    report.failed.append(
                        Failure(
                            by_id[fid].account_id,
                            fid,
                            str(item.get("ErrorCode") or "Unknown"),
                            str(item.get("ErrorMessage") or ""),
                        )
                    )
                else:
                    accepted.add(fid)
            report.imported += len(ids) - len(refused.keys() & set(ids))
        return accepted

    def resolve(
        self,
        hub: asff.Hub,
        findings: list[dict[str, Any]],
        by_id: dict[str, Verdict],
        report: ExportReport,
    ) -> None:
        for batch in batches(findings):
            identifiers = [{"Id": f["Id"], "ProductArn": hub.product_arn} for f in batch]
            try:
                answer = self.call(
                    report,
                    self.hub_client.batch_update_findings,
                    FindingIdentifiers=identifiers,
                    Workflow={"Status": "RESOLVED"},
                )
            except ClientError as exc:
                for f in batch:
                    report.failed.append(
                        Failure(
                            by_id[f["Id"]].account_id,
                            f["Id"],
                            error_code(exc),
                            f"imported, but the workflow was not resolved: {error_message(exc)}",
                        )
                    )
                continue
            for item in answer.get("UnprocessedFindings", []):
                fid = str(item.get("FindingIdentifier", {}).get("Id"))
                if fid in by_id:
                    report.failed.append(
                        Failure(
                            by_id[fid].account_id,
                            fid,
                            str(item.get("ErrorCode") or "Unknown"),
                            "imported, but the workflow was not resolved: "
                            + str(item.get("ErrorMessage") or ""),
                        )
                    )
            report.resolved += len(answer.get("ProcessedFindings", []))

    # ------------------------------------------------------------------ retries

    def call(self, report: ExportReport, method: Callable[..., Any], **kwargs: Any) -> Any:
        """``method(**kwargs)``, sent again while Security Hub throttles it (with a pause that
        doubles, up to ``max_pause``), at most ``attempts`` times in all."""
        pause = self.backoff
        for attempt in range(1, self.attempts + 1):
            report.requests += 1
            try:
                return method(**kwargs)
            except ClientError as exc:
                if error_code(exc) not in THROTTLING or attempt == self.attempts:
                    raise
            self.sleep(pause)
            pause = min(self.max_pause, pause * 2)
        raise AssertionError("unreachable")  # pragma: no cover


def workflow(finding: dict[str, Any]) -> str:
    return str((finding.get("Workflow") or {}).get("Status") or finding.get("WorkflowState") or "")
