"""deploy/bot-role.yaml, the role the bot itself runs as: it lints clean, holds exactly the
policies of policies/ (the remediation one only in assume-root mode), and trusts only the
compute platform chosen, in this account."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.test_iam_templates import CFN_LINT, load_template, policy

REPO = Path(__file__).resolve().parent.parent
BOT_ROLE = REPO / "deploy" / "bot-role.yaml"
AUDIT_ROLE = REPO / "deploy" / "audit-role.yaml"
# what the template's !Sub stands for in the policy files (policy variables, any partition)
AS_IN_POLICIES = {"${AWS::Partition}": "*", "${AWS::AccountId}": "${aws:PrincipalAccount}"}


def as_in_policies(value: Any) -> Any:
    if isinstance(value, dict):
        if set(value) == {"Fn::Sub"} and isinstance(value["Fn::Sub"], str):
            text = value["Fn::Sub"]
            for placeholder, actual in AS_IN_POLICIES.items():
                text = text.replace(placeholder, actual)
            return text
        return {key: as_in_policies(item) for key, item in value.items()}
    if isinstance(value, list):
        return [as_in_policies(item) for item in value]
    return value


def role() -> dict[str, Any]:
    resource: dict[str, Any] = load_template(BOT_ROLE)["Resources"]["BotRole"]["Properties"]
    return resource


def test_bot_role_template_passes_cfn_lint() -> None:
    proc = subprocess.run(
        [sys.executable, "-c", CFN_LINT, str(BOT_ROLE)], capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_the_audit_policy_is_the_one_in_policies_always() -> None:
    audit = next(p for p in role()["Policies"] if p.get("PolicyName") == "rootkey-bot-audit")
    assert as_in_policies(audit["PolicyDocument"]) == policy("bot-audit-policy.json")


def test_assume_root_is_granted_only_in_assume_root_mode() -> None:
    (conditional,) = [p for p in role()["Policies"] if "Fn::If" in p]
    condition, granted, otherwise = conditional["Fn::If"]
    assert otherwise == {"Ref": "AWS::NoValue"}
    conditions = load_template(BOT_ROLE)["Conditions"]
    assert conditions[condition] == {"Fn::Equals": [{"Ref": "RemediationMode"}, "assume-root"]}
    assert granted["PolicyDocument"] == policy("bot-remediation-policy.json")
    (statement,) = granted["PolicyDocument"]["Statement"]
    assert statement["Action"] == "sts:AssumeRoot"
    assert "IAMDeleteRootUserCredentials" in str(statement["Condition"])
    assert load_template(BOT_ROLE)["Parameters"]["RemediationMode"]["Default"] == "tracked"


def trust_statements() -> dict[str, dict[str, Any]]:
    """Platform -> the trust statement chosen for it (the nested !If of the template)."""
    (chosen,) = role()["AssumeRolePolicyDocument"]["Statement"]
    _, ecs, rest = chosen["Fn::If"]
    _, eks, ec2 = rest["Fn::If"]
    return {"ecs-task": ecs, "eks-pod-identity": eks, "ec2-instance": ec2}


@pytest.mark.parametrize(
    "platform, service",
    [
        ("ecs-task", "ecs-tasks.amazonaws.com"),
        ("eks-pod-identity", "pods.eks.amazonaws.com"),
        ("ec2-instance", "ec2.amazonaws.com"),
    ],
)
def test_the_role_trusts_only_the_chosen_compute_of_this_account(
    platform: str, service: str
) -> None:
    statement = trust_statements()[platform]
    assert statement["Principal"] == {"Service": service}  # no AWS principal, no "*"
    assert statement["Condition"]["StringEquals"]["aws:SourceAccount"] == {"Ref": "AWS::AccountId"}
    assert platform in load_template(BOT_ROLE)["Parameters"]["ComputePlatform"]["AllowedValues"]


def test_the_audit_roles_trust_this_role_by_default() -> None:
    bot_role = load_template(BOT_ROLE)["Parameters"]["RoleName"]["Default"]
    assert load_template(AUDIT_ROLE)["Parameters"]["BotRoleName"]["Default"] == bot_role
