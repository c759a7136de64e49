"""The simulated AWS answers an HTML page in place of AWS, and botocore reacts as it really does.

A proxy, a load balancer or an endpoint that does not serve the API answers HTML. botocore
(``botocore/parsers.py``) reads an error status whose body starts with ``<html>`` as a generic
error, a ``ClientError`` named by the status, which standard retry mode sends again (500, 502,
503, 504 are transient); for the XML (query) protocol of IAM and STS any other page goes to the
XML parser and raises ``ResponseParserError``, which is not a ``BotoCoreError`` and is not
retried. The JSON protocol (Organizations) takes a page it cannot parse as an error message (a
``ClientError`` named by the status) or, with status 200, as an empty answer.
"""

from __future__ import annotations

import pytest
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from botocore.parsers import ResponseParserError

from simulator.aws import GENERIC_HTML_PAGE, SimulatedAws

RETRIES = Config(retries={"mode": "standard", "total_max_attempts": 3})


@pytest.mark.parametrize("status", [500, 200])
@pytest.mark.parametrize(
    ("service", "action", "call"),
    [
        ("iam", "GetAccountSummary", "get_account_summary"),
        ("sts", "GetCallerIdentity", "get_caller_identity"),
    ],
)
def test_xml_apis_raise_response_parser_error_once_on_a_page_that_is_not_xml(
    aws: SimulatedAws, status: int, service: str, action: str, call: str
) -> None:
    aws.create_organization(1)
    aws.answer_html(None, action, status=status)
    client = aws.session().client(service, config=RETRIES)
    with pytest.raises(ResponseParserError) as caught:
        getattr(client, call)()
    assert not isinstance(caught.value, BotoCoreError)
    assert aws.call_count(None, action) == 1  # not retried


def test_json_apis_read_an_html_500_as_a_client_error_and_retry_it(aws: SimulatedAws) -> None:
    aws.create_organization(1)
    aws.answer_html(None, "ListAccounts", status=500)
    org = aws.session().client("organizations", config=RETRIES)
    with pytest.raises(ClientError) as caught:
        org.list_accounts()
    assert caught.value.response["Error"]["Code"] == "500"
    assert caught.value.response["Error"]["Message"].startswith("<!DOCTYPE html>")
    assert aws.call_count(None, "ListAccounts") == 3


def test_json_apis_read_an_html_200_as_an_empty_answer(aws: SimulatedAws) -> None:
    aws.create_organization(1)
    aws.answer_html(None, "ListAccounts", status=200)
    page = aws.session().client("organizations", config=RETRIES).list_accounts()
    assert "Accounts" not in page and "NextToken" not in page


def test_a_generic_html_error_is_a_client_error_named_by_its_status(aws: SimulatedAws) -> None:
    aws.create_organization(1)
    aws.answer_html(None, "GetAccountSummary", status=503, page=GENERIC_HTML_PAGE)
    iam = aws.session().client("iam", config=RETRIES)
    with pytest.raises(ClientError) as caught:
        iam.get_account_summary()
    assert caught.value.response["Error"]["Code"] == "503"
    assert aws.call_count(None, "GetAccountSummary") == 3  # retried as a transient error


def test_html_answers_run_out_and_clear(aws: SimulatedAws) -> None:
    aws.create_organization(1)
    aws.answer_html(None, "GetCallerIdentity", times=1)
    sts = aws.session().client("sts", config=RETRIES)
    with pytest.raises(ResponseParserError):
        sts.get_caller_identity()
    assert sts.get_caller_identity()["Account"]
    aws.answer_html(None, "GetCallerIdentity")
    aws.clear_faults()
    assert sts.get_caller_identity()["Account"]
