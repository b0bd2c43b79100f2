# mypy: disable-error-code="attr-defined,arg-type,index,assignment,return-value,call-overload,str-bytes-safe"
# (the pandas and shapely stubs type row tuples and object arrays of geometries too loosely to check here)
"""Old residential compounds (老旧小区): 656 renovated 三无 compounds and the not yet renovated ones."""

from __future__ import annotations

import numpy as np
import pandas as pd
import shapely

from geo.demo.generate_partition import CORE_COUNTIES, Tree
from geo.demo.generate_space import sample_in

RENOVATED = 656  # 三无小区 renovated in 2019–2020 (the pilot's figure)
NOT_RENOVATED = 364  # old compounds still waiting: 三无 and other
STRADDLE_SHARE = 0.12  # placed across a grid boundary, as real compounds often are
MIN_M2, MAX_M2 = 5_200.0, 48_000.0  # 0.5–5 ha, with a margin for the generation plane's ±1 % scale

_UNITS = (
    "机床厂",
    "石油机械厂",
    "烟厂",
    "纺织厂",
    "桥梁厂",
    "水泥厂",
    "印刷厂",
    "化工厂",
    "热电厂",
    "供销社",
    "粮食局",
    "邮电局",
    "市政公司",
    "第二建筑公司",
    "铁路分局",
    "电力局",
    "长岭机器厂",
    "秦川机械厂",
    "渭河工模具厂",
    "钛材厂",
    "教育局",
    "卫生局",
    "农机公司",
    "运输公司",
    "商业局",
    "棉纺厂",
    "造纸厂",
)
_SUFFIX = ("家属院", "家属区", "生活区", "住宅小区", "职工宿舍")


def build_compounds(tree: Tree, rng: np.random.Generator) -> pd.DataFrame:
    """Compound polygons (plane metres) inside communities, none overlapping, with their attributes."""
    hosts = _hosts(tree)
    rects, host_idx = _place(tree, hosts, RENOVATED + NOT_RENOVATED, rng)
    n = len(rects)
    com = tree.communities.iloc[host_idx].reset_index(drop=True)
    towns = tree.towns.set_index("code")
    counties = tree.counties.set_index("code")
    area_ha = shapely.area(rects) / 10_000
    households = np.maximum(12, np.round(area_ha * rng.uniform(40, 120, n))).astype(int)
    status = np.array(["renovated"] * RENOVATED + ["not_renovated"] * NOT_RENOVATED, dtype=object)
    rng.shuffle(status)
    renovated = status == "renovated"
    waiting = np.flatnonzero(~renovated)
    category = np.where(renovated, "three_no", "other").astype(object)
    kind = rng.random(len(waiting))
    category[waiting[kind < 0.65]] = "three_no"
    status[waiting[kind < 0.10]] = "in_progress"  # 三无 compounds whose works have started
    flags = np.where(renovated[:, None], [0.92, 0.88, 0.85], [0.15, 0.10, 0.12])
    has = rng.random((n, 3)) < flags
    unit = rng.choice(len(_UNITS), n)
    suffix = rng.choice(len(_SUFFIX), n)
    df = pd.DataFrame(
        {
            "id": np.arange(1, n + 1),
            "external_id": [f"BJ-LJXQ-{i:04d}" for i in range(1, n + 1)],
            "name": [f"{_UNITS[u]}{_SUFFIX[s]}" for u, s in zip(unit, suffix, strict=True)],
            "address": [
                f"宝鸡市{counties.at[c.county_code, 'name']}{towns.at[c.town_code, 'name']}{c.name}"
                for c in com.itertuples()
            ],
            "buildings": np.maximum(1, np.round(households / rng.uniform(18, 36, n))).astype(int),
            "households": households,
            "built_year": rng.integers(1972, 2001, n),
            "category": category,
            "renovation_status": status,
            "renovated_year": np.where(renovated, rng.choice([2019, 2020], n, p=[0.45, 0.55]), None),
            "party_group": has[:, 0],
            "self_management_group": has[:, 1],
            "residents_council": has[:, 2],
            "community_code": com["code"].to_numpy(),
            "geom": rects,
        }
    )
    # Same name in the same community reads as one compound: number the repeats.
    repeat = df.groupby(["community_code", "name"]).cumcount()
    df.loc[repeat > 0, "name"] = df["name"] + (repeat + 1).astype(str) + "号院"
    return df


