"""AWS Security Hub for the simulated AWS: moto's findings store, with the rules AWS enforces.

moto 5.2 stores whatever BatchImportFindings sends (no required attributes, no 100-finding
limit, no hub-enabled check, the finding replaced as a whole on update), ignores GetFindings'
filters and has no BatchUpdateFindings. This module answers those three operations itself,
keeping the findings in moto's backend (so moto's reset clears them), as AWS documents them:

BatchImportFindings
  * 1 to 100 findings per request, else InvalidInputException (the whole request).
  * Per finding, refused in ``FailedFindings`` (the others go through):
    - ``InvalidAccess`` when the caller's Security Hub is not enabled in that region;
    - ``InvalidAccess`` when ``AwsAccountId`` is not the caller's account or ``ProductArn`` is
      not the caller's default product (``arn:<partition>:securityhub:<region>:<account>:
      product/<account>/default``): a custom integration imports only its own findings;
    - ``InvalidInput`` when a required attribute is missing (SchemaVersion, Id, ProductArn,
      GeneratorId, AwsAccountId, CreatedAt, UpdatedAt, Title, Description, Resources, and
      Severity and Types either at the top or in FindingProviderFields) or malformed (schema
      version 2018-10-08; Title <= 256, Description <= 1024, Id and GeneratorId <= 512
      characters; Types as namespace/category/classifier with a valid namespace; Severity
      label, Compliance status, RecordState and Workflow status from their lists; 1 to 32
      Resources with Type and Id; ISO 8601 timestamps; ProductFields at most 50 pairs of
      strings, keys up to 128 and values up to 2,048 characters; 240 KB);
    - ``InvalidInput`` for a finding a test asked to refuse (``SimulatedAws.refuse_finding``).
  * An existing finding (same Id and ProductArn) is updated only by an import whose
    ``UpdatedAt`` is later than the stored one's (Security Hub user guide, "Determining whether
    to create or update a finding": an update whose UpdatedAt is before the existing finding's
    is ignored). The guide says "ignored", not refused, and nothing of an equal ``UpdatedAt``;
    here both are ignored and counted a success (not in ``FailedFindings``), the stricter
    reading: a sender cannot learn from the answer that nothing changed.
  * An update changes everything but what belongs to the customer: Workflow, Note,
    UserDefinedFields and VerificationState are kept; Severity and Types follow
    FindingProviderFields unless a customer changed them with BatchUpdateFindings. A RESOLVED
    or NOTIFIED workflow goes back to NEW when the record state turns ACTIVE again or the
    compliance status leaves PASSED.
  * A new finding gets Workflow NEW unless the import sets one, RecordState ACTIVE unless set,
    and ``ProductName`` Default / ``CompanyName`` Personal unless set.

BatchUpdateFindings
  * 1 to 100 identifiers; hub enabled (else InvalidAccessException); each finding must exist
    in the caller's hub (else ``FindingNotFound`` in ``UnprocessedFindings``). Sets Workflow,
    Note, Severity, VerificationState, Types, UserDefinedFields; never UpdatedAt.

GetFindings
  * Hub enabled (else InvalidAccessException); MaxResults 1 to 100; NextToken paging.
  * Filters on Id, ProductArn, GeneratorId, AwsAccountId, Region, Title, RecordState,
    ComplianceStatus, WorkflowStatus, SeverityLabel, ResourceId, ResourceType with EQUALS,
    PREFIX, CONTAINS and their NOT_ forms (values of one attribute: any positive one matches,
    every negative one must hold; attributes: all must hold); at most 10 attributes and 20
    values each. A filter attribute this simulation does not know is refused (never ignored).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

Answer = tuple[int, dict[str, str], bytes]

SCHEMA_VERSION = "2018-10-08"
ROUTES = {
    ("POST", "/findings/import"): "BatchImportFindings",
    ("PATCH", "/findings/batchupdate"): "BatchUpdateFindings",
    ("POST", "/findings"): "GetFindings",
    ("POST", "/accounts"): "EnableSecurityHub",
    ("GET", "/accounts"): "DescribeHub",
    ("DELETE", "/accounts"): "DisableSecurityHub",
}
HANDLED = frozenset({"BatchImportFindings", "BatchUpdateFindings", "GetFindings"})
REQUIRED = (
    "SchemaVersion",
    "Id",
    "ProductArn",
    "GeneratorId",
    "AwsAccountId",
    "CreatedAt",
    "UpdatedAt",
    "Title",
    "Description",
    "Resources",
)
NAMESPACES = frozenset(
    {
        "Software and Configuration Checks",
        "TTPs",
        "Effects",
        "Unusual Behaviors",
        "Sensitive Data Identifications",
    }
)
SEVERITY_LABELS = frozenset({"INFORMATIONAL", "LOW", "MEDIUM", "HIGH", "CRITICAL"})
COMPLIANCE_STATUSES = frozenset({"PASSED", "WARNING", "FAILED", "NOT_AVAILABLE"})
RECORD_STATES = frozenset({"ACTIVE", "ARCHIVED"})
WORKFLOW_STATUSES = frozenset({"NEW", "NOTIFIED", "RESOLVED", "SUPPRESSED"})
CUSTOMER_FIELDS = ("Workflow", "WorkflowState", "Note", "UserDefinedFields", "VerificationState")
MAX_FINDING_BYTES = 240 * 1024
# AwsSecurityFinding.ProductFields: "up to 50 key-value pairs ... the key can contain up to 128
# characters, and the value can contain up to 2048 characters" (Security Hub API reference)
PRODUCT_FIELDS_MAX = 50
PRODUCT_FIELD_KEY_MAX = 128
PRODUCT_FIELD_VALUE_MAX = 2048
COMPARISONS = frozenset(
    {"EQUALS", "NOT_EQUALS", "PREFIX", "PREFIX_NOT_EQUALS", "CONTAINS", "NOT_CONTAINS"}
)
NEGATIVE = frozenset({"NOT_EQUALS", "PREFIX_NOT_EQUALS", "NOT_CONTAINS"})
FILTER_FIELDS = {
    "Id": lambda f: [f.get("Id")],
    "ProductArn": lambda f: [f.get("ProductArn")],
    "GeneratorId": lambda f: [f.get("GeneratorId")],
    "AwsAccountId": lambda f: [f.get("AwsAccountId")],
    "Region": lambda f: [f.get("Region")],
    "Title": lambda f: [f.get("Title")],
    "RecordState": lambda f: [f.get("RecordState")],
    "ComplianceStatus": lambda f: [(f.get("Compliance") or {}).get("Status")],
    "WorkflowStatus": lambda f: [(f.get("Workflow") or {}).get("Status")],
    "SeverityLabel": lambda f: [(f.get("Severity") or {}).get("Label")],
    "ResourceId": lambda f: [r.get("Id") for r in f.get("Resources") or []],
    "ResourceType": lambda f: [r.get("Type") for r in f.get("Resources") or []],
}


class Refused(Exception):
    """One finding refused: its ``FailedFindings`` entry."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def route(method: str, path: str) -> str | None:
    return ROUTES.get((method.upper(), path.rstrip("/") or "/"))


