"""The control rootkey checks, as the security tools name it: one place for the exports.

Both finding formats (ASFF for Security Hub in ``bot/audit/asff.py``, OCSF in
``bot/audit/ocsf.py``) take the control's names, its severity rule and each account's stable
finding id from here. Pure: no AWS, no I/O.

Severity rules (one per verdict, worst first):

* an active root access key -> CRITICAL (Security Hub rates IAM.4 critical);
* only deactivated keys (still present; delete them to finish) -> HIGH;
* ``error``: the account could not be audited, so a key cannot be ruled out -> MEDIUM;
* compliant -> INFORMATIONAL.
"""

from __future__ import annotations

from enum import StrEnum

from bot.audit.models import Status, Verdict

PRODUCT_NAME = "rootkey"
CONTROL_TITLE = "Ensure no 'root' user account access key exists"
SECURITY_HUB_CONTROL = "IAM.4"
STANDARD = "CIS AWS Foundations Benchmark"
# The control's number in each version of the benchmark that Security Hub maps IAM.4 to.
CIS_CONTROL_IDS = (("v1.2.0", "1.12"), ("v1.4.0", "1.4"), ("v3.0.0", "1.4"))
FINDING_TYPE = "Software and Configuration Checks/Industry and Regulatory Standards/" + STANDARD
REMEDIATION = (
    "Delete the root user's access keys: sign in as the root user (or open a root session "
    "with sts:AssumeRoot where centralized root access is enabled) and delete every key under "
    "Security credentials; deactivating a key is not enough."
)
REMEDIATION_URL = (
    "https://docs.aws.amazon.com/IAM/latest/UserGuide/id_root-user_manage_delete-key.html"
)
# Names the component that checks the control (ASFF GeneratorId), the same in every audit.
GENERATOR_ID = f"{PRODUCT_NAME}/cis-aws-foundations-benchmark/no-root-user-access-key"
UNKNOWN_ACCOUNT = "unknown"  # how a finding names an account no file could give


def account_uid(verdict: Verdict) -> str:
    """The account id, or ``unknown`` for a file that gave none (its verdict has no id)."""
    return verdict.account_id or UNKNOWN_ACCOUNT


class Severity(StrEnum):
    CRITICAL = "CRITICAL"
    HIGH = "HIGH"
    MEDIUM = "MEDIUM"
    INFORMATIONAL = "INFORMATIONAL"


def standards() -> list[str]:
    """``["CIS AWS Foundations Benchmark v1.2.0", ...]``."""
    return [f"{STANDARD} {version}" for version, _ in CIS_CONTROL_IDS]


def requirements() -> list[str]:
    """``["CIS AWS Foundations Benchmark v1.2.0/1.12", ...]``, as Security Hub writes them."""
    return [f"{STANDARD} {version}/{number}" for version, number in CIS_CONTROL_IDS]


def control_label() -> str:
    """The control as one line, with its number in the newest benchmark listed."""
    version, number = CIS_CONTROL_IDS[-1]
    return f"{STANDARD} {version} {number}: {CONTROL_TITLE} (Security Hub {SECURITY_HUB_CONTROL})"


def severity(verdict: Verdict) -> Severity:
    if verdict.status is Status.NONCOMPLIANT:
        if any(k.active for k in verdict.keys) or not verdict.keys:
            # present per the account summary without details: treat as active (it may be)
            return Severity.CRITICAL
        return Severity.HIGH
    if verdict.status is Status.ERROR:
        return Severity.MEDIUM
    return Severity.INFORMATIONAL


def finding_id(verdict: Verdict) -> str:
    """The same id for the same account in every audit, so a later audit updates the finding.

    A credential report without an account id is named by its file instead."""
    if account_uid(verdict) == UNKNOWN_ACCOUNT:
        return f"{PRODUCT_NAME}/root-access-key/{UNKNOWN_ACCOUNT}/{verdict.source}"
    return f"{PRODUCT_NAME}/root-access-key/{verdict.account_id}"


def partition(verdict: Verdict) -> str | None:
    """The AWS partition (``aws``, ``aws-us-gov``, ``aws-cn``) where the evidence names one."""
    root = verdict.evidence.root
    if root is not None and root.arn.startswith("arn:"):
        parts = root.arn.split(":")
        if len(parts) > 1 and parts[1]:
            return parts[1]
    return None
