"""Root-user activity from CloudTrail, as EventBridge delivers it: a pure core (no AWS, no Slack,
no database).

- ``parse``: an SQS message body (an EventBridge event, or the same event in an SNS
  notification) -> ``ApiCall``; anything that is not such an event raises ``NotAnEvent``.
- ``classify``: ``ApiCall`` -> ``RootActivity`` (key created, reactivated, used, deleted) or
  ``None`` (not root activity rootkey alerts on).
- ``fold``: the 10-minute windows that fold a key's uses into one message.
"""
