"""Grid edits on the real database: validation rules, versions, history, dry runs, re-assignment and audit.

The tiny tree (tests/fixtures.py): W1 (NW) and W2 (SW) make the west community, E1 (NE) and E2 (SE) the east;
squares of 0.01° (~920 m × 1,110 m) with exact shared edges.
"""

from __future__ import annotations

import datetime as dt
import json

import pytest
import shapely
from sqlalchemy import text

from geo.area import CITY
from geo.editing import edits, history
from geo.errors import GridNotFound, InvalidGeometry, VersionConflict
from tests.fixtures import X0, X1, X2, Y0, Y1, Y2, load_tiny_tree

W1, W2, E1, E2 = "610302001001001", "610302001001002", "610302001002001", "610302001002002"
WEST = "610302001001"
ED = {"editor": "gis-tester", "reason": "test"}
NEW_Y = 34.362  # the W1/W2 boundary moved 0.002° north: W1 gives a strip to W2


def poly(x1, y1, x2, y2) -> dict:
    return shapely.geometry.mapping(shapely.box(x1, y1, x2, y2))


def add_incident(db, lon: float, lat: float, grid: str | None) -> int:
    return db.execute(
        text(
            "INSERT INTO incidents (category, occurred_at, grid_code, community_code, geom) "
            "VALUES ('dispute', '2020-05-01', :g, :c, ST_SetSRID(ST_MakePoint(:x, :y), 4326)) RETURNING id"
        ),
        {"g": grid, "c": grid[:12] if grid else None, "x": lon, "y": lat},
    ).scalar_one()


def add_compound(db, x1, y1, x2, y2, grid: str, households: int) -> int:
    return db.execute(
        text(
            "INSERT INTO compounds (name, households, grid_code, community_code, geom) VALUES "
            "('测试小区', :h, :g, :c, ST_MakeEnvelope(:x1, :y1, :x2, :y2, 4326)) RETURNING id"
        ),
        {"h": households, "g": grid, "c": grid[:12], "x1": x1, "y1": y1, "x2": x2, "y2": y2},
    ).scalar_one()


def grid_of(db, table: str, row_id: int) -> str | None:
    return db.execute(text(f"SELECT grid_code FROM {table} WHERE id = :i"), {"i": row_id}).scalar_one()


def count(db, sql: str, **params) -> int:
    return db.execute(text(sql), params).scalar_one()


def move_line():
    return {"type": "LineString", "coordinates": [[X0 - 0.001, NEW_Y], [X1 + 0.001, NEW_Y]]}


@pytest.fixture
def tree(db):
    load_tiny_tree(db)
    return db


def test_move_boundary_versions_reassigns_and_audits(tree):
    db = tree
    strip = add_incident(db, 107.105, 34.361, W1)  # in the strip W1 gives up
    stays = add_incident(db, 107.105, 34.368, W1)
    compound = add_compound(db, 107.101, 34.3605, 107.103, 34.3630, W1, 300)  # mostly in the strip → W2
    result = edits.move_boundary(db, W1, W2, line=move_line(), expected_versions={W1: 1, W2: 1}, **ED)

    grids = {g["code"]: g for g in result["grids"]}
    assert grids[W1]["version_after"] == 2 and grids[W2]["version_after"] == 2
    strip_m2 = grids[W2]["area_change_m2"]
    assert 180_000 < strip_m2 < 230_000  # 0.002° lat × 0.01° lon at 34.36°N ≈ 204,000 m²
    assert grids[W1]["area_change_m2"] == pytest.approx(-strip_m2, rel=1e-6)
    assert grid_of(db, "incidents", strip) == W2 and grid_of(db, "incidents", stays) == W1
    assert grid_of(db, "compounds", compound) == W2
    assert result["incidents"]["changed"] == 1 and result["incidents"]["ids"] == [strip]
    assert result["incidents"]["moves"] == [{"from": W1, "to": W2, "count": 1}]
    assert result["compounds"]["moves"][0]["id"] == compound
    assert result["households"] == {"changed": 300, "moves": [{"from": W1, "to": W2, "households": 300}]}
    assert result["coverage"][0]["community_code"] == WEST and result["coverage"][0]["share"] == pytest.approx(1)
    assert result["reassigned"] is not None
    # Versions: the old rows are closed exactly when the new ones start; the current ones are open.
    rows = db.execute(
        text(
            "SELECT grid_code, version, valid_from, valid_to, editor FROM grid_versions "
            "WHERE grid_code IN (:a, :b) ORDER BY grid_code, version"
        ),
        {"a": W1, "b": W2},
    ).all()
    assert [(r.grid_code, r.version) for r in rows] == [(W1, 1), (W1, 2), (W2, 1), (W2, 2)]
    assert rows[0].valid_to == rows[1].valid_from and rows[1].valid_to is None and rows[1].editor == "gis-tester"
    assert count(db, "SELECT version FROM grids WHERE code = :c", c=W1) == 2
    audit = db.execute(
        text(
            "SELECT action, entity_id, before, after, reason FROM audit_log WHERE entity_type = 'grid' ORDER BY entity_id"
        )
    ).all()
    assert [(a.action, a.entity_id) for a in audit] == [("grid.move_boundary", W1), ("grid.move_boundary", W2)]
    assert audit[0].before["version"] == 1 and audit[0].after["version"] == 2 and audit[0].reason == "test"


