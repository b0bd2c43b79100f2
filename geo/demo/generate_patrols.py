# mypy: disable-error-code="attr-defined,arg-type,index,assignment,return-value,call-overload,str-bytes-safe"
# (the pandas and shapely stubs type row tuples and object arrays of geometries too loosely to check here)
"""The 167 community police officers (社区民警) and their patrol routes through their communities' hot spots."""

from __future__ import annotations

import numpy as np
import pandas as pd
import shapely

from geo.demo.generate_partition import CORE_COUNTIES, Tree
from geo.demo.generate_people import masked_phones, names, short_name
from geo.demo.generate_places import Hotspots
from geo.demo.generate_space import lonlat_from_xy, sample_in

OFFICERS = 167
RURAL_OFFICERS = 17  # the rest serve urban communities (社区)
SHIFT_LABELS = {"morning": "早班", "day": "白班", "evening": "晚班", "night": "夜班"}


def build_patrols(
    tree: Tree, compounds: pd.DataFrame, spots: Hotspots, rng: np.random.Generator
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(officers, routes): one officer per chosen community; routes as plane LineStrings with planned stops."""
    com = tree.communities
    weight = com["population"].to_numpy(float) * np.where(com["county_code"].isin(CORE_COUNTIES), 2.0, 1.0)
    urban = com["urban"].to_numpy(bool)
    urban_pick = _weighted_sample(np.flatnonzero(urban), weight, OFFICERS - RURAL_OFFICERS, rng)
    rural_pick = _weighted_sample(
        np.flatnonzero(~urban & com["kind"].eq("village").to_numpy()), weight, RURAL_OFFICERS, rng
    )
    chosen = np.sort(np.r_[urban_pick, rural_pick])
    officers = pd.DataFrame(
        {
            "id": np.arange(1, OFFICERS + 1),
            "badge": [f"BJ{c[:6]}{i:04d}" for i, c in enumerate(com["code"].to_numpy()[chosen], start=1)],
            "name": names(rng, OFFICERS),
            "community_code": com["code"].to_numpy()[chosen],
            "phone": masked_phones(rng, OFFICERS),
        }
    )
    routes = []
    for officer, i in zip(officers.itertuples(), chosen, strict=True):
        c = com.iloc[i]
        shifts = ["day", "night"] if c["urban"] else ["day"]
        if rng.random() < 0.3:
            shifts.append(rng.choice(["morning", "evening"]))
        for shift in shifts:
            routes.append(_route(officer.id, c, shift, compounds, spots, rng))
    out = pd.DataFrame(routes)
    out.insert(0, "id", np.arange(1, len(out) + 1))
    return officers, out


def _weighted_sample(pool: np.ndarray, weight: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    w = weight[pool]
    return rng.choice(pool, k, replace=False, p=w / w.sum())


def _route(officer_id: int, com: pd.Series, shift: str, compounds: pd.DataFrame, spots: Hotspots, rng) -> dict:
    """A loop from the community police office through 3–6 stops (nearest first), 10–15 minutes at each."""
    geom = com["geom"]
    shapely.prepare(geom)
    candidates: list[tuple[str, str, float, float]] = []
    mine = compounds[compounds["community_code"] == com["code"]]
    for c in mine.itertuples():
        p = shapely.point_on_surface(c.geom)
        candidates.append((c.name, "compound", p.x, p.y))
    inside = shapely.contains_xy(geom, spots.x, spots.y)
    for h in np.flatnonzero(inside):
        if spots.kind[h] != "compound":  # compounds are already candidates, under their own names
            candidates.append((spots.label[h], spots.kind[h], float(spots.x[h]), float(spots.y[h])))
    x, y = sample_in(geom, 12, rng)
    short = short_name(com["name"])
    for j in range(min(len(x), 6)):
        candidates.append((f"{short}巡逻点{j + 1}", "patrol_point", float(x[j]), float(y[j])))
    count = int(rng.integers(3, 7))
    if shift == "night":  # nights favour the hot spots and compounds, where burglaries happen
        candidates.sort(key=lambda s: s[1] == "patrol_point")
        pick = candidates[: max(count, 1)]
    else:
        order = rng.permutation(len(candidates))
        pick = [candidates[k] for k in order[:count]]
    office = shapely.point_on_surface(geom)
    near = shapely.buffer(geom, 150.0)
    while True:  # drop the farthest stop until the loop stays within 150 m of the community
        stops = _nearest_tour((office.x, office.y), pick)
        coords = [(office.x, office.y)] + [(s[2], s[3]) for s in stops] + [(office.x, office.y)]
        if len(pick) == 1 or shapely.covers(near, shapely.LineString(coords)):
            break
        pick = sorted(pick, key=lambda s: np.hypot(s[2] - office.x, s[3] - office.y))[:-1]
    lon, lat = lonlat_from_xy(np.array([s[2] for s in stops]), np.array([s[3] for s in stops]))
    planned = [
        {
            "name": s[0],
            "lon": round(float(lo), 6),
            "lat": round(float(la), 6),
            "dwell_minutes": int(rng.integers(10, 16)),
            "kind": s[1],
        }
        for s, lo, la in zip(stops, lon, lat, strict=True)
    ]
    return {
        "name": f"{short}{SHIFT_LABELS[shift]}巡逻路线",
        "officer_id": officer_id,
        "community_code": com["code"],
        "shift": shift,
        "mode": "walk" if com["urban"] else "drive",
        "planned_stops": planned,
        "geom": shapely.LineString(coords),
    }


def _nearest_tour(start: tuple[float, float], stops: list) -> list:
    """Visit order by repeatedly going to the nearest unvisited stop."""
    left = list(stops)
    here = np.array(start)
    out = []
    while left:
        d = [np.hypot(s[2] - here[0], s[3] - here[1]) for s in left]
        nxt = left.pop(int(np.argmin(d)))
        out.append(nxt)
        here = np.array([nxt[2], nxt[3]])
    return out
