"""The daily roll-up (incident_daily_counts) stays exact under every kind of write, and answers like a scan."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from geo.scope import resolve_scope
from geo.stats import rollup
from geo.stats.filters import Window
from geo.stats.periods import windowed_counts
from tests.stats_fixtures import COUNTY, load_stats_data

WINDOWS = [Window(dt.date(2020, 1, 1), dt.date(2021, 1, 1)), Window(dt.date(2018, 12, 31), dt.date(2020, 1, 1))]


@pytest.fixture
def data(db):
    load_stats_data(db)
    return db


def rolled(db, day: str, category: str, county: str = COUNTY) -> int | None:
    return db.execute(
        text("SELECT n FROM incident_daily_counts WHERE day = :d AND county_code = :k AND category = :c"),
        {"d": dt.date.fromisoformat(day), "k": county, "c": category},
    ).scalar_one_or_none()


def test_rollup_holds_local_days(data):
    # Two preventable cases at 00:30 local on 1 January 2020 (16:30 UTC the day before).
    assert rolled(data, "2020-01-01", "preventable") == 2 and rolled(data, "2019-12-31", "preventable") is None
    assert rolled(data, "2019-12-31", "hazard") == 1
    # The incident outside the jurisdiction has no county: not rolled up.
    assert data.execute(text("SELECT sum(n) FROM incident_daily_counts")).scalar_one() == 30 + 17 + 1
    assert rollup.drift(data) == []


@pytest.mark.parametrize("code", ["610300", COUNTY])
def test_rollup_answers_like_a_scan(data, code):
    scope = resolve_scope(data, code)
    for group in [("category",), ("county",), ("category", "county"), ()]:
        for cats in [None, ["property", "hazard"]]:
            fast = windowed_counts(data, scope, WINDOWS, cats, group)
            slow = windowed_counts(data, scope, WINDOWS, cats, group, use_rollup=False)
            assert fast == slow, (group, cats)
            assert fast, (group, cats)


def test_rollup_follows_inserts_updates_deletes(data):
    ins = (
        "INSERT INTO incidents (external_id, category, occurred_at, county_code, geom) "
        "VALUES (:x, :c, :t, :k, ST_SetSRID(ST_MakePoint(107.105, 34.368), 4326))"
    )
    t = dt.datetime(2020, 5, 5, 9, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    data.execute(text(ins), {"x": "ext-1", "c": "other", "t": t, "k": COUNTY})
    assert rolled(data, "2020-05-05", "other") == 1
    # A re-import of the same external_id updates the row: the UPDATE transition tables see it.
    upsert = ins + (
        " ON CONFLICT (external_id) DO UPDATE SET category = EXCLUDED.category, occurred_at = EXCLUDED.occurred_at"
    )
    data.execute(text(upsert), {"x": "ext-1", "c": "hazard", "t": t + dt.timedelta(days=1), "k": COUNTY})
    assert rolled(data, "2020-05-05", "other") == 0 and rolled(data, "2020-05-06", "hazard") == 1
    data.execute(
        text(
            "INSERT INTO incidents (category, occurred_at, county_code, geom) "
            "SELECT 'service', timestamptz '2020-02-01 12:00+08' + n * interval '1 hour', :k, "
            "ST_SetSRID(ST_MakePoint(107.105, 34.368), 4326) FROM generate_series(0, 47) n"
        ),
        {"k": COUNTY},
    )
    assert rolled(data, "2020-02-01", "service") == 12 and rolled(data, "2020-02-03", "service") == 12
    assert rollup.drift(data) == []
    # A status-only update changes nothing; moving rows to another category, day or county does.
    data.execute(text("UPDATE incidents SET status = 'closed' WHERE category = 'service'"))
    data.execute(text("UPDATE incidents SET category = 'other' WHERE category = 'preventable'"))
    data.execute(text("UPDATE incidents SET county_code = NULL WHERE category = 'dispute'"))
    data.execute(
        text("UPDATE incidents SET occurred_at = occurred_at + interval '1 day' WHERE category = 'hazard'")
    )
    assert rollup.drift(data) == []
    data.execute(text("DELETE FROM incidents WHERE category = 'property'"))
    assert rollup.drift(data) == [] and rolled(data, "2020-07-01", "property") == 0


def test_rollup_follows_copy(data):
    raw = data.connection().connection.driver_connection
    rows = [("property", "2020-03-03 08:00+08", COUNTY), ("property", "2020-03-03 23:59+08", COUNTY)]
    with (
        raw.cursor() as cur,
        cur.copy("COPY incidents (category, occurred_at, county_code, geom) FROM STDIN") as cp,
    ):
        for category, when, county in rows:
            cp.write_row((category, when, county, "SRID=4326;POINT(107.105 34.368)"))
    assert rolled(data, "2020-03-03", "property") == 2
    assert rollup.drift(data) == []


def test_rollup_follows_truncate_and_rebuild(owner_engine):
    with owner_engine.connect() as conn:
        tx = conn.begin()
        # Other tests may have committed incidents; start from none (all of this is rolled back).
        conn.execute(text("TRUNCATE incidents"))
        conn.execute(
            text(
                "INSERT INTO incidents (category, occurred_at, county_code, geom) VALUES "
                "('other', now(), '610302', ST_SetSRID(ST_MakePoint(107.1, 34.36), 4326))"
            )
        )
        assert conn.execute(text("SELECT count(*) FROM incident_daily_counts")).scalar_one() == 1
        conn.execute(text("TRUNCATE incidents"))
        assert conn.execute(text("SELECT count(*) FROM incident_daily_counts")).scalar_one() == 0
        conn.execute(text("ALTER TABLE incidents DISABLE TRIGGER incidents_daily_counts_insert"))
        conn.execute(
            text(
                "INSERT INTO incidents (category, occurred_at, county_code, geom) VALUES "
                "('other', now(), '610302', ST_SetSRID(ST_MakePoint(107.1, 34.36), 4326))"
            )
        )
        with Session(bind=conn) as session:
            assert len(rollup.drift(session)) == 1  # a load that bypassed the trigger is detected
            assert rollup.rebuild(session) == 1 and rollup.drift(session) == []
        tx.rollback()
