"""An in-process LRU cache of vector tiles with a byte budget, invalidated exactly by edited bboxes.

Keys are (layer, z, x, y, variant): the variant holds query options (e.g. an incident category filter).
An edit of layer L within bbox B drops, at every zoom the cache holds for L, exactly the tiles whose
extent (plus the MVT clipping buffer) meets B; every other tile stays cached. A per-layer epoch stops
a tile rendered from a snapshot older than an edit from entering the cache after that edit's
invalidation ran.

With replicas, an epoch is not enough: a replica may render after the invalidation from data that predates
the edit. So each layer also keeps the primary's WAL position at its latest invalidation (reported by the
primary's listener, geo/events_listener.py); a tile rendered on a replica is stored only if the replica had
replayed that far. Between an invalidation and the report of its position (milliseconds, at most a second)
the required position is unknown, and no replica render of that layer is stored.
"""

from __future__ import annotations

import gzip
import math
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import NamedTuple

from geo.pg.events import BBox
from geo.pg.routing import NEVER

MAX_LAT = 85.05112877980659  # the Web Mercator limit
# ST_AsMVTGeom keeps geometry up to this share of a tile beyond its edge (buffer 64 of extent 4096).
BUFFER_SHARE = 64 / 4096
DEFAULT_MAX_BYTES = 64 * 1024 * 1024


class TileKey(NamedTuple):
    layer: str
    z: int
    x: int
    y: int
    variant: str = ""


def tile_bounds(z: int, x: int, y: int) -> BBox:
    """The lon/lat bounds (west, south, east, north) of a Web Mercator (XYZ) tile."""
    n = 2**z

    def lat(row: float) -> float:
        return math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * row / n))))

    return (x / n * 360.0 - 180.0, lat(y + 1), (x + 1) / n * 360.0 - 180.0, lat(y))


def tile_range(bbox: BBox, z: int, margin: float = BUFFER_SHARE) -> tuple[int, int, int, int]:
    """(x0, x1, y0, y1), inclusive: the tiles at zoom z whose extent plus margin (in tiles) meets bbox."""
    n = 2**z

    def fx(lon: float) -> float:
        return (min(max(lon, -180.0), 180.0) + 180.0) / 360.0 * n

    def fy(lat: float) -> float:
        rad = math.radians(min(max(lat, -MAX_LAT), MAX_LAT))
        return (1.0 - math.asinh(math.tan(rad)) / math.pi) / 2.0 * n

    def clamp(v: float) -> int:
        return min(max(int(math.floor(v)), 0), n - 1)

    minlon, minlat, maxlon, maxlat = bbox
    return (
        clamp(fx(minlon) - margin),
        clamp(fx(maxlon) + margin),
        clamp(fy(maxlat) - margin),
        clamp(fy(minlat) + margin),
    )


@dataclass
class _Entry:
    raw: bytes
    gz: bytes | None = None

    @property
    def size(self) -> int:
        return len(self.raw) + (len(self.gz) if self.gz is not None else 0) + 200  # + bookkeeping


@dataclass
class CacheStats:
    hits: int = 0
    misses: int = 0
    stores: int = 0
    skipped_stale: int = 0
    evictions: int = 0
    invalidated: int = 0
    invalidations: int = 0


