"""A simulated AWS Organization on moto's server, for tests, benchmarks and the demo.

No pytest in here: the tests, ``bench/`` and ``python -m bot demo`` all use it.

    from simulator.aws import SimulatedAws, RootKeySpec

    with SimulatedAws() as sim:                       # moto's server on 127.0.0.1, a free port
        org = sim.create_organization(members=3, missing_role={2})
        sim.set_root_keys(org.members[0].account_id, [RootKeySpec(slot=1, active=True)])
        sim.deny(org.members[1].account_id, "GetAccountSummary")
        sim.throttle(None, "ListAccounts", times=2)  # two throttled answers, then success
        sim.fail(None, "GetCredentialReport", "ReportExpired", times=1)  # any AWS error code
        sim.answer_html(None, "ListAccounts")         # an HTML 500 page from a proxy, not XML
        sim.set_latency(0.05)                         # every AWS call waits 50 ms in the server
        session = sim.session()                       # boto3 Session aimed at the server
        env = sim.env()                               # variables for a subprocess

The whole API of ``SimulatedAws``:

* lifecycle: ``start()``/``stop()`` (or ``with``), ``endpoint_url``, ``reset()`` (moto's
  ``/moto-api/reset`` plus every root state and fault), ``env()``, ``session()``,
  ``session_factory()``, ``client(service)`` (management account credentials);
* the Organization: ``create_organization(members, missing_role=..., role_name=...)`` ->
  ``SimOrg``, ``close_account(id)`` (SUSPENDED), ``set_org_features(*names)``;
* the root user, per account: ``set_root_keys(id, [RootKeySpec(...)])``,
  ``set_root(id, mfa=..., password=..., signing_certs=..., password_last_used=...)``,
  ``remove_root_credentials(id)``, ``set_report_time(id, datetime)``, ``expire_report(id)``;
* faults (``account_id`` None = every account, action ``"*"`` = every action): ``deny``,
  ``throttle``, ``fail``, ``answer_html``, ``report_never_ready``, ``empty_list_pages``,
  ``set_latency``, ``refuse_finding`` (Security Hub refuses one finding of a batch),
  ``clear_faults()``;
* counting (server side, retries included): ``call_count(account_id, action)``,
  ``calls_by_action()``, ``reset_calls()``.

``python -m simulator.aws --members N --latency S`` serves a simulated Organization from
its own process (see ``serve_main``).

What moto 5.2 lacks, and how it is extended here (simulation only; the product's own AWS code
is what runs against it):

* The root user. moto's credential report has no ``<root_account>`` row and its
  GetAccountSummary hard-codes zero for the root flags. ``install_root_user_patch`` wraps its IAM
  backend so each account has a root user (``RootState``): the summary flags
  ``AccountAccessKeysPresent``, ``AccountMFAEnabled``, ``AccountSigningCertificatesPresent`` and
  ``AccountPasswordPresent`` and the report's root row follow that state, per account, through
  the real HTTP API. The report's ``GeneratedTime`` is the time it was generated.
  As AWS does, GenerateCredentialReport makes a new report only when the account has none or
  its report is at least 4 hours old; otherwise the existing report (its root row as it was when
  generated, and its time) is what GetCredentialReport answers, whatever the root user did
  since. A test that needs the next audit to read a new report says so: ``expire_report(id)``
  (the report is then older than 4 hours) or ``set_report_time(id, at)`` (a report showing the
  root user as it is now, generated at ``at``).
* ``iam:ListOrganizationsFeatures``: answered by the HTTP layer below for the management account.
* AssumeRole into a role that does not exist: moto allows it; AWS refuses it. The HTTP layer
  answers AccessDenied when the role is missing in a simulated member account.
* ListAccounts without an Organization: moto answers an empty list; AWS (and this layer)
  answers AWSOrganizationsNotInUseException.
* CloudTrail's ``LookupEvents`` (moto has none): answered from ``sim.trail`` (events a test
  records with ``sim.trail.record(account, region, key, "s3:ListBuckets", at)``) with the real
  API's rules and its rate of two lookups per second per account and region
  (``simulator.aws_cloudtrail``).
* Faults and latency: a WSGI layer around moto's app (``FaultLayer``) adds a fixed latency to
  every AWS call, answers AccessDenied, throttling or any error code for chosen accounts and
  actions, keeps a credential report "in progress" for ever, and can put empty pages into
  ListAccounts.
* Security Hub: moto keeps findings but checks nothing; ``aws_securityhub`` answers
  BatchImportFindings, BatchUpdateFindings and GetFindings with Security Hub's rules (limits,
  required attributes, the customer's workflow, filters) on moto's findings store, and its
  throttling is LimitExceededException (HTTP 429) as Security Hub's.
* Speed only: moto's ReceiveMessage recomputes every queue attribute for each message it
  returns; the retention check reads the one it needs.
* SQS's clock: ``advance_sqs(seconds)`` moves the time moto's SQS reads (visibility timeouts,
  delays, retention, the end of a long poll) ahead of the real time, so a test that needs a
  message back after its visibility timeout says so instead of waiting for it. SQS's rules are
  moto's, unchanged; ``reset()`` puts the clock back to the real time.
* Speed only: moto's lookup of a request's account (a scan of every account) and its listing
  of its own package directory on every request are cached.
"""

