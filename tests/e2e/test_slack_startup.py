"""Starting and stopping ``python -m bot``: configuration errors are one line and exit 2."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from simulator.aws import SimulatedAws
from simulator.slack import SlackStandin
from tests.support.botproc import BotProcess, run_bot_once
from tests.support.signing import TEST_SIGNING_SECRET, command_body, post_signed
from tests.support.waiting import wait_until

pytestmark = pytest.mark.slow


def one_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    assert "Traceback" not in stderr
    return lines[0]


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({}, "SLACK_BOT_TOKEN"),
        ({"SLACK_BOT_TOKEN": "not-a-token"}, "SLACK_BOT_TOKEN"),
        ({"SLACK_BOT_TOKEN": "xoxb-1"}, "SLACK_SIGNING_SECRET"),
        ({"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": "xoxb-wrong-kind"}, "SLACK_APP_TOKEN"),
        ({"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "s", "PORT": "http"}, "PORT"),
        (
            {"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "s", "ROOTKEY_SCOPE": "world"},
            "ROOTKEY_SCOPE",
        ),
    ],
)
def test_missing_or_malformed_configuration_is_one_line_and_exit_2(
    env: dict[str, str], variable: str
) -> None:
    done = run_bot_once(env)

    assert done.returncode == 2
    line = one_line(done.stderr)
    assert variable in line
    for secret in env.values():
        if secret.startswith("xox") or secret == "s":
            assert secret not in line or secret == "xoxb-"


def test_a_token_slack_refuses_stops_start_up_in_one_line() -> None:
    with SlackStandin(bot_token="xoxb-the-right-one") as slack:
        done = run_bot_once(
            {
                "SLACK_BOT_TOKEN": "xoxb-a-revoked-one",
                "SLACK_SIGNING_SECRET": TEST_SIGNING_SECRET,
                "SLACK_API_URL": slack.base_url,
            }
        )

    assert done.returncode == 2
    line = one_line(done.stderr)
    assert "SLACK_BOT_TOKEN" in line and "invalid_auth" in line
    assert "xoxb-a-revoked-one" not in done.stderr + done.stdout
    assert [c.method for c in slack.attempts()] == ["auth.test"]


def test_a_bogus_token_and_no_network_is_one_line() -> None:
    """Slack cannot be reached at all (no network): the configuration error is the only line,
    not preceded by the SDK's own log line about the failed request."""
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]  # nothing listens here once the socket is closed
    done = run_bot_once(
        {
            "SLACK_BOT_TOKEN": "xoxb-bogus",
            "SLACK_SIGNING_SECRET": TEST_SIGNING_SECRET,
            "SLACK_API_URL": f"http://127.0.0.1:{port}/api/",
        },
        "run",
        "--host",
        "127.0.0.1",
    )

    assert done.returncode == 2
    line = one_line(done.stderr)
    assert line.startswith("configuration error: SLACK_API_URL: could not reach"), line
    assert "xoxb-bogus" not in done.stderr


def test_sigterm_stops_the_bot_cleanly() -> None:
    with SlackStandin() as slack:
        bot = BotProcess(
            {
                "SLACK_BOT_TOKEN": "xoxb-test-token",
                "SLACK_SIGNING_SECRET": TEST_SIGNING_SECRET,
                "SLACK_API_URL": slack.base_url,
            }
        ).start()
        code = bot.stop()

    assert code == 0
    assert "received SIGTERM, stopping" in bot.logs
    assert TEST_SIGNING_SECRET not in bot.logs
    assert not bot.workdir.exists(), "the bot's temp folder outlived the bot"


def children_of(pid: int) -> set[int]:
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.add(int(stat.parent.name))
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_audit_workers_do_not_outlive_a_killed_bot(aws: SimulatedAws) -> None:
    aws.create_organization(members=4)
    aws.set_latency(0.3)  # keep the audit busy while the bot is killed
    with SlackStandin() as slack:
        bot = BotProcess(
            {
                "SLACK_BOT_TOKEN": "xoxb-test-token",
                "SLACK_SIGNING_SECRET": TEST_SIGNING_SECRET,
                "SLACK_API_URL": slack.base_url,
                **aws.env(),
            }
        ).start()
        assert bot.proc is not None
        body = command_body("check all", response_url=slack.response_url())
        assert post_signed(bot.events_url, body).status_code == 200
        pid = bot.proc.pid
        workers = wait_until(lambda: children_of(pid), 30, "an audit worker process")

        bot.kill()  # SIGKILL: no clean-up code runs in the bot

        wait_until(lambda: not any(alive(p) for p in workers), 15, "the audit workers' end")
        assert not bot.workdir.exists(), "the killed bot's temp folder was left behind"


def last_line(stderr: str) -> str:
    assert "Traceback" not in stderr, stderr
    return [line for line in stderr.splitlines() if line.strip()][-1]


def test_an_app_token_slack_refuses_stops_socket_mode_in_one_line(aws: SimulatedAws) -> None:
    with SlackStandin(bot_token="xoxb-test-token", app_token="xapp-1-right") as slack:
        done = run_bot_once(
            {
                "SLACK_BOT_TOKEN": "xoxb-test-token",
                "SLACK_APP_TOKEN": "xapp-1-revoked",
                "SLACK_API_URL": slack.base_url,
                **aws.env(),
            }
        )

    assert done.returncode == 2
    line = last_line(done.stderr)
    assert line.startswith("configuration error: SLACK_APP_TOKEN")
    assert "invalid_auth" in line
    assert "xapp-1-revoked" not in done.stderr


def test_a_port_in_use_stops_start_up_in_one_line() -> None:
    with SlackStandin() as slack, socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        done = run_bot_once(
            {
                "SLACK_BOT_TOKEN": "xoxb-test-token",
                "SLACK_SIGNING_SECRET": TEST_SIGNING_SECRET,
                "SLACK_API_URL": slack.base_url,
                "PORT": str(taken.getsockname()[1]),
            },
            "run",
            "--host",
            "127.0.0.1",
        )

    assert done.returncode == 2
    line = last_line(done.stderr)
    assert line.startswith("configuration error: PORT: cannot listen on 127.0.0.1:")


def test_the_bot_reads_the_dotenv_of_its_working_directory_and_says_so(tmp_path: Path) -> None:
    """README: a `.env` in the working directory is read first, and the start-up log names
    it (a `.env` next to the code, or in a parent directory, is not read)."""
    with SlackStandin() as slack:
        dotenv = tmp_path / ".env"
        dotenv.write_text(
            f"SLACK_BOT_TOKEN=xoxb-test-token\nSLACK_SIGNING_SECRET={TEST_SIGNING_SECRET}\n"
            f"SLACK_API_URL={slack.base_url}\nDATABASE_URL=sqlite:///{tmp_path / 'r.db'}\n",
            encoding="utf-8",
        )
        bot = BotProcess({}, cwd=tmp_path).start()  # every setting from that file
        code = bot.stop()
    assert code == 0
    assert f"settings read from {dotenv}" in bot.logs
    assert TEST_SIGNING_SECRET not in bot.logs
