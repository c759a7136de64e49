"""boto3 sessions to the simulated AWS that read botocore's service models once per test run.

A fresh ``boto3.session.Session`` starts a fresh botocore session, whose loader parses the
service models again for every client (tens of milliseconds for IAM or Organizations, more on a
loaded machine). These sessions are as fresh as ``SimulatedAws.session()`` (their own
credentials, events and clients) and share only the loader, which holds parsed model files.
"""

from __future__ import annotations

import boto3
import botocore.session

from simulator.aws import FAKE_KEY_ID, FAKE_SECRET, REGION, EndpointSession, SimulatedAws

LOADER = botocore.session.get_session().get_component("data_loader")


def sim_session(aws: SimulatedAws) -> boto3.session.Session:
    """``aws.session()``: the management account's session to the simulated endpoint."""
    core = botocore.session.Session()
    core.register_component("data_loader", LOADER)
    return EndpointSession(
        aws.endpoint_url,
        aws_access_key_id=FAKE_KEY_ID,
        aws_secret_access_key=FAKE_SECRET,
        region_name=REGION,
        botocore_session=core,
    )