def json_answer(payload: dict[str, Any], status: int = 200) -> Answer:
    return status, {"Content-Type": "application/json"}, json.dumps(payload).encode()


def error(code: str, message: str, status: int) -> Answer:
    body = json.dumps({"__type": code, "message": message, "Message": message}).encode()
    return status, {"Content-Type": "application/json", "x-amzn-ErrorType": code}, body


def now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + "000Z"


def backend(account_id: str, region: str) -> Any:
    from moto.securityhub.models import securityhub_backends

    return securityhub_backends[account_id][region]


def not_subscribed(account_id: str) -> Answer:
    return error(
        "InvalidAccessException",
        f"Account {account_id} is not subscribed to AWS Security Hub",
        401,
    )


def handle(
    action: str,
    account_id: str,
    region: str,
    partition: str,
    body: bytes,
    refusals: Mapping[str, str] | None = None,
) -> Answer:
    """One call; ``refusals`` maps finding ids to the message of an injected refusal."""
    try:
        params = json.loads(body or b"{}")
    except ValueError:
        return error("InvalidInputException", "The request body is not valid JSON", 400)
    hub = backend(account_id, region)
    if action == "BatchImportFindings":
        return batch_import(hub, account_id, region, partition, params, refusals or {})
    if action == "BatchUpdateFindings":
        return batch_update(hub, account_id, params)
    return get_findings(hub, account_id, params)


