"""The four maps and the dashboard layers on the real database: figures, hit rates, offline pages, GCJ-02."""

from __future__ import annotations

import datetime as dt
import json
import re

import numpy as np
import pytest
from sqlalchemy import text

from bench import synthetic_grids
from geo.analysis.change import grid_change
from geo.analysis.hotspots import GI_CLASSES, gi_star
from geo.crs import wgs84_to_gcj02
from geo.errors import InvalidInput, NotFound
from geo.maps.compact import DECODER_JS
from geo.maps.dashboard import scope_layers
from geo.maps.external_urls import find_external_urls
from geo.maps.pages import MAP_KINDS, render_map, save_map
from tests.fixtures import load_tiny_tree
from tests.stats_fixtures import E1, E2, W1, W2, load_stats_data

Y2019, Y2020, Y2021 = dt.date(2019, 1, 1), dt.date(2020, 1, 1), dt.date(2021, 1, 1)
pytestmark = pytest.mark.db


@pytest.fixture
def stats_db(db):
    load_stats_data(db)
    return db


def _rows(page: str) -> list[list]:
    """The popup rows of the first compact (grid) layer on a page."""
    payload = re.search(r'<script type="application/json" id="compact_layer_\w+_data">(.*?)</script>', page).group(
        1
    )
    return json.loads(payload)["rows"]


def _six_by_six(db, cluster_per_grid: int = 25) -> list[str]:
    """A county/town/community east of the tiny tree with 6×6 square grids (0.005°), codes west→east,
    north→south; 2 incidents in every grid and cluster_per_grid more in the 3×3 block at rows 1–3, columns 1–3
    (in 2020). Returns the codes in order."""
    load_tiny_tree(db)  # the city the county hangs from
    x0, y0, step = 107.30, 34.40, 0.005
    for code, level, parent in (("610304", "county", "610300"), ("610304001", "town", "610304"),
                                ("610304001001", "community", "610304001")):  # fmt: skip
        db.execute(
            text(
                "INSERT INTO admin_units (code, name, level, parent_code, geom) VALUES (:c, :n, :l, :p, "
                "ST_Multi(ST_MakeEnvelope(:x0, :y1, :x1, :y0, 4326)))"
            ),
            {
                "c": code,
                "n": f"测试{code}",
                "l": level,
                "p": parent,
                "x0": x0,
                "y0": y0,
                "x1": x0 + 6 * step,
                "y1": y0 - 6 * step,
            },
        )
    codes = []
    for row in range(6):
        for col in range(6):
            code = f"610304001001{row * 6 + col + 1:03d}"
            codes.append(code)
            west, north = x0 + col * step, y0 - row * step
            db.execute(
                text(
                    "INSERT INTO grids (code, name, community_code, households, geom) VALUES (:c, :nm, "
                    "'610304001001', 100, ST_Multi(ST_MakeEnvelope(:w, :s, :e, :n, 4326)))"
                ),
                {"c": code, "nm": f"格{code[-3:]}", "w": west, "s": north - step, "e": west + step, "n": north},
            )
            n = 2 + (cluster_per_grid if row in (1, 2, 3) and col in (1, 2, 3) else 0)
            db.execute(
                text(
                    "INSERT INTO incidents (category, occurred_at, grid_code, community_code, town_code, "
                    "county_code, geom) SELECT 'property', '2020-06-01T12:00+08', :c, '610304001001', "
                    "'610304001', '610304', ST_SetSRID(ST_MakePoint(:x, :y), 4326) FROM generate_series(1, :n)"
                ),
                {"c": code, "x": west + step / 2, "y": north - step / 2, "n": n},
            )
    db.flush()
    return codes


def test_gi_star_finds_a_planted_cluster(db):
    codes = _six_by_six(db)
    out = gi_star(db, "610304001001", Y2020, Y2021)
    assert out["grid_code"].tolist() == codes
    assert list(out.columns) == ["grid_code", "count", "value", "z", "p", "p_fdr", "class"]
    assert out.attrs["measure"] == "count"  # equal grids: counts (rates only where sizes differ >10×)
    # Was a 2×2 block, found with esda's one-sided p; two-sided p and BH over 36 grids leave such a block at
    # q ≈ 0.12 (its permutation p is ~0.01 at best): a 3×3 block's core is found.
    cluster = [codes[r * 6 + c] for r in (1, 2, 3) for c in (1, 2, 3)]
    assert out.set_index("grid_code").loc[cluster, "count"].tolist() == [27] * 9
    hot = set(out[out["class"].str.startswith("hot")]["grid_code"])
    assert {codes[2 * 6 + 2], codes[1 * 6 + 2], codes[2 * 6 + 1]} <= hot <= set(cluster)
    assert out.loc[35, "class"] in ("not_significant", "cold_90", "cold_95", "cold_99")
    assert (out["p_fdr"] >= out["p"] - 1e-12).all() and set(out["class"]) <= set(GI_CLASSES)


