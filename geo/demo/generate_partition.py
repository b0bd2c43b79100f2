# mypy: disable-error-code="attr-defined,arg-type,index,assignment,return-value,call-overload,str-bytes-safe"
# (the pandas and shapely stubs type row tuples and object arrays of geometries too loosely to check here)
"""The governance tree: real counties, then generated towns, villages/communities and the 1,537 grids."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import shapely

from geo.demo import real_geography as real
from geo.demo.generate_people import masked_phones, names, short_name
from geo.demo.generate_space import Density, sample_in, to_plane, xy_from_lonlat
from geo.demo.generate_tessellate import partition

GRID_TOTAL = 1_537  # Baoji's integrated grids (全要素网格)
CORE_COUNTIES = ("610302", "610303", "610304")  # the central city's districts
HILL_COUNTIES = ("610327", "610328", "610329", "610330", "610331")  # 陇县 千阳 麟游 凤县 太白
MAX_GRIDS_PER_COMMUNITY = 5
ZONE_CODE = "610300GX"  # 宝鸡高新区 has no statistical code; a non-numeric one cannot clash with a real one


@dataclass
class Tree:
    """Every level as a DataFrame with a `geom` column in plane metres (see generate_space)."""

    city: shapely.Geometry
    counties: pd.DataFrame
    towns: pd.DataFrame
    communities: pd.DataFrame
    grids: pd.DataFrame
    zone: shapely.Geometry


def build_tree(rng: np.random.Generator, density: Density) -> Tree:
    """The whole tree, deterministic given rng."""
    counties = real.load_counties()
    counties = pd.DataFrame(
        {
            "code": counties["code"],
            "name": counties["name"],
            "name_en": counties["name_en"],
            "geom": to_plane(counties.geometry.values),
        }
    )
    city = to_plane(real.load_city())
    towns, communities = real.load_division_names()
    communities = _community_people(communities, towns, rng)
    towns = _town_people(towns, communities)
    towns["geom"] = _split_counties(counties, towns, density, rng)
    communities["geom"] = _split_towns(towns, communities, density, rng)
    grids = _grids(communities, density, rng)
    counties = _sum_people(counties, towns, "code", "county_code")
    counties["urban"] = counties["urban_population"] > 0.5 * counties["population"]
    city = _rebuild_upwards(grids, communities, towns, counties)
    return Tree(city, counties, towns, communities, grids, _zone(counties))


def _rebuild_upwards(grids: pd.DataFrame, communities: pd.DataFrame, towns: pd.DataFrame, counties: pd.DataFrame):
    """Node the whole grid layer, then make every parent exactly the union of its children.

    Each parent was split on its own, so a vertex one child put on a shared outline may be missing from the
    neighbour across it: harmless in lon/lat, where it lies on the line, but once projected to metres the
    two versions of the edge part by centimetres and a long edge shows up as a sliver of tens of m².
    Cleaning the grids as one coverage gives every shared edge the same vertices, and rebuilding the
    levels above from their children carries those vertices up (the real county outlines only gain
    points on their own lines). Returns the city outline.
    """
    grids["geom"] = list(shapely.coverage_clean(grids["geom"].to_numpy(), gap_width=0.0))
    for parents, children, fk in (
        (communities, grids, "community_code"),
        (towns, communities, "town_code"),
        (counties, towns, "county_code"),
    ):
        merged = {code: shapely.coverage_union_all(g["geom"].to_numpy()) for code, g in children.groupby(fk)}
        parents["geom"] = [merged[c] for c in parents["code"]]
    return shapely.coverage_union_all(counties["geom"].to_numpy())


def _community_people(villages: pd.DataFrame, towns: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """Population and households of each village/community, drawn by kind and setting."""
    df = villages.rename(columns={"code12": "code"}).copy()
    df["name"] = df["name"].map(short_name)  # 召光村委会 (the committee) → 召光村 (the place)
    df["county_code"] = df["town_code"].str[:6]
    town_kind = towns.set_index("code9")["kind"]
    core = df["county_code"].isin(CORE_COUNTIES)
    on_street = df["town_code"].map(town_kind).eq("street")
    hill = df["county_code"].isin(HILL_COUNTIES)
    mean = np.select(
        [
            df["kind"].eq("virtual"),
            df["kind"].eq("community") & core & on_street,
            df["kind"].eq("community") & on_street,
            df["kind"].eq("community"),
            hill,
        ],
        [300, 6_500, 4_500, 3_000, 1_300],
        2_200,
    )
    df["urban"] = df["kind"].eq("community")
    df["population"] = np.round(mean * rng.lognormal(-0.08, 0.4, len(df))).astype(int)
    per_household = np.where(df["urban"], rng.uniform(2.5, 2.9, len(df)), rng.uniform(2.9, 3.5, len(df)))
    df["households"] = np.round(df["population"] / per_household).astype(int)
    return df


def _town_people(towns: pd.DataFrame, communities: pd.DataFrame) -> pd.DataFrame:
    df = towns.rename(columns={"code9": "code"}).copy()
    df = _sum_people(df, communities, "code", "town_code")
    df["urban"] = df["kind"].eq("street") | (df["urban_population"] > 0.5 * df["population"])
    return df


def _sum_people(parents: pd.DataFrame, children: pd.DataFrame, key: str, fk: str) -> pd.DataFrame:
    """Parents' population/households (and urban population) as sums over their children."""
    if "urban_population" in children:
        urban_pop = children["urban_population"]
    else:
        urban_pop = children["population"].where(children["urban"], 0)
    sums = (
        pd.DataFrame(
            {
                "population": children["population"],
                "households": children["households"],
                "urban_population": urban_pop,
                fk: children[fk],
            }
        )
        .groupby(fk)
        .sum()
    )
    out = parents.drop(columns=[c for c in sums.columns if c in parents.columns]).merge(
        sums, left_on=key, right_index=True, how="left"
    )
    return out


