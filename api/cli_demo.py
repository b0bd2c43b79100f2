"""`citygrid demo load` (idempotent, with progress) and `citygrid demo check` (the seed figures from the DB)."""

from __future__ import annotations

import time

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from geo.settings import Settings

demo_app = typer.Typer(help="演示数据 The Baoji demo: load it, check its figures")
console = Console()


@demo_app.command("load")
def load(
    seed: int | None = typer.Option(None, help="generator seed (default: CITYGRID_DEMO_SEED)"),
    force: bool = typer.Option(False, "--force", help="replace data that is not the demo"),
) -> None:
    """Generate the Baoji demo and load it (does nothing when the same demo is already loaded)."""
    from geo.demo.load import STEPS, DemoRefused, load_demo

    started = time.perf_counter()
    columns = (SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=False) as progress:
        task = progress.add_task("演示数据 demo: checking the database", total=len(STEPS))

        def step(name: str) -> None:
            progress.update(task, description=f"演示数据 demo: {name}", completed=STEPS.index(name))

        try:
            summary = load_demo(Settings(), seed, force, step)
        except DemoRefused as exc:
            console.print(f"[red]{exc}[/red]")
            raise typer.Exit(1) from exc
        progress.update(task, completed=len(STEPS))
    if not summary.loaded:
        console.print(f"the demo (seed {summary.seed}, fingerprint {summary.fingerprint}) is already loaded")
        return
    counts = ", ".join(f"{name} {n:,}" for name, n in summary.counts.items())
    console.print(
        f"loaded the Baoji demo (seed {summary.seed}, fingerprint {summary.fingerprint}) in "
        f"{time.perf_counter() - started:.1f} s (generate {summary.generate_seconds:.1f} s, "
        f"write {summary.write_seconds:.1f} s): {counts}"
    )


@demo_app.command("check")
def check() -> None:
    """Compute each seed figure from the database with plain SQL, beside its target; exit 1 if any misses."""
    from geo.demo.targets import run_checks
    from geo.pg import make_engine

    engine = make_engine(Settings())
    try:
        with engine.connect() as conn:
            results = run_checks(conn)
    finally:
        engine.dispose()
    table = Table(title="宝鸡演示数据核对 Baoji demo figures (computed from the database)")
    for col in ("figure", "in the database", "target", ""):
        table.add_column(col)
    for r in results:
        value = "—" if r.value is None else f"{r.value:g}"
        table.add_row(r.check.label, value, r.expected, "[green]ok[/green]" if r.ok else "[red]MISS[/red]")
    console.print(table)
    missed = [r.check.key for r in results if not r.ok]
    if missed:
        console.print(f"[red]{len(missed)} figure(s) missed: {', '.join(missed)}[/red]")
        raise typer.Exit(1)
    console.print(f"all {len(results)} figures match")
