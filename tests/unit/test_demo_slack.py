"""The demo's Slack side over real HTTP: slack_sdk's WebClient against its Web API, and the
page's actions arriving at a listener as signed requests that slack_sdk's verifier accepts."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

import pytest
import requests
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.signature import SignatureVerifier

from bot.demo import identities as ids
from bot.demo.server import DemoServer

TOKEN = "xoxb-unit-test"
SECRET = "unit-test-signing-secret"


class Listener:
    """Stands where the bot's /slack/events would: verifies each request as Bolt does, records
    it, and answers with the next queued ack body."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        self.acks: list[bytes] = []
        verifier = SignatureVerifier(SECRET)
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                return None

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if not verifier.is_valid_request(body, dict(self.headers)):
                    self.send_response(401)
                    self.end_headers()
                    return
                form = {k: v[-1] for k, v in parse_qs(body.decode()).items()}
                outer.received.append(json.loads(form["payload"]) if "payload" in form else form)
                ack = outer.acks.pop(0) if outer.acks else b""
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(ack)))
                self.end_headers()
                self.wfile.write(ack)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        # looks for a stop request every 50 ms (socketserver's default 0.5 s is paid at close)
        threading.Thread(
            target=lambda: self.httpd.serve_forever(poll_interval=0.05), daemon=True
        ).start()
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/slack/events"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def demo() -> Iterator[DemoServer]:
    server = DemoServer(0, token=TOKEN)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def listener(demo: DemoServer) -> Iterator[Listener]:
    bot = Listener()
    demo.connect(bot.url, SECRET)
    yield bot
    bot.close()


@pytest.fixture
def client(demo: DemoServer) -> WebClient:
    return WebClient(token=TOKEN, base_url=demo.api_url)


def ui(demo: DemoServer, name: str, **body: Any) -> dict[str, Any]:
    reply = requests.post(f"{demo.base_url}/ui/{name}", json=body, timeout=10)
    return dict(reply.json())


def state(demo: DemoServer, user: str = ids.REQUESTER.user_id) -> dict[str, Any]:
    return dict(requests.get(f"{demo.base_url}/ui/state", params={"user": user}, timeout=10).json())


def test_bolt_identity_and_token_checks(client: WebClient, demo: DemoServer) -> None:
    me = client.auth_test()
    assert me["user_id"] == ids.BOT_USER_ID and me["bot_id"] == ids.BOT_ID
    with pytest.raises(SlackApiError) as refused:
        WebClient(token="xoxb-wrong", base_url=demo.api_url).auth_test()
    assert refused.value.response["error"] == "invalid_auth"


def test_messages_threads_and_updates_show_on_the_page(client: WebClient, demo: DemoServer) -> None:
    parent = client.chat_postMessage(channel=ids.SECURITY.channel_id, text="finding")
    client.chat_postMessage(channel=ids.SECURITY.channel_id, thread_ts=parent["ts"], text="step")
    client.chat_update(channel=ids.SECURITY.channel_id, ts=parent["ts"], text="finding (fixed)")
    messages = {m["ts"]: m for m in state(demo)["messages"]}
    assert "finding (fixed)" in messages[parent["ts"]]["html"]
    assert messages[parent["ts"]]["replies"] == 1
    replies = client.conversations_replies(channel=ids.SECURITY.channel_id, ts=parent["ts"])
    assert [m["text"] for m in replies["messages"]] == ["finding (fixed)", "step"]