def test_dry_run_reports_the_diff_and_writes_nothing(tree):
    db = tree
    strip = add_incident(db, 107.105, 34.361, W1)
    before_versions = count(db, "SELECT count(*) FROM grid_versions")
    before_audit = count(db, "SELECT count(*) FROM audit_log")  # other tests' committed rows stay (a hash chain)
    result = edits.move_boundary(
        db, W1, W2, line=move_line(), expected_versions={W1: 1, W2: 1}, dry_run=True, **ED
    )
    assert result["dry_run"] is True and result["incidents"]["ids"] == [strip]
    assert {g["code"]: g["version_after"] for g in result["grids"]} == {W1: 2, W2: 2}
    assert grid_of(db, "incidents", strip) == W1
    assert count(db, "SELECT count(*) FROM grid_versions") == before_versions
    assert count(db, "SELECT max(version) FROM grids") == 1
    assert count(db, "SELECT count(*) FROM audit_log") == before_audit
    assert count(db, "SELECT ST_YMin(geom) FROM grids WHERE code = :c", c=W1) == pytest.approx(Y1)


def test_stale_version_is_a_conflict_naming_the_current_one(tree):
    edits.update_grid(tree, W1, attrs={"name": "西一网格（新）"}, expected_version=1, **ED)
    with pytest.raises(VersionConflict) as err:
        edits.update_grid(tree, W1, attrs={"name": "lost"}, expected_version=1, **ED)
    assert err.value.context["current_version"] == 2 and err.value.context["grid_code"] == W1
    assert count(tree, "SELECT count(*) FROM grids WHERE name = 'lost'") == 0


def test_invalid_geometry_names_reason_and_location(tree):
    bowtie = {"type": "Polygon", "coordinates": [[[X0, Y1], [X1, Y2], [X1, Y1], [X0, Y2], [X0, Y1]]]}
    with pytest.raises(InvalidGeometry) as err:
        edits.update_grid(tree, W1, geometry=bowtie, expected_version=1, **ED)
    (p,) = err.value.context["problems"]
    assert p["rule"] == "validity" and "Self-intersection" in p["detail"] and p["grid_code"] == W1
    assert p["location"] == pytest.approx([(X0 + X1) / 2, (Y1 + Y2) / 2])


@pytest.mark.parametrize(
    "geometry, rule",
    [
        ({"type": "Point", "coordinates": [107.105, 34.365]}, "polygon_type"),
        ({"type": "LineString", "coordinates": [[107.1, 34.36], [107.11, 34.37]]}, "polygon_type"),
        ({"type": "Polygon", "coordinates": []}, "geometry"),
        (
            {
                "type": "Polygon",
                "coordinates": [[[34.36, 107.1], [34.37, 107.1], [34.37, 107.11], [34.36, 107.1]]],
            },
            "geometry",
        ),
        ("not a geometry", "geometry"),
    ],
)
def test_only_polygons_are_grids(tree, geometry, rule):
    with pytest.raises(InvalidGeometry) as err:
        edits.update_grid(tree, W1, geometry=geometry, expected_version=1, **ED)
    assert [p["rule"] for p in err.value.context["problems"]] == [rule]


