"""Test data for the OGC and tile tests: the tiny tree plus incidents, a compound and a patrol route."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session

from tests.fixtures import load_tiny_tree

# 12 incidents: 3 per grid, at known places and days; categories cycle dispute, hazard, property.
INCIDENT_POINTS = [
    (107.103, 34.363), (107.105, 34.365), (107.107, 34.367),  # west-north grid …001001
    (107.103, 34.353), (107.105, 34.355), (107.107, 34.357),  # west-south grid …001002
    (107.113, 34.363), (107.115, 34.365), (107.117, 34.367),  # east-north grid …002001
    (107.113, 34.353), (107.115, 34.355), (107.117, 34.357),  # east-south grid …002002
]  # fmt: skip
CATEGORIES = ["dispute", "hazard", "property"]


def load_ogc_data(session: Session) -> None:
    """The tiny tree, 12 incidents (2024-03-01 … 2024-03-12), one compound and one patrol route."""
    load_tiny_tree(session)
    for i, (lon, lat) in enumerate(INCIDENT_POINTS):
        session.execute(
            text(
                "INSERT INTO incidents (external_id, category, status, occurred_at, geom) "
                "VALUES (:e, :c, :s, :t, ST_SetSRID(ST_MakePoint(:x, :y), 4326))"
            ),
            dict(
                e=f"T{i:03d}",
                c=CATEGORIES[i % 3],
                s="resolved" if i % 2 else "reported",
                t=f"2024-03-{i + 1:02d}T10:00:00+08:00",
                x=lon,
                y=lat,
            ),  # fmt: skip
        )
    session.execute(
        text(
            "INSERT INTO compounds (name, category, renovation_status, households, geom) VALUES "
            "('幸福小区', 'three_no', 'renovated', 320, "
            "ST_GeomFromText('POLYGON((107.104 34.364,107.106 34.364,107.106 34.366,107.104 34.366,107.104 34.364))',"
            " 4326))"
        )
    )
    officer = session.execute(
        text("INSERT INTO officers (badge, name) VALUES ('T-001', '李警官') RETURNING id")
    ).scalar_one()
    session.execute(
        text(
            "INSERT INTO patrol_routes (name, officer_id, shift, mode, geom) VALUES ('西线', :o, 'night', 'walk', "
            "ST_GeomFromText('LINESTRING(107.101 34.351,107.109 34.369)', 4326))"
        ),
        {"o": officer},
    )
    session.flush()


def delete_ogc_data(session: Session) -> None:
    """Remove what load_ogc_data committed (for the live-server tests, which cannot roll back)."""
    for sql in (
        "DELETE FROM incidents WHERE external_id LIKE 'T%'",
        "DELETE FROM compounds WHERE name = '幸福小区'",
        "DELETE FROM patrol_routes WHERE name = '西线'",
        "DELETE FROM officers WHERE badge = 'T-001'",
        "DELETE FROM grid_versions WHERE grid_code LIKE '610302001%'",
        "DELETE FROM grids WHERE code LIKE '610302001%'",
        "DELETE FROM admin_units WHERE code LIKE '610302001%'",
        "DELETE FROM admin_units WHERE code = '610302'",
        "DELETE FROM admin_units WHERE code = '610300'",
    ):
        session.execute(text(sql))
