"""Edits snap onto stored vertices and add no sliver (issue 15, item 9): geo.editing.snap, check_post_state.

The tiny tree (tests/fixtures.py): W1 (NW) and W2 (SW) make the west community, E1 (NE) and E2 (SE) the east.
At 34.36°N one metre is 1/(111,320 × 0.8256)° of longitude and 1/110,900° of latitude.
"""

from __future__ import annotations

import pytest
import shapely
from sqlalchemy import text

from geo.editing import edits
from geo.editing.change import sliver_m2, snap_m
from geo.errors import InvalidGeometry
from tests.db.test_editing import E1, ED, W1, poly
from tests.fixtures import X0, X1, X2, Y1, Y2, load_tiny_tree

LON_M = 1 / (111_320 * 0.8256)  # degrees of longitude per metre here
LAT_M = 1 / 110_900
MID = (Y1 + Y2) / 2


@pytest.fixture
def tree(db):
    load_tiny_tree(db)
    return db


def stored(db, code: str) -> shapely.Geometry:
    wkb = db.execute(text("SELECT ST_AsBinary(geom) FROM grids WHERE code = :c"), {"c": code}).scalar_one()
    return shapely.from_wkb(wkb)


def ring(*points: tuple[float, float]) -> dict:
    return {"type": "Polygon", "coordinates": [[*map(list, points), list(points[0])]]}


def test_the_settings_stated_in_the_readme():
    assert (snap_m(), sliver_m2()) == (0.05, 0.01)


def test_a_vertex_a_few_cm_off_goes_back_onto_the_stored_one(tree):
    # W1's east corners 3 cm into E1 (as a client rounding to 7 decimals moves them by up to ~1 cm).
    off = 0.03 * LON_M
    edits.update_grid(tree, W1, geometry=poly(X0, Y1, X1 + off, Y2), expected_version=1, **ED)
    assert shapely.equals_exact(stored(tree, W1), shapely.MultiPolygon([shapely.box(X0, Y1, X1, Y2)]), 0)


def test_a_vertex_near_a_neighbours_corner_is_shared_exactly(tree):
    # E1 gains a vertex in the middle of its west edge (same shape); W1 then puts a corner 2 cm from it:
    # without the snap that is an 11 m² sliver over E1; with it, W1's new vertex is E1's, to the bit.
    e1 = ring((X1, Y1), (X2, Y1), (X2, Y2), (X1, Y2), (X1, MID))
    edits.update_grid(tree, E1, geometry=e1, expected_version=1, **ED)
    w1 = ring((X0, Y1), (X1, Y1), (X1 + 0.015 * LON_M, MID + 0.01 * LAT_M), (X1, Y2), (X0, Y2))
    edits.update_grid(tree, W1, geometry=w1, expected_version=1, **ED)
    assert [X1, MID] in shapely.get_coordinates(stored(tree, W1)).tolist()
    overlap = tree.execute(
        text(
            "SELECT ST_Area(ST_Intersection(a.geom, b.geom)::geography) FROM grids a, grids b "
            "WHERE a.code = :a AND b.code = :b"
        ),
        {"a": W1, "b": E1},
    ).scalar_one()
    assert overlap <= 0.01


def test_beyond_the_snap_a_vertex_stays_where_it_was_put(tree):
    # 0.3 m past the community's west edge, where no grid is: slack the 1 m tolerance still gives.
    off = 0.3 * LON_M
    result = edits.update_grid(tree, W1, geometry=poly(X0 - off, Y1, X1, Y2), expected_version=1, **ED)
    assert result["grids"][0]["version_after"] == 2
    assert shapely.get_coordinates(stored(tree, W1))[:, 0].min() == pytest.approx(X0 - off, abs=1e-12)


def test_a_thin_overlap_or_gap_is_refused_by_its_area(tree):
    # 0.3 m over E1 along 1.1 km: thinner than the 1 m tolerance (it used to pass) but 333 m² of overlap.
    off = 0.3 * LON_M
    with pytest.raises(InvalidGeometry) as err:
        edits.update_grid(tree, W1, geometry=poly(X0, Y1, X1 + off, Y2), expected_version=1, **ED)
    (p,) = err.value.context["problems"]
    assert (p["rule"], p["other_grid"]) == ("overlap", E1) and p["area_m2"] == pytest.approx(333, rel=0.03)
    # 0.3 m short of E1: a gap of the same size.
    with pytest.raises(InvalidGeometry) as err:
        edits.update_grid(tree, W1, geometry=poly(X0, Y1, X1 - off, Y2), expected_version=1, **ED)
    (p,) = err.value.context["problems"]
    assert p["rule"] == "gap" and p["area_m2"] == pytest.approx(333, rel=0.03)
    # 1 m over E1 is refused as before, by its thickness (thicker than the tolerance).
    with pytest.raises(InvalidGeometry):
        edits.update_grid(tree, W1, geometry=poly(X0, Y1, X1 + 5 * off, Y2), expected_version=1, **ED)
