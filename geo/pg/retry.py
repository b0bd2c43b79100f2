"""Retry a whole write transaction when PostgreSQL aborted it for colliding with another writer.

A deadlock (40P01) or serialization failure (40001) says nothing about the input: the same work run again a
moment later normally succeeds. Writers take their locks in one order so this is rare (incident imports:
geo.incidents.store.write_order); when it still happens the server retries rather than hand the client an
error, and only after ATTEMPTS raises WriteCollision, which the API answers 503 with Retry-After (and the
CLI, `citygrid incidents import`, with a message and exit 1).

The COPY paths talk to psycopg directly, so their errors arrive unwrapped (psycopg.Error) as well as
wrapped by SQLAlchemy (DBAPIError); both are recognised.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import TypeVar

import psycopg
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from geo.errors import WriteCollision

T = TypeVar("T")
COLLISIONS = frozenset({"40P01", "40001"})  # deadlock_detected, serialization_failure
ATTEMPTS = 3
PAUSE_S = 0.05  # first back-off; doubled each time, jittered so two retrying writers do not meet again


def collision(exc: BaseException) -> str | None:
    """The SQLSTATE if exc is a collision with another writer, else None."""
    orig = exc.orig if isinstance(exc, DBAPIError) else exc
    state = getattr(orig, "sqlstate", None) if isinstance(orig, psycopg.Error) else None
    return state if state in COLLISIONS else None


def retried(
    session: Session,
    work: Callable[[], T],
    attempts: int | None = None,
    on_retry: Callable[[int, int, str], None] | None = None,
) -> T:
    """Run work (the whole transaction, commit included) again after a collision; rolled back in between.

    attempts defaults to ATTEMPTS (read at each call). on_retry(next attempt, attempts, SQLSTATE) is told of
    each retry before it starts, for a caller with someone to tell (the CLI); the API's client only hears of
    the outcome.
    """
    attempts = attempts or ATTEMPTS
    for attempt in range(1, attempts + 1):
        try:
            return work()
        except (DBAPIError, psycopg.Error) as exc:
            state = collision(exc)
            if state is None:
                raise
            session.rollback()
            if attempt == attempts:
                raise WriteCollision(
                    f"collided with another writer {attempts} times (SQLSTATE {state}); retry shortly",
                    sqlstate=state,
                    attempts=attempts,
                    retry_after=1,
                ) from exc
            if on_retry is not None:
                on_retry(attempt + 1, attempts, state)
            time.sleep(PAUSE_S * 2 ** (attempt - 1) * (0.5 + random.random()))  # noqa: S311 (jitter only)
    raise AssertionError("unreachable")
