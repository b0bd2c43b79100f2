"""What keeps the public Open311 reads cheap and safe to expose: a token bucket per client IP, a short cache.

Both are per process (a deployment with N workers allows each client N buckets' worth; a proxy in front
should set the real client address, which uvicorn reads with --proxy-headers). The cache is emptied by any
case notice the live listener hears (a step committed by any process) and otherwise holds answers
`open311_cache_s` seconds, so a public reader sees a change at once unless the listener is down, and then
within that TTL.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from typing import Any

from geo.errors import TooManyRequests

MAX_CLIENTS = 100_000
MAX_ENTRIES = 2_048


class TokenBuckets:
    """rate tokens per second, up to burst, per client key; spending from an empty bucket raises 429."""

    def __init__(self, rate: float, burst: int) -> None:
        self.rate, self.burst = rate, float(burst)
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()  # key -> (tokens, last time)
        self._lock = threading.Lock()

    def spend(self, client: str, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        with self._lock:
            tokens, last = self._buckets.pop(client, (self.burst, now))
            tokens = min(self.burst, tokens + (now - last) * self.rate)
            if tokens < 1.0:
                self._buckets[client] = (tokens, now)
                retry = math.ceil((1.0 - tokens) / self.rate)
                raise TooManyRequests(
                    f"too many requests from this client; retry in {retry} s 请求过于频繁", retry_after=retry
                )
            self._buckets[client] = (tokens - 1.0, now)
            while len(self._buckets) > MAX_CLIENTS:  # forget the longest-idle clients first
                self._buckets.popitem(last=False)


class TTLCache:
    """Answers by key for ttl seconds, least recently stored dropped first; `clear` on any case change."""

    def __init__(self, ttl: float) -> None:
        self.ttl = ttl
        self._entries: OrderedDict[str, tuple[float, Any]] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    def get(self, key: str) -> Any | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None or entry[0] < time.monotonic():
                self.misses += 1
                return None
            self.hits += 1
            return entry[1]

    def put(self, key: str, value: Any) -> None:
        with self._lock:
            self._entries.pop(key, None)
            self._entries[key] = (time.monotonic() + self.ttl, value)
            while len(self._entries) > MAX_ENTRIES:
                self._entries.popitem(last=False)

    def clear(self, *_: Any) -> None:
        with self._lock:
            self._entries.clear()
