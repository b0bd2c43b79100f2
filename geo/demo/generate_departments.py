# mypy: disable-error-code="attr-defined,arg-type,index,assignment,return-value,call-overload,str-bytes-safe"
# (the pandas and shapely stubs type row tuples and object arrays of geometries too loosely to check here)
"""Departments' own grids before the merger: differently aligned tessellations, for the crosswalk."""

from __future__ import annotations

import numpy as np
import pandas as pd
import shapely

from geo.demo.generate_partition import Tree
from geo.demo.generate_space import to_plane

# The central city (渭滨, 金台, 陈仓's streets and 高新区), where most departments drew their own grids.
CENTRAL_CITY = shapely.box(107.0, 34.28, 107.45, 34.46)


def build_department_grids(tree: Tree) -> pd.DataFrame:
    """department, code, name, geom (plane): four departments, four different cuts of the same ground."""
    central = shapely.intersection(to_plane(CENTRAL_CITY), tree.city)
    layers = [
        _layer("public_security", "GA", "公安警务网格", _squares(central, 1_500.0, np.radians(20.0))),
        _layer("urban_management", "CG", "城管责任网格", _hexagons(central, 900.0)),
        _layer("emergency", "YJ", "应急管理网格", _hexagons(tree.city, 8_000.0)),
        _civil_affairs(tree),
    ]
    out = pd.concat(layers, ignore_index=True)
    out.insert(0, "id", np.arange(1, len(out) + 1))
    return out


def _layer(department: str, prefix: str, label: str, cells: list[shapely.Geometry]) -> pd.DataFrame:
    codes = [f"{prefix}-{i:04d}" for i in range(1, len(cells) + 1)]
    names = [f"{label}{i}" for i in range(1, len(cells) + 1)]
    return pd.DataFrame({"department": department, "code": codes, "name": names, "geom": cells})


def _clip(cells: np.ndarray, area: shapely.Geometry) -> tuple[list[int], list[shapely.Geometry]]:
    """(indexes, cells) cut to the area, polygonal parts kept; cells left with under 1 % dropped."""
    shapely.prepare(area)
    touching = np.flatnonzero(shapely.intersects(area, cells))
    cut = shapely.intersection(cells[touching], area)
    keep, out = [], []
    for i, part in zip(touching, cut, strict=True):
        polys = [p for p in shapely.get_parts(part) if p.geom_type == "Polygon"]
        if polys and sum(p.area for p in polys) > 0.01 * cells[i].area:
            keep.append(int(i))
            out.append(shapely.multipolygons(polys))
    return keep, out


def _squares(area: shapely.Geometry, size: float, angle: float) -> list[shapely.Geometry]:
    """A square lattice of the given size turned by angle (radians), over the area."""
    minx, miny, maxx, maxy = area.bounds
    cx, cy = (minx + maxx) / 2, (miny + maxy) / 2
    half = np.hypot(maxx - minx, maxy - miny) / 2 + size
    steps = np.arange(-half, half, size)
    u, v = np.meshgrid(steps, steps)
    u, v = u.ravel(), v.ravel()
    corners = np.array([[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]], dtype=float) * size
    cu, cv = u[:, None] + corners[:, 0], v[:, None] + corners[:, 1]
    x = cx + cu * np.cos(angle) - cv * np.sin(angle)
    y = cy + cu * np.sin(angle) + cv * np.cos(angle)
    return _clip(shapely.polygons(np.stack([x, y], axis=2)), area)[1]


def _hexagons(area: shapely.Geometry, width: float) -> list[shapely.Geometry]:
    """Pointy-top hexagons width across the flats, over the area."""
    r = width / np.sqrt(3)
    minx, miny, maxx, maxy = area.bounds
    cols = np.arange(minx - width, maxx + width, width)
    rows = np.arange(miny - 2 * r, maxy + 2 * r, 1.5 * r)
    cx, cy = np.meshgrid(cols, rows)
    cx = cx + np.where(np.arange(len(rows))[:, None] % 2 == 1, width / 2, 0.0)
    cx, cy = cx.ravel(), cy.ravel()
    ang = np.radians(30 + 60 * np.arange(7))
    x = cx[:, None] + r * np.cos(ang)[None, :]
    y = cy[:, None] + r * np.sin(ang)[None, :]
    return _clip(shapely.polygons(np.stack([x, y], axis=2)), area)[1]


def _civil_affairs(tree: Tree) -> pd.DataFrame:
    """民政 kept the village/community layer, but digitised on an older base map: shifted ~75 m."""
    shifted = shapely.transform(tree.communities["geom"].to_numpy(), lambda c: c + np.array([60.0, -45.0]))
    kept, cells = _clip(np.asarray(shifted), tree.city)
    com = tree.communities.iloc[kept].reset_index(drop=True)
    return pd.DataFrame(
        {"department": "civil_affairs", "code": com["code"], "name": com["name"] + "民政网格", "geom": cells}
    )
