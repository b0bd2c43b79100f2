"""Write → read round trip of imports of 1, 200 and 20,000 rows carrying extreme but valid values (issue #15).

An outside probe once stored an incident dated 0001-01-01 by the COPY path, and afterwards /ogc/collections,
incident items and /tiles/incidents.json answered 500 for everyone; nothing read back after an import. Here
every read a viewer has is made after each import, and what comes back is compared with what was written
(tests/api/readback_data.py: counts, grids, days and tiles worked out from the coordinates, not by the
code). The three sizes take the three writers of geo.incidents.store: a one-row batch probes PostGIS
(write_probe); 200 rows re-sent over stored ids, with the in-memory index built, go through the staging
table's upsert (write_staged); 20,000 new rows are COPYed (write_copy).
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from fastapi.testclient import TestClient

from geo.assignment import memory_rule
from geo.auth import create_user
from geo.incidents import store as incident_store
from geo.timebounds import EARLIEST_INCIDENT
from tests.api import readback_checks as check
from tests.api.readback_data import CST, EARLIEST, ID_CAP, Row, written
from tests.fixtures import load_tiny_tree

SIZES = {1: "probe", 200: "staged", 20_000: "copy"}


def collection(rows: list[Row]) -> dict:
    return {"type": "FeatureCollection", "features": [r.feature() for r in rows]}


def post_bulk(client: TestClient, auth: dict, rows: list[Row], **params) -> dict:
    r = client.post("/api/v1/incidents/bulk", json=collection(rows), headers=auth, params=params)
    assert r.status_code == 200, r.text[:500]
    return r.json()


def placeholders(rows: list[Row]) -> list[Row]:
    """The same ids with plain values: the rows a re-sent file replaces."""
    when = dt.datetime(2020, 6, 1, 12, tzinfo=CST)
    return [Row(r.lon, r.lat, when.isoformat(), when, r.grid, "other", "reported", r.external_id) for r in rows]


def import_by_its_path(client: TestClient, auth: dict, rows: list[Row]) -> dict:
    """Import the rows by the writer SIZES names for their count; the import's summary."""
    n, path = len(rows), SIZES[len(rows)]
    # One row probes PostGIS; 200 are assigned in memory once the index is built; 20,000 always are.
    assert 1 < incident_store.STAGING_MIN <= 200 < incident_store.COLD_MIN <= 20_000
    if path == "staged":
        # A dry run builds the process's grid index (it always assigns in memory): from STAGING_MIN rows the
        # import then assigns in memory; the ids stored by the first import send the second to the upsert.
        post_bulk(client, auth, placeholders(rows), dry_run="true")
        assert memory_rule.warm()
        assert post_bulk(client, auth, placeholders(rows))["inserted"] == n
    done = post_bulk(client, auth, rows)
    # Only the small and the staged writers update, and 200 rows with the index built are not small.
    assert (done["inserted"], done["updated"]) == ((0, n) if path == "staged" else (n, 0)), done
    assert done["outside_jurisdiction"] == sum(r.grid is None for r in rows)
    assert done["rejected"] == 0 and done["errors"] == []
    return done


def refused(client: TestClient, auth: dict, rows: list[Row]) -> list:
    """The same import under new (short) ids, the first row changed to the probe's 0001-01-01, then to an id
    one byte past the index's cap: each must be refused whole, before any read below sees it."""
    out = []
    for bad in ("early", "long"):
        again = [Row(r.lon, r.lat, r.when, r.instant, r.grid, r.category, r.status, f"{bad}-{i}")
                 for i, r in enumerate(rows)]  # fmt: skip
        if bad == "early":
            again[0].when = "0001-01-01T00:00:00"
        else:
            again[0].external_id = "".join(map(str, np.random.default_rng(1).integers(0, 10, ID_CAP + 1)))
        out.append(client.post("/api/v1/incidents/bulk", json=collection(again), headers=auth))
    return out


@pytest.fixture
def reader(app, db):
    """A client that returns a 500 instead of raising it, over the tiny tree, and a city-level viewer."""
    load_tiny_tree(db)
    viewer = {"Authorization": "Bearer " + create_user(db, "readback-viewer", "viewer")}
    db.commit()  # to the test's savepoint: a failed request rolls back only its own work
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c, viewer


def test_the_stated_lower_bound_is_the_one_enforced():
    # The rows below are written at the README's bound; were the code's bound different, they would test
    # nothing (or be refused).
    assert EARLIEST_INCIDENT == EARLIEST


@pytest.mark.parametrize("n", list(SIZES), ids=[f"{n}-{p}" for n, p in SIZES.items()])
def test_an_import_reads_back_whole_everywhere(reader, auth, settings, n):
    client, viewer = reader
    now = dt.datetime.now(dt.UTC)
    rows = written(n, now, settings.city_margin_km)
    assert len(rows) == n
    import_by_its_path(client, auth, rows)
    refusals = refused(client, auth, rows)
    ids = check.ogc(client, viewer, rows, now)
    check.rest(client, viewer, rows, ids)
    check.stats(client, viewer, rows, now)
    check.tiles(client, viewer, rows)
    # Checked after the reads, so that a refused row wrongly stored shows as what issue #15 saw: 500s on read.
    for r in refusals:
        assert r.status_code == 400, r.text[:300]
    assert "occurred_at" in refusals[0].text and "external_id" in refusals[1].text
