"""Validation of grid edits: every problem names its rule, the grid (or feature) and where it is."""

from __future__ import annotations

import json
import math
import re
from typing import Any

import shapely
from shapely.geometry import MultiPolygon, Polygon, shape
from shapely.geometry.base import BaseGeometry
from sqlalchemy import text
from sqlalchemy.orm import Session

from geo.crs import METRIC_EPSG
from geo.errors import InvalidGeometry

GRID_CODE = re.compile(r"^\d{15}$")
COUNT_FIELDS = ("households", "population")


def problem(rule: str, detail: str, **where: Any) -> dict[str, Any]:
    """One validation problem: the rule broken, a readable detail, and where (grid, feature, location...)."""
    return {"rule": rule, "detail": detail, **{k: v for k, v in where.items() if v is not None}}


def reject(problems: list[dict[str, Any]], **context: Any) -> InvalidGeometry:
    """The exception a failed validation raises: a summary detail plus every problem."""
    head = "; ".join(p["detail"] for p in problems[:3])
    more = f" (and {len(problems) - 3} more)" if len(problems) > 3 else ""
    return InvalidGeometry(f"{len(problems)} problem(s): {head}{more}", problems=problems, **context)


def to_multipolygon(value: Any, **where: Any) -> tuple[MultiPolygon | None, list[dict[str, Any]]]:
    """GeoJSON (dict or text), WKT or a shapely geometry → a 2D MultiPolygon, or the problems that stop it."""
    geom: BaseGeometry | None
    try:
        if isinstance(value, BaseGeometry):
            geom = value
        elif isinstance(value, dict):
            geom = shape(value.get("geometry", value) if value.get("type") == "Feature" else value)
        elif isinstance(value, str) and value.lstrip().startswith("{"):
            return to_multipolygon(json.loads(value), **where)
        elif isinstance(value, str):
            geom = shapely.from_wkt(value)
        else:
            return None, [problem("geometry", f"expected a GeoJSON geometry, got {type(value).__name__}", **where)]
    except Exception as exc:  # shapely raises several types for malformed input; all mean "unreadable"
        return None, [problem("geometry", f"the geometry cannot be read: {exc}", **where)]
    if geom is None or geom.is_empty:
        return None, [problem("geometry", "the geometry is empty", **where)]
    if geom.geom_type not in ("Polygon", "MultiPolygon"):
        return None, [
            problem("polygon_type", f"a grid must be a Polygon or MultiPolygon, got {geom.geom_type}", **where)
        ]
    coords = shapely.get_coordinates(geom)
    if not all(math.isfinite(v) for v in coords.ravel()):
        return None, [problem("geometry", "the geometry has NaN or infinite coordinates", **where)]
    geom = shapely.force_2d(geom)
    if isinstance(geom, Polygon):
        geom = MultiPolygon([geom])
    assert isinstance(geom, MultiPolygon)
    bad = coords[(abs(coords[:, 0]) > 180) | (abs(coords[:, 1]) > 90)]
    if len(bad):
        x, y = bad[0]
        return None, [
            problem("geometry", f"coordinate ({x}, {y}) is not lon,lat in WGS84 (swapped axes?)", **where)
        ]
    return geom, []


def check_validity(session: Session, geoms: list[tuple[dict[str, Any], MultiPolygon]]) -> list[dict[str, Any]]:
    """PostGIS ST_IsValidDetail on each (where, geometry): the reason and the location of each invalid one."""
    if not geoms:
        return []
    rows = session.execute(
        text(
            """
            SELECT t.i, (d).valid, (d).reason, ST_X((d).location), ST_Y((d).location)
            FROM unnest(CAST(:wkbs AS bytea[])) WITH ORDINALITY AS t(w, i)
            CROSS JOIN LATERAL (SELECT ST_IsValidDetail(ST_GeomFromWKB(t.w, 4326)) AS d) v
            """
        ),
        {"wkbs": [g.wkb for _, g in geoms]},
    ).all()
    problems = []
    for i, valid, reason, x, y in rows:
        if not valid:
            where = geoms[i - 1][0]
            loc = [round(x, 7), round(y, 7)] if x is not None else None
            problems.append(problem("validity", f"invalid geometry: {reason}", location=loc, **where))
    return problems