class TileCache:
    """LRU over TileKey → tile bytes (and their gzip), bounded by max_bytes; thread-safe."""

    def __init__(self, max_bytes: int = DEFAULT_MAX_BYTES, database_url: str | None = None) -> None:
        self.max_bytes = max_bytes
        self.database_url = database_url  # the primary whose positions count (several apps may share a process)
        self._entries: OrderedDict[TileKey, _Entry] = OrderedDict()
        # layer → z → (x, y) → keys (one per variant), so invalidation never scans the whole cache.
        self._index: dict[str, dict[int, dict[tuple[int, int], set[TileKey]]]] = {}
        self._epochs: dict[str, int] = {}
        # Replicas: per layer, the primary's position at its latest invalidation, and since when an
        # invalidation waits for its position ("*": every layer, from the cache's birth or clear()).
        self._required_lsn: dict[str, int] = {}
        self._pending_since: dict[str, float] = {"*": time.monotonic()}
        self._bytes = 0
        self._lock = threading.Lock()
        self.stats = CacheStats()

    def epoch(self, layer: str) -> int:
        """Read before rendering a tile of layer; pass to put() so a stale render is not stored."""
        with self._lock:
            return self._epochs.get(layer, 0)

    def get(self, key: TileKey, gzipped: bool = False, count_miss: bool = True) -> bytes | None:
        """The cached tile (its gzip when asked, made and kept on first demand), or None."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                self.stats.misses += count_miss
                return None
            self._entries.move_to_end(key)
            self.stats.hits += 1
            if not gzipped or not entry.raw:
                return entry.raw
            if entry.gz is None:
                entry.gz = gzip.compress(entry.raw, 6)
                self._bytes += len(entry.gz)
                self._evict()
            return entry.gz

    def required_lsn(self, layer: str) -> int | None:
        """The WAL position a replica must have replayed to render layer as current (NEVER while unknown)."""
        with self._lock:
            needed = self._needed(layer)
            return NEVER if needed is None else needed

    def _needed(self, layer: str) -> int | None:
        # "*" holds the floor for every layer: the position at the cache's birth or its last clear().
        if "*" in self._pending_since or layer in self._pending_since:
            return None
        return max(self._required_lsn.get(layer, 0), self._required_lsn.get("*", 0))

    def on_position(self, database_url: str, lsn: int, queried_at: float) -> None:
        """The geo.events position listener: invalidations before queried_at are covered by lsn."""
        if database_url != self.database_url:
            return
        with self._lock:
            for layer, since in list(self._pending_since.items()):
                if since < queried_at:
                    del self._pending_since[layer]
                    self._required_lsn[layer] = max(self._required_lsn.get(layer, 0), lsn)

    def put(
        self, key: TileKey, data: bytes, epoch: int, gz: bytes | None = None, replayed_lsn: int | None = None
    ) -> bool:
        """Store a tile (and its gzip, if made) rendered after epoch(key.layer) returned epoch.

        replayed_lsn: the replica's replay position the tile was rendered at (None: from the primary).
        Returns False, storing nothing, when an edit of the layer came between (the render may predate it), or
        when the replica had not replayed the layer's latest invalidation.
        """
        with self._lock:
            needed = self._needed(key.layer)
            behind = replayed_lsn is not None and (needed is None or replayed_lsn < needed)
            if behind or self._epochs.get(key.layer, 0) != epoch:
                self.stats.skipped_stale += 1
                return False
            if key in self._entries:
                self._drop(key)
            entry = _Entry(data, gz)
            if entry.size > self.max_bytes:
                return False
            self._entries[key] = entry
            self._bytes += entry.size
            self._index.setdefault(key.layer, {}).setdefault(key.z, {}).setdefault((key.x, key.y), set()).add(key)
            self.stats.stores += 1
            self._evict()
            return True

    def invalidate_bbox(self, layer: str, bbox: BBox | None) -> int:
        """Drop the cached tiles of layer that bbox touches at every cached zoom (None: all); returns how many."""
        with self._lock:
            self._epochs[layer] = self._epochs.get(layer, 0) + 1
            self._pending_since[layer] = time.monotonic()
            self.stats.invalidations += 1
            zooms = self._index.get(layer, {})
            doomed: list[TileKey] = []
            for z, cells in zooms.items():
                if bbox is None:
                    doomed.extend(k for keys in cells.values() for k in keys)
                    continue
                x0, x1, y0, y1 = tile_range(bbox, z)
                if (x1 - x0 + 1) * (y1 - y0 + 1) <= len(cells):
                    hit = [cells.get((x, y)) for x in range(x0, x1 + 1) for y in range(y0, y1 + 1)]
                    doomed.extend(k for keys in hit if keys for k in keys)
                else:
                    doomed.extend(
                        k for (x, y), keys in cells.items() if x0 <= x <= x1 and y0 <= y <= y1 for k in keys
                    )
            for key in doomed:
                self._drop(key)
            self.stats.invalidated += len(doomed)
            return len(doomed)

    def on_geometry_changed(self, layer: str, bbox: BBox | None) -> None:
        """The geo.events listener: an edit of layer within bbox."""
        self.invalidate_bbox(layer, bbox)

    def clear(self) -> None:
        with self._lock:
            for layer in list(self._index):
                self._epochs[layer] = self._epochs.get(layer, 0) + 1
            self._pending_since["*"] = time.monotonic()
            self._entries.clear()
            self._index.clear()
            self._bytes = 0

    def __contains__(self, key: object) -> bool:
        with self._lock:
            return key in self._entries

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def bytes_used(self) -> int:
        return self._bytes

    def snapshot(self) -> dict[str, int]:
        """Counters for a stats endpoint or a test."""
        with self._lock:
            s = self.stats
            return {
                "entries": len(self._entries),
                "bytes": self._bytes,
                "max_bytes": self.max_bytes,
                "hits": s.hits,
                "misses": s.misses,
                "stores": s.stores,
                "skipped_stale": s.skipped_stale,
                "evictions": s.evictions,
                "invalidations": s.invalidations,
                "invalidated_tiles": s.invalidated,
            }

    def _evict(self) -> None:
        while self._bytes > self.max_bytes and self._entries:
            key = next(iter(self._entries))
            self._drop(key)
            self.stats.evictions += 1

    def _drop(self, key: TileKey) -> None:
        entry = self._entries.pop(key, None)
        if entry is None:
            return
        self._bytes -= entry.size
        cells = self._index.get(key.layer, {}).get(key.z)
        if cells is not None:
            keys = cells.get((key.x, key.y))
            if keys is not None:
                keys.discard(key)
                if not keys:
                    del cells[(key.x, key.y)]
            if not cells:
                del self._index[key.layer][key.z]
