"""The one path every grid write takes: lock, check versions, validate, version, re-assign, diff, audit."""

from __future__ import annotations

from typing import Any

import shapely
from shapely.geometry import MultiPolygon
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from geo import audit
from geo.area import CITY
from geo.auth import Principal
from geo.editing import diff
from geo.editing.change import DEFAULT_TOLERANCE_M, EDITABLE, Editor, GridChange, sliver_m2, snap_m
from geo.editing.edit_area import check_edit_in_area
from geo.editing.grid_rows import grid_summaries, lock_grids, write_grids
from geo.editing.snap import snap_vertices, vertices_around
from geo.editing.validate import (
    check_attributes,
    check_post_state,
    check_validity,
    coverage,
    problem,
    reject,
    to_multipolygon,
)
from geo.errors import GridNotFound, InvalidInput, VersionConflict
from geo.pg import events


def apply_changes(
    session: Session,
    changes: list[GridChange],
    *,
    editor: Editor,
    reason: str | None,
    action: str,
    dry_run: bool = False,
    tolerance_m: float = DEFAULT_TOLERANCE_M,
) -> dict[str, Any]:
    """Apply changes to grids as one validated, versioned edit (or, with dry_run, only report its diff).

    editor: the principal editing (their area bounds the edit), or a name for trusted callers (CLI: the city).
    """
    if not changes:
        raise InvalidInput("the edit changes no grid")
    jurisdiction = editor.area if isinstance(editor, Principal) else CITY
    editor = editor.username if isinstance(editor, Principal) else editor
    codes = sorted(c.code for c in changes)
    if len(set(codes)) != len(codes):
        raise InvalidInput("a grid appears twice in one edit", field="code")
    by_code = {c.code: c for c in changes}
    where = {c.code: {"grid_code": c.code, "feature": c.feature} for c in changes}
    problems, new_geoms = _read_changes(changes, where)

    olds = lock_grids(session, codes, list(new_geoms.values()))
    check_edit_in_area(jurisdiction, changes, olds)
    _snap(session, new_geoms, olds)
    for code in codes:
        problems += _check_against_stored(session, by_code[code], olds.get(code), where[code])
    problems += check_validity(session, [(where[code], g) for code, g in new_geoms.items()])
    if problems:
        raise reject(problems)

    after = {code: _merged(by_code[code], olds.get(code), new_geoms.get(code)) for code in codes}
    communities = sorted(
        {a["community_code"] for a in after.values()} | {o["community_code"] for o in olds.values() if o}
    )
    area, lost = _affected(olds, after)
    ts = session.execute(text("SELECT clock_timestamp()")).scalar_one()
    savepoint = session.begin_nested()
    try:
        before = diff.snapshot(session, area)
        write_grids(session, codes, olds, after, ts, editor, reason)
        active = [code for code in codes if after[code]["status"] == "active"]
        before_geoms = {code: old["geom"].wkb for code, old in olds.items() if old}
        found = check_post_state(session, active, lost, communities, tolerance_m, before_geoms, sliver_m2())
        if found:
            raise reject(_located(found, where), coverage=coverage(session, communities))
        result = {
            "action": action,
            "dry_run": dry_run,
            "grids": grid_summaries(session, codes, olds, after),
            "coverage": coverage(session, communities),
            "reassigned": diff.reassign(session, before),
            **diff.compare(session, before),
            "changed_bbox": list(_bbox(olds, after)),
        }
    except IntegrityError as exc:
        savepoint.rollback()
        raise VersionConflict(f"a concurrent edit got there first: {str(exc.orig).splitlines()[0]}") from exc
    except BaseException:
        savepoint.rollback()
        raise
    if dry_run:
        savepoint.rollback()
        return result
    savepoint.commit()
    _record(session, result, olds, after, editor, action, reason, shapes_moved=area is not None)
    return result


def _snap(session: Session, new_geoms: dict[str, MultiPolygon], olds: dict[str, Any]) -> None:
    """Vertices a client rounded (or placed within a few cm of a corner) go back exactly onto the stored ones;
    called after the grids are locked, so the neighbours cannot move meanwhile."""
    tol = snap_m()
    around = vertices_around(session, list(new_geoms.values()), tol)
    for code, geom in new_geoms.items():
        own = olds[code]["geom"] if olds.get(code) else None
        new_geoms[code] = snap_vertices(geom, own, around, tol)


