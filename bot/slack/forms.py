"""The request form's modal: opened at once (a trigger id lasts 3 s) in a loading state, then
filled with what the use case offers after a fresh audit (``views.open``, ``views.update``)."""

from __future__ import annotations

from typing import Protocol

from slack_sdk import WebClient

from bot.remediation.events import FormContext, FormOutcome
from bot.slack.blocks.remediation import loading_modal
from bot.slack.blocks.remediation_events import form_view


class FormSource(Protocol):
    def form(self, ctx: FormContext, user: str) -> FormOutcome: ...


class RequestForms:
    def __init__(self, client: WebClient, source: FormSource) -> None:
        self.client = client
        self.source = source

    def open(self, ctx: FormContext, user: str, trigger_id: str, view_id: str | None) -> None:
        """Open the loading modal (or replace the open form ``view_id``), then fill it."""
        if view_id is None:
            opened = self.client.views_open(trigger_id=trigger_id, view=loading_modal())
            view_id = opened["view"]["id"]
        self.client.views_update(view_id=view_id, view=form_view(self.source.form(ctx, user)))
