"""The small rules: written once, matched whole, ASCII digits only."""

from __future__ import annotations

import pytest

from bot.config import ConfigError, load_config
from bot.rules import csv_cell, is_account_id, is_group_id, is_user_id
from bot.slack.commands import parse_command


@pytest.mark.parametrize(
    "value",
    [
        "11111111111",  # 11 digits
        "1111111111111",  # 13 digits
        "111111111111\n",  # a trailing newline ($ would let it through)
        "١١١١١١١١١١١١",  # Arabic-Indic digits (\d would let them through)
        "11111111111１",  # a fullwidth digit
        " 111111111111",
    ],
)
def test_an_account_id_is_twelve_ascii_digits_and_nothing_else(value: str) -> None:
    assert not is_account_id(value)
    assert is_account_id("111111111111")


@pytest.mark.parametrize("value", ["U0123ABCD\n", "u0123abcd", "U", "S0123ABCD", "<@U0123ABCD>"])
def test_a_user_id_is_matched_whole(value: str) -> None:
    assert not is_user_id(value)
    assert is_user_id("U0123ABCD") and is_user_id("W0123ABCD")


def test_a_group_id_is_not_a_user_id() -> None:
    assert is_group_id("S0123ABCD") and not is_group_id("U0123ABCD")
    assert not is_group_id("S0123ABCD\n")


@pytest.mark.parametrize("value", ["=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx"])
def test_a_csv_cell_that_a_spreadsheet_would_run_is_shown_as_text(value: str) -> None:
    assert csv_cell(value) == "'" + value
    assert csv_cell("prod") == "prod"
    assert csv_cell(None) == ""


def test_the_cli_refuses_non_ascii_account_digits(capsys: pytest.CaptureFixture[str]) -> None:
    from bot.cli import main

    code = main(["check", "--account", "١١١١١١١١١١١١"])
    assert code == 2
    assert "12-digit" in capsys.readouterr().err


def test_the_slash_command_refuses_non_ascii_account_digits() -> None:
    with pytest.raises(ValueError):
        parse_command("check ١١١١١١١١١١١١")


def test_a_role_name_with_non_ascii_letters_stops_start_up() -> None:
    with pytest.raises(ConfigError, match="ROOTKEY_AUDIT_ROLE"):
        load_config({"SLACK_BOT_TOKEN": "xoxb-1", "ROOTKEY_AUDIT_ROLE": "Rootkéy"})
