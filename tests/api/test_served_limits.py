"""The served app bounds the request head: a client that has not finished its headers within header_timeout_s
is answered 408 and closed (slow-header sockets were held open indefinitely), and a head over
max_header_bytes is refused (4 MB of headers were accepted). Raw sockets against a real uvicorn."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator

import pytest
import uvicorn

from api.app import create_app
from api.server import HeadTimeoutProtocol, uvicorn_options
from tests.live_server import free_port

HEAD = b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n"


@pytest.fixture(scope="module")
def served(settings) -> Iterator[int]:
    """A port where uvicorn serves the app as `citygrid serve` does, with a 1 s head timeout and 16 KiB heads."""
    s = settings.model_copy(update={"header_timeout_s": 1.0, "max_header_bytes": 16 * 1024})
    port, app = free_port(), create_app(s)
    srv = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", **uvicorn_options(s))
    )
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not srv.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    yield port
    srv.should_exit = True
    thread.join(timeout=10)
    app.state.engine.dispose()
    HeadTimeoutProtocol.header_timeout_s = HeadTimeoutProtocol.max_header_bytes = None


def read_until_closed(sock: socket.socket, limit_s: float) -> tuple[bytes, float]:
    """Everything the server sends until it closes (or limit_s passes), and when the close came."""
    start, got = time.monotonic(), b""
    sock.settimeout(0.1)
    while time.monotonic() - start < limit_s:
        try:
            chunk = sock.recv(65536)
        except TimeoutError:
            continue
        except ConnectionResetError:
            break
        if not chunk:
            break
        got += chunk
    return got, time.monotonic() - start


def test_a_complete_request_is_served(served):
    with socket.create_connection(("127.0.0.1", served)) as sock:
        sock.sendall(HEAD + b"Connection: close\r\n\r\n")
        got, _ = read_until_closed(sock, 10)
    assert got.startswith(b"HTTP/1.1 200 ")


def test_an_unfinished_head_is_closed_after_the_timeout(served):
    with socket.create_connection(("127.0.0.1", served)) as sock:
        sock.sendall(HEAD)  # no blank line: the head never ends
        got, took = read_until_closed(sock, 6)
    assert got.startswith(b"HTTP/1.1 408 ")
    assert 0.9 <= took < 3, took  # header_timeout_s is 1 s; before, it stayed open until the client left


def test_a_head_sent_a_byte_at_a_time_is_closed_too(served):
    # Bytes keep arriving, so an idle timer would never fire; the head's deadline does.
    start = time.monotonic()
    with socket.create_connection(("127.0.0.1", served)) as sock:
        try:
            for byte in HEAD + b"X-Slow: " + b"a" * 100:
                sock.sendall(bytes([byte]))
                time.sleep(0.05)
        except (BrokenPipeError, ConnectionResetError):
            pass
        got, _ = read_until_closed(sock, 6)
    assert got.startswith(b"HTTP/1.1 408 ")
    assert time.monotonic() - start < 3


def test_100_kb_of_headers_are_refused(served):
    with socket.create_connection(("127.0.0.1", served)) as sock:
        # The server may refuse and close before the whole head is sent.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            sock.sendall(HEAD + b"".join(b"X-Pad-%d: %s\r\n" % (i, b"a" * 1000) for i in range(100)) + b"\r\n")
        got, _ = read_until_closed(sock, 6)
    status = got.split(b" ", 2)[1] if got else b""
    assert status == b"431", got[:200]  # before: 200 (a head that arrives whole passed h11's limit)


def test_a_head_just_under_the_limit_is_served(served):
    pad = 16 * 1024 - len(HEAD) - len(b"X-Pad: \r\nConnection: close\r\n\r\n")  # the head is 16 KiB exactly
    with socket.create_connection(("127.0.0.1", served)) as sock:
        sock.sendall(HEAD + b"X-Pad: " + b"a" * pad + b"\r\nConnection: close\r\n\r\n")
        got, _ = read_until_closed(sock, 10)
    assert got.startswith(b"HTTP/1.1 200 ")


def _first_response(sock: socket.socket) -> bytes:
    """One whole response to a GET /health on a kept-alive connection (its head and content-length body)."""
    got = b""
    sock.settimeout(10)
    while b"\r\n\r\n" not in got:
        got += sock.recv(65536)
    head, _, body = got.partition(b"\r\n\r\n")
    length = int(
        next(line.split(b":")[1] for line in head.split(b"\r\n") if line.lower().startswith(b"content-length"))
    )
    while len(body) < length:
        body += sock.recv(65536)
    return head


def test_the_bounds_hold_for_a_next_request_on_a_kept_alive_connection(served):
    """The head's clock and size restart with each request, not only with the connection."""
    with socket.create_connection(("127.0.0.1", served)) as sock:
        sock.sendall(HEAD + b"\r\n")
        assert _first_response(sock).startswith(b"HTTP/1.1 200 ")
        time.sleep(1.5)  # idle between requests longer than the head timeout: that is keep-alive's, not the head's
        sock.sendall(HEAD)  # the next request's head never ends
        got, took = read_until_closed(sock, 6)
    assert got.startswith(b"HTTP/1.1 408 ") and 0.9 <= took < 3, (got[:100], took)
    with socket.create_connection(("127.0.0.1", served)) as sock:
        sock.sendall(HEAD + b"\r\n")
        assert _first_response(sock).startswith(b"HTTP/1.1 200 ")
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            sock.sendall(HEAD + b"".join(b"X-Pad-%d: %s\r\n" % (i, b"a" * 1000) for i in range(100)) + b"\r\n")
        got, _ = read_until_closed(sock, 6)
    assert got.split(b" ", 2)[1:2] == [b"431"], got[:200]
