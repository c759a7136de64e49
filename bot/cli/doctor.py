"""`python -m bot doctor`: check a deployment before the first audit fails in Slack.

Reads the same configuration as the bot (the environment, and a .env in the working
directory) and checks, live and read-only, each thing the bot depends on: Slack (the token,
its scopes, the mode's secret, the channels, the approvers), AWS (who the bot is and with what
credentials, the Organization, the audit role in every member account, centralized root
access, the events queue and its rules, Security Hub) and the database (reachable, migrated,
the log append-only). One line per check: ok, warn or FAIL, and for each warning or failure
the fix.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Iterator

from bot.config import Config, ConfigError, load_config
from bot.doctor.findings import Finding, exit_code, fail, summary

EPILOG = """exit codes:
  0  every check ok (warnings allowed)
  1  a check failed: its line says how to fix it
  2  the checks could not run (a setting that cannot be read)
"""

AREAS = ("slack", "aws", "database")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--only",
        choices=AREAS,
        action="append",
        help="check only this part (may be given more than once; default: all)",
    )


def slack_findings(config: Config) -> Iterator[Finding]:
    try:
        config.require_slack()
    except ConfigError as exc:
        yield fail("Slack", "settings", str(exc), "set it in the environment or .env")
        return
    from bot.doctor.slack import check_slack
    from bot.wiring import web_client

    yield from check_slack(config, web_client(config))


def aws_findings(config: Config) -> Iterator[Finding]:
    import boto3

    from bot.doctor.aws import check_aws

    yield from check_aws(config, boto3.session.Session(region_name=config.aws_region))


def database_findings(config: Config) -> Iterator[Finding]:
    from bot.doctor.database import check_database

    yield from check_database(config)


CHECKS = {"slack": slack_findings, "aws": aws_findings, "database": database_findings}


def run(args: argparse.Namespace) -> int:
    logging.getLogger().setLevel(logging.CRITICAL)  # the lines below say what was found
    config = load_config(os.environ)
    findings: list[Finding] = []
    for area in args.only or AREAS:
        for finding in CHECKS[area](config):
            findings.append(finding)
            print("\n".join(finding.lines()), flush=True)
    print(summary(findings))
    sys.stdout.flush()
    return exit_code(findings)
