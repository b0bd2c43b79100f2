"""The demo's case histories: every row is the fold of its events, the seed figures come back from the events
(and stop coming back when the events disagree), and the measures see the same Feng county funnel."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import text
from sqlalchemy.orm import Session

from geo.area import Area
from geo.cases import rollup
from geo.cases.measures import direct_medians, direct_totals, measures
from geo.demo import targets
from tests.case_helpers import CITY, assert_rows_fold_from_events, caller


def test_every_demo_case_is_the_fold_of_its_events(demo_db, engine):
    with Session(engine) as s:
        assert assert_rows_fold_from_events(s) >= targets.CITY_DISPUTES_RESOLVED_2020 + targets.HAZARDS_2020


def test_feng_county_funnel_from_the_measures(demo_db, engine):
    with Session(engine) as s:
        # Only 2020's incidents have cases, so a window around 2020 holds all of Feng county's.
        m = measures(s, caller("m", "centre_operator", CITY), "610330", dt.date(2019, 12, 1), dt.date(2021, 7, 1))
    funnel = m["dispute_funnel"]
    assert (funnel["received"], funnel["closed"]) == (
        targets.FENG_DISPUTES_2020,
        targets.FENG_DISPUTES_RESOLVED_2020,
    )
    assert m["closed_at_level_share"]["grid"] > 0.5  # most closed inside their grid


def test_roll_ups_give_the_demo_figures_counted_from_its_cases(demo_db, engine):
    start, end = dt.date(2019, 12, 1), dt.date(2021, 7, 1)
    with Session(engine) as s:
        for code in (CITY, "610330", "610302"):
            area = Area.of(code)
            assert rollup.totals(s, area, start, end) == direct_totals(s, area, start, end)
            medians = rollup.step_medians(s, area, start, end)
            assert medians == direct_medians(s, area, start, end) and len(medians) >= 4


def test_case_checks_miss_when_the_events_disagree(demo_db, owner_engine):
    with owner_engine.connect() as conn:
        assert all(r.ok for r in targets.run_checks(conn) if r.check.key.startswith("case_"))
        conn.execute(
            text(
                """INSERT INTO case_events (case_id, step, at, actor)
                   SELECT min(id), 'verify_close', now(), 'test' FROM cases
                   WHERE category = 'dispute' AND county_code = '610330' AND state <> 'closed'"""
            )
        )
        missed = {r.check.key for r in targets.run_checks(conn) if not r.ok}
        assert missed == {"case_feng_disputes_closed", "case_city_disputes_closed"}
        conn.rollback()
