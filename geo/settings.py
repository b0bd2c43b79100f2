"""One settings class for the whole service (env prefix CITYGRID_), built by the caller, never at import."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parent.parent
DEV_TOKEN = "dev-admin-token"  # printed by `make run`; refused outside development


class Settings(BaseSettings):
    """Every tunable of citygrid; the same names serve the local cluster, Docker and CI."""

    model_config = SettingsConfigDict(env_prefix="CITYGRID_", env_file=None, extra="ignore")

    env: Literal["development", "test", "production"] = "development"
    # The API connects as a least-privilege role; migrations and demo loading run as the owner.
    database_url: str = "postgresql+psycopg://citygrid_app@127.0.0.1:55432/citygrid"
    owner_database_url: str = "postgresql+psycopg://citygrid@127.0.0.1:55432/citygrid"
    # Superuser: only `citygrid db up` and the test fixtures use it (CREATE EXTENSION needs one).
    admin_database_url: str = "postgresql+psycopg://postgres@127.0.0.1:55432/postgres"
    # A cluster: database_url may name several hosts with target_session_attrs=read-write (libpq finds the
    # primary after a promotion); reads that may lag go to replica_database_url (e.g. several hosts with
    # target_session_attrs=prefer-standby) while it has replayed the caller's last write and lags at most
    # replica_max_lag_s; a replica that fails to connect is skipped for replica_retry_s.
    replica_database_url: str | None = None
    replica_max_lag_s: float = 5.0
    replica_retry_s: float = 5.0
    # How long a client carries its last write's WAL position (cookie citygrid_lsn): far above the lag bound,
    # so once it expires any replica still in use has long replayed that write.
    read_your_writes_s: int = 60
    data_dir: Path = REPO_ROOT / ".data"
    pg_port: int = 55432  # the local cluster; its standbys (`citygrid db up --replicas N`) take the next ports
    statement_timeout_ms: int = 30_000
    pool_size: int = 10
    # Overload: a request waits at most this long for a pooled connection, then gets 503 + Retry-After
    # (SQLAlchemy's default, 30 s, let 200 readers queue into client time-outs). /health has its own
    # connection, connected within health_connect_timeout_s and bounded by health_statement_timeout_ms.
    pool_timeout_s: float = 3.0
    # Requests running at once (api/admission.py); the rest wait at most pool_timeout_s on the event loop,
    # then 503. 0: 3 per CPU core (at least 4), within the pool's connections (api.admission.default_limit).
    max_in_flight: int = 0
    health_connect_timeout_s: int = 2
    health_statement_timeout_ms: int = 1_000

    bootstrap_admin_token: str = DEV_TOKEN
    max_body_bytes: int = 64 * 1024 * 1024
    max_bulk_features: int = 1_000_000
    max_page_size: int = 10_000
    # Bounded cost: fields per CSV row (parsing a 2×10^5-column row costs pandas quadratic time), problems
    # listed in one report (the body says how many were left out), and the served HTTP request head: its size
    # (counted by api/server.py) and the seconds a connection may take to send it (slow-header clients are closed).
    max_csv_columns: int = 256
    max_problems: int = 1_000
    max_header_bytes: int = 64 * 1024
    header_timeout_s: float = 10.0
    default_page_size: int = 100

    # Incidents farther than this from the city are almost always swapped lon/lat or a wrong CRS.
    city_margin_km: float = 50.0
    kde_bandwidth_m: float = 300.0
    patrol_reach_m: float = 100.0
    edit_tolerance_m: float = 1.0
    # Grid edits: incoming vertices this close to a stored vertex (the grid's own, then its neighbours') are
    # moved exactly onto it, so a grid read at 7 decimals and sent back unchanged is unchanged (geo.editing.snap).
    edit_snap_m: float = 0.05
    # ...and no edit may add more than this much overlap with another grid, or gap, even one thinner than
    # edit_tolerance_m (which still bounds "inside its community").
    edit_sliver_m2: float = 0.01
    straddle_share: float = 0.05

    # Cases: photo size limit; the overdue sweep's period (0: not in the API process) and the working days an
    # overdue case waits in the supervision list before it escalates by itself.
    case_photo_max_bytes: int = 5 * 1024 * 1024
    case_sweep_seconds: float = 60.0
    case_escalate_grace_days: int = 1

    tile_url: str | None = Field(default=None, description="base-map tile URL template; none by default")
    tile_attribution: str = ""
    tile_crs: Literal["WGS84", "GCJ-02"] = "WGS84"
    # In-process vector-tile cache (geo/tiles/cache.py), per worker; edits invalidate exactly their tiles.
    tile_cache_bytes: int = 64 * 1024 * 1024
    demo_seed: int = 20201220
    # Signs live-feed tickets (geo/live/tickets.py); unset: derived from the bootstrap token, itself a secret
    # outside development. Every worker of one deployment must share it.
    live_ticket_secret: str | None = None
    # Open311 public reads: seconds a cached answer may be served, and each client IP's token bucket.
    open311_cache_s: float = 10.0
    open311_rate_per_s: float = 5.0
    open311_burst: int = 20
    # Operability: the request log's level (DEBUG, INFO, WARNING, ERROR), and whether /metrics is admin-only
    # (otherwise any authenticated user may read it, like every other read).
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    metrics_admin_only: bool = False

    @model_validator(mode="after")
    def _refuse_dev_secrets(self) -> Settings:
        if self.env == "production" and self.bootstrap_admin_token == DEV_TOKEN:
            raise ValueError("CITYGRID_BOOTSTRAP_ADMIN_TOKEN must be set to a secret outside development")
        return self

    @property
    def ticket_secret(self) -> str:
        return self.live_ticket_secret or self.bootstrap_admin_token

    @property
    def pg_dir(self) -> Path:
        return self.data_dir / "postgres"
