"""Pieces of the remediation service that need no Slack or AWS: leases and the owners file."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from bot.config import ConfigError
from bot.process import process_gone, process_id
from bot.services.remediation import Owners
from bot.slack.blocks.remediation_events import elapsed


def dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_a_lease_of_a_dead_process_on_this_machine_is_gone() -> None:
    me = process_id()
    here = me.partition(":")[0]
    assert process_gone(f"{here}:{dead_pid()}:abcd1234", me)
    assert process_gone(None, me)


def test_a_live_process_or_another_host_keeps_its_lease() -> None:
    me = process_id()
    here = me.partition(":")[0]
    assert not process_gone(f"{here}:1:abcd1234", me)  # pid 1 always runs
    assert not process_gone(f"other-host-{here}:{dead_pid()}:abcd1234", me)


def test_a_container_sharing_our_hostname_keeps_its_lease() -> None:
    # Same hostname, another PID namespace: its process ids mean nothing here.
    me = process_id()
    assert me.startswith(f"{socket.gethostname()}/")  # boot id and PID namespace (Linux)
    other_namespace = f"{socket.gethostname()}/000000000000.1"
    assert not process_gone(f"{other_namespace}:{dead_pid()}:abcd1234", me)
    assert not process_gone(f"{socket.gethostname()}:{dead_pid()}:abcd1234", me)  # no namespace


def test_our_own_lease_and_our_process_id_are_never_gone() -> None:
    me = process_id()
    assert me.startswith(me.partition(":")[0] + f":{os.getpid()}:")
    assert not process_gone(me, me)
    # The same pid with another token: an earlier start with this number, or the same number
    # in another namespace; both wait for the lease to run out.
    assert not process_gone(f"{me.partition(':')[0]}:{os.getpid()}:00000000", me)
    assert process_id() != me  # a token unique to each start


def test_owners_file_is_reread_when_it_changes(tmp_path: Path) -> None:
    path = tmp_path / "owners.txt"
    path.write_text("111111111111 UOWNERA\n")
    owners = Owners(str(path))
    assert owners.get("111111111111") == "UOWNERA"
    path.write_text("111111111111 UOWNERB\n222222222222 UOWNERC\n")
    os.utime(path, (1_900_000_000, 1_900_000_000))  # a new modification time
    assert owners.get("111111111111") == "UOWNERB"
    assert owners.get("222222222222") == "UOWNERC"
    # A broken edit keeps the last good mapping instead of dropping every owner.
    path.write_text("not an owners line at all\n")
    os.utime(path, (1_900_000_100, 1_900_000_100))
    assert owners.get("222222222222") == "UOWNERC"


def test_a_broken_owners_file_stops_start_up(tmp_path: Path) -> None:
    path = tmp_path / "owners.txt"
    path.write_text("111111111111 someone\n")
    with pytest.raises(ConfigError, match="ROOTKEY_OWNERS"):
        Owners(str(path))


def test_no_owners_file_means_no_owner() -> None:
    assert Owners(None).get("111111111111") is None


@pytest.mark.parametrize(
    ("seconds", "words"),
    [(5, "under a minute"), (60, "1 minute"), (7200, "2 hours"), (3 * 86400 + 5, "3 days")],
)
def test_elapsed_time_in_words(seconds: float, words: str) -> None:
    assert elapsed(seconds) == words
