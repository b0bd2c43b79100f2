"""Assignment rules on the real PostGIS: the edge rule, gaps, CRS input, upserts, compounds, reassign_area."""

from __future__ import annotations

import numpy as np
import pytest
from sqlalchemy import text

from geo.area import CITY
from geo.assignment import sql_rule as assign
from geo.crs import wgs84_to_gcj02
from geo.incidents import pipeline as incident_import
from geo.incidents import store as incident_store
from geo.incidents import write_copy as incident_copy
from geo.incidents.read_geojson import read_geojson
from geo.stats import rollup
from tests.fixtures import X0, X1, X2, Y0, Y1, Y2, box, load_tiny_tree

WN, WS, EN, ES = "610302001001001", "610302001001002", "610302001002001", "610302001002002"


@pytest.fixture(autouse=True)
def _staged_from_staging_min(monkeypatch):
    """The staged (in-memory) path for every batch of STAGING_MIN rows, built indexes or not."""
    monkeypatch.setattr(incident_store, "COLD_MIN", incident_store.STAGING_MIN)


def point(lon: float, lat: float, **props) -> dict:
    props.setdefault("category", "dispute")
    props.setdefault("occurred_at", "2024-05-01T08:30:00+08:00")
    return {"type": "Feature", "geometry": {"type": "Point", "coordinates": [lon, lat]}, "properties": props}


def collection(*features: dict, crs: str | None = None) -> dict:
    doc: dict = {"type": "FeatureCollection", "features": list(features)}
    if crs:
        doc["crs"] = {"type": "name", "properties": {"name": crs}}
    return doc


def load(db, settings, doc: dict, crs: str | None = None, partial: bool = False) -> dict:
    return incident_import.import_incidents(db, settings, read_geojson(doc, crs), partial=partial, actor="test")


def rows(db, where: str = "TRUE", **params) -> list:
    sql = (
        "SELECT external_id, grid_code, community_code, town_code, county_code, outside_jurisdiction, compound_id,"
        f" ST_X(geom), ST_Y(geom) FROM incidents WHERE {where} ORDER BY id"
    )
    return db.execute(text(sql), params).all()


# Points on shared edges and the shared vertex, with the grid the lowest-code rule must choose.
EDGE_CASES = [
    ((X1, (Y1 + Y2) / 2), WN),  # vertical edge WN | EN
    ((X1, (Y0 + Y1) / 2), WS),  # vertical edge WS | ES
    (((X1 + X2) / 2, Y1), EN),  # horizontal edge EN / ES
    (((X0 + X1) / 2, Y1), WN),  # horizontal edge WN / WS
    ((X1, Y1), WN),  # the vertex all four grids share
    ((X0, Y2), WN),  # the outer corner: one grid only
]


@pytest.mark.parametrize("copies", [1, incident_store.STAGING_MIN + 5], ids=["single-path", "staged-path"])
def test_edge_and_vertex_points_go_to_the_lowest_code_every_time(db, settings, copies):
    load_tiny_tree(db)
    features = [point(x, y) for (x, y), _ in EDGE_CASES for _ in range(copies)]
    result = load(db, settings, collection(*features))
    assert result["inserted"] == len(features) and result["outside_jurisdiction"] == 0
    expected = {xy: code for xy, code in EDGE_CASES}
    got = [(expected[(r[7], r[8])], r.grid_code) for r in rows(db)]  # coordinates come back bit-exact
    assert len(got) == len(features) and all(want == have for want, have in got)


def test_a_point_in_no_grid_is_stored_flagged_and_keeps_its_admin_tree(db, settings):
    load_tiny_tree(db)
    # Retire the east-south grid: its area becomes a gap inside community …002, town and county.
    db.execute(text("UPDATE grids SET status = 'retired' WHERE code = :c"), {"c": ES})
    gap = ((X1 + X2) / 2, (Y0 + Y1) / 2)
    beyond = (X2 + 0.01, Y1)  # outside the tiny city, but well within the 50 km margin
    result = load(db, settings, collection(point(*gap, external_id="gap"), point(*beyond, external_id="beyond")))
    assert result["outside_jurisdiction"] == 2
    by_id = {r.external_id: r for r in rows(db)}
    assert by_id["gap"][1:7] == (None, "610302001002", "610302001", "610302", True, None)
    assert by_id["beyond"][1:7] == (None, None, None, None, True, None)