# --------------------------------------------------------------------------- import


def default_product_arn(account_id: str, region: str, partition: str) -> str:
    return f"arn:{partition}:securityhub:{region}:{account_id}:product/{account_id}/default"


def check_timestamp(name: str, value: Any) -> None:
    if not isinstance(value, str):
        raise Refused("InvalidInput", f"{name} must be an ISO 8601 timestamp")
    try:
        datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise Refused("InvalidInput", f"{name} {value!r} is not an ISO 8601 timestamp") from None


def check_length(finding: dict[str, Any], name: str, limit: int) -> None:
    value = finding.get(name)
    if not isinstance(value, str) or not value:
        raise Refused("InvalidInput", f"{name} must be a non-empty string")
    if len(value) > limit:
        raise Refused("InvalidInput", f"{name} must be at most {limit} characters")


def check_types(types: Any) -> None:
    if not isinstance(types, list) or not types:
        raise Refused("InvalidInput", "Types must be a non-empty list")
    for item in types:
        parts = item.split("/") if isinstance(item, str) else []
        if not 1 <= len(parts) <= 3 or parts[0] not in NAMESPACES:
            raise Refused(
                "InvalidInput",
                f"Type {item!r} is not namespace/category/classifier with a valid namespace",
            )


def check_severity(severity: Any) -> None:
    if not isinstance(severity, dict) or severity.get("Label") not in SEVERITY_LABELS:
        raise Refused("InvalidInput", f"Severity.Label must be one of {sorted(SEVERITY_LABELS)}")


def check_product_fields(fields: Any) -> None:
    if fields is None:
        return
    if (
        not isinstance(fields, dict)
        or len(fields) > PRODUCT_FIELDS_MAX
        or not all(isinstance(k, str) and isinstance(v, str) for k, v in fields.items())
    ):
        raise Refused("InvalidInput", "ProductFields is a map of at most 50 strings")
    for key, value in fields.items():
        if len(key) > PRODUCT_FIELD_KEY_MAX:
            raise Refused("InvalidInput", f"ProductFields key {key[:40]!r}… is over 128 characters")
        if len(value) > PRODUCT_FIELD_VALUE_MAX:
            raise Refused("InvalidInput", f"ProductFields value of {key!r} is over 2048 characters")


