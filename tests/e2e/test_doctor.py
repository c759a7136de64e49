"""`python -m bot doctor` against the simulated AWS and the Slack stand-in: a healthy set-up is
all ok (exit 0), and each fault injected alone is named, FAIL or warn, with its fix.

The stand-in's workspace is closed here (a channel or user nobody laid out does not exist), as a
real workspace is."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from slack_sdk import WebClient

from bot.config import Config, load_config
from bot.doctor.aws import check_aws
from bot.doctor.database import check_database
from bot.doctor.events import ALL_MANAGEMENT_EVENTS
from bot.doctor.findings import Finding, Level, exit_code
from bot.doctor.slack import check_slack
from bot.slack.scopes import BOT_SCOPES
from bot.store import Store
from bot.wiring import web_client
from simulator.aws import EndpointSession, SimOrg, SimulatedAws
from simulator.slack import SlackStandin
from simulator.slack.scopes import granted_scopes
from tests.support.database import postgres_database

REPO = Path(__file__).resolve().parents[2]
TOKEN = "xoxb-doctor-token"
DIGEST, PRIVATE, PUBLIC_UNJOINED = "C0DIGEST01", "G0PRIVATE1", "C0PUBLIC01"
APPROVER, GROUP = "U0APPROVER", "S0APPROVE1"
QUEUE = "rootkey-root-activity"
PATTERN = '{"source":[{"prefix":"aws."}],"detail-type":["AWS API Call via CloudTrail"]}'


@pytest.fixture(scope="module")
def slack() -> Iterator[SlackStandin]:
    with SlackStandin(bot_token=TOKEN) as standin:
        yield standin


@pytest.fixture
def workspace(slack: SlackStandin) -> SlackStandin:
    slack.reset()
    ws = slack.workspace
    ws.open_world = False
    ws.add_channel(DIGEST, "security")
    ws.add_channel(PRIVATE, "approvals", private=True, bot_member=False)
    ws.add_channel(PUBLIC_UNJOINED, "general", bot_member=False)
    ws.add_user(APPROVER, "avery", "Avery Approver")
    slack.set_usergroup(GROUP, [APPROVER])
    return slack


@pytest.fixture
def org(aws: SimulatedAws) -> SimOrg:
    return aws.create_organization(members=3)


def healthy_config(slack: SlackStandin, url: str) -> Config:
    return replace(
        load_config({}),
        slack_bot_token=TOKEN,
        slack_signing_secret="doctor-signing-secret",
        slack_api_url=slack.base_url.rstrip("/") + "/",
        digest_channel=DIGEST,
        approvers=(APPROVER, GROUP),
        database_url=url,
    )


@pytest.fixture
def database(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'rootkey.db'}"
    Store.open(url).close()  # migrated to head, as the bot leaves it
    return url


def slack_client(slack: SlackStandin, token: str = TOKEN) -> WebClient:
    """The bot's own client (its retries and time-outs) aimed at the stand-in."""
    return web_client(
        replace(load_config({}), slack_bot_token=token, slack_api_url=slack.base_url + "/")
    )


def everything(config: Config, slack: SlackStandin, aws: SimulatedAws) -> list[Finding]:
    return [
        *check_slack(config, slack_client(slack, config.slack_bot_token or "")),
        *check_aws(config, aws.session()),
        *check_database(config),
    ]


def named(findings: list[Finding], check: str) -> Finding:
    """The one finding of ``check`` (its exact name, else the one whose name starts so)."""
    exact = [f for f in findings if f.check == check]
    (found,) = exact or [f for f in findings if f.check.startswith(check)]
    return found


def failures(findings: list[Finding]) -> list[Finding]:
    return [f for f in findings if f.level is Level.FAIL]


def test_the_manifest_and_the_code_ask_for_the_same_scopes() -> None:
    assert granted_scopes() == BOT_SCOPES


def test_a_healthy_set_up_is_all_ok(
    workspace: SlackStandin, aws: SimulatedAws, org: SimOrg, database: str
) -> None:
    findings = everything(healthy_config(workspace, database), workspace, aws)
    assert failures(findings) == []
    assert exit_code(findings) == 0
    assert named(findings, "audit role").detail == "assumed in all 3 member accounts"
    assert named(findings, "scopes").level is Level.OK
    assert named(findings, "ROOTKEY_DIGEST_CHANNEL").level is Level.OK
    # SQLite is fine to run, but not what the log's append-only promise is built on
    assert named(findings, "log append-only").level is Level.WARN


def test_a_wrong_token_fails_first_and_says_where_the_right_one_is(
    workspace: SlackStandin, database: str
) -> None:
    config = replace(healthy_config(workspace, database), slack_bot_token="xoxb-revoked")
    findings = list(check_slack(config, slack_client(workspace, "xoxb-revoked")))
    (only,) = findings  # nothing else can be looked up without a token
    assert only.level is Level.FAIL and "invalid_auth" in only.detail
    assert "Bot User OAuth Token" in (only.fix or "")


