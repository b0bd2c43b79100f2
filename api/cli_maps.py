"""`citygrid map density|choropleth|hotspots|change -o FILE.html`: the same maps the API serves, as files."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

import typer
from rich.console import Console

from geo.errors import CitygridError
from geo.scope import CITY_CODE
from geo.settings import Settings

map_app = typer.Typer(
    help="地图 Command-centre maps written to HTML files: self-contained by default (--assets inline), "
    "or with a folder of assets (--assets folder); they open from anywhere with no internet"
)
console = Console()

OUT = typer.Option(
    ..., "-o", "--output", help="HTML file to write; by default self-contained (works when moved or mailed)"
)
ASSETS = typer.Option(
    "inline",
    "--assets",
    help="inline (default): one self-contained file, scripts, styles and fonts inside it; "
    "folder: the file plus a FILE_files/ folder of the assets it links (move them together)",
)
ADMIN = typer.Option(
    None, "--admin-code", help=f"{CITY_CODE} (city, default), a county, town, community or grid code"
)
START = typer.Option(None, "--start", help="first day YYYY-MM-DD (default: a year before --end)")
END = typer.Option(None, "--end", help="day after the last YYYY-MM-DD (default: after the latest incident)")
CATEGORY = typer.Option(None, "--category", help="incident category; repeat for several (default all)")


def _write(
    kind: str,
    output: Path,
    admin_code: str | None,
    start: str | None,
    end: str | None,
    category: list[str] | None,
    assets: str = "inline",
    **extra,
) -> None:
    from geo.maps.pages import save_map
    from geo.pg import make_engine, make_sessionmaker

    settings = Settings()
    factory = make_sessionmaker(make_engine(settings))
    began = time.perf_counter()
    try:
        with console.status(f"绘制 rendering {kind} …"), factory() as session:
            path = save_map(
                kind,
                session,
                settings,
                output,
                assets=assets,
                admin_code=admin_code,
                start=dt.date.fromisoformat(start) if start else None,
                end=dt.date.fromisoformat(end) if end else None,
                categories=category or None,
                **extra,
            )
    except (CitygridError, ValueError) as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from exc
    size = path.stat().st_size / 1e6
    console.print(f"{kind}: {path} ({size:.2f} MB, {time.perf_counter() - began:.1f} s)")


@map_app.command("density")
def density(
    output: Path = OUT,
    admin_code: str = ADMIN,
    start: str = START,
    end: str = END,
    category: list[str] = CATEGORY,
    assets: str = ASSETS,
    bandwidth_m: float = typer.Option(None, "--bandwidth-m", help="kernel σ in metres (default the setting)"),
) -> None:
    """事件密度图 Kernel density of incidents (bandwidth in metres, UTM 48N) with its hit rate."""
    _write("density", output, admin_code, start, end, category, assets, bandwidth_m=bandwidth_m)


@map_app.command("choropleth")
def choropleth(
    output: Path = OUT,
    admin_code: str = ADMIN,
    start: str = START,
    end: str = END,
    category: list[str] = CATEGORY,
    assets: str = ASSETS,
    measure: str = typer.Option("count", "--measure", help="count, or rate (per 1,000 households)"),
) -> None:
    """网格分级图 Grids by count or rate per 1,000 households, natural breaks."""
    _write("choropleth", output, admin_code, start, end, category, assets, measure=measure)


@map_app.command("hotspots")
def hotspots(
    output: Path = OUT,
    admin_code: str = ADMIN,
    start: str = START,
    end: str = END,
    category: list[str] = CATEGORY,
    assets: str = ASSETS,
    measure: str = typer.Option(
        "auto",
        "--measure",
        help="auto (per 1,000 households where grid sizes differ >10×), count, density (per km²), rate",
    ),
) -> None:
    """冷热点分析 Getis-Ord Gi* hot and cold spots: two-sided permutation p, FDR correction, hit rate."""
    _write("hotspots", output, admin_code, start, end, category, assets, measure=measure)


@map_app.command("change")
def change(
    output: Path = OUT,
    admin_code: str = ADMIN,
    start: str = START,
    end: str = END,
    category: list[str] = CATEGORY,
    assets: str = ASSETS,
) -> None:
    """同比变化图 Year-over-year change per grid: exact two-Poisson test, BH across grids."""
    _write("change", output, admin_code, start, end, category, assets)