def test_gcj02_input_lands_where_its_wgs84_twin_lands(db, settings):
    load_tiny_tree(db)
    truth = np.array([107.10512, 107.11743]), np.array([34.36612, 34.35321])
    glon, glat = wgs84_to_gcj02(*truth)
    load(db, settings, collection(point(truth[0][0], truth[1][0]), point(truth[0][1], truth[1][1])))
    load(db, settings, collection(point(glon[0], glat[0]), point(glon[1], glat[1]), crs="GCJ-02"))
    got = db.execute(
        text(
            "SELECT a.grid_code, b.grid_code, ST_Distance(a.geom::geography, b.geom::geography), b.source_crs"
            " FROM incidents a JOIN incidents b ON b.id = a.id + 2 ORDER BY a.id"
        )
    ).all()
    assert [(g[0], g[1]) for g in got] == [(WN, WN), (ES, ES)]
    assert all(g[2] < 1.0 for g in got) and {g[3] for g in got} == {"GCJ-02"}
    # Without the declaration the same numbers sit hundreds of metres away (GCJ-02's offset).
    far = load(db, settings, collection(point(glon[0], glat[0])))
    assert far["inserted"] == 1
    shift = db.execute(
        text(
            "SELECT ST_Distance(geom::geography, ST_MakePoint(:x, :y)::geography) FROM incidents ORDER BY id DESC LIMIT 1"
        ),
        {"x": truth[0][0], "y": truth[1][0]},
    ).scalar_one()
    assert shift > 100


@pytest.mark.parametrize("copies", [1, incident_store.STAGING_MIN], ids=["single-path", "staged-path"])
def test_reimporting_external_ids_updates_instead_of_duplicating(db, settings, copies):
    load_tiny_tree(db)
    first = [point(X0 + 0.002, Y1 + 0.002, external_id=f"A{i}") for i in range(copies)]
    first.append(point(X0 + 0.002, Y1 + 0.002, external_id="B"))
    assert load(db, settings, collection(*first))["inserted"] == copies + 1
    again = [point(X2 - 0.002, Y0 + 0.002, external_id=f"A{i}", category="hazard") for i in range(copies)]
    again.append(point(X2 - 0.002, Y0 + 0.002))  # no external_id: always a new row
    result = load(db, settings, collection(*again))
    assert (result["inserted"], result["updated"]) == (1, copies)
    assert db.execute(text("SELECT count(*) FROM incidents")).scalar_one() == copies + 2
    moved = db.execute(
        text("SELECT DISTINCT category, grid_code FROM incidents WHERE external_id LIKE 'A%'")
    ).all()
    assert moved == [("hazard", ES)]


def test_compound_straddling_two_grids_goes_to_the_larger_share(db, settings):
    from geo import compounds

    load_tiny_tree(db)
    inside = point(X1 + 0.001, Y1 + 0.003)
    load(db, settings, collection(inside))
    poly = {
        "type": "Feature",
        "geometry": {
            "type": "Polygon",
            "coordinates": [
                [
                    [X1 - 0.005, Y1 + 0.002],
                    [X1 + 0.0025, Y1 + 0.002],
                    [X1 + 0.0025, Y1 + 0.006],
                    [X1 - 0.005, Y1 + 0.006],
                    [X1 - 0.005, Y1 + 0.002],
                ]
            ],
        },
        "properties": {"name": "跨网格小区", "category": "three_no"},
    }
    cid, created, _, _ = compounds.save_compound(db, settings, CITY, poly, actor="test")
    assert created
    props = compounds.get_compound(db, cid, settings, CITY)["properties"]
    assert props["grid_code"] == WN and props["community_code"] == "610302001001"
    shares = props["grid_shares"]
    assert [s["grid_code"] for s in shares] == [WN, EN]
    assert shares[0]["share"] == pytest.approx(2 / 3, abs=0.01) and shares[1]["share"] == pytest.approx(
        1 / 3, abs=0.01
    )
    assert props["straddling"] is True
    # The incident inside the compound now points at it.
    assert rows(db)[0].compound_id == cid
    # A compound inside one grid: a one-entry list, not straddling.
    poly["geometry"]["coordinates"] = [
        [[X0 + 0.001, Y0 + 0.001], [X0 + 0.003, Y0 + 0.001], [X0 + 0.003, Y0 + 0.003], [X0 + 0.001, Y0 + 0.001]]
    ]
    cid2, *_ = compounds.save_compound(db, settings, CITY, poly, actor="test")
    props2 = compounds.get_compound(db, cid2, settings, CITY)["properties"]
    assert props2["grid_shares"] == [{"grid_code": WS, "share": 1.0}] and props2["straddling"] is False


