"""Whole lives of cases in the tiny tree, as each role at each level, on the 2024 National Day calendar.

Deadlines are worked by hand from the State Council's 2024 holiday notice: 1–7 October off, Sunday 29
September and Saturday 12 October are make-up working days.
"""

from __future__ import annotations

import datetime as dt

import pytest

from geo.cases import store
from geo.cases.queries import get_case
from geo.cases.report import CaseFields, report
from geo.errors import NotFound, OutsideGrid, StepNotAllowed, VersionConflict
from tests.case_helpers import (
    CITY,
    COUNTY,
    GRID_NE,
    GRID_NW,
    GRID_SW,
    TOWN,
    WEST,
    assert_rows_fold_from_events,
    caller,
    feature,
    local,
)
from tests.fixtures import load_tiny_tree

GW = caller("gw-nw", "grid_worker", GRID_NW)
GW_SW = caller("gw-sw", "grid_worker", GRID_SW)
GW_NE = caller("gw-ne", "grid_worker", GRID_NE)
WEST_OP = caller("op-west", "centre_operator", WEST)
TOWN_OP = caller("op-town", "centre_operator", TOWN)
COUNTY_OP = caller("op-county", "centre_operator", COUNTY)
CITY_OP = caller("op-city", "centre_operator", CITY)
HOUSING = caller("housing-county", "department_handler", COUNTY, "housing")


@pytest.fixture
def tree(db):
    load_tiny_tree(db)
    return db


def step(db, who, case_id, name, at, **body):
    version = get_case(db, who, case_id, at)["version"]
    return store.take_step(db, who, case_id, name, version, body, at)


def test_grid_report_dispatch_rework_close(tree, settings):
    db = tree
    done = report(db, settings, GW, feature(GRID_NW), CaseFields(), None, local(2024, 9, 27, 10))
    case_id, created = done.id, done.created
    case = get_case(db, WEST_OP, case_id, local(2024, 9, 27, 10))
    assert created and case["state"] == "reported" and case["unit"]["code"] == WEST
    # Filing within 1 working day of Friday 27 September: Sunday 29 is a make-up working day.
    assert case["deadline_at"] == "2024-09-30T00:00:00+08:00"
    assert case["allowed_steps"] == ["file", "decline", "escalate"]
    assert get_case(db, GW, case_id, local(2024, 9, 27, 10))["allowed_steps"] == []
    with pytest.raises(StepNotAllowed) as refused:
        step(db, GW, case_id, "file", local(2024, 9, 27, 11))
    assert refused.value.context["allowed_steps"] == []
    step(db, WEST_OP, case_id, "file", local(2024, 9, 29, 9))
    # Dispatched on Monday 30 September with 3 working days: 8, 9, 10 October (1–7 are the holiday).
    step(db, WEST_OP, case_id, "dispatch", local(2024, 9, 30, 9), to={"kind": "grid", "code": GRID_SW})
    case = get_case(db, GW_SW, case_id, local(2024, 9, 30, 9))
    assert case["state"] == "dispatched" and case["deadline_at"] == "2024-10-11T00:00:00+08:00"
    assert case["allowed_steps"] == ["accept", "escalate", "return", "request_extension", "request_return"]
    step(db, GW_SW, case_id, "accept", local(2024, 10, 8, 9))
    step(db, GW_SW, case_id, "report_back", local(2024, 10, 8, 15), note="已清理")
    step(db, WEST_OP, case_id, "rework", local(2024, 10, 9, 9), note="未清理干净")
    step(db, GW_SW, case_id, "accept", local(2024, 10, 9, 10))
    step(db, GW_SW, case_id, "report_back", local(2024, 10, 10, 10))
    step(db, WEST_OP, case_id, "verify_close", local(2024, 10, 10, 11))
    case = get_case(db, WEST_OP, case_id, local(2024, 10, 10, 11))
    assert (case["state"], case["closed_level"], case["rework_count"], case["late_steps"]) == (
        "closed",
        "grid",
        1,
        0,
    )
    assert [e["step"] for e in case["timeline"]] == [
        "report", "file", "dispatch", "accept", "report_back", "rework", "accept", "report_back", "verify_close"
    ]  # fmt: skip
    assert assert_rows_fold_from_events(db) == 1


