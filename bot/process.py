"""Who this process is, and whether another one still runs: one identity for every claim.

A remediation lease and a digest slot claim both name their holder with ``process_id()``:
the machine (hostname, plus the kernel boot id and PID namespace where Linux tells them, so
that containers sharing a hostname are told apart), the process id, and a token unique to
this start (process ids are reused). ``process_gone`` judges such a name conservatively: only
a holder on this very machine and namespace, whose process id no longer runs, is gone.
"""

from __future__ import annotations

import os
import socket
import uuid
from pathlib import Path


def machine() -> str:
    """This host as a claim names it: the hostname, plus (where Linux tells) the kernel boot id
    and the PID namespace, so that containers sharing a hostname are told apart."""
    host = socket.gethostname()
    try:
        boot = Path("/proc/sys/kernel/random/boot_id").read_text(encoding="ascii").strip()
        pid_ns = os.readlink("/proc/self/ns/pid")  # "pid:[4026531836]"
    except OSError:
        return host  # unknown: no claim is ever judged by a process id (see process_gone)
    digits = "".join(c for c in pid_ns if c.isdigit())
    return f"{host}/{boot.replace('-', '')[:12]}.{digits}"


def process_id() -> str:
    """Who holds a lease or a claim: machine, process id and a token unique to this start."""
    return f"{machine()}:{os.getpid()}:{uuid.uuid4().hex}"


def process_gone(owner: str | None, me: str) -> bool:
    """True when the holder ``owner`` is surely a process that no longer runs.

    Only a holder in this same boot and PID namespace (``machine()``) is judged by its
    process id, and never ours (``me``) nor one with our process id (an earlier start with the
    same number, or another namespace): those wait for the lease to run out.
    """
    if not owner:
        return True
    if owner == me:
        return False
    host, _, rest = owner.partition(":")
    pid_text, _, _token = rest.partition(":")
    here = me.partition(":")[0]
    if host != here or "/" not in here or not pid_text.isdigit():
        return False  # another machine or namespace, or we cannot tell: wait for the lease
    pid = int(pid_text)
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


class ProcessIdentity:
    """This process as a lease names its holder (the ``Identity`` port of
    ``bot.services.ports``): one ``process_id`` for the life of the process."""

    def __init__(self) -> None:
        self.me = process_id()

    def gone(self, owner: str | None) -> bool:
        return process_gone(owner, self.me)
