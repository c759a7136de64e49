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
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as CheckTookTooLong
from typing import TYPE_CHECKING, Any

from slack_bolt import Ack, BoltContext

from bot.remediation.errors import InvalidInput
from bot.remediation.progress import clean_optional_reason
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

# A form's checks read the database (an open request for the account, the keys of its last
# audit). Slack waits 3 s for the answer, and errors can go back into the form only in that
# answer: the checks get this long, then the form says the database is not available.
FORM_CHECK_SECONDS = 1.5
FORM_CHECKERS = 4  # forms checked at once; beyond, they wait their turn (within the deadline)
NOT_AVAILABLE = "database not available: submit the form again in a minute"
BUSY = "rootkey is busy with other audits: submit the form again in a minute"


def register(app: App, services: Services) -> None:
    remediation = services.remediation
    checkers = ThreadPoolExecutor(FORM_CHECKERS, thread_name_prefix="rootkey-form-check")

    @app.view(CallbackId.REMEDIATION_REQUEST.value)
    @app.view(CallbackId.ACCEPT_RISK.value)
    def submit_request(
        ack: Ack, body: dict[str, Any], view: dict[str, Any], context: BoltContext
    ) -> None:
        """Validate at once (errors go back into the form), ack, then create and post in the
        job pool; unless the ack came too late for Slack to have taken it: then nothing is
        created (Slack showed the form as failed; it stays open to submit again) and the
        submitter is told."""
        user = payloads.submitter(body)
        channel: str | None = None
        try:
            form = payloads.request_form(payloads.submission_kind(view), view)
            channel = form.context.channel
            if overdue(context):  # queued behind busy listeners: not even checked
                acked_in_time(services, ack, body, context, channel=channel)
                return
            new = checkers.submit(remediation.prepare, form, user).result(FORM_CHECK_SECONDS)
        except InvalidInput as exc:
            problems = {exc.field: str(exc)}
            acked_in_time(services, ack, body, context, channel=channel, **refused(problems))
            return
        except (CheckTookTooLong, StoreError) as exc:
            log.warning("a form could not be checked: %s", exc or "the database is slow")
            problems = {"reason": NOT_AVAILABLE}
            acked_in_time(services, ack, body, context, channel=channel, **refused(problems))
            return
        if not services.jobs.reserve("request"):  # before the ack: the form can still say so
            acked_in_time(
                services, ack, body, context, channel=channel, **refused({"reason": BUSY})
            )
            return
        if not acked_in_time(services, ack, body, context, channel=channel):
            services.jobs.release()
            return
        services.forms.submitted(str(view.get("id") or ""))

        def create() -> None:
            try:
                if claimed(services, context):  # a form another replica took on is saved there
                    services.forms.request_posted(remediation.create(new))
            except Exception as exc:  # refused after all, or the database failing: told
                errors.tell(services, user, exc, channel=channel or new.channel)

        if not services.jobs.run_reserved("request", create):  # the bot is stopping
            errors.tell(services, user, Stopping(), channel=channel or new.channel)

    @app.view(CallbackId.REJECT_REQUEST.value)
    def submit_rejection(
        ack: Ack, body: dict[str, Any], view: dict[str, Any], context: BoltContext
    ) -> None:
        """Reject the request (rights checked again) with the reason given, if any. A reason
        too long goes back into the form; a refusal after the ack is told privately."""
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
            remediation.reject(number, user, reason)
        except Exception as exc:  # decided meanwhile, or the database failing: told
            try:
                channel: str | None = remediation.store.get(number).channel
            except Exception:
                channel = None  # told in a direct message
            errors.tell(services, user, exc, channel=channel)


class Stopping(Exception):
    """The bot stopped between a form's ack and its work."""

    user_message = "rootkey was stopping, so your form was not saved: submit it again."


def refused(problems: dict[str, str]) -> dict[str, Any]:
    """The ack that puts ``problems`` (field -> message) back into the form."""
    return {"response_action": "errors", "errors": problems}