from __future__ import annotations

import contextlib
import io
import json
import threading
import uuid
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs
from xml.sax.saxutils import escape

import boto3
import botocore.session
import requests
from werkzeug.serving import BaseWSGIServer, make_server

from simulator import aws_securityhub as securityhub
from simulator.aws_cloudtrail import TrailHistory, install_sqs_speedup

# How often a server thread looks for a stop request: stopping takes at most this long
# (socketserver waits 0.5 s by default, paid at the end of every test that starts one).
POLL = 0.05

MANAGEMENT_ACCOUNT = "123456789012"  # moto's default account: the caller of the fake keys
REGION = "us-east-1"
FAKE_KEY_ID = "testing"  # moto accepts any key; these are not credentials
FAKE_SECRET = "testing"
AUDIT_ROLE = "RootkeyAudit"
IAM_XMLNS = "https://iam.amazonaws.com/doc/2010-05-08/"

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


REPORT_MAX_AGE = timedelta(hours=4)  # AWS regenerates a credential report no more often


def utcnow() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


# --------------------------------------------------------------------------- root user state


@dataclass(frozen=True)
class RootKeySpec:
    """One root access key. ``created`` is what the report calls last_rotated."""

    slot: int = 1
    active: bool = True
    created: datetime | None = None
    last_used: datetime | None = None
    region: str | None = None
    service: str | None = None


@dataclass(frozen=True)
class RootState:
    """The root user of one simulated account."""

    keys: tuple[RootKeySpec, ...] = ()
    mfa: bool = False
    password: bool = True
    password_last_used: datetime | None = None
    signing_certs: tuple[bool, ...] = ()  # active flag per certificate slot (at most 2)
    created: datetime = datetime(2020, 1, 1, tzinfo=UTC)

    @property
    def removed(self) -> bool:
        return not (self.keys or self.mfa or self.password or self.signing_certs)


def fmt_time(value: datetime | None, missing: str = "N/A") -> str:
    if value is None:
        return missing
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S+00:00")


def root_row(account_id: str, state: RootState) -> str:
    """The ``<root_account>`` line of a credential report, in AWS's column order."""
    slots = {k.slot: k for k in state.keys}
    cols = [
        "<root_account>",
        f"arn:aws:iam::{account_id}:root",
        fmt_time(state.created),
        "not_supported",  # password_enabled is not reported for root
        fmt_time(state.password_last_used, "no_information") if state.password else "N/A",
        "not_supported",
        "not_supported",
        "true" if state.mfa else "false",
    ]
    for slot in (1, 2):
        key = slots.get(slot)
        if key is None:
            cols += ["false", "N/A", "N/A", "N/A", "N/A"]
        else:
            cols += [
                "true" if key.active else "false",
                fmt_time(key.created or state.created),
                fmt_time(key.last_used),
                key.region or "N/A",
                key.service or "N/A",
            ]
    certs = [*list(state.signing_certs), None, None]
    for flag in certs[:2]:
        cols += [
            "true" if flag else "false",
            fmt_time(state.created) if flag is not None else "N/A",
        ]
    return ",".join(cols) + "\n"


