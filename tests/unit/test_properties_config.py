"""Property-based tests of the config loader: any environment either loads or is refused with
one ConfigError that names the variable at fault; it never crashes with anything else."""

from __future__ import annotations

import string

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from bot.config import Config, ConfigError, load_config

# Every variable load_config reads (kept in step with bot/config.py by test_every_variable_listed).
VARIABLES = (
    "SLACK_BOT_TOKEN",
    "SLACK_SIGNING_SECRET",
    "SLACK_APP_TOKEN",
    "SLACK_API_URL",
    "SLACK_TEAM_ID",
    "SLACK_ENTERPRISE_ID",
    "SLACK_APP_ID",
    "PORT",
    "DATABASE_URL",
    "ROOTKEY_AUDIT_ROLE",
    "ROOTKEY_SCOPE",
    "ROOTKEY_CONCURRENCY",
    "ROOTKEY_ACCOUNT_TIMEOUT",
    "ROOTKEY_REPORT_DEADLINE",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "ROOTKEY_DIGEST_CHANNEL",
    "ROOTKEY_DIGEST_CRON",
    "ROOTKEY_TIMEZONE",
    "ROOTKEY_DIGEST_GRACE",
    "ROOTKEY_APPROVERS",
    "ROOTKEY_REQUIRED_APPROVALS",
    "ROOTKEY_APPROVAL_TTL",
    "ROOTKEY_REMEDIATION",
    "ROOTKEY_DRY_RUN",
    "ROOTKEY_OWNERS",
    "ROOTKEY_RECHECK_INTERVAL",
    "ROOTKEY_REMINDER_AFTER",
    "ROOTKEY_EVENTS_QUEUE_URL",
    "ROOTKEY_ALERT_CHANNEL",
    "ROOTKEY_SECURITYHUB",
    "ROOTKEY_REQUEST_CHANNEL",
    "ROOTKEY_TICKET_URL",
    "ROOTKEY_LOG_FORMAT",
)

# Values an operator might plausibly type, plus anything at all.
NEAR_MISSES = st.sampled_from(
    [
        "",
        " ",
        "0",
        "-1",
        "1e9",
        "65536",
        "3000",
        "true",
        "TRUE",
        "maybe",
        "6h",
        "0s",
        "-5m",
        "1.5d",
        "10 y",
        "nan",
        "inf",
        "org",
        "ORG",
        "account ",
        "assume-root",
        "* * * * *",
        "61 * * * *",
        "0 9 * *",
        "0 9 * * * *",
        "@daily",
        "Europe/Berlin",
        "Mars/Olympus",
        "America",
        "../../etc/passwd",
        "/",
        "UTC\n",
        "sqlite:///x.db",
        "postgres",
        "http://127.0.0.1:1/api/",
        "ftp://x",
        "U012AB,S0ABC",
        "u123",
        "U1,,U2",
        "RootkeyAudit",
        "bad role/name",
        "x" * 70,
        "xoxb-1",
        "xapp-1",
        "/nonexistent/owners.json",
    ]
)
ANY_TEXT = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
    max_size=80,
)
VALUES = st.one_of(NEAR_MISSES, ANY_TEXT, st.text(string.printable, max_size=20))
ENVS = st.dictionaries(st.sampled_from(VARIABLES), VALUES, max_size=len(VARIABLES))


def test_every_variable_listed() -> None:
    """The generated environments cover every variable the loader reads."""
    import inspect

    import bot.config as config_module

    source = inspect.getsource(config_module)
    import re

    read = set(re.findall(r'"((?:SLACK|ROOTKEY|AWS|DATABASE|PORT)[A-Z_]*)"', source))
    assert read <= set(VARIABLES), f"variables not covered: {sorted(read - set(VARIABLES))}"


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(env=ENVS)
@example(env={"ROOTKEY_TIMEZONE": "America"})
@example(env={"ROOTKEY_TIMEZONE": "../../etc/passwd"})
@example(env={"ROOTKEY_DIGEST_CRON": "0 9 * * * *"})
@example(env={"ROOTKEY_OWNERS": "/"})
@example(env={"PORT": "٣٠٠٠"})  # Arabic-Indic digits: int() accepts them
@example(env={"ROOTKEY_ACCOUNT_TIMEOUT": "1e400"})
def test_any_environment_loads_or_names_the_variable(env: dict[str, str]) -> None:
    try:
        config = load_config(env)
    except ConfigError as exc:
        assert exc.variable in VARIABLES
        assert exc.variable in str(exc)
        assert exc.variable in env or exc.variable in {"ROOTKEY_DIGEST_CRON"}, (
            f"{exc.variable} was not set but is blamed"
        )
        assert "\n" not in str(exc), "the error is one line"
        return
    assert isinstance(config, Config)
    assert 1 <= config.port <= 65535
    assert config.scope in {"account", "org"}
    assert config.remediation in {"tracked", "assume-root"}
    assert 1 <= config.concurrency <= 256
    assert 1 <= config.required_approvals <= 10
    for seconds in (
        config.account_timeout,
        config.report_deadline,
        config.digest_grace,
        config.approval_ttl,
        config.recheck_interval,
        config.reminder_after,
    ):
        assert seconds > 0