def check_attributes(
    session: Session, code: str, attrs: dict[str, Any], creating: bool, **where: Any
) -> list[dict[str, Any]]:
    """Code format, an existing community, a name, non-negative counts."""
    problems = []
    if creating and not GRID_CODE.match(code or ""):
        problems.append(problem("code", f"grid code {code!r} must be 15 digits (community code + 3)", **where))
    if "name" in attrs and not (attrs["name"] or "").strip():
        problems.append(problem("attribute", "name must not be empty", field="name", **where))
    for field in COUNT_FIELDS:
        value = attrs.get(field)
        if value is not None and (not isinstance(value, int) or value < 0):
            problems.append(problem("attribute", f"{field} must be a whole number ≥ 0", field=field, **where))
    community = attrs.get("community_code")
    if community is not None or creating:
        level = session.execute(
            text("SELECT level FROM admin_units WHERE code = :c"), {"c": community}
        ).scalar_one_or_none()
        if level != "community":
            problems.append(
                problem("community", f"community {community!r} is not a known village/community", **where)
            )
        elif GRID_CODE.match(code or "") and not code.startswith(str(community)):
            problems.append(
                problem("code", f"grid code {code} does not start with its community code {community}", **where)
            )
    return problems


def check_post_state(
    session: Session,
    codes: list[str],
    lost_wkb: bytes | None,
    communities: list[str],
    tolerance_m: float,
    before: dict[str, bytes] | None = None,
    sliver_m2: float = 0.01,
) -> list[dict[str, Any]]:
    """After the write: each changed grid inside its community, no overlaps, and no gap newly opened.

    An overlap or gap counts when it is thicker than tolerance_m, or when the edit added more than sliver_m2
    of it: thin slivers used to pass, and a grid sent back rounded left 1–6 m² of them (issue 15). Overlaps
    are compared with the same pair's before the edit (`before`: the edited grids' old shapes as WKB).
    """
    before = before or {}
    params = {
        "codes": codes,
        "tol": tolerance_m,
        "half": tolerance_m / 2,
        "sliver": sliver_m2,
        "old_codes": list(before),
        "old_wkbs": list(before.values()),
    }
    problems = _outside_community(session, params, tolerance_m) + _overlaps(session, params)
    if lost_wkb is not None:
        problems.extend(_new_gaps(session, lost_wkb, communities, tolerance_m, sliver_m2))
    return problems


def _outside_community(session: Session, params: dict[str, Any], tolerance_m: float) -> list[dict[str, Any]]:
    """Changed grids reaching past their community by more than the tolerance."""
    problems = []
    outside = session.execute(
        text(
            f"""
            SELECT g.code, g.community_code, ST_Area(x.d), ST_X(p.pt), ST_Y(p.pt)
            FROM grids g JOIN admin_units c ON c.code = g.community_code
            CROSS JOIN LATERAL (SELECT ST_Difference(g.geom, c.geom) AS d0) x0
            -- Only a grid that leaves its community at all pays for the buffered, metric comparison.
            CROSS JOIN LATERAL (SELECT CASE WHEN ST_IsEmpty(x0.d0) THEN x0.d0 ELSE ST_CollectionExtract(ST_Difference(
                ST_Transform(g.geom, {METRIC_EPSG}), ST_Buffer(ST_Transform(c.geom, {METRIC_EPSG}), :tol)), 3) END AS d) x
            CROSS JOIN LATERAL (SELECT ST_Transform(ST_PointOnSurface(x.d), 4326) AS pt) p
            WHERE g.code = ANY(:codes) AND g.status = 'active' AND NOT ST_IsEmpty(x.d)
            """
        ),
        params,
    ).all()
    for code, community, area, x, y in outside:
        problems.append(
            problem(
                "outside_community",
                f"grid {code} extends {area:.1f} m² beyond its community {community} (tolerance {tolerance_m} m)",
                grid_code=code,
                community_code=community,
                area_m2=round(area, 1),
                location=_loc(x, y),
            )
        )
    return problems


