"""Adapters to AWS (boto3). Nothing here calls AWS at import time.

- ``auditor.AwsAuditor(config, session_factory=None)``: ``audit(Scope) -> AuditResult`` and
  ``audit_account(account_id, name) -> Verdict``, the entry points of the Slack app, the digest
  and the command line.
- ``session``: per-thread boto3 sessions and clients, retries, call counting.
- ``iam``: account summary, credential report (generate, wait, get), Organization features.
- ``organizations``: the active accounts, streamed page by page.
- ``errors``: ``AuditError`` (the audit as a whole failed) and ``AwsReadError`` (one read).
- ``root``: centralized root access (``sts:AssumeRoot``) for remediation.
"""
