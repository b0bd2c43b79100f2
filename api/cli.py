"""The `citygrid` command line: database, migrations, serving, users (demo, maps and more attach here)."""

from __future__ import annotations

import importlib
import os
import subprocess
from pathlib import Path

import typer
from rich.console import Console

from api import cli_briefing
from api.cli_cases import cases_app
from api.cli_demo import demo_app
from api.cli_grids import grids_app
from api.cli_incidents import compounds_app, incidents_app
from api.cli_maps import map_app
from api.cli_open311 import open311_app
from api.cli_patrols import patrols_app, roads_app
from api.cli_users import users_app
from api.ops import pgcluster, pgstandby
from geo.settings import Settings

app = typer.Typer(help="citygrid 市域社会治理网格 — grid mapping for city-level social governance")
db_app = typer.Typer(help="数据库 The PostGIS database: start, stop, status, backup, restore")
app.add_typer(db_app, name="db")
app.add_typer(demo_app, name="demo")
app.add_typer(grids_app, name="grids")
app.add_typer(incidents_app, name="incidents")
app.add_typer(compounds_app, name="compounds")
app.add_typer(map_app, name="map")
app.add_typer(roads_app, name="roads")
app.add_typer(patrols_app, name="patrols")
app.add_typer(open311_app, name="open311")
app.add_typer(cases_app, name="cases")
app.add_typer(users_app, name="users")
app.command("briefing")(cli_briefing.briefing)
console = Console()


def _settings() -> Settings:
    return Settings()


@db_app.command("up")
def db_up(
    replicas: int = typer.Option(0, help="also start this many hot standbys of the local cluster (next ports)"),
) -> None:
    """Reach PostGIS at CITYGRID_DATABASE_URL, or start the local cluster under .data/postgres."""
    s = _settings()
    try:
        status = pgcluster.ensure_up(s)
        for index in range(1, replicas + 1):
            pgstandby.start_standby(s, index)
    except pgcluster.ClusterError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from exc
    console.print(f"PostGIS {status.postgis_version} on PostgreSQL {status.server_version} at {status.where}")
    for index in range(1, replicas + 1):
        console.print(f"standby {index}: 127.0.0.1:{pgstandby.standby_port(s, index)} streaming from the primary")


@db_app.command("promote")
def db_promote(index: int = typer.Option(1, help="which standby (1 = the one on the next port)")) -> None:
    """Promote a local standby to primary (after the primary is lost; it stops following the old one)."""
    try:
        pgstandby.promote(_settings(), index)
    except pgcluster.ClusterError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from exc
    console.print(f"standby {index} promoted: it now accepts writes")


@db_app.command("down")
def db_down() -> None:
    """Stop the local cluster and its standbys (data stays in .data/)."""
    s = _settings()
    for index in pgstandby.standbys(s):
        pgstandby.stop_standby(s, index)
    stopped = pgcluster.stop(s)
    console.print("stopped" if stopped else "the local cluster was not running")


@db_app.command("status")
def db_status() -> None:
    """Where the database runs, its versions and its migration state."""
    from geo.pg.db import make_engine, migration_heads

    s = _settings()
    status = pgcluster.probe(s.owner_database_url)
    console.print(f"database   {status.where}: {'reachable' if status.reachable else 'NOT reachable'}")
    console.print(f"local cluster ({s.pg_dir}): {pgcluster.local_cluster_state(s) or 'none'}")
    for row in pgstandby.cluster_report(s):
        if not row["reachable"]:
            console.print(f"  {row['name']:<9} {row['where']}: NOT reachable")
            continue
        lag = row["last_replay_age_s"]
        console.print(
            f"  {row['name']:<9} {row['where']}: {row['role']}, WAL {row['lsn']}"
            + (f", {row['streaming_standbys']} standby(s) streaming" if row["role"] == "primary" else "")
            + (f", last replayed commit {lag:.1f} s ago" if lag is not None else "")
        )
    if not status.reachable:
        raise typer.Exit(1)
    console.print(f"PostgreSQL {status.server_version}; PostGIS {status.postgis_version or 'missing'}")
    current, head = migration_heads(make_engine(s, s.owner_database_url))
    console.print(
        f"migration  at {current}, code head {head}{'' if current == head else '  (run: citygrid migrate)'}"
    )