def _split_counties(
    counties: pd.DataFrame, towns: pd.DataFrame, density: Density, rng: np.random.Generator
) -> list:
    """Town polygons: each county split among its towns by urban and rural people, streets in the centre."""
    geoms: dict[str, shapely.Geometry] = {}
    for county in counties.itertuples():
        mine = towns[towns["county_code"] == county.code].copy()
        rural = mine["population"] - mine["urban_population"]
        # Forest-farm zones (4xx) hold few people but vast forests: count them as populous for the slopes.
        mine["rural"] = np.where(mine["kind"].eq("zone"), 0.08 * rural.sum(), rural)
        # Each town is urban land (a street, or a seat mostly of 社区) or rural land, not a mix: a mixed
        # target makes the transport squeeze a township's villages into a sliver of the town centre.
        urban = mine["kind"].eq("street") | (mine["urban_population"] > 0.5 * mine["population"])
        mine["urban"] = np.where(urban, mine["population"], 0.0)
        mine.loc[urban, "rural"] = 0.0
        mine["rank"] = mine["kind"].map({"street": 0, "town": 1, "township": 1, "zone": 2})
        mine["urban_share"] = mine["urban_population"] / mine["population"]
        mine = mine.sort_values(["rank", "urban_share", "population"], ascending=[True, False, False])
        cells = partition(
            county.geom,
            mine["urban"].to_numpy(float),
            mine["rural"].to_numpy(float),
            density.components,
            rng,
            per_cell=50,
        )
        geoms.update(zip(mine["code"], cells, strict=True))
    return [geoms[c] for c in towns["code"]]


def _split_towns(
    towns: pd.DataFrame, communities: pd.DataFrame, density: Density, rng: np.random.Generator
) -> list:
    """Village/community polygons: communities gather round the town's seat, villages spread around them."""
    geoms: dict[str, shapely.Geometry] = {}
    for town in towns.itertuples():
        mine = communities[communities["town_code"] == town.code]
        mine = mine.assign(rank=mine["kind"].map({"community": 0, "village": 1, "virtual": 2}))
        mine = mine.sort_values(["rank", "population"], ascending=[True, False])
        if len(mine) == 1:
            geoms[mine["code"].iloc[0]] = town.geom
            continue
        urban = mine["population"].where(mine["urban"], 0).to_numpy(float)
        rural = mine["population"].where(~mine["urban"], 0).to_numpy(float)
        cells = partition(town.geom, urban, rural, _with_seat(town.geom, density, rng), rng, per_cell=30)
        geoms.update(zip(mine["code"], cells, strict=True))
    return [geoms[c] for c in communities["code"]]


