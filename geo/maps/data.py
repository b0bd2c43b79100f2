"""What the maps read from PostGIS: grids (with cached display geometry), incident points, outlines, layers."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import shapely
from numpy.typing import NDArray
from sqlalchemy import text
from sqlalchemy.orm import Session

from geo.maps.geometry import simplify_coverage, to_metric, to_wgs84
from geo.scope import Scope
from geo.stats.filters import Window, category_filter
from geo.stats.grids import grid_counts
from geo.stats.periods import range_condition

GRID_TOLERANCE_M = 1.0  # display simplification of grids (the issue: ~1 m)
OUTLINE_TOLERANCE_M = 5.0  # admin outlines are orientation only; the grids carry the exact edges

# Grids (g) under a scope, with c = community and t = town joined (fixed SQL per level; binds :scope_code).
GRID_SCOPE = {
    "city": "TRUE",
    "county": "t.parent_code = :scope_code",
    "town": "c.parent_code = :scope_code",
    "community": "g.community_code = :scope_code",
    "grid": "g.code = :scope_code",
}
GRID_JOIN = "grids g JOIN admin_units c ON c.code = g.community_code JOIN admin_units t ON t.code = c.parent_code"


@dataclass
class GridFrame:
    """The active grids of a scope, in code order: attributes, metric geometry and simplified display geometry."""

    codes: list[str]
    names: list[str]
    community_names: list[str]
    workers: list[str | None]
    households: NDArray[np.float64]  # NaN where unknown
    area_m2: NDArray[np.float64]
    metric: NDArray[np.object_]  # UTM 48N, full detail
    display: NDArray[np.object_]  # WGS84, coverage-simplified to ~1 m
    # Derived once per cached frame by its users (e.g. Gi* contiguity weights), keyed by what they are.
    derived: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def __len__(self) -> int:
        return len(self.codes)


_cache: OrderedDict[tuple, Any] = OrderedDict()
_cache_lock = threading.Lock()
_CACHE_SIZE = 24


def _grid_state(session: Session) -> tuple:
    """Changes whenever any grid is added, edited or retired (so cached display geometry is never stale)."""
    row = session.execute(
        text(
            "SELECT count(*), max(updated_at), sum(version), count(*) FILTER (WHERE status = 'active') FROM grids"
        )
    ).one()
    return tuple(row)


def _cached(session: Session, key: tuple, compute: Callable[[], Any]) -> Any:
    """compute() once per key and database (an LRU of _CACHE_SIZE entries shared by grids and outlines)."""
    key = (str(session.get_bind().engine.url), *key)
    with _cache_lock:
        if key in _cache:
            _cache.move_to_end(key)
            return _cache[key]
    value = compute()
    with _cache_lock:
        _cache[key] = value
        while len(_cache) > _CACHE_SIZE:
            _cache.popitem(last=False)
    return value


def grid_frame(session: Session, scope: Scope) -> GridFrame:
    """The scope's active grids; the display geometry is computed once per grid state and cached."""
    key = ("grids", scope.level, scope.code, _grid_state(session))
    return _cached(session, key, lambda: _load_grid_frame(session, scope))


def _load_grid_frame(session: Session, scope: Scope) -> GridFrame:
    rows = session.execute(
        text(f"""
            SELECT g.code, g.name, c.name AS community_name, g.grid_worker, g.households,
                   ST_AsBinary(g.geom) AS wkb
            FROM {GRID_JOIN}
            WHERE g.status = 'active' AND {GRID_SCOPE[scope.level]}
            ORDER BY g.code
        """),
        scope.params,
    ).all()
    wgs84 = shapely.from_wkb([bytes(r.wkb) for r in rows]) if rows else np.empty(0, dtype=object)
    metric = np.asarray(to_metric(wgs84), dtype=object)
    display = np.asarray(to_wgs84(simplify_coverage(metric, GRID_TOLERANCE_M)), dtype=object)
    return GridFrame(
        codes=[r.code for r in rows],
        names=[r.name for r in rows],
        community_names=[r.community_name for r in rows],
        workers=[r.grid_worker for r in rows],
        households=np.array([np.nan if r.households is None else r.households for r in rows], dtype=float),
        area_m2=shapely.area(metric) if rows else np.empty(0),
        metric=metric,
        display=display,
    )


def incident_lonlat(
    session: Session, scope: Scope, window: Window, categories: list[str] | None
) -> NDArray[np.float64]:
    """(n, 2) lon/lat of the scope's incidents in the window, fetched as one bytea (fast for 100k+)."""
    return incident_lonlat_windows(session, scope, [window], categories)[0]


def incident_lonlat_windows(
    session: Session, scope: Scope, windows: list[Window], categories: list[str] | None
) -> list[NDArray[np.float64]]:
    """The scope's incident lon/lats in each window, all windows in one scan."""
    params: dict[str, Any] = dict(scope.params)
    if categories:
        params["cats"] = categories
    # One bytea of little-endian point WKBs (21 bytes each) per window: string_agg is ~3× faster than ST_Collect.
    columns = []
    for k, w in enumerate(windows):
        params[f"s{k}"], params[f"e{k}"] = w.start_at, w.end_at
        columns.append(
            f"string_agg(ST_AsBinary(i.geom, 'NDR'), ''::bytea) "
            f"FILTER (WHERE i.occurred_at >= :s{k} AND i.occurred_at < :e{k})"
        )
    row = session.execute(
        text(f"""
            SELECT {", ".join(columns)} FROM incidents i
            WHERE {scope.incident_filter()} AND {category_filter(categories)}
              AND {range_condition(windows, params)}
        """),
        params,
    ).one()
    out = []
    for blob in row:
        if blob is None:
            out.append(np.empty((0, 2)))
            continue
        records = np.frombuffer(bytes(blob), dtype=_POINT_WKB)
        out.append(np.column_stack([records["x"], records["y"]]).astype(float))
    return out


