"""A tool whose job is to remove long-lived access keys never asks for one: no example file,
template or guide holds an AWS access key, or tells the operator to set one."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = sorted(
    [
        REPO / ".env.example",
        REPO / "compose.yaml",
        REPO / "Dockerfile",
        REPO / "Procfile",
        REPO / "README.md",
        *(REPO / "deploy").glob("*"),
        *(REPO / "docs").rglob("*.md"),
        *(REPO / "deploy").rglob("*.sql"),
    ]
)
KEY_ID = re.compile(r"\b(AKIA|ASIA)[A-Z0-9]{16}\b")
KEY_SETTINGS = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: str(p.relative_to(REPO)))
def test_no_access_key_in_example_files(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert not KEY_ID.search(text), f"{path.name} holds an access key id"
    for line in text.splitlines():
        # naming the variables to warn against them is fine; offering them as a setting is not
        if any(name in line for name in KEY_SETTINGS):
            assert re.search(r"\b(never|not|no|instead)\b", line, re.I), (
                f"{path.name} offers long-lived keys: {line.strip()}"
            )


def test_compose_gives_the_bot_aws_credentials_without_keys() -> None:
    compose = yaml.safe_load((REPO / "compose.yaml").read_text())
    bot = compose["services"]["bot"]
    env = bot.get("environment", {})
    assert not set(env) & set(KEY_SETTINGS)
    # a profile (SSO or a role) from the operator's AWS config, mounted read-only
    assert "AWS_PROFILE" in env
    mounts = [str(volume) for volume in bot.get("volumes", [])]
    assert any(mount.endswith("/home/rootkey/.aws:ro") for mount in mounts), mounts
    assert env.get("AWS_CONFIG_FILE", "").startswith("/home/rootkey/.aws/")


def test_compose_migrates_as_the_owner_and_runs_the_bot_as_its_own_role() -> None:
    """README, "Two PostgreSQL roles": the owner migrates and grants; the bot's role may only
    read and append to the log, so it cannot switch the log's triggers off."""
    services = yaml.safe_load((REPO / "compose.yaml").read_text())["services"]
    migrate, bot, db = services["migrate"], services["bot"], services["db"]
    script = (
        " ".join(migrate["command"]) if isinstance(migrate["command"], list) else migrate["command"]
    )
    assert "db upgrade" in script and "db grant --role rootkey_bot" in script
    assert "rootkey_owner:" in migrate["environment"]["OWNER_URL"]
    assert "rootkey_bot:" in bot["environment"]["DATABASE_URL"]
    assert bot["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    # the two roles are made when the database is first created
    init = [str(volume) for volume in db["volumes"] if "docker-entrypoint-initdb.d" in str(volume)]
    assert init, db["volumes"]
    sql = (REPO / "deploy" / "postgres-roles.sql").read_text()
    assert "CREATE ROLE rootkey_owner" in sql and "CREATE ROLE rootkey_bot" in sql
    assert "SUPERUSER" not in sql.replace("NOSUPERUSER", "")
