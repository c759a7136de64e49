"""The AssumeRoot adapter against moto's server with the centralized-root-access stand-in."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from botocore.exceptions import ClientError

from bot.audit.models import mask_key_id
from bot.aws.root import TASK_POLICY_ARN, RootAccess, RootAccessError, fail
from simulator.aws import RootKeySpec, SimOrg, SimulatedAws
from simulator.aws_root import RootAccessStandIn

USED = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def sim() -> Iterator[SimulatedAws]:
    with SimulatedAws() as server:
        RootAccessStandIn.install(server)
        yield server


@pytest.fixture
def org(sim: SimulatedAws) -> SimOrg:
    sim.reset()
    RootAccessStandIn.install(sim).reset()
    return sim.create_organization(members=2)


def access(sim: SimulatedAws) -> RootAccess:
    return RootAccess("eu-west-1", session_factory=sim.session)


def test_features_follow_the_organization(sim: SimulatedAws, org: SimOrg) -> None:
    assert access(sim).features().assume_root_ready
    sim.set_org_features("RootCredentialsManagement")
    features = access(sim).features()
    assert features.root_credentials_management and not features.root_sessions


def test_root_session_lists_keys_with_last_use_and_deletes_them(
    sim: SimulatedAws, org: SimOrg
) -> None:
    member = org.members[0].account_id
    sim.set_root_keys(
        member,
        [
            RootKeySpec(slot=1, active=True, last_used=USED, region="eu-west-1", service="s3"),
            RootKeySpec(slot=2, active=False),
        ],
    )
    stand_in = RootAccessStandIn.install(sim)
    session = access(sim).open(member)
    [opened] = stand_in.sessions()
    assert (opened.account_id, opened.task_policy, opened.duration) == (
        member,
        TASK_POLICY_ARN,
        900,
    )
    assert opened.signing_region == "eu-west-1"  # a regional endpoint's signature
    keys = session.list_keys()
    assert [(k.active, k.last_used_date, k.last_used_service) for k in keys] == [
        (True, USED, "s3"),
        (False, None, None),
    ]
    assert keys[0].key_id not in keys[0].describe()  # masked
    assert "last used 2026-11-20 in eu-west-1 by s3" in keys[0].describe()
    for key in keys:
        session.delete_key(key.key_id)
    session.delete_key(keys[0].key_id)  # already gone: no error
    assert sim.state.root(member).keys == ()
    assert len(stand_in.deleted()) == 2


def test_a_root_session_of_rootkey_cannot_deactivate(sim: SimulatedAws, org: SimOrg) -> None:
    member = org.members[0].account_id
    sim.set_root_keys(member, [RootKeySpec(slot=1)])
    session = access(sim).open(member)
    key_id = session.list_keys()[0].key_id
    with pytest.raises(RootAccessError, match="refused"):
        session.iam.update_access_key(AccessKeyId=key_id, Status="Inactive")
    assert sim.state.root(member).keys[0].active
    assert sim.call_count(member, "UpdateAccessKey") == 0  # never sent


def test_refusals_are_one_line_errors(sim: SimulatedAws, org: SimOrg) -> None:
    sim.set_org_features("RootCredentialsManagement")
    with pytest.raises(RootAccessError) as exc:
        access(sim).open(org.members[0].account_id)
    assert str(exc.value).startswith(f"sts:AssumeRoot in {org.members[0].account_id} failed: ")
    assert "AccessDenied" in str(exc.value) and "\n" not in str(exc.value)
    sim.set_org_features("RootCredentialsManagement", "RootSessions")
    sim.deny(None, "AssumeRoot")
    with pytest.raises(RootAccessError, match="AccessDenied"):
        access(sim).open(org.members[1].account_id)


def test_sessions_are_short_and_regional() -> None:
    with pytest.raises(ValueError, match="900"):
        RootAccess("us-east-1", duration=3600)
    with pytest.raises(ValueError, match="regional"):
        RootAccess("aws-global")


def test_key_ids_in_aws_error_text_are_masked() -> None:
    key_id = "AKIAIOSFODNN7EXAMPLE"  # AWS's documentation example
    refused = ClientError(
        {"Error": {"Code": "AccessDenied", "Message": f"key {key_id} may not be\ndeleted"}},
        "DeleteAccessKey",
    )
    error = str(fail("iam:DeleteAccessKey", "111111111111", refused))
    assert error == (
        "iam:DeleteAccessKey in 111111111111 failed: AccessDenied: "
        f"key {mask_key_id(key_id)} may not be deleted"
    )
    session_id = "ASIA" + "Q" * 12 + "7777"
    plain = str(fail("sts:AssumeRoot", None, RuntimeError(f"bad session {session_id}\nretry")))
    assert plain == "sts:AssumeRoot failed: RuntimeError: bad session ASIA************7777 retry"
