"""Scale the demo's cases up in SQL for bench/cases.py: n synthetic incidents, their cases and ~5 events each.

All rows are marked (incidents.external_id 'BENCHCASE-…', cases.reporter 'bench:scale') and removed by
drop_scaled. A third of the open cases lie in one county (the queue page the issue asks about: 100k open cases
in a county at 10⁶ cases). Closed cases carry 6 events, open ones 2–4: ~5 per case. The events carry their case's report day and
county themselves (migration 0009's row trigger then looks nothing up).
"""

from __future__ import annotations

import time

from sqlalchemy import Engine, text

MARK = "bench:scale"
QUEUE_COUNTY = "610302"

_GRIDS = """
CREATE TEMP TABLE bench_grids AS
SELECT row_number() OVER (ORDER BY g.code) - 1 AS k, g.code, g.community_code, a.parent_code AS town_code,
       t.parent_code AS county_code, ST_PointOnSurface(g.geom) AS geom, t.parent_code = :county AS in_queue_county
FROM grids g JOIN admin_units a ON a.code = g.community_code JOIN admin_units t ON t.code = a.parent_code
WHERE g.status = 'active'
"""
# Each synthetic incident: grid k (open ones: a third in the queue county), a time in the year before now.
_INCIDENTS = """
INSERT INTO incidents (external_id, category, status, occurred_at, reported_at, source_crs, grid_code,
                       community_code, town_code, county_code, synthetic, geom)
SELECT 'BENCHCASE-' || i, (ARRAY['dispute','hazard','service','other'])[1 + i % 4], 'reported',
       now() - make_interval(secs => (i % 31536000)), now() - make_interval(secs => (i % 31536000)),
       'EPSG:4326', g.code, g.community_code, g.town_code, g.county_code, true, g.geom
FROM generate_series(1, :n) i
JOIN bench_grids g ON g.k = CASE WHEN i % 10 < 3 AND i % 3 = 0 THEN (SELECT min(k) FROM bench_grids WHERE in_queue_county)
                                    + (i / 10) % (SELECT count(*) FROM bench_grids WHERE in_queue_county)
                                 ELSE i % (SELECT count(*) FROM bench_grids) END
"""
# 30 % open (i % 10 < 3): dispatched to the grid, deadlines spread over the 20 days around now.
_CASES = """
INSERT INTO cases (incident_id, reporter, channel, category, priority, state, unit_kind, unit_code,
                   dispatch_code, handler_kind, handler_code, grid_code, community_code, town_code, county_code,
                   reported_at, step_started_at, deadline_at, rework_count, late_steps, closed_at, closed_level,
                   version, updated_at)
SELECT x.id, :mark, 'grid_worker', x.category, 'normal', x.state,
       CASE WHEN x.open THEN 'grid' ELSE 'centre' END, CASE WHEN x.open THEN x.grid_code ELSE x.community_code END,
       x.community_code, 'grid', x.grid_code, x.grid_code, x.community_code, x.town_code, x.county_code,
       x.reported_at, x.reported_at, CASE WHEN x.open THEN now() + make_interval(hours => ((x.id % 480) - 240)::int) END,
       (x.id % 17 = 0)::int, (x.id % 11 = 0)::int, CASE WHEN x.open THEN NULL ELSE x.reported_at + interval '2 days' END,
       CASE WHEN x.open THEN NULL ELSE 'grid' END, CASE WHEN x.open THEN 4 ELSE 6 END, x.reported_at
FROM (SELECT i.*, substr(i.external_id, 11)::bigint % 10 < 3 AS open,
             CASE WHEN substr(i.external_id, 11)::bigint % 10 < 3 THEN 'handling' ELSE 'closed' END AS state
      FROM incidents i WHERE i.external_id LIKE 'BENCHCASE-%') x
"""
_EVENTS = """
INSERT INTO case_events (case_id, step, at, actor, to_unit_kind, to_unit_code, deadline_at, elapsed_s, late,
                         reported_on, county_code)
SELECT c.id, s.step, c.reported_at + s.n * interval '7 hours', 'bench', 'grid', c.grid_code, c.deadline_at,
       CASE WHEN s.n > 0 THEN 25200 + (c.id % 3600)::int END, false,
       (c.reported_at AT TIME ZONE 'Asia/Shanghai')::date, c.county_code
FROM cases c
CROSS JOIN LATERAL (SELECT * FROM unnest(ARRAY['report','file','dispatch','accept','report_back','verify_close'])
                    WITH ORDINALITY AS u(step, n0)) u
CROSS JOIN LATERAL (SELECT u.step, u.n0 - 1 AS n) s
WHERE c.reporter = :mark AND (c.state = 'closed' OR u.n0 <= 2 + c.id % 3)
"""


def scale(owner: Engine, n: int, say=print) -> dict[str, float]:
    """Add n scaled cases; seconds per phase."""
    took: dict[str, float] = {}
    with owner.begin() as conn:
        conn.execute(text("SET LOCAL statement_timeout = 0"))
        conn.execute(text("SET LOCAL work_mem = '256MB'"))
        conn.execute(text(_GRIDS), {"county": QUEUE_COUNTY})
        for name, sql in (("incidents", _INCIDENTS), ("cases", _CASES), ("events", _EVENTS)):
            t = time.perf_counter()
            conn.execute(text(sql), {"n": n, "mark": MARK})
            took[name] = time.perf_counter() - t
            say(f"  scaled {name}: {took[name]:.1f} s")
    # VACUUM too, not only ANALYZE: a bulk load of 5·10⁶ events sets autovacuum going, and a worker vacuuming
    # them during the measurements competed for the 2 cores (the bare-insert floor rose 0.9 → 1.4 ms in such a
    # run, every figure with it). A production database has long since vacuumed its rows.
    t = time.perf_counter()
    with owner.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT").execute(
            text("VACUUM (ANALYZE) incidents, cases, case_events, audit_log")
        )
    took["vacuum"] = time.perf_counter() - t
    say(f"  vacuumed: {took['vacuum']:.1f} s")
    return took


def drop_scaled(owner: Engine) -> float:
    """Remove every scaled row (the demo's own cases stay); seconds."""
    t = time.perf_counter()
    with owner.begin() as conn:
        conn.execute(text("SET LOCAL statement_timeout = 0"))
        ids = "SELECT id FROM cases WHERE reporter = :m OR reporter LIKE 'bench-op-%'"
        conn.execute(text(f"DELETE FROM case_photos WHERE case_id IN ({ids})"), {"m": MARK})
        conn.execute(text(f"DELETE FROM case_events WHERE case_id IN ({ids})"), {"m": MARK})
        conn.execute(text("DELETE FROM cases WHERE reporter = :m OR reporter LIKE 'bench-op-%'"), {"m": MARK})
        conn.execute(
            text("DELETE FROM incidents WHERE external_id LIKE 'BENCHCASE-%' OR external_id LIKE 'BENCHREP-%'")
        )
    return time.perf_counter() - t
