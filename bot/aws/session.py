"""boto3 sessions and clients, shared by every worker thread; retries in standard mode.

botocore clients are thread-safe once made, and making one costs milliseconds of CPU (a boto3
Session about 0.1 s), so an auditor makes one session and one client per service, under a lock,
the first time each is needed; every worker thread then calls through them. Member accounts are
read through one more IAM client whose credentials are the calling thread's own
(``ThreadCredentials``): each worker sets the credentials AssumeRole gave it, and the signer
reads them at each request. No AWS call happens here; nothing is created at import time.

Per call, the clients spend as little CPU as botocore allows: each sends through ``LeanHttp``
(``bot.aws.http``: a kept-alive connection per thread, no urllib3 pool) and reads AWS's ISO 8601
timestamps with ``datetime.fromisoformat`` (dateutil's parser costs 66 us a value; anything
else still goes to botocore's).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime
from typing import Any

import boto3
import botocore.loaders
import botocore.session
from botocore.config import Config as BotoConfig
from botocore.credentials import (
    CredentialProvider,
    CredentialResolver,
    Credentials,
    ReadOnlyCredentials,
)
from botocore.retries import standard as standard_retries
from botocore.utils import parse_timestamp as botocore_timestamp

from bot.aws.http import LeanHttp
from bot.aws.iam import THROTTLING_CODES
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


def parse_timestamp(value: Any) -> Any:
    """AWS's ``2026-12-07T22:32:47Z`` by ``fromisoformat``; any other form (epoch seconds,
    RFC 822, no time zone) as botocore parses it."""
    if isinstance(value, str) and len(value) >= 20 and value[4:5] == "-" and "T" in value:
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            return botocore_timestamp(value)
        if parsed.tzinfo is not None:
            return parsed
    return botocore_timestamp(value)


def lighten(core: botocore.session.Session) -> None:
    """Make the clients of ``core`` read timestamps with ``parse_timestamp``."""
    core.get_component("response_parser_factory").set_parser_defaults(
        timestamp_parser=parse_timestamp
    )


class CallCounter:
    """Counts every HTTP request sent to AWS (retries included), across threads."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.count = 0

    def __call__(self, **_: Any) -> None:
        with self.lock:
            self.count += 1

    def add(self, calls: int) -> None:
        """Calls made elsewhere for the same audit (a listing process)."""
        with self.lock:
            self.count += calls

    def value(self) -> int:
        with self.lock:
            return self.count


class ThreadCredentials(Credentials):
    """Credentials whose values belong to the thread that reads them (set with ``use``)."""

    method = "rootkey-assumed-role"

    def __init__(self) -> None:
        self.local = threading.local()

    def use(self, credentials: dict[str, Any]) -> None:
        self.local.frozen = ReadOnlyCredentials(
            credentials["AccessKeyId"], credentials["SecretAccessKey"], credentials["SessionToken"]
        )

    def get_frozen_credentials(self) -> ReadOnlyCredentials:
        frozen: ReadOnlyCredentials | None = getattr(self.local, "frozen", None)
        if frozen is None:
            raise RuntimeError("no assumed-role credentials set in this thread")
        return frozen

    @property
    def access_key(self) -> str:
        return self.get_frozen_credentials().access_key

    @property
    def secret_key(self) -> str:
        return self.get_frozen_credentials().secret_key

    @property
    def token(self) -> str | None:
        return self.get_frozen_credentials().token


class ThreadCredentialProvider(CredentialProvider):
    METHOD = ThreadCredentials.method

    def __init__(self, credentials: ThreadCredentials) -> None:
        self.credentials = credentials

    def load(self) -> Credentials:
        return self.credentials


def pause_retries_with(client: Any, sleep: Callable[[float], None]) -> None:
    """botocore's standard retries on ``client`` (attempts, throttling detection, retry quota
    and back-off, all botocore's), each back-off taken by ``sleep`` instead of botocore's own
    ``time.sleep``: the retry handler botocore registered is replaced by one made the same way,
    whose delay is handed to ``sleep`` and none left for botocore to wait."""
    service = client.meta.service_model.service_id.hyphenize()
    event, unique_id = f"needs-retry.{service}", f"retry-config-{service}"
    events = client.meta.events
    events.unregister(event, unique_id=unique_id)
    attempts = client.meta.config.retries.get("total_max_attempts")
    handler = standard_retries.register_retry_handler(client, max_attempts=attempts)
    events.unregister(event, unique_id=unique_id)

    def needs_retry(**kwargs: Any) -> Any:
        delay = handler.needs_retry(**kwargs)
        if delay:  # botocore's back-off before the next attempt
            sleep(delay)
            return 0  # retry, with nothing more to wait
        return delay

    events.register(event, needs_retry, unique_id=unique_id)


