"""Case measures from the roll-ups (migration 0009): figures worked by hand from eight cases, the local-day
edges of the period, the exact median across buckets, and the roll-ups following a case's change."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import text

from geo.area import Area
from geo.cases import rollup
from geo.cases.measures import direct_medians, direct_totals, measures
from tests.case_helpers import CITY, caller, local

START, END = dt.date(2024, 10, 1), dt.date(2024, 10, 8)
A, B = "610302", "610303"  # two counties; A's towns 610302001 and 610302002
# (reported at, county, town, category, state, closed level, late steps, reworks, handled, file s, verify s)
CASES = [
    (local(2024, 10, 1, 0, 0), A, "610302001", "dispute", "closed", "grid", 0, 0, True, 100, 400),
    (local(2024, 10, 3, 10, 0), A, "610302001", "hazard", "closed", "community", 1, 1, True, 300, 250),
    (local(2024, 10, 7, 23, 59, 59), A, "610302002", "dispute", "filed", None, 0, 0, False, 50000, None),
    (local(2024, 10, 4, 9, 0), A, "610302002", "service", "handling", None, 0, 0, True, 60001, None),
    (local(2024, 10, 5, 9, 0), B, "610303001", "dispute", "declined", None, 0, 0, False, 200, None),
    (local(2024, 10, 2, 9, 0), None, None, "other", "filed", None, 0, 0, False, 1000, None),
    (local(2024, 9, 30, 23, 59), A, "610302001", "dispute", "closed", "grid", 0, 0, True, 7, 7),  # the day before
    (local(2024, 10, 8, 0, 0), A, "610302001", "dispute", "closed", "grid", 0, 0, True, 9, 9),  # the end day
]


@pytest.fixture
def cases(db):
    ids = []
    for at, county, town, cat, state, level, late, rework, handled, file_s, verify_s in CASES:
        incident = db.execute(
            text(
                "INSERT INTO incidents (category, occurred_at, county_code, town_code, geom) "
                "VALUES (:c, :t, :k, :w, ST_SetSRID(ST_MakePoint(107.105, 34.365), 4326)) RETURNING id"
            ),
            {"c": cat, "t": at, "k": county, "w": town},
        ).scalar_one()
        case = db.execute(
            text(
                """INSERT INTO cases (incident_id, reporter, channel, category, state, unit_kind, unit_code,
                       handler_kind, handler_code, town_code, county_code, reported_at, step_started_at,
                       late_steps, rework_count, closed_level)
                   VALUES (:i, 'test', 'grid_worker', :c, :s, 'centre', :u, :hk, :hc, :w, :k, :t, :t, :late,
                           :rw, :lv) RETURNING id"""
            ),
            {"i": incident, "c": cat, "s": state, "u": county or CITY, "hk": "centre" if handled else None,
             "hc": town if handled else None, "w": town, "k": county, "t": at, "late": late, "rw": rework,
             "lv": level},
        ).scalar_one()  # fmt: skip
        steps = [("report", None), ("file", file_s)] + ([("verify_close", verify_s)] if verify_s else [])
        db.execute(
            text("INSERT INTO case_events (case_id, step, at, actor, elapsed_s) VALUES (:c, :s, :t, 'test', :e)"),
            [{"c": case, "s": s, "t": at, "e": e} for s, e in steps],
        )
        ids.append(case)
    return ids


def test_city_figures_worked_by_hand(db, cases):
    m = measures(db, caller("m", "centre_operator", CITY), CITY, START, END)
    # In the period: the first six (the 7th was reported the day before, the 8th on the end day).
    assert (m["received"], m["filed"], m["declined"], m["closed"], m["parked"]) == (6, 5, 1, 2, 0)
    assert (m["on_time_closure_rate"], m["rework_rate"]) == (0.5, 0.5)
    assert m["closed_at_level"] == {"grid": 1, "community": 1, "town": 0, "county": 0, "city": 0}
    assert m["dispute_funnel"] == {"received": 3, "filed": 2, "dispatched_or_handled": 1, "closed": 1}
    # file: 100 200 300 1000 50000 60001 → (300 + 1000) / 2 = 650 s; verify_close: 250 400 → 325 s
    assert rollup.step_medians(db, Area.of(CITY), START, END) == {"file": 650.0, "verify_close": 325.0}
    assert m["median_hours_before_step"] == {"file": 0.18, "verify_close": 0.09}


def test_county_and_town_figures_worked_by_hand(db, cases):
    county = measures(db, caller("m", "centre_operator", CITY), A, START, END)
    assert (county["received"], county["filed"], county["closed"], county["declined"]) == (4, 4, 2, 0)
    assert county["dispute_funnel"] == {"received": 2, "filed": 2, "dispatched_or_handled": 1, "closed": 1}
    # file: 100 300 50000 60001 → (300 + 50000) / 2, the two middle values in buckets far apart
    assert rollup.step_medians(db, Area.of(A), START, END) == {"file": 25150.0, "verify_close": 325.0}
    assert rollup.step_medians(db, Area.of(B), START, END) == {"file": 200.0}
    town = measures(db, caller("m", "centre_operator", A), "610302002", START, END)  # counted from the cases
    assert (town["received"], town["filed"], town["median_hours_before_step"]) == (2, 2, {"file": 15.28})


def test_roll_ups_equal_the_cases_and_follow_a_step(db, cases):
    for code in (CITY, A, B):
        area = Area.of(code)
        assert rollup.totals(db, area, START, END) == direct_totals(db, area, START, END)
        assert rollup.step_medians(db, area, START, END) == direct_medians(db, area, START, END)
    db.execute(text("UPDATE cases SET state = 'closed', closed_level = 'town' WHERE id = :i"), {"i": cases[2]})
    db.execute(
        text(
            "INSERT INTO case_events (case_id, step, at, actor, elapsed_s) VALUES (:c, 'verify_close', now(), 't', 1)"
        ),
        {"c": cases[2]},
    )
    totals = rollup.totals(db, Area.of(A), START, END)
    assert (totals["closed"], totals["at_town"], totals["d_closed"]) == (3, 1, 2)
    assert totals == direct_totals(db, Area.of(A), START, END)
    assert rollup.step_medians(db, Area.of(A), START, END)["verify_close"] == 250.0  # 1 250 400


def test_middle_rank():
    assert rollup.middle_rank([(3, 2), (7, 1)]) == (3, 1, 1)  # n 3: rank 1, the 2nd of bucket 3, odd → take 1
    assert rollup.middle_rank([(3, 1), (7, 2), (9, 3)]) == (7, 1, 2)  # n 6: rank 2, the 2nd of bucket 7, take 2
    assert rollup.middle_rank([(5, 1)]) == (5, 0, 1)