def validate(finding: Any, caller: str, region: str, partition: str) -> dict[str, Any]:
    if not isinstance(finding, dict):
        raise Refused("InvalidInput", "A finding must be an object")
    if len(json.dumps(finding).encode()) > MAX_FINDING_BYTES:
        raise Refused("InvalidInput", "The finding is larger than 240 KB")
    for name in REQUIRED:
        if name not in finding:
            raise Refused(
                "InvalidInput",
                "Finding does not adhere to Amazon Finding Format. "
                f"data should have required property '{name}'",
            )
    provider = finding.get("FindingProviderFields") or {}
    if "Severity" not in finding and "Severity" not in provider:
        raise Refused("InvalidInput", "Severity is required (or FindingProviderFields.Severity)")
    if "Types" not in finding and "Types" not in provider:
        raise Refused("InvalidInput", "Types is required (or FindingProviderFields.Types)")
    if finding["SchemaVersion"] != SCHEMA_VERSION:
        raise Refused("InvalidInput", f"SchemaVersion must be {SCHEMA_VERSION}")
    if finding["AwsAccountId"] != caller:
        raise Refused(
            "InvalidAccess",
            f"AwsAccountId {finding['AwsAccountId']!r} is not the importing account {caller}",
        )
    if finding["ProductArn"] != default_product_arn(caller, region, partition):
        raise Refused(
            "InvalidAccess",
            f"Account {caller} cannot import findings for product {finding['ProductArn']!r}",
        )
    check_length(finding, "Id", 512)
    check_length(finding, "GeneratorId", 512)
    check_length(finding, "Title", 256)
    check_length(finding, "Description", 1024)
    for name in ("CreatedAt", "UpdatedAt", "FirstObservedAt", "LastObservedAt"):
        if name in finding:
            check_timestamp(name, finding[name])
    for types in (finding.get("Types"), provider.get("Types")):
        if types is not None:
            check_types(types)
    for severity in (finding.get("Severity"), provider.get("Severity")):
        if severity is not None:
            check_severity(severity)
    resources = finding["Resources"]
    if not isinstance(resources, list) or not 1 <= len(resources) <= 32:
        raise Refused("InvalidInput", "Resources must hold 1 to 32 resources")
    for resource in resources:
        if not isinstance(resource, dict) or not all(
            isinstance(resource.get(k), str) and resource.get(k) for k in ("Type", "Id")
        ):
            raise Refused("InvalidInput", "Every resource needs a Type and an Id")
    compliance = finding.get("Compliance")
    if compliance is not None:
        if compliance.get("Status") not in COMPLIANCE_STATUSES:
            raise Refused("InvalidInput", "Compliance.Status is not a valid status")
        if len(compliance.get("RelatedRequirements") or []) > 32:
            raise Refused("InvalidInput", "Compliance.RelatedRequirements holds at most 32")
    if "RecordState" in finding and finding["RecordState"] not in RECORD_STATES:
        raise Refused("InvalidInput", "RecordState must be ACTIVE or ARCHIVED")
    workflow = finding.get("Workflow")
    if workflow is not None and workflow.get("Status") not in WORKFLOW_STATUSES:
        raise Refused("InvalidInput", "Workflow.Status is not a valid status")
    check_product_fields(finding.get("ProductFields"))
    remediation = ((finding.get("Remediation") or {}).get("Recommendation") or {}).get("Text")
    if remediation is not None and len(remediation) > 512:
        raise Refused("InvalidInput", "Remediation.Recommendation.Text is at most 512 characters")
    return finding


def provider_values(incoming: dict[str, Any]) -> dict[str, Any]:
    """What the provider sets for Severity and Types (FindingProviderFields first)."""
    provider = incoming.get("FindingProviderFields") or {}
    return {
        name: provider.get(name, incoming.get(name))
        for name in ("Severity", "Types")
        if provider.get(name, incoming.get(name)) is not None
    }


def create(incoming: dict[str, Any]) -> dict[str, Any]:
    data = json.loads(json.dumps(incoming))
    data.update(provider_values(incoming))
    data.setdefault(
        "FindingProviderFields",
        {k: data[k] for k in ("Severity", "Types") if k in data},
    )
    data.setdefault("Workflow", {"Status": "NEW"})
    data["WorkflowState"] = data["Workflow"]["Status"]
    data.setdefault("RecordState", "ACTIVE")
    data.setdefault("ProductName", "Default")
    data.setdefault("CompanyName", "Personal")
    data["ProcessedAt"] = now_iso()
    data["RootkeySimCustomerUpdated"] = []
    return data