@dataclass
class Simulation:
    """Everything the extensions read; one per process, as moto's backends are."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    roots: dict[str, RootState] = field(default_factory=dict)
    report_times: dict[str, datetime] = field(default_factory=dict)
    report_rows: dict[str, str] = field(default_factory=dict)  # root row as generated
    members: set[str] = field(default_factory=set)
    management: str | None = None
    org_id: str | None = None
    features: tuple[str, ...] = ("RootCredentialsManagement", "RootSessions")
    latency: float = 0.0
    account_latency: dict[str, float] = field(default_factory=dict)
    reset_event: threading.Event = field(default_factory=threading.Event)
    denied: set[tuple[str, str]] = field(default_factory=set)
    throttled: dict[tuple[str, str], int | None] = field(default_factory=dict)
    failures: dict[tuple[str, str], tuple[str, int, int | None]] = field(default_factory=dict)
    # (account, action) -> (HTTP status, HTML page, answers left or None for ever)
    html_answers: dict[tuple[str, str], tuple[int, bytes, int | None]] = field(default_factory=dict)
    report_never_ready: set[str] = field(default_factory=set)
    refused_findings: dict[str, str] = field(default_factory=dict)  # finding id -> message
    empty_pages: bool = False
    calls: Counter[tuple[str, str]] = field(default_factory=Counter)
    key_accounts: dict[str, str] = field(default_factory=dict)
    sqs_ahead: float = 0.0  # seconds SQS's clock is ahead of the real time (advance_sqs)

    def clear(self) -> None:
        with self.lock:
            self.reset_event.set()
            self.reset_event = threading.Event()
            self.roots.clear()
            self.report_times.clear()
            self.report_rows.clear()
            self.members.clear()
            self.management = None
            self.org_id = None
            self.features = ("RootCredentialsManagement", "RootSessions")
            self.latency = 0.0
            self.account_latency.clear()
            self.denied.clear()
            self.throttled.clear()
            self.failures.clear()
            self.html_answers.clear()
            self.report_never_ready.clear()
            self.refused_findings.clear()
            self.empty_pages = False
            self.calls.clear()
            self.key_accounts.clear()
            self.sqs_ahead = 0.0

    def root(self, account_id: str) -> RootState:
        return self.roots.get(account_id, RootState())

    def snapshot_report(self, account_id: str, generated: datetime) -> None:
        """A new report of the root user as it is now, dated ``generated`` (lock held)."""
        self.report_rows[account_id] = root_row(account_id, self.root(account_id))
        self.report_times[account_id] = generated

    def generate_report(self, account_id: str) -> None:
        """GenerateCredentialReport: a new report only when there is none or it is at least
        ``REPORT_MAX_AGE`` old (lock held)."""
        now = utcnow()
        generated = self.report_times.get(account_id)
        if (
            account_id not in self.report_rows
            or generated is None
            or now - generated >= REPORT_MAX_AGE
        ):
            self.snapshot_report(account_id, now)


STATE = Simulation()
TRAIL = TrailHistory()
_patch_lock = threading.Lock()
_patched = False
_sqs_clock = False


def install_root_user_patch() -> None:
    """Give moto's IAM a root user per account (see the module docstring). Idempotent."""
    global _patched
    with _patch_lock:
        if _patched:
            return
        from moto.iam import models as iam_models
        from moto.iam import responses as iam_responses
        from moto.iam.exceptions import ReportNotPresentException

        summary_map = iam_models.AccountSummary.summary_map.fget  # type: ignore[attr-defined]

        def patched_summary_map(self: Any) -> dict[str, Any]:
            result = dict(summary_map(self))
            root = STATE.root(self._iam_backend.account_id)
            result["AccountAccessKeysPresent"] = 1 if root.keys else 0
            result["AccountMFAEnabled"] = 1 if root.mfa else 0
            result["AccountSigningCertificatesPresent"] = 1 if root.signing_certs else 0
            result["AccountPasswordPresent"] = 1 if root.password else 0
            return result

        iam_models.AccountSummary.summary_map = property(patched_summary_map)  # type: ignore[method-assign,assignment]

        original_generate = iam_models.IAMBackend.generate_report

        def patched_generate(self: Any) -> None:
            original_generate(self)
            with STATE.lock:
                STATE.generate_report(self.account_id)

        original_report = iam_models.IAMBackend.get_credential_report

        def patched_report(self: Any) -> str:
            if not self.credential_report:
                raise ReportNotPresentException("Credential report not present")
            content = original_report(self)
            header, _, users = content.partition("\n")
            with STATE.lock:
                row = STATE.report_rows.get(self.account_id)
                if row is None:  # dated by set_report_time only: taken now
                    STATE.snapshot_report(self.account_id, utcnow())
                    row = STATE.report_rows[self.account_id]
            return header + "\n" + row + users

        def patched_report_response(self: Any) -> Any:
            result: Any = original_report_response(self)
            generated = STATE.report_times.get(self.backend.account_id, utcnow())
            result.result["GeneratedTime"] = fmt_time(generated).replace("+00:00", "Z")
            return result

        original_report_response = iam_responses.IamResponse.get_credential_report
        # Speed only: moto finds a request's account by scanning every account's IAM backend
        # for the access key (O(accounts) per request); remember the answers instead.
        original_account_of = iam_models.get_account_id_from

        def cached_account_of(access_key: str) -> str:
            known = STATE.key_accounts.get(access_key)
            if known is None:
                known = original_account_of(access_key)
                with STATE.lock:
                    STATE.key_accounts[access_key] = known
            return known

        iam_models.get_account_id_from = cached_account_of

        # Speed only: moto's server lists its package directory on disk for every request.
        from moto import backends as moto_backends

        modules = tuple(moto_backends.list_of_moto_modules())
        moto_backends.list_of_moto_modules = lambda: modules
        iam_models.IAMBackend.generate_report = patched_generate  # type: ignore[method-assign]
        iam_models.IAMBackend.get_credential_report = patched_report  # type: ignore[method-assign]
        iam_responses.IamResponse.get_credential_report = patched_report_response  # type: ignore[method-assign]
        _patched = True


def install_sqs_clock() -> None:
    """moto's SQS reads the time through its module's ``unix_time`` and ``unix_time_millis``
    (never with an argument); rebind those two names to the real time plus ``STATE.sqs_ahead``.
    Nothing else in moto sees this clock. Idempotent."""
    global _sqs_clock
    with _patch_lock:
        if _sqs_clock:
            return
        from moto.core import utils
        from moto.sqs import models as sqs_models

        def sqs_time(dt: datetime | None = None) -> float:
            return utils.unix_time(dt) + (STATE.sqs_ahead if dt is None else 0.0)

        sqs_models.unix_time = sqs_time
        sqs_models.unix_time_millis = lambda dt=None: sqs_time(dt) * 1000.0
        _sqs_clock = True


