"""Relays geometry changes committed by other processes (workers, CLI imports) to this process's listeners.

One daemon thread per database per process LISTENs on geo.pg.events.CHANNEL, on the primary (a NOTIFY is not
replayed on a standby; with a multi-host URL and target_session_attrs=read-write a reconnection finds the
promoted standby). After a lost connection it cannot know what it missed, so it announces every layer as
changed, whole. After each batch of notifications (one, and those already waiting behind it), and every
HEARTBEAT_S, it reports the primary's WAL position (geo.pg.events.position_reported), so that a tile rendered
from a replica is cached only once the replica has replayed past the latest invalidation; only for a database
whose replicas some app of the process reads (`positions`).
"""

from __future__ import annotations

import threading
import time

import psycopg

from geo.layers import LAYERS
from geo.pg import events
from geo.pg.routing import parse_lsn
from geo.pg.urls import conninfo

RETRY_S = 2.0
HEARTBEAT_S = 1.0
_started: dict[str, tuple[threading.Thread, threading.Event]] = {}
_lock = threading.Lock()
# The databases some app of this process reads replicas of: only their positions are of use (a tile rendered on
# the primary needs none), and on the others a query after every write's NOTIFY was work for nobody.
_positions_for: set[str] = set()


def ensure_listener(database_url: str, wait_s: float = 5.0, positions: bool = True) -> bool:
    """Start (once per database URL) the thread relaying other processes' NOTIFYs; True once it listens.

    Waits until LISTEN holds, so that nothing committed after a cache starts filling can go unheard. positions:
    whether the caller reads replicas, whose tiles need the primary's WAL position after each invalidation.
    """
    with _lock:
        if positions:
            _positions_for.add(database_url)
        entry = _started.get(database_url)
        if entry is None or not entry[0].is_alive():
            ready = threading.Event()
            thread = threading.Thread(
                target=_run, args=(database_url, ready), name="geometry-listener", daemon=True
            )
            entry = _started[database_url] = (thread, ready)
            thread.start()
    return entry[1].wait(wait_s)


def _relay(raw: str) -> None:
    parsed = events.parse_payload(raw)
    if parsed is None:
        return
    origin, layer, bbox = parsed
    if origin != events.ORIGIN:
        events.geometry_changed(layer, bbox)


def _report_position(conn: psycopg.Connection, database_url: str) -> None:
    queried_at = time.monotonic()  # before the query: whatever committed before this instant is at or below it
    row = conn.execute("SELECT pg_current_wal_lsn()::text").fetchone()
    lsn = parse_lsn(row[0]) if row else None
    if lsn is not None:
        events.position_reported(database_url, lsn, queried_at)


def _run(database_url: str, ready: threading.Event) -> None:
    while True:
        try:
            with psycopg.connect(conninfo(database_url), autocommit=True, connect_timeout=5) as conn:
                conn.execute(f"LISTEN {events.CHANNEL}")
                if ready.is_set():  # a reconnection: what changed meanwhile is unknown, so drop everything
                    for layer in LAYERS:  # every published layer (geo/layers.py)
                        events.geometry_changed(layer, None)
                ready.set()
                while True:
                    heard = False
                    for note in conn.notifies(timeout=HEARTBEAT_S, stop_after=1):
                        _relay(note.payload)
                        heard = True
                    if heard:  # a busy stream: what has already arrived shares one position query (no wait)
                        for note in conn.notifies(timeout=0):
                            _relay(note.payload)
                    if database_url in _positions_for:
                        _report_position(conn, database_url)
        except psycopg.Error:
            threading.Event().wait(RETRY_S)
