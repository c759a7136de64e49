"""The IAM policies in policies/ pass a policy linter (parliament): anything it finds fails the
test unless it is one of the reviewed findings below, each with why it stands.

The templates embed these same documents (tests/test_iam_templates.py and
tests/test_bot_role_template.py hold them equal), so this lints the templates' policies too."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from parliament import analyze_policy_string

POLICIES = Path(__file__).resolve().parent.parent / "policies"
LINTED = sorted(p for p in POLICIES.glob("*.json") if "trust" not in p.name)

# (file, parliament's issue, the statement's Sid) -> why the finding stands
REVIEWED = {
    ("bot-audit-policy.json", "RESOURCE_EFFECTIVELY_STAR", "DescribeAccountsOfTheOrganization"): (
        "the Organization's id is not known to a policy written for every deployment; "
        "DescribeAccount answers only for accounts of the caller's own Organization"
    ),
    ("bot-audit-policy.json", "INVALID_ARN", "SendFindingsToTheSecurityHubOfThisAccount"): (
        "${aws:PrincipalAccount} is an IAM policy variable (the bot's own account); the linter "
        "reads it as a literal account id"
    ),
    ("bot-audit-policy.json", "INVALID_ARN", "ReadAndResolveItsOwnSecurityHubFindings"): (
        "the same policy variable"
    ),
    (
        "bot-remediation-policy.json",
        "RESOURCE_EFFECTIVELY_STAR",
        "DeleteMemberRootAccessKeysOnly",
    ): (
        "AssumeRoot's resource is the target member's root user, any member: the session is "
        "limited by the sts:TaskPolicyArn condition to IAMDeleteRootUserCredentials"
    ),
    ("bot-remediation-policy.json", "MISMATCHED_TYPE", "DeleteMemberRootAccessKeysOnly"): (
        "AWS's Service Authorization Reference (STS) types sts:TaskPolicyArn as ARN, so ArnLike "
        "is the right operator; the linter's bundled data says String"
    ),
}


def statement_at(document: str, line: int) -> str:
    """The Sid of the statement that starts at or before ``line`` (1-based)."""
    sid = ""
    for number, text in enumerate(document.splitlines(), start=1):
        if number > line + 2:
            break
        if '"Sid"' in text:
            sid = json.loads("{" + text.strip().rstrip(",") + "}")["Sid"]
    return sid


@pytest.mark.parametrize("path", LINTED, ids=lambda p: p.name)
def test_policies_pass_the_linter_but_for_reviewed_findings(path: Path) -> None:
    document = path.read_text(encoding="utf-8")
    found = analyze_policy_string(document).findings
    unreviewed = []
    for finding in found:
        location = finding.location if isinstance(finding.location, dict) else {}
        key = (path.name, finding.issue, statement_at(document, int(location.get("line") or 0)))
        if key not in REVIEWED:
            unreviewed.append((*key, finding.detail))
    assert unreviewed == []


def test_the_linter_is_no_rubber_stamp() -> None:
    broad = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "iam:*", "Resource": "*"}],
    }
    assert analyze_policy_string(json.dumps(broad)).findings
