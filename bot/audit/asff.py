"""Audit results as AWS Security Finding Format (ASFF) findings for Security Hub (pure).

One finding per audited account, imported into the Security Hub of the bot's own account
(the aggregation account) under that account's default product. Security Hub requires, for
the default product, that ``AwsAccountId`` is the importing account; the audited account is
therefore the finding's resource (``AwsAccount``, ``AWS::::Account:<id>``), as in Security
Hub's own IAM.4 findings.

Rules:

* ``Compliance.Status``: compliant -> PASSED, noncompliant -> FAILED, error -> WARNING (could
  not be audited). ``RelatedRequirements`` lists the CIS control ids.
* Only verdicts read live from AWS are findings (``refusal``): a credential report file never
  changes one.
* The finding id is the account's (``bot.audit.control.finding_id``): a later audit updates
  the same finding.
* PASSED -> ``RecordState`` ARCHIVED (the key is gone); anything else -> ACTIVE.
* ``Workflow`` can only be set when the finding is created (Security Hub ignores it in later
  imports): RESOLVED for PASSED, NEW otherwise. A finding that turns PASSED later is resolved
  with BatchUpdateFindings by the sender (``bot/aws/securityhub.py``).
* Severity (``bot.audit.control.severity``) goes into ``FindingProviderFields`` too, the only
  place a provider may change it after creation.
* A verdict older than the finding Security Hub holds is never sent (``stale``): audits run
  side by side and each exports as it ends, so a long audit's early "no key" can arrive after a
  later audit's FAILED for the same account. Security Hub itself ignores an import whose
  ``UpdatedAt`` is before the stored one's, but it still answers success, and resolving the
  workflow after it would hide a FAILED finding. Only a verdict newer than the finding it
  replaces has its workflow resolved (``newer``).
* ``CreatedAt`` and ``FirstObservedAt`` of an existing finding are kept; a new FAILED finding
  dates from its oldest key's creation where the report gives it.
* Texts are clipped to the lengths Security Hub takes (it refuses the whole finding otherwise),
  the cut shown by a final ellipsis: ``Description`` 1,024 characters, ``Title`` 256, each
  ``ProductFields`` value 2,048 (at most 50 pairs, keys up to 128 characters: AWS's
  ``AwsSecurityFinding.ProductFields``). ``ProductFields`` carries the reason in full up to
  that length, beyond the Description's cut.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from bot.audit import control
from bot.audit.models import Status, Verdict

SCHEMA_VERSION = "2018-10-08"
DESCRIPTION_MAX = 1024
TITLE_MAX = 256
RECOMMENDATION_MAX = 512
PRODUCT_FIELD_MAX = 2048
COMPLIANCE_STATUS = {
    Status.COMPLIANT: "PASSED",
    Status.NONCOMPLIANT: "FAILED",
    Status.ERROR: "WARNING",
}


@dataclass(frozen=True)
class Hub:
    """The Security Hub findings go to: the bot's own account, in its region."""

    account_id: str
    region: str
    partition: str = "aws"

    @property
    def product_arn(self) -> str:
        """The account's default product: the one custom findings are imported under."""
        return (
            f"arn:{self.partition}:securityhub:{self.region}:{self.account_id}:"
            f"product/{self.account_id}/default"
        )


def timestamp(value: datetime) -> str:
    """ASFF timestamps: ISO 8601 in UTC with milliseconds, ``2026-06-01T12:00:00.000Z``."""
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def refusal(v: Verdict) -> str | None:
    """Why ``v`` must not be sent to Security Hub, or None if it may be.

    Only a verdict read live from AWS is sent. A credential report file cannot show a key
    created or deactivated since it was generated and may be hours old: its "no key" under the
    account's finding id would resolve the finding a live audit opened while the key exists.
    Security Hub also needs the account id, which a file may not give."""
    if not v.read_live:
        return "not read live from AWS, never sent"
    if control.account_uid(v) == control.UNKNOWN_ACCOUNT:
        return "no account id"
    return None


def parse_timestamp(value: Any) -> datetime | None:
    """An ASFF timestamp as an aware datetime (naive ones read as UTC), None if it is not one."""
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def shown_at(previous: Mapping[str, Any]) -> datetime | None:
    """The latest observation a stored finding shows: its ``UpdatedAt`` or ``LastObservedAt``,
    whichever is later; None if it shows neither."""
    times = [parse_timestamp(previous.get(name)) for name in ("UpdatedAt", "LastObservedAt")]
    return max((t for t in times if t is not None), default=None)


