"""Read-your-writes across replicas: a client that wrote carries the primary's WAL position with it.

After a successful write (POST, PUT, PATCH, DELETE answered below 400) the response sets the cookie
`citygrid_lsn` (and the header `X-Citygrid-LSN`) to the primary's current WAL position, read after the route
committed. Reads that may lag (api.deps.ReadSessionDep) use a replica only if it has replayed that position.

Why a cookie and not an in-process map per user: behind a proxy the next request may reach another API
process, which would not know the write; a cookie travels with the client to whichever process answers, and
costs no shared store. Clients without cookies may send the header back. A forged value can only send the
client's own reads to the primary. The cookie lives `read_your_writes_s` (60 s), far above the lag bound.
Every response says where its reads went (`X-Citygrid-Read: replica|primary`) when a replica is configured.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool

from api.deps import LSN_COOKIE, LSN_HEADER
from geo.pg.routing import DatabaseRouter, format_lsn

WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def _position_after_write(router: DatabaseRouter) -> str:
    try:
        return format_lsn(router.primary_lsn())
    except SQLAlchemyError:
        # Position unknown: the highest one, so this client reads the primary until the cookie expires.
        return format_lsn(2**64 - 1)


class ReadYourWrites:
    """ASGI middleware; a no-op unless the app's router has a replica."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        router: DatabaseRouter | None = getattr(scope["app"].state, "db_router", None) if "app" in scope else None
        if scope["type"] != "http" or router is None or not router.has_replica:
            await self.app(scope, receive, send)
            return
        max_age = scope["app"].state.settings.read_your_writes_s
        wrote = scope["method"] in WRITES

        async def send_with_position(message: dict) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                read_from = scope.get("state", {}).get("read_from")
                if read_from:
                    headers.append((b"x-citygrid-read", read_from.encode()))
                if wrote and message["status"] < 400:
                    lsn = await run_in_threadpool(_position_after_write, router)
                    headers.append((LSN_HEADER.encode(), lsn.encode()))
                    cookie = f"{LSN_COOKIE}={lsn}; Max-Age={max_age}; Path=/; HttpOnly; SameSite=Strict"
                    headers.append((b"set-cookie", cookie.encode()))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_position)
