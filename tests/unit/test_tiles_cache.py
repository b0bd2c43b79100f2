"""The tile cache: tile arithmetic, the byte budget, exact invalidation, stale renders, event listeners."""

from __future__ import annotations

import gc
import gzip
import math
import time

import pytest

from geo.pg import events
from geo.tiles.cache import TileCache, TileKey, tile_bounds, tile_range


def test_tile_bounds_match_web_mercator():
    assert tile_bounds(0, 0, 0) == pytest.approx((-180, -85.0511287798, 180, 85.0511287798))
    assert tile_bounds(1, 1, 0) == pytest.approx((0, 0, 180, 85.0511287798))
    w, s, e, n = tile_bounds(14, 13260, 6520)
    assert e - w == pytest.approx(360 / 2**14)
    # y from latitude by the textbook formula, independently of tile_range.
    lat = math.radians((s + n) / 2)
    y = (1 - math.log(math.tan(lat) + 1 / math.cos(lat)) / math.pi) / 2 * 2**14
    assert int(y) == 6520


@pytest.mark.parametrize("z", [0, 5, 10, 14, 16, 20])
def test_tile_range_finds_the_tile_of_its_own_interior(z):
    x, y = 3 * 2**z // 5, 2**z // 3
    w, s, e, n = tile_bounds(z, x, y)
    inner = (w + (e - w) / 3, s + (n - s) / 3, e - (e - w) / 3, n - (n - s) / 3)
    assert tile_range(inner, z, margin=0) == (x, x, y, y)
    # With the MVT buffer margin a bbox hugging the east edge also reaches the neighbour.
    edge = (e - (e - w) / 1000, s + (n - s) / 3, e - (e - w) / 1000, n - (n - s) / 3)
    assert tile_range(edge, z) == (x, min(x + 1, 2**z - 1), y, y)


def test_lru_keeps_within_the_byte_budget():
    cache = TileCache(max_bytes=3 * (1000 + 200))
    for i in range(5):
        assert cache.put(TileKey("grids", 10, i, 0), b"x" * 1000, cache.epoch("grids"))
    assert len(cache) == 3 and cache.bytes_used <= cache.max_bytes
    assert TileKey("grids", 10, 0, 0) not in cache and TileKey("grids", 10, 4, 0) in cache
    cache.get(TileKey("grids", 10, 2, 0))  # touch: now the most recently used
    cache.put(TileKey("grids", 10, 5, 0), b"y" * 1000, cache.epoch("grids"))
    assert TileKey("grids", 10, 2, 0) in cache and TileKey("grids", 10, 3, 0) not in cache
    assert cache.snapshot()["evictions"] == 3


def test_gzip_is_made_once_and_counted():
    cache = TileCache()
    key = TileKey("grids", 12, 1, 1)
    cache.put(key, b"tile" * 100, cache.epoch("grids"))
    before = cache.bytes_used
    gz = cache.get(key, gzipped=True)
    assert gz is not None and gzip.decompress(gz) == b"tile" * 100
    assert cache.bytes_used == before + len(gz) and cache.get(key, gzipped=True) is gz


def test_invalidation_drops_exactly_the_touched_tiles_at_every_zoom():
    cache = TileCache()
    # A z16 tile in the middle of z12 tile (2048, 2047), with neighbours cached around both.
    x16, y16 = 2**15 + 8, 2**15 - 8
    keys = [TileKey("grids", z, x, y, v) for z, cx, cy in ((12, 2048, 2047), (16, x16, y16))
            for x in range(cx - 3, cx + 4) for y in range(cy - 3, cy + 4) for v in ("", "a=1")]  # fmt: skip
    for k in keys:
        cache.put(k, b"t", cache.epoch("grids"))
    other = TileKey("incidents", 16, 2**15, 2**15)
    cache.put(other, b"i", cache.epoch("incidents"))
    w, s, e, n = tile_bounds(16, x16, y16)
    bbox = (w + (e - w) / 4, s + (n - s) / 4, e - (e - w) / 4, n - (n - s) / 4)  # inside one z16 tile
    dropped = cache.invalidate_bbox("grids", bbox)
    gone = {k for k in keys if k not in cache}
    expected = {k for k in keys if (k.z, k.x, k.y) in {(16, x16, y16), (12, 2048, 2047)}}
    assert gone == expected and dropped == 4  # two variants at each of two zooms
    assert other in cache
    assert cache.invalidate_bbox("grids", None) == len(keys) - 4 and len(cache) == 1


