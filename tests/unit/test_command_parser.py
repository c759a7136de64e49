"""The /rootkey command parser: typed commands, one-line usage errors, never a crash."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.audit.models import Scope
from bot.slack.commands import (
    MAX_ACCOUNTS,
    AccountName,
    Check,
    Help,
    Subcommand,
    UsageError,
    parse_account_id,
    parse_account_ref,
    parse_command,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("check", Check()),
        ("  CHECK  ", Check()),
        ("check all", Check(Scope("org"))),
        ("check ALL", Check(Scope("org"))),
        ("check org", Check(Scope("org"))),
        ("check 111111111111", Check(Scope("accounts", ("111111111111",)))),
        (
            "check 111111111111 2222-2222-2222 111111111111",
            Check(Scope("accounts", ("111111111111", "222222222222"))),
        ),
        ("", Help()),
        ("help", Help()),
        ("HELP me", Help()),
        ("digest", Subcommand("digest")),
        ("history 111111111111", Subcommand("history", ("111111111111",))),
        (
            "check legacy-billing 111111111111 Legacy-Billing",
            Check(Scope("accounts", ("111111111111",)), names=("legacy-billing", "Legacy-Billing")),
        ),
        ("check legacy-billing", Check(None, names=("legacy-billing",))),
        ("Frobnicate x y", Subcommand("frobnicate", ("x", "y"))),
    ],
)
def test_commands_parse_to_typed_values(text: str, expected: object) -> None:
    assert parse_command(text) == expected


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("check 12345", "'12345' is not an AWS account id"),
        ("check 1111111111111", "is not an AWS account id"),
        ("check 111111111111 12-3 4567", "'12-3', '4567' are not AWS account ids"),
        ("check café", "'café' is not an AWS account id"),  # no AWS account name has it
        ("check " + "n" * 51, "is not an AWS account id"),  # longer than an account name
        ("check all 111111111111", "either 'check all' or a list of account ids"),
        ("check " + "x" * 500, "…'"),
    ],
)
def test_bad_check_arguments_give_one_clear_line(text: str, says: str) -> None:
    with pytest.raises(UsageError) as caught:
        parse_command(text)
    message = str(caught.value)
    assert says in message
    assert "\n" not in message and len(message) < 300


def test_too_many_accounts_is_refused() -> None:
    ids = " ".join(f"{i:012d}" for i in range(1, MAX_ACCOUNTS + 2))
    with pytest.raises(UsageError, match="at most 100 accounts"):
        parse_command(f"check {ids}")


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["1234-5678-9012"], "123456789012"),
        (["legacy-billing"], AccountName("legacy-billing")),
        (["Legacy", "Billing"], AccountName("Legacy Billing")),  # a name may hold spaces
    ],
)
def test_history_takes_an_account_id_or_name(args: list[str], expected: object) -> None:
    assert parse_account_ref(args) == expected


@pytest.mark.parametrize("args", [["12345"], ["x" * 51], ["caf\u00e9"]])
def test_history_refuses_what_is_neither(args: list[str]) -> None:
    with pytest.raises(UsageError):
        parse_account_ref(args)


def test_dashed_account_id_is_normalised() -> None:
    assert parse_account_id("1234-5678-9012") == "123456789012"
    with pytest.raises(UsageError):
        parse_account_id("1234-56789012")


@given(st.text(max_size=300))
def test_any_text_parses_or_is_a_usage_error(text: str) -> None:
    try:
        command = parse_command(text)
    except UsageError as exc:
        assert "\n" not in str(exc) and len(str(exc)) < 300
        return
    assert isinstance(command, Check | Help | Subcommand)
    if isinstance(command, Check) and command.scope and command.scope.kind == "accounts":
        assert all(len(a) == 12 and a.isdigit() for a in command.scope.account_ids)


@given(st.lists(st.from_regex(r"\A[0-9]{12}\Z", fullmatch=True), min_size=1, max_size=20))
def test_any_list_of_account_ids_is_audited_exactly(ids: list[str]) -> None:
    command = parse_command("check " + " ".join(ids))
    assert command == Check(Scope("accounts", tuple(dict.fromkeys(ids))))
