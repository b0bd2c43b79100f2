"""Least privilege read from the catalogue, the audit log's hash chain, and user writes through one function.

The declared table below is the policy (README, "Database roles"): a new table is added here with what the
app role may do on it, or this test fails.
"""

from __future__ import annotations

import hashlib
import json

import psycopg
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, ProgrammingError

from api.ops import pgcluster
from geo import audit, auth

DML = frozenset({"SELECT", "INSERT", "UPDATE", "DELETE"})
READ = frozenset({"SELECT"})
APP_MAY = {
    "admin_units": DML,
    "grids": DML,
    "grid_versions": DML,
    "department_grids": DML,
    "compounds": DML,
    "incidents": DML,
    "incident_daily_counts": DML,  # kept by statement triggers that run as the writer
    "officers": DML,
    "patrol_routes": DML,
    "roads": DML,
    "cases": frozenset({"SELECT", "INSERT", "UPDATE"}),
    "case_time_limits": frozenset({"SELECT", "INSERT", "UPDATE"}),
    "case_events": frozenset({"SELECT", "INSERT"}),  # a step is never edited or deleted (migration 0007)
    "case_photos": frozenset({"SELECT", "INSERT"}),
    "case_daily_counts": DML,  # the measures' roll-ups, kept by statement triggers that run as the writer (0009)
    "case_step_counts": DML,
    "open311_apps": frozenset({"SELECT", "INSERT"}),  # registered, never edited nor deleted (migration 0008)
    "open311_requests": frozenset({"SELECT", "INSERT"}),  # who filed a public case: written once with it
    "audit_log": frozenset({"SELECT", "INSERT"}),
    "audit_chain_tip": READ,
    "users": READ,
    "roles": READ,
    "alembic_version": READ,
    "spatial_ref_sys": READ,
    "geometry_columns": READ,
    "geography_columns": READ,
}


def test_app_role_grants_are_exactly_the_declared_table(engine):
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT c.relname, p.priv FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                "CROSS JOIN unnest(ARRAY['SELECT','INSERT','UPDATE','DELETE','TRUNCATE','REFERENCES','TRIGGER']) "
                "AS p(priv) WHERE n.nspname = 'public' AND c.relkind IN ('r', 'v', 'p') "
                "AND has_table_privilege(current_user, c.oid, p.priv)"
            )
        ).all()
    held: dict[str, set[str]] = {}
    for table, priv in rows:
        held.setdefault(table, set()).add(priv)
    assert set(held) - set(APP_MAY) == set(), "tables the app can reach but the policy does not declare"
    assert {t: held.get(t, set()) for t in APP_MAY} == {t: set(p) for t, p in APP_MAY.items()}


def test_public_may_not_connect_or_make_temporary_tables(settings, engine):
    dbname = make_url(settings.owner_database_url).database
    with psycopg.connect(pgcluster.libpq_url(settings.admin_database_url), autocommit=True) as conn:
        public = conn.execute(
            "SELECT has_database_privilege('public', %s, 'CONNECT'), has_database_privilege('public', %s, 'TEMP')",
            (dbname, dbname),
        ).fetchone()
    assert public == (False, False)
    with engine.connect() as conn:  # the app role itself still can: it is granted both by name
        assert conn.execute(text("SELECT has_database_privilege(current_database(), 'CONNECT,TEMP')")).scalar()


@pytest.mark.parametrize(
    "statement",
    [
        "DELETE FROM audit_log",
        "UPDATE audit_log SET actor = 'nobody'",
        "TRUNCATE audit_log",
        "UPDATE users SET roles = ARRAY['admin']",
        "INSERT INTO users (username, roles, area_code, token_sha256) VALUES ('mint', '{admin}', '610300', repeat('0', 64))",
        "DELETE FROM roles",
        "UPDATE alembic_version SET version_num = '0001'",
        "DELETE FROM spatial_ref_sys WHERE srid = 4326",
        "UPDATE audit_chain_tip SET seq = 0",
    ],
)
def test_app_role_cannot_erase_its_trail_or_mint_users(engine, statement):
    with engine.connect() as conn, pytest.raises(ProgrammingError, match="permission denied"):
        conn.execute(text(statement))


