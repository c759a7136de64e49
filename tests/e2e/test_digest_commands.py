"""`/rootkey digest` and `/rootkey history` into the real bot process (SQLite, moto, the Slack
stand-in), with signed requests."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import requests

from bot.aws.auditor import AwsAuditor
from bot.config import load_config
from bot.remediation.keys import prints_of
from bot.remediation.models import Conversation
from bot.remediation.states import Kind, Mode
from bot.store.remediation import NewRequest
from bot.wiring import build_services
from simulator.aws import MANAGEMENT_ACCOUNT, RootKeySpec, SimulatedAws
from simulator.slack import SlackStandin
from tests.support.botproc import BotProcess, bot_env, run_bot_once
from tests.support.signing import command_body, post_signed

pytestmark = pytest.mark.slow

BOT_TOKEN = "xoxb-test-token"
CHANNEL = "C0SECURITY"


@pytest.fixture(scope="module")
def slack() -> Iterator[SlackStandin]:
    with SlackStandin(bot_token=BOT_TOKEN) as standin:
        yield standin


@pytest.fixture(scope="module")
def bot(slack: SlackStandin, moto_server: SimulatedAws) -> Iterator[BotProcess]:
    # DATABASE_URL unset: the default SQLite file in the bot's own directory
    env = bot_env(slack, None, moto_server.env(), ROOTKEY_SCOPE="account")
    with BotProcess(env) as process:
        yield process
    assert "no scheduled digest: ROOTKEY_DIGEST_CHANNEL is not set" in process.logs


def command(bot: BotProcess, slack: SlackStandin, text: str) -> requests.Response:
    return post_signed(
        bot.events_url, command_body(text, response_url=slack.response_url(), channel=CHANNEL)
    )


def private_answer(bot: BotProcess, slack: SlackStandin, text: str) -> dict[str, Any]:
    """The answer to a command that reads the database: an empty ack at once, then the answer
    through the command's response_url."""
    url = slack.response_url()
    ack = post_signed(bot.events_url, command_body(text, response_url=url, channel=CHANNEL))
    assert ack.status_code == 200 and not ack.text
    return slack.answer_to(url)


def top_level(slack: SlackStandin) -> list[Any]:
    return [m for m in slack.messages(CHANNEL) if m.thread_ts is None]


def test_digest_command_posts_in_the_channel_and_history_shows_the_timeline(
    bot: BotProcess, slack: SlackStandin, aws: SimulatedAws
) -> None:
    slack.reset()
    aws.set_root_keys(MANAGEMENT_ACCOUNT, [RootKeySpec(slot=1, active=True)])
    ack = command(bot, slack, "digest")
    assert ack.status_code == 200
    assert "building the digest" in ack.json()["text"]
    [digest] = slack.wait_for(lambda: top_level(slack))
    assert "1 of 1 account with a root access key" in digest.args["text"]
    blocks = json.dumps(digest.args["blocks"])
    assert MANAGEMENT_ACCOUNT in blocks and "seen open since" in blocks and "(0 days)" in blocks
    uploads = slack.wait_for(lambda: len(slack.uploads()) >= 2 and slack.uploads())
    assert {u.thread_ts for u in uploads} == {digest.ts}

    aws.remove_root_credentials(MANAGEMENT_ACCOUNT)
    command(bot, slack, "digest")
    second = slack.wait_for(lambda: len(top_level(slack)) >= 2 and top_level(slack)[1])
    assert second.args["text"].startswith("Root key digest: all clear")

    reply = private_answer(bot, slack, f"history {MANAGEMENT_ACCOUNT}")
    assert reply["response_type"] == "ephemeral"
    timeline = json.dumps(reply["blocks"])
    assert f"History of {MANAGEMENT_ACCOUNT}" in timeline
    assert "root access key present" in timeline and "compliant" in timeline
    assert reply["text"] == f"History of {MANAGEMENT_ACCOUNT}: now compliant"


def test_history_of_an_unknown_or_malformed_account_says_so_privately(
    bot: BotProcess, slack: SlackStandin
) -> None:
    unknown = private_answer(bot, slack, "history 999999999999")
    assert unknown.get("response_type", "ephemeral") == "ephemeral"
    assert "No saved audit of 999999999999 yet" in unknown["text"]
    bad = command(bot, slack, "history 12345").json()
    assert bad.get("response_type", "ephemeral") == "ephemeral"
    assert "'12345' is not an AWS account id" in bad["text"]


