"""A large simulated Organization that costs little CPU, for the scan benchmark and scale tests.

moto saturates a core long before rootkey does (at 3,000 accounts its process burned 65-71 s of
CPU in an 80 s scan), so a benchmark on it measures moto. ``FastOrg`` answers only the calls an
Organization scan makes, from plain dictionaries, on a threaded HTTP server on 127.0.0.1:

* STS (query protocol, XML): GetCallerIdentity, AssumeRole (into ``AUDIT_ROLE`` of an account
  of the Organization, from the management account; anything else is AccessDenied);
* Organizations (JSON 1.1): ListRoots, ListOrganizationalUnitsForParent,
  ListAccountsForParent, ListAccounts, DescribeAccount (at most 20 per page, as AWS; a larger
  ``MaxResults`` is an InvalidInputException);
* IAM (query protocol, XML): GetAccountSummary, GenerateCredentialReport, GetCredentialReport,
  ListOrganizationsFeatures (management account only).

It is as strict as AWS where the scan could be wrong: every request must carry a valid SigV4
signature of a key it issued (the management key, or AssumeRole's temporary key with its session
token), made for the right service; each answer is that of the account the key belongs to.
Each call waits ``latency`` seconds before it is answered, and ``rates`` throttles an action to
so many calls per second (a token bucket one second deep): ``Throttling`` (STS, IAM) or
``TooManyRequestsException`` (Organizations), as AWS answers. Shapes follow the AWS API
references of these operations (and botocore's service models, which parse them).

    python -m simulator.fast_org --accounts 10001 --ous 100 --latency 0.1   # prints one JSON line
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, quote

from simulator.aws import FAKE_KEY_ID, FAKE_SECRET, RootKeySpec, RootState, root_row

MANAGEMENT = "111111111111"
AUDIT_ROLE = "RootkeyAudit"
ROOT_ID = "r-ab12"
ORG_ID = "o-abcd123456"
PAGE_MAX = 20  # MaxResults of every Organizations list call: 1 to 20
STS_XMLNS = "https://sts.amazonaws.com/doc/2011-06-15/"
IAM_XMLNS = "https://iam.amazonaws.com/doc/2010-05-08/"
# The credential report's columns, in AWS's order (IAM User Guide, "Getting credential reports")
REPORT_HEADER = (
    "user,arn,user_creation_time,password_enabled,password_last_used,password_last_changed,"
    "password_next_rotation,mfa_active,access_key_1_active,access_key_1_last_rotated,"
    "access_key_1_last_used_date,access_key_1_last_used_region,access_key_1_last_used_service,"
    "access_key_2_active,access_key_2_last_rotated,access_key_2_last_used_date,"
    "access_key_2_last_used_region,access_key_2_last_used_service,cert_1_active,"
    "cert_1_last_rotated,cert_2_active,cert_2_last_rotated\n"
)
THROTTLE_CODE = {
    "sts": "Throttling",
    "iam": "Throttling",
    "organizations": "TooManyRequestsException",
}


def member_id(index: int) -> str:
    return f"{200000000000 + index:012d}"


@dataclass
class Account:
    account_id: str
    name: str
    parent: str
    state: str = "ACTIVE"
    root: RootState = field(default_factory=RootState)


class Bucket:
    """``rate`` calls per second, at most ``rate`` at once (a token bucket one second deep)."""

    def __init__(self, rate: float) -> None:
        self.rate = rate
        self.tokens = rate
        self.at = time.monotonic()

    def take(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.rate, self.tokens + (now - self.at) * self.rate)
        self.at = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False


class Fault(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


class FastOrg:
    """The Organization, its accounts and the HTTP server that answers for them."""

    def __init__(
        self,
        accounts: int = 10,
        ous: int = 0,
        *,
        latency: float = 0.0,
        noncompliant: Iterable[int] = (),
        suspended: Iterable[int] = (),
        rates: dict[str, float] | None = None,
        top_ous: int | None = None,
        denied: Iterable[str] = (),
    ) -> None:
        """``accounts`` including the management account (in the root); the members are spread
        over ``ous`` OUs (``top_ous`` of them under the root, the rest under those; all in the
        root when ``ous`` is 0). ``noncompliant``/``suspended``: member indexes (from 1).
        ``denied``: actions answered AccessDenied (a policy that does not grant them)."""
        self.denied = set(denied)
        self.latency = latency
        self.lock = threading.Lock()
        self.calls: Counter[str] = Counter()
        # (action, account) in the order requests arrived: AssumeRole's target account, the
        # NextToken of a ListAccounts page ("" for the first)
        self.arrivals: list[tuple[str, str]] = []
        self.buckets = {action: Bucket(rate) for action, rate in (rates or {}).items()}
        self.children: dict[str, list[str]] = {ROOT_ID: []}
        top = ous if top_ous is None else min(top_ous, ous)
        ou_ids = [f"ou-ab12-{i:08x}" for i in range(ous)]
        for i, ou in enumerate(ou_ids):
            parent = ROOT_ID if i < top else ou_ids[(i - top) % max(1, top)]
            self.children[parent].append(ou)
            self.children[ou] = []
        self.accounts: dict[str, Account] = {MANAGEMENT: Account(MANAGEMENT, "management", ROOT_ID)}
        for index in range(1, accounts):
            parent = ou_ids[index % ous] if ous else ROOT_ID
            self.accounts[member_id(index)] = Account(
                member_id(index), f"member-{index:05d}", parent
            )
        key = RootKeySpec(slot=1, active=True, created=datetime(2021, 3, 4, tzinfo=UTC))
        for index in noncompliant:
            self.accounts[member_id(index)].root = RootState(keys=(key,))
        for index in suspended:
            self.accounts[member_id(index)].state = "SUSPENDED"
        self.by_parent: dict[str, list[Account]] = {}
        for account in self.accounts.values():
            self.by_parent.setdefault(account.parent, []).append(account)
        self.server: ThreadingHTTPServer | None = None
        self.secret = uuid.uuid4().bytes

    # lifecycle ----------------------------------------------------------------
    def start(self) -> FastOrg:
        org = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as botocore's connection pool expects
            disable_nagle_algorithm = True  # headers and body go out as two writes

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                status, ctype, payload = org.answer(self.command, self.path, self.headers, body)
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(payload)))
                self.send_header("x-amzn-RequestId", str(uuid.uuid4()))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args: Any) -> None:
                return None

        class Server(ThreadingHTTPServer):
            daemon_threads = True
            request_queue_size = 1024  # a scan opens many connections at once

        self.server = Server(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    def __enter__(self) -> FastOrg:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def endpoint_url(self) -> str:
        assert self.server is not None, "call start() first"
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def env(self) -> dict[str, str]:
        """Variables that aim boto3 at this server with the management account's key."""
        return {
            "AWS_ENDPOINT_URL": self.endpoint_url,
            "AWS_ACCESS_KEY_ID": FAKE_KEY_ID,
            "AWS_SECRET_ACCESS_KEY": FAKE_SECRET,
            "AWS_DEFAULT_REGION": "us-east-1",
        }

    def calls_by_action(self, reset: bool = False) -> dict[str, int]:
        with self.lock:
            out = dict(self.calls)
            if reset:
                self.calls.clear()
        return out

    def active_members(self) -> set[str]:
        return {a.account_id for a in self.accounts.values() if a.state == "ACTIVE"}

    def noncompliant(self) -> set[str]:
        return {a.account_id for a in self.accounts.values() if a.root.keys}

    # one request ---------------------------------------------------------------
    def answer(self, method: str, path: str, headers: Any, body: bytes) -> tuple[int, str, bytes]:
        target = headers.get("X-Amz-Target") or ""
        json_protocol = bool(target)
        action = target.rsplit(".", 1)[-1] if target else ""
        params: dict[str, Any] = {}
        try:
            if json_protocol:
                params = json.loads(body or b"{}")
            else:
                params = dict(parse_qsl(body.decode()))
                action = params.get("Action", "")
        except ValueError:
            pass
        with self.lock:
            self.calls[action] += 1
            if action == "AssumeRole":
                self.arrivals.append((action, str(params.get("RoleArn", "::::")).split(":")[4]))
            elif action == "ListAccounts":
                self.arrivals.append((action, str(params.get("NextToken") or "")))
            bucket = self.buckets.get(action)
            allowed = bucket is None or bucket.take()
        if self.latency:
            time.sleep(self.latency)
        try:
            service, account = self.authenticate(method, path, headers, body)
            if action in self.denied:
                code = "AccessDeniedException" if json_protocol else "AccessDenied"
                raise Fault(400 if json_protocol else 403, code, f"not authorized: {action}")
            if not allowed:
                raise Fault(400, THROTTLE_CODE.get(service, "Throttling"), "Rate exceeded")
            if service == "organizations":
                return (
                    200,
                    "application/x-amz-json-1.1",
                    json.dumps(self.organizations(action, params, account)).encode(),
                )
            inner = (
                self.sts(action, params, account) if service == "sts" else self.iam(action, account)
            )
            xmlns = STS_XMLNS if service == "sts" else IAM_XMLNS
            return (
                200,
                "text/xml",
                (
                    f'<{action}Response xmlns="{xmlns}"><{action}Result>{inner}</{action}Result>'
                    f"<ResponseMetadata><RequestId>{uuid.uuid4()}</RequestId></ResponseMetadata>"
                    f"</{action}Response>"
                ).encode(),
            )
        except Fault as fault:
            if json_protocol:
                payload = {"__type": fault.code, "Message": fault.message}
                return fault.status, "application/x-amz-json-1.1", json.dumps(payload).encode()
            return (
                fault.status,
                "text/xml",
                (
                    f"<ErrorResponse><Error><Type>Sender</Type><Code>{fault.code}</Code>"
                    f"<Message>{fault.message}</Message></Error>"
                    f"<RequestId>{uuid.uuid4()}</RequestId></ErrorResponse>"
                ).encode(),
            )

    def key_of(self, account_id: str) -> tuple[str, str, str]:
        """The temporary key AssumeRole hands out for ``account_id``: id, secret, token."""
        key_id = f"ASIA{account_id}{uuid.uuid4().hex[:4].upper()}"
        return key_id, self.derive("secret", key_id), self.derive("token", key_id)

    def derive(self, kind: str, key_id: str) -> str:
        return hmac.new(self.secret, f"{kind}:{key_id}".encode(), hashlib.sha256).hexdigest()

    def authenticate(self, method: str, path: str, headers: Any, body: bytes) -> tuple[str, str]:
        """The service and the account of a validly signed request (SigV4), else a Fault."""
        auth = headers.get("Authorization") or ""
        try:
            algorithm, rest = auth.split(" ", 1)
            parts = dict(p.strip().split("=", 1) for p in rest.split(","))
            key_id, date, region, service, terminal = parts["Credential"].split("/")
            signed = parts["SignedHeaders"].split(";")
        except (ValueError, KeyError):
            raise Fault(
                403, "MissingAuthenticationToken", "Request is missing a valid signature"
            ) from None
        if algorithm != "AWS4-HMAC-SHA256" or terminal != "aws4_request":
            raise Fault(403, "IncompleteSignature", "Unsupported signature")
        if key_id == FAKE_KEY_ID:
            secret, account = FAKE_SECRET, MANAGEMENT
        elif key_id.startswith("ASIA") and key_id[4:16] in self.accounts:
            secret, account = self.derive("secret", key_id), key_id[4:16]
            token = headers.get("X-Amz-Security-Token") or ""
            if not hmac.compare_digest(token, self.derive("token", key_id)):
                raise Fault(403, "InvalidClientTokenId", "The security token is invalid")
        else:
            raise Fault(
                403, "InvalidClientTokenId", "The security token included in the request is invalid"
            )
        amz_date = headers.get("X-Amz-Date") or ""
        canonical = "\n".join(
            [
                method,
                quote(path.split("?", 1)[0], safe="/-_.~"),
                "",
                *(f"{h}:{' '.join((headers.get(h) or '').split())}" for h in signed),
                "",
                ";".join(signed),
                hashlib.sha256(body).hexdigest(),
            ]
        )
        scope = f"{date}/{region}/{service}/aws4_request"
        to_sign = "\n".join(
            ["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()]
        )
        k = f"AWS4{secret}".encode()
        for piece in (date, region, service, "aws4_request"):
            k = hmac.new(k, piece.encode(), hashlib.sha256).digest()
        expected = hmac.new(k, to_sign.encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, parts.get("Signature", "")):
            raise Fault(403, "SignatureDoesNotMatch", "The request signature does not match")
        return service, account

    # STS -----------------------------------------------------------------------
    def sts(self, action: str, params: dict[str, str], account: str) -> str:
        if action == "GetCallerIdentity":
            return (
                f"<Arn>arn:aws:iam::{account}:user/rootkey</Arn><UserId>AIDAEXAMPLE</UserId>"
                f"<Account>{account}</Account>"
            )
        if action != "AssumeRole":
            raise Fault(400, "InvalidAction", f"Could not find operation {action}")
        arn = params.get("RoleArn", "")
        target = arn.split(":")[4] if arn.count(":") >= 5 else ""
        if (
            account != MANAGEMENT
            or target not in self.accounts
            or arn.rsplit("/", 1)[-1] != AUDIT_ROLE
            or not params.get("RoleSessionName")
        ):
            raise Fault(403, "AccessDenied", f"not authorized to perform: sts:AssumeRole on {arn}")
        key_id, secret, token = self.key_of(target)
        return (
            f"<Credentials><AccessKeyId>{key_id}</AccessKeyId>"
            f"<SecretAccessKey>{secret}</SecretAccessKey><SessionToken>{token}</SessionToken>"
            "<Expiration>2099-01-01T00:00:00Z</Expiration></Credentials>"
            f"<AssumedRoleUser><Arn>arn:aws:sts::{target}:assumed-role/{AUDIT_ROLE}/"
            f"{params['RoleSessionName']}</Arn><AssumedRoleId>AROAEXAMPLE:x</AssumedRoleId>"
            "</AssumedRoleUser>"
        )

    # IAM -----------------------------------------------------------------------
    def iam(self, action: str, account: str) -> str:
        root = self.accounts[account].root
        if action == "GetAccountSummary":
            flags = {
                "AccountAccessKeysPresent": int(bool(root.keys)),
                "AccountMFAEnabled": int(root.mfa),
                "AccountSigningCertificatesPresent": int(bool(root.signing_certs)),
                "AccountPasswordPresent": int(root.password),
                "Users": 3,
                "Roles": 7,
            }
            entries = "".join(
                f"<entry><key>{k}</key><value>{v}</value></entry>" for k, v in flags.items()
            )
            return f"<SummaryMap>{entries}</SummaryMap>"
        if action == "GenerateCredentialReport":
            return "<State>COMPLETE</State><Description>No report exists.</Description>"
        if action == "GetCredentialReport":
            content = base64.b64encode((REPORT_HEADER + root_row(account, root)).encode())
            generated = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            return (
                f"<Content>{content.decode()}</Content><ReportFormat>text/csv</ReportFormat>"
                f"<GeneratedTime>{generated}</GeneratedTime>"
            )
        if action == "ListOrganizationsFeatures":
            if account != MANAGEMENT:
                raise Fault(
                    400,
                    "AccountNotManagementOrDelegatedAdministratorException",
                    "The caller is not the management account",
                )
            return (
                f"<OrganizationId>{ORG_ID}</OrganizationId><EnabledFeatures>"
                "<member>RootCredentialsManagement</member><member>RootSessions</member>"
                "</EnabledFeatures>"
            )
        raise Fault(400, "InvalidAction", f"Could not find operation {action}")

    # Organizations ---------------------------------------------------------------
    def organizations(self, action: str, params: dict[str, Any], account: str) -> dict[str, Any]:
        if account != MANAGEMENT:
            raise Fault(
                400, "AccessDeniedException", "You don't have permissions to access this resource."
            )
        if action == "DescribeAccount":
            found = self.accounts.get(str(params.get("AccountId")))
            if found is None:
                raise Fault(400, "AccountNotFoundException", "Account not found")
            return {"Account": self.account_json(found)}
        if action == "ListRoots":
            items: list[Any] = [{"Id": ROOT_ID, "Arn": self.arn("root", ROOT_ID), "Name": "Root"}]
            key = "Roots"
        elif action == "ListOrganizationalUnitsForParent":
            parent = str(params.get("ParentId"))
            if parent not in self.children:
                raise Fault(400, "ParentNotFoundException", "parent not found")
            items = [
                {"Id": ou, "Arn": self.arn("ou", ou), "Name": ou} for ou in self.children[parent]
            ]
            key = "OrganizationalUnits"
        elif action == "ListAccountsForParent":
            parent = str(params.get("ParentId"))
            if parent not in self.children:
                raise Fault(400, "ParentNotFoundException", "parent not found")
            items = self.by_parent.get(parent, [])
            key = "Accounts"
        elif action == "ListAccounts":
            items = list(self.accounts.values())
            key = "Accounts"
        else:
            raise Fault(400, "InvalidAction", f"Could not find operation {action}")
        answer = self.page(items, key, params)
        if key == "Accounts":  # only the page's accounts are shaped: AWS does not pay for all
            answer[key] = [self.account_json(a) for a in answer[key]]
        return answer

    def page(self, items: list[Any], key: str, params: dict[str, Any]) -> dict[str, Any]:
        size = params.get("MaxResults", PAGE_MAX)
        if not isinstance(size, int) or not 1 <= size <= PAGE_MAX:
            raise Fault(400, "InvalidInputException", "MaxResults must be between 1 and 20")
        token = params.get("NextToken")
        start = 0
        if token is not None:
            try:
                start = int(base64.b64decode(token).decode().removeprefix("next:"))
            except ValueError:
                raise Fault(400, "InvalidInputException", "invalid NextToken") from None
        answer: dict[str, Any] = {key: items[start : start + size]}
        if start + size < len(items):
            answer["NextToken"] = base64.b64encode(f"next:{start + size}".encode()).decode()
        return answer

    def arn(self, kind: str, ident: str) -> str:
        return f"arn:aws:organizations::{MANAGEMENT}:{kind}/{ORG_ID}/{ident}"

    def account_json(self, account: Account) -> dict[str, Any]:
        return {
            "Id": account.account_id,
            "Arn": f"arn:aws:organizations::{MANAGEMENT}:account/{ORG_ID}/{account.account_id}",
            "Email": f"{account.name}@example.com",
            "Name": account.name,
            "Status": "ACTIVE" if account.state == "ACTIVE" else "SUSPENDED",
            "State": account.state,
            "JoinedMethod": "CREATED",
            "JoinedTimestamp": 1600000000.0,
        }


def main(argv: list[str] | None = None) -> int:
    """Serve one Organization until killed; print its endpoint as one JSON line."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m simulator.fast_org")
    parser.add_argument("--accounts", type=int, default=101)
    parser.add_argument("--ous", type=int, default=0)
    parser.add_argument("--top-ous", type=int, default=None)
    parser.add_argument("--latency", type=float, default=0.0)
    parser.add_argument("--noncompliant-every", type=int, default=50)
    parser.add_argument("--suspended-every", type=int, default=0)
    parser.add_argument("--rate", action="append", default=[], help="Action=calls per second")
    args = parser.parse_args(argv)
    members = range(1, args.accounts)
    org = FastOrg(
        args.accounts,
        args.ous,
        latency=args.latency,
        top_ous=args.top_ous,
        noncompliant=[
            i for i in members if args.noncompliant_every and i % args.noncompliant_every == 0
        ],
        suspended=[i for i in members if args.suspended_every and i % args.suspended_every == 1],
        rates={k: float(v) for k, v in (r.split("=", 1) for r in args.rate)},
    ).start()
    print(
        json.dumps(
            {
                "endpoint_url": org.endpoint_url,
                "noncompliant": sorted(org.noncompliant()),
                "active": sorted(org.active_members()),
            }
        ),
        flush=True,
    )
    import sys

    for line in sys.stdin:  # "calls" prints the calls so far (and counts from zero again)
        if line.strip() == "calls":
            print(json.dumps(org.calls_by_action(reset=True)), flush=True)
    org.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
