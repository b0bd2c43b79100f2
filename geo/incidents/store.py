"""Storing checked incidents with their grid assignment, in the caller's transaction.

Re-importing an external_id updates that incident (the columns the input provides win; the others keep
their stored values); rows without external_id always insert. An error anywhere writes nothing.
- Small batches: one INSERT … ON CONFLICT assigning in PostGIS, one indexed probe per point.
- Large batches are assigned in memory by geo.assignment.memory_rule (the same rule) and COPYed straight into
  incidents (write_copy). If one of their external_ids is stored already (a sample is looked up
  first; the COPY's unique index catches the rest, and a savepoint undoes it), they go through a staging
  table and the same INSERT … ON CONFLICT, which updates."""

from __future__ import annotations

import numpy as np
from sqlalchemy import text
from sqlalchemy.orm import Session

from geo.assignment import memory_rule
from geo.incidents.checks import IncidentRows
from geo.incidents.model import Progress
from geo.incidents.replaced import replaced_by_keys, replaced_by_staging
from geo.incidents.write_copy import copy_new
from geo.incidents.write_probe import store_small
from geo.incidents.write_staged import dry_run_counts, insert_staged, stage
from geo.pg.textcols import missing

# Below STAGING_MIN rows an unnest() insert with one indexed probe per point is fastest; above it the
# in-memory assignment wins once its indexes are built, but building them costs seconds, so a process that
# has not built them yet probes up to COLD_MIN rows (the measured figures: README, "Incidents and compounds").
STAGING_MIN = 200
COLD_MIN = 20_000
PROBE_IDS = 1000
BULK_MS_PER_ROW = 0.2  # statement time allowed per imported row: 5× the slowest 10⁶-row COPY seen


def store(
    session: Session,
    rows: IncidentRows,
    synthetic: bool = False,
    progress: Progress | None = None,
    dry_run: bool = False,
    capture: bool = False,
) -> dict:
    """Insert/update the rows with their grid assignment; {inserted, updated, outside_jurisdiction, ids}.

    A small batch (one report, say) also gets `ids` and `properties`: each row's id and properties as stored,
    in id order.

    dry_run assigns the points and reports what an import would do, writing nothing. capture adds
    `replaced`: the stored values of the rows it updates, as columns (geo.incidents.replaced), for the audit.
    """
    if len(rows) == 0:
        return {"inserted": 0, "updated": 0, "outside_jurisdiction": 0, "ids": [], "replaced": None}
    optional = list(rows.optional)
    capture = capture and "external_id" in optional and not dry_run
    staged = dry_run or len(rows) >= COLD_MIN or (len(rows) >= STAGING_MIN and memory_rule.warm())
    if not staged:
        keys = [k for k in rows.optional["external_id"] if k] if capture else []
        replaced = replaced_by_keys(session, keys, optional) if keys else None
        inserted, updated, outside, ids, stored = store_small(session, rows, optional, synthetic)
        return {"inserted": inserted, "updated": updated, "outside_jurisdiction": outside, "ids": ids,
                "replaced": replaced, "properties": stored}  # fmt: skip
    # Memory for the insert's transition table (the daily roll-up trigger reads every new row once): a
    # million rows spill to disk at the default work_mem. An error rolls the transaction back, SET LOCAL too.
    session.execute(text("SET LOCAL work_mem = '512MB'"))
    timeout = _lift_statement_timeout(session, len(rows))
    if progress:
        progress("assign", 0, len(rows))
    hits = memory_rule.assign_points(session, rows.lon, rows.lat)
    if progress:
        progress("assign", len(rows), len(rows))
    order = write_order(rows)
    result: dict | None = None
    if dry_run:
        result = dry_run_counts(session, rows, hits, progress)
    elif not _some_stored(session, rows):
        result = copy_new(session, rows, optional, hits, order, synthetic, progress)
    if result is None:
        stage(session, rows, optional, hits, order, progress)
        replaced = replaced_by_staging(session, optional) if capture else None
        if progress:
            progress("insert", 0, len(rows))
        inserted, updated, outside = insert_staged(session, rows, optional, synthetic)
        result = {"inserted": inserted, "updated": updated, "outside_jurisdiction": outside, "ids": [],
                  "replaced": replaced}  # fmt: skip
    result.setdefault("replaced", None)  # the COPY path writes new rows only
    session.execute(text("SET LOCAL work_mem = DEFAULT"))
    session.execute(text("SELECT set_config('statement_timeout', :t, true)"), {"t": timeout})
    if progress:
        progress("insert", len(rows), len(rows))
    return result


def write_order(rows: IncidentRows) -> np.ndarray:
    """The order rows are written in: by external_id when the rows have one, else by time.

    By external_id because two imports sharing new ids must lock them (unique-index entries, then rows) in
    one order: in opposite orders each waited on an id the other held and one was killed as a deadlock
    (issue 15). Bytewise (code point) order, as PostgreSQL's COLLATE "C" sorts the small and staged paths
    (insert_sql). Without ids no two writers meet on a row, and time order lays the heap out as statistics
    read it (rows without an id go first, in time order).
    """
    by_time = np.argsort(rows.occurred_at, kind="stable")
    ids = rows.optional.get("external_id")
    if ids is None:
        return by_time
    keys = np.where(missing(ids[by_time]), "", ids[by_time])
    # Python's stable sort of str: code point order, memory-safe whatever the ids' length, and linear when
    # the ids already follow time (usual for sequence numbers); 1.4 s for 10⁶ shuffled ids, where pandas'
    # sorted factorize took 8.5 s and a fixed-width numpy array would take n × the longest id × 4 bytes.
    return by_time[np.array(sorted(range(len(keys)), key=keys.__getitem__), dtype=np.int64)]


def _some_stored(session: Session, rows: IncidentRows) -> bool:
    """Whether a sample of the rows' external ids (up to PROBE_IDS, spread over the input) is stored already.

    A re-sent file then goes straight to the upsert: a COPY that meets a stored id fails only at its end,
    after every part was encoded and sent (~4 s per 10⁶ rows). A stored id the sample misses still stops
    the COPY, and the savepoint sends the rows to the upsert all the same.
    """
    ids = rows.optional.get("external_id")
    if ids is None:
        return False
    sample = [i for i in ids[:: max(1, len(ids) // PROBE_IDS)] if i is not None]
    return bool(
        session.execute(
            text("SELECT EXISTS (SELECT 1 FROM incidents WHERE external_id = ANY(CAST(:ids AS text[])))"),
            {"ids": sample},
        ).scalar_one()
    )


def _lift_statement_timeout(session: Session, n: int) -> str:
    """Give this import's statements BULK_MS_PER_ROW each (never less than the session's limit); the old limit.

    The app's 30 s statement limit would cut a 10⁶-row COPY short: that one statement takes 25–40 s here.
    """
    current = session.execute(text("SELECT setting::bigint FROM pg_settings WHERE name = 'statement_timeout'"))
    ms = int(current.scalar_one())
    if ms:  # 0: no limit to lift
        lifted = max(ms, int(n * BULK_MS_PER_ROW))
        session.execute(text("SELECT set_config('statement_timeout', :t, true)"), {"t": str(lifted)})
    return str(ms)
