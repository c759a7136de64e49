"""`python -m bot check ... --export securityhub`: send the audit's verdicts to Security Hub.

The findings go to the Security Hub of the current AWS credentials' account in ``AWS_REGION``
(see ``bot/aws/securityhub.py``). One summary line on stderr, then one line per finding that
could not be sent; stdout keeps only the chosen ``--format``.
"""

from __future__ import annotations

import os
import sys

from bot.audit.models import AuditResult
from bot.config import load_config

TARGETS = ("securityhub",)


def export(result: AuditResult, target: str) -> bool:
    """Send ``result``; True if every finding went through."""
    from bot.aws.securityhub import SecurityHubExporter

    assert target in TARGETS, target
    report = SecurityHubExporter.from_config(load_config(os.environ)).export(result.verdicts)
    prefix = "" if report.ok else "error: "
    print(prefix + report.summary(), file=sys.stderr)
    for failure in report.failed:
        print(f"error: Security Hub: {failure.line()}", file=sys.stderr)
    for skipped in report.skipped:
        print(f"Security Hub: skipped {skipped}", file=sys.stderr)
    return report.ok
