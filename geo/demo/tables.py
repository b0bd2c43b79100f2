# mypy: disable-error-code="attr-defined,arg-type,index,assignment,return-value,call-overload,str-bytes-safe"
# (the pandas and shapely stubs type row tuples and object arrays of geometries too loosely to check here)
"""The generated demo as database rows: lon/lat geometries as hex EWKB, columns named as in geo.models."""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np
import pandas as pd
import shapely

from geo.demo.generate_partition import ZONE_CODE, Tree
from geo.demo.generate_space import lonlat_from_xy, to_lonlat
from geo.scope import CITY_CODE

SRID = 4326
GRIDS_VALID_FROM = "2019-01-01 00:00:00+08"  # the integrated grids went live with the pilot


@dataclass
class DemoTables:
    """One DataFrame per table, in load order (parents before children)."""

    frames: dict[str, pd.DataFrame]

    def counts(self) -> dict[str, int]:
        return {name: len(frame) for name, frame in self.frames.items()}


def ewkb(geoms: np.ndarray, multi: bool = False) -> np.ndarray:
    """Plane-metre geometries → lon/lat hex EWKB (SRID 4326); multi wraps polygons as MultiPolygons."""
    out = to_lonlat(np.asarray(geoms, dtype=object))
    if multi:
        single = shapely.get_type_id(out) == shapely.GeometryType.POLYGON
        out[single] = [shapely.multipolygons([g]) for g in out[single]]
    return shapely.to_wkb(shapely.set_srid(out, SRID), hex=True, include_srid=True)


def admin_units(tree: Tree) -> pd.DataFrame:
    """City, counties (real outlines), towns and villages/communities (generated) and 宝鸡高新区.

    Long but flat: one frame per level, read top to bottom like the table it fills.
    """
    c, t, v = tree.counties, tree.towns, tree.communities
    city_pop, city_hh = int(c["population"].sum()), int(c["households"].sum())
    city_urban = bool(c["urban_population"].sum() > 0.5 * city_pop)
    rows = [
        pd.DataFrame(
            {
                "code": [CITY_CODE],
                "name": ["宝鸡市"],
                "name_en": ["Baoji"],
                "level": "city",
                "parent_code": [None],
                "urban": city_urban,
                "households": city_hh,
                "population": city_pop,
                "synthetic": False,
                "geom": [tree.city],
            }
        ),
        pd.DataFrame(
            {
                "code": c["code"],
                "name": c["name"],
                "name_en": c["name_en"],
                "level": "county",
                "parent_code": CITY_CODE,
                "urban": c["urban"],
                "households": c["households"],
                "population": c["population"],
                "synthetic": False,
                "geom": c["geom"],
            }
        ),
        pd.DataFrame(
            {
                "code": t["code"],
                "name": t["name"],
                "name_en": None,
                "level": "town",
                "parent_code": t["county_code"],
                "urban": t["urban"],
                "households": t["households"],
                "population": t["population"],
                "synthetic": True,
                "geom": t["geom"],
            }
        ),
        pd.DataFrame(
            {
                "code": v["code"],
                "name": v["name"],
                "name_en": None,
                "level": "community",
                "parent_code": v["town_code"],
                "urban": v["urban"],
                "households": v["households"],
                "population": v["population"],
                "synthetic": True,
                "geom": v["geom"],
            }
        ),
        pd.DataFrame(
            {
                "code": [ZONE_CODE],
                "name": ["宝鸡高新技术产业开发区"],
                "name_en": ["Baoji Hi-tech Industrial Development Zone"],
                "level": "zone",
                "parent_code": [CITY_CODE],
                "urban": True,
                "households": None,
                "population": None,
                "synthetic": True,
                "geom": [tree.zone],
            }
        ),
    ]
    df = pd.concat(rows, ignore_index=True)
    df["households"] = df["households"].astype("Int64")
    df["population"] = df["population"].astype("Int64")
    df["geom"] = ewkb(df["geom"].to_numpy(), multi=True)
    return df


def grids(tree: Tree) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(grids, grid_versions): every grid active at version 1, valid since the pilot began."""
    g = tree.grids
    geom = ewkb(g["geom"].to_numpy(), multi=True)
    cols = ["code", "name", "community_code", "grid_worker", "grid_worker_phone", "households", "population"]
    current = g[cols].assign(status="active", version=1, synthetic=True, geom=geom)
    versions = pd.DataFrame(
        {
            "grid_code": g["code"],
            "version": 1,
            "name": g["name"],
            "community_code": g["community_code"],
            "grid_worker": g["grid_worker"],
            "households": g["households"],
            "population": g["population"],
            "status": "active",
            "geom": geom,
            "valid_from": GRIDS_VALID_FROM,
            "editor": "citygrid demo",
            "reason": "试点网格初始划分 initial grids of the pilot (demo)",
        }
    )
    return current, versions


def department_grids(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.assign(synthetic=True, geom=ewkb(frame["geom"].to_numpy(), multi=True))


def compounds(frame: pd.DataFrame) -> pd.DataFrame:
    """Compounds without their grid yet: geo.assignment gives grid_code/grid_shares in the database."""
    out = frame.assign(synthetic=True, geom=ewkb(frame["geom"].to_numpy()))
    out["renovated_year"] = out["renovated_year"].astype("Int64")
    return out


def incidents(frame: pd.DataFrame, tree: Tree) -> pd.DataFrame:
    """Incidents with their grid, community, town and county codes (or the outside flag), ids by time."""
    g = tree.grids
    inside = frame["grid"].to_numpy() >= 0
    gi = np.where(inside, frame["grid"].to_numpy(), 0)

    def code(col: str) -> np.ndarray:
        return np.where(inside, g[col].to_numpy()[gi], None)

    lon, lat = lonlat_from_xy(frame["x"].to_numpy(), frame["y"].to_numpy())
    pts = shapely.set_srid(shapely.points(lon, lat), SRID)
    n = len(frame)
    compound = frame["compound_id"].to_numpy()
    return pd.DataFrame(
        {
            "id": np.arange(1, n + 1),
            "external_id": [f"BJ-DEMO-{i:07d}" for i in range(1, n + 1)],
            "category": frame["category"].to_numpy(),
            "subcategory": frame["subcategory"].to_numpy(),
            "status": frame["status"].to_numpy(),
            "occurred_at": frame["occurred_at"].to_numpy(),
            "reported_at": frame["reported_at"].to_numpy(),
            "mediated_at": frame["mediated_at"].to_numpy(),
            "resolved_at": frame["resolved_at"].to_numpy(),
            "source_crs": "EPSG:4326",
            "grid_code": code("code"),
            "community_code": code("community_code"),
            "town_code": code("town_code"),
            "county_code": code("county_code"),
            "compound_id": pd.Series(compound, dtype="Int64").mask(compound == 0),
            "outside_jurisdiction": ~inside,
            "synthetic": True,
            "geom": shapely.to_wkb(pts, hex=True, include_srid=True),
        }
    )


def officers(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.assign(synthetic=True)


def patrol_routes(frame: pd.DataFrame) -> pd.DataFrame:
    stops = [json.dumps(s, ensure_ascii=False) for s in frame["planned_stops"]]
    return frame.assign(planned_stops=stops, version=1, synthetic=True, geom=ewkb(frame["geom"].to_numpy()))
