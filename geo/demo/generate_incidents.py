# mypy: disable-error-code="attr-defined,arg-type,index,assignment,return-value,call-overload,str-bytes-safe"
# (the pandas and shapely stubs type row tuples and object arrays of geometries too loosely to check here)
"""Two years of incidents (2019, 2020) whose counts, recomputed from the database, give the pilot's figures."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

import numpy as np
import pandas as pd
import shapely
from numpy.typing import NDArray

from geo.demo import targets
from geo.demo.generate_partition import CORE_COUNTIES, Tree
from geo.demo.generate_places import Hotspots, addresses
from geo.demo.generate_space import sample_in
from geo.demo.generate_timing import lifecycle, occurrence_times

YEARS = (2019, 2020)
CRIMINAL = ("preventable", "property")
VOLUME_2019 = {"preventable": 14_000, "property": 16_000, "hazard": 2_900, "service": 58_000, "other": 24_000}
VOLUME_2020 = {"hazard": targets.HAZARDS_2020, "service": 52_000, "other": 21_000}
# Disputes per year: (logged, resolved) in Feng county and in the rest of the city.
DISPUTES = {
    2019: ((2_750, 2_560), (1_400, 1_250)),
    2020: (
        (targets.FENG_DISPUTES_2020, targets.FENG_DISPUTES_RESOLVED_2020),
        (1_190, targets.CITY_DISPUTES_RESOLVED_2020 - targets.FENG_DISPUTES_RESOLVED_2020),
    ),
}
# Criminal incidents inside an old compound of 150 households in 2019, and 2020's multiplier by status:
# renovation (lights, gates, cameras, a property service) is what the pilot credits for the fall.
COMPOUND_RATE = {"preventable": 2.2, "property": 1.8}
COMPOUND_2020 = {"renovated": 0.3, "in_progress": 0.6, "not_renovated": 0.85}
OUTSIDE = 12  # a handful of reports from just beyond the city line, to exercise the outside path
SUBCATEGORIES = {
    "preventable": ["入室盗窃", "盗窃电动车", "盗窃车内财物", "扒窃", "盗窃自行车"],
    "property": ["电信网络诈骗", "诈骗", "盗窃", "抢夺", "敲诈勒索", "抢劫"],
    "dispute": ["邻里纠纷", "婚姻家庭纠纷", "物业纠纷", "劳资纠纷", "土地纠纷", "征地拆迁纠纷"],
    "hazard": ["消防隐患", "燃气隐患", "电动车违规充电", "危房", "地质灾害隐患", "道路交通隐患"],
    "service": ["环境卫生", "市政设施", "噪音扰民", "供暖供水", "政策咨询", "证照办理"],
    "other": ["治安巡查", "重点人员走访", "矛盾排查", "其他"],
}


def count_2020(n2019: int, percent: float) -> int:
    """The 2020 count whose change from n2019, rounded half-up to 0.1 % as SQL's round() does, is percent."""
    n = round(n2019 * (1 + percent / 100))
    got = (Decimal(100 * (n - n2019)) / Decimal(n2019)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
    if float(got) != percent:
        raise ValueError(f"no 2020 count gives {percent} % from {n2019}")
    return n


def volumes() -> dict[tuple[str, int], int]:
    """Incidents per (category, year), disputes excepted."""
    out = {(c, 2019): n for c, n in VOLUME_2019.items()}
    out.update({(c, 2020): n for c, n in VOLUME_2020.items()})
    out[("preventable", 2020)] = count_2020(VOLUME_2019["preventable"], targets.PREVENTABLE_CHANGE_PCT)
    out[("property", 2020)] = count_2020(VOLUME_2019["property"], targets.PROPERTY_CHANGE_PCT)
    return out


def build_incidents(
    tree: Tree, compounds: pd.DataFrame, spots: Hotspots, rng: np.random.Generator
) -> pd.DataFrame:
    """All incidents as plane x, y with category, times, statuses and their grid (index) or outside flag."""
    grids = tree.grids
    com_of_grid = pd.Index(tree.communities["code"]).get_indexer(grids["community_code"])
    weights = _grid_weights(tree, spots)
    inside = _compound_incidents(compounds, rng)
    plan = _background_plan(tree, weights, com_of_grid, inside, compounds, rng)
    per_grid = np.zeros(len(grids), dtype=np.int64)
    np.add.at(per_grid, plan["grid"], 1)
    addr = addresses(tree, compounds, spots, np.clip(per_grid // 2, 12, 2_500), rng)
    picked = _pick_addresses(plan, addr, rng)
    bg = plan.assign(x=addr.x[picked], y=addr.y[picked], address=picked, compound_id=addr.compound[picked])
    rows = pd.concat([bg, _place_in_compounds(inside, compounds, grids, rng)], ignore_index=True)
    rows = _times_and_statuses(rows, tree, rng)
    rows = pd.concat([rows, _outside(tree, rng)], ignore_index=True)
    rows["subcategory"] = None
    for cat, names in SUBCATEGORIES.items():
        mine = rows["category"].to_numpy() == cat
        rows.loc[mine, "subcategory"] = np.array(names, dtype=object)[rng.integers(0, len(names), mine.sum())]
    return rows.sort_values("occurred_at", kind="stable", ignore_index=True)


def _grid_weights(tree: Tree, spots: Hotspots) -> dict[str, NDArray[np.float64]]:
    """Relative incident intensity of each grid by kind of incident."""
    g = tree.grids
    geoms = g["geom"].to_numpy()
    c = shapely.centroid(geoms)
    area = shapely.area(geoms)
    hot = spots.kernel(shapely.get_x(c), shapely.get_y(c), np.sqrt(area / np.pi))
    urban = g["community_code"].map(tree.communities.set_index("code")["urban"]).to_numpy(bool)
    core = g["county_code"].isin(CORE_COUNTIES).to_numpy()
    pop = g["population"].to_numpy(float)
    return {
        "crime": pop * np.where(urban, 2.5, 1.0) * np.where(core, 1.5, 1.0) * (1 + hot),
        "service": pop * np.where(urban, 1.5, 1.0) * (1 + 0.3 * hot),
        "other": pop * (1 + 0.3 * hot),
        "dispute": pop,
        "hazard": pop + 40.0 * area / 1e6,  # mountains: landslides and floods scale with land
    }


def _compound_incidents(compounds: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """Criminal incident counts inside each compound, by category and year (rows: one per incident)."""
    size = (compounds["households"].to_numpy(float) / 150.0) ** 0.6
    factor = compounds["renovation_status"].map(COMPOUND_2020).to_numpy(float)
    parts = []
    for cat, rate in COMPOUND_RATE.items():
        for year in YEARS:
            lam = rate * size * (factor if year == 2020 else 1.0)
            n = rng.poisson(lam)
            parts.append(
                pd.DataFrame({"category": cat, "year": year, "compound": np.repeat(np.arange(len(n)), n)})
            )
    return pd.concat(parts, ignore_index=True)


def _background_plan(
    tree: Tree,
    weights: dict[str, NDArray[np.float64]],
    com_of_grid: NDArray[np.intp],
    inside: pd.DataFrame,
    compounds: pd.DataFrame,
    rng: np.random.Generator,
) -> pd.DataFrame:
    """(category, year, grid) for every incident outside the compounds, meeting the exact totals."""
    n_grid = len(tree.grids)
    parts: list[pd.DataFrame] = []

    def add(category: str, year: int, grid_counts: NDArray[np.int64]) -> None:
        grid = np.repeat(np.arange(n_grid), grid_counts)
        parts.append(pd.DataFrame({"category": category, "year": year, "grid": grid}))

    def spread(n: int, w: NDArray[np.float64]) -> NDArray[np.int64]:
        return rng.multinomial(n, w / w.sum())

    totals = volumes()
    in_compounds = inside.groupby(["category", "year"]).size()
    for cat in CRIMINAL:
        add(cat, 2019, spread(totals[(cat, 2019)] - int(in_compounds.get((cat, 2019), 0)), weights["crime"]))
    zero = _zero_communities(tree, weights["crime"], com_of_grid, compounds, rng)
    allowed = ~np.isin(com_of_grid, zero)
    # Every community outside the zero set needs one criminal incident in 2020; compounds may supply it.
    supplied = set(compounds["community_code"].to_numpy()[inside.loc[inside["year"] == 2020, "compound"]])
    codes = tree.communities["code"].to_numpy()
    needy = [i for i in np.unique(com_of_grid[allowed]) if codes[i] not in supplied]
    left = {c: totals[(c, 2020)] - int(in_compounds.get((c, 2020), 0)) for c in CRIMINAL}
    first_cat = rng.choice(len(CRIMINAL), len(needy), p=np.array([left[c] for c in CRIMINAL]) / sum(left.values()))
    for k, cat in enumerate(CRIMINAL):
        counts = np.zeros(n_grid, dtype=np.int64)
        for com in np.array(needy)[first_cat == k]:
            mine = np.flatnonzero(com_of_grid == com)
            counts[rng.choice(mine, p=weights["crime"][mine] / weights["crime"][mine].sum())] += 1
        rest = left[cat] - int(counts.sum())
        add(cat, 2020, counts + spread(rest, weights["crime"] * allowed))
    feng = tree.grids["county_code"].eq(targets.FENG_CODE).to_numpy()
    for year in YEARS:
        (feng_n, _), (rest_n, _) = DISPUTES[year]
        add(
            "dispute", year, spread(feng_n, weights["dispute"] * feng) + spread(rest_n, weights["dispute"] * ~feng)
        )
        for cat in ("hazard", "service", "other"):
            add(cat, year, spread(totals[(cat, year)], weights[cat]))
    return pd.concat(parts, ignore_index=True)


def _zero_communities(
    tree: Tree,
    crime_w: NDArray[np.float64],
    com_of_grid: NDArray[np.intp],
    compounds: pd.DataFrame,
    rng: np.random.Generator,
) -> NDArray[np.intp]:
    """The villages/communities with no criminal incident in 2020: the quietest, with chance, none hosting a compound."""
    n = len(tree.communities)
    score = np.bincount(com_of_grid, crime_w, n) * rng.lognormal(0.0, 0.7, n)
    hosts = tree.communities["code"].isin(compounds["community_code"]).to_numpy()
    score[hosts] = np.inf
    return np.argsort(score, kind="stable")[: targets.ZERO_CRIME_COMMUNITIES_2020]


def _pick_addresses(plan: pd.DataFrame, addr, rng: np.random.Generator) -> NDArray[np.int64]:
    """An address for each planned incident, from its grid's pool: crimes avoid compounds and favour hot spots."""
    picked = np.empty(len(plan), dtype=np.int64)
    crime = plan["category"].isin(CRIMINAL).to_numpy()
    order = np.argsort(plan["grid"].to_numpy(), kind="stable")
    bounds = np.searchsorted(plan["grid"].to_numpy()[order], np.arange(len(addr.start)))
    for g in range(len(addr.start) - 1):
        rows = order[bounds[g] : bounds[g + 1]]
        if len(rows) == 0:
            continue
        pool = np.arange(addr.start[g], addr.start[g + 1])
        for mask, weight in ((crime[rows], addr.crime_weight), (~crime[rows], addr.mild_weight)):
            if not mask.any():
                continue
            choices = pool[addr.compound[pool] == 0] if weight is addr.crime_weight else pool
            if len(choices) == 0:
                choices = pool
            w = weight[choices]
            picked[rows[mask]] = rng.choice(choices, int(mask.sum()), p=w / w.sum())
    return picked


def _place_in_compounds(inside: pd.DataFrame, compounds: pd.DataFrame, grids: pd.DataFrame, rng) -> pd.DataFrame:
    """Uniform points inside the compounds' rectangles, each assigned to the lowest-code grid covering it."""
    rect = shapely.get_coordinates(compounds["geom"].to_numpy()).reshape(len(compounds), 5, 2)
    k = inside["compound"].to_numpy()
    u, v = rng.random(len(k)), rng.random(len(k))
    p = rect[k, 0] + u[:, None] * (rect[k, 1] - rect[k, 0]) + v[:, None] * (rect[k, 3] - rect[k, 0])
    pt_idx, grid_idx = shapely.STRtree(grids["geom"].to_numpy()).query(shapely.points(p), predicate="covered_by")
    hits = pd.DataFrame({"pt": pt_idx, "grid": grid_idx, "code": grids["code"].to_numpy()[grid_idx]})
    first = hits.sort_values(["pt", "code"]).drop_duplicates("pt").set_index("pt")["grid"]
    return pd.DataFrame(
        {
            "category": inside["category"],
            "year": inside["year"],
            "grid": first.reindex(np.arange(len(k))).to_numpy(),
            "x": p[:, 0],
            "y": p[:, 1],
            "address": -(k + 1),
            "compound_id": compounds["id"].to_numpy()[k],
        }
    )


def _times_and_statuses(rows: pd.DataFrame, tree: Tree, rng: np.random.Generator) -> pd.DataFrame:
    """occurred_at and the handling columns, group by group; disputes resolved in exactly the planned numbers."""
    out = []
    feng = tree.grids["county_code"].eq(targets.FENG_CODE).to_numpy()
    for (cat, year), group in rows.groupby(["category", "year"], sort=True):
        group = group.copy()
        occurred = occurrence_times(cat, year, group["address"].to_numpy(), rng)
        resolved = None
        if cat == "dispute":
            resolved = np.zeros(len(group), dtype=bool)
            in_feng = feng[group["grid"].to_numpy()]
            for mask, (_, k) in zip((in_feng, ~in_feng), DISPUTES[year], strict=True):
                idx = np.flatnonzero(mask)
                resolved[rng.choice(idx, k, replace=False)] = True
        group["occurred_at"] = occurred
        for col, values in lifecycle(cat, occurred, rng, resolved).items():
            group[col] = values
        out.append(group)
    return pd.concat(out, ignore_index=True)


def _outside(tree: Tree, rng: np.random.Generator) -> pd.DataFrame:
    """A few reports from within 8 km beyond the city line: no grid, flagged outside the jurisdiction."""
    ring = shapely.difference(shapely.buffer(tree.city, 8_000), tree.city)
    x, y = sample_in(ring, 20 * OUTSIDE, rng)
    pick = rng.choice(len(x), OUTSIDE, replace=False)
    category = rng.choice(["service", "other"], OUTSIDE)
    year = rng.choice(YEARS, OUTSIDE)
    parts = []
    for i in range(OUTSIDE):
        occurred = occurrence_times(category[i], int(year[i]), np.array([i]), rng)
        life = lifecycle(category[i], occurred, rng)
        parts.append(
            {
                "category": category[i],
                "year": int(year[i]),
                "grid": -1,
                "x": x[pick[i]],
                "y": y[pick[i]],
                "address": -1,
                "compound_id": 0,
                "occurred_at": occurred[0],
                **{k: v[0] for k, v in life.items()},
            }
        )
    return pd.DataFrame(parts)
