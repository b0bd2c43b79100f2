"""`citygrid roads import` and `citygrid patrols suggest|coverage|export|map`: the patrol tools on the command line."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from api.cli_common import cli_principal, run_in_transaction
from geo.area import CITY

roads_app = typer.Typer(help="道路网 Road network that patrol legs follow (e.g. an OpenStreetMap extract)")
patrols_app = typer.Typer(help="巡逻 Patrol planning: suggest a patrol, coverage, export GPX/GeoJSON, map")
console = Console()


def _as_of(value: str | None) -> dt.datetime | None:
    if value is None:
        return None
    try:
        return dt.datetime.fromisoformat(value)
    except ValueError as exc:
        console.print(f"[red]--as-of {value!r} is not an ISO date-time[/red]")
        raise typer.Exit(2) from exc


def _write(text: str, out: Path | None) -> None:
    if out is None:
        typer.echo(text)
    else:
        out.write_text(text, encoding="utf-8")
        console.print(f"written to {out} ({len(text.encode()) / 1024:.1f} KiB)")


@roads_app.command("import")
def roads_import(
    file: Path = typer.Argument(..., help="GeoJSON, GeoPackage or any OGR-readable file of LineStrings"),
    layer: str | None = typer.Option(None, help="layer name (GeoPackage with several layers)"),
    keep: bool = typer.Option(False, "--keep", help="keep rows imported earlier from a file of the same name"),
) -> None:
    """Load road lines (name, highway, oneway columns when present) into the roads table with COPY."""
    from geo.patrols import roads

    def work(session, settings):
        frame = roads.read_roads(file, layer)
        with Progress(console=console) as progress:
            task = progress.add_task(f"COPY {file.name}", total=len(frame))
            n = roads.copy_roads(session, frame, file.name, not keep, lambda k: progress.advance(task, k))
        return n, float(frame["length_m"].sum())

    n, length = run_in_transaction(work)
    console.print(f"{n} road lines, {length / 1000:.1f} km, imported from {file}")


def _suggest_table(props: dict[str, Any]) -> Table:
    table = Table(
        title=f"建议巡逻 {props['community_code'] or ''} · {props['mode']} · {props['shift_minutes']:g} min"
    )
    for col in ("#", "kind", "name", "weight", "eta", "dwell"):
        table.add_column(col)
    for s in props["stops"]:
        table.add_row(
            str(s["seq"]),
            s["kind_label"],
            s["name"],
            f"{s['weight']:g}",
            f"{s['eta_minutes']:g}",
            f"{s['dwell_minutes']}",
        )
    return table


@patrols_app.command("suggest")
def suggest(
    minutes: float = typer.Option(..., "--minutes", "-m", help="shift length in minutes"),
    officer_id: int | None = typer.Option(None, "--officer-id", help="plan for this officer's community"),
    community: str | None = typer.Option(None, "--community", help="a 12-digit community code"),
    grids: str | None = typer.Option(None, "--grids", help="comma-separated grid codes"),
    start: str | None = typer.Option(None, "--start", help="lon,lat (WGS84); default a point inside the area"),
    mode: str = typer.Option("walk", help="walk or drive"),
    shift: str = typer.Option("day", help="morning, day, evening or night"),
    randomize: bool = typer.Option(False, "--randomize", help="jitter visit times within the shift"),
    seed: int | None = typer.Option(None, help="seed of the jitter (printed; reuse it to reproduce)"),
    solver: str = typer.Option("ortools", help="ortools, greedy or exact (≤ 12 candidates)"),
    hot_spots: str = typer.Option("top_n", "--hot-spots", help="top_n or gi_star"),
    as_of: str | None = typer.Option(None, "--as-of", help="end of the incident window (ISO time; default now)"),
    save: bool = typer.Option(False, "--save", help="save the suggestion as a patrol route (needs --officer-id)"),
    out: Path | None = typer.Option(None, "--out", "-o", help="write the GeoJSON Feature to this file"),
) -> None:
    """Suggest a patrol: the stops worth most risk within the shift, ordered, with ETAs and coverage."""
    from geo.patrols import routes
    from geo.patrols.suggest import parse_request, suggest_patrol

    payload = {
        "shift_minutes": minutes,
        "officer_id": officer_id,
        "community_code": community,
        "start": start,
        "grid_codes": grids.split(",") if grids else None,
        "mode": mode,
        "shift": shift,
        "randomize_times": randomize,
        "seed": seed,
        "solver": solver,
        "hot_method": hot_spots,
    }

    def work(session, settings):
        feature = suggest_patrol(session, parse_request(payload), settings.patrol_reach_m)
        saved = None
        if save and feature["geometry"] is not None:
            saved = routes.create_route(session, cli_principal(), feature["properties"]["route"])
        return feature, saved

    feature, saved = run_in_transaction(work)
    props = feature["properties"]
    console.print(_suggest_table(props))
    risk = props["risk"]
    console.print(
        f"risk covered {risk['covered']:g} of {risk['available']:g}; greedy baseline {risk['greedy']:g}; "
        f"total {props['total_minutes']:g} min (travel {props['travel_minutes']:g}, visits {props['dwell_minutes']:g}); "
        f"legs: {props['solver']['legs']}"
        + (f"; seed {props['randomized']['seed']}" if props["randomized"] else "")
    )
    for w in props["warnings"]:
        console.print(f"[yellow]{w['code']}: {w['detail']}[/yellow]")
    if saved:
        console.print(f"saved as patrol route {saved['route']['id']}")
    if out:
        _write(json.dumps(feature, ensure_ascii=False), out)


@patrols_app.command("coverage")
def coverage(
    route_id: int | None = typer.Option(None, "--route-id"),
    officer_id: int | None = typer.Option(None, "--officer-id"),
    community: str | None = typer.Option(None, "--community"),
    days: int = typer.Option(28, help="incidents of the last N days"),
    hot_spots: str = typer.Option("top_n", "--hot-spots", help="top_n or gi_star"),
    as_of: str | None = typer.Option(None, "--as-of", help="end of the incident window (ISO time; default now)"),
) -> None:
    """Coverage of a route, an officer's routes or a community's routes, as JSON."""
    from geo.patrols import coverage as cov

    end = _as_of(as_of)
    result = run_in_transaction(
        lambda session, settings: cov.coverage(
            session,
            CITY,
            route_id=route_id,
            officer_id=officer_id,
            community_code=community,
            reach_m=settings.patrol_reach_m,
            days=days,
            hot_method=hot_spots,
            as_of=end,
        )
    )
    typer.echo(json.dumps(result, ensure_ascii=False, indent=2, default=str))


@patrols_app.command("export")
def export(
    route_id: int = typer.Argument(..., help="patrol route id"),
    format: str = typer.Option("gpx", "--format", "-f", help="gpx or geojson"),
    out: Path | None = typer.Option(None, "--out", "-o", help="file to write (default: standard output)"),
) -> None:
    """Export a patrol route as GPX 1.1 (track + stop waypoints) or as a GeoJSON Feature."""
    from geo.patrols import routes

    if format not in ("gpx", "geojson"):
        console.print("[red]--format must be gpx or geojson[/red]")
        raise typer.Exit(2)
    if format == "gpx":
        text = run_in_transaction(lambda session, settings: routes.route_gpx(session, route_id, CITY))
    else:
        text = json.dumps(
            run_in_transaction(lambda session, settings: routes.get_route(session, route_id)), ensure_ascii=False
        )
    _write(text, out)


@patrols_app.command("map")
def route_map(
    route_id: int = typer.Argument(..., help="patrol route id"),
    out: Path = typer.Option(..., "--out", "-o", help="HTML file, self-contained (works when moved or mailed)"),
    days: int = typer.Option(28, help="colour grids by incidents of the last N days"),
) -> None:
    """Write the route's map (hot-spot layer, reach band, numbered stops) as an offline HTML page."""
    from geo.maps.standalone import inline_assets
    from geo.patrols.map import route_map_html

    page = run_in_transaction(lambda session, settings: route_map_html(session, settings, route_id, days))
    _write(inline_assets(page), out)
