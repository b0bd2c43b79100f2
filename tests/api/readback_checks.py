"""The reads of tests/api/test_import_readback.py, each held to what was written (tests/api/readback_data.py).

Every response must be a 200: issue #15's probe turned these very reads into 500s for everyone.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import Any
from zoneinfo import ZoneInfo

import mapbox_vector_tile
from fastapi.testclient import TestClient

from tests.api.readback_data import CATEGORIES, CST, EARLIEST, STATUSES, TREE_BOX, Row, tile_box, tile_of

SHANGHAI = ZoneInfo("Asia/Shanghai")  # tzdata, not geo.localtime: the oracle is independent of the code

BY_ID_SAMPLE = 100  # past this many rows, every 100th row (and every special) is also read by id


def get(client: TestClient, headers: dict, url: str, **params: Any) -> Any:
    r = client.get(url, headers=headers, params=params or None)  # params={} would drop a link's own query
    assert r.status_code == 200, f"{url} {params}: {r.status_code} {r.text[:300]}"
    return r.json() if "json" in r.headers.get("content-type", "") else r


def instant(text: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(text) if text is not None else None


def same_row(props: dict, row: Row, lonlat: list[float], texts: tuple[str, ...]) -> None:
    """A read feature against the row written: the instant, byte-identical texts, vocabulary, grid, point."""
    assert instant(props["occurred_at"]) == row.instant, (props["occurred_at"], row.when)
    for name in texts:
        got = props[name]
        assert got is None or got.encode() == getattr(row, name).encode(), name
        assert got == getattr(row, name), name
    assert (props["category"], props["status"]) == (row.category, row.status)
    assert (props["grid_code"], props["outside_jurisdiction"]) == (row.grid, row.grid is None)
    assert lonlat == [row.lon, row.lat]


def follow(client: TestClient, headers: dict, url: str, **params: Any) -> tuple[list[dict], int]:
    """Every feature of a paged OGC items response, following its `next` links; (features, numberMatched)."""
    body = get(client, headers, url, **params)
    features, matched = list(body["features"]), body["numberMatched"]
    while nxt := [link["href"] for link in body["links"] if link["rel"] == "next"]:
        body = get(client, headers, nxt[0])
        features += body["features"]
    return features, matched


def matched(client: TestClient, headers: dict, url: str, **params: Any) -> int:
    """numberMatched of a filtered read (one page of one feature)."""
    return get(client, headers, url, limit=1, **params)["numberMatched"]


def ogc(client: TestClient, headers: dict, rows: list[Row], now: dt.datetime) -> dict[str, int]:
    """The OGC reads; external_id → incident id."""
    first, last = min(r.instant for r in rows), max(r.instant for r in rows)
    colls = {c["id"]: c for c in get(client, headers, "/ogc/collections")["collections"]}
    one = get(client, headers, "/ogc/collections/incidents")
    for coll in (colls["incidents"], one):
        [[lo, hi]] = coll["extent"]["temporal"]["interval"]
        assert (instant(lo), instant(hi)) == (first, last)
    items = "/ogc/collections/incidents/items"
    page = max(1, len(rows) // 3)  # at least three pages past one row
    features, total = follow(client, headers, items, limit=page, datetime=EARLIEST.isoformat() + "/..")
    assert total == len(features) == len(rows)
    by_external = {r.external_id: r for r in rows}
    ids = {}
    for f in features:
        row = by_external[f["properties"]["external_id"]]
        same_row(f["properties"], row, f["geometry"]["coordinates"], ("external_id", "subcategory"))
        ids[row.external_id] = f["id"]
    assert len(ids) == len(rows)
    # datetime= is in UTC days: 1949-09-30 (UTC) holds the lower bound; the last two minutes, the newest rows.
    day = [r for r in rows if r.instant.astimezone(dt.UTC).date() == dt.date(1949, 9, 30)]
    assert matched(client, headers, items, datetime="1949-09-30") == len(day)
    recent = now - dt.timedelta(minutes=2)
    assert matched(client, headers, items, datetime=recent.isoformat()) == 0  # an instant, none there
    newest = [r for r in rows if r.instant >= recent]
    assert matched(client, headers, items, datetime=f"{recent.isoformat()}/..") == len(newest)
    x0, y0, x1, y1 = TREE_BOX
    cql = f"category IN ('dispute','hazard') AND S_INTERSECTS(geometry, BBOX({x0},{y0},{x1},{y1}))"
    want = [r for r in rows if r.category in ("dispute", "hazard") and r.grid is not None]
    assert matched(client, headers, items, filter=cql) == len(want)
    cql = "occurred_at <= TIMESTAMP('1949-09-30T16:00:00.000001Z') AND external_id LIKE '%e%'"
    want = [r for r in rows if r.instant <= EARLIEST + dt.timedelta(microseconds=1) and "e" in r.external_id]
    assert matched(client, headers, items, filter=cql) == len(want)
    for row in sample(rows):
        f = get(client, headers, f"{items}/{ids[row.external_id]}")
        same_row(f["properties"], row, f["geometry"]["coordinates"], ("external_id", "subcategory"))
    return ids


def sample(rows: list[Row]) -> list[Row]:
    """Every row of a small import; of a large one the specials and every BY_ID_SAMPLE-th row."""
    if len(rows) <= 2 * BY_ID_SAMPLE:
        return rows
    return rows[:20] + rows[20::BY_ID_SAMPLE]


def rest(client: TestClient, headers: dict, rows: list[Row], ids: dict[str, int]) -> None:
    """/api/v1/incidents: every page (limit/offset), filters, and rows by id with their descriptions."""
    texts = ("external_id", "subcategory", "description")
    url, seen, offset, page = "/api/v1/incidents", {}, 0, max(1, len(rows) // 2)
    while True:
        body = get(client, headers, url, limit=page, offset=offset)
        assert body["numberMatched"] == len(rows)
        for f in body["features"]:
            seen[f["properties"]["external_id"]] = f
        offset += page
        if offset >= len(rows):
            break
    assert len(seen) == len(rows)
    for row in rows:
        f = seen[row.external_id]
        same_row(f["properties"], row, f["geometry"]["coordinates"], texts)
    for row in sample(rows):
        f = get(client, headers, f"{url}/{ids[row.external_id]}")
        same_row(f["properties"], row, f["geometry"]["coordinates"], texts)
    outside = sum(r.grid is None for r in rows)
    assert matched(client, headers, url, outside="true") == outside
    for grid, count in Counter(r.grid for r in rows if r.grid).items():
        assert matched(client, headers, url, admin_code=grid) == count
    # No offset: UTC+8. The bound itself and one microsecond after it, up to (excluding) two microseconds after.
    edge = [r for r in rows if r.instant <= EARLIEST + dt.timedelta(microseconds=1)]
    window = {"occurred_from": "1949-10-01T00:00:00", "occurred_to": "1949-10-01T00:00:00.000002"}
    assert matched(client, headers, url, **window) == len(edge)


def stats(client: TestClient, headers: dict, rows: list[Row], now: dt.datetime) -> None:
    """/api/v1/stats and the routes README "Statistics" lists, over the whole accepted range."""
    end = (now.astimezone(CST) + dt.timedelta(days=2)).date().isoformat()  # the +5 min slack, past midnight
    window = {"start": "1949-10-01", "end": end}
    inside = [r for r in rows if r.grid is not None]
    counts = get(client, headers, "/api/v1/stats/counts", **window)
    assert counts["total"] == len(inside), counts
    assert {c["key"]: c["count"] for c in counts["by_category"] if c["count"]} == Counter(
        r.category for r in inside
    )
    assert {c["key"]: c["count"] for c in counts["by_status"] if c["count"]} == Counter(r.status for r in inside)
    get(client, headers, "/api/v1/stats", **window)
    trend = get(client, headers, "/api/v1/stats/trend", bucket="month", **window)
    assert trend["total"] == sum(b["count"] for b in trend["series"]) == len(inside)
    # Statistics count Asia/Shanghai calendar months (README "Statistics"), which kept daylight saving time in
    # 1986–1991: with a fixed UTC+8 here, a random filler in the last hour of such a summer month landed in the
    # month before and failed about one run in three (the fillers move with `now`).
    months = Counter(r.instant.astimezone(SHANGHAI).date().replace(day=1).isoformat() for r in inside)
    assert {b["start"]: b["count"] for b in trend["series"] if b["count"]} == months
    top = get(client, headers, "/api/v1/stats/top-grids", n=10, **window)
    assert {g["grid_code"]: g["count"] for g in top["grids"]} == Counter(r.grid for r in inside)
    span = get(client, headers, "/api/v1/stats/coverage")["data_span"]
    days = [r.instant.astimezone(SHANGHAI).date().isoformat() for r in inside]
    assert span == ({"first_day": min(days), "last_day": max(days)} if days else None)
    for route, extra in (("compare", {}), ("compare", {"previous": "yoy"}), ("breakdown", {"level": "grid"}),
                         ("zero-incident", {}), ("disputes", {})):  # fmt: skip
        get(client, headers, f"/api/v1/stats/{route}", **window, **extra)
    assert set(CATEGORIES) == set(counts["categories"]) and len(STATUSES) == 6


def tiles(client: TestClient, headers: dict, rows: list[Row]) -> None:
    """TileJSON, the z12 tile of the tree (bins with counts) and a z18 tile on the shared vertex (points)."""
    tj = get(client, headers, "/tiles/incidents.json")
    assert tj["tilejson"].startswith("3.") and tj["vector_layers"][0]["id"] == "incidents"
    x0, y0, x1, y1 = TREE_BOX
    z, (x, y) = 12, tile_of(x0, y0, 12)
    assert tile_of(x1, y1, 12) == (x, y)  # the whole tree lies in one z12 tile
    bins = decoded(client, headers, z, x, y)
    w, s, e, n = tile_box(z, x, y)
    assert sum(f["properties"]["count"] for f in bins) == sum(w <= r.lon < e and s < r.lat <= n for r in rows)
    z = 18
    x, y = tile_of(x0 + 0.01, y0 + 0.01, z)  # (X1, Y1): the vertex
    w, s, e, n = tile_box(z, x, y)
    points = decoded(client, headers, z, x, y)
    assert len(points) == sum(w <= r.lon <= e and s <= r.lat <= n for r in rows) > 0


def decoded(client: TestClient, headers: dict, z: int, x: int, y: int) -> list[dict]:
    r = get(client, headers, f"/tiles/incidents/{z}/{x}/{y}.mvt")
    return mapbox_vector_tile.decode(r.content).get("incidents", {}).get("features", []) if r.content else []
