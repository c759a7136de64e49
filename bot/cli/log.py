"""`python -m bot log --format json|csv`: export the remediation audit log for auditors;
`python -m bot log --verify`: check the log's hash chain.

One row per log line, oldest first: when, who (the Slack user id, and the person's name as the
directory gave it when the line was written), which request (and its account and kind, as the
line recorded them), the event, the state before and after, the detail, why the request was
made (its reason and ticket, on the lines of the request and of its approval that recorded
them in their hashed terms: ``bot.remediation.terms``) and the line's hash.
Everything is plain text for auditors: names and ids, no Slack markup (lines written before
rootkey stored names may still hold mentions such as ``<@U0...>``; they are exported as written,
since the hash covers them). CSV
cells that a spreadsheet would read as a formula get a leading apostrophe, so opening the export
never runs anything.

``--verify`` recomputes every line's SHA-256 from its content and the previous line's hash and
names the first line that does not match (exit 1): a line edited, inserted or removed after it
was written, even by a database superuser. It prints the head (the last line's id and hash);
``--anchor ID:HASH`` (a head kept elsewhere: every digest posts one in Slack) also fails when
that line was later removed, with the lines after it, or the chain rewritten up to it. It also
names each request whose tables (``remediation_requests``, ``risk_exceptions``) disagree with the
line that recorded its terms (its keys, reason and ticket, an accepted risk's owner and
dates) or its last move (``remediation_requests.state``), and each open request no line recorded
terms for (exit 1): rootkey reads those terms and that state from the log, never from the tables
its database role may change (``bot.remediation.terms``, ``bot.store.remediation_moves``).
"""

from __future__ import annotations

import argparse
import csv
import json
import logging
import os
import sys
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import replace
from typing import Any, TextIO

from bot.audit.models import iso
from bot.config import load_config
from bot.remediation.chain import Anchor
from bot.remediation.terms import Terms
from bot.rules import csv_cell
from bot.store import Store, StoreError
from bot.store.remediation import RemediationStore

COLUMNS = (
    "id",
    "at",
    "request_id",
    "account_id",
    "kind",
    "actor",
    "actor_name",
    "event",
    "from_state",
    "to_state",
    "detail",
    "reason",
    "ticket",
    "hash",
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--format", choices=("json", "csv"), default="json", help="output format")
    parser.add_argument(
        "--verify",
        action="store_true",
        help="check the hash chain instead of exporting: exit 1 naming the first line that does "
        "not match",
    )
    parser.add_argument(
        "--anchor",
        action="append",
        default=[],
        type=anchor_arg,
        metavar="ID:HASH",
        help="with --verify: a line id and hash kept outside the database (each digest posts "
        "one); exit 1 when that line is gone or has another hash (repeatable)",
    )
    parser.add_argument("--request", type=int, help="only this request's lines")
    parser.add_argument("--output", "-o", help="write to this file instead of stdout")
    parser.add_argument(
        "--url", help="database URL (default: DATABASE_URL or sqlite:///rootkey.db)"
    )


def anchor_arg(raw: str) -> Anchor:
    try:
        return Anchor.parse(raw)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def rows(remediation: RemediationStore, request_id: int | None) -> Iterator[dict[str, Any]]:
    for entry in remediation.iter_log(request_id):
        terms = Terms.decode(entry.terms) if entry.terms is not None else None
        yield {
            "id": entry.id,
            "at": iso(entry.at),
            "request_id": entry.request_id,
            "account_id": entry.account_id,  # as written: the request's row may change
            "kind": entry.kind,
            "actor": entry.actor,  # a Slack user id, or "rootkey"
            "actor_name": entry.actor_name,  # their name when the line was written (plain)
            "event": entry.event,
            "from_state": entry.from_state,
            "to_state": entry.to_state,
            "detail": entry.detail,
            "reason": terms.reason if terms else None,  # as hashed with the line, not the table's
            "ticket": terms.ticket if terms else None,
            "hash": entry.hash,
        }


def verify(remediation: RemediationStore, anchors: Sequence[Anchor] = ()) -> int:
    from bot.remediation.chain import LineContent, anchor_problem, first_mismatch

    count = 0
    last: str | None = None
    last_id: int | None = None
    wanted = {a.line_id for a in anchors}
    found: dict[int, str | None] = {}

    def lines() -> Iterator[tuple[int, LineContent, str | None]]:
        nonlocal count, last, last_id
        for entry in remediation.iter_log(None):
            count += 1
            last, last_id = entry.hash, entry.id
            if entry.id in wanted:
                found[entry.id] = entry.hash
            yield entry.id, LineContent.of(entry), entry.hash

    mismatch = first_mismatch(lines())
    problems = [str(d) for d in remediation.disagreements()]
    if mismatch is not None:
        problems.append(
            f"log line {mismatch.line_id} does not match its hash: it, or a line before it, was "
            "changed, inserted or removed after it was written (lines after it were not checked)"
        )
    else:
        problems += [p for a in anchors if (p := anchor_problem(a, found.get(a.line_id)))]
    for problem in problems:
        print(f"error: {problem}", file=sys.stderr)
    if problems:
        return 1
    held = f"; {len(anchors)} anchor{'s' if len(anchors) != 1 else ''} held" if anchors else ""
    head = f"; head {last_id}:{last} (keep it: --anchor {last_id}:{last})" if last else ""
    print(f"ok: {count} log line{'s' if count != 1 else ''}, hash chain intact{held}{head}")
    return 0


def write_csv(out: TextIO, items: Iterable[dict[str, Any]]) -> None:
    writer = csv.writer(out, quoting=csv.QUOTE_ALL)  # line breaks inside a cell stay inside
    writer.writerow(COLUMNS)
    for item in items:
        writer.writerow([csv_cell(item.get(c)) for c in COLUMNS])


def write_json(out: TextIO, items: Iterable[dict[str, Any]]) -> None:
    json.dump(list(items), out, indent=2)
    out.write("\n")


def run(args: argparse.Namespace) -> int:
    from bot.wiring import build_services

    logging.getLogger().setLevel(logging.WARNING)  # stderr is for errors; stdout the export
    config = load_config(os.environ)
    url = args.url or config.database_url
    try:
        store = Store.open(url, create=False)  # a database that does not exist is an error
    except StoreError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    services = build_services(replace(config, database_url=url), store=store)
    remediation = services.requests
    write = write_csv if args.format == "csv" else write_json
    try:
        if args.verify:
            return verify(remediation, args.anchor)
        if args.output:
            with open(args.output, "w", encoding="utf-8", newline="") as out:
                write(out, rows(remediation, args.request))
        else:
            write(sys.stdout, rows(remediation, args.request))
    except StoreError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"error: cannot write {args.output}: {exc.strerror}", file=sys.stderr)
        return 2
    finally:
        services.close()
    return 0
