"""The overdue sweep travels in time with as_of across a weekend, the 2024 National Day holiday and the
make-up working Saturday of 12 October 2024; it never fires twice (re-run, restart half-way, two processes).

Expected deadlines are worked by hand from the State Council's 2024 notice (1–7 October off; Sunday 29
September and Saturday 12 October worked), not from the clock module.
"""

from __future__ import annotations

import datetime as dt
import json

import psycopg
import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from geo.cases.report import CaseFields, report
from geo.cases.sweep import sweep
from geo.live import CHANNEL
from geo.pg.db import libpq_url
from tests.case_helpers import (
    CITY,
    COUNTY,
    GRID_NW,
    TOWN,
    WEST,
    assert_rows_fold_from_events,
    caller,
    feature,
    local,
    remove_cases,
)
from tests.committed_tree import commit_tree, remove_tree

GW = caller("gw-nw", "grid_worker", GRID_NW)


def counts(session: Session) -> dict[str, int]:
    rows = session.execute(text("SELECT step, count(*) FROM case_events GROUP BY step")).all()
    return {step: n for step, n in rows}


def test_sweep_across_holiday_and_make_up_days(db, settings):
    from tests.fixtures import load_tiny_tree

    load_tiny_tree(db)
    # Reported Sunday 29 September (a make-up working day): to be filed by the end of Monday 30 September.
    holiday = report(db, settings, GW, feature(GRID_NW), CaseFields(), None, local(2024, 9, 29, 10)).id
    # Reported Friday 11 October: to be filed by the end of Saturday 12 October (a make-up working day).
    make_up = report(db, settings, GW, feature(GRID_NW), CaseFields(), None, local(2024, 10, 11, 10)).id
    # Reported Friday 1 November: the weekend does not count; due by the end of Monday 4 November.
    weekend = report(db, settings, GW, feature(GRID_NW), CaseFields(), None, local(2024, 11, 1, 10)).id

    H, M, W = holiday, make_up, weekend

    def run(*at: int) -> tuple[set[int], set[int]]:
        """The cases supervised and escalated by a sweep as of `at` (local time)."""
        sweep(db, local(*at), grace_days=1)
        fired = db.execute(text("SELECT step, case_id FROM case_events WHERE at = :t"), {"t": local(*at)}).all()
        return {c for s, c in fired if s == "supervise"}, {c for s, c in fired if s == "escalate"}

    assert run(2024, 9, 30, 23) == (set(), set())
    assert run(2024, 10, 1, 0, 30) == ({H}, set())  # overdue: supervised once …
    assert run(2024, 10, 7, 23) == (set(), set())  # … and only once; the holiday gives no working day of grace
    assert run(2024, 10, 8, 23) == (set(), set())  # Tuesday 8 October: its one working day of grace
    assert run(2024, 10, 9, 0, 30) == (set(), {H})  # to the town, to dispatch by the end of 10 October
    assert run(2024, 10, 12, 23) == ({H}, {H})  # the make-up Saturday was its day of grace: to the county
    assert run(2024, 10, 13, 0, 30) == ({M}, set())  # M was due on the make-up Saturday
    assert run(2024, 10, 14, 23) == (set(), set())
    assert run(2024, 10, 15, 0, 30) == ({H}, {M})
    assert run(2024, 11, 2, 12) == ({M}, {H, M})  # H reaches the city; W's weekend is not counted against it
    assert run(2024, 11, 4, 23) == (set(), set())
    assert run(2024, 11, 5, 0, 30) == ({H, M, W}, set())  # nothing escalates above the city
    units = dict(db.execute(text("SELECT id, unit_code FROM cases")).all())
    assert units == {H: CITY, M: COUNTY, W: WEST}
    assert assert_rows_fold_from_events(db) == 3


