"""Every surface takes its numbers from the Organization's current state: read from the
surfaces' source (``ast``), so a later change that counts on its own fails here.

A surface counts on its own when it reads a run's stored totals (``.summary``), or counts
accounts by status itself (``sum``/``len`` over something that names ``Status``, a
``.count`` of a status). Each surface reads ``counts`` (``bot.services.org_state.counts``, or
a ``Counts`` built by it) instead.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SURFACES = (
    "bot/services/home.py",  # the Home tab
    "bot/slack/blocks/home.py",
    "bot/services/digest.py",  # the digest, its chart and digest --print
    "bot/services/digest_report.py",
    "bot/slack/blocks/digest.py",
    "bot/slack/chart.py",
    "bot/cli/digest.py",
    "bot/slack/blocks/status.py",  # /rootkey status
    "bot/slack/blocks/audit.py",  # a check result's header, written and recounted
    "bot/slack/blocks/outcome.py",
)


def names_status(node: ast.AST) -> bool:
    return any(isinstance(n, ast.Name) and n.id == "Status" for n in ast.walk(node))


def own_counting(source: str) -> list[str]:
    """Where ``source`` counts accounts itself, as ``line: what``."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Attribute) and node.attr == "summary":
            found.append(f"{node.lineno}: reads a run's stored totals (.summary)")
        elif isinstance(node, ast.Call):
            fn = node.func
            name = (
                fn.id
                if isinstance(fn, ast.Name)
                else fn.attr
                if isinstance(fn, ast.Attribute)
                else ""
            )
            if name in ("sum", "len", "count") and any(names_status(a) for a in node.args):
                found.append(f"{node.lineno}: counts accounts by status ({name})")
    return sorted(found, key=lambda line: int(line.split(":")[0]))


@pytest.mark.parametrize("path", SURFACES)
def test_a_surface_does_not_count_accounts_on_its_own(path: str) -> None:
    assert own_counting((ROOT / path).read_text(encoding="utf-8")) == []


# The chart draws the trend whose today the digest takes from ``counts`` (``today_from``);
# ``digest --print`` prints the digest: both show numbers only through the digest.
SHOWN_THROUGH_THE_DIGEST = ("bot/slack/chart.py", "bot/cli/digest.py")


@pytest.mark.parametrize("path", [p for p in SURFACES if p not in SHOWN_THROUGH_THE_DIGEST])
def test_a_surface_reads_the_one_counting_function(path: str) -> None:
    tree = ast.parse((ROOT / path).read_text(encoding="utf-8"))
    reads = {
        n.attr if isinstance(n, ast.Attribute) else n.id
        for n in ast.walk(tree)
        if isinstance(n, ast.Attribute | ast.Name)
    }
    imports = {a.name for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) for a in n.names}
    assert reads & {"counts", "Counts"} or imports & {"counts", "Counts"}, path


def test_the_check_finds_what_it_is_for() -> None:
    sample = (
        "total = run.summary.total\n"
        "ok = sum(1 for s in states if s.status is Status.COMPLIANT)\n"
        "bad = len([s for s in states if s.status == Status.ERROR])\n"
        "fine = len(digest.fixed)\n"
    )
    assert own_counting(sample) == [
        "1: reads a run's stored totals (.summary)",
        "2: counts accounts by status (sum)",
        "3: counts accounts by status (len)",
    ]
