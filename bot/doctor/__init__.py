"""`python -m bot doctor`: check, live, each thing the bot depends on, before the first audit
fails in Slack.

Each check reads the same configuration as the bot and answers one ``Finding`` (ok, warn or
FAIL) with, for a failure, the exact fix: the command, the template, the scope. The checks of
one platform stop after the first failure that makes the rest meaningless (no token: no
channel can be looked up). Nothing here changes anything anywhere; AWS and Slack are only read.
"""
