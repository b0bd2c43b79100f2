"""Geometry-change notifications: writers announce which layer and bbox changed; caches listen.

Writers inside a transaction call `on_commit(session, layer, bbox)`: listeners hear of the change only
once that transaction commits (never on rollback), so a tile cache can never be refreshed from data a
reader could not yet see. Code that has already committed (bulk COPY loads) calls `geometry_changed`.
Layers are table names: admin_units, grids, compounds, incidents, patrol_routes.

Other processes (more uvicorn workers, a CLI import) hear it too: on_commit also queues a PostgreSQL
NOTIFY in the same transaction, which PostgreSQL delivers only if it commits; geo/pg/listener.py
relays those from other processes to this one's listeners.
"""

from __future__ import annotations

import threading
import uuid
import weakref
from collections.abc import Callable, Iterable
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session

from geo.pg import notify

BBox = tuple[float, float, float, float]  # minlon, minlat, maxlon, maxlat (EPSG:4326)
Listener = Callable[[str, BBox | None], None]
PositionListener = Callable[[str, int, float], None]

_PENDING = "citygrid_geometry_changes"
CHANNEL = "citygrid_geometry"
ORIGIN = uuid.uuid4().hex[:12]  # this process: it hears its own changes through after_commit already
_lock = threading.Lock()
_listeners: list[Callable[[], Callable | None]] = []
_position_listeners: list[Callable[[], Callable | None]] = []


def subscribe(listener: Listener) -> None:
    """Register a listener; bound methods are held weakly so an app's cache dies with its app."""
    with _lock:
        _listeners.append(_weak(listener))


def subscribe_positions(listener: PositionListener) -> None:
    """Register a listener of the primary's WAL position (see position_reported); held as subscribe holds."""
    with _lock:
        _position_listeners.append(_weak(listener))


def _weak(listener: Callable) -> Callable[[], Callable | None]:
    if hasattr(listener, "__self__") and hasattr(listener, "__func__"):
        return weakref.WeakMethod(listener)  # type: ignore[arg-type]
    return lambda: listener  # plain functions live as long as their module


def _alive(refs: list[Callable[[], Callable | None]]) -> list[Callable]:
    with _lock:
        pairs = [(ref, ref()) for ref in refs]
        refs[:] = [ref for ref, fn in pairs if fn is not None]
    return [fn for _, fn in pairs if fn is not None]


def position_reported(database_url: str, lsn: int, queried_at: float) -> None:
    """The WAL position of the primary named by database_url, read at time.monotonic() queried_at: every change
    committed before then is at or below lsn (positions of different clusters do not compare). geo/events_listener.py reports it after each notification and every second, so a tile
    cache knows how far a replica must have replayed before a tile it renders may be cached."""
    for fn in _alive(_position_listeners):
        fn(database_url, lsn, queried_at)


def geometry_changed(layer: str, bbox: BBox | None) -> None:
    """Tell every listener that features of layer changed inside bbox (None: anywhere in the layer)."""
    for fn in _alive(_listeners):
        fn(layer, bbox)


def on_commit(session: Session, layer: str, bbox: BBox | None) -> None:
    """Announce a change to layer within bbox once session's current transaction commits."""
    session.info.setdefault(_PENDING, []).append((layer, bbox))
    notify.queue(session, CHANNEL, payload(layer, bbox))


def payload(layer: str, bbox: BBox | None) -> str:
    """'origin|layer|minlon,minlat,maxlon,maxlat' (empty bbox: the whole layer)."""
    box = ",".join(repr(float(v)) for v in bbox) if bbox is not None else ""
    return f"{ORIGIN}|{layer}|{box}"


def parse_payload(raw: str) -> tuple[str, str, BBox | None] | None:
    """(origin, layer, bbox) of a NOTIFY payload, or None when it is not one of ours."""
    parts = raw.split("|")
    if len(parts) != 3 or not parts[1]:
        return None
    try:
        nums = [float(v) for v in parts[2].split(",")] if parts[2] else None
    except ValueError:
        return None
    if nums is not None and len(nums) != 4:
        return None
    return parts[0], parts[1], (nums[0], nums[1], nums[2], nums[3]) if nums else None


def union(boxes: Iterable[BBox | None]) -> BBox | None:
    """The bbox covering all given boxes (None entries skipped; None if nothing is left)."""
    real = [b for b in boxes if b is not None]
    if not real:
        return None
    return (min(b[0] for b in real), min(b[1] for b in real), max(b[2] for b in real), max(b[3] for b in real))


def bbox_from_row(row: Any) -> BBox | None:
    """A (xmin, ymin, xmax, ymax) row, e.g. from SELECT ST_XMin(e), ST_YMin(e)..., as a BBox (None if empty)."""
    if row is None or any(v is None for v in row):
        return None
    return (float(row[0]), float(row[1]), float(row[2]), float(row[3]))


@event.listens_for(Session, "after_commit")
def _fire_pending(session: Session) -> None:
    for layer, bbox in session.info.pop(_PENDING, []):
        geometry_changed(layer, bbox)


@event.listens_for(Session, "after_soft_rollback")
def _drop_pending(session: Session, previous_transaction: Any) -> None:
    # Only the outermost rollback discards: a rolled-back savepoint may sit beside committed work, and
    # invalidating a tile too many is harmless while one too few serves a stale map.
    if previous_transaction.parent is None:
        session.info.pop(_PENDING, None)
