"""The AWS checks: who the bot is and with what kind of credentials, the Organization, the
audit role in every member account (assumed concurrently, as the audit does), centralized root
access where the mode needs it, the events queue and the rules that feed it, Security Hub."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3

from bot.aws.errors import AuditError, AwsReadError
from bot.aws.iam import AWS_CALL_ERRORS, error_code, read_error
from bot.aws.organizations import list_active_accounts
from bot.aws.pacing import Pacer
from bot.aws.session import boto_config
from bot.config import Config
from bot.doctor.events import queue_findings
from bot.doctor.findings import Finding, fail, ok, warn

AREA = "AWS"
BOT_ROLE = "deploy/bot-role.yaml"
AUDIT_STACKSET = (
    "deploy deploy/audit-role.yaml to them as the service-managed StackSet: aws cloudformation "
    "create-stack-instances --stack-set-name rootkey-audit-role --deployment-targets "
    "OrganizationalUnitIds=<root or OU ids> --regions us-east-1 (docs/deploy.md, step 3)"
)
ROOT_FEATURES = {
    "RootCredentialsManagement": "aws iam enable-organizations-root-credentials-management",
    "RootSessions": "aws iam enable-organizations-root-sessions",
}
SHOWN_ACCOUNTS = 10


def check_aws(config: Config, session: boto3.session.Session) -> Iterator[Finding]:
    boto = boto_config(config, max_attempts=3)

    def client(service: str) -> Any:
        return session.client(service, config=boto)

    try:
        identity = client("sts").get_caller_identity()
    except AWS_CALL_ERRORS as exc:
        yield fail(
            AREA,
            "identity",
            f"the bot has no working AWS credentials ({read_error('GetCallerIdentity', exc)})",
            f"run the bot with the role of {BOT_ROLE} (ECS task role, EKS Pod Identity, EC2 "
            "instance profile) or, elsewhere, AWS_PROFILE naming an SSO or role profile",
        )
        return
    me = str(identity["Account"])
    yield ok(AREA, "identity", f"{identity['Arn']}")
    yield credentials_finding(session)
    pacer = Pacer(config.concurrency)  # as the audit paces its calls, per API
    members = list(organization_findings(client, pacer, config, me))
    yield from (item for item in members if isinstance(item, Finding))
    accounts = [item for item in members if isinstance(item, str)]
    if accounts:
        partition = str(identity["Arn"]).split(":")[1]
        yield audit_role_finding(config, client, pacer, partition, accounts)
    yield from root_access_findings(config, client)
    if config.events_queue_url:
        yield from queue_findings(str(config.events_queue_url), client)
    if config.securityhub:
        yield securityhub_finding(client)


def credentials_finding(session: boto3.session.Session) -> Finding:
    credentials = session.get_credentials()
    key_id = credentials.access_key if credentials is not None else ""
    if key_id.startswith("AKIA"):
        return warn(
            AREA,
            "credentials",
            "long-lived access keys (an AKIA… key id): the kind of key rootkey exists to remove",
            f"use the role of the compute the bot runs on ({BOT_ROLE}), or an IAM Identity "
            "Center (SSO) profile through AWS_PROFILE; then delete the access key",
        )
    return ok(AREA, "credentials", "temporary credentials (a role or SSO session)")


def organization_findings(
    client: Any, pacer: Pacer, config: Config, me: str
) -> Iterator[Finding | str]:
    """The findings, then the ids of the Organization's active accounts (other than ``me``)."""
    try:
        accounts = list(list_active_accounts(client("organizations"), pacer))
    except AuditError as exc:
        if "AWSOrganizationsNotInUseException" in str(exc):
            level = fail if config.scope == "org" else warn
            yield level(
                AREA,
                "organization",
                "this account is in no AWS Organization: only it can be audited",
                "run the bot in the management account or a delegated administrator account",
            )
            return
        yield fail(
            AREA,
            "organization",
            f"the Organization cannot be listed ({exc})",
            "run the bot in the management account, or register its account as a delegated "
            "administrator (docs/deploy.md, step 1), with policies/bot-audit-policy.json",
        )
        return
    yield ok(AREA, "organization", f"{len(accounts)} active accounts")
    yield from (a.account_id for a in accounts if a.account_id != me)


def audit_role_finding(
    config: Config, client: Any, pacer: Pacer, partition: str, accounts: list[str]
) -> Finding:
    sts = client("sts")

    def refusal(account_id: str) -> str | None:
        arn = f"arn:{partition}:iam::{account_id}:role/{config.audit_role}"
        try:
            pacer.call(
                "AssumeRole",
                lambda: sts.assume_role(
                    RoleArn=arn, RoleSessionName="rootkey-doctor", DurationSeconds=900
                ),
            )
        except (*AWS_CALL_ERRORS, AwsReadError) as exc:
            code = exc.code if isinstance(exc, AwsReadError) else error_code(exc)
            return f"{account_id} ({code})"
        return None

    with ThreadPoolExecutor(max_workers=max(1, config.concurrency)) as pool:
        refused = [r for r in pool.map(refusal, accounts) if r]
    check = f"audit role {config.audit_role}"
    if not refused:
        return ok(AREA, check, f"assumed in all {len(accounts)} member accounts")
    shown = ", ".join(refused[:SHOWN_ACCOUNTS])
    more = f" and {len(refused) - SHOWN_ACCOUNTS} more" if len(refused) > SHOWN_ACCOUNTS else ""
    return fail(
        AREA,
        check,
        f"refused in {len(refused)} of {len(accounts)} member accounts: {shown}{more}",
        AUDIT_STACKSET,
    )


def root_access_findings(config: Config, client: Any) -> Iterator[Finding]:
    check = "centralized root access"
    try:
        enabled = set(client("iam").list_organizations_features().get("EnabledFeatures") or [])
    except AWS_CALL_ERRORS as exc:
        error = read_error("ListOrganizationsFeatures", exc)
        if config.remediation == "assume-root":
            yield fail(
                AREA, check, f"cannot be read ({error})", "grant policies/bot-audit-policy.json"
            )
        else:
            yield warn(AREA, check, f"cannot be read ({error})")
        return
    missing = [name for name in ROOT_FEATURES if name not in enabled]
    if not missing:
        yield ok(AREA, check, "root credentials management and root sessions are on")
    elif config.remediation == "assume-root":
        commands = " && ".join(ROOT_FEATURES[name] for name in missing)
        yield fail(
            AREA,
            check,
            f"ROOTKEY_REMEDIATION=assume-root needs {', '.join(missing)}",
            "in the management account: aws organizations enable-aws-service-access "
            f"--service-principal iam.amazonaws.com && {commands}",
        )
    else:
        yield ok(AREA, check, f"off ({', '.join(missing)}): fine for tracked remediation")


def securityhub_finding(client: Any) -> Finding:
    try:
        client("securityhub").describe_hub()
    except AWS_CALL_ERRORS as exc:
        return fail(
            AREA,
            "Security Hub",
            f"ROOTKEY_SECURITYHUB=true but Security Hub is not readable "
            f"({read_error('DescribeHub', exc)})",
            "aws securityhub enable-security-hub (in the bot's account and AWS_REGION), or set "
            "ROOTKEY_SECURITYHUB=false",
        )
    return ok(AREA, "Security Hub", "enabled in the bot's account")
