"""Bench: city-wide maps for a year of ≥ 100,000 incidents; peers: plain folium HeatMap and full-detail GeoJson.

    .venv/bin/python -m bench.maps [--db citygrid_maps_demo] [--runs 5] [--synthesise]

Runs against a database holding the Baoji demo (`citygrid demo load` into --db), or with --synthesise
against bench/maps_synthetic.py's stand-in (1,537 grids, ~110k incidents a year; created once). The year
with the most incidents is mapped (the next one, when present, gives the hit rate). For each map: the
median of --runs renders with warm caches (the first, cold render is printed too), the HTML size, and
whether it loads anything from outside. Peers from the same run: folium's HeatMap of the same raw points
(fetched by the same query, rendered by plain folium with its CDN links) and a folium GeoJson choropleth
of the grids at full detail (ST_AsGeoJSON, no simplification). Targets: hotspot map < 1 s and < 3 MB,
choropleth < 1 MB.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import statistics
import time
from collections.abc import Callable

import folium
from folium.plugins import HeatMap
from rich.console import Console
from rich.table import Table
from sqlalchemy import text
from sqlalchemy.orm import Session

from bench.maps_synthetic import load as load_synthetic
from bench.maps_synthetic import settings_for
from geo.maps import data
from geo.maps.external_urls import find_external_urls
from geo.maps.pages import render_map
from geo.maps.query import map_query
from geo.pg import make_engine, make_sessionmaker

console = Console()


def busiest_year(session: Session) -> tuple[int, int]:
    row = session.execute(
        text("""SELECT extract(year FROM occurred_at AT TIME ZONE 'Asia/Shanghai')::int AS y, count(*) AS n
                FROM incidents WHERE county_code IS NOT NULL GROUP BY 1 ORDER BY 2 DESC LIMIT 1""")
    ).one()
    return int(row.y), int(row.n)


def timed(fn: Callable[[], str], runs: int) -> tuple[float, float, str]:
    """(cold seconds, median warm seconds, last output)."""
    began = time.perf_counter()
    out = fn()
    cold = time.perf_counter() - began
    warm = []
    for _ in range(runs):
        began = time.perf_counter()
        out = fn()
        warm.append(time.perf_counter() - began)
    return cold, statistics.median(warm), out


def peer_heatmap(session: Session, start: dt.date, end: dt.date) -> str:
    """What a plain folium user writes: the raw points into a HeatMap (pixel radius), default CDN assets."""
    q = map_query(session, "610300", start, end)
    points = data.incident_lonlat(session, q.scope, q.window, None)
    m = folium.Map(location=[34.36, 107.24], zoom_start=9, control_scale=True)
    HeatMap(points[:, ::-1].tolist(), radius=12).add_to(m)
    return m.get_root().render()


def peer_choropleth(session: Session, start: dt.date, end: dt.date) -> str:
    """folium GeoJson of the grids at full detail with their counts (no simplification, 15 decimals)."""
    q = map_query(session, "610300", start, end)
    counts = session.execute(
        text("""SELECT grid_code, count(*) FROM incidents WHERE occurred_at >= :s AND occurred_at < :e
                AND grid_code IS NOT NULL GROUP BY 1"""),
        {"s": q.window.start_at, "e": q.window.end_at},
    ).all()
    by_code = dict(counts)
    rows = session.execute(text("SELECT code, name, ST_AsGeoJSON(geom) AS g FROM grids WHERE status = 'active'"))
    features = [
        {"type": "Feature", "geometry": json.loads(r.g), "properties": {"code": r.code, "name": r.name,
                                                                        "count": by_code.get(r.code, 0)}}
        for r in rows
    ]  # fmt: skip
    top = max([f["properties"]["count"] for f in features] or [1])
    m = folium.Map(location=[34.36, 107.24], zoom_start=9)
    folium.GeoJson(
        {"type": "FeatureCollection", "features": features},
        style_function=lambda f: {
            "fillColor": "#bd0026",
            "fillOpacity": f["properties"]["count"] / top,
            "weight": 0.5,
        },
        popup=folium.GeoJsonPopup(fields=["code", "name", "count"]),
    ).add_to(m)
    return m.get_root().render()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--db", default="citygrid_maps_demo", help="database holding the demo (or the stand-in)")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--synthesise", action="store_true", help="use/create the synthetic stand-in in --db")
    args = ap.parse_args()
    if args.synthesise:
        load_synthetic(args.db)
    settings = settings_for(args.db)
    factory = make_sessionmaker(make_engine(settings))
    with factory() as session:
        year, n = busiest_year(session)
        start, end = dt.date(year, 1, 1), dt.date(year + 1, 1, 1)
        console.print(f"database {args.db}: {n:,} incidents in {year} (the year mapped), city 610300")
        if n < 100_000:
            console.print("[yellow]fewer than 100,000 incidents in a year: load the demo or use --synthesise[/]")
        table = Table("map", "cold s", "median s", "MB", "outside URLs", "target")
        results = {}
        for kind, target in (("hotspots", "< 1 s, < 3 MB"), ("density", "< 1 s, < 3 MB"), ("choropleth", "< 1 MB"),
                             ("change", "")):  # fmt: skip
            cold, warm, page = timed(
                lambda k=kind: render_map(k, session, settings, start=start, end=end), args.runs
            )
            mb = len(page.encode("utf-8")) / 1e6
            results[kind] = (warm, mb)
            table.add_row(
                kind, f"{cold:.2f}", f"{warm:.2f}", f"{mb:.2f}", str(len(find_external_urls(page))), target
            )
        for name, fn in (("peer: folium HeatMap of raw points", peer_heatmap),
                         ("peer: folium GeoJson, full-detail grids", peer_choropleth)):  # fmt: skip
            cold, warm, page = timed(lambda f=fn: f(session, start, end), args.runs)
            mb = len(page.encode("utf-8")) / 1e6
            results[name] = (warm, mb)
            table.add_row(name, f"{cold:.2f}", f"{warm:.2f}", f"{mb:.2f}", str(len(find_external_urls(page))), "")
        console.print(table)
        heat, ours = results["peer: folium HeatMap of raw points"], results["hotspots"]
        dens = results["density"]
        full, choro = results["peer: folium GeoJson, full-detail grids"], results["choropleth"]
        console.print(
            f"hotspot map vs HeatMap peer: time {ours[0]:.2f} s vs {heat[0]:.2f} s (ratio peer/ours "
            f"{heat[0] / ours[0]:.2f}), size {ours[1]:.2f} vs {heat[1]:.2f} MB (ratio {heat[1] / ours[1]:.2f})"
        )
        console.print(
            f"density map vs HeatMap peer: time {dens[0]:.2f} s vs {heat[0]:.2f} s (ratio {heat[0] / dens[0]:.2f}), "
            f"size {dens[1]:.2f} vs {heat[1]:.2f} MB (ratio {heat[1] / dens[1]:.2f})"
        )
        console.print(
            f"choropleth vs full-detail peer: size {choro[1]:.2f} vs {full[1]:.2f} MB (ratio {full[1] / choro[1]:.1f}), "
            f"time {choro[0]:.2f} vs {full[0]:.2f} s"
        )


if __name__ == "__main__":
    main()
