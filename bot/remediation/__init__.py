"""Remediation and risk-exception requests: the pure part (states, rights, progress).

Nothing here talks to Slack, AWS or a database; the service (``bot.services.remediation``)
moves requests through these rules and the store (``bot.store.remediation``) records them.
"""
