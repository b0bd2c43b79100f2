"""Hot standbys of the local cluster: PostgreSQL's own streaming replication, for development and tests.

`citygrid db up --replicas N` makes standby i (1..N) in <data_dir>/standby<i> on port pg_port + i with
pg_basebackup -R (streaming, a replication role and a loopback pg_hba entry on the primary, added with a
reload, never a restart); `citygrid db promote` promotes one; `citygrid db status` shows every server's role,
WAL position and lag. The primary is whatever the superuser URL names, so a throwaway pair under a temporary
data dir on other ports (the tests', the benchmark's) is made by the same code as the developer's.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import psycopg
from psycopg import sql

from api.ops.pgcluster import PG_BIN, ClusterError, _make_traversable, _pid_alive, _run_as_postgres
from geo.pg.urls import conninfo
from geo.settings import Settings

REPLICATION_ROLE = "citygrid_replicator"
HBA_LINE = f"host replication {REPLICATION_ROLE} 127.0.0.1/32 trust  # citygrid standbys (loopback only)\n"


def standby_dir(settings: Settings, index: int) -> Path:
    return settings.data_dir / f"standby{index}"


def standby_port(settings: Settings, index: int) -> int:
    return settings.pg_port + index


def standbys(settings: Settings) -> list[int]:
    """Indexes of the standbys made under data_dir (running or not)."""
    found = [p.name.removeprefix("standby") for p in settings.data_dir.glob("standby*")]
    return sorted(int(i) for i in found if i.isdigit() and (standby_dir(settings, int(i)) / "PG_VERSION").exists())


def _prepare_primary(settings: Settings) -> None:
    """A replication role and a pg_hba entry for it (reload only); refuses if replication needs a restart."""
    with psycopg.connect(conninfo(settings.admin_database_url), autocommit=True, connect_timeout=5) as conn:
        wal_level = conn.execute("SHOW wal_level").fetchone()[0]  # type: ignore[index]
        senders = int(conn.execute("SHOW max_wal_senders").fetchone()[0])  # type: ignore[index]
        if wal_level == "minimal" or senders == 0:
            raise ClusterError(
                f"the primary has wal_level={wal_level}, max_wal_senders={senders}: set wal_level=replica and "
                "max_wal_senders>0 (PostgreSQL 15's defaults) and restart it before making a standby"
            )
        if not conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (REPLICATION_ROLE,)).fetchone():
            conn.execute(sql.SQL("CREATE ROLE {} REPLICATION LOGIN").format(sql.Identifier(REPLICATION_ROLE)))
        covered = conn.execute(
            "SELECT 1 FROM pg_hba_file_rules WHERE 'replication' = ANY(database) AND type = 'host' "
            "AND (user_name && ARRAY['all', %s]) AND address IN ('127.0.0.1', 'all', '0.0.0.0')",
            (REPLICATION_ROLE,),
        ).fetchone()
        if not covered:
            hba = Path(conn.execute("SHOW hba_file").fetchone()[0])  # type: ignore[index]
            with hba.open("a") as f:
                f.write(HBA_LINE)
            conn.execute("SELECT pg_reload_conf()")


def _primary_address(settings: Settings) -> tuple[str, int]:
    info = psycopg.conninfo.conninfo_to_dict(conninfo(settings.admin_database_url))
    return str(info.get("host", "127.0.0.1")).split(",")[0], int(str(info.get("port", 5432)).split(",")[0])


def _base_backup(settings: Settings, index: int) -> None:
    pgdata, port = standby_dir(settings, index), standby_port(settings, index)
    host, primary_port = _primary_address(settings)
    pgdata.mkdir(parents=True, exist_ok=True)
    _make_traversable(settings.data_dir)
    if os.geteuid() == 0:
        shutil.chown(pgdata, "postgres", "postgres")
    os.chmod(pgdata, 0o700)
    name = f"citygrid_standby{index}"
    primary = f"host={host} port={primary_port} user={REPLICATION_ROLE} application_name={name}"
    print(f"pg_basebackup of {host}:{primary_port} into {pgdata} ...", flush=True)
    try:
        # -c fast: checkpoint now rather than wait up to checkpoint_timeout; -X stream: WAL alongside.
        _run_as_postgres(
            [PG_BIN / "pg_basebackup", "-D", pgdata, "-d", primary, "-R", "-X", "stream", "-c", "fast"]
        )
    except subprocess.CalledProcessError as exc:
        shutil.rmtree(pgdata, ignore_errors=True)
        raise ClusterError(f"pg_basebackup failed: {exc.stderr.strip()}") from exc
    # The copy carries the primary's port and socket dir; the last setting in the file wins.
    with (pgdata / "postgresql.auto.conf").open("a") as f:
        f.write(
            f"port = {port}\nunix_socket_directories = '{pgdata}'\nhot_standby = on\n"
            # Long map reads on the standby are not cancelled by the primary vacuuming rows they still see.
            f"hot_standby_feedback = on\nprimary_conninfo = '{primary}'\n"
        )


def start_standby(settings: Settings, index: int) -> None:
    """Make standby index if it does not exist, and start it (it streams from the primary as it starts)."""
    pgdata = standby_dir(settings, index)
    if not (pgdata / "PG_VERSION").exists():
        _prepare_primary(settings)
        _base_backup(settings, index)
    if _pid_alive(pgdata):
        return
    log = settings.data_dir / f"standby{index}.log"
    log.touch()
    if os.geteuid() == 0:
        shutil.chown(log, "postgres", "postgres")
    print(f"starting standby {index} on 127.0.0.1:{standby_port(settings, index)} (log {log}) ...", flush=True)
    try:
        _run_as_postgres([PG_BIN / "pg_ctl", "-D", pgdata, "-l", log, "-w", "-t", "60", "start"])
    except subprocess.CalledProcessError as exc:
        tail = log.read_text(errors="replace").splitlines()[-15:]
        raise ClusterError("the standby did not start:\n" + "\n".join(tail)) from exc


def promote(settings: Settings, index: int = 1) -> None:
    """Promote standby index to a primary (it stops following the old one; libpq URLs that list it find it)."""
    pgdata = standby_dir(settings, index)
    if not _pid_alive(pgdata):
        raise ClusterError(f"standby {index} ({pgdata}) is not running")
    _run_as_postgres([PG_BIN / "pg_ctl", "-D", pgdata, "-w", "-t", "60", "promote"])


def stop_standby(settings: Settings, index: int, mode: str = "fast") -> bool:
    pgdata = standby_dir(settings, index)
    if not _pid_alive(pgdata):
        return False
    _run_as_postgres([PG_BIN / "pg_ctl", "-D", pgdata, "-m", mode, "-w", "stop"])
    return True


_STATE = (
    "SELECT pg_is_in_recovery(), "
    "CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() ELSE pg_current_wal_lsn() END::text, "
    "CASE WHEN pg_is_in_recovery() THEN extract(epoch FROM now() - pg_last_xact_replay_timestamp()) END, "
    "(SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming')"
)


def server_report(host: str, port: int, user: str = "postgres") -> dict:
    """One server's role, WAL position, age of its last replayed commit and streaming standbys."""
    where = f"{host}:{port}"
    try:
        with psycopg.connect(host=host, port=port, user=user, dbname="postgres", connect_timeout=3) as conn:
            recovery, lsn, replay_age, streaming = conn.execute(_STATE).fetchone()  # type: ignore[misc]
    except psycopg.OperationalError:
        return {"where": where, "reachable": False}
    return {
        "where": where,
        "reachable": True,
        "role": "standby" if recovery else "primary",
        "lsn": lsn,
        "last_replay_age_s": None if replay_age is None else round(float(replay_age), 3),
        "streaming_standbys": streaming,
    }


def cluster_report(settings: Settings) -> list[dict]:
    """The primary and each local standby, as server_report sees them."""
    host, port = _primary_address(settings)
    rows = [{"name": "primary", **server_report(host, port)}]
    for index in standbys(settings):
        report = server_report("127.0.0.1", standby_port(settings, index))
        rows.append({"name": f"standby{index}", "running": _pid_alive(standby_dir(settings, index)), **report})
    return rows
