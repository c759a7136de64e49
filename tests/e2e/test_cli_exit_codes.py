"""The exit-code contract of `python -m bot check`, under a failure at every AWS call.

1 only when an account is noncompliant; 2 when nothing is noncompliant and something failed;
never Python's 1 for a crash. A failure that stops the whole audit is one line on stderr and
nothing on stdout; a failure in one account is that account's ``error`` (one line each); the
Organization's root access features that cannot be read are "unknown".

Each AWS call of `check --org` (and DescribeAccount of `check --account`) is answered in turn
with an HTML page in place of AWS's answer, as a proxy or load balancer in the way does: a 500
page that is not XML (botocore's ResponseParserError for IAM and STS, a ClientError "500" for
Organizations), and the same page with status 200.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from simulator.aws import NON_XML_PAGE, RootKeySpec, SimOrg, SimulatedAws, days_ago
from tests.e2e.test_cli_check import run_check

ABORT = "abort"
OK = {"master": "compliant", "dev": "compliant", "prod": "noncompliant"}
# what `check --org` must say when the call fails for every account
ORG_OUTCOMES: dict[str, str | dict[str, str]] = {
    "GetCallerIdentity": ABORT,
    "ListAccounts": ABORT,
    "ListOrganizationsFeatures": OK,  # and the features are "unknown"
    "AssumeRole": {"master": "compliant", "dev": "error", "prod": "error"},
    "GetAccountSummary": {"master": "error", "dev": "error", "prod": "error"},
    # only prod (its summary says a key is present) asks for the report: the key stays visible
    "GenerateCredentialReport": OK,
    "GetCredentialReport": OK,
}
PAGES = {"html-500": 500, "html-200": 200}


@pytest.fixture
def org(aws: SimulatedAws) -> SimOrg:
    org = aws.create_organization(["dev", "prod"])
    aws.set_root_keys(org.members[1].account_id, [RootKeySpec(slot=1, created=days_ago(9))])
    return org


def stderr_lines(text: str) -> list[str]:
    assert "Traceback" not in text, text
    return [line for line in text.splitlines() if line.strip()]


def expected_code(statuses: dict[str, str]) -> int:
    if "noncompliant" in statuses.values():
        return 1
    return 2 if "error" in statuses.values() else 0


@pytest.mark.parametrize("page", PAGES)
@pytest.mark.parametrize("action", ORG_OUTCOMES)
def test_org_audit_under_an_html_answer_at_each_call(
    aws: SimulatedAws, org: SimOrg, tmp_path: Path, action: str, page: str
) -> None:
    aws.answer_html(None, action, status=PAGES[page], page=NON_XML_PAGE)
    proc = run_check("--org", "--format", "json", env=aws.env(), cwd=tmp_path)
    lines = stderr_lines(proc.stderr)
    outcome = ORG_OUTCOMES[action]
    if outcome == ABORT:
        assert proc.returncode == 2
        assert proc.stdout == ""
        assert len(lines) == 1 and action in lines[0], proc.stderr
        return
    assert isinstance(outcome, dict)
    doc = json.loads(proc.stdout)
    statuses = {a["account_name"]: a["status"] for a in doc["accounts"]}
    assert statuses == outcome
    assert proc.returncode == expected_code(outcome)
    errors = [a for a in doc["accounts"] if a["status"] == "error"]
    assert len(lines) == len(errors)  # one line per account that could not be audited
    for account in errors:
        assert action in account["reason"]
    if action == "ListOrganizationsFeatures":
        assert doc["organization_features"] == {
            "RootCredentialsManagement": "unknown",
            "RootSessions": "unknown",
        }
    else:
        assert doc["organization_features"]["RootSessions"] == "enabled"


def test_the_reason_says_the_answer_was_not_aws(
    aws: SimulatedAws, org: SimOrg, tmp_path: Path
) -> None:
    dev = org.members[0].account_id
    aws.answer_html(dev, "GetAccountSummary", status=500, page=NON_XML_PAGE)
    proc = run_check("--org", "--format", "json", env=aws.env(), cwd=tmp_path)
    assert proc.returncode == 1  # prod's key is still found
    by_id = {a["account_id"]: a for a in json.loads(proc.stdout)["accounts"]}
    assert by_id[dev]["status"] == "error"
    assert "GetAccountSummary: ResponseParserError" in by_id[dev]["reason"]
    assert "not XML" in by_id[dev]["reason"]
    assert len(stderr_lines(proc.stderr)) == 1


@pytest.mark.parametrize("page", PAGES)
def test_named_accounts_under_an_html_answer_to_describe_account(
    aws: SimulatedAws, org: SimOrg, tmp_path: Path, page: str
) -> None:
    aws.answer_html(None, "DescribeAccount", status=PAGES[page], page=NON_XML_PAGE)
    ids = [m.account_id for m in org.members]
    proc = run_check("--account", *ids, "--format", "json", env=aws.env(), cwd=tmp_path)
    doc = json.loads(proc.stdout)
    assert {a["status"] for a in doc["accounts"]} == {"error"}  # membership unconfirmed
    assert proc.returncode == 2
    assert len(stderr_lines(proc.stderr)) == len(ids)


def empty_answer(action: str, namespace: str) -> bytes:
    """A well-formed AWS answer with nothing in it: XML botocore parses into an empty result."""
    return (
        f'<{action}Response xmlns="{namespace}"><{action}Result></{action}Result>'
        f"<ResponseMetadata><RequestId>rk</RequestId></ResponseMetadata></{action}Response>"
    ).encode()


IAM = "https://iam.amazonaws.com/doc/2010-05-08/"
STS = "https://sts.amazonaws.com/doc/2011-06-15/"
EMPTY_OUTCOMES: dict[str, tuple[str, str | dict[str, str]]] = {
    "GetCallerIdentity": (STS, ABORT),
    "AssumeRole": (STS, {"master": "compliant", "dev": "error", "prod": "error"}),
    "GetAccountSummary": (IAM, {"master": "error", "dev": "error", "prod": "error"}),
    "GetCredentialReport": (IAM, OK),
}


@pytest.mark.parametrize("action", EMPTY_OUTCOMES)
def test_an_empty_answer_at_each_call_is_never_a_crash(
    aws: SimulatedAws, org: SimOrg, tmp_path: Path, action: str
) -> None:
    namespace, outcome = EMPTY_OUTCOMES[action]
    aws.answer_html(None, action, status=200, page=empty_answer(action, namespace))
    proc = run_check("--org", "--format", "json", env=aws.env(), cwd=tmp_path)
    lines = stderr_lines(proc.stderr)
    if outcome == ABORT:
        assert proc.returncode == 2
        assert proc.stdout == ""
        assert len(lines) == 1 and action in lines[0], proc.stderr
        return
    assert isinstance(outcome, dict)
    doc = json.loads(proc.stdout)
    assert {a["account_name"]: a["status"] for a in doc["accounts"]} == outcome
    assert proc.returncode == expected_code(outcome)
    errors = [a for a in doc["accounts"] if a["status"] == "error"]
    assert len(lines) == len(errors), proc.stderr
    for account in errors:
        assert action in account["reason"] and "MalformedAnswer" in account["reason"]
