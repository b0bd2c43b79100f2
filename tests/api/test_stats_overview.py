"""GET /api/v1/stats: an area's headline figures for a period, hand-counted on the OGC test data."""

from __future__ import annotations

import pytest
import shapely

from geo.assignment import assign_compounds, reassign_area
from tests.api.ogc_data import load_ogc_data
from tests.fixtures import X0, X2, Y0, Y2


@pytest.fixture
def data(db):
    load_ogc_data(db)  # raw rows: assigned here as every writer assigns them
    reassign_area(db, shapely.box(X0, Y0, X2, Y2))
    assign_compounds(db)
    db.commit()


def test_overview_of_a_county_for_a_month(client, auth, data):
    r = client.get("/api/v1/stats", params={"admin_code": "610302", "start": "2024-03-01", "end": "2024-04-01"},
                   headers=auth)  # fmt: skip
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["scope"] == {"code": "610302", "level": "county", "name": "渭滨区"}
    # 4 grids; one compound, 三无 and renovated (ogc_data.py).
    assert body["holdings"] == {"grids": 4, "compounds": 1, "three_no_compounds": 1, "renovated_compounds": 1}
    yoy = body["year_over_year"]
    assert yoy["previous"]["start"] == "2023-03-01" and yoy["previous"]["end"] == "2023-04-01"
    assert yoy["previous"]["mode"] == "yoy"  # the comparison period is named
    assert yoy["total"]["current"] == 12 and yoy["total"]["previous"] == 0
    assert yoy["total"]["status"] == "no_data" and yoy["total"]["significant"] is False  # an empty year: said so
    by_cat = {c["category"]: c["current"] for c in yoy["by_category"]}
    assert (by_cat["dispute"], by_cat["hazard"], by_cat["property"]) == (4, 4, 4)
    # Disputes are incidents 0, 3, 6, 9; the odd ones (3, 9) are resolved, which counts as mediated too.
    assert {k: body["disputes"]["total"][k] for k in ("logged", "mediated", "resolved")} == {
        "logged": 4, "mediated": 2, "resolved": 2,
    }  # fmt: skip
    # Both communities had a property incident (2 and 5 in the west, 8 and 11 in the east): none is 零发案.
    assert (body["zero_incident"]["count"], body["zero_incident"]["total_communities"]) == (0, 2)


def test_overview_of_a_grid_and_bad_input(client, auth, data):
    r = client.get("/api/v1/stats", params={"admin_code": "610302001001002", "start": "2024-03-01",
                                            "end": "2024-04-01"}, headers=auth)  # fmt: skip
    body = r.json()
    assert body["holdings"]["grids"] == 1 and body["year_over_year"]["total"]["current"] == 3
    assert body["zero_incident"] is None and body["disputes"] is None
    assert client.get("/api/v1/stats", params={"start": "2024-03-01"}, headers=auth).status_code == 422
    r = client.get("/api/v1/stats", params={"admin_code": "610399", "start": "2024-03-01", "end": "2024-04-01"},
                   headers=auth)  # fmt: skip
    assert r.status_code == 404
    assert client.get("/api/v1/stats", params={"start": "2024-03-01", "end": "2024-04-01"}).status_code == 401