def _hosts(tree: Tree) -> pd.DataFrame:
    """Communities that may host compounds, weighted: the central city's 社区 first, villages rarely."""
    com = tree.communities
    weight = np.where(com["urban"], np.where(com["county_code"].isin(CORE_COUNTIES), 6.0, 2.0), 0.03)
    weight = weight * com["population"].to_numpy(float)
    return pd.DataFrame({"idx": np.arange(len(com)), "weight": weight / weight.sum()})


def _place(tree: Tree, hosts: pd.DataFrame, total: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Non-overlapping rectangles inside their host communities; some centred on an internal grid edge."""
    geoms = tree.communities["geom"].to_numpy()
    codes = tree.communities["code"].to_numpy()
    edges = _internal_edges(tree)
    pools: dict[int, np.ndarray] = {}
    kept: list[shapely.Geometry] = []
    kept_host: list[int] = []
    for _ in range(40):
        need = total - len(kept)
        if need <= 0:
            break
        m = int(need * 1.5) + 20
        host = rng.choice(hosts["idx"].to_numpy(), m, p=hosts["weight"].to_numpy())
        centres = np.array([_centre(i, codes[i], geoms[i], edges, pools, rng) for i in host])
        rects = _rectangles(centres, rng)
        ok = shapely.within(rects, geoms[host])
        if kept:
            hit = shapely.STRtree(np.array(kept)).query(rects, predicate="intersects")[0]
            ok[hit] = False
        rects, host = rects[ok], host[ok]
        # Resolve overlaps inside the batch greedily: the earlier rectangle wins.
        a, b = shapely.STRtree(rects).query(rects, predicate="intersects")
        drop: set[int] = set()
        for i, j in zip(a, b, strict=True):
            if i < j and i not in drop:
                drop.add(int(j))
        keep = np.array([i for i in range(len(rects)) if i not in drop], dtype=int)[:need]
        kept += list(rects[keep])
        kept_host += list(host[keep])
    if len(kept) < total:
        raise RuntimeError(f"placed only {len(kept)} of {total} compounds")
    order = np.lexsort((np.arange(total), tree.communities["code"].to_numpy()[kept_host]))
    return np.array(kept, dtype=object)[order], np.array(kept_host)[order]


def _internal_edges(tree: Tree) -> dict[str, shapely.Geometry]:
    """For each community split into several grids: the lines between its grids."""
    out = {}
    for code, group in tree.grids.groupby("community_code"):
        if len(group) > 1:
            lines = shapely.union_all(shapely.boundary(group["geom"].to_numpy()))
            com = tree.communities.loc[tree.communities["code"] == code, "geom"].iloc[0]
            inner = shapely.difference(lines, shapely.buffer(com.boundary, 1.0))
            if inner.length > 0:
                out[code] = inner
    return out


def _centre(
    i: int, code: str, geom: shapely.Geometry, edges: dict, pools: dict[int, np.ndarray], rng: np.random.Generator
) -> tuple[float, float]:
    """A centre inside community i: on an internal grid edge for a share of compounds, else anywhere."""
    if code in edges and rng.random() < STRADDLE_SHARE:
        p = shapely.line_interpolate_point(edges[code], rng.random(), normalized=True)
        return p.x, p.y
    if i not in pools:
        x, y = sample_in(geom, 80, rng)
        pools[i] = np.column_stack([x, y])
    pool = pools[i]
    return tuple(pool[rng.integers(len(pool))])


def _rectangles(centres: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Rotated rectangles of 0.5–5 ha (log-uniform) and aspect 1–2.2 around the centres."""
    m = len(centres)
    area = np.exp(rng.uniform(np.log(MIN_M2), np.log(MAX_M2), m))
    aspect = rng.uniform(1.0, 2.2, m)
    w, h = np.sqrt(area * aspect), np.sqrt(area / aspect)
    ang = rng.uniform(0, np.pi / 2, m)
    corners = np.array([[-0.5, -0.5], [0.5, -0.5], [0.5, 0.5], [-0.5, 0.5], [-0.5, -0.5]])
    local = corners[None, :, :] * np.stack([w, h], axis=1)[:, None, :]
    cos, sin = np.cos(ang)[:, None], np.sin(ang)[:, None]
    x = centres[:, 0:1] + local[:, :, 0] * cos - local[:, :, 1] * sin
    y = centres[:, 1:2] + local[:, :, 0] * sin + local[:, :, 1] * cos
    return shapely.polygons(np.stack([x, y], axis=2))