def _with_seat(town: shapely.Geometry, density: Density, rng: np.random.Generator):
    """The density field plus an urban bump at the town's seat (its densest spot), where the 社区 gather."""
    x, y = sample_in(town, 200, rng)
    d = density(x, y)
    seat = np.array([x[np.argmax(d)], y[np.argmax(d)]])
    peak = 4.0 * float(np.median(d))
    sigma = 0.12 * float(np.sqrt(town.area))

    def field(px, py):
        urban, rural = density.components(px, py)
        bump = peak * np.exp(-((px - seat[0]) ** 2 + (py - seat[1]) ** 2) / (2 * sigma**2))
        return urban + bump, rural

    return field


def grid_counts(population: pd.Series, urban: pd.Series, total: int) -> pd.Series:
    """Grids per village/community: one per village; communities share the rest by population (D'Hondt)."""
    counts = pd.Series(1, index=population.index)
    pop = population.to_numpy(float)
    k = np.ones(len(pop))
    can_split = urban.to_numpy(bool)
    for _ in range(total - len(pop)):
        quotient = np.where(can_split & (k < MAX_GRIDS_PER_COMMUNITY), pop / k, -1.0)
        best = int(np.argmax(quotient))
        if quotient[best] < 0:
            raise ValueError(f"cannot place {total} grids among {len(pop)} communities")
        k[best] += 1
    counts[:] = k.astype(int)
    return counts


def _grids(communities: pd.DataFrame, density: Density, rng: np.random.Generator) -> pd.DataFrame:
    """Grid polygons and people: a village is one grid; a community is split into its share of grids."""
    communities["grids"] = grid_counts(
        communities.set_index("code")["population"], communities.set_index("code")["urban"], GRID_TOTAL
    ).to_numpy()
    rows = []
    for com in communities.itertuples():
        k = int(com.grids)
        even = np.ones(k)
        cells = (
            partition(com.geom, even, even, density.components, rng, per_cell=25, balance=False)
            if k > 1
            else [com.geom]
        )
        cells = _reading_order(cells)
        shares = rng.dirichlet(np.full(k, 20.0)) if k > 1 else np.ones(1)
        pops = _split_int(com.population, shares)
        holds = _split_int(com.households, shares)
        for i, (cell, pop, hold) in enumerate(zip(cells, pops, holds, strict=True), start=1):
            name = f"{com.name}{i}号网格" if k > 1 else f"{com.name}网格"
            rows.append((f"{com.code}{i:03d}", name, com.code, com.town_code, com.county_code, pop, hold, cell))
    grids = pd.DataFrame(
        rows,
        columns=["code", "name", "community_code", "town_code", "county_code", "population", "households", "geom"],
    )
    grids["grid_worker"] = names(rng, len(grids))
    grids["grid_worker_phone"] = masked_phones(rng, len(grids))
    return grids


def _reading_order(cells: list) -> list:
    """Cells numbered west→east within rows, rows north→south (rows as tall as a typical cell)."""
    if len(cells) == 1:
        return cells
    c = shapely.centroid(np.array(cells, dtype=object))
    x, y = shapely.get_x(c), shapely.get_y(c)
    row_height = float(np.sqrt(sum(g.area for g in cells) / len(cells)))
    row = np.floor((y.max() - y) / row_height + 0.5)
    return [cells[i] for i in np.lexsort((x, row))]


def _split_int(total: int, shares: np.ndarray) -> list[int]:
    """total split by shares into integers that add up exactly (largest remainder)."""
    raw = total * shares
    out = np.floor(raw).astype(int)
    out[np.argsort(-(raw - out))[: total - out.sum()]] += 1
    return out.tolist()


def _zone(counties: pd.DataFrame) -> shapely.Geometry:
    """宝鸡高新区: an irregular area east of the centre along the Wei, inside 渭滨 and 陈仓."""
    t = np.linspace(0, 2 * np.pi, 48, endpoint=False)
    radius = 1 + 0.12 * np.sin(3 * t) + 0.07 * np.cos(5 * t)
    cx, cy = xy_from_lonlat(np.array([107.262]), np.array([34.352]))
    ang = np.radians(-8)
    ex, ey = 7_200 * radius * np.cos(t), 2_600 * radius * np.sin(t)
    x = cx[0] + ex * np.cos(ang) - ey * np.sin(ang)
    y = cy[0] + ex * np.sin(ang) + ey * np.cos(ang)
    blob = shapely.Polygon(np.column_stack([x, y]))
    hosts = shapely.union_all(counties.loc[counties["code"].isin(["610302", "610304"]), "geom"].to_numpy())
    return shapely.intersection(blob, hosts)