def test_digest_print_audits_saves_and_prints_without_posting(
    slack: SlackStandin, aws: SimulatedAws, tmp_path: Path
) -> None:
    aws.set_root_keys(MANAGEMENT_ACCOUNT, [RootKeySpec(slot=2, active=False)])
    slack.reset()
    env = {"DATABASE_URL": f"sqlite:///{tmp_path / 'rootkey.db'}", **aws.env()}
    first = run_bot_once(env, "digest", "--print", timeout=120)
    assert first.returncode == 0, first.stderr
    payload = json.loads(first.stdout)
    assert payload["text"].startswith("Root key digest: 1 of 1 account with a root access key")
    assert "1 key (deactivated)" in json.dumps(payload["blocks"])
    # the audit was saved: building from it again needs no AWS
    again = run_bot_once(
        {"DATABASE_URL": env["DATABASE_URL"]}, "digest", "--print", "--no-audit", timeout=120
    )
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["text"] == payload["text"]
    assert slack.messages() == []  # nothing posted


def test_digest_print_shows_what_the_bot_posts_accepted_risks_and_open_requests_included(
    slack: SlackStandin, aws: SimulatedAws, tmp_path: Path
) -> None:
    """The preview and the posted digest come from the same services: an accepted risk and an
    open request in the database are in both, and the two messages are the same."""
    org = aws.create_organization(members=["prod", "dev"])
    prod, dev = (m.account_id for m in org.members)
    for account in (prod, dev):
        aws.set_root_keys(account, [RootKeySpec(slot=1, active=True)])
    slack.reset()
    env = {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'rootkey.db'}",
        "ROOTKEY_SCOPE": "org",
        "ROOTKEY_APPROVERS": "U0APPROVE1",
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_API_URL": slack.base_url,
        **aws.env(),
    }
    config = load_config(env)
    services = build_services(config, auditor=AwsAuditor(config, session_factory=aws.session))
    try:
        requests_store = services.remediation.store
        now = services.remediation.now()
        services.remediation.audit_one(prod, "button")  # the audit the request form shows
        state = services.store.latest_state(prod)
        assert state is not None
        excepted = requests_store.create(
            NewRequest(
                kind=Kind.EXCEPTION,
                account_id=prod,
                requester="U0ALICE001",
                reason="vendor appliance, replaced in Q1",
                where=Conversation(CHANNEL),
                expires_at=now + timedelta(hours=72),
                owner="U0OWNER001",
                exception_until=now + timedelta(days=30),
                key_prints=prints_of(state.keys),  # the keys the risk was accepted for
            ),
            now,
        )
        assert requests_store.approve(excepted.id, "U0APPROVE1", 1, now).approved
        requests_store.create(
            NewRequest(
                kind=Kind.REMEDIATION,
                account_id=dev,
                requester="U0ALICE001",
                reason="unused key",
                where=Conversation(CHANNEL),
                expires_at=now + timedelta(hours=72),
                mode=Mode.TRACKED,
            ),
            now,
        )
        published = services.digest.post_now(CHANNEL, "U0ALICE001", None)
        assert published is not None and published.run_id is not None
    finally:
        services.close()
    [posted] = top_level(slack)

    preview = run_bot_once(env, "digest", "--print", "--no-audit", "--channel", CHANNEL)
    assert preview.returncode == 0, preview.stderr
    printed = json.loads(preview.stdout)
    blocks = posted.args["blocks"]
    posted_blocks = json.loads(blocks) if isinstance(blocks, str) else blocks
    shown = json.dumps(printed["blocks"])
    assert "Accepted risks (1)" in shown and "vendor appliance, replaced in Q1" in shown
    assert "Open remediation requests (1)" in shown and f"`{dev}`" in shown
    assert printed == {"text": posted.args["text"], "blocks": posted_blocks}
    assert len(top_level(slack)) == 1  # the preview posted nothing


def test_digest_in_a_public_channel_the_bot_was_never_invited_to_gets_its_chart_and_csv(
    bot: BotProcess, slack: SlackStandin, aws: SimulatedAws
) -> None:
    slack.reset()
    slack.workspace.add_channel("C0UNINVITE1", bot_member=False)
    aws.set_root_keys(MANAGEMENT_ACCOUNT, [RootKeySpec(slot=1, active=True)])

    post_signed(
        bot.events_url,
        command_body("digest", response_url=slack.response_url(), channel="C0UNINVITE1"),
    )

    [digest] = slack.wait_for(
        lambda: [m for m in slack.messages("C0UNINVITE1") if m.thread_ts is None]
    )
    uploads = slack.wait_for(lambda: len(slack.uploads()) >= 2 and slack.uploads())
    assert {(u.channel, u.thread_ts) for u in uploads} == {("C0UNINVITE1", digest.ts)}
    names = sorted(u.filename.rsplit(".", 1)[-1] for u in uploads)
    assert names == ["csv", "png"]
    assert not [m for m in slack.messages("C0UNINVITE1") if "Could not attach" in m.args["text"]]