def test_reassign_area_after_moving_a_boundary(db, settings):
    load_tiny_tree(db)
    rng = np.random.default_rng(7)
    xs, ys = rng.uniform(X0, X2, 400), rng.uniform(Y1, Y2, 400)
    load(db, settings, collection(*[point(x, y) for x, y in zip(xs, ys, strict=True)]))
    before = dict(db.execute(text("SELECT grid_code, count(*) FROM incidents GROUP BY 1")).all())
    # Move the WN | EN edge 0.004° east: WN grows, EN shrinks.
    new_x = X1 + 0.004
    db.execute(
        text("UPDATE grids SET geom = ST_GeomFromEWKT(:g) WHERE code = :c"), {"g": box(X0, Y1, new_x, Y2), "c": WN}
    )
    db.execute(
        text("UPDATE grids SET geom = ST_GeomFromEWKT(:g) WHERE code = :c"), {"g": box(new_x, Y1, X2, Y2), "c": EN}
    )
    strip = box(X1, Y1, new_x, Y2)
    moved = int(((xs >= X1) & (xs < new_x)).sum())
    result = assign.reassign_area(db, strip)
    assert result["incidents_changed"] == moved > 0
    after = dict(db.execute(text("SELECT grid_code, count(*) FROM incidents GROUP BY 1")).all())
    assert after[WN] == before[WN] + moved and after[EN] == before[EN] - moved
    # Points on the moved edge itself follow the rule: lowest code.
    assert assign.reassign_area(db, strip) == {"incidents_changed": 0, "compounds_changed": 0}
    load(db, settings, collection(point(new_x, Y1 + 0.005)))
    assert rows(db)[-1].grid_code == WN


def test_reassign_area_accepts_wkb_and_moves_compounds(db, settings):
    import shapely

    from geo import compounds

    load_tiny_tree(db)
    poly = {
        "type": "Feature",
        "geometry": {
            "type": "Polygon",
            "coordinates": [
                [
                    [X1 - 0.001, Y1 + 0.001],
                    [X1 + 0.003, Y1 + 0.001],
                    [X1 + 0.003, Y1 + 0.004],
                    [X1 - 0.001, Y1 + 0.001],
                ]
            ],
        },
        "properties": {"name": "东侧小区"},
    }
    cid, *_ = compounds.save_compound(db, settings, CITY, poly, actor="test")
    assert compounds.get_compound(db, cid, settings, CITY)["properties"]["grid_code"] == EN
    db.execute(
        text("UPDATE grids SET geom = ST_GeomFromEWKT(:g) WHERE code = :c"),
        {"g": box(X0, Y1, X1 + 0.005, Y2), "c": WN},
    )
    db.execute(
        text("UPDATE grids SET geom = ST_GeomFromEWKT(:g) WHERE code = :c"),
        {"g": box(X1 + 0.005, Y1, X2, Y2), "c": EN},
    )
    area = shapely.box(X1, Y1, X1 + 0.005, Y2)
    assert assign.reassign_area(db, shapely.to_wkb(area, hex=True)) == {
        "incidents_changed": 0,
        "compounds_changed": 1,
    }
    assert compounds.get_compound(db, cid, settings, CITY)["properties"]["grid_code"] == WN


