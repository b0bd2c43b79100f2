"""`citygrid grids …`: the same validated, versioned grid edits as the API, through the same geo functions."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from api.cli_common import cli_actor, run_in_transaction
from geo.area import CITY
from geo.settings import Settings

grids_app = typer.Typer(
    help="网格编辑 Grid editing: move boundaries, split, merge, retire, revert, import, export"
)
console = Console()

DRY_RUN = typer.Option(False, "--dry-run", help="show the diff, write nothing")
REASON = typer.Option(None, "--reason", "-r", help="why (kept in the history and the audit log)")
AS_JSON = typer.Option(False, "--json", help="print the whole result as JSON")


def _geometry(value: str) -> Any:
    """WKT text, GeoJSON text, or a GeoJSON file (a geometry, a Feature or a one-feature FeatureCollection)."""
    if value.lower().endswith((".json", ".geojson")):
        value = Path(value).read_text(encoding="utf-8")
    if value.lstrip().startswith("{"):
        doc = json.loads(value)
        if doc.get("type") == "FeatureCollection":
            doc = doc["features"][0]
        return doc.get("geometry", doc) if doc.get("type") == "Feature" else doc
    return value


def _versions(pairs: list[str] | None) -> dict[str, int | None]:
    """CODE=VERSION pairs from --expect."""
    out: dict[str, int | None] = {}
    for pair in pairs or []:
        code, _, version = pair.partition("=")
        out[code] = int(version)
    return out


def _report(result: dict[str, Any], as_json: bool) -> None:
    if as_json:
        console.print_json(json.dumps(result, ensure_ascii=False, default=str))
        return
    title = f"{result['action']}{' (dry run: nothing written)' if result['dry_run'] else ''}"
    table = Table("grid", "status", "version", "area m² before → after", "change m²", title=title)
    for g in result["grids"]:
        before = "—" if g["area_before_m2"] is None else f"{g['area_before_m2']:,.0f}"
        table.add_row(
            g["code"],
            g["status"],
            f"{g['version_before'] or '—'} → {g['version_after']}",
            f"{before} → {g['area_after_m2']:,.0f}",
            f"{g['area_change_m2']:+,.0f}",
        )
    console.print(table)
    for m in result["incidents"]["moves"]:
        console.print(f"incidents {m['from']} → {m['to']}: {m['count']}")
    for m in result["compounds"]["moves"]:
        console.print(
            f"compound {m['id']} {m['name']}: {m['from']} → {m['to']} ({m['households'] or 0} households)"
        )
    for c in result["coverage"]:
        console.print(f"coverage of {c['community_code']} {c['name']}: {c['share']:.4%} ({c['grids']} grids)")


def _edit(action: Callable[..., dict[str, Any]], *args: Any, as_json: bool = False, **kwargs: Any) -> None:
    def work(session: Any, settings: Settings) -> dict[str, Any]:
        return action(session, *args, editor=cli_actor(), tolerance_m=settings.edit_tolerance_m, **kwargs)

    _report(run_in_transaction(work), as_json)


@grids_app.command("move-boundary")
def move_boundary(
    a: str,
    b: str,
    line: str = typer.Option(..., help="the new shared boundary: WKT, GeoJSON or a .geojson file"),
    expect: list[str] = typer.Option(None, help="CODE=VERSION for each grid (If-Match)"),
    reason: str = REASON,
    dry_run: bool = DRY_RUN,
    as_json: bool = AS_JSON,
) -> None:
    """Move the boundary between two neighbouring grids along a new line."""
    from geo.editing.edits import move_boundary as run

    _edit(
        run,
        a,
        b,
        line=_geometry(line),
        expected_versions=_versions(expect),
        reason=reason,
        dry_run=dry_run,
        as_json=as_json,
    )


@grids_app.command("split")
def split(
    code: str,
    line: str = typer.Option(..., help="a line across the grid: WKT, GeoJSON or a .geojson file"),
    new_code: list[str] = typer.Option(None, help="codes for the new pieces (default: the next free)"),
    expect: int = typer.Option(None, help="the grid's current version (If-Match)"),
    reason: str = REASON,
    dry_run: bool = DRY_RUN,
    as_json: bool = AS_JSON,
) -> None:
    """Split a grid by a line; the largest piece keeps the code."""
    from geo.editing.edits import split_grid

    _edit(
        split_grid,
        code,
        _geometry(line),
        expected_version=expect,
        new_codes=new_code or None,
        reason=reason,
        dry_run=dry_run,
        as_json=as_json,
    )


@grids_app.command("merge")
def merge(
    codes: list[str],
    keep: str = typer.Option(None, help="the grid that takes the union (default: the first)"),
    expect: list[str] = typer.Option(None, help="CODE=VERSION for each grid"),
    reason: str = REASON,
    dry_run: bool = DRY_RUN,
    as_json: bool = AS_JSON,
) -> None:
    """Merge adjacent grids of one community."""
    from geo.editing.edits import merge_grids

    _edit(
        merge_grids,
        codes,
        keep=keep,
        expected_versions=_versions(expect),
        reason=reason,
        dry_run=dry_run,
        as_json=as_json,
    )


@grids_app.command("retire")
def retire(
    code: str,
    absorbed_by: str = typer.Option(None, help="the neighbour that takes the area"),
    expect: int = typer.Option(None),
    reason: str = REASON,
    dry_run: bool = DRY_RUN,
    as_json: bool = AS_JSON,
) -> None:
    """Retire a grid (its area must go to a neighbour or lie outside its community)."""
    from geo.editing.edits import retire_grid

    _edit(
        retire_grid,
        code,
        expected_version=expect,
        absorbed_by=absorbed_by,
        reason=reason,
        dry_run=dry_run,
        as_json=as_json,
    )


@grids_app.command("revert")
def revert(
    code: str,
    version: int,
    expect: int = typer.Option(None),
    reason: str = REASON,
    dry_run: bool = DRY_RUN,
    as_json: bool = AS_JSON,
) -> None:
    """Make an earlier version current again (as a new version)."""
    from geo.editing.edits import revert_grid

    _edit(revert_grid, code, version, expected_version=expect, reason=reason, dry_run=dry_run, as_json=as_json)


@grids_app.command("history")
def history(code: str, as_json: bool = AS_JSON) -> None:
    """Every version of a grid."""
    from geo.editing.history import history as run

    doc = json.loads(run_in_transaction(lambda session, _: run(session, code, CITY)))
    if as_json:
        console.print_json(json.dumps(doc, ensure_ascii=False))
        return
    table = Table("version", "status", "valid from", "valid to", "editor", "reason", "area m²", title=code)
    for f in doc["features"]:
        p = f["properties"]
        table.add_row(
            str(p["version"]),
            p["status"],
            str(p["valid_from"]),
            str(p["valid_to"] or "—"),
            p["editor"] or "",
            p["reason"] or "",
            f"{p['area_m2']:,.0f}",
        )
    console.print(table)


@grids_app.command("import")
def import_layer(
    path: Path,
    crs: str = typer.Option(None, help="GCJ-02 or BD-09 when the layer uses them"),
    reason: str = REASON,
    dry_run: bool = DRY_RUN,
    as_json: bool = AS_JSON,
    force: bool = typer.Option(
        False, "--force", help="change existing grids whose version the layer does not give (audited)"
    ),
) -> None:
    """Import a grid layer (GeoJSON, GeoPackage, zipped Shapefile): all or nothing.

    Existing grids change only from the version each feature names (an export carries it), unless --force.
    """
    from geo.editing.exchange import import_grids

    data = path.read_bytes()
    with console.status(f"validating and importing {path.name} …"):
        result = run_in_transaction(
            lambda session, s: import_grids(
                session,
                data,
                path.name,
                editor=cli_actor(),
                reason=reason,
                crs=crs,
                dry_run=dry_run,
                tolerance_m=s.edit_tolerance_m,
                force=force,
            )
        )
    console.print(
        f"{result['features']} features: {len(result['created'])} created, "
        f"{len(result['updated'])} updated, {len(result['unchanged'])} unchanged"
    )
    if result["edit"]:
        _report(result["edit"], as_json)


@grids_app.command("export")
def export_layer(
    path: Path,
    admin_code: str = typer.Option(None, help="city, county, town, community or grid code"),
    format: str = typer.Option(None, help="geojson, gpkg or shp (default: from the file name)"),
    include_retired: bool = False,
) -> None:
    """Export grids to a file (a .zip for Shapefile)."""
    from geo import formats
    from geo.editing.exchange import FORMATS, export_grids

    named = formats.SUFFIXES.get(path.suffix.lower())
    fmt = format or (named if named in FORMATS else "geojson")
    with console.status(f"exporting {fmt} …"):
        data, _, _ = run_in_transaction(
            lambda session, _: export_grids(session, fmt, CITY, admin_code, include_retired)
        )
    path.write_bytes(data)
    console.print(f"wrote {path} ({len(data) / 1e3:,.0f} kB)")


@grids_app.command("crosswalk")
def crosswalk(
    department: str,
    layer: Path = typer.Option(None, help="a department grid layer (default: department_grids)"),
    csv_out: Path = typer.Option(None, "--csv", help="write the crosswalk as CSV here"),
    as_json: bool = AS_JSON,
) -> None:
    """For each integrated grid, which of a department's grids overlap it and by what share."""
    from geo.editing import crosswalk as cw

    def work(session: Any, s: Settings) -> dict[str, Any]:
        if layer:
            return cw.crosswalk_upload(
                session, department, CITY, layer.read_bytes(), layer.name, tolerance_m=s.edit_tolerance_m
            )
        return cw.crosswalk_table(session, department, CITY, tolerance_m=s.edit_tolerance_m)

    with console.status("intersecting …"):
        result = run_in_transaction(work)
    if csv_out:
        csv_out.write_text("\ufeff" + cw.to_csv(result), encoding="utf-8")
        console.print(f"wrote {csv_out}")
    if as_json:
        console.print_json(json.dumps(result, ensure_ascii=False))
    else:
        matched = sum(1 for g in result["grids"] if g["department_grids"])
        console.print(
            f"{result['department_label']}: {result['department_grids']} department grids; "
            f"{matched} of {len(result['grids'])} integrated grids overlap one"
        )
