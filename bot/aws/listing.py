"""A flat Organization's ListAccounts pages, read in a process of their own.

ListAccounts is one page after another (20 accounts each, the next asked for once this one is
read), so at 10,000 accounts its 501 pages are the audit's critical path. Read in the auditor's
process, each page's answer waits for the interpreter lock behind the scan's threads: on 2 busy
cores about 3 ms a page, 1.5 s of a 50 s listing (measured: 105.5 ms a page in a process of its
own, 108-109 ms in the scanning one, at 100 ms per call). ``accounts_in_process`` runs
``python -m bot.aws.listing`` instead, which reads the pages with a lock of its own and writes
each page's ACTIVE accounts as one JSON line as soon as it has it; the auditor reads the lines.

The child gets what the auditor's own clients use: the credentials resolved by the standard
chain (as they are now: key, secret and session token, in its environment, never on its command
line), the region, the Organizations endpoint, the concurrency ceiling, the per-account time limit
and the tries per call. It answers exactly as the in-process listing would: the same pages,
only ACTIVE accounts, and a page that cannot be read is the same one-line ``AuditError``. Its
calls are added to the audit's count. Closing the iterator (the audit failed) ends the child.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from bot.aws.errors import AuditError
from bot.aws.organizations import OrgAccount, iter_active_pages
from bot.aws.pacing import Pacer

PROFILE_VARIABLES = ("AWS_PROFILE", "AWS_DEFAULT_PROFILE")
ENDED = "could not list the Organization's accounts (the listing process ended without an answer)"


def child_environment(frozen: Any, region: str, endpoint_url: str) -> dict[str, str]:
    """The auditor's environment with its credentials, region and endpoint made explicit."""
    env = {k: v for k, v in os.environ.items() if k not in PROFILE_VARIABLES}
    env.pop("AWS_SESSION_TOKEN", None)
    env.update(
        AWS_ACCESS_KEY_ID=frozen.access_key,
        AWS_SECRET_ACCESS_KEY=frozen.secret_key,
        AWS_DEFAULT_REGION=region,
        AWS_ENDPOINT_URL_ORGANIZATIONS=endpoint_url,
    )
    if frozen.token:
        env["AWS_SESSION_TOKEN"] = frozen.token
    home = str(Path(__file__).resolve().parents[2])  # where the bot package is
    env["PYTHONPATH"] = os.pathsep.join(p for p in (home, env.get("PYTHONPATH")) if p)
    return env


def accounts_in_process(
    frozen: Any,
    org: Any,
    *,
    ceiling: int,
    account_timeout: float,
    max_attempts: int,
    on_calls: Callable[[int], None],
) -> Iterator[OrgAccount]:
    """The ACTIVE accounts ListAccounts gives, read by a child process (``org``: the auditor's
    Organizations client, for its region and endpoint; ``frozen``: its credentials now)."""
    command = [
        sys.executable,
        "-m",
        "bot.aws.listing",
        str(ceiling),
        str(account_timeout),
        str(max_attempts),
    ]
    env = child_environment(frozen, org.meta.region_name, org.meta.endpoint_url)
    proc = subprocess.Popen(
        command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, env=env, text=True
    )
    assert proc.stdout is not None
    try:
        for line in proc.stdout:
            message = json.loads(line)
            if "accounts" in message:
                for account_id, name in message["accounts"]:
                    yield OrgAccount(account_id=account_id, name=name)
                continue
            on_calls(int(message.get("calls", 0)))
            if "error" in message:
                raise AuditError(str(message["error"]))
            return
        raise AuditError(ENDED)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        proc.stdout.close()


def main(argv: list[str]) -> int:
    """The child: write each page's ACTIVE accounts as ``{"accounts": [[id, name], ...]}``,
    then ``{"calls": n}``, or ``{"error": "...", "calls": n}``."""
    from bot.aws.session import CallCounter, Clients
    from bot.config import Config

    ceiling, account_timeout, max_attempts = int(argv[0]), float(argv[1]), int(argv[2])
    config = Config(
        concurrency=ceiling,
        account_timeout=account_timeout,
        aws_region=os.environ["AWS_DEFAULT_REGION"],
    )
    clients = Clients(config, max_attempts=max_attempts)
    counter = CallCounter()
    clients.count_into(counter)
    out = sys.stdout
    try:
        org = clients.current("organizations")
        # no read-ahead thread: a page is written in microseconds, and this thread's count
        # of calls is the one reported
        for page in iter_active_pages(org, Pacer(ceiling), ahead=False):
            rows = [[account.account_id, account.name] for account in page]
            out.write(json.dumps({"accounts": rows}) + "\n")
            out.flush()
    except AuditError as exc:
        out.write(json.dumps({"error": str(exc), "calls": counter.value()}) + "\n")
        return 0
    out.write(json.dumps({"calls": counter.value()}) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
