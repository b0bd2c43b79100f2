"""Reading the integrated grids (the boundary-editing writes live in geo/editing/)."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session

from geo.area import Area
from geo.geojson import Page, feature_page

GRID_COLUMNS = """
    g.code, g.name, g.community_code, c.name AS community_name, t.code AS town_code, t.name AS town_name,
    t.parent_code AS county_code, g.grid_worker, g.households, g.population, g.status, g.version,
    g.synthetic, g.updated_at
"""
GRID_FROM = """
    grids g
    JOIN admin_units c ON c.code = g.community_code
    JOIN admin_units t ON t.code = c.parent_code
"""


def list_grids(
    session: Session,
    area: Area,
    bbox: tuple[float, float, float, float] | None = None,
    admin_code: str | None = None,
    limit: int = 100,
    offset: int = 0,
    include_retired: bool = False,
) -> Page:
    """A page of grids as a GeoJSON FeatureCollection (with numberMatched/numberReturned and paging)."""
    # The caller's area, narrowed to admin_code when given (403 outside it).
    condition, params = area.narrowed(admin_code).where("grids", "g")
    where: list[str] = [condition]
    params.update(limit=limit, offset=offset)
    if not include_retired:
        where.append("g.status = 'active'")
    if bbox:
        where.append("g.geom && ST_MakeEnvelope(:x1, :y1, :x2, :y2, 4326)")
        where.append("ST_Intersects(g.geom, ST_MakeEnvelope(:x1, :y1, :x2, :y2, 4326))")
        params.update(x1=bbox[0], y1=bbox[1], x2=bbox[2], y2=bbox[3])
    cond = " AND ".join(where)
    matched = session.execute(text(f"SELECT count(*) FROM {GRID_FROM} WHERE {cond}"), params).scalar_one()
    page = (
        f"SELECT {GRID_COLUMNS}, g.geom FROM {GRID_FROM} WHERE {cond} ORDER BY g.code LIMIT :limit OFFSET :offset"
    )
    return feature_page(session, page, params, "code", matched, limit, offset)
