"""The container: the Dockerfile linted, compose's shape, and where an engine works, the image
built and its /healthz answering (else the test says exactly why it could not run)."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from simulator.slack import SlackStandin
from tests.support.signing import TEST_SIGNING_SECRET

REPO = Path(__file__).resolve().parents[2]
TOKEN = "xoxb-test-token"


def hadolint() -> str:
    found = shutil.which("hadolint") or str(Path(sys.executable).with_name("hadolint"))
    assert Path(found).exists(), "hadolint is missing: pip install -r requirements-dev.txt"
    return found


def test_dockerfile_passes_hadolint() -> None:
    proc = subprocess.run(
        [hadolint(), "Dockerfile"], cwd=REPO, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_hadolint_is_not_a_rubber_stamp(tmp_path: Path) -> None:
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python:latest\nRUN pip install requests\nCMD python -m bot\n")
    proc = subprocess.run([hadolint(), str(bad)], capture_output=True, text=True, timeout=60)
    assert proc.returncode != 0
    assert "DL3007" in proc.stdout  # the latest tag


def test_image_holds_only_the_runtime_and_runs_unprivileged() -> None:
    lines = [line.strip() for line in (REPO / "Dockerfile").read_text().splitlines()]
    base = next(line for line in lines if line.startswith("FROM "))
    assert "-slim" in base and ":latest" not in base
    user = next(line for line in lines if line.startswith("USER "))
    assert user.split()[1] not in {"0", "root"}
    installs = [line for line in lines if "pip install" in line]
    assert installs == ["RUN pip install --no-cache-dir -r requirements.txt"]
    assert any("bot.healthcheck" in line for line in lines if "CMD" in line)
    assert lines[-1] == 'CMD ["python", "-m", "bot"]'
    ignored = (REPO / ".dockerignore").read_text().splitlines()
    assert ignored[1:5] == ["*", "!requirements.txt", "!bot/", "!handlers/"]


def test_compose_runs_two_bots_on_postgresql() -> None:
    compose = yaml.safe_load((REPO / "compose.yaml").read_text())
    bot, db = compose["services"]["bot"], compose["services"]["db"]
    assert bot["deploy"]["replicas"] == 2
    assert bot["environment"]["DATABASE_URL"].startswith("postgresql+psycopg://")
    assert "@db:5432/" in bot["environment"]["DATABASE_URL"]
    assert bot["depends_on"]["db"]["condition"] == "service_healthy"
    assert db["image"].startswith("postgres:")
    assert "pg_isready" in db["healthcheck"]["test"]


def wait_healthy(port: int, seconds: float = 120) -> dict[str, object]:
    """GET /healthz until it answers (the bot is starting), at most ``seconds``."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            url = f"http://127.0.0.1:{port}/healthz"
            with urllib.request.urlopen(url, timeout=2) as reply:
                return dict(json.loads(reply.read()))
        except OSError:
            time.sleep(0.5)
    return {}


def test_what_the_image_holds_is_enough_to_run_the_bot(tmp_path: Path) -> None:
    """Only what .dockerignore lets in (requirements.txt, bot/, handlers/), as the image's
    command runs it: the bot starts, /healthz answers, the health check command agrees."""
    app = tmp_path / "app"
    app.mkdir()
    shutil.copy(REPO / "requirements.txt", app)
    for package in ("bot", "handlers"):
        shutil.copytree(REPO / package, app / package, ignore=shutil.ignore_patterns("__pycache__"))
    port = free_port()
    with SlackStandin(bot_token=TOKEN) as slack:
        env = {
            "PATH": "/usr/bin:/bin",
            "HOME": str(tmp_path),
            "SLACK_BOT_TOKEN": TOKEN,
            "SLACK_SIGNING_SECRET": TEST_SIGNING_SECRET,
            "SLACK_API_URL": slack.base_url,
            "PORT": str(port),
            "DATABASE_URL": f"sqlite:///{tmp_path / 'rootkey.db'}",
        }
        bot = subprocess.Popen(
            [sys.executable, "-m", "bot"],
            cwd=app,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            health = wait_healthy(port)
            check = subprocess.run(
                [sys.executable, "-m", "bot.healthcheck"],
                cwd=app,
                env=env,
                capture_output=True,
                text=True,
                timeout=30,
            )
        finally:
            bot.terminate()
            _, errors = bot.communicate(timeout=60)
    assert health.get("ok") is True, errors[-3000:]
    assert check.returncode == 0, check.stderr
    assert "tests" not in errors  # nothing outside the image was needed


def test_the_health_check_command_fails_when_nothing_answers() -> None:
    env = {"PATH": "/usr/bin:/bin", "PORT": str(free_port())}
    proc = subprocess.run(
        [sys.executable, "-m", "bot.healthcheck"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert proc.returncode == 1
    assert proc.stderr.startswith("unhealthy: http://127.0.0.1:")


# ------------------------------------------------------------------- the image, where possible


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def docker(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout)


def first_line(text: str) -> str:
    return next((line.strip() for line in text.splitlines() if line.strip()), "(no output)")


@pytest.fixture
def engine() -> None:
    """Skip, saying why, where no container engine can build here."""
    if shutil.which("docker") is None:
        pytest.skip("no container engine: the docker command is not installed")
    try:
        info = docker("info", "--format", "{{json .ServerVersion}}", timeout=30)
    except subprocess.TimeoutExpired:
        pytest.skip("no container engine: `docker info` did not answer in 30 s")
    if info.returncode != 0:
        pytest.skip(f"no container engine: `docker info` says: {first_line(info.stderr)}")


@pytest.fixture
def image(engine: None) -> Iterator[str]:
    tag = f"rootkey-test:{uuid.uuid4().hex[:8]}"
    base = next(
        line.split()[1]
        for line in (REPO / "Dockerfile").read_text().splitlines()
        if line.startswith("FROM ")
    )
    pulled = docker("image", "inspect", base)
    if pulled.returncode != 0:
        pull = docker("pull", base, timeout=300)
        if pull.returncode != 0:
            pytest.skip(
                f"the base image {base} could not be pulled (no registry it lives in is "
                f"reachable from here): {first_line(pull.stderr)}"
            )
    build = docker("build", "--tag", tag, str(REPO), timeout=900)
    assert build.returncode == 0, build.stderr[-3000:]
    yield tag
    docker("image", "rm", "--force", tag)


def test_the_image_starts_the_bot_and_healthz_answers(image: str) -> None:
    port = free_port()
    name = f"rootkey-test-{uuid.uuid4().hex[:8]}"
    with SlackStandin(bot_token=TOKEN) as slack:
        run = docker(
            "run", "--detach", "--name", name, "--network", "host",
            "--env", f"SLACK_BOT_TOKEN={TOKEN}",
            "--env", f"SLACK_SIGNING_SECRET={TEST_SIGNING_SECRET}",
            "--env", f"SLACK_API_URL={slack.base_url}",
            "--env", f"PORT={port}",
            image,
        )  # fmt: skip
        assert run.returncode == 0, run.stderr
        try:
            health = wait_healthy(port)
            logs = docker("logs", name).stderr
            assert health.get("ok") is True, logs[-3000:]
            check = docker("exec", name, "python", "-m", "bot.healthcheck")
            assert check.returncode == 0, check.stderr
            assert docker("exec", name, "id", "-u").stdout.strip() == "10001"
        finally:
            docker("rm", "--force", name)
