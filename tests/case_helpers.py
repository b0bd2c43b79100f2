"""Shared by the case tests: callers at each level of the tiny tree, a point in each grid, a fold check."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from sqlalchemy import text
from sqlalchemy.orm import Session

from geo.auth import Principal
from geo.cases import fold
from geo.cases.store import derived_of

CST = ZoneInfo("Asia/Shanghai")
GRID_NW, GRID_SW, GRID_NE = "610302001001001", "610302001001002", "610302001002001"
WEST, EAST, TOWN, COUNTY, CITY = "610302001001", "610302001002", "610302001", "610302", "610300"
# A point inside each grid of tests.fixtures (grid squares 0.01° on a side).
POINT = {GRID_NW: (107.105, 34.365), GRID_SW: (107.105, 34.355), GRID_NE: (107.115, 34.365)}


def caller(name: str, role: str, area: str, department: str | None = None) -> Principal:
    return Principal(name, frozenset({role}), area, None, department)


def local(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=CST)


def feature(grid: str, category: str = "dispute", occurred: str = "2024-09-27T09:00:00+08:00") -> dict:
    lon, lat = POINT[grid]
    return {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [lon, lat]},
        "properties": {"category": category, "occurred_at": occurred, "description": "楼道堆物 test"},
    }


def assert_rows_fold_from_events(session: Session) -> int:
    """Every case row equals the fold of its events; the number of cases checked."""
    rows = session.execute(text("SELECT * FROM cases ORDER BY id")).fetchall()
    events = session.execute(text("SELECT * FROM case_events ORDER BY case_id, id")).mappings().fetchall()
    by_case: dict[int, list] = {}
    for e in events:
        by_case.setdefault(e["case_id"], []).append(e)
    for row in rows:
        assert fold.fold(by_case[row.id]) == derived_of(row), f"case {row.id}: row and events disagree"
    return len(rows)


def remove_cases(owner_engine) -> None:
    """Delete every case and the audit of it and its incident (as the owner: the app role may not delete them)."""
    with owner_engine.begin() as conn:
        conn.execute(
            text(
                "DELETE FROM audit_log WHERE entity_type = 'case' OR (entity_type = 'incident' "
                "AND entity_id IN (SELECT incident_id::text FROM cases))"
            )
        )
        conn.execute(
            text(
                "DELETE FROM open311_requests; DELETE FROM case_photos; DELETE FROM case_events; DELETE FROM cases"
            )
        )
