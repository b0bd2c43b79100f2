"""Hand-placed incidents on the tiny tree for the statistics tests; the expected figures are worked out below.

Grids (tests/fixtures.py): W1 = 610302001001001 (NW, 120 households), W2 = …001002 (SW, 80),
E1 = 610302001002001 (NE, 200), E2 = …002002 (SE, 0). Communities: west = W1+W2, east = E1+E2.
All times are local (+08:00). The city's 2020 figures (prior window [2018-12-31, 2020-01-01), since 2020 has
366 days; yoy window [2019-01-01, 2020-01-01)):

    category     2020  prior  yoy
    preventable     3      4    4
    property        5     10   10   (+1 outside the jurisdiction in 2020, never counted for the city)
    dispute         6      2    2
    hazard          0      2    1   (one on 2018-12-31: in the prior window only)
    service        16      0    0
    total          30     18   17
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import text
from sqlalchemy.orm import Session

from tests.fixtures import X0, X1, Y0, Y2, box, load_tiny_tree

CST = dt.timezone(dt.timedelta(hours=8))
COUNTY, TOWN = "610302", "610302001"
WEST, EAST = "610302001001", "610302001002"
W1, W2, E1, E2 = "610302001001001", "610302001001002", "610302001002001", "610302001002002"
# Points well inside each grid, and away from the strip y 34.36–34.365 that the historic test moves.
POINT = {W1: (107.105, 34.368), W2: (107.105, 34.352), E1: (107.115, 34.365), E2: (107.115, 34.355)}


def at(y: int, m: int, d: int, hh: int = 12, mm: int = 0) -> dt.datetime:
    return dt.datetime(y, m, d, hh, mm, tzinfo=CST)


def add(
    db: Session,
    category: str,
    when: dt.datetime,
    grid: str | None,
    n: int = 1,
    status: str = "reported",
    mediated_at: dt.datetime | None = None,
    resolved_at: dt.datetime | None = None,
    point: tuple[float, float] | None = None,
) -> None:
    """Insert n incidents stored in grid (its community, town and county filled), or outside if grid is None."""
    lon, lat = point or (POINT[grid] if grid else (107.5, 34.9))
    community = grid[:12] if grid else None
    for _ in range(n):
        db.execute(
            text(
                "INSERT INTO incidents (category, status, occurred_at, mediated_at, resolved_at, grid_code, "
                "community_code, town_code, county_code, outside_jurisdiction, geom) VALUES (:c, :s, :t, :ma, "
                ":ra, :g, :cm, :tw, :ct, :out, ST_SetSRID(ST_MakePoint(:x, :y), 4326))"
            ),
            dict(
                c=category,
                s=status,
                t=when,
                ma=mediated_at,
                ra=resolved_at,
                g=grid,
                cm=community,
                tw=TOWN if grid else None,
                ct=COUNTY if grid else None,
                out=grid is None,
                x=lon,
                y=lat,
            ),
        )


def load_stats_data(db: Session) -> None:
    """The tiny tree plus the incidents described in the module docstring."""
    load_tiny_tree(db)
    # 2019 (and the day before it)
    add(db, "preventable", at(2019, 3, 10), W1, 4)
    add(db, "property", at(2019, 5, 1), W1)
    add(db, "property", at(2019, 7, 1), E1, 9)
    add(db, "dispute", at(2019, 8, 1), W2, 2)
    add(db, "hazard", at(2019, 12, 31, 23, 30), E2)  # 15:30 UTC: still 2019 locally
    add(db, "hazard", at(2018, 12, 31), E2)  # only in the 'prior' window of 2020
    # 2020
    add(db, "preventable", at(2020, 3, 10), W1)
    add(db, "property", at(2020, 5, 1), W1)
    add(db, "property", at(2020, 7, 1), E1, 4)
    add(db, "preventable", at(2020, 1, 1, 0, 30), E2, 2)  # 2019-12-31 16:30 UTC: 2020 locally
    add(db, "service", at(2020, 9, 9), E1, 16)
    add(db, "property", at(2020, 6, 1), None)  # outside the jurisdiction: no county_code
    # 2020 disputes. West (W2): logged 5, mediated 4, resolved 2. East (E1): logged 1, mediated 0, resolved 1.
    d = at(2020, 4, 1)
    add(db, "dispute", d, W2, status="reported")
    add(db, "dispute", d, W2, status="mediated")
    add(db, "dispute", d, W2, status="in_progress", mediated_at=at(2020, 4, 2))
    add(db, "dispute", d, W2, status="resolved")
    add(db, "dispute", d, W2, status="closed")
    add(db, "dispute", d, E1, status="in_progress", resolved_at=at(2020, 4, 3))
    db.flush()


MOVED_Y = 34.365


def move_west_boundary(db: Session) -> None:
    """On 2020-06-01 the W1/W2 edge moves north from y=34.36 to 34.365 (version 2 of both grids)."""
    changed = at(2020, 6, 1, 0, 0)
    new = {W1: box(X0, MOVED_Y, X1, Y2), W2: box(X0, Y0, X1, MOVED_Y)}
    for code, geom in new.items():
        db.execute(
            text("UPDATE grid_versions SET valid_to = :t WHERE grid_code = :c AND version = 1"),
            {"t": changed, "c": code},
        )
        db.execute(
            text(
                "INSERT INTO grid_versions (grid_code, version, name, community_code, households, status, geom, "
                "valid_from, editor, reason) SELECT code, 2, name, community_code, households, status, "
                "ST_GeomFromEWKT(:g), :t, 'test', 'edge moved' FROM grids WHERE code = :c"
            ),
            {"g": geom, "t": changed, "c": code},
        )
        db.execute(
            text("UPDATE grids SET geom = ST_GeomFromEWKT(:g), version = 2 WHERE code = :c"),
            {"g": geom, "c": code},
        )
    # Two 'other' incidents in the moved strip, stored (current boundaries) in W2: historically the first
    # was in W1. A third sits on the W2/E2 edge (stored in E2): historically it goes to the lower code, W2.
    add(db, "other", at(2020, 3, 1), W2, point=(107.105, 34.3625))
    add(db, "other", at(2020, 9, 1), W2, point=(107.105, 34.3625))
    add(db, "other", at(2020, 10, 1), E2, point=(107.11, 34.3555))
    db.flush()
