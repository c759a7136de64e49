"""Account ids outside the Organization are never shown as compliant.

An id that the Organization does not show as an ACTIVE account (a stranger's account, a typo, a
suspended member) is an ``error`` verdict "not a member of the Organization", whatever AWS would
let the audit role read there; nothing of it is read. The same through the command line when the
caller can read the Organization. Through the running bot: signed commands and clicks in, the
result message out; AWS is moto's server.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator

import pytest

from bot.slack.action_ids import ActionId
from simulator.aws import MANAGEMENT_ACCOUNT, RootKeySpec, SimulatedAws, days_ago
from simulator.slack import SlackStandin
from tests.reliability.harness import (
    ALICE,
    CHANNEL,
    Bot,
    bot_env,
    click,
    command,
)
from tests.support.botproc import ROOT

pytestmark = pytest.mark.slow

OUTSIDER = "999999999999"  # no account of the simulated Organization


@pytest.fixture(scope="module", params=["org", "account"])
def bot(
    request: pytest.FixtureRequest,
    slack: SlackStandin,
    moto_server: SimulatedAws,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Bot]:
    db = tmp_path_factory.mktemp("membership") / "rootkey.db"
    env = bot_env(slack, moto_server.env(), ROOTKEY_SCOPE=request.param)
    bot = Bot(env, f"sqlite:///{db}").start()
    yield bot
    bot.stop()


def result_text(slack: SlackStandin) -> str:
    """Every text of the one result message in the channel (blocks and fallback)."""
    [message] = slack.wait_for(lambda: [m for m in slack.messages(CHANNEL) if not m.thread_ts])
    return json.dumps(message.args["blocks"]) + "\n" + str(message.args.get("text"))


def finding_of(slack: SlackStandin, account: str) -> str:
    [message] = slack.wait_for(lambda: [m for m in slack.messages(CHANNEL) if not m.thread_ts])
    found = [
        b["text"]["text"]
        for b in message.args["blocks"]
        if b.get("type") == "section" and account in str(b.get("text", {}).get("text", ""))
    ]
    assert found, f"no line for {account} in {message.args['blocks']}"
    return "\n".join(found)


def test_an_id_outside_the_organization_is_an_error_never_compliant(
    bot: Bot, fresh: SlackStandin, aws: SimulatedAws
) -> None:
    """Attack: `/rootkey check 999999999999` once answered "no root access key"."""
    org = aws.create_organization(members=["prod"])
    member = org.members[0].account_id
    aws.reset_calls()

    assert command(bot, fresh, f"check {OUTSIDER} {member}").status_code == 200

    line = finding_of(fresh, OUTSIDER)
    assert "could not be checked" in line and "not a member of the Organization" in line
    assert ":white_check_mark:" not in line
    text = result_text(fresh)
    assert "1 of 2 accounts not checked" in text
    assert ":white_check_mark: *1* compliant" in text  # the member, audited as before
    # nothing was read in the outsider's account: one AssumeRole, into the member
    assert aws.call_count(action="AssumeRole") == 1


def test_a_suspended_member_is_an_error(bot: Bot, fresh: SlackStandin, aws: SimulatedAws) -> None:
    org = aws.create_organization(members=["prod", "closing"])
    closed = org.members[1].account_id
    aws.close_account(closed)

    command(bot, fresh, f"check {closed}")

    line = finding_of(fresh, closed)
    assert "not an ACTIVE member of the Organization (SUSPENDED)" in line
    assert "Could not check" in result_text(fresh)


def test_the_bots_own_account_is_audited_without_asking_the_organization(
    bot: Bot, fresh: SlackStandin, aws: SimulatedAws
) -> None:
    aws.create_organization(members=["prod"])
    aws.set_root_keys(MANAGEMENT_ACCOUNT, [RootKeySpec(slot=1, active=True)])
    aws.deny(None, "DescribeAccount")

    command(bot, fresh, f"check {MANAGEMENT_ACCOUNT}")

    assert f"Root access key found in {MANAGEMENT_ACCOUNT}" in result_text(fresh)


def test_an_organization_the_bot_cannot_read_audits_only_its_own_account(
    bot: Bot, fresh: SlackStandin, aws: SimulatedAws
) -> None:
    org = aws.create_organization(members=["prod"])
    member = org.members[0].account_id
    aws.deny(None, "DescribeAccount")

    command(bot, fresh, f"check {member}")

    line = finding_of(fresh, member)
    assert "could not confirm it is an ACTIVE member of the Organization" in line
    assert "DescribeAccount: AccessDenied" in line
    assert ":white_check_mark:" not in line


def test_a_remediation_form_for_an_outsider_is_refused(
    bot: Bot, fresh: SlackStandin, aws: SimulatedAws
) -> None:
    """A hand-made "Request remediation" click naming an outsider opens no request."""
    aws.create_organization(members=["prod"])
    updates = len(fresh.calls("views.update"))

    reply = click(bot, fresh, ActionId.REQUEST_REMEDIATION.value, f"{OUTSIDER}:", ALICE)

    assert reply.status_code == 200
    # the form, opened in its loading state, ends with the re-audit's verdict and no submit
    [view] = fresh.wait_for(lambda: [c.args["view"] for c in fresh.calls("views.update")[updates:]])
    assert "submit" not in view
    assert "not a member of the Organization" in json.dumps(view)
    assert "no root access key" not in json.dumps(view)
    assert bot.store.find() == []


# -- the command line ------------------------------------------------------------------------


def run_check(aws: SimulatedAws, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", "check", *args, "--format", "json"],
        env={
            "PATH": os.environ.get("PATH", ""),
            "PYTHONPATH": str(ROOT),
            **aws.env(),
        },
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_cli_account_outside_the_organization_is_an_error(aws: SimulatedAws) -> None:
    org = aws.create_organization(members=["prod", "closing"])
    member, closed = (m.account_id for m in org.members)
    aws.set_root_keys(member, [RootKeySpec(slot=1, active=False, created=days_ago(30))])
    aws.close_account(closed)

    done = run_check(aws, "--account", OUTSIDER, closed, member)

    assert done.returncode == 1, done.stderr  # the member's key is still found
    verdicts = {a["account_id"]: a for a in json.loads(done.stdout)["accounts"]}
    assert verdicts[OUTSIDER]["status"] == "error"
    assert "not a member of the Organization" in verdicts[OUTSIDER]["reason"]
    assert verdicts[closed]["status"] == "error"
    assert verdicts[member]["status"] == "noncompliant"
    assert f"error: {OUTSIDER}: not a member of the Organization" in done.stderr
    assert "Traceback" not in done.stderr


def test_cli_outsider_alone_exits_2(aws: SimulatedAws) -> None:
    aws.create_organization(members=["prod"])

    done = run_check(aws, "--account", OUTSIDER)

    assert done.returncode == 2, done.stdout
    [verdict] = json.loads(done.stdout)["accounts"]
    assert verdict["status"] == "error"


def test_cli_caller_that_cannot_read_the_organization_audits_as_asked(aws: SimulatedAws) -> None:
    """`--account` from a caller outside any Organization (or denied DescribeAccount) audits the
    named accounts through the audit role as before."""
    org = aws.create_organization(members=["prod"])
    member = org.members[0].account_id
    aws.deny(None, "DescribeAccount")

    done = run_check(aws, "--account", member)

    assert done.returncode == 0, done.stderr
    [verdict] = json.loads(done.stdout)["accounts"]
    assert verdict["status"] == "compliant"
