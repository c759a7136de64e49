"""The Slack manifest, .env.example and the README agree with the code."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from pathlib import Path

import yaml

from bot.config import load_config
from bot.slack.action_ids import SLASH_COMMAND
from bot.slack.server import EVENTS_PATH

ROOT = Path(__file__).resolve().parents[2]


class Recording(Mapping[str, str]):
    """An empty environment that remembers every variable the loader asked for."""

    def __init__(self) -> None:
        self.asked: set[str] = set()

    def __getitem__(self, key: str) -> str:
        self.asked.add(key)
        raise KeyError(key)

    def get(self, key: str, default: object = None) -> object:  # type: ignore[override]
        self.asked.add(key)
        return default

    def __iter__(self) -> Iterator[str]:
        return iter(())

    def __len__(self) -> int:
        return 0


def variables_read() -> set[str]:
    env = Recording()
    load_config(env)
    return env.asked


def test_env_example_and_the_configuration_guide_list_every_variable_the_bot_reads() -> None:
    example = (ROOT / ".env.example").read_text()
    listed = set(re.findall(r"^([A-Z][A-Z0-9_]+)=", example, re.MULTILINE))
    readme = (ROOT / "docs" / "configuration.md").read_text()
    read = variables_read()
    assert "SLACK_BOT_TOKEN" in read and "ROOTKEY_SCOPE" in read
    assert read - {"AWS_DEFAULT_REGION"} <= listed
    for name in read:
        assert f"`{name}`" in readme, name


def test_manifest_points_slack_at_the_bot() -> None:
    manifest = yaml.safe_load((ROOT / "slack" / "manifest.yml").read_text())

    [command] = manifest["features"]["slash_commands"]
    assert command["command"] == SLASH_COMMAND
    assert command["url"].endswith(EVENTS_PATH)
    assert manifest["settings"]["interactivity"]["is_enabled"] is True
    assert manifest["settings"]["interactivity"]["request_url"].endswith(EVENTS_PATH)
    scopes = set(manifest["oauth_config"]["scopes"]["bot"])
    assert {"commands", "chat:write", "files:write", "usergroups:read", "users:read"} <= scopes
