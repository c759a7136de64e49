"""The audit's light HTTP path (bot.aws.http.LeanHttp) keeps botocore's guarantees.

Each test drives a real boto3 client whose endpoint is a local server: TLS is verified (an
untrusted certificate or a wrong host name is an SSLError and nothing is sent), a kept-alive
connection the server closed is replaced, a server that hangs up mid-answer is botocore's
ConnectionClosedError (which botocore retries), and a proxy leaves the request to botocore.
"""

from __future__ import annotations

import shutil
import socket
import ssl
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config as BotoConfig
from botocore.exceptions import ConnectionClosedError, SSLError

from bot.aws.http import LeanHttp
from bot.aws.wire import request_bytes
from tests.support.waiting import wait_until

# GetAccountSummary's answer, as in the IAM API reference's example (trimmed to two entries)
SUMMARY = (
    b'<GetAccountSummaryResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/">'
    b"<GetAccountSummaryResult><SummaryMap>"
    b"<entry><key>AccountAccessKeysPresent</key><value>0</value></entry>"
    b"<entry><key>AccountMFAEnabled</key><value>1</value></entry>"
    b"</SummaryMap></GetAccountSummaryResult>"
    b"<ResponseMetadata><RequestId>7a62c49f-347e-4fc4-9331-6e8eEXAMPLE</RequestId>"
    b"</ResponseMetadata></GetAccountSummaryResponse>"
)


class Server:
    """IAM's GetAccountSummary on 127.0.0.1; ``mode`` says how it misbehaves."""

    def __init__(self, tls: ssl.SSLContext | None = None) -> None:
        self.requests = 0
        self.connections: set[tuple[str, int]] = set()
        self.mode = "ok"  # "close-after" (answer then hang up), "hang-up" (no answer)
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                server.requests += 1
                server.connections.add(self.client_address)
                if server.mode == "hang-up":
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                self.send_response(200)
                self.send_header("Content-Type", "text/xml")
                if server.mode == "chunked":
                    self.send_header("Transfer-Encoding", "chunked")
                    self.end_headers()
                    for part in (SUMMARY[:100], SUMMARY[100:]):
                        self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
                    self.wfile.write(b"0\r\n\r\n")
                    self.wfile.flush()
                    return
                if server.mode == "no-length":  # the body ends with the connection
                    self.send_header("Connection", "close")
                    self.end_headers()
                    self.wfile.write(SUMMARY)
                    self.close_connection = True
                    return
                self.send_header("Content-Length", str(len(SUMMARY)))
                self.end_headers()
                self.wfile.write(SUMMARY)
                self.wfile.flush()
                if server.mode == "close-after":
                    # closed without "Connection: close": the client learns it at its next call
                    self.close_connection = True

            def log_message(self, *args: Any) -> None:
                return None

        class Httpd(ThreadingHTTPServer):
            def shutdown_request(self, request: Any) -> None:
                super().shutdown_request(request)
                with server.lock:
                    server.closed += 1

        self.lock = threading.Lock()
        self.closed = 0  # connections the server has closed
        self.httpd = Httpd(("127.0.0.1", 0), Handler)
        if tls is not None:
            self.httpd.socket = tls.wrap_socket(self.httpd.socket, server_side=True)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    @property
    def port(self) -> int:
        return int(self.httpd.server_address[1])

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def iam(url: str, config: BotoConfig | None = None, **kwargs: Any) -> Any:
    client = boto3.session.Session(
        aws_access_key_id="AKIAIOSFODNN7EXAMPLE",
        aws_secret_access_key="wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        region_name="us-east-1",
    ).client(
        "iam",
        endpoint_url=url,
        config=config or BotoConfig(retries={"mode": "standard", "total_max_attempts": 1}),
        **kwargs,
    )
    assert LeanHttp.install(client)
    return client