def test_outside_community_and_overlap_name_grids_and_areas(tree):
    # W1 pushed 0.001° east: into the east community and over E1.
    with pytest.raises(InvalidGeometry) as err:
        edits.update_grid(tree, W1, geometry=poly(X0, Y1, X1 + 0.001, Y2), expected_version=1, **ED)
    problems = {p["rule"]: p for p in err.value.context["problems"]}
    assert set(problems) == {"outside_community", "overlap"}
    strip_m2 = 0.001 * 111_320 * 0.8256 * 0.01 * 110_900  # ≈ 101,900 m² (UTM differs by < 1%)
    assert problems["overlap"]["other_grid"] == E1
    assert problems["overlap"]["area_m2"] == pytest.approx(strip_m2, rel=0.02)
    assert problems["outside_community"]["area_m2"] == pytest.approx(strip_m2, rel=0.03)
    assert X1 < problems["overlap"]["location"][0] < X1 + 0.001
    assert count(tree, "SELECT version FROM grids WHERE code = :c", c=W1) == 1


def test_overlap_within_the_community(tree):
    with pytest.raises(InvalidGeometry) as err:
        edits.update_grid(tree, W1, geometry=poly(X0, Y1 - 0.003, X1, Y2), expected_version=1, **ED)
    (p,) = err.value.context["problems"]
    assert p["rule"] == "overlap" and p["other_grid"] == W2 and p["area_m2"] > 250_000


def test_gap_is_reported_with_area_location_and_coverage(tree):
    with pytest.raises(InvalidGeometry) as err:
        edits.update_grid(tree, W1, geometry=poly(X0, Y1 + 0.002, X1, Y2), expected_version=1, **ED)
    (p,) = err.value.context["problems"]
    assert p["rule"] == "gap" and p["community_code"] == WEST
    assert 180_000 < p["area_m2"] < 230_000 and Y1 < p["location"][1] < Y1 + 0.002
    (cov,) = [c for c in err.value.context["coverage"] if c["community_code"] == WEST]
    assert cov["share"] == pytest.approx(0.9, abs=0.002) and cov["uncovered_m2"] == pytest.approx(
        p["area_m2"], rel=1e-3
    )


def test_create_grid_checks_code_and_reports_partial_coverage(tree):
    db = tree
    db.execute(
        text(
            "INSERT INTO admin_units (code, name, level, parent_code, geom) VALUES ('610302001003', '新社区', "
            "'community', '610302001', ST_Multi(ST_MakeEnvelope(107.12, 34.35, 107.13, 34.37, 4326)))"
        )
    )
    with pytest.raises(InvalidGeometry) as err:
        edits.create_grid(
            db,
            "610302001001009",
            poly(107.12, 34.36, 107.13, 34.37),
            {"name": "北", "community_code": "610302001003"},
            **ED,
        )
    assert [p["rule"] for p in err.value.context["problems"]] == ["code"]
    result = edits.create_grid(db, "610302001003001", poly(107.12, 34.36, 107.13, 34.37), {"name": "北"}, **ED)
    assert result["grids"][0]["version_after"] == 1 and result["grids"][0]["version_before"] is None
    (cov,) = result["coverage"]
    assert cov["community_code"] == "610302001003" and cov["share"] == pytest.approx(0.5, abs=0.001)
    with pytest.raises(InvalidGeometry) as err:
        edits.create_grid(db, "610302001003001", poly(107.12, 34.35, 107.13, 34.36), {"name": "again"}, **ED)
    assert "already exists" in err.value.context["problems"][0]["detail"]


def test_split_by_a_line_creates_the_next_code(tree):
    db = tree
    west = add_incident(db, 107.102, 34.365, W1)
    east = add_incident(db, 107.108, 34.365, W1)
    line = {"type": "LineString", "coordinates": [[107.104, Y1 - 0.001], [107.104, Y2 + 0.001]]}
    result = edits.split_grid(db, W1, line, expected_version=1, **ED)
    new = "610302001001003"
    assert [g["code"] for g in result["grids"]] == [W1, new]
    assert grid_of(db, "incidents", west) == new and grid_of(db, "incidents", east) == W1
    assert result["coverage"][0]["share"] == pytest.approx(1)
    assert count(db, "SELECT name FROM grids WHERE code = :c", c=new) == "西一网格-2"
    with pytest.raises(InvalidGeometry) as err:
        edits.split_grid(
            db,
            W2,
            {"type": "LineString", "coordinates": [[107.0, 34.0], [107.01, 34.0]]},
            expected_version=1,
            **ED,
        )
    assert err.value.context["problems"][0]["rule"] == "split"


