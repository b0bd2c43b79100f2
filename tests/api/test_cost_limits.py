"""Bounded cost: CSV fields per row are capped before pandas parses (its cost is quadratic in them), and every
report that lists problems lists at most settings.max_problems of them, saying how many it left out."""

from __future__ import annotations

import json
import time

import pytest
import shapely

from geo.errors import InvalidInput
from geo.incidents.read_files import check_width
from tests.fixtures import X0, X1, Y0, Y1, load_tiny_tree

URL = "/api/v1/incidents/bulk"
INSIDE = (X1 - 0.004, Y1 + 0.004)  # in the tiny tree's west-north grid
CSV = {"content-type": "text/csv"}


def capped(app, n: int) -> None:
    app.state.settings = app.state.settings.model_copy(update={"max_problems": n})


def test_width_check_counts_fields_as_csv_does():
    check_width(b'a,b,c\n1,"x,y",3\n', 3)  # a quoted comma is inside one field: three fields, allowed
    with pytest.raises(InvalidInput) as raised:
        check_width(b"a,b,c\n1,2,3,4\n", 3)
    assert raised.value.context["row"] == 2 and raised.value.context["limit"] == 3


@pytest.mark.parametrize("wide", ["header", "row"])
def test_a_200000_column_csv_is_refused_naming_the_limit(client, auth, wide):
    n = 200_000
    if wide == "header":  # the probe's file: ~1.9 MB, 2×10^5 header names and one row of as many values
        body = "lon,lat," + ",".join(f"c{i}" for i in range(n - 2)) + "\n1,2," + ",".join("x" * (n - 2)) + "\n"
    else:  # a three-column header, then one row of 2×10^5 fields (pandas: 32 s of CPU before)
        body = "lon,lat,category\n" + ",".join("1" * n) + "\n"
    start = time.perf_counter()
    r = client.post(URL, content=body.encode(), headers={**auth, **CSV})
    print(f"{wide}: {len(body)} bytes refused in {time.perf_counter() - start:.2f} s")
    assert r.status_code == 400, r.text[:300]
    err = r.json()
    assert err["reason"] == "too many columns" and err["limit"] == 256
    assert err["row"] == (1 if wide == "header" else 2) and "256" in err["detail"]


def test_incident_import_lists_at_most_max_problems(app, client, db, auth):
    load_tiny_tree(db)
    db.commit()
    capped(app, 5)
    rows = "".join(f"{INSIDE[0]},{INSIDE[1]},x,2024-05-01 08:00\n" for _ in range(12))  # category x: 12 problems
    r = client.post(URL, content=("lon,lat,category,occurred_at\n" + rows).encode(), headers={**auth, **CSV})
    assert r.status_code == 400
    err = r.json()
    assert len(err["errors"]) == 5 and err["errors_total"] == 12 and err["problems_omitted"] == 7
    assert [e["index"] for e in err["errors"]] == [0, 1, 2, 3, 4]


def test_grid_import_lists_at_most_max_problems(app, client, db, auth):
    load_tiny_tree(db)
    db.commit()
    capped(app, 3)
    feature = {"type": "Feature", "geometry": shapely.geometry.mapping(shapely.box(X0, Y0, X1, Y1))}
    # Five features with an empty code: one problem each ("the feature has no code").
    layer = {"type": "FeatureCollection", "features": [{**feature, "properties": {"code": ""}}] * 5}
    r = client.post(
        "/api/v1/grids/import", files={"file": ("g.geojson", json.dumps(layer).encode())}, headers=auth
    )
    assert r.status_code == 400
    err = r.json()
    assert [p["feature"] for p in err["problems"]] == [0, 1, 2] and err["problems_omitted"] == 2
    assert err["detail"].startswith("5 problem(s)")


def test_request_validation_lists_at_most_max_problems(app, client, auth):
    capped(app, 3)
    body = {"codes": ["610302001001001", "610302001001002"], "versions": {f"k{i}": "x" for i in range(10)}}
    r = client.post("/api/v1/grids/merge", json=body, headers=auth)
    assert r.status_code == 422
    err = r.json()
    assert len(err["errors"]) == 3 and err["problems_omitted"] == 7
    assert "(and 7 more)" in err["detail"]
