"""A lighter HTTP path for botocore's clients: one kept-alive connection per thread and host.

botocore sends each request through urllib3 (pool lookup, URL parsing, retries object, header
copies): about 0.4 ms of CPU per call, the largest share of an account's audit. ``LeanHttp``
takes the place of a client's HTTP session and sends the same signed request, in one send
(``bot.aws.wire``), on a connection its thread keeps per host (made by ``http.client``), so a
worker that audits account after account reuses one socket without any pool. What it does
not handle the way botocore does, it hands to botocore's own session unchanged: a proxy for the
URL, a client certificate, TLS verification turned off, a per-request timeout, a streamed
answer or request body.

Failures keep botocore's meaning, so its retries and the audit's error verdicts are the same:
a connection refused is ``EndpointConnectionError``, a timeout ``ConnectTimeoutError`` or
``ReadTimeoutError``, a connection closed mid-answer ``ConnectionClosedError``, a certificate
that does not verify ``SSLError`` (nothing is sent). A kept connection the server has closed is
replaced before it is used. Certificates are verified, host name included, against the CA bundle
botocore would use.
"""

from __future__ import annotations

import http.client
import select
import socket
import ssl
import threading
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import botocore.awsrequest
from botocore.exceptions import (
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
    SSLError,
)
from botocore.httpsession import URLLib3Session, get_cert_path
from urllib3.util.timeout import Timeout

from bot.aws.wire import read_answer, request_bytes

DEFAULT_PORTS = {"http": 80, "https": 443}


class Body:
    """The raw stream of an answer already read (what botocore's parsers may look at)."""

    def __init__(self, content: bytes) -> None:
        self.content = content

    def stream(self, *args: Any, **kwargs: Any) -> Iterator[bytes]:
        yield self.content

    def read(self, *args: Any, **kwargs: Any) -> bytes:
        return self.content

    def close(self) -> None:
        return None


def dropped(sock: socket.socket | None) -> bool:
    """The kept connection was closed by the server (readable with no request out: EOF).
    ``poll`` where there is one: ``select`` refuses descriptors past 1,023."""
    if sock is None:
        return True
    try:
        if hasattr(select, "poll"):
            poller = select.poll()
            poller.register(sock, select.POLLIN)
            return bool(poller.poll(0))
        readable, _, _ = select.select([sock], [], [], 0)
    except (OSError, ValueError):
        return True
    return bool(readable)


def payload(body: Any) -> bytes | None:
    """The request body as bytes, or None where it is not plain bytes or ASCII text (a stream
    or other text: botocore's session sends it)."""
    if body is None:
        return b""
    if isinstance(body, bytes | bytearray):
        return bytes(body)
    if isinstance(body, str) and body.isascii():
        return body.encode("ascii")
    return None


class Link:
    """A kept connection and the buffered reader of its answers."""

    def __init__(self, conn: http.client.HTTPConnection) -> None:
        assert conn.sock is not None
        self.conn = conn
        self.sock: socket.socket = conn.sock
        self.rfile = self.sock.makefile("rb")

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def close(self) -> None:
        self.rfile.close()
        self.conn.close()