def _canonical(row) -> bytes:
    """The row's text as the published rule says (migration 0005), built here independently of the SQL."""
    parts = [
        json.dumps(row.chain_seq),
        json.dumps(row.id),
        json.dumps(row.at_utc),
        *(json.dumps(v, ensure_ascii=False) for v in (row.actor, row.action, row.entity_type, row.entity_id)),
        row.before_text or "null",
        row.after_text or "null",
        json.dumps(row.reason, ensure_ascii=False),
    ]
    return ("[" + ", ".join(parts) + "]").encode()


@pytest.fixture
def chain_rows(engine, owner_engine):
    """Commits three audit rows (the chain links only at a real commit) and removes them, as the owner, after."""
    yield lambda: _commit_three(engine)
    with owner_engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_log WHERE actor IN ('chain-test', 'someone else')"))


def _commit_three(engine) -> list[int]:
    with engine.begin() as conn:
        ids = [
            conn.execute(
                text(
                    "INSERT INTO audit_log (actor, action, entity_type, entity_id, after, reason) "
                    "VALUES ('chain-test', 'create', 'probe', :e, CAST(:a AS jsonb), :r) RETURNING id"
                ),
                {"e": str(n), "a": json.dumps({"n": n, "名": "网格"}), "r": None if n else "原因"},
            ).scalar_one()
            for n in range(3)
        ]
    return ids


def test_committed_rows_are_chained_by_the_published_rule(engine, chain_rows):
    with engine.connect() as conn:
        start = conn.execute(text("SELECT seq FROM audit_chain_tip")).scalar_one()
    ids = chain_rows()
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT id, chain_seq, actor, action, entity_type, entity_id, reason, before::text AS before_text, "
                "after::text AS after_text, prev_hash, row_hash, "
                "to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') AS at_utc "
                "FROM audit_log WHERE id = ANY(:ids) ORDER BY chain_seq"
            ),
            {"ids": ids},
        ).all()
        report = audit.verify(conn, start)
    assert [r.chain_seq for r in rows] == [start + 1, start + 2, start + 3]
    previous = bytes(rows[0].prev_hash)
    for row in rows:
        assert bytes(row.prev_hash) == previous
        previous = hashlib.sha256(previous + _canonical(row)).digest()
        assert bytes(row.row_hash) == previous
    assert report.problems == [] and report.tip_seq == start + 3


def test_verify_names_an_altered_and_a_deleted_row_even_by_the_owner(engine, owner_engine, chain_rows):
    with engine.connect() as conn:
        start = conn.execute(text("SELECT seq FROM audit_chain_tip")).scalar_one()
    first, middle, last = chain_rows()
    with owner_engine.begin() as conn:
        conn.execute(text("UPDATE audit_log SET actor = 'someone else' WHERE id = :i"), {"i": first})
        conn.execute(text("DELETE FROM audit_log WHERE id = :i"), {"i": middle})
    with engine.connect() as conn:
        problems = audit.verify(conn, start).problems
    assert problems == [
        f"row id {first} (position {start + 1}) was altered 被改动",
        f"positions {start + 2}–{start + 2} are missing 缺失",
    ]
    with owner_engine.begin() as conn:  # the last row removed too: the tip still tells
        conn.execute(text("DELETE FROM audit_log WHERE id = :i"), {"i": last})
    with engine.connect() as conn:
        assert audit.verify(conn, start).problems[-1].startswith(f"positions after {start + 1} up to {start + 3}")


def test_users_are_written_only_through_the_audited_function(db):
    token = auth.create_user(db, "through-function", "police", actor="admin-x")
    assert auth.authenticate(db, token).roles == frozenset({"police"})
    auth.write_user(db, "admin-x", "through-function", {"active": False, "token_sha256": "f" * 64})
    rows = db.execute(
        text(
            "SELECT actor, action, before ? 'token_sha256', after FROM audit_log WHERE entity_type = 'user' ORDER BY id"
        )
    ).all()
    assert [(r[0], r[1]) for r in rows] == [("admin-x", "create"), ("admin-x", "update")]
    assert rows[1][2] is False and rows[1][3]["active"] is False and rows[1][3]["token_changed"] is True
    assert "token_sha256" not in rows[0][3]
    with pytest.raises(DBAPIError, match="not a writable users column: id"), db.begin_nested():
        auth.write_user(db, "admin-x", "through-function", {"id": 1})