@pytest.mark.parametrize("copies", [1, incident_store.STAGING_MIN], ids=["single-path", "staged-path"])
def test_optional_columns_with_gaps_and_chinese_text_are_stored_exactly(db, settings, copies):
    load_tiny_tree(db)
    docs = []
    for i in range(copies):
        docs.append(
            point(
                X0 + 0.003,
                Y1 + 0.003,
                external_id=f"full-{i}",
                status="mediated",
                description="邻里噪音纠纷，已调解",
                subcategory="噪音",
                mediated_at="2024-05-02T10:00:00+08:00",
                reported_at="2024-05-01T09:00:00Z",
            )
        )
        docs.append(point(X0 + 0.003, Y1 + 0.003, external_id=f"bare-{i}"))
    assert load(db, settings, collection(*docs))["inserted"] == 2 * copies
    got = db.execute(
        text(
            "SELECT DISTINCT left(external_id, 4), status, description, subcategory, mediated_at, reported_at,"
            " resolved_at FROM incidents ORDER BY 1"
        )
    ).all()
    assert [(r[0], r[1], r[2], r[3], r[6]) for r in got] == [
        ("bare", "reported", None, None, None),
        ("full", "mediated", "邻里噪音纠纷，已调解", "噪音", None),
    ]
    full = got[1]
    assert (
        full[4].isoformat() == "2024-05-02T02:00:00+00:00" and full[5].isoformat() == "2024-05-01T09:00:00+00:00"
    )
    assert got[0][4] is None and got[0][5] is None


def test_staged_imports_follow_a_redrawn_grid_and_keep_the_gap_tree(db, settings):
    """The in-memory index of the staged path is rebuilt when a grid's geometry changes."""
    load_tiny_tree(db)
    inside_ws = ((X0 + X1) / 2, (Y0 + Y1) / 2)
    features = [point(*inside_ws, external_id=f"r-{i}") for i in range(incident_store.STAGING_MIN)]
    assert load(db, settings, collection(*features))["outside_jurisdiction"] == 0
    assert {r.grid_code for r in rows(db)} == {WS}
    # Retire WS: its points now lie in no grid, but still in their community, town and county.
    db.execute(text("UPDATE grids SET status = 'retired' WHERE code = :c"), {"c": WS})
    result = load(db, settings, collection(*features))
    assert result["updated"] == len(features) and result["outside_jurisdiction"] == len(features)
    stored = rows(db)
    assert {
        (r.grid_code, r.community_code, r.town_code, r.county_code, r.outside_jurisdiction) for r in stored
    } == {(None, WS[:12], WS[:9], WS[:6], True)}


def test_a_fresh_bulk_import_is_copied_and_stores_what_single_writes_store(db, settings, monkeypatch):
    """New rows go straight into incidents by COPY; every stored column equals the one-by-one answer."""
    load_tiny_tree(db)
    db.execute(text("UPDATE grids SET status = 'retired' WHERE code = :c"), {"c": ES})  # a gap in the tree
    spots = [xy for xy, _ in EDGE_CASES] + [((X1 + X2) / 2, (Y0 + Y1) / 2), (X2 + 0.01, Y1)]
    docs = [
        point(
            *spots[i % len(spots)],
            category=("dispute", "hazard")[i % 2],
            status=("reported", "resolved", None)[i % 3],
            description=("纠纷", None)[i % 2],
            occurred_at=f"2024-05-{1 + i % 28:02d}T{i % 24:02d}:15:00+08:00",
        )
        for i in range(incident_store.STAGING_MIN + 7)
    ]

    def no_staging(*args):
        raise AssertionError("new rows must go straight into incidents")

    monkeypatch.setattr(incident_store, "stage", no_staging)
    monkeypatch.setattr(incident_copy, "COPY_PART", 50)  # sent in five parts
    bulk = [
        point(*d["geometry"]["coordinates"], **d["properties"], external_id=f"bulk-{i}")
        for i, d in enumerate(docs)
    ]
    assert load(db, settings, collection(*bulk))["inserted"] == len(docs)
    for i, d in enumerate(docs):
        incident_import.create_incident(
            db,
            settings,
            point(*d["geometry"]["coordinates"], **d["properties"], external_id=f"one-{i}"),
            actor="test",
        )
    columns = (
        "category, status, description, occurred_at, source_crs, synthetic, grid_code, community_code, "
        "town_code, county_code, compound_id, outside_jurisdiction, ST_AsEWKB(geom)"
    )
    got = [
        db.execute(
            text(
                f"SELECT {columns} FROM incidents WHERE external_id LIKE :p ORDER BY split_part(external_id, '-', 2)::int"
            ),
            {"p": f"{tag}-%"},
        ).all()
        for tag in ("bulk", "one")
    ]
    assert got[0] == got[1] and len(got[0]) == len(docs)
    assert {r.outside_jurisdiction for r in got[0]} == {True, False}
    assert rollup.drift(db) == []


