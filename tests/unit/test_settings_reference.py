"""The settings are described once (bot/settings.py) and that description cannot drift: it
names exactly the variables the code reads, with the defaults the code applies, and
docs/configuration.md and .env.example follow it."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from bot.config import load_config
from bot.settings import SETTINGS, Setting, reference_markdown

REPO = Path(__file__).resolve().parents[2]
VARIABLE = re.compile(r"(SLACK|ROOTKEY|AWS|DATABASE|PORT)[A-Z0-9_]*")


def variables_read_by_load_config() -> set[str]:
    """Every environment variable name passed to a call inside ``load_config``."""
    tree = ast.parse((REPO / "bot" / "config.py").read_text(encoding="utf-8"))
    (function,) = [
        node
        for node in tree.body
        if isinstance(node, ast.FunctionDef) and node.name == "load_config"
    ]
    names: set[str] = set()
    for node in ast.walk(function):
        if isinstance(node, ast.Call) and node.args:
            first = node.args[0]
            if (
                isinstance(first, ast.Constant)
                and isinstance(first.value, str)
                and VARIABLE.fullmatch(first.value)
            ):
                names.add(first.value)
    return names


def test_the_table_names_exactly_what_the_code_reads() -> None:
    documented = [s.name for s in SETTINGS]
    assert len(documented) == len(set(documented))
    assert set(documented) == variables_read_by_load_config()


@pytest.mark.parametrize(
    "setting", [s for s in SETTINGS if s.literal_default], ids=lambda s: s.name
)
def test_each_written_default_is_the_default_the_code_applies(setting: Setting) -> None:
    assert load_config({setting.name: setting.default}) == load_config({})


def test_the_configuration_guide_is_generated_from_the_table() -> None:
    written = (REPO / "docs" / "configuration.md").read_text(encoding="utf-8")
    assert written == reference_markdown(), (
        "docs/configuration.md is stale: run python -m bot.settings > docs/configuration.md"
    )


def test_env_example_names_every_setting() -> None:
    example = (REPO / ".env.example").read_text(encoding="utf-8")
    named = set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]+)=", example, re.M))
    assert {s.name for s in SETTINGS} - {"AWS_DEFAULT_REGION"} <= named
