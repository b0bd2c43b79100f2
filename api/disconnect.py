"""Cancel-on-disconnect: when a client leaves mid-request, the statement its request is running is cancelled.

A handler runs sync in a worker thread; once its statement is in PostgreSQL nothing stopped it when the client
went away: it ran (or waited on a lock) until statement_timeout, then the request's transaction committed or
failed for nobody, holding a pooled connection and a thread all along. Here:

* every pool checkout made while serving a request is recorded in that request's `Held` (a contextvar set by
  the middleware; anyio copies the context into the worker thread, so the thread's checkouts land in it);
* the middleware listens for `http.disconnect` while the app runs (only once the body has been read, or the
  request has none, so it never takes a body message the handler needs);
* on a disconnect before the response is complete, each connection the request holds gets a cancel request
  (psycopg's cancel_safe, i.e. libpq's PQcancel: the backend stops its statement with 57014), and any later
  statement of the request is refused before it is sent (ClientGone). The handler's error rolls the
  transaction back (api.deps.get_session), so nothing is half-written; the request is logged as 499.

The cancel runs under the request's lock, and a checkin waits on that lock, so a cancel can never reach a
connection that has gone back to the pool and on to another request.
"""

from __future__ import annotations

import asyncio
import contextvars
import threading
import time
from typing import Any

import psycopg
import structlog
from sqlalchemy import Engine, event
from sqlalchemy.pool import Pool
from starlette.responses import Response

from api.admission import EXEMPT
from api.observability import CLIENT_CLOSED, CLIENT_GONE, request_route

CANCEL_TIMEOUT_S = 2.0  # a cancel request is one short connection to the postmaster; bounded all the same
log = structlog.get_logger("citygrid.disconnect")


class ClientGone(Exception):
    """A statement a request would send after its client left: refused before it reaches the database."""


class Held:
    """The database connections one request has checked out and not yet returned."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.connections: dict[int, tuple[psycopg.Connection, int]] = {}  # id → (connection, backend pid)
        self.gone = False

    def cancel(self) -> list[int]:
        """Mark the client gone and cancel what each held connection is running; the backend pids cancelled."""
        pids = []
        with self.lock:
            self.gone = True
            for conn, pid in list(self.connections.values()):
                try:
                    conn.cancel_safe(timeout=CANCEL_TIMEOUT_S)
                    pids.append(pid)
                except psycopg.Error as exc:  # the connection broke meanwhile: nothing is running on it
                    log.warning("cancel_failed", backend_pid=pid, error=str(exc))
        return pids


_HELD: contextvars.ContextVar[Held | None] = contextvars.ContextVar("citygrid_held", default=None)
_RECORD_KEY = "citygrid.held"


def _checked_out(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
    held = _HELD.get()
    if held is None or not isinstance(dbapi_conn, psycopg.Connection):
        return  # outside a request (the CLI, the sweep, /health) or not psycopg: nothing to watch
    with held.lock:
        held.connections[id(dbapi_conn)] = (dbapi_conn, dbapi_conn.info.backend_pid)
    record.info[_RECORD_KEY] = held  # the checkin may run in another context (a garbage-collected session)


def _checked_in(dbapi_conn: Any, record: Any) -> None:
    held = record.info.pop(_RECORD_KEY, None)
    if held is not None:
        with held.lock:  # waits for a cancel in progress: the connection is ours until it is done
            held.connections.pop(id(dbapi_conn), None)


def _refuse_if_gone(conn: Any, cursor: Any, statement: str, params: Any, context: Any, many: bool) -> None:
    # A disconnect that falls between two statements cancels nothing; the next statement is refused here.
    held = _HELD.get()
    if held is not None and held.gone:
        raise ClientGone("the client closed the connection; the request's statements are cancelled")


def install(app: Any) -> None:
    """The middleware (innermost: only admitted requests hold connections), the hooks and ClientGone's answer."""
    app.add_middleware(CancelOnDisconnect)
    install_pool_hooks()

    async def _client_gone(request: Any, exc: Exception) -> Response:
        return Response(status_code=CLIENT_CLOSED)  # sent to nobody; the log line says 499 too

    app.add_exception_handler(ClientGone, _client_gone)


def install_pool_hooks() -> None:
    """Listen on every pool and engine of the process (replicas' too); idle outside a watched request."""
    for target, name, fn in (
        (Pool, "checkout", _checked_out),
        (Pool, "checkin", _checked_in),
        (Engine, "before_cursor_execute", _refuse_if_gone),
    ):
        if not event.contains(target, name, fn):
            event.listen(target, name, fn)


def _bodiless(scope: dict) -> bool:
    headers = dict(scope["headers"])
    return headers.get(b"content-length", b"0") in (b"0", b"") and b"transfer-encoding" not in headers


class CancelOnDisconnect:
    """ASGI middleware: a request whose client disconnects has its database statements cancelled."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["path"].startswith(EXEMPT) or scope["path"] == "/":
            await self.app(scope, receive, send)
            return
        held, replay = Held(), []
        complete = False  # the response has been sent in full: the disconnect after it is the normal end
        watch: asyncio.Task[dict] | None = None

        async def watched() -> dict:
            message = await receive()
            if message["type"] == "http.disconnect" and not complete:
                held.gone = True  # read unlocked by _refuse_if_gone: at worst one more statement is cancelled
                await self._gone(scope, held)
            return message

        def start_watching() -> None:
            nonlocal watch
            if watch is None:
                watch = asyncio.ensure_future(watched())

        if _bodiless(scope):
            # The one message of a request without a body is there already; kept for the app, then watch.
            replay.append(await receive())
            if replay[0]["type"] == "http.request":
                start_watching()

        async def app_receive() -> dict:
            if replay:
                return replay.pop(0)
            if watch is not None:  # the watcher is the reader now: the app hears what it hears
                return await asyncio.shield(watch)
            message = await receive()
            if message["type"] == "http.request" and not message.get("more_body", False):
                start_watching()  # the body has been read in full
            return message

        async def app_send(message: dict) -> None:
            nonlocal complete
            if message["type"] == "http.response.body" and not message.get("more_body", False):
                complete = True
            await send(message)

        token = _HELD.set(held)
        try:
            await self.app(scope, app_receive, app_send)
        finally:
            _HELD.reset(token)
            if watch is not None and not watch.done():
                if held.gone:  # the cancel is under way (the app ended because of it): let it finish and log
                    await asyncio.shield(watch)
                else:
                    watch.cancel()

    async def _gone(self, scope: dict, held: Held) -> None:
        started = time.perf_counter()
        scope.setdefault("state", {})[CLIENT_GONE] = True
        # Not anyio's thread pool: its threads may all be busy with requests, and this must not queue behind them.
        pids = await asyncio.get_running_loop().run_in_executor(None, held.cancel)
        route = request_route(scope)
        state = scope.get("state") or {}
        log.warning(
            "client_gone",
            request_id=state.get("request_id"),
            method=scope["method"],
            route=route,
            cancelled_backends=pids,
            cancel_ms=round((time.perf_counter() - started) * 1000, 2),
        )
        metrics = getattr(scope.get("app") and scope["app"].state, "metrics", None)
        if metrics is not None and pids:
            metrics.cancelled.labels(scope["method"], route).inc()
