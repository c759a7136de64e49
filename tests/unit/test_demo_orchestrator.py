"""What the demo gives the bot: its own settings only, never the person's real ones."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import load_config
from bot.demo import identities as ids
from bot.demo.orchestrator import bot_environment


def test_the_bot_gets_the_demo_settings_and_nothing_from_the_shell(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for name, value in {
        "SLACK_APP_TOKEN": "xapp-1-real-workspace",
        "SLACK_BOT_TOKEN": "xoxb-real-workspace",
        "AWS_PROFILE": "production",
        "AWS_SESSION_TOKEN": "real-session",
        "DATABASE_URL": "postgresql+psycopg://prod-db/rootkey",
        "ROOTKEY_DRY_RUN": "true",
    }.items():
        monkeypatch.setenv(name, value)
    env = bot_environment(
        "http://127.0.0.1:5000/api/",
        {"AWS_ENDPOINT_URL": "http://127.0.0.1:5001", "AWS_ACCESS_KEY_ID": "testing"},
        5002,
        "demo-secret",
        tmp_path,
    )
    for name in ("SLACK_APP_TOKEN", "AWS_PROFILE", "AWS_SESSION_TOKEN", "ROOTKEY_DRY_RUN"):
        assert name not in env
    assert env["PYTHON_DOTENV_DISABLED"] == "1"  # a .env with real tokens is not read either
    assert env["AWS_CONFIG_FILE"] == env["AWS_SHARED_CREDENTIALS_FILE"]  # no profiles

    config = load_config(env)
    config.require_slack()
    assert not config.socket_mode  # HTTP mode: the page posts to /slack/events
    assert config.slack_bot_token != "xoxb-real-workspace"
    assert config.slack_api_url == "http://127.0.0.1:5000/api/"
    assert config.database_url == f"sqlite:///{tmp_path / 'rootkey.db'}"
    assert config.scope == "org" and config.remediation == "assume-root"
    # the requester is an approver too, so the demo shows that nobody approves their own
    assert config.approvers == (ids.REQUESTER.user_id, ids.APPROVER.user_id)
    assert config.digest_channel == ids.DIGEST.channel_id
    assert (config.slack_team_id, config.slack_app_id) == (ids.TEAM_ID, ids.APP_ID)
    assert config.port == 5002