def test_a_stored_id_late_in_a_bulk_import_undoes_its_copy_and_updates(db, settings, monkeypatch):
    """The COPY fails parts in, at the first stored id; the savepoint drops the copied rows, the upsert runs."""
    load_tiny_tree(db)
    monkeypatch.setattr(incident_copy, "COPY_PART", 50)
    n = incident_store.STAGING_MIN
    old = [
        point(X0 + 0.002, Y1 + 0.002, external_id=f"old-{i}", occurred_at="2024-06-01T08:00:00+08:00")
        for i in range(n)
    ]
    assert load(db, settings, collection(*old))["inserted"] == n
    # Rows go in time order: the new ones (May) first, the stored ids (June) after 150 of them.
    new = [
        point(X0 + 0.002, Y1 + 0.002, external_id=f"new-{i}", occurred_at="2024-05-01T08:00:00+08:00")
        for i in range(150)
    ]
    again = [
        point(
            X2 - 0.002,
            Y0 + 0.002,
            external_id=f"old-{i}",
            category="hazard",
            occurred_at="2024-06-01T08:00:00+08:00",
        )
        for i in range(n)
    ]
    monkeypatch.setattr(incident_store, "_some_stored", lambda *args: False)  # as if the sample missed them
    staged = []
    real_stage = incident_store.stage
    monkeypatch.setattr(incident_store, "stage", lambda *a: staged.append(1) or real_stage(*a))
    result = load(db, settings, collection(*again, *new))
    assert (result["inserted"], result["updated"]) == (150, n) and staged == [1]
    counts = db.execute(
        text(
            "SELECT count(*), count(DISTINCT external_id), count(*) FILTER (WHERE category = 'hazard') FROM incidents"
        )
    ).one()
    assert tuple(counts) == (n + 150, n + 150, n)
    assert rollup.drift(db) == []


def test_a_bulk_import_outlasts_the_statement_limit_and_gives_it_back(db, settings, monkeypatch):
    """A 10⁶-row COPY outlasts the app's 30 s statement limit: a bulk import lifts it for itself only."""
    load_tiny_tree(db)
    limit = "SELECT setting FROM pg_settings WHERE name = 'statement_timeout'"
    db.execute(text("SET LOCAL statement_timeout = 1000"))
    monkeypatch.setattr(incident_store, "BULK_MS_PER_ROW", 10.0)
    seen, real = [], incident_store.copy_new

    def spy(session, *args):
        seen.append(session.execute(text(limit)).scalar_one())
        return real(session, *args)

    monkeypatch.setattr(incident_store, "copy_new", spy)
    n = incident_store.STAGING_MIN + 100
    features = [point(X0 + 0.002, Y1 + 0.002, external_id=f"t-{i}") for i in range(n)]
    assert load(db, settings, collection(*features))["inserted"] == n
    assert seen == [str(n * 10)] and db.execute(text(limit)).scalar_one() == "1000"


def test_a_resent_file_goes_straight_to_the_upsert(db, settings, monkeypatch):
    """A sample of the ids finds them stored: no COPY is tried, the rows are updated."""
    load_tiny_tree(db)
    n = incident_store.STAGING_MIN + 50
    features = [point(X0 + 0.002, Y1 + 0.002, external_id=f"r-{i}") for i in range(n)]
    assert load(db, settings, collection(*features))["inserted"] == n

    def no_copy(*args):
        raise AssertionError("a re-sent file must not try the COPY")

    monkeypatch.setattr(incident_store, "copy_new", no_copy)
    assert (load(db, settings, collection(*features))["updated"]) == n
    assert db.execute(text("SELECT count(*) FROM incidents")).scalar_one() == n