def test_escalation_to_the_city_and_back_down(tree, settings):
    db = tree
    t = local(2024, 10, 14, 9)
    case_id = report(db, settings, GW, feature(GRID_NW, "hazard"), CaseFields(priority="key"), None, t).id
    step(db, WEST_OP, case_id, "escalate", t, note="超出社区能力")
    step(db, TOWN_OP, case_id, "escalate", t)
    step(db, COUNTY_OP, case_id, "escalate", t)
    case = get_case(db, CITY_OP, case_id, t)
    assert case["unit"] == {"kind": "centre", "code": CITY, "department": None}
    assert "escalate" not in case["allowed_steps"]  # nothing above the city
    # The county still sees it (it lies there) but can no longer act on it.
    assert get_case(db, COUNTY_OP, case_id, t)["allowed_steps"] == []
    step(db, CITY_OP, case_id, "dispatch", t, to={"kind": "department", "code": COUNTY, "department": "housing"})
    # A key problem: 7 working days from Monday 14 October → the end of Wednesday 23 October.
    assert get_case(db, HOUSING, case_id, t)["deadline_at"] == "2024-10-24T00:00:00+08:00"
    step(db, HOUSING, case_id, "request_extension", t, days=5, note="需要施工")
    step(db, CITY_OP, case_id, "approve_extension", t)
    assert get_case(db, HOUSING, case_id, t)["deadline_at"] == "2024-10-31T00:00:00+08:00"
    step(db, HOUSING, case_id, "report_back", local(2024, 10, 30, 9))
    case = get_case(db, CITY_OP, case_id, t)
    assert case["unit"]["code"] == CITY and case["state"] == "reported_back"
    step(db, CITY_OP, case_id, "verify_close", local(2024, 10, 30, 10))
    assert get_case(db, CITY_OP, case_id, t)["closed_level"] == "county"
    assert_rows_fold_from_events(db)


def test_spot_park_return_and_refusals(tree, settings):
    db = tree
    t = local(2024, 10, 12, 10)  # Saturday 12 October 2024: a make-up working day
    spot = report(db, settings, GW, feature(GRID_NW), CaseFields(on_the_spot=True), None, t).id
    case = get_case(db, WEST_OP, spot, t)
    assert case["state"] == "spot_resolved" and case["deadline_at"] == "2024-10-13T00:00:00+08:00"
    step(db, WEST_OP, spot, "verify_close", t)
    assert get_case(db, WEST_OP, spot, t)["closed_level"] == "grid"

    long_id = report(db, settings, GW, feature(GRID_NW), CaseFields(), None, t).id
    step(db, WEST_OP, long_id, "file", t)
    step(db, WEST_OP, long_id, "park", t, note="待拆迁", review_on=dt.date(2024, 12, 1))
    case = get_case(db, WEST_OP, long_id, t)
    assert (case["state"], case["parked_until"]) == ("parked", "2024-12-01")
    step(db, WEST_OP, long_id, "unpark", local(2024, 12, 2, 9))
    step(db, WEST_OP, long_id, "dispatch", local(2024, 12, 2, 9), to={"kind": "grid", "code": GRID_SW})
    step(db, GW_SW, long_id, "request_return", local(2024, 12, 2, 10), note="不属本网格")
    step(db, WEST_OP, long_id, "approve_return", local(2024, 12, 2, 11))
    case = get_case(db, WEST_OP, long_id, local(2024, 12, 2, 11))
    assert (case["state"], case["unit"]["code"]) == ("filed", WEST)

    with pytest.raises(OutsideGrid) as outside:
        report(db, settings, GW, feature(GRID_NE), CaseFields(), None, t)
    assert outside.value.context["grid_code"] == GRID_NW and outside.value.context["place_grid_code"] == GRID_NE
    with pytest.raises(NotFound):
        get_case(db, GW_NE, long_id, t)
    with pytest.raises(VersionConflict) as stale:
        store.take_step(db, WEST_OP, long_id, "dispatch", 1, {"to": {"kind": "grid", "code": GRID_NW}}, t)
    assert stale.value.context["current"]["state"] == "filed"
    assert assert_rows_fold_from_events(db) == 2
