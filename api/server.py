"""The served HTTP layer: uvicorn's httptools protocol, with the request head bounded in size and in time.

uvicorn bounds an idle keep-alive connection (timeout_keep_alive) but not a client that opens a connection
and sends its headers a byte at a time: 300 such sockets were held open indefinitely. HeadTimeoutProtocol
closes a connection (with a 408) whose request head is not complete `header_timeout_s` after the connection
opened or after the first byte of a next request arrived. A head over max_header_bytes is answered 431 and
closed: the bytes of the head are counted here as they arrive (a whole head can arrive in one read: asyncio
reads up to 256 KiB). Neither bound is httptools' own; this class used to extend uvicorn's h11 protocol, whose
pure-Python parsing and response writing cost ~0.3 ms of a report's CPU (issue 17); httptools is C.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from geo.settings import Settings

_REQUEST_TIMEOUT = b"HTTP/1.1 408 Request Timeout\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
_TOO_LARGE = b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"


class HeadTimeoutProtocol(HttpToolsProtocol):
    """httptools' protocol that closes a connection whose request head is still incomplete after header_timeout_s
    and refuses a head over max_header_bytes."""

    # None: read once from the environment's settings (uvicorn's worker processes import this class by name,
    # so a value set in the parent would not reach them); `citygrid serve` and the tests set it.
    header_timeout_s: float | None = None
    max_header_bytes: int | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._head_timer: asyncio.TimerHandle | None = None
        self._head = bytearray()  # the bytes of an unfinished head so far (at most max_header_bytes + one read)
        self._in_head = (
            True  # from the connection's start, and from a next request's first byte, to its blank line
        )
        self._in_body = False  # from a head's blank line to the end of its message: bytes there are no head
        self._watch_head()

    def data_received(self, data: bytes) -> None:
        if not self._in_body and self._head_too_large(data):
            self._stop_head_timer()
            self.transport.write(_TOO_LARGE)
            self.transport.close()
            return
        super().data_received(data)
        self._watch_head()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._in_head = True

    def on_headers_complete(self) -> None:
        self._in_head, self._in_body = False, True
        self._head.clear()
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        self._in_body = False
        super().on_message_complete()

    def _head_too_large(self, data: bytes) -> bool:
        start = max(0, len(self._head) - 3)  # the blank line may straddle two reads; searched once each
        self._head += data
        end = self._head.find(b"\r\n\r\n", start)
        size = end + 4 if end >= 0 else len(self._head)
        if end >= 0:  # a whole head (and maybe a body) in hand: its size is known, keep nothing more
            self._head.clear()
        return size > _limits(type(self))[1]

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_head_timer()
        super().connection_lost(exc)

    def _watch_head(self) -> None:
        if self._in_head and not self.transport.is_closing():
            if self._head_timer is None:
                self._head_timer = self.loop.call_later(_limits(type(self))[0], self._head_timed_out)
        else:
            self._stop_head_timer()

    def _stop_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_timed_out(self) -> None:
        self._head_timer = None
        if self._in_head and not self.transport.is_closing():
            self.transport.write(_REQUEST_TIMEOUT)
            self.transport.close()


def _limits(cls: type[HeadTimeoutProtocol]) -> tuple[float, int]:
    if cls.header_timeout_s is None or cls.max_header_bytes is None:
        settings = Settings()
        cls.header_timeout_s, cls.max_header_bytes = settings.header_timeout_s, settings.max_header_bytes
    return cls.header_timeout_s, cls.max_header_bytes


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """The keyword arguments of uvicorn.run / uvicorn.Config that bound the request head."""
    HeadTimeoutProtocol.header_timeout_s = settings.header_timeout_s
    HeadTimeoutProtocol.max_header_bytes = settings.max_header_bytes
    return {"http": "api.server:HeadTimeoutProtocol"}