@pytest.fixture
def plain() -> Iterator[Server]:
    server = Server()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 only (made with the openssl command)."""
    if shutil.which("openssl") is None:
        pytest.skip("the openssl command is needed to make a test certificate")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
            "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
            "-keyout", str(key), "-out", str(cert),
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return cert, key


@pytest.fixture
def tls_server(certificate: tuple[Path, Path]) -> Iterator[Server]:
    cert, key = certificate
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server = Server(tls=context)
    yield server
    server.stop()


def test_calls_reuse_one_connection_per_thread(plain: Server) -> None:
    client = iam(f"http://127.0.0.1:{plain.port}")
    for _ in range(3):
        assert client.get_account_summary()["SummaryMap"]["AccountMFAEnabled"] == 1
    assert plain.requests == 3
    assert len(plain.connections) == 1


def test_a_connection_the_server_closed_is_replaced_not_failed(plain: Server) -> None:
    plain.mode = "close-after"
    client = iam(f"http://127.0.0.1:{plain.port}")
    for done in range(1, 4):
        assert client.get_account_summary()["SummaryMap"]["AccountAccessKeysPresent"] == 0
        # the server has hung up before the next call
        wait_until(
            lambda done=done: plain.closed >= done, 10.0, "the server closing the connection"
        )
    assert plain.requests == 3


@pytest.mark.parametrize("mode", ["chunked", "no-length"])
def test_a_chunked_or_unsized_answer_is_read_whole(plain: Server, mode: str) -> None:
    plain.mode = mode
    client = iam(f"http://127.0.0.1:{plain.port}")
    for _ in range(2):
        assert client.get_account_summary()["SummaryMap"]["AccountMFAEnabled"] == 1
    assert plain.requests == 2


def test_a_header_that_would_split_the_request_is_refused() -> None:
    for name, value in (("X-Test", "a\r\nX-Injected: 1"), ("Bad Name", "1"), ("X-Nul", "a\x00")):
        with pytest.raises(ValueError):
            request_bytes("POST", "/", "iam.amazonaws.com", {name: value}, b"")


def test_a_server_hanging_up_without_an_answer_is_connection_closed(plain: Server) -> None:
    plain.mode = "hang-up"
    client = iam(f"http://127.0.0.1:{plain.port}")
    with pytest.raises(ConnectionClosedError):
        client.get_account_summary()


def test_a_certificate_the_bundle_does_not_trust_is_refused(tls_server: Server) -> None:
    client = iam(f"https://127.0.0.1:{tls_server.port}")  # the default CA bundle
    with pytest.raises(SSLError):
        client.get_account_summary()
    assert tls_server.requests == 0


def test_a_trusted_certificate_for_another_name_is_refused(
    tls_server: Server, certificate: tuple[Path, Path]
) -> None:
    cert, _ = certificate
    # the same server under a name its certificate does not carry
    client = iam(f"https://localhost:{tls_server.port}", verify=str(cert))
    with pytest.raises(SSLError):
        client.get_account_summary()
    assert tls_server.requests == 0


def test_a_trusted_certificate_is_used(tls_server: Server, certificate: tuple[Path, Path]) -> None:
    cert, _ = certificate
    client = iam(f"https://127.0.0.1:{tls_server.port}", verify=str(cert))
    assert client.get_account_summary()["SummaryMap"]["AccountMFAEnabled"] == 1
    assert tls_server.requests == 1


def test_a_proxy_leaves_the_request_to_botocore(plain: Server) -> None:
    client = iam(
        f"http://127.0.0.1:{plain.port}",
        config=BotoConfig(
            proxies={"http": "http://127.0.0.1:9"},  # nothing listens: botocore's error
            retries={"mode": "standard", "total_max_attempts": 1},
        ),
    )
    session = client._endpoint.http_session
    sent: list[str] = []
    fallback_send = session.fallback.send
    session.fallback.send = lambda request: sent.append(request.url) or fallback_send(request)
    with pytest.raises(Exception):  # noqa: B017 - botocore's proxy error, whichever it is
        client.get_account_summary()
    assert sent and plain.requests == 0
