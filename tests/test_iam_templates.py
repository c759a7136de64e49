"""The IAM documents in policies/ and deploy/audit-role.yaml agree; the template lints clean."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from simulator.aws import AUDIT_ROLE

REPO = Path(__file__).resolve().parent.parent
TEMPLATE = REPO / "deploy" / "audit-role.yaml"
CENTRAL = REPO / "deploy" / "root-activity-central.yaml"
MEMBER = REPO / "deploy" / "root-activity-member.yaml"
POLICIES = REPO / "policies"
CFN_LINT = "import sys; from cfnlint.runner import main; sys.exit(main())"  # the cfn-lint command
SUBSTITUTIONS = {"${AWS::Partition}": "aws"}


class CfnLoader(yaml.SafeLoader):
    """YAML with CloudFormation's short tags: ``!Sub x`` -> ``{"Fn::Sub": x}``."""


def intrinsic(loader: CfnLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    name = "Ref" if suffix == "Ref" else f"Fn::{suffix}"
    if isinstance(node, yaml.ScalarNode):
        return {name: loader.construct_scalar(node)}
    if isinstance(node, yaml.SequenceNode):
        return {name: loader.construct_sequence(node, deep=True)}
    return {name: loader.construct_mapping(node, deep=True)}


CfnLoader.add_multi_constructor("!", intrinsic)


def load_template(path: Path = TEMPLATE) -> dict[str, Any]:
    return yaml.load(path.read_text(), Loader=CfnLoader)


def resolve_subs(value: Any) -> Any:
    """``{"Fn::Sub": "arn:${AWS::Partition}:..."}`` -> the string, partition filled in."""
    if isinstance(value, dict):
        if set(value) == {"Fn::Sub"} and isinstance(value["Fn::Sub"], str):
            text = value["Fn::Sub"]
            for placeholder, actual in SUBSTITUTIONS.items():
                text = text.replace(placeholder, actual)
            return text
        return {k: resolve_subs(v) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve_subs(v) for v in value]
    return value


def policy(name: str) -> dict[str, Any]:
    return json.loads((POLICIES / name).read_text())


@pytest.mark.parametrize("template", [TEMPLATE, CENTRAL, MEMBER], ids=lambda p: p.name)
def test_template_passes_cfn_lint(template: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-c", CFN_LINT, str(template)], capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_template_role_policy_is_the_one_in_policies() -> None:
    role = load_template()["Resources"]["AuditRole"]["Properties"]
    (inline,) = role["Policies"]
    assert inline["PolicyDocument"] == policy("audit-role-policy.json")


def test_template_trust_policy_is_the_one_in_policies() -> None:
    role = load_template()["Resources"]["AuditRole"]["Properties"]
    assert resolve_subs(role["AssumeRolePolicyDocument"]) == policy("audit-role-trust-policy.json")


def test_template_role_name_defaults_to_the_bots_audit_role() -> None:
    template = load_template()
    assert template["Parameters"]["AuditRoleName"]["Default"] == AUDIT_ROLE
    assert template["Resources"]["AuditRole"]["Properties"]["RoleName"] == {"Ref": "AuditRoleName"}


def actions(document: dict[str, Any]) -> set[str]:
    found: set[str] = set()
    for statement in document["Statement"]:
        assert statement["Effect"] == "Allow"
        listed = statement["Action"]
        found.update([listed] if isinstance(listed, str) else listed)
    return found


def test_policies_are_read_only_and_least_privilege() -> None:
    member = actions(policy("audit-role-policy.json"))
    assert member == {
        "iam:GetAccountSummary",
        "iam:GenerateCredentialReport",
        "iam:GetCredentialReport",
        "cloudtrail:LookupEvents",  # what used a root key, before it is deleted
    }
    bot = actions(policy("bot-audit-policy.json"))
    assert bot == member | {
        "iam:ListOrganizationsFeatures",
        "organizations:ListAccounts",
        # the Organization's tree, walked several OUs at once (ListAccounts when flat)
        "organizations:ListRoots",
        "organizations:ListOrganizationalUnitsForParent",
        "organizations:ListAccountsForParent",
        "organizations:DescribeAccount",  # is a named account an ACTIVE member
        "sts:AssumeRole",
        "sqs:ReceiveMessage",  # root-activity alerts: the events queue
        "sqs:DeleteMessage",
        # python -m bot doctor: the queue, and whether its rules deliver read-only calls
        "sqs:GetQueueAttributes",
        "sqs:GetQueueUrl",  # its dead-letter queue is still there
        "events:ListEventBuses",
        "events:ListRuleNamesByTarget",
        "events:DescribeRule",
        # ROOTKEY_SECURITYHUB / --export securityhub: the bot's own account's hub only
        "securityhub:DescribeHub",  # doctor: is it enabled
        "securityhub:BatchImportFindings",
        "securityhub:GetFindings",
        "securityhub:BatchUpdateFindings",
    }
    hub = [s for s in policy("bot-audit-policy.json")["Statement"] if "securityhub" in str(s)]
    own = "${aws:PrincipalAccount}"
    assert {s["Resource"] for s in hub} == {
        f"arn:*:securityhub:*:{own}:product/{own}/default",
        f"arn:*:securityhub:*:{own}:hub/default",
    }
    assume = next(
        s for s in policy("bot-audit-policy.json")["Statement"] if s["Action"] == "sts:AssumeRole"
    )
    assert assume["Resource"] == f"arn:*:iam::*:role/{AUDIT_ROLE}"
    assert not any("*" in a for a in bot | member)


def root_pattern(template: dict[str, Any]) -> dict[str, Any]:
    return dict(template["Resources"]["RootActivityRule"]["Properties"]["EventPattern"])


def test_both_root_activity_rules_match_root_api_calls_only() -> None:
    """The rules forward what rootkey's parser reads: CloudTrail API calls made by root (the
    central rule only from AWS's own sources: tests/unit/test_deploy_templates.py)."""
    expected = {
        "detail-type": ["AWS API Call via CloudTrail"],
        "detail": {"userIdentity": {"type": ["Root"]}},
    }
    assert root_pattern(load_template(CENTRAL)) == {**expected, "source": [{"prefix": "aws."}]}
    assert root_pattern(load_template(MEMBER)) == expected


def test_the_central_bus_accepts_only_the_organization() -> None:
    resources = load_template(CENTRAL)["Resources"]
    statement = resources["EventBusPolicy"]["Properties"]["Statement"]
    assert statement["Action"] == "events:PutEvents"
    assert statement["Condition"] == {
        "StringEquals": {"aws:PrincipalOrgID": {"Ref": "OrganizationId"}}
    }


def test_the_queue_has_a_dead_letter_queue_and_only_the_rule_may_send() -> None:
    resources = load_template(CENTRAL)["Resources"]
    queue = resources["Queue"]["Properties"]
    assert queue["RedrivePolicy"]["deadLetterTargetArn"] == {"Fn::GetAtt": "DeadLetterQueue.Arn"}
    assert queue["ReceiveMessageWaitTimeSeconds"] == 20  # the bot long-polls 20 s too
    (statement,) = resources["QueuePolicy"]["Properties"]["PolicyDocument"]["Statement"]
    assert statement["Principal"] == {"Service": "events.amazonaws.com"}
    assert statement["Action"] == "sqs:SendMessage"
    assert statement["Condition"] == {
        "ArnEquals": {"aws:SourceArn": {"Fn::GetAtt": "RootActivityRule.Arn"}}
    }


def test_the_bots_queue_permission_names_the_central_queue() -> None:
    queue_name = load_template(CENTRAL)["Parameters"]["QueueName"]["Default"]
    statement = next(
        s
        for s in policy("bot-audit-policy.json")["Statement"]
        if "sqs:ReceiveMessage" in s["Action"]
    )
    assert statement["Resource"] == f"arn:*:sqs:*:*:{queue_name}"


def test_the_member_rule_forwards_to_the_central_bus_only() -> None:
    resources = load_template(MEMBER)["Resources"]
    (target,) = resources["RootActivityRule"]["Properties"]["Targets"]
    assert target["Arn"] == {"Ref": "CentralEventBusArn"}
    (inline,) = resources["ForwardRole"]["Properties"]["Policies"]
    (statement,) = inline["PolicyDocument"]["Statement"]
    assert statement["Action"] == "events:PutEvents"
    assert statement["Resource"] == {"Ref": "CentralEventBusArn"}


def arns(value: Any) -> list[str]:
    """Every ARN written in a policy document (resources and condition values)."""
    if isinstance(value, str):
        return [value] if value.startswith("arn:") else []
    if isinstance(value, dict):
        return [arn for item in value.values() for arn in arns(item)]
    if isinstance(value, list):
        return [arn for item in value for arn in arns(item)]
    return []


@pytest.mark.parametrize("name", ["bot-audit-policy.json", "bot-remediation-policy.json"])
def test_the_bots_policies_work_in_every_partition(name: str) -> None:
    """GovCloud (aws-us-gov) and China (aws-cn) accounts get the same grants as aws."""
    written = arns(policy(name))
    assert written
    assert all(arn.startswith("arn:*:") for arn in written), written


def test_remediation_may_only_open_delete_credentials_root_sessions() -> None:
    (statement,) = policy("bot-remediation-policy.json")["Statement"]
    assert statement["Action"] == "sts:AssumeRoot"
    assert statement["Resource"] == "arn:*:iam::*:root"
    assert statement["Condition"] == {
        "ArnLike": {
            "sts:TaskPolicyArn": "arn:*:iam::aws:policy/root-task/IAMDeleteRootUserCredentials"
        }
    }


def test_the_trust_policy_note_names_the_other_partitions() -> None:
    """A Principal takes no wildcard: the JSON copy is for aws, the template for every partition."""
    assert "arn:aws:iam::" in json.dumps(policy("audit-role-trust-policy.json"))
    guide = (REPO / "docs" / "iam.md").read_text()
    assert "aws-us-gov" in guide and "aws-cn" in guide
