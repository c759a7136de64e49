"""`python -m bot demo` as a person runs it: it prints the page's address, and SIGINT (Ctrl-C) or
SIGTERM stop it cleanly, with no process left behind."""

from __future__ import annotations

import json
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
START_DEADLINE = 120.0  # seconds; a deadline for a loaded machine, not a speed target
STOP_DEADLINE = 60.0


def children_of(pid: int) -> dict[int, int]:
    """pid -> parent pid, for every process on the machine (from /proc)."""
    table: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        table[int(entry.name)] = int(fields[1])
    return table


def descendants(pid: int) -> set[int]:
    table = children_of(pid)
    found: set[int] = set()
    frontier = {pid}
    while frontier:
        kids = {child for child, parent in table.items() if parent in frontier}
        kids -= found
        found |= kids
        frontier = kids
    return found


def alive(pid: int) -> bool:
    """Running, and not merely a zombie waiting to be reaped."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def command_line(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


class DemoProcess:
    """``python -m bot demo --port 0`` in a subprocess; ``url`` once it printed the address."""

    def __init__(self, *args: str) -> None:
        self.stderr = tempfile.TemporaryFile()  # noqa: SIM115 - closed with the process
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bot", "demo", "--port", "0", *args],
            cwd=ROOT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=self.stderr,
        )
        self.url = self.read_address()

    def errors(self) -> str:
        self.stderr.seek(0)
        return self.stderr.read().decode(errors="replace")

    def read_address(self) -> str:
        assert self.proc.stdout is not None
        deadline = time.monotonic() + START_DEADLINE
        buffer = b""
        while time.monotonic() < deadline:
            ready, _, _ = select.select([self.proc.stdout], [], [], 0.5)
            if ready:
                chunk = os.read(self.proc.stdout.fileno(), 4096)
                if not chunk:
                    break
                buffer += chunk
                for line in buffer.decode(errors="replace").splitlines():
                    if "http://127.0.0.1:" in line:
                        return line.split("open ", 1)[1].split()[0]
            if self.proc.poll() is not None:
                break
        self.stop(signal.SIGKILL)
        raise AssertionError(f"the demo printed no address:\n{buffer.decode()}\n{self.errors()}")

    @property
    def port(self) -> int:
        return int(self.url.rstrip("/").rsplit(":", 1)[1])

    def stop(self, signum: int = signal.SIGINT) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signum)
        try:
            return self.proc.wait(STOP_DEADLINE)
        except subprocess.TimeoutExpired:
            for pid in descendants(self.proc.pid):
                os.kill(pid, signal.SIGKILL)
            self.proc.kill()
            self.proc.wait()
            raise


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_demo_stops_cleanly_and_leaves_no_process(signum: int) -> None:
    demo = DemoProcess()
    try:
        with urllib.request.urlopen(f"{demo.url}healthz", timeout=10) as reply:
            assert b'"bot_connected": true' in reply.read()
        with urllib.request.urlopen(demo.url, timeout=10) as reply:
            assert b"rootkey demo" in reply.read()
        started = descendants(demo.proc.pid)
        bots = [pid for pid in started if "-m bot run" in command_line(pid)]
        assert bots, f"the real bot is not a child of the demo: {started}"
    finally:
        code = demo.stop(signum)
    assert code == 0, demo.errors()
    left = [f"{pid} {command_line(pid)}" for pid in started if alive(pid)]
    assert not left, f"processes left behind: {left}"
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", demo.port), timeout=2):
        pass
    assert "Traceback" not in demo.errors()


def test_demo_without_moto_says_how_to_install_it() -> None:
    script = (
        "import sys; sys.modules['moto'] = None; from bot.cli import main; sys.exit(main(['demo']))"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    lines = [line for line in result.stderr.splitlines() if "rootkey demo:" in line]
    assert len(lines) == 1 and "-m pip install -r requirements-demo.txt" in lines[0], result.stderr
    assert "Traceback" not in result.stderr
    assert "http://" not in result.stdout


def test_a_port_in_use_is_one_clear_line() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "bot", "demo", "--port", str(port)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert result.returncode == 2
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr
    assert "Traceback" not in result.stderr and "http://" not in result.stdout


def test_the_bot_does_not_outlive_a_killed_demo() -> None:
    """Even SIGKILL, which the demo cannot handle, leaves no bot running (Linux)."""
    demo = DemoProcess()
    bots = [p for p in descendants(demo.proc.pid) if "-m bot run" in command_line(p)]
    assert bots
    workdir = Path(os.readlink(f"/proc/{bots[0]}/cwd"))  # the demo's temporary directory
    demo.proc.kill()
    demo.proc.wait(STOP_DEADLINE)
    deadline = time.monotonic() + STOP_DEADLINE
    while any(alive(pid) for pid in bots) and time.monotonic() < deadline:
        time.sleep(0.2)
    left = [pid for pid in bots if alive(pid)]
    for pid in left:
        os.kill(pid, signal.SIGKILL)
    if workdir.name.startswith("rootkey-demo-"):  # a killed demo could not remove it
        shutil.rmtree(workdir, ignore_errors=True)
    assert not left, "the bot kept running after the demo was killed"


def ui_post(base: str, path: str, body: dict[str, str]) -> dict[str, object]:
    """One request on its own connection, closed after the answer (as curl would send it)."""
    request = urllib.request.Request(
        f"{base}ui/{path}",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", "Connection": "close"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=START_DEADLINE) as reply:
        return dict(json.loads(reply.read()))


def test_the_bot_restarted_in_another_mode_keeps_running() -> None:
    """The mode switch restarts the bot; the restarted bot outlives the request that asked
    for it (a bot tied to the thread that started it would get SIGTERM when it ends)."""
    demo = DemoProcess()
    try:
        user = "U0DEMOREQ1"
        assert ui_post(demo.url, "mode", {"user": user, "mode": "tracked"}) == {"mode": "tracked"}
        answer = ui_post(
            demo.url, "command", {"user": user, "channel": "C0DEMOSEC1", "text": "/rootkey help"}
        )
        assert answer == {"status": 200, "problem": None}, answer
        assert "DATABASE_URL=sqlite:///" in demo.errors()
    finally:
        assert demo.stop() == 0, demo.errors()
