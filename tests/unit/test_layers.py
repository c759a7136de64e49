"""The layers hold: read from the imports themselves (``ast``), so a later change cannot
quietly break them.

- No cycle in the import graph of ``bot/`` and ``handlers/`` (every import counts: at module
  level, inside functions, and under ``TYPE_CHECKING``).
- The use cases (``bot/services``) know no Slack and no other outside thing: none of
  slack_sdk, slack_bolt, ``bot.slack`` or ``handlers``, and none of the adapters (``bot.store``,
  ``bot.aws``), the background machinery (``bot.scheduler``, ``bot.jobs``, ``bot.process``,
  ``bot.runtime``, APScheduler, multiprocessing, ``concurrent.futures``' pools and futures) or
  the drawing library (PIL). They talk to the outside only through the Protocols of
  ``bot/services/ports`` and plain records (``bot/records``). ``threading`` stays allowed: a
  ``Lock`` or an ``Event`` guarding a service's own memory is not infrastructure (no service
  starts a thread: its work goes to the ``JobQueue`` and ``Timers`` ports).
- The audit core (``bot/audit``) is pure: none of boto3, botocore, slack_sdk, sqlalchemy.
- The product never imports the tests.
- No module under ``bot/`` is over 500 lines.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("bot", "handlers")
MAX_LINES = 500
# Modules some of whose names are banned apart (read as ``module.name``).
NAMED = ("concurrent.futures",)

FORBIDDEN = {
    "bot.services": (
        "slack_sdk",
        "slack_bolt",
        "bot.slack",
        "handlers",
        "bot.store",
        "bot.aws",
        "bot.scheduler",
        "bot.jobs",
        "bot.process",
        "bot.runtime",
        "apscheduler",
        "PIL",
        "multiprocessing",
        "concurrent.futures",
    ),
    "bot.audit": ("boto3", "botocore", "slack_sdk", "sqlalchemy"),
    "bot": ("tests",),
    "handlers": ("tests",),
}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            found[module_name(path)] = path
    return found


MODULES = modules()


def imported(name: str, path: Path) -> Iterator[str]:
    """Every module ``name`` (at ``path``) imports, absolute, as written or resolved."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                # ``from pkg import mod`` imports the module pkg.mod when there is one
                yield f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base
                if base in NAMED:
                    yield f"{base}.{alias.name}"  # a name banned on its own (a process pool)


def graph() -> dict[str, set[str]]:
    edges: dict[str, set[str]] = {}
    for name, path in MODULES.items():
        edges[name] = {target for target in imported(name, path) if target in MODULES}
        edges[name].discard(name)
    return edges


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(edges[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def within(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def test_the_import_graph_of_bot_and_handlers_has_no_cycle() -> None:
    assert cycles(graph()) == []


def breaches(layer: str) -> set[str]:
    return {
        f"{name} imports {target}"
        for name, path in MODULES.items()
        if within(name, layer)
        for target in imported(name, path)
        for banned in FORBIDDEN[layer]
        if within(target, banned)
    }


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_a_layer_imports_nothing_it_must_not(layer: str) -> None:
    assert sorted(breaches(layer)) == []


def test_no_module_under_bot_is_over_500_lines() -> None:
    long = {
        name: lines
        for name, path in MODULES.items()
        if within(name, "bot")
        and (lines := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert long == {}


def test_the_checks_catch_what_they_are_for(tmp_path: Path) -> None:
    """The graph reader sees every kind of import, and the cycle finder finds a cycle."""
    source = tmp_path / "sample.py"
    source.write_text(
        "from typing import TYPE_CHECKING\n"
        "import slack_sdk.web\n"
        "if TYPE_CHECKING:\n"
        "    from bot.slack import poster\n"
        "def late():\n"
        "    from handlers import middleware\n"
        "from . import jobs\n"
        "from concurrent.futures import ProcessPoolExecutor\n",
        encoding="utf-8",
    )
    seen = set(imported("bot.services.sample", source))
    assert {"slack_sdk.web", "bot.slack.poster", "handlers.middleware"} <= seen
    assert "bot.services.jobs" in seen or "bot.services" in seen
    assert "concurrent.futures.ProcessPoolExecutor" in seen
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []
