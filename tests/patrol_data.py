"""Test data for patrol planning: officers, incidents, compounds at exact geodesic offsets on the tiny tree."""

from __future__ import annotations

import datetime as dt

from pyproj import Geod
from sqlalchemy import text
from sqlalchemy.orm import Session

from geo.auth import create_user

GEOD = Geod(ellps="WGS84")
NOW = dt.datetime(2024, 6, 1, 12, 0, tzinfo=dt.UTC)
WEST, EAST = "610302001001", "610302001002"


def offset(lon: float, lat: float, metres: float, azimuth: float) -> tuple[float, float]:
    """The point `metres` from (lon, lat) along `azimuth` degrees (0 north, 90 east), on the ellipsoid."""
    x, y, _ = GEOD.fwd(lon, lat, azimuth, metres)
    return x, y


def add_officer(session: Session, badge: str, community: str | None, name: str = "王警官") -> int:
    return session.execute(
        text("INSERT INTO officers (badge, name, community_code) VALUES (:b, :n, :c) RETURNING id"),
        {"b": badge, "n": name, "c": community},
    ).scalar_one()


def police_headers(session: Session, officer_id: int | None, username: str) -> dict[str, str]:
    token = create_user(session, username, "police", officer_id)
    return {"Authorization": f"Bearer {token}"}


def add_incident(
    session: Session, lon: float, lat: float, days_ago: float = 1.0, category: str = "property"
) -> int:
    """An incident assigned to the grid containing it (as the ingest does on write)."""
    return session.execute(
        text(
            """INSERT INTO incidents (category, occurred_at, geom, grid_code, community_code)
               SELECT :cat, :at, p.g, g.code, g.community_code
               FROM (SELECT ST_SetSRID(ST_MakePoint(:x, :y), 4326) AS g) p
               LEFT JOIN grids g ON ST_Intersects(g.geom, p.g)
               ORDER BY g.code LIMIT 1
               RETURNING id"""
        ),
        {"cat": category, "at": NOW - dt.timedelta(days=days_ago), "x": lon, "y": lat},
    ).scalar_one()


def add_compound(
    session: Session,
    lon: float,
    lat: float,
    half_m: float = 20.0,
    households: int | None = 300,
    status: str = "not_renovated",
    name: str = "老旧小区",
) -> int:
    """A square compound of side 2·half_m centred on (lon, lat), assigned to its grid."""
    w, _ = offset(lon, lat, half_m, 270)
    e, _ = offset(lon, lat, half_m, 90)
    _, s = offset(lon, lat, half_m, 180)
    _, n = offset(lon, lat, half_m, 0)
    wkt = f"SRID=4326;POLYGON(({w} {s},{e} {s},{e} {n},{w} {n},{w} {s}))"
    return session.execute(
        text(
            """INSERT INTO compounds (name, households, renovation_status, geom, grid_code, community_code)
               SELECT :n, :h, :st, p.g, g.code, g.community_code
               FROM (SELECT ST_GeomFromEWKT(:wkt) AS g) p
               LEFT JOIN grids g ON ST_Intersects(g.geom, ST_PointOnSurface(p.g))
               LIMIT 1 RETURNING id"""
        ),
        {"n": name, "h": households, "st": status, "wkt": wkt},
    ).scalar_one()


def line(*points: tuple[float, float]) -> dict:
    return {"type": "LineString", "coordinates": [list(p) for p in points]}