def test_a_scope_missing_from_the_installation_is_named() -> None:
    scopes = granted_scopes() - {"files:write", "channels:join"}
    with SlackStandin(bot_token=TOKEN, scopes=scopes) as slack:
        slack.workspace.add_channel(DIGEST, "security")
        config = replace(load_config({}), slack_bot_token=TOKEN, slack_signing_secret="s")
        found = named(list(check_slack(config, slack_client(slack))), "scopes")
    assert found.level is Level.FAIL
    assert "channels:join, files:write" in found.detail
    assert "reinstall" in (found.fix or "")


@pytest.mark.parametrize(
    "channel, expected",
    [
        (PRIVATE, "cannot see this channel (channel_not_found)"),  # private, not invited
        ("C0NOSUCH99", "cannot see this channel (channel_not_found)"),  # a wrong id
    ],
)
def test_a_channel_the_bot_cannot_post_in_is_named_with_the_fix(
    workspace: SlackStandin, database: str, channel: str, expected: str
) -> None:
    config = replace(healthy_config(workspace, database), alert_channel_setting=channel)
    found = named(list(check_slack(config, slack_client(workspace))), "ROOTKEY_ALERT_CHANNEL")
    assert found.level is Level.FAIL and expected in found.detail
    assert "/invite @rootkey" in (found.fix or "")


def test_a_public_channel_is_fine_when_the_bot_may_join_it(
    workspace: SlackStandin, database: str
) -> None:
    config = replace(healthy_config(workspace, database), request_channel=PUBLIC_UNJOINED)
    found = named(list(check_slack(config, slack_client(workspace))), "ROOTKEY_REQUEST_CHANNEL")
    assert found.level is Level.OK and "joins it" in found.detail


def test_approvers_slack_does_not_know_are_named(workspace: SlackStandin, database: str) -> None:
    config = replace(healthy_config(workspace, database), approvers=("U0NOBODY01", "S0NOGROUP1"))
    findings = list(check_slack(config, slack_client(workspace)))
    assert "user_not_found" in named(findings, "approver U0NOBODY01").detail
    assert "no_such_subteam" in named(findings, "approver S0NOGROUP1").detail
    config = replace(config, approvers=())
    assert (
        named(list(check_slack(config, slack_client(workspace))), "approvers").level is Level.FAIL
    )


def test_long_lived_access_keys_are_a_warning_with_what_to_use_instead(
    workspace: SlackStandin, aws: SimulatedAws, org: SimOrg, database: str
) -> None:
    session = EndpointSession(
        aws.endpoint_url,
        aws_access_key_id="AKIA" + "EXAMPLEDOCTOR000",  # the shape of an IAM user's key
        aws_secret_access_key="not-a-secret",
        region_name="us-east-1",
    )
    found = named(list(check_aws(healthy_config(workspace, database), session)), "credentials")
    assert found.level is Level.WARN and "AKIA" in found.detail
    assert "deploy/bot-role.yaml" in (found.fix or "") and "SSO" in (found.fix or "")


def test_an_organization_the_bot_cannot_list(
    workspace: SlackStandin, aws: SimulatedAws, org: SimOrg, database: str
) -> None:
    aws.deny(None, "ListAccounts", "ListRoots")
    findings = list(check_aws(healthy_config(workspace, database), aws.session()))
    found = named(findings, "organization")
    assert found.level is Level.FAIL and "AccessDenied" in found.detail
    assert "delegated administrator" in (found.fix or "")
    assert not [f for f in findings if f.check.startswith("audit role")]


def test_members_without_the_audit_role_are_each_named_with_the_stackset(
    workspace: SlackStandin, aws: SimulatedAws, database: str
) -> None:
    org = aws.create_organization(members=4, missing_role={1, 3})
    found = named(list(check_aws(healthy_config(workspace, database), aws.session())), "audit")
    assert found.level is Level.FAIL
    assert "refused in 2 of 4 member accounts" in found.detail
    for index in (1, 3):
        assert org.members[index].account_id in found.detail
    for index in (0, 2):
        assert org.members[index].account_id not in found.detail
    assert "deploy/audit-role.yaml" in (found.fix or "") and "StackSet" in (found.fix or "")


def test_assume_root_mode_without_centralized_root_access(
    workspace: SlackStandin, aws: SimulatedAws, org: SimOrg, database: str
) -> None:
    aws.set_org_features("RootCredentialsManagement")  # sessions off
    config = replace(healthy_config(workspace, database), remediation="assume-root")
    found = named(list(check_aws(config, aws.session())), "centralized root access")
    assert found.level is Level.FAIL and "RootSessions" in found.detail
    assert "aws iam enable-organizations-root-sessions" in (found.fix or "")
    tracked = replace(config, remediation="tracked")
    assert named(list(check_aws(tracked, aws.session())), "centralized").level is Level.OK