def observed_at(v: Verdict) -> datetime:
    """``v.checked_at`` as its finding's ``UpdatedAt`` reads (``timestamp``: milliseconds)."""
    at = v.checked_at.replace(microsecond=v.checked_at.microsecond // 1000 * 1000)
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


def stale(v: Verdict, previous: Mapping[str, Any] | None) -> str | None:
    """Why ``v`` must not replace ``previous`` (the finding Security Hub holds under its id),
    or None if it may: it was read before what the finding already shows. A verdict as old as
    the finding (the same audit sent again) may be sent."""
    shown = shown_at(previous) if previous else None
    if shown is None or observed_at(v) >= shown:
        return None
    return (
        f"older than the finding ({timestamp(v.checked_at)} before {timestamp(shown)}), never sent"
    )


def newer(v: Verdict, previous: Mapping[str, Any]) -> bool:
    """Whether ``v`` was read after everything ``previous`` shows: Security Hub updates a
    finding only with a later ``UpdatedAt``, so only then is the finding ``v``'s to resolve."""
    shown = shown_at(previous)
    return shown is None or observed_at(v) > shown


def resource_id(account_id: str) -> str:
    return f"AWS::::Account:{account_id}"


def first_seen(v: Verdict) -> datetime:
    """When the problem began, as far as the evidence says: the oldest key's creation."""
    created = [k.last_rotated for k in v.keys if k.last_rotated is not None]
    if v.status is Status.NONCOMPLIANT and created:
        return min(created)
    return v.checked_at


def product_fields(v: Verdict) -> dict[str, str]:
    """The verdict's detail as ``ProductFields``, each value clipped to ``PRODUCT_FIELD_MAX``
    (the keys are fixed and short; two key slots make 14 pairs of the 50 allowed)."""
    fields = {
        f"{control.PRODUCT_NAME}/status": v.status.value,
        f"{control.PRODUCT_NAME}/source": v.source,
        f"{control.PRODUCT_NAME}/audited_account": v.account_id,
        f"{control.PRODUCT_NAME}/reason": v.reason,
    }
    for key in v.keys:
        prefix = f"{control.PRODUCT_NAME}/key{key.slot}"
        fields[f"{prefix}/active"] = "true" if key.active else "false"
        if key.age_days is not None:
            fields[f"{prefix}/age_days"] = str(key.age_days)
        if key.last_used_date is not None:
            fields[f"{prefix}/last_used"] = timestamp(key.last_used_date)
        if key.last_used_service:
            fields[f"{prefix}/last_used_service"] = key.last_used_service
        if key.last_used_region:
            fields[f"{prefix}/last_used_region"] = key.last_used_region
    return {name: clip(value, PRODUCT_FIELD_MAX) for name, value in fields.items()}


def finding(v: Verdict, hub: Hub, previous: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """One account's verdict as one ASFF finding. ``previous`` is the finding Security Hub
    holds under the same id, if any (its creation dates are kept)."""
    severity = control.severity(v).value
    status = COMPLIANCE_STATUS[v.status]
    created = timestamp(first_seen(v))
    first_observed = created
    if previous:
        created = str(previous.get("CreatedAt") or created)
        first_observed = str(previous.get("FirstObservedAt") or first_observed)
    resource: dict[str, Any] = {
        "Type": "AwsAccount",
        "Id": resource_id(v.account_id),
        "Partition": control.partition(v) or hub.partition,
        "Region": hub.region,
    }
    if v.account_name:
        resource["Details"] = {"Other": {"AccountName": clip(v.account_name, 1024)}}
    return {
        "SchemaVersion": SCHEMA_VERSION,
        "Id": control.finding_id(v),
        "ProductArn": hub.product_arn,
        "ProductName": control.PRODUCT_NAME,
        "CompanyName": control.PRODUCT_NAME,
        "GeneratorId": control.GENERATOR_ID,
        "AwsAccountId": hub.account_id,
        "Region": hub.region,
        "Types": [control.FINDING_TYPE],
        "CreatedAt": created,
        "UpdatedAt": timestamp(v.checked_at),
        "FirstObservedAt": first_observed,
        "LastObservedAt": timestamp(v.checked_at),
        "Severity": {"Label": severity, "Original": severity},
        "FindingProviderFields": {
            "Severity": {"Label": severity, "Original": severity},
            "Types": [control.FINDING_TYPE],
        },
        "Title": clip(f"{control.CONTROL_TITLE} ({control.SECURITY_HUB_CONTROL})", TITLE_MAX),
        "Description": clip(f"{v.label}: {v.reason}", DESCRIPTION_MAX),
        "Remediation": {
            "Recommendation": {
                "Text": clip(control.REMEDIATION, RECOMMENDATION_MAX),
                "Url": control.REMEDIATION_URL,
            }
        },
        "ProductFields": product_fields(v),
        "Resources": [resource],
        "Compliance": {
            "Status": status,
            "RelatedRequirements": control.requirements(),
        },
        "RecordState": "ARCHIVED" if status == "PASSED" else "ACTIVE",
        "Workflow": {"Status": "RESOLVED" if status == "PASSED" else "NEW"},
    }