_POINT_WKB = np.dtype([("order", "u1"), ("type", "<u4"), ("x", "<f8"), ("y", "<f8")])


def scope_geometry(session: Session, scope: Scope) -> Any:
    """The scope's polygon in WGS84 (the admin unit's, or the grid's)."""
    table = "grids" if scope.level == "grid" else "admin_units"
    wkb = session.execute(
        text(f"SELECT ST_AsBinary(geom) FROM {table} WHERE code = :c"), {"c": scope.code}
    ).scalar_one()
    return shapely.from_wkb(bytes(wkb))


# Admin outlines drawn under a scope's map: the scope's own unit and the levels below it down to communities.
_OUTLINE_LEVELS = {
    "city": ("county", "town"),
    "county": ("county", "town", "community"),
    "town": ("town", "community"),
    "community": ("community",),
    "grid": ("community",),
}


@dataclass(frozen=True)
class Outline:
    code: str
    name: str
    level: str
    display: Any  # WGS84, simplified


class Outlines(list):
    """The outlines of a scope, with room for what is derived from them once (as GridFrame.derived)."""

    derived: dict[str, Any]


def admin_outlines(session: Session, scope: Scope) -> Outlines:
    """Admin boundaries for the scope's map (the base when there are no tiles), each level simplified as a coverage."""
    # Admin units change only when a division is (re)loaded; their stored sizes and names tell when.
    state = session.execute(
        text("SELECT count(*), sum(pg_column_size(geom)), sum(hashtext(code || name)) FROM admin_units")
    ).one()
    key = ("outlines", scope.level, scope.code, tuple(state))
    return _cached(session, key, lambda: _load_outlines(session, scope))


def _load_outlines(session: Session, scope: Scope) -> Outlines:
    root = scope.code[:12] if scope.level == "grid" else scope.code
    rows = session.execute(
        text("""
            WITH RECURSIVE sub AS (
                SELECT code, 0 AS depth FROM admin_units WHERE code = :root
                UNION ALL
                SELECT a.code, s.depth + 1 FROM admin_units a JOIN sub s ON a.parent_code = s.code
                WHERE s.depth < 2
            )
            SELECT a.code, a.name, a.level, ST_AsBinary(a.geom) AS wkb
            FROM sub JOIN admin_units a ON a.code = sub.code
            WHERE a.level = ANY(:levels)
            ORDER BY a.code
        """),
        {"root": root, "levels": list(_OUTLINE_LEVELS[scope.level])},
    ).all()
    out = Outlines()
    out.derived = {}
    for level in _OUTLINE_LEVELS[scope.level]:
        picked = [r for r in rows if r.level == level]
        if not picked:
            continue
        metric = to_metric(shapely.from_wkb([bytes(r.wkb) for r in picked]))
        simple = to_wgs84(simplify_coverage(np.asarray(metric, dtype=object), OUTLINE_TOLERANCE_M))
        out.extend(Outline(r.code, r.name, level, g) for r, g in zip(picked, simple, strict=True))
    return out


def compounds(session: Session, scope: Scope) -> list[Any]:
    """Old compounds in the scope's grids: name, renovation status, households, geometry (WGS84)."""
    return list(
        session.execute(
            text(f"""
            SELECT k.name, k.category, k.renovation_status, k.renovated_year, k.households, k.grid_code,
                   ST_AsBinary(k.geom) AS wkb
            FROM compounds k JOIN {GRID_JOIN} ON g.code = k.grid_code
            WHERE {GRID_SCOPE[scope.level]}
            ORDER BY k.id
        """),
            scope.params,
        ).all()
    )


def patrol_routes(session: Session, scope: Scope) -> list[Any]:
    """Patrol routes of the scope's communities (or crossing the grid): name, officer, shift, mode, line."""
    if scope.level == "grid":
        where = "ST_Intersects(p.geom, (SELECT geom FROM grids WHERE code = :scope_code))"
    else:
        where = {
            "city": "TRUE",
            "county": "t.parent_code = :scope_code",
            "town": "c.parent_code = :scope_code",
            "community": "c.code = :scope_code",
        }[scope.level]
    return list(
        session.execute(
            text(f"""
            SELECT p.name, o.name AS officer, p.shift, p.mode, p.community_code, ST_AsBinary(p.geom) AS wkb
            FROM patrol_routes p
            JOIN officers o ON o.id = p.officer_id
            LEFT JOIN admin_units c ON c.code = p.community_code
            LEFT JOIN admin_units t ON t.code = c.parent_code
            WHERE {where} AND ST_NPoints(p.geom) >= 2
            ORDER BY p.id
        """),
            scope.params,
        ).all()
    )


def grid_count_matrix(
    session: Session, scope: Scope, grids: GridFrame, windows: list[Window], categories: list[str] | None
) -> NDArray[np.float64]:
    """Incidents per grid (frame order) in each window: shape (len(windows), len(grids)), zeros included."""
    counted = grid_counts(session, scope, windows, categories)
    index = {code: i for i, code in enumerate(grids.codes)}
    out = np.zeros((len(windows), len(grids)))
    for code, values in counted.items():
        i = index.get(code)
        if i is not None:  # incidents kept on a since-retired grid are not on today's map
            out[:, i] = values
    return out
