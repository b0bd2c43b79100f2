"""Request body limit as pure ASGI middleware: counts streamed bytes too, so chunked uploads can't dodge it."""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import error_body, shaped


class BodyLimit:
    """413 with a {code, detail} body once a request's body passes max_bytes (declared or streamed)."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared and declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(
                scope, send, f"request body of {int(declared)} bytes exceeds the limit of {self.max_bytes}"
            )
            return
        seen = 0
        overflowed = False

        async def counting_receive() -> Message:
            nonlocal seen, overflowed
            if overflowed:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    # Stop reading; whatever the app answers to the cut body is replaced by a 413 below.
                    overflowed = True
                    return {"type": "http.request", "body": b"", "more_body": False}
            return message

        refused = False

        async def guarded_send(message: Message) -> None:
            nonlocal refused
            if overflowed:
                if not refused:
                    refused = True
                    await self._refuse(scope, send, f"request body exceeds the limit of {self.max_bytes} bytes")
                return
            await send(message)

        await self.app(scope, counting_receive, guarded_send)

    @staticmethod
    async def _refuse(scope: Scope, send: Send, detail: str) -> None:
        body = json.dumps(shaped(scope["path"], error_body("too_large", detail), 413), ensure_ascii=False).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
            }
        )
        await send({"type": "http.response.body", "body": body})
