"""Incident imports end to end: read (GeoJSON, CSV, GeoPackage) → check every row → store with grids.

Shared by the API and the CLI. Bulk imports are all-or-nothing unless partial: the response (or the
InvalidInput) lists every problem as {index, field, reason}, the first settings.max_problems of them, with
the total (errors_total) and how many were left out (problems_omitted).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, NamedTuple

from sqlalchemy import text
from sqlalchemy.orm import Session

from geo import audit
from geo.area import CITY, Area
from geo.errors import Forbidden, InvalidInput, TooLarge
from geo.incidents.checks import Checked, IncidentRows, check, city_region
from geo.incidents.model import Progress, RawIncidents
from geo.incidents.queries import check_reported_inside, get_incident
from geo.incidents.read import read_any
from geo.incidents.read_geojson import read_geojson
from geo.incidents.store import store
from geo.pg import direct, events
from geo.settings import Settings

AUDITED_COUNTS = ("inserted", "updated", "outside_jurisdiction")


def _summary(checked: Checked, partial: bool, cap: int) -> tuple[list[dict], int, int]:
    errors = checked.problems.report(cap)
    total = checked.problems.total()
    rejected = checked.received - len(checked.rows)
    if total and not partial:
        first = errors[0]
        raise InvalidInput(
            f"{rejected} of {checked.received} feature(s) are invalid, nothing was written "
            f"(first: feature {first['index']}, {first['field']}: {first['reason']}); "
            "fix them, or send partial=true to store the valid ones",
            index=first["index"],
            field=first["field"],
            reason=first["reason"],
            errors=errors,
            errors_total=total,
            problems_omitted=total - len(errors),
            rejected=rejected,
            warnings=checked.warnings,
        )
    return errors, total, rejected


def import_incidents(
    session: Session,
    settings: Settings,
    data: bytes | Path | RawIncidents,
    fmt: str = "geojson",
    crs: str | None = None,
    partial: bool = False,
    synthetic: bool = False,
    progress: Progress | None = None,
    dry_run: bool = False,
    *,
    actor: str,
    source: str | None = None,
) -> dict[str, Any]:
    """Bulk import (GeoJSON FeatureCollection, CSV or GeoPackage): all-or-nothing unless partial; audited.

    dry_run checks and assigns everything but writes nothing (the counts say what would happen).
    source names the file, where there is one (the CLI), in the audit row.
    """
    raw = data if isinstance(data, RawIncidents) else read_any(data, fmt, crs, settings.max_csv_columns)
    if len(raw) > settings.max_bulk_features:
        raise TooLarge(
            f"{len(raw)} features exceed the bulk limit of {settings.max_bulk_features}; split the file",
            count=len(raw),
            limit=settings.max_bulk_features,
        )
    if progress:
        progress("check", 0, len(raw))
    checked = check(raw, city_region(session, settings.city_margin_km), settings.city_margin_km)
    errors, total, rejected = _summary(checked, partial, settings.max_problems)
    if progress:
        progress("check", len(raw), len(raw))
    counts = store(session, checked.rows, synthetic, progress, dry_run, capture=True)
    if not dry_run:
        _announce(session, checked.rows)
        audited = {k: v for k, v in counts.items() if k in AUDITED_COUNTS}
        after = {"received": checked.received, "rejected": rejected, **audited, "format": fmt, "file": source}
        # The rows it updated, with the values they had (columns: id, external_id, category, …); new rows
        # are named by their external_ids in the table itself.
        before = {"replaced": counts["replaced"]} if counts["replaced"] else None
        audit.record(
            session, actor, "bulk_import", "incident", None, before=before, after={**after, "source_crs": raw.crs}
        )
    _note_outside(checked.warnings, counts["outside_jurisdiction"])
    return {
        "dry_run": dry_run,
        "received": checked.received,
        "inserted": counts["inserted"],
        "updated": counts["updated"],
        "rejected": rejected,
        "outside_jurisdiction": counts["outside_jurisdiction"],
        "source_crs": raw.crs,
        "warnings": checked.warnings,
        "errors": errors,
        "errors_total": total,
        "problems_omitted": total - len(errors),
    }


class Stored(NamedTuple):
    """One stored incident: its id, whether it is new, warnings, its properties as stored (the audit `after`)
    and the WGS84 point written (exactly the floats stored, as ST_X/ST_Y would read them back)."""

    id: int
    created: bool
    warnings: list
    properties: dict[str, Any]
    lon: float
    lat: float


def create_incident(
    session: Session,
    settings: Settings,
    doc: Any,
    crs: str | None = None,
    *,
    actor: str,
    within: Area = CITY,
    may_overwrite_others: bool = True,
    audit_with: list[audit.Entry] | None = None,
) -> Stored:
    """Store one GeoJSON Feature reported inside `within`, audited (its audit row appended to audit_with, when
    given, for the caller to write with its own in one statement: geo.cases.report).

    A problem → InvalidInput naming field and reason; a point outside the reporter's area → OutsideArea (422).
    An external_id already stored is an update: its previous values go into the audit row, and unless
    may_overwrite_others (editors) only the user who first reported it may send it again (else Forbidden).
    """
    raw = read_geojson(doc, crs, single=True)
    checked = check(raw, city_region(session, settings.city_margin_km), settings.city_margin_km)
    _summary(checked, False, settings.max_problems)
    ids = checked.rows.optional.get("external_id")
    before = _previous(session, ids[0], actor, may_overwrite_others) if ids is not None and ids[0] else None
    counts = store(session, checked.rows)
    _announce(session, checked.rows)
    _note_outside(checked.warnings, counts["outside_jurisdiction"])
    incident_id, created = counts["ids"][0], counts["inserted"] == 1
    if not within.is_city:  # the whole city holds every point (outside every grid included)
        check_reported_inside(session, incident_id, within)
    after = counts["properties"][0]  # as stored: what get_incident would read back
    entry = audit.Entry(actor, "create" if created else "update", "incident", str(incident_id), before, after)
    if audit_with is None:
        audit.record_all(session, [entry])
    else:
        audit_with.append(entry)
    rows = checked.rows
    return Stored(incident_id, created, checked.warnings, after, float(rows.lon[0]), float(rows.lat[0]))


_BY_EXTERNAL_ID = direct.SQL('SELECT id FROM incidents WHERE external_id = :e COLLATE "C" FOR UPDATE')


def _previous(session: Session, external_id: str, actor: str, may_overwrite_others: bool) -> dict[str, Any] | None:
    """The stored incident this external_id names (locked), as its audit `before`; None when it is new."""
    row = direct.first(session, _BY_EXTERNAL_ID, {"e": external_id})
    if row is None:
        return None
    # Its first reporter, from the audit trail (rows a bulk import wrote have none: only editors resend those).
    first = session.execute(
        text(
            "SELECT actor FROM audit_log WHERE entity_type = 'incident' AND entity_id = :id AND action = 'create' "
            "ORDER BY id LIMIT 1"
        ),
        {"id": str(row.id)},
    ).scalar_one_or_none()
    if first != actor and not may_overwrite_others:
        raise Forbidden(
            f"external_id {external_id} 属于他人上报的事件 names an incident another user reported; "
            "only its reporter or an editor may change it",
            field="external_id",
        )
    return get_incident(session, row.id, CITY)["properties"]


def _note_outside(warnings: list[dict[str, Any]], count: int) -> None:
    if count:
        warnings.append(
            {
                "code": "outside_jurisdiction",
                "detail": f"{count} incident(s) lie in no grid: stored with grid_code null, flagged outside_jurisdiction",
                "count": count,
            }
        )


def _announce(session: Session, rows: IncidentRows) -> None:
    """Tell the tile caches which area changed, once the transaction commits."""
    if len(rows):
        bbox = (float(rows.lon.min()), float(rows.lat.min()), float(rows.lon.max()), float(rows.lat.max()))
        events.on_commit(session, "incidents", bbox)
