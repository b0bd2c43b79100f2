"""A tiny hand-made governance tree for exact tests: 1 county, 1 town, 2 communities, 4 grids.

Squares near central Baoji (107.10–107.12E, 34.35–34.37N), 0.01° on a side, with exact shared edges
so that edge rules and coverage can be checked by hand. Community 610302001001 is the west column
(grids …001001 north, …001002 south); community 610302001002 the east column (…002001 north,
…002002 south).
"""

from __future__ import annotations

import json

from sqlalchemy import text
from sqlalchemy.orm import Session

X0, X1, X2 = 107.10, 107.11, 107.12
Y0, Y1, Y2 = 34.35, 34.36, 34.37


def box(x1: float, y1: float, x2: float, y2: float) -> str:
    return f"SRID=4326;MULTIPOLYGON((({x1} {y1},{x2} {y1},{x2} {y2},{x1} {y2},{x1} {y1})))"


TREE = [
    ("610300", "宝鸡市", "Baoji", "city", None, box(X0, Y0, X2, Y2)),
    ("610302", "渭滨区", "Weibin District", "county", "610300", box(X0, Y0, X2, Y2)),
    ("610302001", "测试街道", "Test Street", "town", "610302", box(X0, Y0, X2, Y2)),
    ("610302001001", "西社区", "West Community", "community", "610302001", box(X0, Y0, X1, Y2)),
    ("610302001002", "东社区", "East Community", "community", "610302001", box(X1, Y0, X2, Y2)),
]
GRIDS = [
    ("610302001001001", "西一网格", "610302001001", box(X0, Y1, X1, Y2), 120),
    ("610302001001002", "西二网格", "610302001001", box(X0, Y0, X1, Y1), 80),
    ("610302001002001", "东一网格", "610302001002", box(X1, Y1, X2, Y2), 200),
    ("610302001002002", "东二网格", "610302001002", box(X1, Y0, X2, Y1), 0),
]


def load_tiny_tree(session: Session) -> None:
    """Insert the tiny tree and its grids (and their first versions) into the session's transaction."""
    for code, name, name_en, level, parent, geom in TREE:
        session.execute(
            text(
                "INSERT INTO admin_units (code, name, name_en, level, parent_code, urban, geom) "
                "VALUES (:c, :n, :e, :l, :p, true, ST_GeomFromEWKT(:g))"
            ),
            dict(c=code, n=name, e=name_en, l=level, p=parent, g=geom),
        )
    for code, name, community, geom, households in GRIDS:
        session.execute(
            text(
                "INSERT INTO grids (code, name, community_code, households, grid_worker, geom) "
                "VALUES (:c, :n, :m, :h, '张网格', ST_GeomFromEWKT(:g))"
            ),
            dict(c=code, n=name, m=community, h=households, g=geom),
        )
        session.execute(
            text(
                "INSERT INTO grid_versions (grid_code, version, name, community_code, households, status, "
                "geom, valid_from, editor, reason) VALUES (:c, 1, :n, :m, :h, 'active', ST_GeomFromEWKT(:g), "
                "'2019-01-01', 'fixture', 'initial')"
            ),
            dict(c=code, n=name, m=community, h=households, g=geom),
        )
    session.flush()


def points_across_the_tiny_tree(ids: list[str]) -> bytes:
    """A FeatureCollection body: one dispute per external id, spread west to east across the tiny tree's grids."""
    step = (X1 - X0 - 0.002) / len(ids)
    features = [
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [X0 + 0.001 + k * step, (Y1 + Y2) / 2]},
            "properties": {"category": "dispute", "occurred_at": "2024-05-01T08:30:00+08:00", "external_id": i},
        }
        for k, i in enumerate(ids)
    ]
    return json.dumps({"type": "FeatureCollection", "features": features}).encode()
