"""`python -m bot digest --print`: the digest's Block Kit JSON on stdout, nothing posted.

By default it runs a fresh audit of the configured scope (``ROOTKEY_SCOPE``) through AWS and
saves it, as a scheduled digest would; ``--no-audit`` builds from what is saved instead (the
Organization as it stands: every account by its latest verdict, ``bot.services.org_state``).
Changes are counted from the last digest posted in ``--channel`` (default
``ROOTKEY_DIGEST_CHANNEL``).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from dataclasses import replace

from bot.config import load_config
from bot.store import Store, StoreError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--print",
        dest="print_json",
        action="store_true",
        help="write the digest's Block Kit JSON (blocks and text) to stdout without posting",
    )
    parser.add_argument(
        "--no-audit",
        action="store_true",
        help="build from the last saved audit instead of running a fresh one",
    )
    parser.add_argument("--channel", help="count changes since the last digest in this channel")


def fail(message: str) -> int:
    print(f"python -m bot digest: error: {message}", file=sys.stderr)
    return 2


def run(args: argparse.Namespace) -> int:
    from bot.aws.auditor import AwsAuditor
    from bot.aws.errors import AuditError
    from bot.slack.blocks.digest import digest_message
    from bot.wiring import build_services

    logging.getLogger().setLevel(logging.WARNING)
    if not args.print_json:
        return fail("only --print is available here; the bot posts digests itself")
    config = load_config(os.environ)
    channel = args.channel or config.digest_channel
    try:
        # --no-audit only reads: a database that does not exist is an error, never created
        store = Store.open(config.database_url, create=not args.no_audit)
    except StoreError as exc:
        return fail(str(exc))
    # The bot's own services: the same digest (accepted risks and open requests included) that
    # the schedule would post, audited here in this process rather than in worker processes.
    # A preview sends nothing anywhere: not to Slack, and not to Security Hub either.
    preview = replace(config, securityhub=False)
    services = build_services(preview, store=store, auditor=AwsAuditor(preview))
    try:
        digest = services.digest
        try:
            if not args.no_audit:
                run_id = digest.audit("cli", None, channel)
            else:
                latest = digest.latest_run_id()
                if latest is None:
                    return fail("no saved audit yet; run without --no-audit")
                run_id = latest
            message = digest_message(digest.build(run_id, channel=channel))
        except (AuditError, StoreError) as exc:
            return fail(str(exc))
    finally:
        services.close()
    payload = {"text": message.text, "blocks": [block.to_dict() for block in message.blocks]}
    json.dump(payload, sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0
