"""The simulated AWS Organization the demo audits: moto's server on 127.0.0.1 with the
repository's extensions (root users with access keys, ListOrganizationsFeatures, AssumeRoot).

A dozen member accounts: most compliant, a few with root keys of different ages and last uses
(one used two days ago, one only deactivated, one with two keys), and one whose audit role is
missing, so the bot reports it as an error. Centralized root access is enabled, so approved
requests run in assume-root mode all the way to "verified".

The moto extensions live in ``tests/support`` (they are shared with the test suite); the demo
runs from a clone of the repository, where they are importable.
"""

from __future__ import annotations

from dataclasses import dataclass
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


class ScenarioUnavailable(Exception):
    """The simulation cannot start (moto or the repository's test support is missing)."""


@dataclass
class Scenario:
    sim: Any  # tests.support.aws.SimulatedAws
    org: Any  # tests.support.aws.SimOrg
    root: Any  # tests.support.aws_root.RootAccessStandIn

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
            f"moto's server is not installed ({exc.name}): "
            "run .venv/bin/pip install -r requirements-demo.txt"
        ) from None
    try:
        from tests.support import aws, aws_root
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
        key = aws.RootKeySpec
        for name, account_id in by_name.items():
            sim.set_root(account_id, mfa=name not in NO_MFA, password_last_used=ago(40))
        sim.set_root(org.management_id, mfa=True, password_last_used=ago(3))
        sim.set_root_keys(
            by_name["legacy-billing"],
            [
                key(
                    slot=1,
                    active=True,
                    created=ago(2150),
                    last_used=ago(2),
                    region="us-east-1",
                    service="s3",
                )
            ],
        )
        sim.set_root_keys(
            by_name["analytics"],
            [
                key(
                    slot=1,
                    active=True,
                    created=ago(400),
                    last_used=ago(95),
                    region="eu-west-1",
                    service="ec2",
                ),
                key(slot=2, active=False, created=ago(200)),
            ],
        )
        sim.set_root_keys(by_name["dev-sandbox"], [key(slot=1, active=True, created=ago(30))])
        sim.set_root_keys(
            by_name["marketing-site"],
            [
                key(
                    slot=1,
                    active=False,
                    created=ago(900),
                    last_used=ago(300),
                    region="us-west-2",
                    service="cloudfront",
                )
            ],
        )
        sim.set_org_features("RootCredentialsManagement", "RootSessions")
        sim.reset_calls()
    except BaseException:
        sim.stop()
        raise
    return Scenario(sim, org, root)