def _located(found: list[dict[str, Any]], where: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """Post-write problems with the feature (index in the request) of the grid they name."""
    for p in found:
        if p.get("grid_code") in where:
            p.update({k: v for k, v in where[p["grid_code"]].items() if v is not None})
    return found


def _read_changes(
    changes: list[GridChange], where: dict[str, dict[str, Any]]
) -> tuple[list[dict[str, Any]], dict[str, MultiPolygon]]:
    """The problems of the changes read alone (attribute names, geometry), and their new shapes."""
    problems: list[dict[str, Any]] = []
    new_geoms: dict[str, MultiPolygon] = {}
    for c in changes:
        bad_attrs = set(c.attrs) - set(EDITABLE)
        if bad_attrs:
            problems.append(problem("attribute", f"unknown attribute(s) {sorted(bad_attrs)}", **where[c.code]))
        if c.geom is not None:
            geom, found = to_multipolygon(c.geom, **where[c.code])
            problems += found
            if geom is not None:
                new_geoms[c.code] = geom
        elif c.create:
            problems.append(problem("geometry", "a new grid needs a geometry", **where[c.code]))
    return problems, new_geoms


def _check_against_stored(
    session: Session, c: GridChange, old: dict[str, Any] | None, where: dict[str, Any]
) -> list[dict[str, Any]]:
    """A change against the locked stored grid: exists or not as it claims, at the version it expects."""
    code = c.code
    if c.create and old is not None:
        return [problem("code", f"grid {code} already exists", **where)]
    if not c.create and old is None:
        raise GridNotFound(f"no grid {code}", grid_code=code)
    if old is not None and c.expected_version is not None and old["version"] != c.expected_version:
        raise VersionConflict(
            f"grid {code} is at version {old['version']}, not {c.expected_version}: reload it and edit again",
            grid_code=code,
            current_version=old["version"],
            expected_version=c.expected_version,
        )
    return check_attributes(session, code, c.attrs, c.create, **where)


def _record(
    session: Session,
    result: dict[str, Any],
    olds: dict[str, Any],
    after: dict[str, Any],
    editor: str,
    action: str,
    reason: str | None,
    shapes_moved: bool,
) -> None:
    """One audit row per grid written, and the tile layers to drop once the edit commits."""
    for g in result["grids"]:
        old = olds.get(g["code"])
        audit.record(
            session,
            editor,
            f"grid.{action}",
            "grid",
            g["code"],
            before=_audit_view(old, g["version_before"], g["area_before_m2"]) if old else None,
            after=_audit_view(after[g["code"]], g["version_after"], g["area_after_m2"]),
            reason=reason,
        )
    # Grid tiles carry name, households, population and version: every applied edit changes them, an
    # attribute-only one too. Incident and compound tiles change only where shapes moved (re-assignment).
    box = tuple(result["changed_bbox"])
    for layer in ("grids", "incidents", "compounds") if shapes_moved else ("grids",):
        events.on_commit(session, layer, box)  # type: ignore[arg-type]


def _merged(change: GridChange, old: dict[str, Any] | None, geom: MultiPolygon | None) -> dict[str, Any]:
    """The grid's state after the change: old values overridden by the change."""
    state = {k: (old or {}).get(k) for k in EDITABLE}
    state.update(change.attrs)
    state["status"] = change.status or (old["status"] if old else "active")
    state["geom"] = geom if geom is not None else (old or {}).get("geom")
    state["moved"] = (
        geom is not None
        or old is None
        or state["status"] != old["status"]
        or (state["community_code"] != old["community_code"])
    )
    return state


def _affected(
    olds: dict[str, dict[str, Any]], after: dict[str, dict[str, Any]]
) -> tuple[bytes | None, bytes | None]:
    """(area whose points may change grid, area the old shapes covered) as WKB; None when nothing moved."""
    pieces, lost = [], []
    for code, new in after.items():
        if not new["moved"]:
            continue
        old = olds.get(code)
        if old is None:
            pieces.append(new["geom"])
            continue
        lost.append(old["geom"])
        same_owner = new["status"] == old["status"] and new["community_code"] == old["community_code"]
        pieces.append(
            shapely.symmetric_difference(old["geom"], new["geom"])
            if same_owner
            else shapely.union(old["geom"], new["geom"])
        )
    if not pieces:
        return None, None
    area = shapely.union_all(pieces)
    return (area.wkb if not area.is_empty else None), (shapely.union_all(lost).wkb if lost else None)


def _bbox(olds: dict[str, dict[str, Any]], after: dict[str, dict[str, Any]]) -> tuple[float, ...]:
    """Every edited grid's extent before and after: where its tiles show it (moved or only renamed)."""
    shapes = [s["geom"] for s in list(olds.values()) + list(after.values()) if s.get("geom") is not None]
    return tuple(round(v, 7) for v in shapely.GeometryCollection(shapes).bounds)


def _audit_view(state: dict[str, Any], version: int | None, area_m2: float | None) -> dict[str, Any]:
    return {k: state.get(k) for k in (*EDITABLE, "status")} | {"version": version, "area_m2": area_m2}
