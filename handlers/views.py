"""Modal submissions (callback ids from ``bot.slack.action_ids``).

No listener waits on AWS: a submitted form is checked against the database only, then acked;
the request is created and posted in the job pool (in assume-root mode that asks AWS which
Organization features are on, and the thread gets what used the keys from CloudTrail). A full
pool is said in the form, which stays open; a request that cannot be created after the ack
(another one for the account got there first) is told to the submitter privately
(``handlers.private``: ephemeral in the form's channel, else a direct message).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from slack_bolt import Ack, BoltContext

from bot.remediation.errors import InvalidInput
from bot.remediation.progress import clean_optional_reason
from bot.services.request_form import FormNotChecked
from bot.slack import payloads
from bot.slack.action_ids import CallbackId
from bot.slack.values import BadValue
from bot.store.records import StoreError
from handlers import errors
from handlers.deadline import acked_in_time, overdue
from handlers.middleware import claimed

if TYPE_CHECKING:
    from slack_bolt import App

    from bot.wiring import Services

log = logging.getLogger(__name__)

# A form's checks read the database; Slack waits 3 s for the answer, and errors can go back
# into the form only in that answer: past ``bot.services.request_form.CHECK_SECONDS``, the form
# says the database is not available.
NOT_AVAILABLE = "database not available: submit the form again in a minute"
BUSY = "rootkey is busy with other audits: submit the form again in a minute"


def submit_request(
    ack: Ack, body: dict[str, Any], view: dict[str, Any], context: BoltContext, services: Services
) -> None:
    """Validate at once (errors go back into the form), ack, then create and post in the job
    pool; unless the ack came too late for Slack to have taken it: then nothing is created
    (Slack showed the form as failed; it stays open to submit again) and the submitter is
    told."""
    forms = services.forms
    user = payloads.submitter(body)
    channel: str | None = None
    try:
        form = payloads.request_form(payloads.submission_kind(view), view)
        channel = form.context.channel
        if overdue(context):  # queued behind busy listeners: not even checked
            acked_in_time(services, ack, body, context, channel=channel)
            return
        new = forms.check(form, user)
    except InvalidInput as exc:
        problems = {exc.field: str(exc)}
        acked_in_time(services, ack, body, context, channel=channel, **refused(problems))
        return
    except (FormNotChecked, StoreError) as exc:
        log.warning("a form could not be checked: %s", exc or "the database is slow")
        problems = {"reason": NOT_AVAILABLE}
        acked_in_time(services, ack, body, context, channel=channel, **refused(problems))
        return
    if not forms.reserve():  # before the ack: the form can still say so
        acked_in_time(services, ack, body, context, channel=channel, **refused({"reason": BUSY}))
        return
    if not acked_in_time(services, ack, body, context, channel=channel):
        forms.release()
        return

    def failed(exc: Exception) -> None:
        errors.tell(services, user, exc, channel=channel or new.where.place)

    forms.accept(new, str(view.get("id") or ""), lambda: claimed(services, context), failed)


def submit_rejection(
    ack: Ack, body: dict[str, Any], view: dict[str, Any], context: BoltContext, services: Services
) -> None:
    """Reject the request (rights checked again) with the reason given, if any. A reason too
    long goes back into the form; a refusal after the ack is told privately."""
    user = payloads.submitter(body)
    try:
        number = payloads.request_id(str(view.get("private_metadata") or ""))
        reason = clean_optional_reason(payloads.form_values(view).get("reason"))
    except BadValue:
        acked_in_time(services, ack, body, context, **refused({"reason": payloads.FORM_GONE}))
        return
    except InvalidInput as exc:
        acked_in_time(services, ack, body, context, **refused({exc.field: str(exc)}))
        return
    if not acked_in_time(services, ack, body, context):
        return
    if not claimed(services, context):
        return
    try:
        services.remediation.reject(number, user, reason)
    except Exception as exc:  # decided meanwhile, or the database failing: told
        where = services.remediation.where_of(number)
        errors.tell(services, user, exc, channel=where.place if where else None)


def register(app: App, services: Services) -> None:
    app.view(CallbackId.REMEDIATION_REQUEST.value)(submit_request)
    app.view(CallbackId.ACCEPT_RISK.value)(submit_request)
    app.view(CallbackId.REJECT_REQUEST.value)(submit_rejection)


def refused(problems: dict[str, str]) -> dict[str, Any]:
    """The ack that puts ``problems`` (field -> message) back into the form."""
    return {"response_action": "errors", "errors": problems}
