"""The fixed ids of the demo workspace: one team, one app, the bot, two people, two channels.

Ids follow Slack's shapes (``T``, ``A``, ``B``, ``U``, ``C``, ``D``) so the bot validates them like
real ones; they belong to no real workspace.
"""

from __future__ import annotations

from dataclasses import dataclass

from simulator.slack.workspace import Identity

TEAM_ID = "T0DEMO0001"
TEAM_DOMAIN = "rootkey-demo"
TEAM_NAME = "rootkey demo"
APP_ID = "A0DEMO0001"
BOT_ID = "B0DEMO0001"
BOT_USER_ID = "U0DEMOBOT1"
BOT_NAME = "rootkey"
COMMAND = "/rootkey"
IDENTITY = Identity(TEAM_ID, TEAM_NAME, TEAM_DOMAIN, APP_ID, BOT_ID, BOT_USER_ID, BOT_NAME)
# The deprecated verification token Slack still puts in payloads; not a secret anywhere.
VERIFICATION_TOKEN = "demo-verification-token"


@dataclass(frozen=True)
class Person:
    user_id: str
    handle: str
    real_name: str
    role: str  # what the person does in the demo, shown on the page
    color: str  # avatar colour on the page


# Both are approvers: the requester's own Approve shows the rule that matters most (nobody
# approves their own request), and the other approver's goes through.
REQUESTER = Person(
    "U0DEMOREQ1", "riley", "Riley Chen", "security engineer (requester, approver)", "#2b6cb0"
)
APPROVER = Person("U0DEMOAPR1", "alex", "Alex Morgan", "security lead (approver)", "#b7791f")
PEOPLE = (REQUESTER, APPROVER)


@dataclass(frozen=True)
class Channel:
    channel_id: str
    name: str
    topic: str


SECURITY = Channel("C0DEMOSEC1", "security", "Type /rootkey check all to audit the Organization")
DIGEST = Channel("C0DEMODIG1", "rootkey-digest", "The compliance digest, daily and on demand")
CHANNELS = (SECURITY, DIGEST)


def dm_channel_id(user_id: str) -> str:
    """The id of a person's direct-message conversation with the bot."""
    return "D" + user_id[1:]