class LeanHttp:
    """An HTTP session for botocore (``send(request) -> AWSResponse``) over ``fallback``'s
    settings; ``fallback`` (botocore's own session) sends what this one does not handle."""

    def __init__(self, fallback: URLLib3Session) -> None:
        self.fallback = fallback
        self.verify = getattr(fallback, "_verify", True)
        self.proxy_config = getattr(fallback, "_proxy_config", None)
        self.socket_options = list(getattr(fallback, "_socket_options", None) or [])
        timeout = getattr(fallback, "_timeout", 60)
        if isinstance(timeout, Timeout):
            self.connect_timeout: Any = timeout.connect_timeout
            self.read_timeout: Any = timeout.read_timeout
        else:
            self.connect_timeout = self.read_timeout = timeout
        self.own_cert = bool(getattr(fallback, "_cert_file", None))
        self.local = threading.local()
        self.tls_lock = threading.Lock()
        self.tls: ssl.SSLContext | None = None

    @classmethod
    def install(cls, client: Any) -> bool:
        """Make ``client`` send through a ``LeanHttp``; False (botocore's session kept) where
        the client is not built the way this module expects."""
        endpoint: Any = getattr(client, "_endpoint", None)
        session = getattr(endpoint, "http_session", None)
        if not isinstance(session, URLLib3Session) or not hasattr(session, "_proxy_config"):
            return False
        endpoint.http_session = cls(session)
        return True

    # botocore's session interface -------------------------------------------------------
    def send(self, request: Any) -> botocore.awsrequest.AWSResponse:
        url = urlsplit(request.url)
        body = payload(request.body)
        if body is None or not self.handles(request, url.scheme):
            return self.fallback.send(request)
        host = url.hostname or ""
        port = url.port or DEFAULT_PORTS[url.scheme]
        target = (url.path or "/") + (f"?{url.query}" if url.query else "")
        shown = f"[{host}]" if ":" in host else host  # the Host header, as http.client sends it
        if port != DEFAULT_PORTS[url.scheme]:
            shown = f"{shown}:{port}"
        data = request_bytes(request.method, target, shown, request.headers, body)
        key = (url.scheme, host, port)
        links: dict[tuple[str, str, int], Link] | None = getattr(self.local, "links", None)
        if links is None:
            links = self.local.links = {}
        link = links.get(key)
        if link is not None and dropped(link.conn.sock):
            link.close()
            link = None
        try:
            if link is None:
                link = links[key] = Link(self.connect(url.scheme, host, port, request.url))
            link.send(data)
            answer = read_answer(link.rfile, request.method)
        except BaseException as exc:
            links.pop(key, None)
            if link is not None:
                link.close()
            error = self.translated(exc, request)
            if error is exc:
                raise
            raise error from exc
        if answer.will_close:
            links.pop(key, None)
            link.close()
        response = botocore.awsrequest.AWSResponse(
            request.url, answer.status, answer.headers, Body(answer.body)
        )
        response._content = answer.body  # read in full already, as botocore does for these
        return response

    def close(self) -> None:
        self.fallback.close()

    # steps ----------------------------------------------------------------------------------
    def handles(self, request: Any, scheme: str) -> bool:
        if scheme not in DEFAULT_PORTS or request.stream_output or self.own_cert:
            return False
        if scheme == "https" and not self.verify:
            return False  # verification turned off: botocore's own handling
        if getattr(request, "context", None) and request.context.get("read_timeout"):
            return False
        # a proxy for this URL (or settings not read): botocore's own handling
        return self.proxy_config is not None and not self.proxy_config.proxy_url_for(request.url)

    def connect(self, scheme: str, host: str, port: int, url: str) -> http.client.HTTPConnection:
        conn: http.client.HTTPConnection
        if scheme == "https":
            conn = http.client.HTTPSConnection(
                host, port, timeout=self.connect_timeout, context=self.tls_context()
            )
        else:
            conn = http.client.HTTPConnection(host, port, timeout=self.connect_timeout)
        try:
            conn.connect()
        except BaseException as exc:
            conn.close()
            error = self.connect_error(exc, url)
            if error is exc:
                raise
            raise error from exc
        assert conn.sock is not None
        for level, option, value in self.socket_options:
            conn.sock.setsockopt(level, option, value)
        conn.sock.settimeout(self.read_timeout)
        return conn

    def tls_context(self) -> ssl.SSLContext:
        """Verifies the server's certificate and host name against botocore's CA bundle."""
        with self.tls_lock:
            if self.tls is None:
                path = get_cert_path(self.verify)
                context = ssl.create_default_context()
                if path:
                    context.load_verify_locations(path)
                self.tls = context
            return self.tls

    def connect_error(self, exc: BaseException, url: str) -> BaseException:
        if isinstance(exc, ssl.SSLError | ssl.CertificateError):
            return SSLError(endpoint_url=url, error=exc)
        if isinstance(exc, TimeoutError | socket.timeout):
            return ConnectTimeoutError(endpoint_url=url, error=exc)
        if isinstance(exc, OSError):
            return EndpointConnectionError(endpoint_url=url, error=exc)
        return exc

    def translated(self, exc: BaseException, request: Any) -> BaseException:
        """botocore's exception for a failure after the connection was made."""
        if isinstance(exc, SSLError | ConnectTimeoutError | EndpointConnectionError):
            return exc
        if isinstance(exc, TimeoutError | socket.timeout):
            return ReadTimeoutError(endpoint_url=request.url, error=exc)
        if isinstance(exc, http.client.HTTPException | OSError):
            return ConnectionClosedError(error=exc, request=request, endpoint_url=request.url)
        return exc
