"""Slow clients against a real server (issue 16, finding 7): head and body deadlines.

A client that sends its request head or its body a byte at a time is cut off
with a 408 once the configured deadline passes, instead of holding the
connection open for as long as it likes. Every loop here is bounded in bytes
and in seconds, and all traffic stays on 127.0.0.1.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import pytest

from bench.server import HOST, TOKEN, Server, start_server

pytestmark = pytest.mark.slow

HEADER_TIMEOUT = 2.0
BODY_TIMEOUT = 2.0
DRIP_SECONDS = 0.5
MAX_DRIP_BYTES = 40  # 20 s at one byte per 0.5 s: far past either deadline


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    workdir = tmp_path_factory.mktemp("slow")
    running = start_server(
        workdir,
        workdir / "store.sqlite3",
        {
            "NOMO_API_HEADER_TIMEOUT": str(HEADER_TIMEOUT),
            "NOMO_API_BODY_TIMEOUT": str(BODY_TIMEOUT),
        },
    )
    yield running
    running.stop()


def _drip(server: Server, prefix: bytes, drip: bytes) -> tuple[bytes, float]:
    """Send ``prefix``, then ``drip`` a byte at a time; the answer and when the server closed."""
    started = time.monotonic()
    with socket.create_connection((HOST, server.port), timeout=10) as sock:
        sock.sendall(prefix)
        sock.settimeout(DRIP_SECONDS)
        answer = b""
        for index in range(min(len(drip), MAX_DRIP_BYTES)):
            try:
                sock.sendall(drip[index : index + 1])
            except OSError:
                break
            try:
                chunk = sock.recv(4096)
            except TimeoutError:
                continue
            except OSError:
                break
            if not chunk:
                break
            answer += chunk
        sock.settimeout(5)
        try:
            while chunk := sock.recv(4096):
                answer += chunk
        except OSError:
            pass
    return answer, time.monotonic() - started


def test_a_request_head_sent_a_byte_at_a_time_is_cut_off(server: Server) -> None:
    head = f"POST /v1/check HTTP/1.1\r\nHost: {HOST}\r\nX-Padding: {'a' * 60}\r\n\r\n".encode()
    answer, took = _drip(server, b"", head)
    assert answer.startswith(b"HTTP/1.1 408"), answer
    assert b"request line and headers did not arrive within 2 s" in answer
    assert took < HEADER_TIMEOUT + 4, took


def test_an_idle_connection_that_never_sends_a_head_is_closed(server: Server) -> None:
    started = time.monotonic()
    with socket.create_connection((HOST, server.port), timeout=10) as sock:
        answer = sock.recv(4096)
    assert answer.startswith(b"HTTP/1.1 408")
    assert time.monotonic() - started < HEADER_TIMEOUT + 4


def test_a_body_sent_a_byte_at_a_time_is_cut_off(server: Server) -> None:
    body = b'{"source": "' + b"x" * 60 + b'"}'
    head = (
        f"POST /v1/check HTTP/1.1\r\nHost: {HOST}\r\nContent-Type: application/json\r\n"
        f"Authorization: Bearer {TOKEN}\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode()
    answer, took = _drip(server, head, body)
    assert answer.startswith(b"HTTP/1.1 408"), answer
    assert b"the request body did not arrive within 2 s" in answer
    assert took < BODY_TIMEOUT + 4, took


def test_a_normal_request_is_served_and_a_kept_alive_connection_gets_a_new_deadline(
    server: Server,
) -> None:
    body = b'{"source": "ratio write/read < 0.3 over 100 actions\\n"}'
    request = (
        f"POST /v1/check HTTP/1.1\r\nHost: {HOST}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode() + body
    with socket.create_connection((HOST, server.port), timeout=10) as sock:
        sock.sendall(request)
        reader = sock.makefile("rb")
        status = reader.readline()
        assert status.startswith(b"HTTP/1.1 200"), status
        length = 0
        while (line := reader.readline()) not in (b"\r\n", b""):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":")[1])
        assert b'"ok":true' in reader.read(length)
        started = time.monotonic()
        later = reader.read()
        reader.close()
    assert later.startswith(b"HTTP/1.1 408"), later
    assert time.monotonic() - started < HEADER_TIMEOUT + 4
