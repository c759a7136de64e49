"""The IAM documents in policies/ and deploy/audit-role.yaml agree; the template lints clean."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from tests.support.aws import AUDIT_ROLE

REPO = Path(__file__).resolve().parent.parent
TEMPLATE = REPO / "deploy" / "audit-role.yaml"
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


def load_template() -> dict[str, Any]:
    return yaml.load(TEMPLATE.read_text(), Loader=CfnLoader)


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


def test_template_passes_cfn_lint() -> None:
    proc = subprocess.run(
        [sys.executable, "-c", CFN_LINT, str(TEMPLATE)], capture_output=True, text=True
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
    }
    bot = actions(policy("bot-audit-policy.json"))
    assert bot == member | {
        "iam:ListOrganizationsFeatures",
        "organizations:ListAccounts",
        "organizations:DescribeAccount",  # is a named account an ACTIVE member
        "sts:AssumeRole",
    }
    assume = next(
        s for s in policy("bot-audit-policy.json")["Statement"] if s["Action"] == "sts:AssumeRole"
    )
    assert assume["Resource"] == f"arn:aws:iam::*:role/{AUDIT_ROLE}"
    assert not any("*" in a for a in bot | member)
