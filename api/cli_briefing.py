"""`citygrid briefing -o FILE.pdf`: the same PDF briefing GET /api/v1/briefings serves."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

import typer
from rich.console import Console

from geo.errors import CitygridError
from geo.settings import Settings

console = Console()


def briefing(
    output: Path = typer.Option(..., "-o", "--output", help="PDF file to write"),
    admin_code: str = typer.Option(
        "610300", "--admin-code", help="610300 (city), a county, town, community or grid"
    ),
    start: str = typer.Option(..., "--start", help="first day YYYY-MM-DD"),
    end: str = typer.Option(..., "--end", help="day after the last YYYY-MM-DD"),
) -> None:
    """简报 A 1–3 page PDF briefing of an area and period: figures, changes, two maps, lists (offline)."""
    from geo.briefings import briefing_pdf
    from geo.pg import make_engine, make_sessionmaker

    settings = Settings()
    began = time.perf_counter()
    try:
        first, after = dt.date.fromisoformat(start), dt.date.fromisoformat(end)
        with make_sessionmaker(make_engine(settings))() as session:
            pdf = briefing_pdf(session, admin_code, first, after)
    except (CitygridError, ValueError) as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from exc
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_bytes(pdf)
    console.print(f"briefing: {output} ({len(pdf) / 1e6:.2f} MB, {time.perf_counter() - began:.1f} s)")
