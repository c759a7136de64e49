"""Audit results as OCSF Compliance Findings (class 2003), one per account (pure).

The event follows the released OCSF schema ``OCSF_VERSION``, the newest version the OCSF
project has released (a "-dev" version is work in progress and never claimed): the base event's
classification (category 2 Findings, class 2003, ``type_uid`` = class * 100 + activity), the
Finding class's ``finding_info`` with a uid that is the same for an account in every audit,
the Compliance Finding's ``compliance`` object (standards, control, requirements, Pass /
Warning / Fail), the cloud profile's ``cloud`` with the account, the account again as the
finding's resource, and the evidence the verdict stands on (never a key id or secret: the
credential report holds neither).

``compliance.status_id``: compliant -> 1 Pass, noncompliant -> 3 Fail, error -> 2 Warning
(OCSF: "did not yield a result due to missing information"). Severity: ``bot.audit.control``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from bot import __version__
from bot.audit import control
from bot.audit.models import AuditResult, Status, Verdict
from bot.audit.render import ordered

OCSF_VERSION = "1.8.0"
CATEGORY = (2, "Findings")
CLASS = (2003, "Compliance Finding")
ACTIVITY_CREATE = (1, "Create")
SEVERITY_IDS = {
    control.Severity.INFORMATIONAL: (1, "Informational"),
    control.Severity.MEDIUM: (3, "Medium"),
    control.Severity.HIGH: (4, "High"),
    control.Severity.CRITICAL: (5, "Critical"),
}
COMPLIANCE_STATUS = {
    Status.COMPLIANT: (1, "Pass"),
    Status.ERROR: (2, "Warning"),
    Status.NONCOMPLIANT: (3, "Fail"),
}
# The Finding's own status: a pass needs no action, anything else is new work.
FINDING_STATUS = {
    Status.COMPLIANT: (4, "Resolved"),
    Status.ERROR: (1, "New"),
    Status.NONCOMPLIANT: (1, "New"),
}
ACCOUNT_TYPE_AWS = (10, "AWS Account")
ROLE_TARGET = (1, "Target")
EVIDENCE_NAME = "IAM account summary and credential report (root user)"


def millis(value: datetime) -> int:
    """OCSF ``timestamp_t``: milliseconds since the epoch."""
    return int(value.timestamp() * 1000)


def account_object(v: Verdict) -> dict[str, Any]:
    account: dict[str, Any] = {
        "uid": control.account_uid(v),
        "type_id": ACCOUNT_TYPE_AWS[0],
        "type": ACCOUNT_TYPE_AWS[1],
    }
    if v.account_name:
        account["name"] = v.account_name
    return account


def resource_object(v: Verdict) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "uid": control.account_uid(v),
        "name": v.account_name or control.account_uid(v),
        "type": "AwsAccount",
        "role_id": ROLE_TARGET[0],
        "role": ROLE_TARGET[1],
    }
    part = control.partition(v)
    if part:
        resource["cloud_partition"] = part
    return resource


def evidence_data(v: Verdict) -> dict[str, Any]:
    return {
        "source": v.source,
        "keys": [k.to_dict() for k in v.keys],
        "root_mfa_active": v.root_mfa_active,
        **v.evidence.to_dict(),
    }


def finding(v: Verdict) -> dict[str, Any]:
    """One account's verdict as one OCSF Compliance Finding event."""
    severity_id, severity_name = SEVERITY_IDS[control.severity(v)]
    status_id, status_name = COMPLIANCE_STATUS[v.status]
    finding_status_id, finding_status = FINDING_STATUS[v.status]
    # no region: IAM and the root user are global to the account
    cloud: dict[str, Any] = {"provider": "AWS", "account": account_object(v)}
    part = control.partition(v)
    if part:
        cloud["cloud_partition"] = part
    return {
        "activity_id": ACTIVITY_CREATE[0],
        "activity_name": ACTIVITY_CREATE[1],
        "category_uid": CATEGORY[0],
        "category_name": CATEGORY[1],
        "class_uid": CLASS[0],
        "class_name": CLASS[1],
        "type_uid": CLASS[0] * 100 + ACTIVITY_CREATE[0],
        "type_name": f"{CLASS[1]}: {ACTIVITY_CREATE[1]}",
        "time": millis(v.checked_at),
        "severity_id": severity_id,
        "severity": severity_name,
        "status_id": finding_status_id,
        "status": finding_status,
        "message": f"{v.label}: {v.reason}",
        "metadata": {
            "version": OCSF_VERSION,
            "product": {
                "name": control.PRODUCT_NAME,
                "vendor_name": control.PRODUCT_NAME,
                "version": __version__,
            },
            "profiles": ["cloud"],
        },
        "cloud": cloud,
        "finding_info": {
            "uid": control.finding_id(v),
            "title": control.CONTROL_TITLE,
            "desc": v.reason,
            "types": [control.FINDING_TYPE],
            "last_seen_time": millis(v.checked_at),
        },
        "compliance": {
            "standards": control.standards(),
            "control": control.control_label(),
            "requirements": control.requirements(),
            "status_id": status_id,
            "status": status_name,
            "status_code": v.status.value,
            "status_details": [v.reason],
        },
        "resources": [resource_object(v)],
        "evidences": [{"name": EVIDENCE_NAME, "data": evidence_data(v)}],
        "remediation": {
            "desc": control.REMEDIATION,
            "references": [control.REMEDIATION_URL],
        },
    }


def findings(result: AuditResult | Iterable[Verdict]) -> list[dict[str, Any]]:
    """Every account's finding, worst first (the order of the other formats)."""
    return [finding(v) for v in ordered(result)]


def to_ocsf(result: AuditResult | Iterable[Verdict]) -> str:
    """A JSON array of OCSF Compliance Findings, one per account."""
    return json.dumps(findings(result), indent=2) + "\n"