@settings(max_examples=300, deadline=None)
@given(variable=st.sampled_from(VARIABLES), value=VALUES)
def test_a_bad_value_blames_its_own_variable(variable: str, value: str) -> None:
    """One variable set, everything else default: a refusal names exactly that variable."""
    try:
        load_config({variable: value})
    except ConfigError as exc:
        assert exc.variable == variable, f"{variable}={value!r} blamed {exc.variable}"
        assert str(exc).startswith(f"{variable}: ")
        assert exc.expected.strip(), "the message says what is expected"


DURATION_VARIABLES = {
    "ROOTKEY_ACCOUNT_TIMEOUT": "account_timeout",
    "ROOTKEY_REPORT_DEADLINE": "report_deadline",
    "ROOTKEY_DIGEST_GRACE": "digest_grace",
    "ROOTKEY_APPROVAL_TTL": "approval_ttl",
    "ROOTKEY_RECHECK_INTERVAL": "recheck_interval",
    "ROOTKEY_REMINDER_AFTER": "reminder_after",
}


@given(
    variable=st.sampled_from(sorted(DURATION_VARIABLES)),
    amount=st.integers(min_value=1, max_value=10**6),
    unit=st.sampled_from(["", "s", "m", "h", "d"]),
)
def test_durations_mean_what_they_say(variable: str, amount: int, unit: str) -> None:
    config = load_config({variable: f"{amount}{unit}"})
    factor = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}[unit]
    assert getattr(config, DURATION_VARIABLES[variable]) == amount * factor


@given(port=st.integers(min_value=-(10**6), max_value=10**6))
def test_port_in_range_or_refused(port: int) -> None:
    if 1 <= port <= 65535:
        assert load_config({"PORT": str(port)}).port == port
    else:
        with pytest.raises(ConfigError) as caught:
            load_config({"PORT": str(port)})
        assert caught.value.variable == "PORT"


@given(
    ids=st.lists(
        st.from_regex(r"[UWS][A-Z0-9]{2,10}", fullmatch=True), min_size=1, max_size=5, unique=True
    )
)
def test_approvers_round_trip(ids: list[str]) -> None:
    assert load_config({"ROOTKEY_APPROVERS": " , ".join(ids)}).approvers == tuple(ids)


@given(garbage=st.text(min_size=1, max_size=30).filter(lambda s: s.strip() and "," not in s))
def test_approver_garbage_refused_unless_an_id(garbage: str) -> None:
    import re

    stripped = garbage.strip()
    if re.fullmatch(r"[UWS][A-Z0-9]{2,}", stripped):
        assert load_config({"ROOTKEY_APPROVERS": garbage}).approvers == (stripped,)
    else:
        with pytest.raises(ConfigError) as caught:
            load_config({"ROOTKEY_APPROVERS": garbage})
        assert caught.value.variable == "ROOTKEY_APPROVERS"


def test_enterprise_grid_user_ids_are_approvers() -> None:
    config = load_config({"ROOTKEY_APPROVERS": "W0GRIDUSER1, U0APPROVE1, S0GROUP001"})
    assert config.approvers == ("W0GRIDUSER1", "U0APPROVE1", "S0GROUP001")
    with pytest.raises(ConfigError, match=r"U\.\.\. or W\.\.\."):
        load_config({"ROOTKEY_APPROVERS": "X0NOTANID1"})


def test_alerts_go_to_the_alert_channel_else_the_digest_channel() -> None:
    queue = "https://sqs.eu-west-1.amazonaws.com/111111111111/rootkey-root-activity"
    config = load_config({"ROOTKEY_EVENTS_QUEUE_URL": queue, "ROOTKEY_DIGEST_CHANNEL": "C0DIGEST"})
    assert config.events_queue_url == queue and config.alert_channel == "C0DIGEST"
    both = load_config({"ROOTKEY_DIGEST_CHANNEL": "C0DIGEST", "ROOTKEY_ALERT_CHANNEL": "C0ALERT"})
    assert both.alert_channel == "C0ALERT"
    assert load_config({}).alert_channel is None and load_config({}).events_queue_url is None


@pytest.mark.parametrize(
    "variable, value",
    [
        ("ROOTKEY_EVENTS_QUEUE_URL", "rootkey-root-activity"),  # a name, not a URL
        ("ROOTKEY_EVENTS_QUEUE_URL", "arn:aws:sqs:us-east-1:111111111111:rootkey"),
        ("ROOTKEY_EVENTS_QUEUE_URL", "https://sqs.us-east-1.amazonaws.com/١١١١١١١١١١١١/q"),
        ("ROOTKEY_ALERT_CHANNEL", "#security"),
        ("ROOTKEY_ALERT_CHANNEL", "U0123ABCD"),
        ("ROOTKEY_REQUEST_CHANNEL", "D0123ABCD"),  # a direct message: approvers would not see
        ("ROOTKEY_REQUEST_CHANNEL", "#approvals"),
        ("ROOTKEY_TICKET_URL", "https://tickets.example.com/browse/"),  # no {id}
        ("ROOTKEY_TICKET_URL", "javascript:alert('{id}')"),
        ("ROOTKEY_LOG_FORMAT", "yaml"),
        ("ROOTKEY_LOG_FORMAT", "logfmt"),
    ],
)
def test_alert_settings_refuse_what_they_cannot_use(variable: str, value: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config({variable: value})
    assert caught.value.variable == variable


def test_the_log_format_is_text_unless_json_is_asked_for() -> None:
    assert load_config({}).log_format == "text"
    assert load_config({"ROOTKEY_LOG_FORMAT": " JSON "}).log_format == "json"
