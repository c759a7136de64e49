"""ROOTKEY_SECURITYHUB=true: a signed /rootkey check into the bot, the findings in Security Hub.

The bot is built by ``build_app`` from the environment, as ``python -m bot`` builds it; its AWS
side is moto's server (audit and Security Hub), its Slack side the Web API stand-in.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from slack_bolt import BoltRequest

from bot.app import build_app
from bot.aws.auditor import AwsAuditor
from bot.config import load_config
from simulator.aws import MANAGEMENT_ACCOUNT, RootKeySpec, SimulatedAws, days_ago
from simulator.slack import SlackStandin
from tests.support.botproc import bot_env
from tests.support.signing import command_body, signed_headers

TOKEN = "xoxb-test-token"


@pytest.fixture
def slack() -> Iterator[SlackStandin]:
    with SlackStandin(bot_token=TOKEN) as standin:
        yield standin


def test_a_check_in_slack_also_updates_security_hub(
    aws: SimulatedAws, slack: SlackStandin, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in aws.env().items():  # the bot's own credentials: the simulated account
        monkeypatch.setenv(name, value)
    hub = aws.client("securityhub")
    hub.enable_security_hub()
    org = aws.create_organization(1)
    (member,) = (m.account_id for m in org.members)
    aws.set_root_keys(member, [RootKeySpec(slot=1, created=days_ago(30))])
    database = f"sqlite:///{tmp_path / 'rootkey.db'}"
    config = load_config(bot_env(slack, database, aws.env(), ROOTKEY_SECURITYHUB="true"))
    auditor = AwsAuditor(config, aws.session_factory())
    app, services = build_app(config, auditor=auditor, audit_workers=1)
    try:
        body = command_body("check all", response_url=slack.response_url())
        headers = {k.lower(): [v] for k, v in signed_headers(body).items()}
        assert app.dispatch(BoltRequest(body=body, headers=headers)).status == 200
        slack.wait_for(lambda: slack.messages())  # the result is posted after the export
    finally:
        services.shutdown()

    status = {
        f["Resources"][0]["Id"].rsplit(":", 1)[-1]: f["Compliance"]["Status"]
        for f in hub.get_findings()["Findings"]
    }
    assert status == {member: "FAILED", MANAGEMENT_ACCOUNT: "PASSED"}