def update(existing: dict[str, Any], incoming: dict[str, Any]) -> dict[str, Any]:
    data = json.loads(json.dumps(incoming))
    for name in CUSTOMER_FIELDS:  # the provider cannot change these after creation
        data.pop(name, None)
        if name in existing:
            data[name] = existing[name]
    customer = list(existing.get("RootkeySimCustomerUpdated") or [])
    for name, value in provider_values(incoming).items():
        data[name] = existing[name] if name in customer and name in existing else value
    data["RootkeySimCustomerUpdated"] = customer
    for name in ("ProductName", "CompanyName"):
        data.setdefault(name, existing.get(name))
    data.setdefault("RecordState", existing.get("RecordState", "ACTIVE"))
    was_passed = (existing.get("Compliance") or {}).get("Status") == "PASSED"
    now_passed = (data.get("Compliance") or {}).get("Status") == "PASSED"
    reactivated = existing.get("RecordState") == "ARCHIVED" and data["RecordState"] == "ACTIVE"
    status = (data.get("Workflow") or {}).get("Status", "NEW")
    if status in {"NOTIFIED", "RESOLVED"} and (reactivated or (was_passed and not now_passed)):
        data["Workflow"] = {"Status": "NEW"}
        data["WorkflowState"] = "NEW"
    data["ProcessedAt"] = now_iso()
    return data


def instant(value: str) -> datetime:
    """A timestamp ``validate`` accepted, as an aware datetime (naive ones read as UTC)."""
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def supersedes(existing: dict[str, Any], incoming: dict[str, Any]) -> bool:
    """Whether ``incoming`` updates ``existing``: only if its ``UpdatedAt`` is later."""
    return instant(incoming["UpdatedAt"]) > instant(str(existing.get("UpdatedAt")))


def find(hub: Any, finding_id: str, product_arn: str) -> Any:
    for item in hub.findings:
        if item.id == finding_id and item.data.get("ProductArn") == product_arn:
            return item
    return None


def batch_import(
    hub: Any,
    caller: str,
    region: str,
    partition: str,
    params: dict[str, Any],
    refusals: Mapping[str, str],
) -> Answer:
    from moto.securityhub.models import Finding

    findings = params.get("Findings")
    if not isinstance(findings, list) or not 1 <= len(findings) <= 100:
        return error("InvalidInputException", "Findings must hold between 1 and 100 findings", 400)
    failed: list[dict[str, str]] = []
    for raw in findings:
        fid = str(raw.get("Id", "")) if isinstance(raw, dict) else ""
        try:
            if not hub.enabled:
                raise Refused(
                    "InvalidAccess", f"Account {caller} is not subscribed to AWS Security Hub"
                )
            if fid in refusals:
                raise Refused("InvalidInput", refusals[fid])
            incoming = validate(raw, caller, region, partition)
        except Refused as refused:
            failed.append({"Id": fid, "ErrorCode": refused.code, "ErrorMessage": refused.message})
            continue
        existing = find(hub, incoming["Id"], incoming["ProductArn"])
        if existing is None:
            hub.findings.append(Finding(incoming["Id"], create(incoming)))
        elif supersedes(existing.data, incoming):
            existing.data = update(existing.data, incoming)
    return json_answer(
        {
            "FailedCount": len(failed),
            "SuccessCount": len(findings) - len(failed),
            "FailedFindings": failed,
        }
    )


# --------------------------------------------------------------------------- update


