"""HTTP/1.1 framing for ``bot.aws.http``: one request written in one send, one answer read.

``http.client`` writes a request's head and body in two sends and parses an answer's headers
with the ``email`` package (about a fifth of an audit call's CPU); AWS's answers need neither.
``request_bytes`` refuses a header name or value that would split the request (CR, LF, NUL, or a
name that is not an HTTP token), as ``http.client`` does. ``read_answer`` reads a status line
(skipping 1xx), headers, and a body by ``Content-Length``, chunked, or up to the connection's
end; anything malformed or cut short is ``http.client``'s exception for it, which the caller
turns into botocore's ``ConnectionClosedError``.
"""

from __future__ import annotations

import http.client
import re
from dataclasses import dataclass
from typing import Any, BinaryIO

MAX_LINE = 65536
MAX_HEADERS = 100
TOKEN = re.compile(rb"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")
BAD_VALUE = re.compile(rb"[\r\n\x00]")


@dataclass(frozen=True)
class Answer:
    status: int
    headers: list[tuple[str, str]]
    body: bytes
    will_close: bool  # the server ends the connection after this answer


def as_bytes(value: Any) -> bytes:
    return value if isinstance(value, bytes) else str(value).encode("latin-1")


def request_bytes(method: str, target: str, host: str, headers: Any, body: bytes) -> bytes:
    """The request as sent: request line, Host, the signed headers, Content-Length, body."""
    lines = [f"{method} {target} HTTP/1.1".encode("ascii"), b"Host: " + host.encode("idna")]
    names = set()
    for name, value in headers.items():
        raw_name, raw_value = as_bytes(name), as_bytes(value).strip()
        if not TOKEN.match(raw_name) or BAD_VALUE.search(raw_value):
            raise ValueError(f"invalid HTTP header {raw_name[:40]!r}")
        names.add(raw_name.lower())
        if raw_name.lower() != b"host":
            lines.append(raw_name + b": " + raw_value)
    if b"content-length" not in names:
        lines.append(b"Content-Length: %d" % len(body))
    if b"accept-encoding" not in names:
        lines.append(b"Accept-Encoding: identity")  # no compressed answer to undo
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


def read_line(rfile: BinaryIO) -> bytes:
    line = rfile.readline(MAX_LINE + 1)
    if len(line) > MAX_LINE:
        raise http.client.LineTooLong("header line")
    return line


def read_head(rfile: BinaryIO) -> tuple[bytes, int, list[tuple[str, str]]]:
    while True:
        line = read_line(rfile)
        if not line:
            raise http.client.RemoteDisconnected("the server closed the connection, no answer")
        parts = line.split(None, 2)
        if len(parts) < 2 or not parts[0].startswith(b"HTTP/1.") or not parts[1].isdigit():
            raise http.client.BadStatusLine(line[:80].decode("latin-1"))
        status = int(parts[1])
        headers: list[tuple[str, str]] = []
        while (line := read_line(rfile)) not in (b"\r\n", b"\n", b""):
            if len(headers) >= MAX_HEADERS:
                raise http.client.HTTPException(f"more than {MAX_HEADERS} headers")
            name, sep, value = line.decode("latin-1").partition(":")
            if not sep:
                raise http.client.HTTPException(f"malformed header line {line[:40]!r}")
            headers.append((name.strip(), value.strip()))
        if not 100 <= status < 200:
            return parts[0], status, headers


def read_exactly(rfile: BinaryIO, size: int) -> bytes:
    data = rfile.read(size)
    if len(data) < size:
        raise http.client.IncompleteRead(data, size - len(data))
    return data


def read_chunked(rfile: BinaryIO) -> bytes:
    parts: list[bytes] = []
    while True:
        size_line = read_line(rfile).split(b";", 1)[0].strip()
        try:
            size = int(size_line, 16)
        except ValueError:
            raise http.client.IncompleteRead(b"".join(parts)) from None
        if size == 0:
            while read_line(rfile) not in (b"\r\n", b"\n", b""):
                pass  # trailers
            return b"".join(parts)
        parts.append(read_exactly(rfile, size))
        read_exactly(rfile, 2)  # the CRLF after the chunk


def read_answer(rfile: BinaryIO, method: str) -> Answer:
    version, status, headers = read_head(rfile)
    fields = {name.lower(): value for name, value in headers}
    connection = fields.get("connection", "").lower()
    will_close = "close" in connection or (
        version == b"HTTP/1.0" and "keep-alive" not in connection
    )
    if method == "HEAD" or status in (204, 304):
        return Answer(status, headers, b"", will_close)
    if "chunked" in fields.get("transfer-encoding", "").lower():
        return Answer(status, headers, read_chunked(rfile), will_close)
    length = fields.get("content-length")
    if length is not None:
        if not length.isdigit():
            raise http.client.HTTPException(f"bad Content-Length {length[:20]!r}")
        return Answer(status, headers, read_exactly(rfile, int(length)), will_close)
    return Answer(status, headers, rfile.read(), True)  # the body ends with the connection
