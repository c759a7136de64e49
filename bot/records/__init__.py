"""Plain records and failures shared by the use cases and the adapters.

Neither layer owns them: the store and the AWS adapters answer with these records and raise
these failures, and the use cases (``bot/services``) read and catch them through their ports
without importing an adapter. Nothing here touches a database, AWS, Slack or the OS.

- ``history``: audit runs, account states, trends, digest slots (what ``bot.store`` answers);
- ``alerts``: root-activity alerts and event claims (``bot.store.alerts``);
- ``remediation``: a new request as the store takes it, and the bot's own actor name;
- ``aws``: a root key as the root session sees it, a message received from the event queue;
- ``errors``: the failures the use cases catch (the database, the audit, root access).
"""
