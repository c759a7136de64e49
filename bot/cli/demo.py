"""`python -m bot demo [--port N]`: the whole product in a browser, with no Slack workspace and
no AWS account. A simulated AWS Organization (moto's server), the real bot in HTTP mode, and a
Slack-like page, all on 127.0.0.1. Prints the page's address; Ctrl-C stops everything."""

from __future__ import annotations

import argparse
import sys


def port_number(raw: str) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a port number, got {raw!r}") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"expected a port from 0 to 65535, got {value}")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--port",
        type=port_number,
        default=0,
        help="port of the page on 127.0.0.1 (default: a free port)",
    )


def run(args: argparse.Namespace) -> int:
    try:
        from bot.demo.orchestrator import run as run_demo
    except ModuleNotFoundError as exc:
        if not (exc.name or "").startswith("simulator"):
            raise
        print(
            "rootkey demo: the simulator package is missing: run the demo from a clone of the "
            "rootkey repository",
            file=sys.stderr,
        )
        return 2
    return run_demo(port=args.port)
