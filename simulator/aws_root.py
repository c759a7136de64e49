"""Centralized root access on the simulated AWS: ``sts:AssumeRoot`` and a root session's IAM.

A simulator extension (never used by the product): moto 5.2 implements neither
``sts:AssumeRoot`` nor the root session's view of the root user's access keys.
``RootAccessLayer`` sits between ``simulator.aws.FaultLayer`` (latency, faults, call counting,
ListOrganizationsFeatures) and moto's own app, and answers at the HTTP level, as AWS would:

* ``AssumeRoot`` (from the management account, with both Organization features enabled, a
  ``root-task`` TaskPolicyArn and ``DurationSeconds`` <= 900) reuses moto's AssumeRole
  machinery with the target account's ``:root`` ARN, so the session's access key belongs to the
  target account's backend and every later call is attributed to that account.
* A session's power is the real ``IAMDeleteRootUserCredentials`` task policy (AWS-managed,
  version v1): on the root user, and only there, ``ListAccessKeys``, ``GetAccessKeyLastUsed``,
  ``DeleteAccessKey``, ``ListSigningCertificates``, ``DeleteSigningCertificate``,
  ``GetLoginProfile``, ``DeleteLoginProfile``, ``ListMFADevices``, ``DeactivateMFADevice``,
  ``DeleteVirtualMFADevice`` and ``GetUser``. They act on the account's simulated root user
  (``RootState`` in ``simulator.aws``), so the credential report and GetAccountSummary of the
  next audit see a deleted key, password, certificate or MFA device as gone. Any other action
  (``UpdateAccessKey``, ``CreateAccessKey``, other services) and any of these naming an IAM
  user (``UserName``) is AccessDenied, as the policy's two Deny statements say. The
  TaskPolicyArn must be the one of the signing region's partition.

``hold(action)`` parks calls of one action (any action, at the outermost layer) until
``release(action)``: a test can stop the bot in the middle of its work (and kill it there)
without any sleeping.

    sim = SimulatedAws().start()
    root = RootAccessStandIn.install(sim)
    root.key_id(account_id, slot=1)    # the id the stand-in gives a root key
"""

from __future__ import annotations

import io
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from xml.sax.saxutils import escape

from simulator.aws import (
    CallInfo,
    FaultLayer,
    SimulatedAws,
    fmt_time,
    query_error,
)

STS_XMLNS = "https://sts.amazonaws.com/doc/2011-06-15/"
TASK_POLICY_PREFIX = "arn:aws:iam::aws:policy/root-task/"
DELETE_KEYS_POLICY = TASK_POLICY_PREFIX + "IAMDeleteRootUserCredentials"
# arn:aws:iam::aws:policy/root-task/IAMDeleteRootUserCredentials (v1): these actions on the
# root user, nothing else anywhere.
DELETE_CREDENTIALS_ACTIONS = frozenset(
    {
        "DeleteAccessKey",
        "DeleteSigningCertificate",
        "DeleteLoginProfile",
        "DeactivateMFADevice",
        "DeleteVirtualMFADevice",
        "ListAccessKeys",
        "ListSigningCertificates",
        "GetLoginProfile",
        "ListMFADevices",
        "GetUser",
        "GetAccessKeyLastUsed",
    }
)
ROOT_SESSION_ACTIONS = {"IAMDeleteRootUserCredentials": DELETE_CREDENTIALS_ACTIONS}


def partition_of(region: str) -> str:
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws-cn" if region.startswith("cn-") else "aws"


def task_policy_name(arn: str, region: str) -> str | None:
    """The root-task policy an ARN names, if it is one of the signing region's partition."""
    prefix = f"arn:{partition_of(region)}:iam::aws:policy/root-task/"
    name = arn.removeprefix(prefix)
    return name if arn.startswith(prefix) and name in ROOT_SESSION_ACTIONS else None


def mfa_serial(account_id: str) -> str:
    return f"arn:aws:iam::{account_id}:mfa/root-account-mfa-device"


def certificate_id(account_id: str, slot: int) -> str:
    """A stable simulated signing certificate id (IAM's are 24 to 128 word characters)."""
    return f"RKCERT{account_id}{slot:06d}"


def root_key_id(account_id: str, slot: int) -> str:
    """A stable, obviously simulated access key id for a root key slot (20 characters)."""
    return f"AKIARK{account_id}{slot:02d}"


@dataclass(frozen=True)
class RootSession:
    account_id: str
    task_policy: str
    duration: int
    signing_region: str


