"""Reading grids through time: the current grid with its version, its history, its state as of a moment."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from geo.area import Area
from geo.crs import METRIC_EPSG
from geo.errors import GridNotFound, InvalidInput, NotFound
from geo.geojson import feature_collection
from geo.localtime import CST

VERSION_COLUMNS = f"""
    v.grid_code AS code, v.version, v.name, v.community_code, v.grid_worker, v.households, v.population,
    v.status, v.valid_from, v.valid_to, v.editor, v.reason,
    round(ST_Area(ST_Transform(v.geom, {METRIC_EPSG}))::numeric, 1) AS area_m2, v.geom
"""


def parse_moment(raw: str) -> dt.datetime:
    """'2020-06-01' (that day's start, Beijing time) or an ISO datetime (Beijing time when it names no zone)."""
    try:
        if len(raw) == 10:
            return dt.datetime.combine(dt.date.fromisoformat(raw), dt.time(), CST)
        moment = dt.datetime.fromisoformat(raw)
    except ValueError as exc:
        raise InvalidInput(f"as_of {raw!r} is not an ISO date or datetime", field="as_of") from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=CST)


def check_grid_in_area(session: Session, code: str, area: Area) -> None:
    """A grid outside the area is not found (404: its existence is not revealed)."""
    inside, params = area.where("grids", "g")
    hit = session.execute(
        text(f"SELECT 1 FROM grids g WHERE g.code = :code AND {inside}"), {"code": code, **params}
    )
    if not area.is_city and hit.first() is None:
        raise GridNotFound(f"no grid {code} in your area", grid_code=code)


def current_grid(session: Session, code: str, area: Area) -> tuple[str, int]:
    """(the grid as a GeoJSON Feature with its attributes, its version) — the version is the ETag."""
    check_grid_in_area(session, code, area)
    row = session.execute(
        text(
            f"""
            SELECT json_build_object('type', 'Feature', 'id', t.code,
                       'geometry', ST_AsGeoJSON(t.geom, 7)::json, 'properties', to_jsonb(t) - 'geom')::text,
                   t.version
            FROM (
                SELECT g.code, g.name, g.community_code, c.name AS community_name, c.parent_code AS town_code,
                       g.grid_worker, g.grid_worker_phone, g.households, g.population, g.status, g.version,
                       g.synthetic, g.created_at, g.updated_at,
                       round(ST_Area(ST_Transform(g.geom, {METRIC_EPSG}))::numeric, 1) AS area_m2, g.geom
                FROM grids g JOIN admin_units c ON c.code = g.community_code WHERE g.code = :code
            ) t
            """
        ),
        {"code": code},
    ).one_or_none()
    if row is None:
        raise GridNotFound(f"no grid {code}", grid_code=code)
    return row[0], row[1]


def grid_version(session: Session, code: str) -> int:
    """The grid's current version (its ETag)."""
    version = session.execute(text("SELECT version FROM grids WHERE code = :c"), {"c": code}).scalar_one_or_none()
    if version is None:
        raise GridNotFound(f"no grid {code}", grid_code=code)
    return int(version)


def history(session: Session, code: str, area: Area) -> str:
    """Every version of a grid, oldest first, as a GeoJSON FeatureCollection (ids are code@version)."""
    check_grid_in_area(session, code, area)
    current = grid_version(session, code)
    select = f"""
        SELECT v.grid_code || '@' || v.version AS id, {VERSION_COLUMNS}
        FROM grid_versions v WHERE v.grid_code = :code ORDER BY v.version
    """
    return feature_collection(session, select, {"code": code}, "id", {"code": code, "current_version": current})


def as_of(session: Session, code: str, moment: dt.datetime, area: Area) -> tuple[str, int]:
    """(the version of a grid in force at moment as a GeoJSON Feature, that version number)."""
    check_grid_in_area(session, code, area)
    row = session.execute(
        text(
            f"""
            SELECT json_build_object('type', 'Feature', 'id', t.code,
                       'geometry', ST_AsGeoJSON(t.geom, 7)::json, 'properties', to_jsonb(t) - 'geom')::text,
                   t.version
            FROM (SELECT {VERSION_COLUMNS} FROM grid_versions v
                  WHERE v.grid_code = :code AND v.valid_from <= :at AND (v.valid_to IS NULL OR v.valid_to > :at)
                  ORDER BY v.version DESC LIMIT 1) t
            """
        ),
        {"code": code, "at": moment},
    ).one_or_none()
    if row is None:
        grid_version(session, code)  # a GridNotFound when the grid never existed
        raise NotFound(f"grid {code} did not exist on {moment.isoformat()}", grid_code=code, as_of=moment)
    return row[0], row[1]


def versions_as_of(session: Session, moment: dt.datetime) -> list[dict[str, Any]]:
    """Every grid's version in force at moment (code, version, status): the map as it was."""
    rows = session.execute(
        text(
            """
            SELECT grid_code, version, status FROM grid_versions
            WHERE valid_from <= :at AND (valid_to IS NULL OR valid_to > :at) ORDER BY grid_code
            """
        ),
        {"at": moment},
    ).all()
    return [{"code": c, "version": v, "status": s} for c, v, s in rows]
