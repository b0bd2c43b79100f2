"""What tests/api/test_import_readback.py writes, and what every read must find (issue #15).

Every expected figure here is computed from the coordinates and values written (the tiny tree's squares,
tests/fixtures.py), never by the code under test: which grid holds a point, which day, which tile.
Extremes: the earliest accepted instant (README "Dates": 1949-10-01 00:00 Beijing time) exactly and one
microsecond later, the last minute, times with and without an offset, points on the grids' shared edges
and vertex, just inside the city's 50 km margin, long texts with CJK, emoji, quotes and backslashes, every
category and status, numeric-looking external ids.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

import numpy as np
from pyproj import Geod

from tests.fixtures import GRIDS, X0, X1, X2, Y0, Y1, Y2

CST = dt.timezone(dt.timedelta(hours=8))
EARLIEST = dt.datetime(1949, 10, 1, tzinfo=CST)  # the README's bound, written out (not geo.timebounds)
CATEGORIES = ("preventable", "property", "dispute", "hazard", "service", "other")
STATUSES = ("reported", "assigned", "in_progress", "mediated", "resolved", "closed")
W1, W2, E1, E2 = (g[0] for g in GRIDS)  # west-north, west-south, east-north, east-south
TREE_BOX = (X0, Y0, X2, Y2)
# Outside every grid but well inside the margin, and more than one z12 tile east of the tree (0.088°).
OUT_BAND = (107.30, 34.30, 107.40, 34.42)
# Incident ids are unbounded TEXT: only the request body's 64 MiB limits description and subcategory.
# external_id is indexed, and a btree entry holds at most 2,704 bytes: 2,692 incompressible ASCII characters
# (pglz shortens a repetitive id, so random digits); one more is SQLSTATE 54000, a 400.
PIECE = "「引号」'单' \"双\" `反` \\反斜杠\\ 𠀀𪚥 🚨👩‍👩‍👧‍👦🇨🇳 é\u0301 \t换行\n"
LONG_DESCRIPTION = (PIECE * (200_000 // len(PIECE)))[:200_000].strip() + "。"
LONG_SUBCATEGORY = (PIECE * 100)[:2_000].strip() + "类"
ID_CAP = 2_692
LONG_ID = "0" + "".join(map(str, np.random.default_rng(54000).integers(0, 10, ID_CAP - 1)))


@dataclass
class Row:
    lon: float
    lat: float
    when: str  # occurred_at as written
    instant: dt.datetime  # the instant it names
    grid: str | None  # the grid that must hold it (None: outside_jurisdiction)
    category: str
    status: str
    external_id: str
    subcategory: str | None = None
    description: str | None = None

    def feature(self) -> dict:
        props = {"category": self.category, "status": self.status, "occurred_at": self.when,
                 "external_id": self.external_id}  # fmt: skip
        props.update(
            {k: v for k, v in (("subcategory", self.subcategory), ("description", self.description)) if v}
        )
        return {"type": "Feature", "geometry": {"type": "Point", "coordinates": [self.lon, self.lat]},
                "properties": props}  # fmt: skip


def _margin_points(margin_km: float) -> list[tuple[float, float]]:
    """Points 200 m inside the margin, off the middle of each side of the city box (the buffer's straight
    parts: its corners are rounded by four segments a quadrant)."""
    geod, inset = Geod(ellps="WGS84"), (margin_km - 0.2) * 1000
    ym, xm = (Y0 + Y2) / 2, (X0 + X2) / 2
    starts = ((X2, ym, 90), (X0, ym, 270), (xm, Y2, 0), (xm, Y0, 180))
    out = []
    for lon, lat, azimuth in starts:
        lon2, lat2, _ = geod.fwd(lon, lat, azimuth, inset)
        out.append((round(lon2, 6), round(lat2, 6)))
    return out


def specials(now: dt.datetime, margin_km: float) -> list[Row]:
    """The extreme rows, most extreme first (a one-row import writes only the first)."""
    z = dt.UTC
    e, just_in = EARLIEST, EARLIEST + dt.timedelta(microseconds=1)
    recent = [now - dt.timedelta(seconds=s) for s in (59, 30, 1)]

    def local(t: dt.datetime, offset: str | None) -> str:
        if offset is None:  # no offset: UTC+8 (README "Incidents")
            return t.astimezone(CST).replace(tzinfo=None).isoformat()
        if offset == "Z":
            return t.astimezone(z).replace(tzinfo=None).isoformat() + "Z"
        return t.astimezone(dt.timezone(dt.timedelta(hours=int(offset[:3])))).isoformat()

    # fmt: off
    rows = [
        # the exact lower bound, on the vertex the four grids share (the lowest code wins), longest texts
        Row(X1, Y1, "1949-10-01T00:00:00+08:00", e, W1, "preventable", "reported", LONG_ID,
            LONG_SUBCATEGORY, LONG_DESCRIPTION),
        Row(X1, 34.365, "1949-10-01T00:00:00", e, W1, "property", "assigned", "0001", "邻里纠纷", '"引号" \'单\' 🚨'),
        Row(107.115, Y1, "1949-09-30T16:00:00Z", e, E1, "dispute", "in_progress", "1e5"),
        Row(X0, Y0, "1949-10-01T00:00:00.000001+08:00", just_in, W2, "hazard", "mediated", "-0"),
        Row(X2, Y2, local(recent[0], None), recent[0], E1, "service", "resolved", "1.50"),
        Row(X2, 34.355, local(recent[1], "+08:00"), recent[1], E2, "other", "closed", "9223372036854775808"),
        Row(X0, 34.365, local(recent[2], "Z"), recent[2], W1, "dispute", "reported", "0x1F"),
        Row(X1, Y0, local(recent[2], "-05:00"), recent[2], W2, "hazard", "closed", "+7"),
        Row(X2, Y1, local(recent[0], "+14:00"), recent[0], E1, "other", "in_progress", "NaN"),
    ]
    # fmt: on
    for k, (lon, lat) in enumerate(_margin_points(margin_km)):
        rows.append(Row(lon, lat, "2000-02-29T23:59:59.999999+08:00",
                        dt.datetime(2000, 2, 29, 23, 59, 59, 999999, tzinfo=CST), None,
                        CATEGORIES[k], STATUSES[-1 - k], f"{k:020d}"))  # fmt: skip
    return rows


def written(n: int, now: dt.datetime, margin_km: float, seed: int = 15) -> list[Row]:
    """n rows: the specials, then fillers on a seeded spread (every category × status, a fifth outside)."""
    rows = specials(now, margin_km)[:n]
    m = n - len(rows)
    if m <= 0:
        return rows
    rng = np.random.default_rng(seed)
    # Offsets 0.002–0.008° inside a cell: never on an edge, never in the tiles checked around the vertex.
    du, dv = (np.round(rng.uniform(0.002, 0.008, m), 6) for _ in range(2))
    first = int(EARLIEST.timestamp()) + 86_400
    seconds = rng.integers(first, int(now.timestamp()) - 3_600, m)
    cells = ((X0, Y1, W1), (X0, Y0, W2), (X1, Y1, E1), (X1, Y0, E2))
    for i in range(m):
        cell = i % 5
        if cell < 4:
            x, y, grid = cells[cell]
            lon, lat = round(x + du[i], 6), round(y + dv[i], 6)
        else:
            grid = None
            lon = round(OUT_BAND[0] + (OUT_BAND[2] - OUT_BAND[0]) * du[i] / 0.01, 6)
            lat = round(OUT_BAND[1] + (OUT_BAND[3] - OUT_BAND[1]) * dv[i] / 0.01, 6)
        instant = dt.datetime.fromtimestamp(int(seconds[i]), dt.UTC)
        when = instant.astimezone(CST).isoformat() if i % 2 else instant.replace(tzinfo=None).isoformat() + "Z"
        rows.append(Row(lon, lat, when, instant, grid, CATEGORIES[i % 6], STATUSES[(i // 6) % 6],
                        str(10**12 + i)))  # fmt: skip
    return rows


def tile_of(lon: float, lat: float, z: int) -> tuple[int, int]:
    """The web-mercator tile holding a point (the slippy-map formula, written out here)."""
    n = 2**z
    y = (1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n
    return int((lon + 180) / 360 * n), int(y)


def tile_box(z: int, x: int, y: int) -> tuple[float, float, float, float]:
    n = 2**z

    def lat(k: int) -> float:
        return math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * k / n))))

    return x / n * 360 - 180, lat(y + 1), (x + 1) / n * 360 - 180, lat(y)
