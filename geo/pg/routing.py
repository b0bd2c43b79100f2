"""Which database serves a read: the primary, or a replica that has replayed far enough.

Writes and reads that must see the latest state use the primary. Reads that may be a moment old (tiles,
OGC items, maps, statistics, exports) ask `DatabaseRouter.replica_session(min_lsn)`, which checks, on the
connection it will hand out, that the server is a standby no more than `replica_max_lag_s` behind and has
replayed at least `min_lsn`: the primary's WAL position after the caller's own last write (read-your-writes),
or after the latest tile invalidation. Otherwise it answers None and the caller reads the primary.

A replica that cannot be reached is skipped for `replica_retry_s`, so a dead standby costs one failed connect
per interval rather than one per request. The router knows nothing of HTTP: api/ carries the LSN.
"""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass

from sqlalchemy import Engine, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from geo.settings import Settings

_LSN = re.compile(r"^([0-9A-Fa-f]{1,8})/([0-9A-Fa-f]{1,8})$")
NEVER = 2**64  # an LSN no server has reached: "not from a replica"

# One round trip on the connection that will serve the read. Lag is 0 while the WAL receiver runs and has
# replayed all it received; otherwise the age of the last replayed commit (which also grows when the
# primary is idle, erring towards the primary). A server not in recovery is a primary: never behind.
_STATE_SQL = text(
    "SELECT pg_is_in_recovery(), "
    "CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() ELSE pg_current_wal_lsn() END::text, "
    "CASE WHEN NOT pg_is_in_recovery() THEN 0.0 "
    "  WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() "
    "       AND EXISTS (SELECT 1 FROM pg_stat_wal_receiver) THEN 0.0 "
    "  ELSE extract(epoch FROM clock_timestamp() - pg_last_xact_replay_timestamp())::float8 END"
)


def parse_lsn(raw: str | None) -> int | None:
    """'16/B374D848' → an integer WAL position; None for anything else (an unusable value is ignored)."""
    match = _LSN.match(raw.strip()) if raw else None
    return (int(match[1], 16) << 32) | int(match[2], 16) if match else None


def format_lsn(lsn: int) -> str:
    return f"{lsn >> 32:X}/{lsn & 0xFFFFFFFF:X}"


@dataclass(frozen=True)
class ServerState:
    """One server as seen on one connection: its role, WAL position and lag behind the primary."""

    role: str  # "primary" or "standby"
    lsn: int  # replay position on a standby, current write position on a primary
    lag_s: float | None  # None: unknown (nothing replayed since the standby started)

    def as_dict(self) -> dict:
        return {"role": self.role, "lsn": format_lsn(self.lsn), "lag_s": self.lag_s}


def server_state(session: Session) -> ServerState:
    in_recovery, lsn, lag = session.execute(_STATE_SQL).one()
    return ServerState("standby" if in_recovery else "primary", parse_lsn(lsn) or 0, lag)


class DatabaseRouter:
    """The primary's sessions, and a replica's when one is configured and fresh enough."""

    def __init__(
        self,
        primary: sessionmaker[Session],
        replica: sessionmaker[Session] | None = None,
        max_lag_s: float = 5.0,
        retry_s: float = 5.0,
    ) -> None:
        self.primary, self.replica = primary, replica
        self.max_lag_s, self.retry_s = max_lag_s, retry_s
        self._replica_down_until = 0.0
        self._lock = threading.Lock()
        self.reads = {"replica": 0, "primary_lag": 0, "primary_lsn": 0, "primary_down": 0}

    @property
    def has_replica(self) -> bool:
        return self.replica is not None

    def replica_session(self, min_lsn: int | None = None) -> Session | None:
        """A session on a replica that has replayed min_lsn and lags at most max_lag_s; else None.

        The session carries its server's state in session.info["server"] (a tile rendered from it is cached
        only if that position is past the layer's latest invalidation).
        """
        if self.replica is None or min_lsn == NEVER or time.monotonic() < self._replica_down_until:
            self._count("primary_down" if self.replica is not None and min_lsn != NEVER else "primary_lsn")
            return None
        session = self.replica()
        try:
            state = server_state(session)
        except SQLAlchemyError:
            session.close()
            with self._lock:
                self._replica_down_until = time.monotonic() + self.retry_s
            self._count("primary_down")
            return None
        if state.role == "standby" and (state.lag_s is None or state.lag_s > self.max_lag_s):
            reason = "primary_lag"
        elif min_lsn is not None and state.lsn < min_lsn:
            reason = "primary_lsn"
        else:
            # The probe's transaction stays open, so the read runs on this very connection (another host of a
            # multi-host URL may be further behind); READ COMMITTED gives each later statement a newer snapshot.
            session.info["server"] = state
            self._count("replica")
            return session
        session.close()
        self._count(reason)
        return None

    def primary_lsn(self) -> int:
        """The primary's current WAL write position: every transaction committed before the call is at or below it."""
        with self.primary() as session:
            return parse_lsn(session.execute(text("SELECT pg_current_wal_lsn()::text")).scalar_one()) or 0

    def report(self) -> list[dict]:
        """Each database in use: name, where, reachable, role, WAL position, lag (for /health and /metrics)."""
        out = [self._probe("primary", self.primary)]
        if self.replica is not None:
            out.append(self._probe("replica", self.replica))
        return out

    def _probe(self, name: str, factory: sessionmaker[Session]) -> dict:
        bind = factory.kw.get("bind")
        where = str(bind.url.render_as_string(hide_password=True)) if isinstance(bind, Engine) else name
        try:
            with factory() as session:
                state = server_state(session)
        except SQLAlchemyError as exc:
            detail = str(getattr(exc, "orig", exc)).splitlines()[0] if str(exc) else type(exc).__name__
            return {"name": name, "url": where, "reachable": False, "detail": detail}
        return {"name": name, "url": where, "reachable": True, **state.as_dict()}

    def _count(self, key: str) -> None:
        # Counted for /metrics: how often reads went where, and why.
        with self._lock:
            self.reads[key] += 1


def from_settings(settings: Settings, primary: sessionmaker[Session]) -> DatabaseRouter:
    """The router for settings: a replica engine when CITYGRID_REPLICA_DATABASE_URL is set."""
    from geo.pg.db import make_engine, make_sessionmaker

    replica = None
    if settings.replica_database_url:
        replica = make_sessionmaker(make_engine(settings, settings.replica_database_url))
    return DatabaseRouter(primary, replica, settings.replica_max_lag_s, settings.replica_retry_s)