def test_a_backlog_is_supervised_in_rounds_oldest_deadline_first(db, settings):
    from tests.fixtures import load_tiny_tree

    load_tiny_tree(db)
    # Reported Monday 4 to Friday 8 November 2024: due (filed) by the end of the next working day, so the
    # deadlines are 5, 6, 7, 8 and (over the weekend) 11 November, in the order reported.
    ids = [
        report(db, settings, GW, feature(GRID_NW), CaseFields(), None, local(2024, 11, day, 10)).id
        for day in (6, 4, 8, 5, 7)
    ]
    by_deadline = [ids[1], ids[3], ids[0], ids[4], ids[2]]
    as_of = local(2024, 11, 20, 12)  # all overdue; a 60-day grace escalates none
    rounds = []
    for _ in range(4):
        before = set(db.execute(text("SELECT case_id FROM case_events WHERE step = 'supervise'")).scalars())
        result = sweep(db, as_of, grace_days=60, batch=2)
        after = set(db.execute(text("SELECT case_id FROM case_events WHERE step = 'supervise'")).scalars())
        rounds.append((after - before, result["supervised"], result["more"]))
    assert rounds == [
        (set(by_deadline[:2]), 2, True),
        (set(by_deadline[2:4]), 2, True),
        ({by_deadline[4]}, 1, False),
        (set(), 0, False),
    ]
    # Each round that fired wrote one audit row (its events are the sweep's at as_of); the empty one none.
    sweeps = db.execute(
        text(
            "SELECT after->>'supervised' FROM audit_log WHERE actor = 'system:sweep' AND entity_id = :t ORDER BY id"
        ),
        {"t": as_of.isoformat()},
    ).scalars()
    assert list(sweeps) == ["2", "2", "1"]
    # With a day of grace all five are overdue long enough to escalate: two, two, one, oldest first.
    escalated = []
    for _ in range(3):
        result = sweep(db, as_of, grace_days=1, batch=2)
        moved = db.execute(
            text("SELECT case_id FROM case_events WHERE step = 'escalate' AND at = :t ORDER BY id"), {"t": as_of}
        ).scalars()
        escalated.append((set(moved) - {c for r in escalated for c in r[0]}, result["escalated"], result["more"]))
    assert escalated == [
        (set(by_deadline[:2]), 2, True),
        (set(by_deadline[2:4]), 2, True),
        ({by_deadline[4]}, 1, False),
    ]
    assert assert_rows_fold_from_events(db) == 5


@pytest.fixture
def committed(engine, owner_engine):
    remove_cases(owner_engine)
    commit_tree(owner_engine)
    yield engine
    remove_cases(owner_engine)
    remove_tree(owner_engine)


def test_a_restart_or_a_second_process_neither_loses_nor_doubles(committed, settings):
    with Session(committed) as s:
        for day in (1, 2, 3):
            report(s, settings, GW, feature(GRID_NW), CaseFields(), None, local(2024, 11, day, 10))
        s.commit()
    as_of = local(2024, 11, 20, 12)
    # A sweep that dies half-way (its connection is gone before the commit) leaves nothing behind.
    crashed = Session(committed)
    assert sweep(crashed, as_of, 1)["escalated"] == 3
    crashed.connection().invalidate()
    crashed.close()
    with Session(committed) as s:
        assert counts(s) == {"report": 3}
    # Two processes at once: the second finds the first running and leaves; nothing fires twice.
    first, second = Session(committed), Session(committed)
    assert sweep(first, as_of, 1)["supervised"] == 3
    assert sweep(second, as_of, 1)["skipped"] is True
    first.commit()
    second.rollback()
    again = sweep(second, as_of, 1)
    second.commit()
    first.close()
    second.close()
    with Session(committed) as s:
        # Each case: supervised for its filing deadline, escalated once, then supervised for the town's
        # dispatch deadline (set from as_of, so not due at as_of); a re-run at the same as_of adds nothing.
        assert again == {
            "skipped": False,
            "supervised": 0,
            "escalated": 0,
            "more": False,
            "as_of": as_of.isoformat(),
        }
        assert counts(s) == {"report": 3, "supervise": 3, "escalate": 3}
        assert assert_rows_fold_from_events(s) == 3


def test_the_sweep_sends_each_fired_case_to_the_live_screens_on_commit(committed, settings):
    with Session(committed) as s:
        case_id = report(s, settings, GW, feature(GRID_NW), CaseFields(), None, local(2024, 11, 1, 10)).id
        s.commit()
    as_of = local(2024, 11, 20, 12)
    with psycopg.connect(libpq_url(settings.database_url), autocommit=True) as listener:
        listener.execute(f"LISTEN {CHANNEL}")
        with Session(committed) as s:  # rolled back: PostgreSQL delivers nothing
            sweep(s, as_of, 1)
            s.rollback()
        assert list(listener.notifies(timeout=0.5)) == []
        with Session(committed) as s:
            sweep(s, as_of, 1)
            s.commit()
        received = [json.loads(n.payload) for n in listener.notifies(timeout=5, stop_after=2)]
    # A grid worker's report is held by its community's centre (WEST); overdue since 4 November, it is
    # supervised as it stands, then escalated to the town's centre, and filed there (one version up).
    supervise, escalate = sorted(received, key=lambda n: n["step"] != "supervise")
    assert (supervise["case_id"], supervise["step"], escalate["case_id"], escalate["step"]) == (
        case_id, "supervise", case_id, "escalate"
    )  # fmt: skip
    assert {WEST, GRID_NW} <= set(supervise["units"]) and {TOWN, WEST, GRID_NW} <= set(escalate["units"])
    assert escalate["state"] == "filed" and escalate["version"] == supervise["version"] + 1
    assert escalate["at"] == supervise["at"] == as_of.astimezone(dt.UTC).isoformat()
