"""The demo's root-user control: a simulated root user creates, uses or deletes an access key
in a member account, as someone holding the root password or key would in AWS.

Two things follow, as in AWS, so the alert and the re-audit agree:

1. the root user's state changes (``simulator.aws``): the account summary (live) and the next
   credential report the bot reads show the new key, its last use, or its absence;
2. CloudTrail's record of the call reaches the bot's events queue as EventBridge delivers it
   to SQS: an "AWS API Call via CloudTrail" event built by ``simulator.trail`` (the shape the
   tests use). A key is created or deleted from a console session (temporary credentials with
   a ``sessionContext``); a key's use is signed by the key itself.

AWS allows a root user two access keys: a third is refused (IAM's LimitExceeded), and using or
deleting a key that is not there is refused too, each in one line for the page.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

ACTIONS = {"create": "creates a key", "use": "uses a key", "delete": "deletes a key"}
USED_ACTION = "s3:ListBuckets"  # what the simulated key signs
USED_REGION = "us-east-1"
CONSOLE_KEY = "ASIAIOSFODNN7EXAMPLE"  # the console session's temporary key (AWS's example id)
CONSOLE_AGENT = "AWS Internal"  # what CloudTrail writes for a call made in the console


class ActivityRefused(Exception):
    """What the simulated root user asked for cannot happen; one line for the page."""


def account_named(world: Any, wanted: str) -> tuple[str, str]:
    """(account id, name) of a member account, by name or id."""
    for account in world.org.members:
        if wanted in (account.name, account.account_id):
            return account.account_id, account.name
    raise ActivityRefused(f"no member account named {wanted!r} in the simulated Organization")


def perform(world: Any, account: str, action: str, now: datetime | None = None) -> str:
    """Do ``action`` as the root user of ``account`` (name or id) and put the CloudTrail
    event on the events queue; returns what happened, for the page."""
    from simulator import trail
    from simulator.aws import RootKeySpec

    if action not in ACTIONS:
        raise ActivityRefused(f"unknown root activity {action!r}: one of {', '.join(ACTIONS)}")
    account_id, name = account_named(world, account)
    now = (now or datetime.now(UTC)).replace(microsecond=0)
    keys = list(world.sim.state.root(account_id).keys)
    slots = {k.slot for k in keys}
    key_id = world.root.key_id
    if action == "create":
        free = [slot for slot in (1, 2) if slot not in slots]
        if not free:
            raise ActivityRefused(
                f"the root user of {name} already has two access keys, as many as AWS allows "
                "(LimitExceeded): delete one first"
            )
        new = RootKeySpec(slot=free[0], active=True, created=now)
        world.sim.set_root_keys(account_id, [*keys, new])
        made = key_id(account_id, new.slot)
        event = trail.key_created(
            made, account_id=account_id, key=CONSOLE_KEY, session=True, agent=CONSOLE_AGENT
        )
        done = f"the root user of {name} created access key {made}"
    elif action == "use":
        active = [k for k in keys if k.active]
        if not active:
            raise ActivityRefused(f"the root user of {name} has no active access key to use")
        used = active[0]
        world.sim.set_root_keys(
            account_id,
            [
                replace(k, last_used=now, region=USED_REGION, service="s3") if k is used else k
                for k in keys
            ],
        )
        signer = key_id(account_id, used.slot)
        world.sim.trail.record(account_id, USED_REGION, signer, USED_ACTION, now)
        event = trail.key_used(USED_ACTION, account_id=account_id, key=signer, at=now)
        done = f"the root user of {name} called {USED_ACTION} with access key {signer}"
    else:
        if not keys:
            raise ActivityRefused(f"the root user of {name} has no access key to delete")
        gone = keys[0]
        world.sim.set_root_keys(account_id, [k for k in keys if k is not gone])
        deleted = key_id(account_id, gone.slot)
        event = trail.key_deleted(
            deleted, account_id=account_id, key=CONSOLE_KEY, session=True, agent=CONSOLE_AGENT
        )
        done = f"the root user of {name} deleted access key {deleted}"
    world.sim.client("sqs").send_message(QueueUrl=world.queue_url, MessageBody=trail.body(event))
    return done