# --------------------------------------------------------------------------- the HTTP layer


def query_error(code: str, message: str, status: int) -> tuple[int, dict[str, str], bytes]:
    body = (
        f'<ErrorResponse xmlns="{IAM_XMLNS}"><Error><Type>Sender</Type><Code>{escape(code)}</Code>'
        f"<Message>{escape(message)}</Message></Error>"
        f"<RequestId>{uuid.uuid4()}</RequestId></ErrorResponse>"
    )
    return status, {"Content-Type": "text/xml"}, body.encode()


def json_error(code: str, message: str, status: int) -> tuple[int, dict[str, str], bytes]:
    body = json.dumps({"__type": code, "message": message})
    return status, {"Content-Type": "application/x-amz-json-1.1"}, body.encode()


# What a proxy, a load balancer or a captive portal answers in place of AWS. botocore reads an
# error status whose body starts with "<html>" as a generic error (a ClientError whose code is
# the status, e.g. "500", retried in standard mode); any other page goes to its XML parser,
# which fails on HTML that is not well-formed XML (the <meta> tag here is never closed) and
# raises ResponseParserError: not a BotoCoreError, and not retried.
NON_XML_PAGE = (
    b'<!DOCTYPE html>\n<html lang="en">\n<head><meta charset="utf-8">'
    b"<title>500 Internal Server Error</title></head>\n<body><h1>Internal Server Error</h1>"
    b"<p>The upstream server did not answer.</p><hr><address>proxy</address></body>\n</html>\n"
)
GENERIC_HTML_PAGE = b"<html><body><b>Http/1.1 Service Unavailable</b></body></html>\n"

STATUS_TEXT = {
    200: "200 OK",
    400: "400 Bad Request",
    403: "403 Forbidden",
    401: "401 Unauthorized",
    404: "404 Not Found",
    409: "409 Conflict",
    410: "410 Gone",
    500: "500 Internal Server Error",
    502: "502 Bad Gateway",
    429: "429 Too Many Requests",
    503: "503 Service Unavailable",
}


@dataclass(frozen=True)
class CallInfo:
    service: str
    action: str
    account_id: str
    json_protocol: bool
    params: dict[str, Any]
    region: str = REGION
    method: str = "POST"
    path: str = "/"
    body: bytes = b""


