"""The simulated AWS Organization the demo audits: moto's server on 127.0.0.1 with the
repository's extensions (root users with access keys, ListOrganizationsFeatures, AssumeRoot).

A dozen member accounts: most compliant, a few with root keys of different ages and last uses
(one used two days ago, one only deactivated, one with two keys), and one whose audit role is
missing, so the bot reports it as an error. Centralized root access is enabled, so approved
requests run in assume-root mode all the way to "verified". An SQS queue stands where
EventBridge delivers root activity (``QUEUE``): the bot reads its real-time alerts from there,
and ``bot.demo.activity`` puts a simulated root user's calls on it.

The moto extensions live in the repository's ``simulator`` package (shared with the tests and
the benchmarks, never imported by the bot itself); the demo runs from a clone of the repository,
where it is importable.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MEMBERS = (
    "prod-payments",
    "prod-web",
    "prod-data",
    "staging",
    "dev-sandbox",
    "security-tooling",
    "log-archive",
    "shared-network",
    "analytics",
    "ml-research",
    "legacy-billing",
    "marketing-site",
)
MISSING_ROLE = "ml-research"
NO_MFA = {"dev-sandbox", "legacy-billing"}
QUEUE = "rootkey-root-activity"  # the name deploy/ gives the events queue


@dataclass(frozen=True)
class Key:
    """A root access key of the scenario (ages in days before the demo starts)."""

    slot: int
    active: bool
    age: int
    used_days_ago: int | None = None
    region: str | None = None
    service: str | None = None


ROOT_KEYS: dict[str, tuple[Key, ...]] = {
    # six years old and used two days ago: the modal warns that deleting it may break something
    "legacy-billing": (Key(1, True, 2150, 2, "us-east-1", "s3"),),
    # one active key, and an old one already deactivated
    "analytics": (Key(1, True, 400, 95, "eu-west-1", "ec2"), Key(2, False, 200)),
    # created a month ago, never used
    "dev-sandbox": (Key(1, True, 30),),
    # deactivated, not yet deleted
    "marketing-site": (Key(1, False, 900, 300, "us-west-2", "cloudfront"),),
}


class ScenarioUnavailable(Exception):
    """The simulation cannot start (moto or the repository's test support is missing)."""


@dataclass
class Scenario:
    sim: Any  # simulator.aws.SimulatedAws
    org: Any  # simulator.aws.SimOrg
    root: Any  # simulator.aws_root.RootAccessStandIn
    queue_url: str = ""  # the root-activity events queue (ROOTKEY_EVENTS_QUEUE_URL)

    @property
    def endpoint_url(self) -> str:
        return str(self.sim.endpoint_url)

    @property
    def accounts(self) -> int:
        return len(self.org.all_accounts)

    def env(self) -> dict[str, str]:
        return dict(self.sim.env())

    def stop(self) -> None:
        self.sim.stop()


def load_support() -> tuple[Any, Any]:
    try:
        import moto.moto_server.werkzeug_app  # noqa: F401
    except ImportError as exc:
        raise ScenarioUnavailable(
            f"moto's server (the demo extra) is not installed ({exc.name} missing): run "
            f"{Path(sys.executable).as_posix()} -m pip install -r requirements-demo.txt"
        ) from None
    try:
        from simulator import aws, aws_root
    except ImportError as exc:
        raise ScenarioUnavailable(
            f"the simulated AWS extensions are missing ({exc.name}): run the demo from a clone "
            "of the rootkey repository"
        ) from None
    return aws, aws_root


def start() -> Scenario:
    """Start moto's server and lay the Organization out; the caller stops it."""
    aws, aws_root = load_support()
    sim = aws.SimulatedAws().start()
    try:
        org = sim.create_organization(MEMBERS, missing_role={MISSING_ROLE})
        root = aws_root.RootAccessStandIn.install(sim)
        by_name = {m.name: m.account_id for m in org.members}
        ago = aws.days_ago
        for name, account_id in by_name.items():
            sim.set_root(account_id, mfa=name not in NO_MFA, password_last_used=ago(40))
        sim.set_root(org.management_id, mfa=True, password_last_used=ago(3))
        for name, keys in ROOT_KEYS.items():
            sim.set_root_keys(
                by_name[name],
                [
                    aws.RootKeySpec(
                        slot=k.slot,
                        active=k.active,
                        created=ago(k.age),
                        last_used=None if k.used_days_ago is None else ago(k.used_days_ago),
                        region=k.region,
                        service=k.service,
                    )
                    for k in keys
                ],
            )
        sim.set_org_features("RootCredentialsManagement", "RootSessions")
        queue_url = str(sim.client("sqs").create_queue(QueueName=QUEUE)["QueueUrl"])
        sim.reset_calls()
    except BaseException:
        sim.stop()
        raise
    return Scenario(sim, org, root, queue_url)
