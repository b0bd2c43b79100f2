"""A local PostgreSQL 15 + PostGIS cluster under .data/postgres, for machines with no Docker engine.

`ensure_up` uses CITYGRID_* database URLs if they already reach PostGIS; otherwise it installs the
Debian package when missing (root only), initialises and starts a cluster on 127.0.0.1, and creates
the owner and least-privilege app roles and the database with PostGIS.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import sql
from sqlalchemy.engine import make_url

from geo.pg import libpq_url
from geo.settings import Settings

PG_BIN = Path("/usr/lib/postgresql/15/bin")
POSTGIS_CONTROL = Path("/usr/share/postgresql/15/extension/postgis.control")
APT_PACKAGE = "postgresql-15-postgis-3"


class ClusterError(RuntimeError):
    """The local cluster could not be set up; the message says what to do."""


@dataclass
class Status:
    reachable: bool
    where: str
    server_version: str | None = None
    postgis_version: str | None = None
    local_cluster: str | None = None


def probe(url: str) -> Status:
    """Whether url answers, with server and PostGIS versions."""
    u = make_url(url)
    where = f"{u.host}:{u.port}/{u.database}"
    try:
        with psycopg.connect(libpq_url(url), connect_timeout=3) as conn:
            server = conn.execute("SHOW server_version").fetchone()[0]  # type: ignore[index]
            row = conn.execute("SELECT extversion FROM pg_extension WHERE extname = 'postgis'").fetchone()
            return Status(True, where, server, row[0] if row else None)
    except psycopg.OperationalError:
        return Status(False, where)


def _run_as_postgres(args: list[str | Path], **kw) -> subprocess.CompletedProcess:
    cmd = [str(a) for a in args]
    if os.geteuid() == 0:
        cmd = ["runuser", "-u", "postgres", "--", *cmd]
    return subprocess.run(cmd, check=True, text=True, capture_output=True, **kw)


def _ensure_packages() -> None:
    if (PG_BIN / "initdb").exists() and POSTGIS_CONTROL.exists():
        return
    if os.geteuid() != 0:
        raise ClusterError(
            f"PostgreSQL 15 with PostGIS is missing: run `sudo apt-get install -y {APT_PACKAGE}` "
            "or point CITYGRID_DATABASE_URL at a PostGIS database."
        )
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    print(f"installing {APT_PACKAGE} (Debian) ...", flush=True)
    subprocess.run(["apt-get", "update", "-q"], check=True, env=env)
    # Only the PostGIS package: naming postgresql-15 too can upgrade a running server underneath us.
    subprocess.run(["apt-get", "install", "-y", "-q", APT_PACKAGE], check=True, env=env)


def _make_traversable(path: Path) -> None:
    """The postgres OS user must reach the data dir even when the clone sits under a 0700 temp dir."""
    if os.geteuid() != 0:
        return
    for parent in [path, *path.parents]:
        mode = parent.stat().st_mode
        if not mode & 0o001:
            os.chmod(parent, mode | 0o001)


def _pid_alive(pgdata: Path) -> bool:
    pidfile = pgdata / "postmaster.pid"
    if not pidfile.exists():
        return False
    try:
        pid = int(pidfile.read_text().splitlines()[0])
        os.kill(pid, 0)
    except (ValueError, IndexError, ProcessLookupError):
        # A crash or a kill -9 leaves the pid file behind; postgres refuses to start until it goes.
        pidfile.unlink(missing_ok=True)
        return False
    except PermissionError:
        return True
    return True


def _init_and_start(settings: Settings) -> None:
    pgdata = settings.pg_dir
    log = settings.data_dir / "postgres.log"
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    _make_traversable(settings.data_dir)
    if not (pgdata / "PG_VERSION").exists():
        pgdata.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(pgdata, "postgres", "postgres")
        os.chmod(pgdata, 0o700)
        print(f"initialising a PostgreSQL 15 cluster in {pgdata} ...", flush=True)
        _run_as_postgres(
            [PG_BIN / "initdb", "-D", pgdata, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8"]
        )
        # Loopback only: this is a developer's cluster, trusted from 127.0.0.1 and nowhere else.
        (pgdata / "postgresql.auto.conf").write_text(
            f"listen_addresses = '127.0.0.1'\nport = {settings.pg_port}\nunix_socket_directories = '{pgdata}'\n"
            "shared_buffers = '1GB'\nwork_mem = '64MB'\nmaintenance_work_mem = '512MB'\n"
            "max_wal_size = '4GB'\nfsync = on\nsynchronous_commit = on\njit = off\n"
        )
        if os.geteuid() == 0:
            shutil.chown(pgdata / "postgresql.auto.conf", "postgres", "postgres")
    if _pid_alive(pgdata):
        return
    if not log.exists():
        log.touch()
    if os.geteuid() == 0:
        shutil.chown(log, "postgres", "postgres")
    print(f"starting PostgreSQL on 127.0.0.1:{settings.pg_port} (log {log}) ...", flush=True)
    try:
        _run_as_postgres([PG_BIN / "pg_ctl", "-D", pgdata, "-l", log, "-w", "-t", "60", "start"])
    except subprocess.CalledProcessError as exc:
        tail = log.read_text(errors="replace").splitlines()[-15:]
        raise ClusterError("PostgreSQL did not start:\n" + "\n".join(tail)) from exc


def bootstrap_database(settings: Settings, dbname: str | None = None) -> None:
    """Create the owner and app roles, the database and PostGIS (idempotent; needs the superuser URL)."""
    owner = make_url(settings.owner_database_url)
    app = make_url(settings.database_url)
    assert owner.username and app.username, "database URLs must name their role"
    dbname = dbname or owner.database
    with psycopg.connect(libpq_url(settings.admin_database_url), autocommit=True) as conn:
        for url, extra in ((owner, "CREATEDB"), (app, "")):
            assert url.username
            if not conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (url.username,)).fetchone():
                conn.execute(sql.SQL("CREATE ROLE {} LOGIN " + extra).format(sql.Identifier(url.username)))
            if url.password:  # Docker and remote servers use passwords; the local cluster trusts loopback
                conn.execute(
                    sql.SQL("ALTER ROLE {} PASSWORD {}").format(
                        sql.Identifier(url.username), sql.Literal(url.password)
                    )
                )
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (dbname,)).fetchone():
            conn.execute(f'CREATE DATABASE "{dbname}" OWNER "{owner.username}"')
    with psycopg.connect(libpq_url(settings.admin_database_url, dbname), autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS postgis")
        conn.execute(f'GRANT USAGE ON SCHEMA public TO "{app.username}"')
        # The app role reads and writes rows but owns nothing and can create nothing.
        conn.execute(f'REVOKE CREATE ON SCHEMA public FROM PUBLIC, "{app.username}"')
        conn.execute(f'GRANT CREATE ON SCHEMA public TO "{owner.username}"')
        conn.execute(
            f'ALTER DEFAULT PRIVILEGES FOR ROLE "{owner.username}" IN SCHEMA public '
            f'GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO "{app.username}"'
        )
        conn.execute(
            f'ALTER DEFAULT PRIVILEGES FOR ROLE "{owner.username}" IN SCHEMA public '
            f'GRANT USAGE, SELECT ON SEQUENCES TO "{app.username}"'
        )
        conn.execute(f'GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO "{app.username}"')
        # PostGIS's own tables and views belong to the superuser: the app reads them and writes none. Tables
        # of ours get their rights from the default privileges above and migration 0005 (re-running this
        # must not widen them again). Only named roles may connect or make temporary tables.
        postgis = "spatial_ref_sys, geometry_columns, geography_columns"
        conn.execute(f'REVOKE ALL ON {postgis} FROM PUBLIC, "{app.username}"')
        conn.execute(f"GRANT SELECT ON {postgis} TO PUBLIC")
        conn.execute(f'REVOKE CONNECT, TEMPORARY ON DATABASE "{dbname}" FROM PUBLIC')
        conn.execute(f'GRANT CONNECT, TEMPORARY ON DATABASE "{dbname}" TO "{app.username}"')


def _is_local(settings: Settings) -> bool:
    u = make_url(settings.admin_database_url)
    return u.host in ("127.0.0.1", "localhost") and (u.port or 5432) == settings.pg_port


def ensure_up(settings: Settings) -> Status:
    """Make the configured database reachable with PostGIS, starting a local cluster when needed."""
    status = probe(settings.owner_database_url)
    if status.reachable and status.postgis_version:
        return status
    if not probe(settings.admin_database_url).reachable:
        if not _is_local(settings):
            raise ClusterError(f"cannot reach {status.where} and it is not the local cluster's address")
        _ensure_packages()
        _init_and_start(settings)
        for _ in range(50):
            if probe(settings.admin_database_url).reachable:
                break
            time.sleep(0.2)
    bootstrap_database(settings)
    return probe(settings.owner_database_url)


def stop(settings: Settings) -> bool:
    """Stop the local cluster; False when it was not running."""
    if not _pid_alive(settings.pg_dir):
        return False
    _run_as_postgres([PG_BIN / "pg_ctl", "-D", settings.pg_dir, "-m", "fast", "-w", "stop"])
    return True


def local_cluster_state(settings: Settings) -> str | None:
    """'running', 'stopped' or None when there is no local cluster."""
    if not (settings.pg_dir / "PG_VERSION").exists():
        return None
    return "running" if _pid_alive(settings.pg_dir) else "stopped"
