"""Relays geometry changes committed by other processes (workers, CLI imports) to this process's listeners.

One daemon thread per database per process LISTENs on geo.pg.events.CHANNEL. After a lost connection (a
database restart) it cannot know what it missed, so it announces every layer as changed, whole.
"""

from __future__ import annotations

import threading

import psycopg

from geo.pg import events
from geo.pg.db import libpq_url

LAYERS = ("admin_units", "grids", "compounds", "incidents", "patrol_routes")
RETRY_S = 2.0
_started: dict[str, tuple[threading.Thread, threading.Event]] = {}
_lock = threading.Lock()


def ensure_listener(database_url: str, wait_s: float = 5.0) -> bool:
    """Start (once per database URL) the thread relaying other processes' NOTIFYs; True once it listens.

    Waits until LISTEN holds, so that nothing committed after a cache starts filling can go unheard.
    """
    with _lock:
        entry = _started.get(database_url)
        if entry is None or not entry[0].is_alive():
            ready = threading.Event()
            thread = threading.Thread(
                target=_run, args=(libpq_url(database_url), ready), name="geometry-listener", daemon=True
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


def _run(url: str, ready: threading.Event) -> None:
    while True:
        try:
            with psycopg.connect(url, autocommit=True, connect_timeout=5) as conn:
                conn.execute(f"LISTEN {events.CHANNEL}")
                if ready.is_set():  # a reconnection: what changed meanwhile is unknown, so drop everything
                    for layer in LAYERS:
                        events.geometry_changed(layer, None)
                ready.set()
                for note in conn.notifies():
                    _relay(note.payload)
        except psycopg.Error:
            threading.Event().wait(RETRY_S)