def test_slack_limits_are_enforced(client: WebClient) -> None:
    too_many = [{"type": "divider"}] * 51
    too_long = [{"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3001}}]
    for blocks in (too_many, too_long):
        with pytest.raises(SlackApiError) as refused:
            client.chat_postMessage(channel=ids.SECURITY.channel_id, text="t", blocks=blocks)
        assert refused.value.response["error"] == "invalid_blocks"
    with pytest.raises(SlackApiError) as missing:
        client.chat_postMessage(channel="C0NOSUCH01", text="t")
    assert missing.value.response["error"] == "channel_not_found"


def test_ephemeral_messages_are_seen_only_by_their_person(
    client: WebClient, demo: DemoServer
) -> None:
    client.chat_postEphemeral(
        channel=ids.SECURITY.channel_id, user=ids.REQUESTER.user_id, text="only for riley"
    )
    assert any("only for riley" in m["html"] for m in state(demo)["messages"])
    assert not any(
        "only for riley" in m["html"] for m in state(demo, ids.APPROVER.user_id)["messages"]
    )


def test_files_upload_v2_posts_the_file_in_the_thread(client: WebClient, demo: DemoServer) -> None:
    parent = client.chat_postMessage(channel=ids.DIGEST.channel_id, text="digest")
    client.files_upload_v2(
        channel=ids.DIGEST.channel_id,
        thread_ts=parent["ts"],
        filename="digest.csv",
        content="account_id,status\n111111111111,noncompliant\n",
        title="Full report",
    )
    reply = next(m for m in state(demo)["messages"] if m["thread_ts"] == parent["ts"] != m["ts"])
    assert "Full report" in reply["html"]
    file_id = reply["html"].split('href="/files/')[1].split('"')[0]
    served = requests.get(f"{demo.base_url}/files/{file_id}", timeout=10)
    assert "111111111111,noncompliant" in served.text
    assert served.headers["Content-Type"].startswith("text/plain")  # never run as HTML


def test_a_typed_command_reaches_the_listener_signed_with_a_working_response_url(
    demo: DemoServer, listener: Listener
) -> None:
    listener.acks.append(json.dumps({"text": "auditing 13 accounts…"}).encode())
    result = ui(
        demo,
        "command",
        user=ids.REQUESTER.user_id,
        channel=ids.SECURITY.channel_id,
        text="/rootkey check all",
    )
    assert result["status"] == 200
    form = listener.received[-1]
    assert form["command"] == "/rootkey" and form["text"] == "check all"
    assert form["user_id"] == ids.REQUESTER.user_id and form["team_id"] == ids.TEAM_ID
    page = state(demo)["messages"]
    assert any("auditing 13 accounts" in m["html"] and m["ephemeral"] for m in page)
    posted = requests.post(
        form["response_url"], json={"response_type": "in_channel", "text": "result"}, timeout=10
    )
    assert posted.status_code == 200
    seen_by_approver = state(demo, ids.APPROVER.user_id)["messages"]
    assert any("result" in m["html"] and not m["ephemeral"] for m in seen_by_approver)


def test_a_click_and_a_modal_go_out_as_block_actions_and_view_submission(
    client: WebClient, demo: DemoServer, listener: Listener
) -> None:
    message = client.chat_postMessage(
        channel=ids.SECURITY.channel_id,
        text="finding",
        blocks=[
            {
                "type": "actions",
                "block_id": "b1",
                "elements": [
                    {
                        "type": "button",
                        "action_id": "request",
                        "value": "111111111111",
                        "text": {"type": "plain_text", "text": "Request remediation"},
                    }
                ],
            }
        ],
    )
    where = {"type": "message", "channel": ids.SECURITY.channel_id, "ts": message["ts"]}
    ui(
        demo,
        "action",
        user=ids.REQUESTER.user_id,
        block_id="b1",
        action_id="request",
        container=where,
    )
    click = listener.received[-1]
    assert click["type"] == "block_actions"
    assert click["actions"][0]["value"] == "111111111111"  # from the message, not the page
    assert click["message"]["ts"] == message["ts"] and click["user"]["id"] == ids.REQUESTER.user_id

    view = client.views_open(
        trigger_id=click["trigger_id"],
        view={
            "type": "modal",
            "callback_id": "remediation",
            "private_metadata": "42",
            "title": {"type": "plain_text", "text": "Request remediation"},
            "submit": {"type": "plain_text", "text": "Request"},
            "blocks": [
                {
                    "type": "input",
                    "block_id": "reason",
                    "label": {"type": "plain_text", "text": "Reason"},
                    "element": {"type": "plain_text_input", "action_id": "text"},
                }
            ],
        },
    )["view"]
    assert state(demo)["modal"]["view_id"] == view["id"]
    assert state(demo, ids.APPROVER.user_id)["modal"] is None  # only its person sees it
    sent = len(listener.received)
    empty = ui(demo, "submit", user=ids.REQUESTER.user_id, view_id=view["id"], values={})
    assert "reason" in empty["errors"] and len(listener.received) == sent  # Slack would refuse
    done = ui(
        demo,
        "submit",
        user=ids.REQUESTER.user_id,
        view_id=view["id"],
        values={"reason": {"text": {"value": "unused"}}},
    )
    assert done == {"closed": True}
    submission = listener.received[-1]
    assert submission["type"] == "view_submission"
    assert submission["view"]["private_metadata"] == "42"
    assert submission["view"]["state"]["values"]["reason"]["text"]["value"] == "unused"
    assert state(demo)["modal"] is None


def test_a_trigger_id_is_single_use(client: WebClient, demo: DemoServer) -> None:
    trigger = demo.workspace.new_trigger(ids.REQUESTER.user_id)
    view = {"type": "modal", "title": {"type": "plain_text", "text": "x"}, "blocks": []}
    client.views_open(trigger_id=trigger, view=view)
    with pytest.raises(SlackApiError) as reused:
        client.views_open(trigger_id=trigger, view=view)
    # Slack's code for a trigger used once already (views.open reference: "The trigger_id was
    # already exchanged in a previous call").
    assert reused.value.response["error"] == "exchanged_trigger_id"


def test_the_page_backend_refuses_cross_site_forms_and_other_hosts(demo: DemoServer) -> None:
    form = requests.post(f"{demo.base_url}/ui/command", data={"text": "/rootkey"}, timeout=10)
    assert form.status_code == 415
    other = requests.get(demo.base_url + "/", headers={"Host": "evil.example"}, timeout=10)
    assert other.status_code == 421


def test_a_click_on_a_private_message_can_replace_it_through_the_response_url(
    client: WebClient, demo: DemoServer, listener: Listener
) -> None:
    client.chat_postEphemeral(
        channel=ids.SECURITY.channel_id,
        user=ids.REQUESTER.user_id,
        text="confirm?",
        blocks=[
            {
                "type": "actions",
                "block_id": "b1",
                "elements": [
                    {
                        "type": "button",
                        "action_id": "ok",
                        "text": {"type": "plain_text", "text": "OK"},
                    }
                ],
            }
        ],
    )
    mine = next(m for m in state(demo)["messages"] if 'data-action-id="ok"' in m["html"])
    where = {"type": "message", "channel": ids.SECURITY.channel_id, "ts": mine["ts"]}
    refused = ui(
        demo, "action", user=ids.APPROVER.user_id, block_id="b1", action_id="ok", container=where
    )
    assert refused["error"] == "message_not_found"  # another person cannot click it
    ui(demo, "action", user=ids.REQUESTER.user_id, block_id="b1", action_id="ok", container=where)
    click = listener.received[-1]
    assert click["container"]["is_ephemeral"] is True and "message" not in click
    requests.post(
        click["response_url"], json={"replace_original": True, "text": "done"}, timeout=10
    )
    updated = next(m for m in state(demo)["messages"] if m["ts"] == mine["ts"])
    assert "done" in updated["html"] and 'data-action-id="ok"' not in updated["html"]


def test_errors_in_a_view_submission_ack_keep_the_modal_open(
    demo: DemoServer, listener: Listener
) -> None:
    trigger = demo.workspace.new_trigger(ids.REQUESTER.user_id)
    view = WebClient(token=TOKEN, base_url=demo.api_url).views_open(
        trigger_id=trigger,
        view={
            "type": "modal",
            "title": {"type": "plain_text", "text": "Accept risk"},
            "submit": {"type": "plain_text", "text": "Submit"},
            "blocks": [
                {
                    "type": "input",
                    "block_id": "until",
                    "label": {"type": "plain_text", "text": "Until"},
                    "element": {"type": "datepicker", "action_id": "date"},
                }
            ],
        },
    )["view"]
    listener.acks.append(
        json.dumps({"response_action": "errors", "errors": {"until": "At most 90 days"}}).encode()
    )
    answer = ui(
        demo,
        "submit",
        user=ids.REQUESTER.user_id,
        view_id=view["id"],
        values={"until": {"date": {"value": "2099-01-01"}}},
    )
    assert answer == {"errors": {"until": "At most 90 days"}}
    assert listener.received[-1]["view"]["state"]["values"]["until"]["date"] == {
        "type": "datepicker",
        "selected_date": "2099-01-01",
    }
    assert state(demo)["modal"]["view_id"] == view["id"]
