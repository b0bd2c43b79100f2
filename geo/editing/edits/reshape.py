"""Edits that reshape grids: split one by a line, merge neighbours, move the boundary between two."""

from __future__ import annotations

from typing import Any

import numpy as np
import shapely
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry
from sqlalchemy import text
from sqlalchemy.orm import Session

from geo.crs import METRIC_EPSG
from geo.editing.change import DEFAULT_TOLERANCE_M, Editor, GridChange, Result
from geo.editing.engine import apply_changes
from geo.editing.grid_rows import current_grid
from geo.editing.validate import problem, reject
from geo.errors import GridNotFound, InvalidInput


def split_grid(
    session: Session,
    code: str,
    line: Any,
    *,
    expected_version: int | None,
    editor: Editor,
    reason: str | None = None,
    new_codes: list[str] | None = None,
    names: list[str] | None = None,
    dry_run: bool = False,
    tolerance_m: float = DEFAULT_TOLERANCE_M,
) -> Result:
    """Split a grid by a line: the largest piece keeps the code, the others become new grids."""
    current = current_grid(session, code)
    blade = _line(line, code)
    rows = session.execute(
        text(
            f"""
            SELECT ST_AsBinary(p.geom), ST_Area(ST_Transform(p.geom, {METRIC_EPSG})) AS a,
                   ST_Y(ST_Centroid(p.geom)) AS y, ST_X(ST_Centroid(p.geom)) AS x
            FROM grids g, ST_Dump(ST_Split(g.geom, ST_GeomFromWKB(:line, 4326))) p
            WHERE g.code = :code ORDER BY a DESC
            """
        ),
        {"code": code, "line": blade.wkb},
    ).all()
    if len(rows) < 2:
        raise reject([problem("split", f"the line does not cut grid {code} into pieces", grid_code=code)])
    keep, rest = rows[0], sorted(rows[1:], key=lambda r: (-r.y, r.x))  # new codes run north→south, west→east
    codes = new_codes or _next_codes(session, current["community_code"], len(rest))
    if len(codes) != len(rest):
        raise InvalidInput(
            f"the line makes {len(rest) + 1} pieces: give {len(rest)} new code(s)", field="new_codes"
        )
    names = names or [f"{current['name']}-{i + 2}" for i in range(len(rest))]
    base = {k: current[k] for k in ("community_code", "grid_worker", "grid_worker_phone")}
    changes = [GridChange(code, geom=shapely.from_wkb(keep[0]), expected_version=expected_version)]
    for new_code, name, row in zip(codes, names, rest, strict=False):
        changes.append(
            GridChange(new_code, geom=shapely.from_wkb(row[0]), attrs={**base, "name": name}, create=True)
        )
    return apply_changes(
        session, changes, editor=editor, reason=reason, action="split", dry_run=dry_run, tolerance_m=tolerance_m
    )


def merge_grids(
    session: Session,
    codes: list[str],
    *,
    keep: str | None = None,
    expected_versions: dict[str, int | None] | None = None,
    editor: Editor,
    reason: str | None = None,
    dry_run: bool = False,
    tolerance_m: float = DEFAULT_TOLERANCE_M,
    action: str = "merge",
) -> Result:
    """Merge adjacent grids of one community: keep (default the first code) takes the union, the rest retire."""
    codes = list(dict.fromkeys(codes))
    if len(codes) < 2:
        raise InvalidInput("a merge needs at least two grids", field="codes")
    keep = keep or codes[0]
    if keep not in codes:
        raise InvalidInput(f"the kept grid {keep} is not among {codes}", field="keep")
    versions = expected_versions or {}
    rows = session.execute(
        text("SELECT code, community_code, status FROM grids WHERE code = ANY(:codes)"), {"codes": codes}
    ).all()
    missing = set(codes) - {r.code for r in rows}
    if missing:
        raise GridNotFound(f"no grid {sorted(missing)[0]}", grid_code=sorted(missing)[0])
    problems = [
        problem("status", f"grid {r.code} is retired", grid_code=r.code) for r in rows if r.status != "active"
    ]
    if len({r.community_code for r in rows}) > 1:
        problems.append(problem("community", f"grids {codes} lie in different communities; a grid has one"))
    problems += _unconnected(session, codes, tolerance_m)
    if problems:
        raise reject(problems)
    union = session.execute(
        text("SELECT ST_AsBinary(ST_Multi(ST_UnaryUnion(ST_Collect(geom)))) FROM grids WHERE code = ANY(:codes)"),
        {"codes": codes},
    ).scalar_one()
    changes = [
        GridChange(c, geom=shapely.from_wkb(union), expected_version=versions.get(c))
        if c == keep
        else GridChange(c, status="retired", expected_version=versions.get(c))
        for c in codes
    ]
    return apply_changes(
        session, changes, editor=editor, reason=reason, action=action, dry_run=dry_run, tolerance_m=tolerance_m
    )