def batch_update(hub: Any, caller: str, params: dict[str, Any]) -> Answer:
    identifiers = params.get("FindingIdentifiers")
    if not isinstance(identifiers, list) or not 1 <= len(identifiers) <= 100:
        return error(
            "InvalidInputException", "FindingIdentifiers must hold between 1 and 100 items", 400
        )
    if not hub.enabled:
        return not_subscribed(caller)
    workflow = params.get("Workflow")
    if workflow is not None and workflow.get("Status") not in WORKFLOW_STATUSES:
        return error("InvalidInputException", "Workflow.Status is not a valid status", 400)
    severity = params.get("Severity")
    if severity is not None and severity.get("Label") not in SEVERITY_LABELS:
        return error("InvalidInputException", "Severity.Label is not a valid label", 400)
    processed: list[dict[str, str]] = []
    unprocessed: list[dict[str, Any]] = []
    for ident in identifiers:
        item = find(hub, str(ident.get("Id")), str(ident.get("ProductArn")))
        if item is None:
            unprocessed.append(
                {
                    "FindingIdentifier": ident,
                    "ErrorCode": "FindingNotFound",
                    "ErrorMessage": "Finding Not Found",
                }
            )
            continue
        data = item.data
        customer = set(data.get("RootkeySimCustomerUpdated") or [])
        if workflow is not None:
            data["Workflow"] = {"Status": workflow["Status"]}
            data["WorkflowState"] = workflow["Status"]
        if severity is not None:
            data["Severity"] = {**(data.get("Severity") or {}), "Label": severity["Label"]}
            customer.add("Severity")
        if params.get("Types") is not None:
            data["Types"] = params["Types"]
            customer.add("Types")
        for name in ("Note", "VerificationState", "UserDefinedFields"):
            if params.get(name) is not None:
                data[name] = params[name]
        data["RootkeySimCustomerUpdated"] = sorted(customer)
        processed.append({"Id": item.id, "ProductArn": data["ProductArn"]})
    return json_answer({"ProcessedFindings": processed, "UnprocessedFindings": unprocessed})


# --------------------------------------------------------------------------- get


def matches(values: list[Any], condition: dict[str, Any]) -> bool:
    wanted = str(condition.get("Value", ""))
    how = condition.get("Comparison")
    texts = [str(v) for v in values if v is not None]
    if how == "EQUALS":
        return wanted in texts
    if how == "PREFIX":
        return any(t.startswith(wanted) for t in texts)
    if how == "CONTAINS":
        return any(wanted in t for t in texts)
    if how == "NOT_EQUALS":
        return wanted not in texts
    if how == "PREFIX_NOT_EQUALS":
        return not any(t.startswith(wanted) for t in texts)
    return not any(wanted in t for t in texts)  # NOT_CONTAINS


def selected(finding: dict[str, Any], filters: dict[str, list[dict[str, Any]]]) -> bool:
    for name, conditions in filters.items():
        values = FILTER_FIELDS[name](finding)
        negative = [c for c in conditions if c.get("Comparison") in NEGATIVE]
        positive = [c for c in conditions if c.get("Comparison") not in NEGATIVE]
        if positive and not any(matches(values, c) for c in positive):
            return False
        if not all(matches(values, c) for c in negative):
            return False
    return True


def visible(data: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if not k.startswith("RootkeySim")}


def get_findings(hub: Any, caller: str, params: dict[str, Any]) -> Answer:
    if not hub.enabled:
        return not_subscribed(caller)
    limit = params.get("MaxResults", 100)
    if not isinstance(limit, int) or not 1 <= limit <= 100:
        return error("InvalidInputException", "MaxResults must be a number from 1 to 100", 400)
    filters = params.get("Filters") or {}
    if len(filters) > 10:
        return error("InvalidInputException", "At most 10 filter attributes", 400)
    for name, conditions in filters.items():
        if name not in FILTER_FIELDS:
            return error(
                "InvalidInputException", f"filter {name!r} is not known to this simulation", 400
            )
        if not isinstance(conditions, list) or len(conditions) > 20:
            return error("InvalidInputException", f"At most 20 values for filter {name}", 400)
        for condition in conditions:
            if condition.get("Comparison") not in COMPARISONS:
                return error("InvalidInputException", f"Bad comparison in filter {name}", 400)
    chosen = [item.data for item in hub.findings if selected(item.data, filters)]
    token = params.get("NextToken")
    start = 0
    if token:
        try:
            start = int(base64.urlsafe_b64decode(token.encode()).decode())
        except ValueError:
            return error("InvalidInputException", "NextToken is not valid", 400)
    page = chosen[start : start + limit]
    answer: dict[str, Any] = {"Findings": [visible(f) for f in page]}
    if start + limit < len(chosen):
        answer["NextToken"] = base64.urlsafe_b64encode(str(start + limit).encode()).decode()
    return json_answer(answer)
