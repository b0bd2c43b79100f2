"""Two bulk imports at once with overlapping new external ids, one in reverse order (issue 15, item 4).

On committed data through the real app (each request its own connection, as in production). Before the
fix, the two writers inserted the shared ids in opposite orders, each waited on a unique-index entry the
other held, and PostgreSQL's deadlock detector aborted one of them — a plain 500 in 3 of 6 rounds of the
outside probe. Now both take the ids in one order (external_id, bytewise), so one waits and then updates,
and a collision that still happens is retried by the server; at worst a 503 with Retry-After.
"""

from __future__ import annotations

import threading

import numpy as np
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session

from geo.assignment import memory_rule
from geo.incidents.store import STAGING_MIN
from tests.committed_tree import commit_tree, remove_tree
from tests.conftest import ADMIN_TOKEN
from tests.fixtures import X0, Y1, points_across_the_tiny_tree

AUTH = {"Authorization": f"Bearer {ADMIN_TOKEN}", "content-type": "application/geo+json"}
PREFIX = "race-import-"


def _cleanup(owner_engine, since: int) -> None:
    # As the owner: the app role may not delete audit rows.
    with owner_engine.begin() as conn:
        conn.execute(text("DELETE FROM incidents WHERE external_id LIKE :p"), {"p": PREFIX + "%"})
        conn.execute(
            text("DELETE FROM audit_log WHERE id > :s AND action = 'bulk_import' AND entity_type = 'incident'"),
            {"s": since},
        )


@pytest.fixture
def live(settings, engine, owner_engine):
    from api.app import create_app

    commit_tree(owner_engine)
    since = _last_audit(owner_engine)
    with Session(engine) as s:  # build the in-memory grid index, so that ≥ 200 rows take the COPY path
        memory_rule.assign_points(s, np.array([X0 + 0.001]), np.array([Y1 + 0.001]))
    app = create_app(settings)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client, since
    app.state.engine.dispose()
    _cleanup(owner_engine, since)
    remove_tree(owner_engine)


def _last_audit(engine) -> int:
    with engine.connect() as conn:
        return conn.execute(text("SELECT coalesce(max(id), 0) FROM audit_log")).scalar_one()


def _race(client, first: list[str], second: list[str]) -> list:
    """Send both imports at the same moment, from two threads."""
    start = threading.Barrier(2)
    replies: list = [None, None]

    def send(k: int, ids: list[str]) -> None:
        body = points_across_the_tiny_tree(ids)
        start.wait()
        replies[k] = client.post("/api/v1/incidents/bulk", content=body, headers=AUTH)

    threads = [threading.Thread(target=send, args=(k, ids)) for k, ids in enumerate((first, second))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return replies


# Sizes and rounds that deadlocked before the fix: 3,000 rows (COPY path) in 7–8 of 10 rounds, 40 rows
# (one INSERT … ON CONFLICT) in 1–2 of 30; a COPY's window is wider, so it needs fewer rounds.
@pytest.mark.parametrize(("size", "rounds"), [(3000, 8), (STAGING_MIN // 5, 60)], ids=["copy-path", "small-batch"])
def test_overlapping_imports_in_opposite_orders_never_500(live, owner_engine, size, rounds):
    client, since = live
    assert memory_rule.warm()
    failures = []
    for r in range(rounds):
        ids = [f"{PREFIX}{size}-{r}-{k:05d}" for k in range(size)]
        # A quarter only in the first, a quarter only in the second, half in both; the second reversed.
        first, second = ids[: size * 3 // 4], list(reversed(ids[size // 4 :]))
        before = _last_audit(owner_engine)
        replies = _race(client, first, second)
        for reply in replies:
            if reply.status_code >= 500:
                failures.append((r, reply.status_code, reply.headers.get("Retry-After"), reply.text[:200]))
        done = [(ids_, rep) for ids_, rep in zip((first, second), replies, strict=True) if rep.status_code == 200]
        with owner_engine.connect() as conn:
            stored = dict(
                conn.execute(
                    text("SELECT external_id, count(*) FROM incidents WHERE external_id LIKE :p GROUP BY 1"),
                    {"p": f"{PREFIX}{size}-{r}-%"},
                ).all()
            )
            audits = (
                conn.execute(
                    text(
                        "SELECT after FROM audit_log WHERE id > :s AND action = 'bulk_import' "
                        "AND entity_type = 'incident' ORDER BY id"
                    ),
                    {"s": before},
                )
                .scalars()
                .all()
            )
        expected = {i for ids_, _ in done for i in ids_}
        assert stored == dict.fromkeys(expected, 1), f"round {r}: every id exactly once"
        # One audit row per import that answered 200, with that import's own counts.
        assert len(audits) == len(done)
        assert sorted((a["inserted"], a["updated"]) for a in audits) == sorted(
            (rep.json()["inserted"], rep.json()["updated"]) for _, rep in done
        )
        assert sum(a["inserted"] for a in audits) == len(expected)
        assert sum(a["inserted"] + a["updated"] for a in audits) == sum(len(i) for i, _ in done)
    print(f"size {size}: {len(failures)} 5xx in {rounds} rounds", [f[:3] for f in failures])
    # No plain 500; and, since both writers now lock in one order and the server retries a collision, no
    # 503 either (one would carry Retry-After: api/errors.py).
    assert failures == []
