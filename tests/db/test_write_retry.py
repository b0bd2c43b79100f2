"""The server-side retry of a write that collided with another writer (geo.pg.retry), on real deadlocks."""

from __future__ import annotations

import threading

import psycopg
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session

from geo.errors import WriteCollision
from geo.pg.retry import ATTEMPTS, retried

KEYS = (915_001, 915_002)  # advisory lock keys of this test only


def _deadlock_pair(engine) -> tuple[list[int], list[BaseException | None]]:
    """Two transactions taking two advisory locks in opposite orders: PostgreSQL kills one as a deadlock.

    The loser is retried by retried(); returns each side's number of attempts and final error.
    """
    both_hold = threading.Barrier(2)
    calls = [0, 0]
    errors: list[BaseException | None] = [None, None]

    def side(k: int) -> None:
        first, second = KEYS if k == 0 else KEYS[::-1]
        with Session(engine) as session:

            def work() -> None:
                calls[k] += 1
                session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": first})
                if calls[k] == 1:  # the first attempt waits until both hold their first lock
                    both_hold.wait(timeout=10)
                session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": second})
                session.commit()

            try:
                retried(session, work)
            except BaseException as exc:  # noqa: BLE001 (reported to the test)
                errors[k] = exc

    threads = [threading.Thread(target=side, args=(k,)) for k in (0, 1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return calls, errors


def test_a_real_deadlock_is_retried_and_both_writers_finish(engine):
    calls, errors = _deadlock_pair(engine)
    assert errors == [None, None]
    assert sorted(calls) == [1, 2]  # the loser ran once more, the winner once


def test_collisions_past_the_attempts_become_write_collision(db):
    calls = []

    def work() -> None:
        calls.append(1)
        raise psycopg.errors.DeadlockDetected("deadlock detected")

    with pytest.raises(WriteCollision) as caught:
        retried(db, work)
    assert len(calls) == ATTEMPTS
    assert caught.value.context["sqlstate"] == "40P01" and caught.value.context["retry_after"] >= 1


def test_other_database_errors_are_not_retried(db):
    calls = []

    def work() -> None:
        calls.append(1)
        raise psycopg.errors.UniqueViolation("duplicate key")

    with pytest.raises(psycopg.errors.UniqueViolation):
        retried(db, work)
    assert len(calls) == 1


def test_the_api_answers_503_with_retry_after_never_500(settings):
    from api.errors import install

    app = FastAPI()
    install(app)

    @app.get("/collide")
    def collide() -> None:
        raise WriteCollision("collided", sqlstate="40P01", retry_after=1)

    @app.get("/raw-deadlock")
    def raw() -> None:  # as a COPY raises it: psycopg's own error, not wrapped by SQLAlchemy
        raise psycopg.errors.DeadlockDetected("deadlock detected")

    with TestClient(app, raise_server_exceptions=False) as client:
        for path in ("/collide", "/raw-deadlock"):
            r = client.get(path)
            assert r.status_code == 503 and int(r.headers["Retry-After"]) >= 1, (path, r.text)
            assert r.json()["code"] == "retry" and r.json()["detail_zh"]
