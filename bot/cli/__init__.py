"""The command line: no arguments runs the bot; subcommands check, digest, log, db, demo.

Each subcommand lives in its own module with ``add_arguments(parser)`` and ``run(args) -> int``.
Exit codes: 0 fine, 1 a noncompliant account was found, 2 an error (bad arguments, bad
configuration, an account that could not be audited). Errors are one line on stderr.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

from bot.config import ConfigError

SUBCOMMANDS = {
    "run": ("bot.cli.run", "start the bot (the default)"),
    "check": ("bot.cli.check", "audit root access keys and print the result"),
    "digest": ("bot.cli.digest", "build the compliance digest"),
    "log": ("bot.cli.log", "export the remediation audit log"),
    "db": ("bot.cli.db", "database schema: db upgrade"),
    "demo": ("bot.cli.demo", "try the whole product in a browser, no Slack or AWS needed"),
}


class ArgumentParser(argparse.ArgumentParser):
    """argparse, but a usage error is one line and exit code 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        print(f"{self.prog}: error: {message}", file=sys.stderr)
        raise SystemExit(2)


def build_parser() -> tuple[ArgumentParser, dict[str, object]]:
    parser = ArgumentParser(prog="python -m bot", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", parser_class=ArgumentParser)
    modules: dict[str, object] = {}
    for name, (module_name, help_text) in SUBCOMMANDS.items():
        module = importlib.import_module(module_name)
        module.add_arguments(sub.add_parser(name, help=help_text))
        modules[name] = module
    return parser, modules


def main(argv: list[str]) -> int:
    from dotenv import load_dotenv

    load_dotenv(override=False)
    # Subcommand modules are imported before logging is set up: libraries that log at import
    # (alembic's plugin set-up) must not add lines in front of a one-line error.
    parser, modules = build_parser()
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        args = parser.parse_args(argv or ["run"])
    except SystemExit as exc:
        return int(exc.code or 0)
    try:
        return int(modules[args.command or "run"].run(args))  # type: ignore[attr-defined]
    except ConfigError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