def test_gi_star_on_grids_that_all_touch_is_not_significant(stats_db):
    # The tiny tree's 4 grids all touch (corners count): each neighbourhood is everything, z is undefined.
    out = gi_star(stats_db, "610302001", Y2020, Y2021)
    assert out["count"].tolist() == [2, 5, 21, 2]
    assert (out["class"] == "not_significant").all() and (out["z"] == 0).all()


def test_grid_change_is_year_over_year(stats_db):
    out = grid_change(stats_db, "610302", Y2020, Y2021).set_index("grid_code")
    assert out.loc[E1, ["current", "previous"]].tolist() == [21, 9]
    assert out.loc[E1, "z"] == pytest.approx(2 * (np.sqrt(21) - 3), abs=1e-3)
    assert out.loc[W1, ["current", "previous"]].tolist() == [2, 5]
    # The fixture's data end on 2020-09-09: 2020 is only partly covered, so no grid is judged (was: z classes).
    assert (out["class"] == "no_data").all() and out["p"].isna().all()
    later = grid_change(stats_db, "610302", Y2021, dt.date(2022, 1, 1))
    assert (later["class"] == "no_data").all() and later["current"].sum() == 0


@pytest.mark.parametrize("kind", list(MAP_KINDS))
def test_each_map_renders_offline_with_its_figures(stats_db, settings, kind):
    page = render_map(kind, stats_db, settings, admin_code="610302001", start=Y2019, end=Y2020)
    assert find_external_urls(page) == []
    assert "/static/vendor/leaflet/leaflet.js" in page and DECODER_JS in page
    assert "2019-01-01 – 2019-12-31" in page
    if kind != "change":  # a later period (2020) exists for a 2019 map: its hit rate is stated
        assert "PAI = " in page and "next period 2020-01-01" in page
    rows = _rows(page)
    assert [r[0] for r in rows] == [W1, W2, E1, E2]
    if kind in ("choropleth", "hotspots", "density"):
        assert [r[4] for r in rows] == [5, 2, 9, 1]  # 2019 counts in the popups


def test_hit_rate_uses_the_next_year(stats_db, settings):
    # 2019's busiest grid is E1 (9 of 17); the top 5% of area takes that whole grid (25% of the area); in 2020
    # E1 holds 21 of the 30 incidents in grids: hit rate 70%, PAI 0.70 / 0.25 = 2.8.
    page = render_map("choropleth", stats_db, settings, admin_code="610302001", start=Y2019, end=Y2020)
    assert "of the 30 incidents in the next period" in page and "70.0% fell in the top 5%" in page
    assert "actual area share 25.0%; PAI = 2.80" in page


def test_latest_year_has_no_later_period(stats_db, settings):
    page = render_map("density", stats_db, settings, admin_code="610302001", start=Y2020, end=Y2021)
    assert "no later period" in page


def test_choropleth_rates_per_1000_households(stats_db, settings):
    page = render_map(
        "choropleth", stats_db, settings, admin_code="610302001", start=Y2020, end=Y2021, measure="rate"
    )
    rows = {r[0]: r for r in _rows(page)}
    assert rows[E1][4:] == [21, 200, 105.0]  # 21 incidents, 200 households
    assert rows[E2][5:] == [0, None]  # E2 has 0 households: no rate, the no-data class
    assert "无户数数据" in page
    with pytest.raises(InvalidInput):
        render_map("choropleth", stats_db, settings, admin_code="610302001", measure="bogus")


def test_bad_filters_are_refused(stats_db, settings):
    with pytest.raises(InvalidInput):
        render_map("hotspots", stats_db, settings, admin_code="610302001", start=Y2020, end=Y2019)
    with pytest.raises(InvalidInput):
        render_map("hotspots", stats_db, settings, admin_code="610302001", categories="arson")
    with pytest.raises(NotFound):
        render_map("hotspots", stats_db, settings, admin_code="610399")
    with pytest.raises(InvalidInput):
        render_map("nope", stats_db, settings)


def test_gcj02_base_map_shifts_overlays_and_says_so(stats_db, settings):
    gcj = settings.model_copy(
        update={"tile_url": "http://tiles.intranet.test/{z}/{x}/{y}.png", "tile_crs": "GCJ-02"}
    )
    page = render_map("choropleth", stats_db, gcj, admin_code="610302001", start=Y2020, end=Y2021)
    assert "GCJ-02" in page and "http://tiles.intranet.test/{z}/{x}/{y}.png" in page
    plain = scope_layers(stats_db, "610302001", Y2020, Y2021)
    shifted = scope_layers(stats_db, "610302001", Y2020, Y2021, gcj02=True)
    lon, lat = plain["grids"]["features"][0]["geometry"]["coordinates"][0][0][0]
    slon, slat = shifted["grids"]["features"][0]["geometry"]["coordinates"][0][0][0]
    want = wgs84_to_gcj02(lon, lat)
    assert (slon, slat) == pytest.approx((float(want[0]), float(want[1])), abs=2e-6)
    assert abs(slon - lon) > 0.003  # hundreds of metres, as GCJ-02 is