def test_merge_adjacent_and_refuse_strangers(tree):
    db = tree
    south = add_incident(db, 107.105, 34.355, W2)
    with pytest.raises(InvalidGeometry) as err:
        edits.merge_grids(db, [W1, E2], expected_versions={W1: 1, E2: 1}, **ED)
    assert {p["rule"] for p in err.value.context["problems"]} == {"community", "adjacency"}
    result = edits.merge_grids(db, [W1, W2], expected_versions={W1: 1, W2: 1}, **ED)
    assert {g["code"]: g["status"] for g in result["grids"]} == {W1: "active", W2: "retired"}
    assert grid_of(db, "incidents", south) == W1
    assert result["coverage"][0]["grids"] == 1 and result["coverage"][0]["share"] == pytest.approx(1)


def test_retire_opens_a_gap_unless_absorbed(tree):
    with pytest.raises(InvalidGeometry) as err:
        edits.retire_grid(tree, W2, expected_version=1, **ED)
    assert err.value.context["problems"][0]["rule"] == "gap"
    result = edits.retire_grid(tree, W2, expected_version=1, absorbed_by=W1, absorbed_by_version=1, **ED)
    assert result["action"] == "retire"
    assert count(tree, "SELECT status FROM grids WHERE code = :c", c=W2) == "retired"


def test_history_as_of_and_revert(tree):
    db = tree
    edits.move_boundary(db, W1, W2, line=move_line(), expected_versions={W1: 1, W2: 1}, **ED)
    fc = history.history(db, W1, CITY)
    versions = json.loads(fc)
    assert versions["current_version"] == 2 and [f["properties"]["version"] for f in versions["features"]] == [
        1,
        2,
    ]
    old, _ = history.as_of(db, W1, history.parse_moment("2020-06-01"), CITY)
    assert json.loads(old)["properties"]["version"] == 1
    now, v = history.as_of(db, W1, dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1), CITY)
    assert v == 2 and json.loads(now)["properties"]["version"] == 2
    with pytest.raises(Exception, match="did not exist"):
        history.as_of(db, W1, history.parse_moment("2018-01-01"), CITY)
    # Reverting W1 alone would overlap the grown W2; reverting both restores the original line.
    with pytest.raises(InvalidGeometry) as err:
        edits.revert_grid(db, W1, 1, expected_version=2, **ED)
    assert err.value.context["problems"][0]["rule"] == "overlap"
    result = edits.revert_grids(db, {W1: 1, W2: 1}, expected_versions={W1: 2, W2: 2}, **ED)
    assert {g["code"]: g["version_after"] for g in result["grids"]} == {W1: 3, W2: 3}
    assert count(db, "SELECT ST_YMin(geom) FROM grids WHERE code = :c", c=W1) == pytest.approx(Y1)
    assert count(db, "SELECT reason FROM grid_versions WHERE grid_code = :c AND version = 3", c=W1) == "test"
    assert len(history.versions_as_of(db, history.parse_moment("2020-06-01"))) == 4


def test_unknown_grid(tree):
    with pytest.raises(GridNotFound):
        edits.update_grid(tree, "610302001001099", attrs={"name": "x"}, expected_version=1, **ED)


def test_edit_outside_everything_leaves_other_grids_alone(tree):
    # An attribute-only edit moves nothing (no area, no re-assignment), but its grid tiles change: its extent.
    result = edits.update_grid(
        tree, E2, attrs={"grid_worker": "李网格", "households": 15}, expected_version=1, **ED
    )
    assert result["reassigned"] is None and result["incidents"]["changed"] == 0
    assert result["changed_bbox"] == [X1, Y0, X2, Y1]  # the grid tile still shows a new name or worker
    assert count(tree, "SELECT households FROM grids WHERE code = :c", c=E2) == 15
    assert X2 > X1 and Y0 < Y1  # the fixture's layout this file relies on


def test_a_grid_loaded_without_versions_gets_its_history_on_first_edit(tree):
    tree.execute(text("DELETE FROM grid_versions WHERE grid_code = :c"), {"c": E2})
    edits.update_grid(tree, E2, attrs={"name": "东二（改）"}, expected_version=1, **ED)
    versions = json.loads(history.history(tree, E2, CITY))["features"]
    assert [(f["properties"]["version"], f["properties"]["name"]) for f in versions] == [
        (1, "东二网格"),
        (2, "东二（改）"),
    ]
    assert versions[0]["properties"]["valid_to"] == versions[1]["properties"]["valid_from"]
