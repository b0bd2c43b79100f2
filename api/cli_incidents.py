"""`citygrid incidents import FILE` and `citygrid compounds assign`: the API's geo code, with progress bars."""

from __future__ import annotations

import time
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from api.cli_common import cli_actor
from geo.errors import CitygridError, WriteCollision
from geo.settings import Settings

incidents_app = typer.Typer(help="事件 Incidents: bulk import from GeoJSON, CSV or GeoPackage")
compounds_app = typer.Typer(help="老旧小区 Old residential compounds")
console = Console()

STAGES = {
    "read": "读取 reading",
    "check": "校验 checking",
    "assign": "落格 assigning grids",
    "encode": "编码 encoding for COPY",  # new rows: encoded part by part and sent as they are
    "copy": "传输 COPY to PostGIS",
    "insert": "入库 inserting",
}


def _session_factory():
    from geo.pg import make_engine, make_sessionmaker

    s = Settings()
    return s, make_sessionmaker(make_engine(s))


@incidents_app.command("import")
def import_file(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, help=".geojson/.json, .csv or .gpkg"),
    crs: str = typer.Option(None, "--crs", help="EPSG:4326 (default), EPSG:4490, GCJ-02 or BD-09"),
    partial: bool = typer.Option(False, "--partial", help="store the valid rows and list the rejected ones"),
    synthetic: bool = typer.Option(False, "--synthetic", help="flag the rows as synthetic (demo data)"),
    dry_run: bool = typer.Option(False, "--dry-run", help="check and assign, but write nothing"),
) -> None:
    """Import incidents; each is assigned to its grid while inserting. All-or-nothing unless --partial."""
    from geo.incidents import format_for, import_incidents, read_any
    from geo.pg.retry import retried

    settings, factory = _session_factory()
    started = time.perf_counter()
    amount = TextColumn("{task.completed:>12,.0f} / {task.total:,.0f} {task.fields[unit]}")
    columns = (SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), amount, TimeElapsedColumn())
    with Progress(*columns, console=console, transient=False) as bar:
        tasks: dict[str, TaskID] = {}

        def progress(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                for other in tasks.values():
                    bar.update(other, completed=bar.tasks[other].total)
                unit = "bytes" if stage in ("read", "copy") else "rows"
                tasks[stage] = bar.add_task(STAGES[stage], total=max(total, 1), unit=unit)
            bar.update(tasks[stage], completed=done, total=max(total, 1))

        try:
            progress("read", 0, file.stat().st_size)
            fmt = format_for(file.name)
            raw = read_any(file, fmt, crs, settings.max_csv_columns)
            progress("read", file.stat().st_size, file.stat().st_size)
            with factory() as session:

                def write() -> dict:
                    done = import_incidents(
                        session,
                        settings,
                        raw,
                        fmt,
                        partial=partial,
                        synthetic=synthetic,
                        progress=progress,
                        dry_run=dry_run,
                        actor=cli_actor(),
                        source=file.name,
                    )
                    if not dry_run:  # a dry run wrote nothing: the session closes without a commit
                        session.commit()
                    return done

                # A deadlock with a concurrent import (the API's or another CLI's) is retried as the API does:
                # the whole transaction, read once (geo.pg.retry); the user is told of each retry.
                summary = retried(session, write, on_retry=_say_retry)
        except CitygridError as exc:
            bar.stop()
            _print_problem(exc)
            raise typer.Exit(1) from exc
    elapsed = time.perf_counter() - started
    what = "dry run, nothing written" if dry_run else "imported"
    table = Table(
        title=f"{file.name}, {what}: {summary['received']:,} rows in {elapsed:.1f} s "
        f"({summary['received'] / elapsed:,.0f}/s)"
    )
    for key in ("received", "inserted", "updated", "rejected", "outside_jurisdiction"):
        label = f"would be {key}" if dry_run and key in ("inserted", "updated") else key
        table.add_row(label, f"{summary[key]:,}")
    table.add_row("source_crs", summary["source_crs"])
    console.print(table)
    for w in summary["warnings"]:
        if not (dry_run and w["code"] == "outside_jurisdiction"):  # the table already counts them
            console.print(f"[yellow]warning[/yellow] {w['detail']}")
    for e in summary["errors"][:20]:
        console.print(f"[red]rejected[/red] #{e['index']} {e['field']}: {e['reason']}")
    if summary["errors_total"] > 20:
        console.print(f"… {summary['errors_total'] - 20} more problem(s)")


COLLISION_KINDS = {"40P01": ("死锁", "deadlock"), "40001": ("串行化失败", "serialization failure")}


def _say_retry(attempt: int, attempts: int, sqlstate: str) -> None:
    zh, en = COLLISION_KINDS.get(sqlstate, ("冲突", "collision"))
    console.print(
        f"[yellow]与其他写入冲突（{zh}，SQLSTATE {sqlstate}），已回滚，正在重试（第 {attempt}/{attempts} 次）"
        f" collided with another writer ({en}, SQLSTATE {sqlstate}): rolled back, retrying"
        f" (attempt {attempt} of {attempts})[/yellow]"
    )


def _print_problem(exc: CitygridError) -> None:
    if isinstance(exc, WriteCollision):
        attempts, sqlstate = exc.context.get("attempts"), exc.context.get("sqlstate")
        console.print(
            f"[red]与其他写入冲突 {attempts} 次（SQLSTATE {sqlstate}），已放弃：未写入任何数据，请稍后重新导入。"
            f" Gave up after {attempts} collisions with another writer (SQLSTATE {sqlstate}): nothing was"
            " written; run the import again shortly.[/red]"
        )
        return
    console.print(f"[red]{exc.detail}[/red]")
    for e in exc.context.get("errors", [])[:20]:
        console.print(f"  #{e['index']} {e['field']}: {e['reason']}")
    total = exc.context.get("errors_total", 0)
    if total > 20:
        console.print(f"  … {total - 20} more problem(s); nothing was written")


@compounds_app.command("assign")
def assign_compounds() -> None:
    """Re-run the grid assignment of every compound (and every incident's compound_id)."""
    from geo.compounds import assign_all
    from geo.pg import transaction

    _, factory = _session_factory()
    with console.status("落格 assigning compounds…"), transaction(factory) as session:
        counts = assign_all(session, actor=cli_actor())
    console.print(
        f"{counts['compounds']} compounds: {counts['compounds_changed']} changed; "
        f"{counts['incidents_changed']} incidents changed compound"
    )
