"""What the dashboard's map draws for a scope: its child units (to click into) and its grids, with counts."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import numpy as np
import shapely
from sqlalchemy import text
from sqlalchemy.orm import Session

from geo import vocab
from geo.maps.data import grid_count_matrix, grid_frame
from geo.maps.geometry import for_display, simplify_coverage, to_metric, to_wgs84
from geo.maps.query import map_query
from geo.stats import breakdown

# Child units are outlines to click on; at a coarser level a coarser outline is invisible at its zoom.
CHILD_TOLERANCE_M = {"county": 20.0, "town": 10.0, "community": 5.0}


def _fc(geoms: Any, props: list[dict[str, Any]], gcj02: bool) -> dict[str, Any]:
    texts = shapely.to_geojson(for_display(np.asarray(geoms, dtype=object), gcj02)) if len(props) else []
    return {
        "type": "FeatureCollection",
        "features": [
            {"type": "Feature", "id": p["code"], "geometry": json.loads(t), "properties": p}
            for t, p in zip(texts, props, strict=True)
        ],
    }


def breadcrumb(session: Session, code: str) -> list[dict[str, str]]:
    """The chain city → … → code as [{code, name, level}] (a grid's chain ends with the grid)."""
    chain: list[dict[str, str]] = []
    if len(code) == 15:
        row = session.execute(
            text("SELECT code, name, community_code FROM grids WHERE code = :c"), {"c": code}
        ).first()
        if row is None:
            return chain
        chain.append({"code": row.code, "name": row.name, "level": "grid"})
        code = row.community_code
    rows = session.execute(
        text("""
            WITH RECURSIVE up AS (
                SELECT code, name, level, parent_code, 0 AS depth FROM admin_units WHERE code = :c
                UNION ALL
                SELECT a.code, a.name, a.level, a.parent_code, up.depth + 1
                FROM admin_units a JOIN up ON a.code = up.parent_code WHERE up.depth < 6
            )
            SELECT code, name, level FROM up ORDER BY depth DESC
        """),
        {"c": code},
    ).all()
    return [{"code": r.code, "name": r.name, "level": r.level} for r in rows] + chain[::-1]


def _children(session: Session, q: Any, grids: Any, gcj02: bool) -> tuple[str, dict[str, Any]]:
    """The scope's child units (or its grids, one level above them) with their counts, change and rates."""
    scope = q.scope
    result = breakdown(session, scope.code, q.window.start, q.window.end, None, q.categories)
    level = result.level
    figures = {u.code: u for u in result.units}
    if level == "grid":
        geoms, codes, names = grids.display, grids.codes, grids.names
    else:
        rows = session.execute(
            text(
                "SELECT code, name, ST_AsBinary(geom) AS wkb FROM admin_units WHERE parent_code = :c "
                "AND level = :level ORDER BY code"
            ),
            {"c": scope.code, "level": level},  # not the 高新区 zone: it overlaps counties and has no code
        ).all()
        codes, names = [r.code for r in rows], [r.name for r in rows]
        metric = np.asarray(to_metric(shapely.from_wkb([bytes(r.wkb) for r in rows])), dtype=object)
        geoms = to_wgs84(simplify_coverage(metric, CHILD_TOLERANCE_M.get(level, 5.0))) if rows else []
    props = []
    for code, name in zip(codes, names, strict=True):
        u = figures.get(code)
        props.append(
            {
                "code": code,
                "name": name,
                "level": level,
                "count": u.current if u else 0,
                "previous": u.previous if u else 0,
                "z": u.z_score if u else 0.0,  # descriptive; None when the period has no data
                "p_value": u.p_value if u else None,  # exact two-Poisson test, BH below in p_adjusted
                "p_adjusted": u.p_adjusted if u else None,
                "significant": u.significant if u else False,
                "change_status": u.status if u else "no_data",
                "rate": u.rate_per_1000_households if u else None,
            }
        )
    return level, _fc(geoms, props, gcj02)


def scope_layers(
    session: Session,
    admin_code: str | None,
    start: dt.date | None,
    end: dt.date | None,
    categories: list[str] | str | None = None,
    gcj02: bool = False,
    grid_geometry: bool = True,
) -> dict[str, Any]:
    """The scope, its breadcrumb, its children (with counts, rates, change) and its grids (with counts).

    With grid_geometry=False the grids come as {code: count} only (grid_counts): a client drawing the grids
    from vector tiles needs just the numbers to colour them.
    """
    q = map_query(session, admin_code, start, end, categories)
    scope = q.scope
    grids = grid_frame(session, scope)
    counts = grid_count_matrix(session, scope, grids, [q.window], q.categories)[0]
    grid_props = [
        {"code": c, "name": n, "community": cn, "worker": w, "count": int(k)}
        for c, n, cn, w, k in zip(
            grids.codes, grids.names, grids.community_names, grids.workers, counts, strict=True
        )
    ]
    children: dict[str, Any] = {"type": "FeatureCollection", "features": []}
    level = None
    if scope.level != "grid":
        level, children = _children(session, q, grids, gcj02)
    bounds = shapely.total_bounds(for_display(grids.display, gcj02)) if len(grids) else None
    return {
        "scope": {
            "code": scope.code,
            "name": scope.name,
            "level": scope.level,
            "level_label": list(vocab.ADMIN_LEVELS.get(scope.level, ("网格", "Grid"))),
        },
        "window": {"start": q.window.start.isoformat(), "end": q.window.end.isoformat()},
        "categories": q.categories or list(vocab.INCIDENT_CATEGORIES),
        "breadcrumb": breadcrumb(session, scope.code),
        "child_level": level,
        "children": children,
        "grids": _fc(grids.display, grid_props, gcj02)
        if grid_geometry
        else {"type": "FeatureCollection", "features": []},
        "grid_counts": {p["code"]: p["count"] for p in grid_props},
        "max_grid_count": int(counts.max()) if len(counts) else 0,
        "bounds": None if bounds is None else [float(v) for v in bounds],
        "gcj02": gcj02,
    }