def test_a_render_older_than_an_edit_is_not_stored():
    cache = TileCache()
    key = TileKey("grids", 14, 1, 1)
    epoch = cache.epoch("grids")  # a request starts rendering …
    cache.invalidate_bbox("grids", (0, 0, 1, 1))  # … an edit commits meanwhile (elsewhere, even)
    assert cache.put(key, b"old", epoch) is False and key not in cache
    assert cache.put(key, b"new", cache.epoch("grids")) is True
    assert cache.snapshot()["skipped_stale"] == 1


def test_events_reach_live_listeners_only():
    heard: list = []

    class Listener:
        def on(self, layer, bbox):
            heard.append((layer, bbox))

    keep, drop = Listener(), Listener()
    events.subscribe(keep.on)
    events.subscribe(drop.on)
    del drop
    gc.collect()
    events.geometry_changed("grids", (1.0, 2.0, 3.0, 4.0))
    assert heard == [("grids", (1.0, 2.0, 3.0, 4.0))]  # the collected listener is gone, not called
    assert events.union([(0, 0, 1, 1), None, (2, -1, 3, 0.5)]) == (0, -1, 3, 1)
    assert events.union([None]) is None


def test_notify_payloads_round_trip_and_reject_garbage():
    raw = events.payload("grids", (107.1, 34.3, 107.2, 34.4))
    assert events.parse_payload(raw) == (events.ORIGIN, "grids", (107.1, 34.3, 107.2, 34.4))
    assert events.parse_payload(events.payload("incidents", None)) == (events.ORIGIN, "incidents", None)
    for bad in ["", "x", "a|b", "a||1,2,3,4", "a|grids|1,2,3", "a|grids|1,2,x,4", "a|b|c|d"]:
        assert events.parse_payload(bad) is None, bad


def test_principal_cache_expires_and_stays_bounded():
    import time

    from api.principal_cache import PrincipalCache
    from geo.auth import Principal

    cache = PrincipalCache(ttl_s=0.05, max_entries=2)
    cache.put("a", Principal("u", frozenset({"viewer"}), "610300"))
    assert cache.get("a") == Principal("u", frozenset({"viewer"}), "610300")
    time.sleep(0.06)
    assert cache.get("a") is None
    for key in "bcd":
        cache.put(key, Principal(key, frozenset({"viewer"}), "610300"))
    assert cache.get("b") is None and cache.get("d") is not None


def test_a_replica_render_is_cached_only_past_the_latest_invalidation():
    cache = TileCache(database_url="db-a")
    key = TileKey("incidents", 14, 13000, 6500)
    # Born not knowing the primary's position: no replica tile yet, a primary one is fine.
    assert cache.required_lsn("incidents") == 2**64
    assert not cache.put(key, b"r", cache.epoch("incidents"), replayed_lsn=500)
    assert cache.put(key, b"p", cache.epoch("incidents"))
    cache.on_position("db-b", 10**9, time.monotonic())  # another cluster's positions do not count
    assert cache.required_lsn("incidents") == 2**64
    cache.on_position("db-a", 1000, time.monotonic())
    assert cache.required_lsn("incidents") == 1000
    assert not cache.put(key, b"r", cache.epoch("incidents"), replayed_lsn=999)
    assert cache.put(key, b"r", cache.epoch("incidents"), replayed_lsn=1000)

    queried_before_the_edit = time.monotonic()
    cache.invalidate_bbox("incidents", None)
    assert key not in cache and cache.required_lsn("incidents") == 2**64
    cache.on_position("db-a", 5000, queried_before_the_edit)  # read before the edit committed: does not cover it
    assert not cache.put(key, b"r", cache.epoch("incidents"), replayed_lsn=10**6)
    cache.on_position("db-a", 2000, time.monotonic())
    assert cache.required_lsn("incidents") == 2000 and cache.required_lsn("grids") == 1000
    assert not cache.put(key, b"r", cache.epoch("incidents"), replayed_lsn=1999)
    assert cache.put(key, b"r", cache.epoch("incidents"), replayed_lsn=2000)
