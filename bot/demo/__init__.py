"""`python -m bot demo`: the whole product on 127.0.0.1, with no Slack workspace and no AWS account.

- ``identities``: the demo workspace's fixed ids (team, app, bot, two people, two channels);
- ``simulator.slack`` (outside the product, shared with the tests): an in-memory Slack
  workspace answering the Web API methods the bot calls (the bot's ``SLACK_API_URL`` points
  here); ``server.demo_workspace`` lays out the demo's cast in it;
- ``relay``: turns what a person does on the page into the signed requests Slack would send to
  the bot's ``POST /slack/events``;
- ``mrkdwn``, ``blockkit``, ``feed``: the bot's Block Kit as HTML for the page (demo only);
- ``server``: the HTTP server for the Web API, response URLs, files, the page and its backend;
- ``scenario``, ``orchestrator``: the simulated Organization on moto's server, the real bot as a
  subprocess, and a clean stop on Ctrl-C or SIGTERM.
"""