def test_dashboard_layers_drill_down(stats_db):
    town = scope_layers(stats_db, "610302001", Y2020, Y2021)
    assert town["child_level"] == "community"
    counts = {f["properties"]["code"]: f["properties"]["count"] for f in town["children"]["features"]}
    assert counts == {"610302001001": 7, "610302001002": 23}
    assert [b["code"] for b in town["breadcrumb"]] == ["610300", "610302", "610302001"]
    community = scope_layers(stats_db, "610302001002", Y2020, Y2021)
    assert community["child_level"] == "grid"
    assert {f["properties"]["code"]: f["properties"]["count"] for f in community["children"]["features"]} == {
        E1: 21,
        E2: 2,
    }
    grid = scope_layers(stats_db, E1, Y2020, Y2021)
    assert grid["children"]["features"] == [] and grid["breadcrumb"][-1]["code"] == E1


def test_saved_map_with_a_folder_links_its_assets_relatively(stats_db, settings, tmp_path):
    out = save_map(
        "change", stats_db, settings, tmp_path / "maps" / "change.html", assets="folder", admin_code="610302001"
    )
    page = out.read_text(encoding="utf-8")
    assert 'src="/static/' not in page and 'src="change_files/leaflet/leaflet.js"' in page
    assert find_external_urls(page) == []


def test_city_choropleth_of_1537_grids_is_under_1_mb(db, settings):
    db.execute(text("DELETE FROM incidents"))  # only this test's rows exist; nothing outlives the rollback
    assert synthetic_grids.load(db.connection()) == 1537
    page = render_map("choropleth", db, settings, admin_code="610300", start=Y2020, end=Y2021)
    assert len(page.encode("utf-8")) < 1_000_000
    assert len(_rows(page)) == 1537


def _later_incidents(db, code: str, n: int, when: str) -> None:
    db.execute(
        text(
            "INSERT INTO incidents (category, occurred_at, grid_code, community_code, town_code, county_code, geom) "
            "SELECT 'property', CAST(:t AS timestamptz), g.code, '610304001001', '610304001', '610304', "
            "ST_PointOnSurface(g.geom) FROM grids g, generate_series(1, :n) WHERE g.code = :c"
        ),
        {"c": code, "n": n, "t": when},
    )


def test_hot_spot_hit_rate_is_of_the_hot_spots_drawn(db, settings):
    # Hand-worked: 2020's hot spots are the centre cross of the 3×3 block (5 of 36 equal grids, 13.9% of the
    # area). In 2021, 10 incidents fall in the centre grid, 2 in the one above it (on 2021-12-31 23:00, the
    # following year's last day), 28 in the far corner: hit rate 12/40 = 30.0%, PAI = 0.30 / (5/36) = 2.16.
    codes = _six_by_six(db)
    _later_incidents(db, codes[2 * 6 + 2], 10, "2021-03-01T12:00+08")
    _later_incidents(db, codes[1 * 6 + 2], 2, "2021-12-31T23:00+08")
    _later_incidents(db, codes[35], 28, "2021-05-01T12:00+08")
    db.flush()
    gi = gi_star(db, "610304001001", Y2020, Y2021)
    cross = {codes[i] for i in (8, 13, 14, 15, 20)}
    assert set(gi[gi["class"].str.startswith("hot")]["grid_code"]) == cross
    page = render_map("hotspots", db, settings, admin_code="610304001001", start=Y2020, end=Y2021)
    assert "of the 40 incidents in the next period 2021-01-01 – 2021-12-31" in page
    assert "30.0% fell in the 5 hot-spot grids drawn" in page and "PAI = 2.16" in page
    assert "(Fixed area share, grids ranked by z)" in page  # the top-5% figure, labelled apart
    assert "999 conditional permutations (seed 20201220" in page and "two-sided p" in page
    assert "Tested on incident counts" in page and "Hot spot (two-sided, FDR q" in page


def test_a_map_outside_the_data_says_no_data(stats_db, settings):
    # The fixture's data cover 2018-12-31 – 2020-09-09: a 2021 map says so before its (zero) figures.
    page = render_map(
        "choropleth", stats_db, settings, admin_code="610302001", start=Y2021, end=dt.date(2022, 1, 1)
    )
    assert "Note: 2021-01-01 – 2021-12-31: no data (the data cover 2018-12-31 – 2020-09-09)" in page
    change = render_map("change", stats_db, settings, admin_code="610302001", start=Y2021, end=dt.date(2022, 1, 1))
    assert "no change is judged" in change and "无数据（时段超出数据范围）（4）" in change  # all 4 grids: no data
    assert "显著下降（精确检验，BH q&lt;0.01）（0）" in change
