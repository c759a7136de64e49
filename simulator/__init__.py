"""The simulated platforms rootkey runs against outside production, shared by the tests, the
benchmarks and ``python -m bot demo`` (the bot itself never imports it):

- ``simulator.aws``, ``simulator.aws_root``: moto's server with the extensions moto lacks
  (root users with access keys, ListOrganizationsFeatures, AssumeRoot and the root session's
  IAM) and a fault layer (throttling, denials, latency, held calls);
- ``simulator.trail``: CloudTrail records as EventBridge delivers them to SQS (root key
  created, reactivated, used, deleted; raw or inside an SNS notification), for the
  root-activity alerts;
- ``simulator.slack``: one Slack workspace in memory and the Web API over it
  (``Workspace``, ``WebApi``), served for tests and benchmarks by ``SlackStandin`` (with fault
  injection and a record of every call) and for the demo by ``bot.demo.server``; a Socket Mode
  server.
"""
