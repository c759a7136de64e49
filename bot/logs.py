"""How log lines are written: ``text`` for a person, ``json`` for a log pipeline.

``ROOTKEY_LOG_FORMAT`` chooses (``bot.config.parse_log_format``). In ``json`` every line is one
JSON object with ``time`` (UTC, ISO 8601, milliseconds), ``level``, ``logger`` and ``message``,
and ``exception`` (the traceback, newlines escaped) when the record carries one: a traceback
never spreads over several lines a pipeline would read as several events. The bot's audit
worker processes write the same way, and so do Python's warnings and an exception that ends a
thread.
"""

from __future__ import annotations

import json
import logging
import threading
from datetime import UTC, datetime

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class JsonFormatter(logging.Formatter):
    """One JSON object per record, on one line."""

    def format(self, record: logging.LogRecord) -> str:
        at = datetime.fromtimestamp(record.created, UTC)
        entry = {
            "time": at.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info and record.exc_info[1] is not None:
            entry["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry)


def thread_failures_logged() -> None:
    """An exception that ends a thread goes to the log (one record), not raw to stderr."""

    def hook(args: threading.ExceptHookArgs) -> None:
        if args.exc_type is SystemExit or args.exc_value is None:
            return
        name = args.thread.name if args.thread is not None else "a thread"
        logging.getLogger("bot").error(
            "%s stopped on an unexpected error",
            name,
            exc_info=(args.exc_type, args.exc_value, args.exc_traceback),
        )

    threading.excepthook = hook


def formatter(log_format: str, text: logging.Formatter | None = None) -> logging.Formatter:
    """The formatter of ``log_format``; ``text`` is the one to use for ``text`` (default: the
    bot's line with time, level and logger)."""
    if log_format == "json":
        return JsonFormatter()
    return text or logging.Formatter(TEXT_FORMAT)


def set_up(log_format: str, text: logging.Formatter | None = None) -> None:
    """Log INFO and above to stderr in ``log_format``, unless logging is already set up (as
    ``logging.basicConfig``: a caller's own set-up is left alone)."""
    root = logging.getLogger()
    if root.handlers:
        return
    handler = logging.StreamHandler()
    handler.setFormatter(formatter(log_format, text))
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    if log_format == "json":
        logging.captureWarnings(True)
        thread_failures_logged()
