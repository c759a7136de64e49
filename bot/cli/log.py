"""`python -m bot log --format json|csv`: export the remediation audit log for auditors.

One row per log line, oldest first: when, who, which request (and its account and kind), the
event, the state before and after, and the detail. CSV cells that a spreadsheet would read as a
formula (starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return) get a leading
apostrophe, so opening the export never runs anything.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
from collections.abc import Iterable, Iterator
from typing import Any, TextIO

from bot.audit.models import iso
from bot.config import load_config
from bot.rules import csv_cell
from bot.store import Store, StoreError

COLUMNS = (
    "id",
    "at",
    "request_id",
    "account_id",
    "kind",
    "actor",
    "event",
    "from_state",
    "to_state",
    "detail",
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--format", choices=("json", "csv"), default="json", help="output format")
    parser.add_argument("--request", type=int, help="only this request's lines")
    parser.add_argument("--output", "-o", help="write to this file instead of stdout")
    parser.add_argument(
        "--url", help="database URL (default: DATABASE_URL or sqlite:///rootkey.db)"
    )


def rows(store: Store, request_id: int | None) -> Iterator[dict[str, Any]]:
    from bot.store.remediation import RemediationStore

    remediation = RemediationStore(store.engine)
    requests = {r.id: r for r in remediation.find()}
    for entry in remediation.iter_log(request_id):
        req = requests.get(entry.request_id)
        yield {
            "id": entry.id,
            "at": iso(entry.at),
            "request_id": entry.request_id,
            "account_id": req.account_id if req else None,
            "kind": req.kind.value if req else None,
            "actor": entry.actor,
            "event": entry.event,
            "from_state": entry.from_state,
            "to_state": entry.to_state,
            "detail": entry.detail,
        }


def write_csv(out: TextIO, items: Iterable[dict[str, Any]]) -> None:
    writer = csv.writer(out, quoting=csv.QUOTE_ALL)  # line breaks inside a cell stay inside
    writer.writerow(COLUMNS)
    for item in items:
        writer.writerow([csv_cell(item[c]) for c in COLUMNS])


def write_json(out: TextIO, items: Iterable[dict[str, Any]]) -> None:
    json.dump(list(items), out, indent=2)
    out.write("\n")


def run(args: argparse.Namespace) -> int:
    url = args.url or load_config(os.environ).database_url
    try:
        store = Store.open(url)
    except StoreError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    write = write_csv if args.format == "csv" else write_json
    try:
        if args.output:
            with open(args.output, "w", encoding="utf-8", newline="") as out:
                write(out, rows(store, args.request))
        else:
            write(sys.stdout, rows(store, args.request))
    except StoreError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"error: cannot write {args.output}: {exc.strerror}", file=sys.stderr)
        return 2
    finally:
        store.close()
    return 0
