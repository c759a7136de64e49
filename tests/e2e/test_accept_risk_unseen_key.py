"""An accepted risk never covers a root key its audit could not see, end to end.

AWS regenerates the IAM credential report at most every 4 hours (the simulator keeps it as AWS
does), and GetAccountSummary only says "some key". So a root key created after the report was
generated is not in the audit: the report lists only the key the risk was accepted for. The
root-activity alert of that CreateAccessKey (CloudTrail, through the SQS queue) is what shows
it: from then on the check, the digest, ``/rootkey status`` and the Home tab show the account
as a finding with its buttons, and say why.

Messages are picked by account and by block id, never by order of arrival; nothing waits for
something not to happen.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.slack.action_ids import ActionId
from bot.store.remediation import RemediationStore
from simulator import trail
from simulator.aws import RootKeySpec, SimulatedAws, days_ago
from simulator.slack import SlackStandin
from tests.e2e.test_accept_risk import (
    APPROVER,
    BOT_TOKEN,
    accept_risk,
    check_all,
    digest,
    findings,
    running_bot,
)
from tests.e2e.test_root_alerts_bot import queue_empty, send
from tests.e2e.test_slack_home import home_opened, post_event
from tests.support.botproc import BotProcess
from tests.support.signing import FINDING_MESSAGE
from tests.support.slackflow import block, button, status

pytestmark = pytest.mark.slow

ALERTS = "C0ALERTS01"
NEW_KEY = "AKIAI44QH8DHBEXAMPLE"


@pytest.fixture
def slack() -> Iterator[SlackStandin]:
    with SlackStandin(bot_token=BOT_TOKEN, earlier=[FINDING_MESSAGE]) as standin:
        yield standin


@pytest.fixture
def queue(aws: SimulatedAws) -> str:
    return str(aws.client("sqs").create_queue(QueueName="rootkey-root-activity")["QueueUrl"])


@pytest.fixture
def bot(
    slack: SlackStandin, aws: SimulatedAws, queue: str, tmp_path: Path
) -> Iterator[tuple[BotProcess, RemediationStore]]:
    yield from running_bot(
        slack, aws, tmp_path, ROOTKEY_EVENTS_QUEUE_URL=queue, ROOTKEY_ALERT_CHANNEL=ALERTS
    )


def test_a_key_created_after_the_report_is_a_finding_despite_the_exception(
    bot: tuple[BotProcess, RemediationStore],
    slack: SlackStandin,
    aws: SimulatedAws,
    queue: str,
) -> None:
    process, store = bot
    org = aws.create_organization(members=["prod", "staging"])
    account, other = (m.account_id for m in org.members)
    old = RootKeySpec(slot=1, active=False, created=days_ago(700))
    aws.set_root_keys(account, [old])
    aws.set_root_keys(other, [RootKeySpec(slot=1, active=True, created=days_ago(30))])

    exc = accept_risk(process, slack, store, check_all(process, slack), account)
    covered = check_all(process, slack)
    assert account not in findings(covered) and other in findings(covered)

    # The attack: a new, active root key beside the accepted one. The credential report is
    # younger than 4 hours, so AWS (and the simulator) keeps answering the one without it.
    created_at = datetime.now(UTC).replace(microsecond=0)
    aws.set_root_keys(account, [old, RootKeySpec(slot=2, active=True, created=created_at)])
    blind = check_all(process, slack)
    assert account not in findings(blind)  # the report cannot show it: only the alert can

    # CloudTrail's CreateAccessKey reaches the bot through the queue and is alerted.
    send(aws, queue, trail.key_created(NEW_KEY, account_id=account, at=created_at))
    slack.wait_for(
        lambda: any(account in json.dumps(m.args) for m in slack.messages(ALERTS)) or None
    )
    slack.wait_for(lambda: queue_empty(aws, queue) or None)

    after = check_all(process, slack)
    assert account in findings(after) and other in findings(after)
    assert block(after, "rootkey_accepted") is None
    counts = block(after, "rootkey_summary")
    assert counts is not None and ":red_circle: *2* noncompliant" in counts["text"]["text"]
    button(after, f"rootkey_finding_actions:{account}", ActionId.REQUEST_REMEDIATION)
    button(after, f"rootkey_finding_actions:{account}", ActionId.ACCEPT_RISK)
    finding = block(after, f"rootkey_finding:{account}")
    assert finding is not None
    text = finding["text"]["text"]
    assert f"accepted risk (request #{exc.id}) no longer covers it" in text
    when = created_at.strftime("%Y-%m-%d %H:%M UTC")
    assert f"a root key was created at {when}, after the credential report this audit read" in (
        text
    )
    assert "(generated " in text

    # The digest, /rootkey status and the Home tab agree: a finding, not an accepted risk.
    posted = digest(process, slack)
    assert posted.args["text"].startswith("Root key digest: 2 of ")
    assert "accepted risk" not in posted.args["text"]
    answer = json.dumps(status(process.events_url, slack, APPROVER))
    assert f"#{exc.id}" in answer and "no longer covers" in answer
    assert "after the credential report" in answer
    assert post_event(process, home_opened(APPROVER)) == 200
    home = slack.wait_for(
        lambda: next(
            (
                json.dumps(c.args["view"])
                for c in slack.calls("views.publish")
                if c.args.get("user_id") == APPROVER
            ),
            None,
        )
    )
    assert f"rootkey_home_finding:{account}" in home
    assert f"rootkey_home_finding_actions:{account}" in home
