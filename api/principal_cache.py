"""A short-lived cache of authenticated principals for hot read paths (map tiles), off the database.

A map view fetches dozens of tiles a second with the same token; looking the token up in PostgreSQL each
time (pool checkout, pre-ping, query) costs more than serving a cached tile. Successful lookups are kept
for TTL_S seconds, keyed by the token's SHA-256: a deactivated user's tile reads stop within that time;
every other route still checks the database on each request.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from typing import Annotated

from fastapi import Depends, Header, Request
from starlette.concurrency import run_in_threadpool

from api.bearer import bearer_token
from api.deps import ANY_ROLE, request_session
from geo import auth
from geo.auth import Principal
from geo.errors import Unauthorized

TTL_S = 10.0
MAX_ENTRIES = 4096


class PrincipalCache:
    """token SHA-256 → (principal, expiry), LRU-bounded; thread-safe."""

    def __init__(self, ttl_s: float = TTL_S, max_entries: int = MAX_ENTRIES) -> None:
        self.ttl_s, self.max_entries = ttl_s, max_entries
        self._entries: OrderedDict[str, tuple[Principal, float]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, token_hash: str) -> Principal | None:
        with self._lock:
            hit = self._entries.get(token_hash)
            if hit is None or hit[1] < time.monotonic():
                self._entries.pop(token_hash, None)
                return None
            return hit[0]

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def put(self, token_hash: str, principal: Principal) -> None:
        with self._lock:
            self._entries[token_hash] = (principal, time.monotonic() + self.ttl_s)
            self._entries.move_to_end(token_hash)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)


def _cache(request: Request) -> PrincipalCache:
    return request.app.state.principal_cache  # made with the app (api.app.create_app)


def _lookup(request: Request, token: str, bootstrap: str | None) -> Principal:
    with request_session(request) as session:
        return auth.authenticate(session, token, bootstrap)


def cached_requires(*roles: str):
    """Like api.deps.requires, but async and with the principal cached for TTL_S seconds."""

    async def check(request: Request, authorization: Annotated[str | None, Header()] = None) -> Principal:
        token = bearer_token(authorization)
        if not token:
            raise Unauthorized("an API token is required: send 'Authorization: Bearer <token>'")
        settings = request.app.state.settings
        bootstrap = settings.bootstrap_admin_token if settings.env != "production" else None
        key = auth.token_hash(token)
        cache = _cache(request)
        principal = cache.get(key)
        if principal is None:
            principal = await run_in_threadpool(_lookup, request, token, bootstrap)
            cache.put(key, principal)
        request.state.user = principal.username  # for the request's log line
        return auth.authorize(principal, roles)

    check.roles = roles  # type: ignore[attr-defined]  # read by the route-authorisation test
    return check


CachedReader = Annotated[Principal, Depends(cached_requires(*ANY_ROLE))]
