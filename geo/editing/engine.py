"""The one path every grid write takes: lock, check versions, validate, version, re-assign, diff, audit."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import shapely
from shapely.geometry import MultiPolygon
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from geo import audit
from geo.area import CITY, Area
from geo.auth import Principal
from geo.crs import METRIC_EPSG
from geo.editing import diff
from geo.editing.validate import (
    check_attributes,
    check_post_state,
    check_validity,
    coverage,
    problem,
    reject,
    to_multipolygon,
)
from geo.errors import Forbidden, GridNotFound, InvalidInput, VersionConflict
from geo.pg import events

EDITABLE = ("name", "community_code", "grid_worker", "grid_worker_phone", "households", "population")
# Who edits: a principal (the API: bounded by their area) or a name (trusted callers, the CLI: the city).
Editor = str | Principal
DEFAULT_TOLERANCE_M = 1.0  # Settings.edit_tolerance_m's default; callers pass the configured value


@dataclass
class GridChange:
    """One grid's part of an edit: a new geometry and/or attributes and/or status, or a new grid."""

    code: str
    geom: Any = None  # GeoJSON / WKT / shapely; None keeps the current geometry
    attrs: dict[str, Any] = field(default_factory=dict)
    status: str | None = None  # "retired" retires, "active" re-activates; None keeps
    expected_version: int | None = None  # the If-Match version; None: not checked (the lock still holds)
    create: bool = False
    feature: int | None = None  # index in an imported layer, for the report


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

    olds = _lock(session, codes, list(new_geoms.values()))
    check_edit_in_area(jurisdiction, changes, olds)
    for code in codes:
        c, old = by_code[code], olds.get(code)
        if c.create and old is not None:
            problems.append(problem("code", f"grid {code} already exists", **where[code]))
        elif not c.create and old is None:
            raise GridNotFound(f"no grid {code}", grid_code=code)
        elif old is not None and c.expected_version is not None and old["version"] != c.expected_version:
            raise VersionConflict(
                f"grid {code} is at version {old['version']}, not {c.expected_version}: reload it and edit again",
                grid_code=code,
                current_version=old["version"],
                expected_version=c.expected_version,
            )
        problems += check_attributes(session, code, c.attrs, c.create, **where[code])
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
        _write(session, codes, olds, after, ts, editor, reason)
        active = [code for code in codes if after[code]["status"] == "active"]
        found = check_post_state(session, active, lost, communities, tolerance_m)
        if found:
            for p in found:
                if p.get("grid_code") in where:
                    p.update({k: v for k, v in where[p["grid_code"]].items() if v is not None})
            raise reject(found, coverage=coverage(session, communities))
        result = {
            "action": action,
            "dry_run": dry_run,
            "grids": _grid_summaries(session, codes, olds, after),
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
    for layer in ("grids", "incidents", "compounds") if area is not None else ("grids",):
        events.on_commit(session, layer, box)  # type: ignore[arg-type]
    return result


def _lock(session: Session, codes: list[str], new_geoms: list[MultiPolygon]) -> dict[str, dict[str, Any]]:
    """Lock the edited grids and every active grid their new shapes reach, in code order (no deadlocks)."""
    reach = shapely.box(*shapely.GeometryCollection(new_geoms).bounds).wkb if new_geoms else None
    rows = session.execute(
        text(
            """
            SELECT code, version, status, name, community_code, grid_worker, grid_worker_phone, households,
                   population, ST_AsBinary(geom) AS wkb
            FROM grids
            WHERE code = ANY(:codes)
               OR (CAST(:reach AS bytea) IS NOT NULL AND status = 'active'
                   AND geom && ST_GeomFromWKB(CAST(:reach AS bytea), 4326))
            ORDER BY code FOR UPDATE
            """
        ),
        {"codes": codes, "reach": reach},
    ).mappings()
    return {r["code"]: {**r, "geom": shapely.from_wkb(r["wkb"])} for r in rows if r["code"] in codes}


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


def _write(
    session: Session,
    codes: list[str],
    olds: dict[str, dict[str, Any]],
    after: dict[str, dict[str, Any]],
    ts: Any,
    editor: str,
    reason: str | None,
) -> None:
    """Update or insert the grid rows, close their current versions and insert the new ones."""
    # A grid loaded without its version row (e.g. by a bulk load) gets it now, so its history starts complete.
    session.execute(
        text(
            """
            INSERT INTO grid_versions (grid_code, version, name, community_code, grid_worker, households,
                                       population, status, geom, valid_from, editor, reason)
            SELECT g.code, g.version, g.name, g.community_code, g.grid_worker, g.households, g.population, g.status,
                   g.geom, g.updated_at, NULL, 'state before the first recorded edit'
            FROM grids g WHERE g.code = ANY(:codes)
              AND NOT EXISTS (SELECT 1 FROM grid_versions v WHERE v.grid_code = g.code AND v.version = g.version)
            """
        ),
        {"codes": codes},
    )
    for code in codes:
        new = after[code]
        params = {k: new[k] for k in EDITABLE} | {
            "code": code,
            "status": new["status"],
            "wkb": new["geom"].wkb,
            "ts": ts,
        }
        if olds.get(code) is None:
            session.execute(
                text(
                    """
                    INSERT INTO grids (code, name, community_code, grid_worker, grid_worker_phone, households,
                                       population, status, version, geom, created_at, updated_at)
                    VALUES (:code, :name, :community_code, :grid_worker, :grid_worker_phone, :households,
                            :population, :status, 1, ST_GeomFromWKB(:wkb, 4326), :ts, :ts)
                    """
                ),
                params,
            )
        else:
            session.execute(
                text(
                    """
                    UPDATE grids SET name = :name, community_code = :community_code, grid_worker = :grid_worker,
                        grid_worker_phone = :grid_worker_phone, households = :households,
                        population = :population, status = :status, geom = ST_GeomFromWKB(:wkb, 4326),
                        version = version + 1, updated_at = :ts
                    WHERE code = :code
                    """
                ),
                params,
            )
    session.execute(
        text("UPDATE grid_versions SET valid_to = :ts WHERE grid_code = ANY(:codes) AND valid_to IS NULL"),
        {"codes": codes, "ts": ts},
    )
    session.execute(
        text(
            """
            INSERT INTO grid_versions (grid_code, version, name, community_code, grid_worker, households,
                                       population, status, geom, valid_from, editor, reason)
            SELECT code, version, name, community_code, grid_worker, households, population, status, geom,
                   :ts, :editor, :reason
            FROM grids WHERE code = ANY(:codes)
            """
        ),
        {"codes": codes, "ts": ts, "editor": editor, "reason": reason},
    )


def _grid_summaries(
    session: Session, codes: list[str], olds: dict[str, dict[str, Any]], after: dict[str, dict[str, Any]]
) -> list[dict[str, Any]]:
    """Per grid: versions and areas before and after (m², in the metric CRS)."""
    old_wkbs = [olds[c]["geom"].wkb if olds.get(c) else None for c in codes]
    rows = session.execute(
        text(
            f"""
            SELECT g.code, g.version, g.status, ST_Area(ST_Transform(g.geom, {METRIC_EPSG})),
                   ST_Area(ST_Transform(ST_GeomFromWKB(t.w, 4326), {METRIC_EPSG}))
            FROM unnest(CAST(:codes AS text[]), CAST(:olds AS bytea[])) AS t(code, w)
            JOIN grids g ON g.code = t.code ORDER BY g.code
            """
        ),
        {"codes": codes, "olds": old_wkbs},
    ).all()
    out = []
    for code, version, status, area_after, area_before in rows:
        old = olds.get(code)
        out.append(
            {
                "code": code,
                "name": after[code]["name"],
                "status": status,
                "version_before": old["version"] if old else None,
                "version_after": version,
                "area_before_m2": round(area_before, 1) if area_before is not None else None,
                "area_after_m2": round(area_after, 1),
                "area_change_m2": round(area_after - (area_before or 0.0), 1),
            }
        )
    return out


def _audit_view(state: dict[str, Any], version: int | None, area_m2: float | None) -> dict[str, Any]:
    return {k: state.get(k) for k in (*EDITABLE, "status")} | {"version": version, "area_m2": area_m2}


def check_edit_in_area(area: Area, changes: list[GridChange], olds: dict[str, dict[str, Any]]) -> None:
    """Editors edit grids only inside their area; an edit spanning two counties needs the city level."""
    # A grid's code holds its community's code (a prefix): the grid code and any community it moves to.
    touched = {c.code: [c.code, c.attrs.get("community_code")] for c in changes}
    for code, old in olds.items():
        if touched[code][1] == old["community_code"]:
            touched[code][1] = None
    counties = {code[:6] for codes in touched.values() for code in codes if code}
    if len(counties) > 1 and not area.is_city:
        raise Forbidden(
            f"跨县（区）调整网格须由市级进行 an edit across counties {', '.join(sorted(counties))} needs the city level",
            field="code",
        )
    for code, codes in touched.items():
        outside = [c for c in codes if c and not area.holds(c)]
        if code in olds and not area.holds(code):
            raise GridNotFound(f"no grid {code} in your area", grid_code=code)  # existence not revealed
        if outside:
            raise Forbidden(
                f"网格 {code} 不在您的辖区 {area.code} 内 grid {code} would lie outside your area {area.code}",
                field="code",
                grid_code=code,
            )