@dataclass
class RootAccessRecord:
    """What the stand-in saw: sessions opened and keys deleted (for assertions)."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    sessions: dict[str, RootSession] = field(default_factory=dict)  # access key id -> session
    deleted: list[tuple[str, str]] = field(default_factory=list)  # (account, key id)
    held: dict[str, threading.Event] = field(default_factory=dict)
    waiting: dict[str, int] = field(default_factory=dict)


class RootAccessLayer:
    """WSGI layer over moto's app that answers AssumeRoot and a root session's key calls."""

    def __init__(self, app: Callable[..., Any], outer: FaultLayer, sim: SimulatedAws) -> None:
        self.app = app
        self.outer = outer
        self.sim = sim
        self.record = RootAccessRecord()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        environ["wsgi.input"] = io.BytesIO(body)
        call = self.outer.identify(environ, body)
        key_id = self.access_key_of(environ)
        answer = None
        if call.service == "sts" and call.action == "AssumeRoot":
            answer = self.assume_root(call, environ)
        elif key_id in self.record.sessions:
            answer = self.root_session_call(call, self.record.sessions[key_id])
        if answer is None:
            return self.app(environ, start_response)
        status, headers, payload = answer
        headers = {**headers, "Content-Length": str(len(payload))}
        start_response(f"{status} {'OK' if status == 200 else 'Error'}", list(headers.items()))
        return [payload]

    # -- the operations ------------------------------------------------------------------------

    @staticmethod
    def access_key_of(environ: dict[str, Any]) -> str:
        auth = environ.get("HTTP_AUTHORIZATION", "")
        if "Credential=" not in auth:
            return ""
        return auth.split("Credential=", 1)[1].split("/", 1)[0]

    @staticmethod
    def signing_region(environ: dict[str, Any]) -> str:
        auth = environ.get("HTTP_AUTHORIZATION", "")
        scope = auth.split("Credential=", 1)[1].split(",", 1)[0].split("/") if auth else []
        return scope[2] if len(scope) > 2 else ""

    def assume_root(
        self, call: CallInfo, environ: dict[str, Any]
    ) -> tuple[int, dict[str, str], bytes]:
        state = self.sim.state
        target = call.params.get("TargetPrincipal", "")
        policy = call.params.get("TaskPolicyArn.arn", "") or call.params.get("TaskPolicyArn", "")
        try:
            duration = int(call.params.get("DurationSeconds", "900"))
        except ValueError:
            duration = -1
        if state.management is None or call.account_id != state.management:
            return query_error(
                "AccessDenied",
                f"User: arn:aws:iam::{call.account_id}:root is not authorized to perform: "
                "sts:AssumeRoot (only the management account or a delegated administrator)",
                403,
            )
        if not {"RootCredentialsManagement", "RootSessions"} <= set(state.features):
            return query_error(
                "AccessDenied",
                "Centralized root access (RootSessions) is not enabled for the organization",
                403,
            )
        if target not in state.members:
            return query_error("AccessDenied", f"{target!r} is not a member account", 403)
        task = task_policy_name(policy, self.signing_region(environ) or "us-east-1")
        if task is None:
            return query_error("ValidationError", f"Unsupported TaskPolicyArn {policy!r}", 400)
        if not 0 < duration <= 900:
            return query_error(
                "ValidationError",
                "1 validation error detected: Value at 'durationSeconds' failed to satisfy "
                "constraint: Member must have value less than or equal to 900",
                400,
            )
        from moto.sts.models import sts_backends

        backend = sts_backends[call.account_id]["aws"]
        session = backend.assume_role(
            region_name=self.signing_region(environ) or "us-east-1",
            role_session_name="AssumeRoot",
            role_arn=f"arn:aws:iam::{target}:root",
            policy="",
            duration=duration,
            external_id="",
        )
        with self.record.lock:
            self.record.sessions[session.access_key_id] = RootSession(
                target, policy, duration, self.signing_region(environ)
            )
        inner = (
            "<Credentials>"
            f"<AccessKeyId>{session.access_key_id}</AccessKeyId>"
            f"<SecretAccessKey>{escape(session.secret_access_key)}</SecretAccessKey>"
            f"<SessionToken>{escape(session.session_token)}</SessionToken>"
            f"<Expiration>{fmt_time(session.expiration).replace('+00:00', 'Z')}</Expiration>"
            "</Credentials>"
            f"<SourceIdentity>{escape(call.account_id)}</SourceIdentity>"
        )
        body = (
            f'<AssumeRootResponse xmlns="{STS_XMLNS}"><AssumeRootResult>{inner}'
            f"</AssumeRootResult><ResponseMetadata><RequestId>{uuid.uuid4()}</RequestId>"
            "</ResponseMetadata></AssumeRootResponse>"
        )
        return 200, {"Content-Type": "text/xml"}, body.encode()

    def root_session_call(
        self, call: CallInfo, session: RootSession
    ) -> tuple[int, dict[str, str], bytes] | None:
        account = session.account_id
        task = session.task_policy.rsplit("/", 1)[-1]
        allowed = ROOT_SESSION_ACTIONS[task]
        on_root = not call.params.get("UserName")  # no user name: the caller, the root user
        if call.service != "iam" or call.action not in allowed or not on_root:
            resource = "its root user" if on_root else f"user {call.params.get('UserName')}"
            return query_error(
                "AccessDenied",
                f"User: arn:aws:sts::{account}:root is not authorized to perform: "
                f"{call.service}:{call.action} on {resource} with an explicit deny in the "
                f"task policy {task}",
                403,
            )
        if call.action in {"ListAccessKeys", "GetAccessKeyLastUsed", "DeleteAccessKey"}:
            return self.access_key_call(call, account)
        return self.credential_call(call, account)

    def access_key_call(self, call: CallInfo, account: str) -> tuple[int, dict[str, str], bytes]:
        root = self.sim.state.root(account)
        if call.action == "ListAccessKeys":
            members = "".join(
                "<member><UserName></UserName>"
                f"<AccessKeyId>{root_key_id(account, k.slot)}</AccessKeyId>"
                f"<Status>{'Active' if k.active else 'Inactive'}</Status>"
                f"<CreateDate>{iso_z(k.created or root.created)}</CreateDate></member>"
                for k in root.keys
            )
            return self.outer.xml_result(
                call.action,
                f"<AccessKeyMetadata>{members}</AccessKeyMetadata><IsTruncated>false</IsTruncated>",
            )
        key_id = call.params.get("AccessKeyId", "")
        slot = next((k for k in root.keys if root_key_id(account, k.slot) == key_id), None)
        if slot is None:
            return query_error(
                "NoSuchEntity", f"The Access Key with id {key_id} cannot be found", 404
            )
        if call.action == "GetAccessKeyLastUsed":
            used = f"<LastUsedDate>{iso_z(slot.last_used)}</LastUsedDate>" if slot.last_used else ""
            return self.outer.xml_result(
                call.action,
                "<UserName>root</UserName><AccessKeyLastUsed>"
                f"{used}<ServiceName>{escape(slot.service or 'N/A')}</ServiceName>"
                f"<Region>{escape(slot.region or 'N/A')}</Region></AccessKeyLastUsed>",
            )
        # DeleteAccessKey: the root user's key is gone for every later call (and from the next
        # credential report AWS generates; the current one keeps it, as AWS's does).
        self.sim.set_root(account, keys=[k for k in root.keys if k.slot != slot.slot])
        with self.record.lock:
            self.record.deleted.append((account, key_id))
        return self.outer.xml_result(call.action, "")

    def credential_call(self, call: CallInfo, account: str) -> tuple[int, dict[str, str], bytes]:
        """The rest of the task policy: the root password, MFA and signing certificates."""
        root = self.sim.state.root(account)
        result = self.outer.xml_result
        if call.action == "GetUser":
            return result(
                call.action,
                f"<User><UserId>{account}</UserId><Arn>arn:aws:iam::{account}:root</Arn>"
                f"<CreateDate>{iso_z(root.created)}</CreateDate></User>",
            )
        if call.action in {"GetLoginProfile", "DeleteLoginProfile"}:
            if not root.password:
                return query_error("NoSuchEntity", "Login Profile for root cannot be found", 404)
            if call.action == "DeleteLoginProfile":
                self.sim.set_root(account, password=False)
                return result(call.action, "")
            return result(
                call.action,
                f"<LoginProfile><UserName></UserName><CreateDate>{iso_z(root.created)}"
                "</CreateDate></LoginProfile>",
            )
        serial = mfa_serial(account)
        if call.action == "ListMFADevices":
            members = (
                f"<member><UserName></UserName><SerialNumber>{serial}</SerialNumber>"
                f"<EnableDate>{iso_z(root.created)}</EnableDate></member>"
                if root.mfa
                else ""
            )
            return result(
                call.action, f"<MFADevices>{members}</MFADevices><IsTruncated>false</IsTruncated>"
            )
        if call.action == "DeactivateMFADevice":
            if not root.mfa or call.params.get("SerialNumber") != serial:
                return query_error("NoSuchEntity", "MFA device cannot be found", 404)
            self.sim.set_root(account, mfa=False)
            return result(call.action, "")
        if call.action == "DeleteVirtualMFADevice":
            if call.params.get("SerialNumber") != serial:
                return query_error("NoSuchEntity", "MFA device cannot be found", 404)
            if root.mfa:
                return query_error("DeleteConflict", "MFA device is still in use", 409)
            return result(call.action, "")
        certs = list(root.signing_certs)
        if call.action == "ListSigningCertificates":
            members = "".join(
                f"<member><UserName></UserName><CertificateId>{certificate_id(account, i)}"
                f"</CertificateId><CertificateBody>simulated</CertificateBody>"
                f"<Status>{'Active' if active else 'Inactive'}</Status>"
                f"<UploadDate>{iso_z(root.created)}</UploadDate></member>"
                for i, active in enumerate(certs)
            )
            return result(
                call.action,
                f"<Certificates>{members}</Certificates><IsTruncated>false</IsTruncated>",
            )
        # DeleteSigningCertificate
        wanted = call.params.get("CertificateId", "")
        index = next((i for i in range(len(certs)) if certificate_id(account, i) == wanted), None)
        if index is None:
            return query_error(
                "NoSuchEntity", f"The Certificate with id {wanted} cannot be found", 404
            )
        self.sim.set_root(account, signing_certs=[c for i, c in enumerate(certs) if i != index])
        return result(call.action, "")


def iso_z(value: datetime | None) -> str:
    return (
        (value or datetime(2020, 1, 1, tzinfo=UTC)).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    )


class HoldLayer:
    """The outermost WSGI layer: parks calls of a held action (any action, also those the
    inner layers answer themselves) until the test releases it."""

    def __init__(self, app: FaultLayer, record: RootAccessRecord) -> None:
        self.app = app
        self.record = record

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        environ["wsgi.input"] = io.BytesIO(body)
        if not environ.get("PATH_INFO", "").startswith(("/moto-api", "/rootkey-sim")):
            self.wait_if_held(self.app.identify(environ, body).action)
        return self.app(environ, start_response)

    def wait_if_held(self, action: str) -> None:
        with self.record.lock:
            gate = self.record.held.get(action)
            if gate is None:
                return
            self.record.waiting[action] = self.record.waiting.get(action, 0) + 1
        gate.wait(timeout=120)


class RootAccessStandIn:
    """Handle on the layer: install it into a running ``SimulatedAws`` and inspect it."""

    def __init__(self, layer: RootAccessLayer) -> None:
        self.layer = layer

    @classmethod
    def install(cls, sim: SimulatedAws) -> RootAccessStandIn:
        assert sim.server is not None, "start the SimulatedAws first"
        top = sim.server.app
        if isinstance(top, HoldLayer):
            assert isinstance(top.app.app, RootAccessLayer)
            return cls(top.app.app)
        assert isinstance(top, FaultLayer)
        layer = RootAccessLayer(top.app, top, sim)
        top.app = layer
        sim.server.app = HoldLayer(top, layer.record)
        return cls(layer)

    @property
    def record(self) -> RootAccessRecord:
        return self.layer.record

    @staticmethod
    def key_id(account_id: str, slot: int = 1) -> str:
        return root_key_id(account_id, slot)

    def sessions(self) -> list[RootSession]:
        with self.record.lock:
            return list(self.record.sessions.values())

    def deleted(self) -> list[tuple[str, str]]:
        with self.record.lock:
            return list(self.record.deleted)

    def hold(self, action: str) -> None:
        """Park every call of ``action`` until ``release(action)``."""
        with self.record.lock:
            self.record.held[action] = threading.Event()
            self.record.waiting[action] = 0

    def waiting(self, action: str) -> int:
        with self.record.lock:
            return self.record.waiting.get(action, 0)

    def release(self, action: str) -> None:
        with self.record.lock:
            gate = self.record.held.pop(action, None)
        if gate is not None:
            gate.set()

    def reset(self) -> None:
        with self.record.lock:
            for gate in self.record.held.values():
                gate.set()
            self.record.held.clear()
            self.record.waiting.clear()
            self.record.sessions.clear()
            self.record.deleted.clear()