def move_boundary(
    session: Session,
    a: str,
    b: str,
    *,
    line: Any = None,
    geometries: dict[str, Any] | None = None,
    expected_versions: dict[str, int | None] | None = None,
    editor: Editor,
    reason: str | None = None,
    dry_run: bool = False,
    tolerance_m: float = DEFAULT_TOLERANCE_M,
) -> Result:
    """Move the boundary between neighbours a and b: along a new line across both, or to two new shapes."""
    versions = expected_versions or {}
    if (line is None) == (geometries is None):
        raise InvalidInput("give either a new boundary line or new geometries for both grids", field="line")
    if geometries is not None:
        if set(geometries) != {a, b}:
            raise InvalidInput(f"geometries must be given for exactly {a} and {b}", field="geometries")
        new = dict(geometries)
    else:
        new = _redraw(session, a, b, _line(line, a))
    changes = [GridChange(c, geom=new[c], expected_version=versions.get(c)) for c in (a, b)]
    return apply_changes(
        session,
        changes,
        editor=editor,
        reason=reason,
        action="move_boundary",
        dry_run=dry_run,
        tolerance_m=tolerance_m,
    )


def _line(value: Any, code: str) -> BaseGeometry:
    """A LineString/MultiLineString from GeoJSON, WKT or shapely, or a problem naming why not."""
    try:
        if isinstance(value, BaseGeometry):
            geom = value
        elif isinstance(value, dict):
            geom = shape(value.get("geometry", value) if value.get("type") == "Feature" else value)
        elif isinstance(value, str) and value.lstrip().startswith("{"):
            geom = shapely.from_geojson(value)
        else:
            geom = shapely.from_wkt(value)
    except Exception as exc:  # malformed input of any kind
        raise reject(
            [problem("geometry", f"the line cannot be read: {exc}", grid_code=code, field="line")]
        ) from exc
    if geom is None or geom.geom_type not in ("LineString", "MultiLineString") or geom.is_empty:
        kind = "empty" if geom is None or geom.is_empty else geom.geom_type
        raise reject(
            [problem("geometry", f"a boundary must be a LineString, got {kind}", grid_code=code, field="line")]
        )
    if not np.isfinite(shapely.get_coordinates(geom)).all():  # GEOS fails on NaN/Infinity deep in PostGIS
        raise reject([problem("geometry", "NaN or Infinity is not a coordinate", grid_code=code, field="line")])
    return shapely.force_2d(geom)


def _redraw(session: Session, a: str, b: str, line: BaseGeometry) -> dict[str, Any]:
    """Cut the union of a and b by the new line; each piece goes to the grid it overlapped most."""
    rows = session.execute(
        text(
            """
            WITH two AS (SELECT code, geom FROM grids WHERE code IN (:a, :b)),
            pieces AS (SELECT (ST_Dump(ST_Split(ST_UnaryUnion(ST_Collect(geom)), ST_GeomFromWKB(:line, 4326)))).geom
                       AS g FROM two)
            SELECT owner.code, ST_AsBinary(ST_Multi(ST_Union(p.g)))
            FROM pieces p CROSS JOIN LATERAL (
                SELECT code FROM two ORDER BY ST_Area(ST_Intersection(two.geom, p.g)) DESC, code LIMIT 1) owner
            GROUP BY owner.code
            """
        ),
        {"a": a, "b": b, "line": line.wkb},
    ).all()
    found = {code: shapely.from_wkb(wkb) for code, wkb in rows}
    for code in (a, b):
        if (
            code not in found
            and not session.execute(text("SELECT 1 FROM grids WHERE code = :c"), {"c": code}).first()
        ):
            raise GridNotFound(f"no grid {code}", grid_code=code)
    if set(found) != {a, b}:
        raise reject(
            [problem("boundary", f"the line must cross grids {a} and {b} from edge to edge", field="line")]
        )
    return found


def _unconnected(session: Session, codes: list[str], tolerance_m: float) -> list[dict[str, Any]]:
    """Grids of a merge that share no boundary (longer than the tolerance) with the others."""
    pairs = session.execute(
        text(
            f"""
            SELECT a.code, b.code FROM grids a JOIN grids b ON a.code < b.code AND a.geom && b.geom
            WHERE a.code = ANY(:codes) AND b.code = ANY(:codes)
              AND ST_Length(ST_Transform(ST_Intersection(ST_Boundary(a.geom), ST_Boundary(b.geom)), {METRIC_EPSG}))
                  > :tol
            """
        ),
        {"codes": codes, "tol": tolerance_m},
    ).all()
    group = {codes[0]}
    grew = True
    while grew:
        grew = False
        for x, y in pairs:
            if (x in group) != (y in group):
                group |= {x, y}
                grew = True
    return [
        problem("adjacency", f"grid {c} shares no boundary with the other grids of the merge", grid_code=c)
        for c in codes
        if c not in group
    ]


def _next_codes(session: Session, community: str, n: int) -> list[str]:
    """The next n free grid codes of a community (its 12 digits + 3), never reusing a past code."""
    last = session.execute(
        text(
            """
            SELECT max(CAST(substr(code, 13, 3) AS int)) FROM (
                SELECT code FROM grids WHERE community_code = :c AND code ~ '^[0-9]{15}$'
                UNION ALL SELECT grid_code FROM grid_versions WHERE community_code = :c AND grid_code ~ '^[0-9]{15}$'
            ) t WHERE code LIKE :prefix
            """
        ),
        {"c": community, "prefix": community + "%"},
    ).scalar_one()
    start = (last or 0) + 1
    if start + n - 1 > 999:
        raise InvalidInput(f"community {community} has no free grid codes left; give new_codes", field="new_codes")
    return [f"{community}{i:03d}" for i in range(start, start + n)]
