"""Findings export after every audit (``ROOTKEY_SECURITYHUB``): an ``Auditor`` that also sends.

``ExportingAuditor`` wraps the auditor every use case shares (checks, rechecks, digests), so
each audit's verdicts reach the exporter once, right after the audit. The exporter is a port:
this module knows nothing of AWS; ``bot/aws/securityhub.py`` is the adapter. An export that
fails is logged with each refused finding; the audit's result is returned all the same.
"""

from __future__ import annotations

import logging

from bot.audit.models import AuditResult, Scope
from bot.services.ports import Auditor, FindingsExporter

log = logging.getLogger(__name__)


class ExportingAuditor:
    """``auditor``'s audits, each one sent to ``exporter`` before its result is returned."""

    def __init__(self, auditor: Auditor, exporter: FindingsExporter) -> None:
        self.auditor = auditor
        self.exporter = exporter

    def audit(self, scope: Scope) -> AuditResult:
        result = self.auditor.audit(scope)
        outcome = self.exporter.export(result.verdicts)
        if outcome.ok:
            log.info("%s", outcome.summary())
        else:
            log.error("%s", outcome.summary())
            for line in outcome.failure_lines():
                log.error("%s", line)
        return result

    def close(self) -> None:
        close = getattr(self.auditor, "close", None)
        if callable(close):
            close()