class FaultLayer:
    """WSGI layer around moto's app: latency, faults, call counting, the missing operations."""

    def __init__(self, app: WSGIApp, state: Simulation = STATE) -> None:
        self.app = app
        self.state = state

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        path = environ.get("PATH_INFO", "")
        if path.startswith("/moto-api"):
            return self.app(environ, start_response)
        if path == "/rootkey-sim/calls":
            return self.control(environ, start_response)
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        environ["wsgi.input"] = io.BytesIO(body)
        call = self.identify(environ, body)
        state = self.state
        with state.lock:
            state.calls[(call.account_id, call.action)] += 1
            delay = state.account_latency.get(call.account_id, state.latency)
            woken_by_reset = state.reset_event
        if delay:
            woken_by_reset.wait(delay)  # a reset ends the wait: nothing leaks into the next test
        answer = self.fault(call)
        if answer is None:
            answer = self.extension(call)
        if answer is None and call.action == "ListAccounts" and state.empty_pages:
            return self.list_accounts_with_empty_pages(environ, body, call, start_response)
        if answer is None:
            return self.app(environ, start_response)
        status, headers, payload = answer
        headers = {**headers, "Content-Length": str(len(payload)), "x-amzn-RequestId": "rk"}
        start_response(STATUS_TEXT.get(status, f"{status} Error"), list(headers.items()))
        return [payload]

    def control(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        with self.state.lock:
            if environ.get("REQUEST_METHOD") == "POST":
                self.state.calls.clear()
            by_action: Counter[str] = Counter()
            for (_, action), n in self.state.calls.items():
                by_action[action] += n
        payload = json.dumps(dict(by_action)).encode()
        start_response(
            "200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(payload)))]
        )
        return [payload]

    def identify(self, environ: dict[str, Any], body: bytes) -> CallInfo:
        auth = environ.get("HTTP_AUTHORIZATION", "")
        key_id, service, region = "", "", REGION
        if "Credential=" in auth:
            scope = auth.split("Credential=", 1)[1].split(",", 1)[0].split("/")
            key_id = scope[0]
            region = scope[2] if len(scope) > 2 else REGION
            service = scope[3] if len(scope) > 3 else ""
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        method = environ.get("REQUEST_METHOD", "POST")
        path = environ.get("PATH_INFO", "/")
        rest_action = securityhub.route(method, path) if service == "securityhub" else None
        params: dict[str, Any]
        if rest_action:  # REST-JSON: the action is in the method and path
            action = rest_action
            try:
                params = json.loads(body or b"{}")
            except ValueError:
                params = {}
            json_protocol = True
        elif target:
            action = target.rsplit(".", 1)[-1]
            try:
                params = json.loads(body or b"{}")
            except ValueError:
                params = {}
            json_protocol = True
        else:
            form = parse_qs(body.decode("utf-8", "replace"))
            params = {k: v[0] for k, v in form.items()}
            action = params.get("Action", "")
            json_protocol = False
        return CallInfo(
            service,
            action,
            self.account_of(key_id),
            json_protocol,
            params,
            region=region,
            method=method,
            path=path,
            body=body,
        )

    def account_of(self, key_id: str) -> str:
        known = self.state.key_accounts.get(key_id)
        if known:
            return known
        from moto.iam.models import get_account_id_from

        account = get_account_id_from(key_id) if key_id else MANAGEMENT_ACCOUNT
        with self.state.lock:
            self.state.key_accounts[key_id] = account
        return account

    def matches(self, table: Iterable[tuple[str, str]], call: CallInfo) -> tuple[str, str] | None:
        for key in ((call.account_id, call.action), ("*", call.action), (call.account_id, "*")):
            if key in table:
                return key
        return None

    def fault(self, call: CallInfo) -> tuple[int, dict[str, str], bytes] | None:
        state = self.state
        err = json_error if call.json_protocol else query_error
        with state.lock:
            if self.matches(state.denied, call):
                code = "AccessDeniedException" if call.json_protocol else "AccessDenied"
                msg = (
                    f"User: arn:aws:sts::{call.account_id}:assumed-role/{AUDIT_ROLE}/rootkey is "
                    f"not authorized to perform: {call.service}:{call.action}"
                )
                return err(code, msg, 400 if call.json_protocol else 403)
            key = self.matches(state.throttled, call)
            if key is not None:
                left = state.throttled[key]
                if left is None or left > 0:
                    if left is not None:
                        state.throttled[key] = left - 1
                    if call.service == "securityhub":  # its throttling error (HTTP 429)
                        return err("LimitExceededException", "Rate exceeded", 429)
                    code = "TooManyRequestsException" if call.json_protocol else "Throttling"
                    return err(code, "Rate exceeded", 400)
            key = self.matches(state.failures, call)
            if key is not None:
                code, status, left = state.failures[key]
                if left is None or left > 0:
                    if left is not None:
                        state.failures[key] = (code, status, left - 1)
                    return err(code, f"simulated {code}", status)
            key = self.matches(state.html_answers, call)
            if key is not None:
                status, page, left = state.html_answers[key]
                if left is None or left > 0:
                    if left is not None:
                        state.html_answers[key] = (status, page, left - 1)
                    return status, {"Content-Type": "text/html; charset=utf-8"}, page
            never_ready = call.account_id in state.report_never_ready
        if never_ready and call.action == "GenerateCredentialReport":
            return self.xml_result(call.action, "<State>INPROGRESS</State>")
        if never_ready and call.action == "GetCredentialReport":
            return query_error("ReportInProgress", "Report generation in progress", 404)
        return None

    def extension(self, call: CallInfo) -> tuple[int, dict[str, str], bytes] | None:
        state = self.state
        if call.service == "securityhub" and call.action in securityhub.HANDLED:
            with state.lock:
                refused = dict(state.refused_findings)
            return securityhub.handle(
                call.action, call.account_id, call.region, "aws", call.body, refused
            )
        if call.action == "LookupEvents" and call.service == "cloudtrail":
            return TRAIL.lookup(call.account_id, call.region, call.params)
        if call.action == "ListOrganizationsFeatures" and call.service == "iam":
            if state.management is None:
                return query_error(
                    "OrganizationNotFoundException", "The account is not in an organization", 400
                )
            if call.account_id != state.management:
                return query_error(
                    "AccountNotManagementOrDelegatedAdministratorException",
                    "The caller is not the management account or a delegated administrator",
                    400,
                )
            members = "".join(f"<member>{f}</member>" for f in state.features)
            return self.xml_result(
                call.action,
                f"<OrganizationId>{state.org_id}</OrganizationId>"
                f"<EnabledFeatures>{members}</EnabledFeatures>",
            )
        if call.action == "ListAccounts" and state.management is None:
            # moto answers an empty list; AWS refuses when there is no Organization
            return json_error(
                "AWSOrganizationsNotInUseException",
                "Your account is not a member of an organization.",
                400,
            )
        if call.action == "AssumeRole" and call.service == "sts":
            arn = call.params.get("RoleArn", "")
            parts = arn.split(":")
            if len(parts) >= 6 and parts[4] in state.members:
                role_name = parts[5].rsplit("/", 1)[-1]
                from moto.iam.models import iam_backends

                roles = iam_backends[parts[4]]["aws"].roles.values()
                if not any(r.name == role_name for r in roles):
                    return query_error(
                        "AccessDenied",
                        f"User: arn:aws:iam::{call.account_id}:root is not authorized to "
                        f"perform: sts:AssumeRole on resource: {arn}",
                        403,
                    )
        return None

    def xml_result(self, action: str, inner: str) -> tuple[int, dict[str, str], bytes]:
        body = (
            f'<{action}Response xmlns="{IAM_XMLNS}"><{action}Result>{inner}</{action}Result>'
            f"<ResponseMetadata><RequestId>{uuid.uuid4()}</RequestId></ResponseMetadata>"
            f"</{action}Response>"
        )
        return 200, {"Content-Type": "text/xml"}, body.encode()

    def list_accounts_with_empty_pages(
        self,
        environ: dict[str, Any],
        body: bytes,
        call: CallInfo,
        start_response: Callable[..., Any],
    ) -> Any:
        """Every real page of ListAccounts is preceded by an empty page (AWS may send those)."""
        token = call.params.get("NextToken") or ""
        if not token.startswith("rkempty."):
            payload = json.dumps({"Accounts": [], "NextToken": "rkempty." + token}).encode()
            headers = [
                ("Content-Type", "application/x-amz-json-1.1"),
                ("Content-Length", str(len(payload))),
            ]
            start_response("200 OK", headers)
            return [payload]
        params = dict(call.params)
        real = token.removeprefix("rkempty.")
        if real:
            params["NextToken"] = real
        else:
            params.pop("NextToken", None)
        new_body = json.dumps(params).encode()
        environ["wsgi.input"] = io.BytesIO(new_body)
        environ["CONTENT_LENGTH"] = str(len(new_body))
        return self.app(environ, start_response)


# --------------------------------------------------------------------------- the server


@dataclass(frozen=True)
class SimAccount:
    account_id: str
    name: str
    has_audit_role: bool = True


@dataclass(frozen=True)
class SimOrg:
    org_id: str
    management_id: str
    members: tuple[SimAccount, ...]

    @property
    def all_accounts(self) -> tuple[SimAccount, ...]:
        return (SimAccount(self.management_id, "management"), *self.members)


# botocore's loader of service models, shared by every session to the simulator: a fresh
# botocore session parses the endpoint and service model files again for each client (about
# 0.1 s a session, paid by every test that reads or sets up AWS). Only the parsed files are
# shared; credentials, events and clients stay each session's own.
MODEL_LOADER = botocore.session.get_session().get_component("data_loader")


class EndpointSession(boto3.session.Session):
    """A real boto3 Session whose clients default to the simulated endpoint (like setting
    AWS_ENDPOINT_URL, without touching this process's environment); its service models come
    from the shared ``MODEL_LOADER`` unless ``botocore_session`` is given."""

    def __init__(self, endpoint_url: str, **kwargs: Any) -> None:
        if "botocore_session" not in kwargs:
            core = botocore.session.Session()
            core.register_component("data_loader", MODEL_LOADER)
            kwargs["botocore_session"] = core
        super().__init__(**kwargs)
        self.endpoint_url = endpoint_url

    def client(self, *args: Any, **kwargs: Any) -> Any:
        kwargs.setdefault("endpoint_url", self.endpoint_url)
        return super().client(*args, **kwargs)


class SimulatedAws:
    """moto's server on 127.0.0.1 (a free port) with the extensions above."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        self.requested_port = port
        self.server: BaseWSGIServer | None = None
        self.thread: threading.Thread | None = None
        self.state = STATE

    # lifecycle ----------------------------------------------------------------
    def start(self) -> SimulatedAws:
        from moto.moto_server.werkzeug_app import (
            DomainDispatcherApplication,
            MotoRequestHandler,
            create_backend_app,
        )

        class QuietHandler(MotoRequestHandler):
            def log_request(self, *args: Any, **kwargs: Any) -> None:
                return None

        install_root_user_patch()
        install_sqs_speedup()
        install_sqs_clock()
        app = FaultLayer(DomainDispatcherApplication(create_backend_app), self.state)
        server = make_server(
            self.host, self.requested_port, app, threaded=True, request_handler=QuietHandler
        )
        server.daemon_threads = True  # type: ignore[attr-defined]
        self.server = server
        self.thread = threading.Thread(
            target=lambda: server.serve_forever(poll_interval=POLL), daemon=True
        )
        self.thread.start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
        if self.thread is not None:
            self.thread.join(timeout=5)
        self.server = None

    def __enter__(self) -> SimulatedAws:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        assert self.server is not None, "call start() first"
        return int(self.server.server_address[1])

    @property
    def endpoint_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def reset(self) -> None:
        """Forget every account, organization, root state and fault (moto's /moto-api/reset)."""
        requests.post(f"{self.endpoint_url}/moto-api/reset", timeout=30).raise_for_status()
        self.state.clear()
        self.trail.clear()

    def advance_sqs(self, seconds: float) -> None:
        """SQS's clock moves on ``seconds`` as if they had passed: a message in flight whose
        visibility timeout runs out in them is received again (a long poll waiting for one
        returns it at once), and a long poll whose wait runs out in them returns (within a second:
        moto looks again once a second)."""
        from moto.sqs.models import sqs_backends

        with self.state.lock:
            self.state.sqs_ahead += seconds
        # copies of each level: a server thread may add a backend or a queue meanwhile
        for regions in list(dict.values(sqs_backends)):
            for backend in list(dict.values(regions)):
                for queue in list(backend.queues.values()):
                    with queue._messages_lock:  # wake the long polls to look again
                        queue._messages_lock.notify_all()

    @property
    def trail(self) -> TrailHistory:
        """CloudTrail's event history (``record`` events; ``LookupEvents`` answers from it)."""
        return TRAIL

    # clients ------------------------------------------------------------------
    def env(self) -> dict[str, str]:
        """Variables that aim a subprocess's boto3 at this server with fake credentials."""
        return {
            "AWS_ENDPOINT_URL": self.endpoint_url,
            "AWS_ACCESS_KEY_ID": FAKE_KEY_ID,
            "AWS_SECRET_ACCESS_KEY": FAKE_SECRET,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_REGION": REGION,
        }

    def session(self) -> boto3.session.Session:
        """A boto3 Session of the management account whose clients go to this server."""
        return EndpointSession(
            self.endpoint_url,
            aws_access_key_id=FAKE_KEY_ID,
            aws_secret_access_key=FAKE_SECRET,
            region_name=REGION,
        )

    def session_factory(self) -> Callable[[], boto3.session.Session]:
        return self.session

    def client(self, service: str) -> Any:
        return self.session().client(service)

    # the organization ---------------------------------------------------------
    def create_organization(
        self,
        members: int | Iterable[str] = 0,
        missing_role: Iterable[int | str] = (),
        role_name: str = AUDIT_ROLE,
    ) -> SimOrg:
        """An Organization of the management account plus members made by CreateAccount.

        ``members`` is a count or a list of names; ``missing_role`` picks members (by index or
        name) created without the audit role, so AssumeRole into them is refused.
        """
        names = (
            [f"member-{i:04d}" for i in range(members)]
            if isinstance(members, int)
            else list(members)
        )
        missing = set(missing_role)
        org_client = self.client("organizations")
        org = org_client.create_organization(FeatureSet="ALL")["Organization"]
        created: list[SimAccount] = []
        for index, name in enumerate(names):
            has_role = index not in missing and name not in missing
            status = org_client.create_account(
                AccountName=name,
                Email=f"{name}@example.com",
                RoleName=role_name if has_role else "OrganizationAccountAccessRole",
            )["CreateAccountStatus"]
            created.append(SimAccount(status["AccountId"], name, has_role))
        with self.state.lock:
            self.state.management = org["MasterAccountId"]
            self.state.org_id = org["Id"]
            self.state.members.update(a.account_id for a in created)
        return SimOrg(org["Id"], org["MasterAccountId"], tuple(created))

    def close_account(self, account_id: str) -> None:
        """The account shows as SUSPENDED in ListAccounts."""
        self.client("organizations").close_account(AccountId=account_id)

    def set_org_features(self, *features: str) -> None:
        """What ListOrganizationsFeatures reports as enabled (default: both)."""
        with self.state.lock:
            self.state.features = tuple(features)

    # the root user -------------------------------------------------------------
    def set_root(self, account_id: str, **changes: Any) -> RootState:
        """Change fields of the account's RootState: keys, mfa, password, signing_certs, ..."""
        with self.state.lock:
            current = self.state.roots.get(account_id, RootState())
            if "keys" in changes:
                changes["keys"] = tuple(changes["keys"])
            if "signing_certs" in changes:
                changes["signing_certs"] = tuple(changes["signing_certs"])
            new = replace(current, **changes)
            self.state.roots[account_id] = new
            return new

    def set_root_keys(self, account_id: str, keys: Iterable[RootKeySpec]) -> RootState:
        return self.set_root(account_id, keys=keys)

    def remove_root_credentials(self, account_id: str) -> RootState:
        """As centralized root access does: no password, keys, certificates or MFA."""
        return self.set_root(account_id, keys=(), mfa=False, password=False, signing_certs=())

    def set_report_time(self, account_id: str, generated: datetime) -> None:
        """The account's report is one showing the root user as it is now, generated at
        ``generated`` (at least 4 hours ago: the next GenerateCredentialReport replaces it)."""
        with self.state.lock:
            self.state.snapshot_report(account_id, generated)

    def expire_report(self, account_id: str) -> None:
        """The account's report (if any) is now 4 hours old, as if time had passed: the next
        GenerateCredentialReport makes a new one showing the root user as it is then."""
        with self.state.lock:
            if account_id in self.state.report_times:
                self.state.report_times[account_id] = utcnow() - REPORT_MAX_AGE

    # faults ----------------------------------------------------------------------
    def set_latency(self, seconds: float, account_id: str | None = None) -> None:
        """Every AWS call (or every call made in ``account_id``) waits this long in the server
        before it is answered."""
        with self.state.lock:
            if account_id is None:
                self.state.latency = seconds
            else:
                self.state.account_latency[account_id] = seconds

    def deny(self, account_id: str | None, *actions: str) -> None:
        """AccessDenied for these actions (``"*"`` = all) called in this account (None = any)."""
        with self.state.lock:
            for action in actions or ("*",):
                self.state.denied.add((account_id or "*", action))

    def throttle(self, account_id: str | None, action: str, times: int | None = None) -> None:
        """Answer ``times`` calls with throttling, then normally (None: throttle for ever)."""
        with self.state.lock:
            self.state.throttled[(account_id or "*", action)] = times

    def fail(
        self,
        account_id: str | None,
        action: str,
        code: str,
        times: int | None = None,
        status: int = 400,
    ) -> None:
        """Answer ``times`` calls (None: all) with the AWS error ``code``, e.g. LimitExceeded,
        ReportExpired, ReportNotPresent, ServiceFailure (status 500 is retried by botocore)."""
        with self.state.lock:
            self.state.failures[(account_id or "*", action)] = (code, status, times)

    def answer_html(
        self,
        account_id: str | None,
        action: str,
        status: int = 500,
        page: bytes = NON_XML_PAGE,
        times: int | None = None,
    ) -> None:
        """Answer ``times`` calls (None: all) with an HTML page instead of AWS's answer, as a
        proxy or load balancer in the way does: ``NON_XML_PAGE`` (botocore raises
        ResponseParserError) or ``GENERIC_HTML_PAGE`` (a ClientError named by the status)."""
        with self.state.lock:
            self.state.html_answers[(account_id or "*", action)] = (status, page, times)

    def refuse_finding(self, finding_id: str, message: str) -> None:
        """Security Hub refuses the finding ``finding_id`` in every BatchImportFindings
        (``InvalidInput``, ``message``) while the other findings of the batch go through."""
        with self.state.lock:
            self.state.refused_findings[finding_id] = message

    def report_never_ready(self, account_id: str) -> None:
        with self.state.lock:
            self.state.report_never_ready.add(account_id)

    def empty_list_pages(self, enabled: bool = True) -> None:
        """Put an empty page (with a NextToken) before every page of ListAccounts."""
        self.state.empty_pages = enabled

    def clear_faults(self) -> None:
        with self.state.lock:
            self.state.latency = 0.0
            self.state.account_latency.clear()
            self.state.denied.clear()
            self.state.throttled.clear()
            self.state.failures.clear()
            self.state.html_answers.clear()
            self.state.report_never_ready.clear()
            self.state.refused_findings.clear()
            self.state.empty_pages = False

    # counting ----------------------------------------------------------------------
    def call_count(self, account_id: str | None = None, action: str | None = None) -> int:
        """AWS calls the server received (throttled ones included)."""
        with self.state.lock:
            return sum(
                n
                for (acct, act), n in self.state.calls.items()
                if (account_id is None or acct == account_id) and (action is None or act == action)
            )

    def calls_by_action(self) -> dict[str, int]:
        totals: Counter[str] = Counter()
        with self.state.lock:
            for (_, action), n in self.state.calls.items():
                totals[action] += n
        return dict(totals)

    def reset_calls(self) -> None:
        with self.state.lock:
            self.state.calls.clear()


def days_ago(days: float, now: datetime | None = None) -> datetime:
    return (now or utcnow()) - timedelta(days=days)


def serve_main(argv: list[str] | None = None) -> int:
    """``python -m simulator.aws``: a simulated Organization in its own process (so the
    audited code does not share its GIL) until killed. Prints one JSON line with the endpoint;
    ``GET /rootkey-sim/calls`` answers the calls counted so far, ``POST`` to it resets them."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m simulator.aws")
    parser.add_argument("--members", type=int, default=3)
    parser.add_argument("--latency", type=float, default=0.0, help="seconds added per AWS call")
    parser.add_argument("--noncompliant", type=int, default=0, help="first N members get a key")
    args = parser.parse_args(argv)
    sim = SimulatedAws().start()
    org = sim.create_organization(args.members)
    for member in org.members[: args.noncompliant]:
        sim.set_root_keys(member.account_id, [RootKeySpec(slot=1, active=True)])
    sim.set_latency(args.latency)
    sim.reset_calls()
    info = {
        "endpoint_url": sim.endpoint_url,
        "management": org.management_id,
        "members": len(org.members),
    }
    print(json.dumps(info), flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        threading.Event().wait()
    sim.stop()
    return 0


def start_served(members: int, noncompliant: int = 0, latency: float = 0.0) -> tuple[Any, dict]:
    """Run ``serve_main`` in a child process (for benchmarks); returns the process and its
    JSON line (``endpoint_url``, ``management``, ``members``). The caller kills the process."""
    import subprocess
    import sys
    from pathlib import Path

    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "simulator.aws",
            "--members",
            str(members),
            "--noncompliant",
            str(noncompliant),
            "--latency",
            str(latency),
        ],
        cwd=Path(__file__).resolve().parents[1],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line:
        proc.kill()
        proc.wait()
        raise SystemExit("the simulated Organization did not start")
    return proc, json.loads(line)


if __name__ == "__main__":
    raise SystemExit(serve_main())