def queue_with_rule(
    aws: SimulatedAws,
    state: str | None,
    dead_letters: bool = True,
    pattern: str = PATTERN,
    policy: dict[str, object] | None = None,
) -> str:
    sqs = aws.client("sqs")
    attributes = {}
    if dead_letters:
        dlq = sqs.create_queue(QueueName=QUEUE + "-dlq")["QueueUrl"]
        dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])
        target = dlq_arn["Attributes"]["QueueArn"]
        attributes["RedrivePolicy"] = f'{{"deadLetterTargetArn":"{target}","maxReceiveCount":"5"}}'
    if policy is not None:
        attributes["Policy"] = json.dumps(policy)
    url = sqs.create_queue(QueueName=QUEUE, Attributes=attributes)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]
    if state is not None:
        events = aws.client("events")
        events.put_rule(
            Name="rootkey-root-activity",
            EventPattern=pattern,
            State=state,
        )
        events.put_targets(
            Rule="rootkey-root-activity", Targets=[{"Id": "queue", "Arn": arn["QueueArn"]}]
        )
    return str(url)


@pytest.mark.parametrize(
    "state, level, words",
    [
        (ALL_MANAGEMENT_EVENTS, Level.OK, "deliver every management event"),
        ("ENABLED", Level.FAIL, "read-only root calls (Get/List/Describe) never arrive"),
        (None, Level.FAIL, "no rule sends events to the queue"),
    ],
)
def test_the_rules_feeding_the_queue_must_deliver_read_only_calls(
    workspace: SlackStandin,
    aws: SimulatedAws,
    org: SimOrg,
    database: str,
    state: str | None,
    level: Level,
    words: str,
) -> None:
    config = replace(
        healthy_config(workspace, database), events_queue_url=queue_with_rule(aws, state)
    )
    findings = list(check_aws(config, aws.session()))
    assert named(findings, "events queue").level is Level.OK
    found = named(findings, "EventBridge rules")
    assert found.level is level and words in found.detail


def test_a_queue_that_cannot_be_read_or_has_no_dead_letters(
    workspace: SlackStandin, aws: SimulatedAws, org: SimOrg, database: str
) -> None:
    missing = f"{aws.endpoint_url}/{org.management_id}/no-such-queue"
    config = replace(healthy_config(workspace, database), events_queue_url=missing)
    found = named(list(check_aws(config, aws.session())), "events queue")
    assert found.level is Level.FAIL and "root-activity-central.yaml" in (found.fix or "")
    url = queue_with_rule(aws, ALL_MANAGEMENT_EVENTS, dead_letters=False)
    config = replace(config, events_queue_url=url)
    assert named(list(check_aws(config, aws.session())), "events queue").level is Level.WARN


def test_security_hub_export_needs_security_hub(
    workspace: SlackStandin, aws: SimulatedAws, org: SimOrg, database: str
) -> None:
    config = replace(healthy_config(workspace, database), securityhub=True)
    found = named(list(check_aws(config, aws.session())), "Security Hub")
    assert found.level is Level.FAIL and "enable-security-hub" in (found.fix or "")
    aws.client("securityhub").enable_security_hub()
    assert named(list(check_aws(config, aws.session())), "Security Hub").level is Level.OK


def test_a_database_that_is_missing_or_behind(tmp_path: Path) -> None:
    config = replace(load_config({}), database_url=f"sqlite:///{tmp_path / 'nothing.db'}")
    (found,) = check_database(config)
    assert found.level is Level.FAIL and "nothing.db" in found.detail
    behind = f"sqlite:///{tmp_path / 'behind.db'}"
    store = Store.open(behind, migrate=False)
    store.migrate("0008")
    store.close()
    found = named(list(check_database(replace(config, database_url=behind))), "schema")
    assert found.level is Level.FAIL and "0008" in found.detail
    assert "db upgrade" in (found.fix or "")


@pytest.mark.postgres
def test_a_bot_role_that_could_rewrite_the_log_fails() -> None:
    with postgres_database() as url:
        Store.open(url).close()
        config = replace(load_config({}), database_url=url)  # the owner of the tables
        found = named(list(check_database(config)), "log append-only")
    assert found.level is Level.FAIL
    assert "db grant --role rootkey_bot" in (found.fix or "")


