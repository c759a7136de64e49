"""boto3 sessions and clients: one session per worker thread, retries in standard mode.

A boto3 Session costs about 0.1 s of CPU to create and is not thread-safe, so each worker
thread keeps one for its lifetime; clients of the current credentials are kept per thread too.
No AWS call happens here; nothing is created at import time.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import boto3
import botocore.loaders
import botocore.session
from botocore.config import Config as BotoConfig

from bot.config import Config

SessionFactory = Callable[[], boto3.session.Session]


def boto_config(config: Config, max_attempts: int = 5) -> BotoConfig:
    """Retries with backoff (standard mode: throttling and transient errors) and timeouts that
    fit inside the per-account time limit."""
    # every attempt of a call (with its retries) fits in the per-account time limit
    per_attempt = max(1.0, config.account_timeout / max(1, max_attempts))
    return BotoConfig(
        region_name=config.aws_region,
        retries={"mode": "standard", "total_max_attempts": max_attempts},
        connect_timeout=min(10.0, per_attempt),
        read_timeout=min(30.0, per_attempt),
        max_pool_connections=max(10, config.concurrency),
        user_agent_extra="rootkey",
    )


class CallCounter:
    """Counts every HTTP request sent to AWS (retries included), across threads."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.count = 0

    def __call__(self, **_: Any) -> None:
        with self.lock:
            self.count += 1

    def value(self) -> int:
        with self.lock:
            return self.count


class Clients:
    """Per-thread sessions and clients, made from ``session_factory``."""

    def __init__(
        self,
        config: Config,
        session_factory: SessionFactory | None = None,
        max_attempts: int = 5,
    ) -> None:
        self.config = config
        # One loader for every session this object makes: service models are parsed once, not
        # once per worker thread.
        self.loader = botocore.loaders.create_loader()
        self.session_factory = session_factory or self.default_session
        self.boto_config = boto_config(config, max_attempts)
        self.local = threading.local()
        self.counters: list[CallCounter] = []
        self.counters_lock = threading.Lock()

    def default_session(self) -> boto3.session.Session:
        """The standard credential chain and endpoint settings (env, config files, roles)."""
        core = botocore.session.get_session()
        core.register_component("data_loader", self.loader)
        return boto3.session.Session(botocore_session=core, region_name=self.config.aws_region)

    def session(self) -> boto3.session.Session:
        session = getattr(self.local, "session", None)
        if session is None:
            session = self.session_factory()
            self.local.session = session
            self.local.clients = {}
        return session

    def count_into(self, counter: CallCounter) -> None:
        """Count the calls of this thread's clients into ``counter`` (until replaced)."""
        self.local.counter = counter

    def on_send(self, **kwargs: Any) -> None:
        counter = getattr(self.local, "counter", None)
        if counter is not None:
            counter()

    def current(self, service: str) -> Any:
        """A client with the current credentials, kept for this thread."""
        session = self.session()
        client = self.local.clients.get(service)
        if client is None:
            client = session.client(service, config=self.boto_config)
            client.meta.events.register("before-send", self.on_send)
            self.local.clients[service] = client
        return client

    def prepare(self) -> None:
        """Build this thread's session and clients now (they are kept for the thread's life),
        so that the first account a worker audits does not pay for them in its time limit."""
        self.current("sts")
        self.current("iam")
        self.member_client()

    def member_client(self) -> tuple[Any, Any]:
        member = getattr(self.local, "member", None)
        if member is None:
            template = self.current("iam")
            core = botocore.session.get_session()
            core.register_component("data_loader", self.loader)
            core.set_credentials("unset", "unset", "unset")
            holder = core.get_credentials()
            client = core.create_client(
                "iam",
                region_name=template.meta.region_name,
                endpoint_url=template.meta.endpoint_url,
                config=self.boto_config,
            )
            client.meta.events.register("before-send", self.on_send)
            member = self.local.member = (holder, client)
        return member

    def member_iam(self, credentials: dict[str, Any]) -> Any:
        """An IAM client with assumed-role credentials.

        Made once per thread and re-pointed for each account: the client holds a botocore
        ``Credentials`` object that its signer reads at every request, and this thread is its
        only user. That saves building a client (several ms of CPU) for every account.
        """
        holder, client = self.member_client()
        holder.access_key = credentials["AccessKeyId"]
        holder.secret_key = credentials["SecretAccessKey"]
        holder.token = credentials["SessionToken"]
        return client

    def assumed(self, service: str, credentials: dict[str, Any]) -> Any:
        """A client with assumed-role credentials, made from this thread's session."""
        client = self.session().client(
            service,
            config=self.boto_config,
            aws_access_key_id=credentials["AccessKeyId"],
            aws_secret_access_key=credentials["SecretAccessKey"],
            aws_session_token=credentials["SessionToken"],
        )
        client.meta.events.register("before-send", self.on_send)
        return client