def _overlaps(session: Session, params: dict[str, Any]) -> list[dict[str, Any]]:
    """Changed grids overlapping an active neighbour: thicker than the tolerance, or more than before + sliver."""
    problems = []
    overlaps = session.execute(
        text(
            f"""
            WITH old AS (SELECT * FROM unnest(CAST(:old_codes AS text[]), CAST(:old_wkbs AS bytea[])) AS u(code, wkb))
            SELECT c.code, o.code, ST_Area(x.inter), ST_X(p.pt), ST_Y(p.pt)
            FROM grids c
            JOIN grids o ON o.status = 'active' AND o.code <> c.code AND o.geom && c.geom
                AND NOT (o.code = ANY(:codes) AND o.code < c.code)
            LEFT JOIN old oc ON oc.code = c.code
            LEFT JOIN old oo ON oo.code = o.code
            CROSS JOIN LATERAL (SELECT ST_Transform(ST_CollectionExtract(ST_Intersection(c.geom, o.geom), 3),
                {METRIC_EPSG}) AS inter) x
            -- The pair's overlap before the edit (an edited neighbour: its old shape; a new one had none).
            CROSS JOIN LATERAL (SELECT coalesce(ST_Area(ST_Transform(ST_CollectionExtract(ST_Intersection(
                ST_GeomFromWKB(oc.wkb, 4326),
                CASE WHEN o.code = ANY(:codes) THEN ST_GeomFromWKB(oo.wkb, 4326) ELSE o.geom END), 3),
                {METRIC_EPSG})), 0) AS m2) b
            CROSS JOIN LATERAL (SELECT ST_Transform(ST_PointOnSurface(x.inter), 4326) AS pt) p
            WHERE c.code = ANY(:codes) AND c.status = 'active' AND ST_Relate(c.geom, o.geom, '2********')
                AND (NOT ST_IsEmpty(ST_Buffer(x.inter, -:half)) OR ST_Area(x.inter) > b.m2 + :sliver)
            ORDER BY c.code, o.code
            """
        ),
        params,
    ).all()
    for code, other, area, x, y in overlaps:
        problems.append(
            problem(
                "overlap",
                f"grid {code} overlaps grid {other} by {area:.1f} m²",
                grid_code=code,
                other_grid=other,
                area_m2=round(area, 1),
                location=_loc(x, y),
            )
        )
    return problems


def _new_gaps(
    session: Session, lost_wkb: bytes, communities: list[str], tolerance_m: float, sliver_m2: float
) -> list[dict[str, Any]]:
    """Parts of the community the edited grids covered before that no active grid covers now: thicker than
    the tolerance, or larger than sliver_m2 (each piece was covered before, so all of it is new)."""
    rows = session.execute(
        text(
            f"""
            WITH lost AS (SELECT ST_GeomFromWKB(:lost, 4326) AS g),
            part AS (
                SELECT c.code, ST_Intersection(c.geom, lost.g) AS g FROM admin_units c, lost
                WHERE c.code = ANY(:communities) AND c.geom && lost.g
            ),
            open AS (
                SELECT part.code, ST_CollectionExtract(ST_Difference(part.g, coalesce(
                    (SELECT ST_Union(gr.geom) FROM grids gr WHERE gr.status = 'active' AND gr.geom && part.g
                        AND ST_Intersects(gr.geom, part.g)),
                    'SRID=4326;POLYGON EMPTY'::geometry)), 3) AS g
                FROM part
            ),
            pieces AS (SELECT code, ST_Transform((ST_Dump(g)).geom, {METRIC_EPSG}) AS m FROM open)
            SELECT code, ST_Area(m), ST_X(ST_Transform(ST_PointOnSurface(m), 4326)),
                   ST_Y(ST_Transform(ST_PointOnSurface(m), 4326))
            FROM pieces WHERE NOT ST_IsEmpty(ST_Buffer(m, -:half)) OR ST_Area(m) > :sliver ORDER BY 2 DESC
            """
        ),
        {"lost": lost_wkb, "communities": communities, "half": tolerance_m / 2, "sliver": sliver_m2},
    ).all()
    return [
        problem(
            "gap",
            f"the edit leaves {area:.1f} m² of community {community} in no grid",
            community_code=community,
            area_m2=round(area, 1),
            location=_loc(x, y),
        )
        for community, area, x, y in rows
    ]


def coverage(session: Session, communities: list[str]) -> list[dict[str, Any]]:
    """Each community's area, the part its active grids cover, and the share."""
    rows = session.execute(
        text(
            f"""
            SELECT c.code, c.name, ST_Area(ST_Transform(c.geom, {METRIC_EPSG})) AS area,
                   ST_Area(ST_Transform(coalesce(ST_Difference(c.geom, u.cov), c.geom), {METRIC_EPSG})), u.n
            FROM admin_units c
            CROSS JOIN LATERAL (SELECT ST_Union(g.geom) AS cov, count(*) AS n FROM grids g
                                WHERE g.community_code = c.code AND g.status = 'active') u
            WHERE c.code = ANY(:communities) ORDER BY c.code
            """
        ),
        {"communities": communities},
    ).all()
    # Measured as the uncovered part (community minus grids, in lon/lat, then projected): projecting the
    # covered part instead would count chord differences of the extra vertices as gaps.
    return [
        {
            "community_code": code,
            "name": name,
            "area_m2": round(area, 1),
            "covered_m2": round(area - uncovered, 1),
            "uncovered_m2": round(uncovered, 1),
            "share": round((area - uncovered) / area, 6) if area else None,
            "grids": n,
        }
        for code, name, area, uncovered, n in rows
    ]


def _loc(x: float | None, y: float | None) -> list[float] | None:
    return None if x is None or y is None else [round(x, 7), round(y, 7)]
