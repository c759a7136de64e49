"""`python -m bot check`: audit root access keys and print the result.

Sources: the account of the current AWS credentials (no flag), ``--org`` (every active account
of the Organization), ``--account ID ...`` (named accounts), or ``--credential-report FILE ...``
(credential reports as saved from the console, the CLI or a spreadsheet; no AWS call).
An ``--account`` id that the Organization (where the caller can read it) does not show as
ACTIVE is an ``error``: "not a member of the Organization".
Exit code 1 if any account is noncompliant, else 2 if any is an error, the arguments are wrong
or anything unexpected happens (never 1 for a crash), else 0. Each error is one line on stderr.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from dataclasses import replace
from pathlib import Path

from bot.audit.models import AuditResult, Scope, Status, Verdict, utcnow
from bot.audit.ocsf import to_ocsf
from bot.audit.render import to_csv, to_json, to_text
from bot.audit.report_files import audit_report_data, unreadable_file
from bot.config import load_config
from bot.rules import is_account_id

EPILOG = """\
formats (--format):
  text  a table, noncompliant first, then errors, then compliant; a summary line at the end
  json  {"accounts": [...], "summary": {...}, "organization_features": {...}}: one object per
        account with account_id (null for a file that holds no report), account_name, source
        (aws, or report:FILE), status, reason, keys, root_mfa_active and the evidence
  csv   one row per account (worst first) under a header row; a cell a spreadsheet would run
        as a formula starts with '
  ocsf  a JSON array of OCSF Compliance Findings (class 2003), one per account

exit codes:
  0  every account audited is compliant
  1  at least one account is noncompliant: a root access key exists
  2  no account is noncompliant, but one could not be audited (each is one line on stderr),
     or --export failed or was asked for credential report files (only a live audit is
     exported), or the arguments or configuration are wrong, or something unexpected
     happened (one line)

credential reports: the console's CSV (also re-saved by a spreadsheet), several reports in one
file, the JSON of aws iam get-credential-report (base64 or decoded Content), the raw base64 of
--query Content --output text, and the --output text line; see docs/cli.md.
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    source = parser.add_argument_group("what to audit (default: the current credentials' account)")
    source.add_argument(
        "--org", action="store_true", help="every active account of the Organization"
    )
    source.add_argument(
        "--account",
        dest="accounts",
        metavar="ID",
        nargs="+",
        action="extend",
        default=[],
        help="12-digit account ids (the audit role is assumed in each)",
    )
    source.add_argument(
        "--credential-report",
        dest="reports",
        metavar="FILE",
        nargs="+",
        action="extend",
        default=[],
        help="credential report files in any form listed below (- for standard input); "
        "no AWS call is made",
    )
    parser.add_argument(
        "--format",
        choices=("text", "json", "csv", "ocsf"),
        default="text",
        help="ocsf: a JSON array of OCSF Compliance Findings (class 2003), one per account",
    )
    parser.add_argument(
        "--export",
        choices=("securityhub",),
        help="also send one finding per account to the Security Hub of the current "
        "credentials' account (AWS_REGION)",
    )
    parser.add_argument(
        "--concurrency",
        type=int,
        metavar="N",
        help="accounts audited at once (default ROOTKEY_CONCURRENCY or 16)",
    )


def usage_error(message: str) -> int:
    print(f"python -m bot check: error: {message}", file=sys.stderr)
    return 2


def run(args: argparse.Namespace) -> int:
    # A one-shot command: only warnings and errors reach stderr, not the SDK's INFO chatter.
    logging.getLogger().setLevel(logging.WARNING)
    bad = [a for a in args.accounts if not is_account_id(a)]
    if bad:
        return usage_error(f"--account expects 12-digit account ids, got {bad[0]!r}")
    if args.reports and (args.org or args.accounts):
        return usage_error("--credential-report cannot be combined with --org or --account")
    if args.org and args.accounts:
        return usage_error("use either --org or --account, not both")
    if args.reports and args.export:
        # a report cannot show a key deactivated or created since, and may be hours old: its
        # "no key" must never resolve the finding a live audit opened (bot.audit.asff.refusal)
        return usage_error(
            f"--export {args.export} takes only a live audit, not a credential report file "
            "(it may be hours old and cannot show a key created since); nothing sent"
        )
    if args.concurrency is not None and not 1 <= args.concurrency <= 256:
        return usage_error(f"--concurrency expects a number from 1 to 256, got {args.concurrency}")

    if args.reports:
        result = audit_reports(args.reports)
    else:
        from bot.aws.auditor import AwsAuditor
        from bot.aws.errors import AuditError

        config = load_config(os.environ)
        if args.concurrency:
            config = replace(config, concurrency=args.concurrency)
        if args.org:
            scope = Scope("org")
        elif args.accounts:
            scope = Scope("accounts", tuple(args.accounts))
        else:
            scope = Scope("account")
        # an id the Organization does not show ACTIVE is an error, where it can be read
        auditor = AwsAuditor(config, membership="when-readable")
        try:
            result = auditor.audit(scope)
        except AuditError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        finally:
            auditor.close()

    render = {"text": to_text, "json": to_json, "csv": to_csv, "ocsf": to_ocsf}[args.format]
    sys.stdout.write(render(result))
    sys.stdout.flush()
    for verdict in result.sorted():
        if verdict.status is Status.ERROR:
            print(f"error: {verdict.label}: {verdict.reason}", file=sys.stderr)
    code = exit_code(result.verdicts)
    if args.export:
        from bot.cli.export import export

        if not export(result, args.export) and code == 0:
            code = 2  # nothing noncompliant, but an error: the export
    return code


def exit_code(verdicts: tuple[Verdict, ...]) -> int:
    if any(v.status is Status.NONCOMPLIANT for v in verdicts):
        return 1
    if any(v.status is Status.ERROR for v in verdicts):
        return 2
    return 0


def audit_reports(files: list[str]) -> AuditResult:
    started = utcnow()
    verdicts = [v for name in files for v in audit_report_file(Path(name))]
    return AuditResult(
        verdicts=tuple(verdicts), scope="reports", started_at=started, finished_at=utcnow()
    )


def audit_report_file(path: Path) -> list[Verdict]:
    """The verdict of each report in a file; ``-`` reads standard input."""
    now = utcnow()
    name = "<stdin>" if str(path) == "-" else str(path)
    try:
        data = sys.stdin.buffer.read() if str(path) == "-" else path.read_bytes()
    except OSError as exc:
        return [unreadable_file(name, exc.strerror or type(exc).__name__, now)]
    return audit_report_data(data, name, now)
