"""The simulated Slack: see ``workspace`` (the state), ``webapi`` (the methods) and ``standin``
(the HTTP server tests and benchmarks use, and the Socket Mode server)."""

from simulator.slack.standin import (
    APP_ID,
    BOT_ID,
    BOT_USER,
    IDENTITY,
    TEAM,
    Call,
    Posted,
    SlackStandin,
    SocketModeServer,
    Upload,
)
from simulator.slack.webapi import WebApi
from simulator.slack.workspace import Identity, SlackError, Workspace

__all__ = [
    "APP_ID",
    "BOT_ID",
    "BOT_USER",
    "IDENTITY",
    "TEAM",
    "Call",
    "Identity",
    "Posted",
    "SlackError",
    "SlackStandin",
    "SocketModeServer",
    "Upload",
    "WebApi",
    "Workspace",
]
