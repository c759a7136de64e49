"""The command line: no arguments runs the bot; subcommands check, digest, log, db, demo,
doctor.

Each subcommand lives in its own module with ``add_arguments(parser)`` and ``run(args) -> int``
(and optionally ``EPILOG``, shown at the end of its ``--help``). Only the module of the
subcommand being run is imported: an offline ``check`` never loads the database libraries.
Exit codes: 0 fine, 1 a noncompliant account was found, 2 an error (bad arguments, bad
configuration, an account that could not be audited, anything unexpected). Errors are one line
on stderr; an uncaught exception never exits with Python's 1, which would read as "a root key
was found".
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
from pathlib import Path
from types import ModuleType

from bot import logs
from bot.config import ConfigError, parse_log_format

SUBCOMMANDS = {
    "run": ("bot.cli.run", "start the bot (the default)"),
    "check": ("bot.cli.check", "audit root access keys and print the result"),
    "digest": ("bot.cli.digest", "build the compliance digest"),
    "log": ("bot.cli.log", "export the remediation audit log"),
    "db": ("bot.cli.db", "database schema: db upgrade, db revision"),
    "demo": ("bot.cli.demo", "try the whole product in a browser, no Slack or AWS needed"),
    "doctor": ("bot.cli.doctor", "check a deployment: Slack, AWS and the database, live"),
}


LOG_FORMAT = logs.TEXT_FORMAT


class ArgumentParser(argparse.ArgumentParser):
    """argparse, but a usage error is one line and exit code 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        print(f"{self.prog}: error: {message}", file=sys.stderr)
        raise SystemExit(2)


def chosen(argv: list[str]) -> str | None:
    """The subcommand ``argv`` runs (``run`` when empty), or None (top-level help, a typo)."""
    if not argv:
        return "run"
    return argv[0] if argv[0] in SUBCOMMANDS else None


def build_parser(command: str | None) -> tuple[ArgumentParser, ModuleType | None]:
    """The parser, with the arguments of ``command`` only (its module is the only one
    imported; the others are listed by name)."""
    parser = ArgumentParser(prog="python -m bot", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", parser_class=ArgumentParser)
    chosen_module = None
    for name, (module_name, help_text) in SUBCOMMANDS.items():
        if name != command:
            sub.add_parser(name, help=help_text)
            continue
        chosen_module = importlib.import_module(module_name)
        sub_parser = sub.add_parser(
            name,
            help=help_text,
            description=(chosen_module.__doc__ or help_text).strip().replace("``", ""),
            epilog=getattr(chosen_module, "EPILOG", None),
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        chosen_module.add_arguments(sub_parser)
    return parser, chosen_module


class OneLineFormatter(logging.Formatter):
    """Log records of a one-shot command: one line each, never a traceback on stderr."""

    def format(self, record: logging.LogRecord) -> str:
        record = logging.makeLogRecord(record.__dict__)
        if record.exc_info and record.exc_info[1] is not None:
            record.msg = f"{record.getMessage()} ({one_line(record.exc_info[1])})"
            record.args = None
        record.exc_info = record.exc_text = record.stack_info = None
        return " ".join(super().format(record).split())


def one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    detail = f": {text[0][:300]}" if text else ""
    return f"{type(exc).__name__}{detail}"


def read_dotenv() -> Path | None:
    """The ``.env`` of the working directory, if there is one, fills the environment (a value
    already set wins). Never a ``.env`` found next to the code or in a parent directory: what
    the README promises is the directory the command is run from."""
    from dotenv import load_dotenv

    path = Path.cwd() / ".env"
    if not path.is_file():
        return None
    load_dotenv(path, override=False)
    return path


def quiet_broken_pipe() -> int:
    """The reader of standard output went away (``… | head``): no message, and exit 2, since
    the result was not delivered (0 would read as "compliant"). Standard output is pointed at
    /dev/null so that Python's own flush at exit does not complain again."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
    return 2


def main(argv: list[str]) -> int:
    dotenv = read_dotenv()
    command = chosen(argv)
    parser, module = build_parser(command)
    try:
        log_format = parse_log_format(os.environ.get("ROOTKEY_LOG_FORMAT"))
    except ConfigError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    # the bot's own log keeps tracebacks; a one-shot command's stderr does not
    logs.set_up(
        log_format, (OneLineFormatter if command != "run" else logging.Formatter)(LOG_FORMAT)
    )
    # In JSON, the bot's last words are log records too: a pipeline reads every line.
    bot_json = command == "run" and log_format == "json"

    def say(line: str) -> None:
        if bot_json:
            logging.getLogger("bot").error("%s", line)
        else:
            print(line, file=sys.stderr)

    # Alembic logs its plugin set-up at INFO when first imported (which may be late, inside a
    # subcommand): those lines must not come in front of a one-line error.
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
    try:
        args = parser.parse_args(argv or ["run"])
    except SystemExit as exc:
        return int(exc.code or 0)
    args.dotenv = dotenv  # the .env read, if any: the bot names it once its settings are good
    assert module is not None  # argparse accepted a subcommand: it is the chosen one
    try:
        code = int(module.run(args))
        sys.stdout.flush()  # a closed pipe shows here, not in Python's flush at exit
        return code
    except ConfigError as exc:
        say(f"configuration error: {exc}")
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return quiet_broken_pipe()
    except Exception as exc:  # the exit code contract: never Python's 1 for a crash
        if command == "run":
            # the bot's operators read its log: keep the traceback there
            logging.getLogger("bot").exception("the bot stopped on an unexpected error")
        say(f"python -m bot {command}: unexpected error: {one_line(exc)}")
        return 2