def test_the_command_prints_a_line_per_check_and_exits_by_the_worst(
    workspace: SlackStandin, aws: SimulatedAws, tmp_path: Path, database: str
) -> None:
    aws.create_organization(members=2, missing_role={0})
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp_path),
        **aws.env(),
        "SLACK_BOT_TOKEN": TOKEN,
        "SLACK_SIGNING_SECRET": "doctor-signing-secret",
        "SLACK_API_URL": workspace.base_url,
        "ROOTKEY_DIGEST_CHANNEL": DIGEST,
        "ROOTKEY_APPROVERS": APPROVER,
        "DATABASE_URL": database,
    }

    def doctor(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "bot", "doctor", *args],
            cwd=tmp_path,
            env={**env, "PYTHONPATH": str(REPO)},
            capture_output=True,
            text=True,
            timeout=120,
        )

    proc = doctor()
    assert proc.returncode == 1, proc.stdout + proc.stderr
    lines = proc.stdout.splitlines()
    assert any(line.startswith("FAIL AWS") and "audit role" in line for line in lines)
    assert any(line.startswith("ok   Slack") and "bot token" in line for line in lines)
    assert "fix: deploy deploy/audit-role.yaml" in proc.stdout
    assert lines[-1].endswith("1 failed")
    proc = doctor("--only", "slack")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "ready for /rootkey check all" in proc.stdout.splitlines()[-1]


def test_no_secret_for_the_mode_is_a_failure_not_a_crash(
    workspace: SlackStandin, database: str
) -> None:
    from bot.cli.doctor import slack_findings

    config = replace(healthy_config(workspace, database), slack_signing_secret=None)
    (found,) = slack_findings(config)
    assert found.level is Level.FAIL and "SLACK_SIGNING_SECRET" in found.detail


def test_aws_refusing_who_the_bot_is_stops_the_aws_checks_with_the_fix(
    workspace: SlackStandin, aws: SimulatedAws, org: SimOrg, database: str
) -> None:
    aws.deny(None, "GetCallerIdentity")
    (found,) = check_aws(healthy_config(workspace, database), aws.session())
    assert found.level is Level.FAIL and "GetCallerIdentity: AccessDenied" in found.detail
    assert "deploy/bot-role.yaml" in (found.fix or "")


def test_a_rule_that_takes_events_of_any_source_is_a_failure(
    workspace: SlackStandin, aws: SimulatedAws, org: SimOrg, database: str
) -> None:
    """Anyone allowed to put events on the bus could forge "root key deleted": the bot reads
    what arrives, so the rule's aws. source filter is its defence, and doctor checks it."""
    forgeable = '{"detail-type":["AWS API Call via CloudTrail"]}'
    url = queue_with_rule(aws, ALL_MANAGEMENT_EVENTS, pattern=forgeable)
    config = replace(healthy_config(workspace, database), events_queue_url=url)
    found = named(list(check_aws(config, aws.session())), "EventBridge rules")
    assert found.level is Level.FAIL and "events of any source" in found.detail
    assert '"prefix": "aws."' in (found.fix or "")


def test_a_queue_anyone_may_send_to_is_a_failure(
    workspace: SlackStandin, aws: SimulatedAws, org: SimOrg, database: str
) -> None:
    open_to_all = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": "*", "Action": "sqs:SendMessage", "Resource": "*"}
        ],
    }
    url = queue_with_rule(aws, ALL_MANAGEMENT_EVENTS, policy=open_to_all)
    config = replace(healthy_config(workspace, database), events_queue_url=url)
    found = named(list(check_aws(config, aws.session())), "events queue policy")
    assert found.level is Level.FAIL and "anyone may send" in found.detail


def test_a_dead_letter_queue_deleted_later_is_a_failure(
    workspace: SlackStandin, aws: SimulatedAws, org: SimOrg, database: str
) -> None:
    url = queue_with_rule(aws, ALL_MANAGEMENT_EVENTS)
    sqs = aws.client("sqs")
    sqs.delete_queue(QueueUrl=sqs.get_queue_url(QueueName=QUEUE + "-dlq")["QueueUrl"])
    config = replace(healthy_config(workspace, database), events_queue_url=url)
    found = named(list(check_aws(config, aws.session())), "events queue")
    assert found.level is Level.FAIL and "is gone" in found.detail


@pytest.mark.parametrize(
    "approvers, required, level",
    [
        ((APPROVER,), 2, Level.FAIL),  # no request can ever be approved
        ((APPROVER,), 1, Level.WARN),  # not one the approver makes
        ((APPROVER, "U0SECOND01"), 1, Level.OK),
    ],
)
def test_more_approvals_required_than_approvers_is_named(
    workspace: SlackStandin,
    database: str,
    approvers: tuple[str, ...],
    required: int,
    level: Level,
) -> None:
    workspace.workspace.add_user("U0SECOND01", "sam", "Sam Second")
    config = replace(
        healthy_config(workspace, database), approvers=approvers, required_approvals=required
    )
    found = named(list(check_slack(config, slack_client(workspace))), "ROOTKEY_REQUIRED")
    assert found.level is level