class Clients:
    """One session and one client per service for every thread, made from ``session_factory``.

    ``on_throttle(operation)`` hears each throttling answer botocore is about to retry.
    ``retry_sleep`` takes botocore's back-off between two attempts of a call (tests: a clock
    of their own); None, botocore waits it out itself."""

    def __init__(
        self,
        config: Config,
        session_factory: SessionFactory | None = None,
        max_attempts: int = 5,
        on_throttle: Callable[[str], None] | None = None,
        retry_sleep: Callable[[float], None] | None = None,
    ) -> None:
        self.config = config
        # One loader for every session this object makes: service models are parsed once.
        self.loader = botocore.loaders.create_loader()
        self.standard = session_factory is None  # credentials from the standard chain
        self.max_attempts = max_attempts
        self.session_factory = session_factory or self.default_session
        self.boto_config = boto_config(config, max_attempts)
        self.on_throttle = on_throttle
        self.retry_sleep = retry_sleep
        self.local = threading.local()
        self.lock = threading.Lock()
        self.shared_session: boto3.session.Session | None = None
        self.clients: dict[str, Any] = {}
        self.member_credentials = ThreadCredentials()
        self.member: Any = None

    def default_session(self) -> boto3.session.Session:
        """The standard credential chain and endpoint settings (env, config files, roles)."""
        core = botocore.session.get_session()
        core.register_component("data_loader", self.loader)
        lighten(core)
        return boto3.session.Session(botocore_session=core, region_name=self.config.aws_region)

    def session(self) -> boto3.session.Session:
        with self.lock:
            if self.shared_session is None:
                self.shared_session = self.session_factory()
            return self.shared_session

    def count_into(self, counter: CallCounter) -> None:
        """Count the calls this thread makes into ``counter`` (until replaced)."""
        self.local.counter = counter

    def on_send(self, **kwargs: Any) -> None:
        counter = getattr(self.local, "counter", None)
        if counter is not None:
            counter()

    def on_retry(self, response: Any = None, operation: Any = None, **kwargs: Any) -> None:
        if self.on_throttle is None or not response or operation is None:
            return
        parsed = response[1] if isinstance(response, tuple) and len(response) > 1 else {}
        code = (parsed.get("Error") or {}).get("Code") if isinstance(parsed, dict) else None
        if code in THROTTLING_CODES:
            self.on_throttle(operation.name)

    def watch(self, client: Any) -> Any:
        LeanHttp.install(client)
        if self.retry_sleep is not None:
            pause_retries_with(client, self.retry_sleep)
        client.meta.events.register("before-send", self.on_send)
        client.meta.events.register("needs-retry", self.on_retry)
        return client

    def current(self, service: str) -> Any:
        """The client of ``service`` with the current credentials (shared by all threads)."""
        client = self.clients.get(service)
        if client is None:
            session = self.session()
            with self.lock:
                client = self.clients.get(service)
                if client is None:
                    client = self.watch(session.client(service, config=self.boto_config))
                    self.clients[service] = client
        return client

    def prepare(self) -> None:
        """Make the clients of an account's audit now, so that the first account does not pay
        for them in its time limit."""
        self.current("sts")
        self.member_client()

    def member_client(self) -> Any:
        if self.member is None:
            template = self.current("iam")
            with self.lock:
                if self.member is None:
                    core = botocore.session.get_session()
                    core.register_component("data_loader", self.loader)
                    lighten(core)
                    provider = ThreadCredentialProvider(self.member_credentials)
                    core.register_component("credential_provider", CredentialResolver([provider]))
                    self.member = self.watch(
                        core.create_client(
                            "iam",
                            region_name=template.meta.region_name,
                            endpoint_url=template.meta.endpoint_url,
                            config=self.boto_config,
                        )
                    )
        return self.member

    def member_iam(self, credentials: dict[str, Any]) -> Any:
        """The IAM client, signing this thread's requests with assumed-role ``credentials``
        (until this thread sets others)."""
        client = self.member_client()
        self.member_credentials.use(credentials)
        return client
