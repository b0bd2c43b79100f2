"""Map analysis without a database: kernel density, its display warp, natural breaks, FDR, Gi*, hit rates, encoding."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import esda
import mapclassify
import numpy as np
import pytest
import shapely
from esda.significance import calculate_significance
from libpysal.weights import lat2W
from scipy.stats import binomtest, false_discovery_control

from geo.analysis.change import change_table, poisson_z
from geo.analysis.density import DensityRaster, display_grid, kde, lonlat_to_metric
from geo.analysis.hitrate import polygon_hit_rate, raster_hit_rate, selected_hit_rate, top_polygons
from geo.analysis.hotspots import (
    choose_measure,
    classify,
    contiguity_weights,
    gi_star_frame,
    gi_star_values,
    star_weights,
)
from geo.errors import InvalidInput
from geo.maps.classify import classes, fisher_jenks_breaks
from geo.maps.compact import encode_geometries, encode_rings, script_json
from geo.maps.geometry import to_metric
from geo.maps.query import LaterWindow
from geo.stats.filters import Window

LATER = LaterWindow(Window(dt.date(2020, 1, 1), dt.date(2021, 1, 1)), True, dt.date(2021, 1, 1))


def test_kde_integrates_to_the_count_in_incidents_per_km2():
    rng = np.random.default_rng(1)
    xy = rng.normal([500_000, 3_800_000], 800, size=(2_000, 2))
    raster = kde(xy, (495_000, 3_795_000, 505_000, 3_805_000), 300.0)
    total = raster.values.sum() * raster.cell**2 / 1e6  # per km² × km² per cell
    assert total == pytest.approx(2_000, rel=1e-3)
    assert raster.cell == pytest.approx(75.0)


def test_kde_bandwidth_is_metres_not_pixels():
    # One point: the peak of a Gaussian with σ = bandwidth is 1 / (2πσ²) per m².
    raster = kde(np.array([[500_000.0, 3_800_000.0]]), (499_000, 3_799_000, 501_000, 3_801_000), 200.0)
    peak_per_km2 = 1e6 / (2 * np.pi * 200.0**2)
    assert raster.values.max() == pytest.approx(peak_per_km2, rel=0.05)
    wide = kde(np.array([[500_000.0, 3_800_000.0]]), (499_000, 3_799_000, 501_000, 3_801_000), 400.0)
    assert wide.values.max() == pytest.approx(peak_per_km2 / 4, rel=0.05)


def test_kde_cell_grows_to_respect_the_cell_cap():
    raster = kde(np.empty((0, 2)), (0, 0, 200_000, 150_000), 300.0, max_cells=1_000_000)
    assert raster.values.size <= 1_100_000
    assert raster.values.max() == 0


def test_display_image_puts_density_where_the_points_are():
    # A hot spot at a known lon/lat must come out at that lon/lat in the Web Mercator image.
    lon, lat = 107.15, 34.37
    xy = lonlat_to_metric(np.array([[lon, lat]] * 50))
    raster = kde(xy, (xy[0, 0] - 5_000, xy[0, 1] - 5_000, xy[0, 0] + 5_000, xy[0, 1] + 5_000), 150.0)
    image, ((south, west), (north, east)) = display_grid(raster)
    row, col = np.unravel_index(np.argmax(image), image.shape)
    h, w = image.shape
    merc = lambda la: np.log(np.tan(np.pi / 4 + np.radians(la) / 2))  # noqa: E731
    got_lon = west + (col + 0.5) / w * (east - west)
    got_lat = np.degrees(
        2 * np.arctan(np.exp(merc(north) - (row + 0.5) / h * (merc(north) - merc(south)))) - np.pi / 2
    )
    metres = to_metric(shapely.points([[got_lon, got_lat], [lon, lat]]))
    assert shapely.distance(metres[0], metres[1]) < 1.5 * raster.cell


def test_fisher_jenks_matches_mapclassify_exact_breaks():
    rng = np.random.default_rng(3)
    for _ in range(3):
        y = rng.poisson(20, 120) * rng.integers(1, 4, 120)
        assert fisher_jenks_breaks(y, 5) == pytest.approx(list(mapclassify.FisherJenks(y, k=5).bins))


def test_classes_handle_few_values_and_missing_data():
    cls, breaks = classes(np.array([1.0, 1.0, np.nan, 2.0, 5.0]), 5)
    assert breaks == [1.0, 2.0, 5.0]
    assert cls.tolist() == [0, 0, -1, 1, 2]


def _doubled_p(observed: np.ndarray, sims: np.ndarray) -> np.ndarray:
    """Two-sided permutation p by hand: twice the smaller one-sided p, (draws at least as extreme + 1)/(P + 1)."""
    greater = ((sims >= observed[:, None]).sum(axis=1) + 1) / (sims.shape[1] + 1)
    lesser = ((sims <= observed[:, None]).sum(axis=1) + 1) / (sims.shape[1] + 1)
    return np.minimum(1.0, 2 * np.minimum(greater, lesser))


def test_gi_star_p_values_are_two_sided_and_fdr_adjusted_as_the_oracles_say():
    # Was: esda's default p_sim ("directed", half the two-sided p) and a hand-written BH. Oracles: esda's G_Local
    # with the same seed, the doubled one-sided p worked here by hand from its simulations (close to esda's
    # equal-tailed alternative='two-sided' where p is small), and scipy's BH.
    w = star_weights(lat2W(20, 20, rook=False))
    counts = np.random.default_rng(2).poisson(5, 400).astype(float)
    counts[[r * 20 + c for r in range(8, 13) for c in range(8, 13)]] += 6
    z, p = gi_star_values(counts, w, permutations=499, seed=11)
    g = esda.G_Local(
        counts, w, transform="B", permutations=499, star=True, keep_simulations=True, n_jobs=1, seed=11
    )
    assert z == pytest.approx(np.asarray(g.Zs))
    two_sided = _doubled_p(np.asarray(g.Gs), np.asarray(g.rGs))
    assert p == pytest.approx(two_sided)
    equal_tailed = calculate_significance(g.Gs, g.rGs, alternative="two-sided")
    small = two_sided <= 0.1  # where it matters, esda's equal-tailed p differs only by ties between draws
    assert small.sum() > 20 and np.abs(p - equal_tailed)[small].max() <= 0.015
    assert np.median(p[small] / np.asarray(g.p_sim)[small]) == pytest.approx(2.0, abs=0.2)  # ~2× "directed"
    grids = SimpleNamespace(
        codes=[str(i) for i in range(400)], area_m2=np.full(400, 1e6), households=np.full(400, 50.0)
    )
    grids.derived = {"gi_weights:": w}
    frame = gi_star_frame(grids, counts, permutations=499, seed=11, measure="auto")  # type: ignore[arg-type]
    q = false_discovery_control(two_sided)
    assert frame["p_fdr"].to_numpy() == pytest.approx(q)
    assert (frame["class"] == "hot_99").to_numpy().tolist() == ((q < 0.01) & (np.asarray(g.Zs) > 0)).tolist()
    assert (frame["class"].str.startswith("cold")).to_numpy().tolist() == (
        (q < 0.1) & (np.asarray(g.Zs) < 0)
    ).tolist()
    assert frame.attrs == {"measure": "count", "permutations": 499, "seed": 11}  # equal grids: counts


def test_gi_star_finds_a_planted_cluster_and_classifies_it():
    w = star_weights(lat2W(20, 20, rook=False))
    counts = np.random.default_rng(2).poisson(5, 400).astype(float)
    block = [r * 20 + c for r in range(8, 13) for c in range(8, 13)]
    counts[block] += 40
    z, p = gi_star_values(counts, w, permutations=999, seed=1)
    out = classify(z, false_discovery_control(p))
    assert all(out[i].startswith("hot") for i in block[6:9])  # the cluster's core
    assert out[0] in ("not_significant", "cold_90", "cold_95", "cold_99")
    assert gi_star_values(np.full(400, 3.0), w) == (pytest.approx(np.zeros(400)), pytest.approx(np.ones(400)))


def test_gi_star_measure_defaults_to_rates_where_grid_sizes_differ():
    hh = np.array([300.0, 500.0])
    assert choose_measure("auto", np.array([0.12e6, 58e6]), hh) == "rate"
    assert choose_measure("auto", np.array([0.12e6, 58e6]), np.array([300.0, np.nan])) == "density"
    assert choose_measure(None, np.array([1e6, 2e6, 9e6]), np.full(3, 100.0)) == "count"
    assert choose_measure("density", np.array([1e6]), hh) == "density"
    with pytest.raises(InvalidInput):
        choose_measure("per_person", np.array([1e6]), hh)


def test_classify_levels_by_fdr_and_sign():
    z = np.array([3.0, 2.0, 1.0, 0.5, -1.0, -2.0, -3.0])
    p = np.array([0.005, 0.04, 0.09, 0.5, 0.09, 0.04, 0.005])
    assert classify(z, p).tolist() == [
        "hot_99", "hot_95", "hot_90", "not_significant", "cold_90", "cold_95", "cold_99",
    ]  # fmt: skip


def test_contiguity_tolerates_a_sliver_but_not_a_gap():
    a = shapely.box(0, 0, 100, 100)
    b = shapely.box(100.5, 0, 200, 100)  # 0.5 m sliver: still neighbours
    c = shapely.box(205, 0, 300, 100)  # 5 m gap: not
    w = contiguity_weights(np.array([a, b, c], dtype=object), tolerance_m=1.0)
    assert w.neighbors == {0: [1], 1: [0], 2: []}


def test_grid_change_classes_by_exact_test_and_bh():
    # Was: classes by |z| thresholds (|z| ≥ 3 "real"). Now the exact test per grid, BH across the map; z stays
    # descriptive. Oracle: scipy's binomtest and false_discovery_control on the raw counts.
    current = np.array([100, 100, 64, 0, 30, 3])
    previous = np.array([100, 64, 100, 9, 10, 0])
    y2020, y2019 = (
        Window(dt.date(2020, 1, 1), dt.date(2021, 1, 1)),
        Window(dt.date(2019, 1, 1), dt.date(2020, 1, 1)),
    )
    out = change_table([str(i) for i in range(6)], current, previous, (y2020, y2019))
    assert poisson_z(current, previous)[:4].tolist() == [0.0, 4.0, -4.0, -6.0] and out["z"].iloc[1] == 4.0
    p = [binomtest(int(c), int(c + q), 366 / 731).pvalue for c, q in zip(current, previous, strict=True)]
    assert out["p"].tolist() == pytest.approx(p, rel=1e-9)
    assert out["p_adjusted"].tolist() == pytest.approx(false_discovery_control(p), rel=1e-9)
    expected = ["rise" if q < 0.01 and c > b else "fall" if q < 0.01 and c < b else "stable"
                for q, c, b in zip(false_discovery_control(p), current, previous, strict=True)]  # fmt: skip
    assert out["class"].tolist() == expected
    # 3 against 0 (z = 3.46) was a "real rise" and is not; 100 against 64 and 9 against 0 stay significant
    assert out["class"].iloc[5] == "stable" and out["class"].iloc[1] == "rise" and expected[3] == "fall"


def test_polygon_hit_rate_takes_top_area_and_computes_pai():
    scores = np.array([10.0, 8.0, 1.0, 0.0])
    areas = np.array([3.0, 2.0, 45.0, 50.0])  # 100 in all: the first grid alone is 3%, with the second 5%
    assert top_polygons(scores, areas, 0.05).tolist() == [True, True, False, False]
    hr = polygon_hit_rate(LATER, scores, areas, np.array([30.0, 20.0, 40.0, 10.0]))
    assert (hr.hits, hr.incidents) == (50, 100)
    assert hr.area_share == pytest.approx(0.05)
    assert hr.pai == pytest.approx(10.0)
    zh, en = hr.statement()
    assert "50.0%" in zh and "PAI = 10.00" in en and "2020-12-31" in en


def test_raster_hit_rate_counts_next_period_points_in_the_top_cells():
    values = np.zeros((10, 10), np.float32)
    values[0, 0] = 9.0  # the single best cell: 1% of a 10×10 study area
    values[5, 5] = 5.0
    raster = DensityRaster(values, 0.0, 0.0, 10.0, 30.0)
    study = shapely.box(0, 0, 100, 100)
    later = np.array([[5.0, 5.0], [6.0, 3.0], [55.0, 55.0], [95.0, 95.0]])
    hr = raster_hit_rate(LATER, raster, study, later, share=0.02)
    assert (hr.hits, hr.incidents) == (3, 4)
    assert hr.area_share == pytest.approx(0.02)
    assert hr.pai == pytest.approx(0.75 / 0.02)


def test_polyline_encoding_matches_the_reference_algorithm():
    def ref(coords):
        out, plat, plng = "", 0, 0
        for lon, lat in coords:
            a, b = round(lat * 1e6), round(lon * 1e6)
            for v in (a - plat, b - plng):
                v = ~(v << 1) if v < 0 else v << 1
                while v >= 0x20:
                    out += chr((0x20 | (v & 0x1F)) + 63)
                    v >>= 5
                out += chr(v + 63)
            plat, plng = a, b
        return out

    rng = np.random.default_rng(0)
    c = np.column_stack([107 + rng.random(30), 34 + rng.random(30)])
    bs = "\\"  # the page writes '!' for the polyline alphabet's backslash
    assert encode_rings(c, np.array([0, 12])) == [ref(c[:12]).replace(bs, "!"), ref(c[12:]).replace(bs, "!")]
    hole = shapely.box(0, 0, 3, 3).difference(shapely.box(1, 1, 2, 2))
    encoded = encode_geometries(np.array([hole, shapely.LineString([(0, 0), (1, -1)])], dtype=object))
    assert len(encoded[0]) == 1 and len(encoded[0][0]) == 2  # one polygon with a hole
    assert encoded[1] == [ref([(0, 0), (1, -1)]).replace(bs, "!")]


def test_script_json_cannot_close_the_script_element():
    assert "</" not in script_json({"name": "</script><script>alert(1)</script>"})


def test_raster_hit_rate_looks_past_hot_cells_outside_the_study_area():
    values = np.zeros((200, 200), np.float32)
    values[100:, 100:] = 100.0  # hotter than anything, but outside the study area (10,000 cells)
    values[10, 20] = 50.0  # the best cell inside
    raster = DensityRaster(values, 0.0, 0.0, 10.0, 30.0)
    study = shapely.box(0, 0, 1000, 1000)
    hr = raster_hit_rate(LATER, raster, study, np.array([[205.0, 105.0], [500.0, 500.0]]), share=0.0001)
    assert (hr.hits, hr.incidents) == (1, 2)
    assert hr.area_share == pytest.approx(0.0001)


def test_hit_rate_of_the_highlighted_grids_by_hand():
    # 2 of 5 grids highlighted, 1 + 3 = 4 of their 10 area units: a/A = 0.4; 12 of 20 later incidents in them.
    picked = np.array([True, False, True, False, False])
    hr = selected_hit_rate(
        LATER,
        picked,
        np.array([1.0, 2.0, 3.0, 2.0, 2.0]),
        np.array([5.0, 4.0, 7.0, 4.0, 0.0]),
        ("2 个热点网格", "2 hot grids"),
    )
    assert (hr.hits, hr.incidents, hr.area_share) == (12, 20, pytest.approx(0.4))
    assert hr.pai == pytest.approx((12 / 20) / 0.4)
    zh, en = hr.statement()
    assert "fell in 2 hot grids (area share 40.00%; PAI = 1.50)" in en and "2020-01-01 – 2020-12-31" in en