@db_app.command("backup")
def db_backup(path: Path = typer.Argument(..., help="output file (pg_dump custom format)")) -> None:
    """Back up the database with pg_dump -Fc."""
    s = _settings()
    url = pgcluster.libpq_url(s.owner_database_url)
    # Readable by its owner only (it holds token hashes and personal data): made 0600 before pg_dump fills it.
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600))
    path.chmod(0o600)
    subprocess.run([str(pgcluster.PG_BIN / "pg_dump"), "-Fc", "-f", str(path), url], check=True)
    console.print(f"backup written to {path} ({path.stat().st_size / 1e6:.1f} MB)")


@db_app.command("restore")
def db_restore(
    path: Path = typer.Argument(..., help="a pg_dump custom-format file"),
    dbname: str = typer.Option(..., help="database to restore into (created if missing; must be empty)"),
) -> None:
    """Restore a backup into a (new) database."""
    s = _settings()
    pgcluster.bootstrap_database(s, dbname)
    url = pgcluster.libpq_url(s.owner_database_url, dbname)
    restore = str(pgcluster.PG_BIN / "pg_restore")
    # PostGIS is created by bootstrap as the superuser; the owner may not re-create or comment on it.
    listing = subprocess.run([restore, "-l", str(path)], check=True, capture_output=True, text=True).stdout
    keep = "\n".join(e for e in listing.splitlines() if " EXTENSION " not in e and "spatial_ref_sys" not in e)
    list_file = path.with_suffix(".restore-list")
    list_file.write_text(keep)
    try:
        subprocess.run(
            [restore, "--no-owner", "--exit-on-error", "-L", str(list_file), "-d", url, str(path)], check=True
        )
    finally:
        list_file.unlink(missing_ok=True)
    console.print(f"restored {path} into {dbname}")


@app.command("migrate")
def migrate(revision: str = typer.Argument("head")) -> None:
    """alembic upgrade (as the owner role)."""
    from geo.pg.db import migrate as run

    run(_settings().owner_database_url, revision)
    console.print(f"migrated to {revision}")


@app.command("run")
def run(host: str = "127.0.0.1", port: int = 8000) -> None:
    """Set everything up (database, migrations, the Baoji demo) and serve: what `make run` calls.

    One process for all steps, so a second `make run` pays the imports once and starts in seconds.
    """
    import threading

    from api.cli_demo import load as demo_load

    # Importing the app (the scientific stack) takes most of a re-run; do it while the database steps wait.
    preload = threading.Thread(target=importlib.import_module, args=("api.main",), daemon=True)
    preload.start()
    # Called as functions, not through typer: every parameter given, or its default is typer's OptionInfo.
    db_up(replicas=0)
    migrate("head")
    demo_load(seed=None, force=False)
    preload.join()
    serve(host=host, port=port)


@app.command("serve")
def serve(host: str = "127.0.0.1", port: int = 8000, workers: int = 1) -> None:
    """Serve the API and the dashboard."""
    import uvicorn

    from api.server import uvicorn_options

    console.print(f"dashboard 指挥中心  http://{host}:{port}/   API docs  http://{host}:{port}/docs")
    # httptools with the request head bounded in size and time (api/server.py; settings max_header_bytes and
    # header_timeout_s).
    options = uvicorn_options(_settings())
    uvicorn.run("api.main:app", host=host, port=port, workers=workers, factory=False, log_level="info", **options)


audit_app = typer.Typer(help="the audit log: verify its hash chain", no_args_is_help=True)
app.add_typer(audit_app, name="audit")


@audit_app.command("verify")
def audit_verify(from_seq: int = typer.Option(0, help="check links after this chain position")) -> None:
    """Recompute the audit log's hash chain; exit 1 and list the rows that were altered, removed or unchained."""
    from geo.db import make_engine, make_sessionmaker, transaction

    from geo.audit import verify

    s = _settings()
    with transaction(make_sessionmaker(make_engine(s))) as session:
        report = verify(session, from_seq)
    for problem in report.problems:
        console.print(f"[red]{problem}[/red]")
    console.print(
        f"audit chain: {report.rows} rows checked up to position {report.tip_seq}; "
        f"{len(report.problems)} problem(s) 问题"
    )
    raise typer.Exit(1 if report.problems else 0)


def main() -> None:
    app(prog_name="citygrid")


if __name__ == "__main__":
    main()
