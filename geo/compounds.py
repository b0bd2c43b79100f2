"""Old residential compounds (老旧小区): checked polygon writes, main-grid assignment, GeoJSON reads."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import shapely
from sqlalchemy import text
from sqlalchemy.orm import Session

from geo import audit, vocab
from geo.area import Area
from geo.assignment.sql_rule import assign_compounds, reassign_all_incident_compounds, reassign_incident_compounds
from geo.crs import declared_crs, geometry_to_wgs84
from geo.errors import InvalidGeometry, InvalidInput, NotFound, OutsideArea
from geo.geojson import Page, feature_page
from geo.incidents.checks import city_region
from geo.pg import events
from geo.settings import Settings

COLUMNS = """
    c.id, c.external_id, c.name, c.address, c.buildings, c.households, c.built_year, c.category,
    c.renovation_status, c.renovated_year, c.party_group, c.self_management_group, c.residents_council,
    c.grid_code, c.community_code, c.grid_shares,
    coalesce((c.grid_shares -> 1 ->> 'share')::float > :straddle, false) AS straddling,
    c.synthetic, c.created_at, c.updated_at
"""
TEXTS = ("external_id", "name", "address")
COUNTS = ("buildings", "households", "built_year", "renovated_year")
FLAGS = ("party_group", "self_management_group", "residents_council")
WORDS = {"category": vocab.COMPOUND_CATEGORIES, "renovation_status": vocab.RENOVATION_STATUSES}


def _bad(field: str, reason: str) -> InvalidInput:
    return InvalidInput(f"{field}: {reason}", index=0, field=field, reason=reason)


def _polygon(g: Any) -> shapely.Polygon:
    """A GeoJSON Polygon (or one-part MultiPolygon) checked as RFC 7946 writes it: closed rings of ≥ 4 positions."""
    if not isinstance(g, dict):
        raise _bad("geometry", "missing geometry (null or not an object)")
    kind, coords = g.get("type"), g.get("coordinates")
    if kind == "MultiPolygon" and isinstance(coords, list) and len(coords) == 1:
        kind, coords = "Polygon", coords[0]
    if kind != "Polygon":
        raise _bad("geometry.type", f"geometry is a {kind}, not a Polygon: compounds are polygons")
    if not isinstance(coords, list) or not coords:
        raise _bad("geometry.coordinates", "empty geometry: a Polygon needs at least one ring")
    for r, ring in enumerate(coords):
        if not isinstance(ring, list) or len(ring) < 4:
            raise _bad("geometry.coordinates", f"ring {r} needs at least 4 positions (closed: last = first)")
        for pos in ring:
            if not isinstance(pos, list) or not 2 <= len(pos) <= 3:
                raise _bad("geometry.coordinates", f"ring {r}: a position is [lon, lat], got {pos!r:.40}")
            if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in pos):
                raise _bad("geometry.coordinates", f"ring {r}: coordinates must be numbers, got {pos!r:.40}")
        if ring[0][:2] != ring[-1][:2]:
            raise _bad("geometry.coordinates", f"ring {r} is not closed: its last position must repeat the first")
    try:
        return shapely.Polygon(coords[0], coords[1:])
    except (ValueError, TypeError, shapely.errors.GEOSException) as exc:
        raise _bad("geometry", f"not a readable polygon: {exc}") from exc


def parse_compound(doc: Any, crs: str | None, region: shapely.Geometry | None) -> tuple[dict[str, Any], list]:
    """A GeoJSON Feature with a Polygon → (column values incl. WKB geometry in WGS84, warnings)."""
    if not isinstance(doc, dict) or doc.get("type") != "Feature":
        raise _bad("type", "expected a GeoJSON Feature with a Polygon geometry")
    source_crs = declared_crs(crs)
    geom: Any = _polygon(doc.get("geometry"))
    xy = shapely.get_coordinates(geom)
    if not (xy == xy).all() or not abs(xy).max() < math.inf:
        raise _bad("geometry.coordinates", "NaN or Infinity is not a coordinate")
    if (abs(xy[:, 0]) > 180).any() or (abs(xy[:, 1]) > 90).any():
        raise _bad(
            "geometry.coordinates", "coordinates out of range (lon within ±180, lat within ±90); swapped axes?"
        )
    warnings = []
    if geom.has_z:
        geom = shapely.force_2d(geom)
        warnings.append({"code": "z_dropped", "detail": "3D coordinates: the Z values were dropped", "count": 1})
    geom = geometry_to_wgs84(geom, source_crs)
    if not geom.is_valid:
        reason = shapely.is_valid_reason(geom)
        raise InvalidGeometry(f"geometry: invalid polygon ({reason})", index=0, field="geometry", reason=reason)
    if region is not None and not shapely.contains(region, geom.representative_point()):
        raise _bad("geometry", "the polygon is far outside the city (swapped axes, or a wrong crs?)")
    props = doc.get("properties") or {}
    if not isinstance(props, dict):
        raise _bad("properties", "must be an object")
    values: dict[str, Any] = {"geom": shapely.to_wkb(geom)}
    for name in TEXTS:
        v = props.get(name)
        values[name] = None if v is None or str(v).strip() == "" else str(v).strip()
    if values["name"] is None:
        raise _bad("properties.name", "missing: every compound needs a name")
    this_year = dt.date.today().year
    for name in COUNTS:
        v = props.get(name)
        if v is not None and (not isinstance(v, int) or isinstance(v, bool) or v < 0):
            raise _bad(f"properties.{name}", f"must be a whole number ≥ 0, got {v!r}")
        if v is not None and name.endswith("_year") and not 1900 <= v <= this_year:
            raise _bad(f"properties.{name}", f"must be a year between 1900 and {this_year}, got {v}")
        values[name] = v
    for name in FLAGS:
        v = props.get(name, False)
        if not isinstance(v, bool):
            raise _bad(f"properties.{name}", f"must be true or false, got {v!r}")
        values[name] = v
    for name, default in (("category", "other"), ("renovation_status", "not_renovated")):
        values[name] = vocab.word(props.get(name, default), WORDS[name], f"properties.{name}", index=0)
    if values["renovation_status"] == "renovated" and values["renovated_year"] is None:
        warnings.append({"code": "renovated_year_missing", "detail": "renovated, but renovated_year is not given"})
    return values, warnings


def save_compound(
    session: Session,
    settings: Settings,
    within: Area,
    doc: Any,
    crs: str | None = None,
    compound_id: int | None = None,
    *,
    actor: str,
) -> tuple[int, bool, dict | None, list]:
    """Create (or, for an existing external_id or compound_id, replace) a compound, assign it, audit it.

    Returns (id, created, before-properties or None, warnings). Incidents inside the old and the new
    polygon get their compound_id recomputed.
    """
    values, warnings = parse_compound(doc, crs, city_region(session, settings.city_margin_km))
    names = list(values)
    if compound_id is None and values["external_id"] is not None:
        compound_id = session.execute(
            text("SELECT id FROM compounds WHERE external_id = :e"), {"e": values["external_id"]}
        ).scalar_one_or_none()
    elif compound_id is not None and values["external_id"] is not None:
        owner = session.execute(
            text("SELECT id FROM compounds WHERE external_id = :e AND id <> :id"),
            {"e": values["external_id"], "id": compound_id},
        ).scalar_one_or_none()
        if owner is not None:
            raise _bad("properties.external_id", f"already used by compound {owner}")
    before, old_wkb = None, None
    if compound_id is not None:
        before = get_compound(session, compound_id, settings, within, lock=True)["properties"]
        old_wkb = session.execute(
            text("SELECT ST_AsBinary(geom) FROM compounds WHERE id = :id"), {"id": compound_id}
        ).scalar_one()
        sets = ", ".join(f"{n} = ST_GeomFromWKB(:geom, 4326)" if n == "geom" else f"{n} = :{n}" for n in names)
        session.execute(
            text(f"UPDATE compounds SET {sets}, updated_at = now() WHERE id = :id"), {**values, "id": compound_id}
        )
    else:
        exprs = ", ".join("ST_GeomFromWKB(:geom, 4326)" if n == "geom" else f":{n}" for n in names)
        compound_id = session.execute(
            text(f"INSERT INTO compounds ({', '.join(names)}) VALUES ({exprs}) RETURNING id"), values
        ).scalar_one()
    assign_compounds(session, "c.id = :id", {"id": compound_id})
    area = shapely.from_wkb(values["geom"])
    if old_wkb is not None:
        area = shapely.union(area, shapely.from_wkb(bytes(old_wkb)))
    reassign_incident_compounds(session, area)
    for layer in ("compounds", "incidents"):
        events.on_commit(session, layer, tuple(shapely.bounds(area).tolist()))  # type: ignore[arg-type]
    after = get_compound_inside(session, compound_id, settings, within)["properties"]
    audit.record(
        session, actor, "create" if before is None else "update", "compound", str(compound_id), before, after
    )
    return compound_id, before is None, before, warnings


def get_compound(
    session: Session, compound_id: int, settings: Settings, area: Area, lock: bool = False
) -> dict[str, Any]:
    """One compound inside the area as a GeoJSON Feature (dict) with grid_shares and straddling, or NotFound."""
    inside, params = area.where("compounds", "c")
    row = session.execute(
        text(
            f"""SELECT json_build_object('type', 'Feature', 'id', t.id, 'geometry', ST_AsGeoJSON(t.geom, 7)::json,
                                         'properties', to_jsonb(t) - 'geom')
                FROM (SELECT {COLUMNS}, c.geom FROM compounds c
                      WHERE c.id = :id AND {inside} {"FOR UPDATE" if lock else ""}) t"""
        ),
        {"id": compound_id, "straddle": settings.straddle_share, **params},
    ).scalar_one_or_none()
    if row is None:
        raise NotFound(f"compound {compound_id} does not exist", field="id", reason="not found")
    return row


def list_compounds(
    session: Session,
    settings: Settings,
    area: Area,
    bbox: tuple[float, float, float, float] | None = None,
    admin_code: str | None = None,
    renovation_status: str | None = None,
    category: str | None = None,
    renovated_from: int | None = None,
    renovated_to: int | None = None,
    straddling: bool | None = None,
    limit: int = 100,
    offset: int = 0,
) -> Page:
    """A page of compounds as a GeoJSON FeatureCollection, filtered by place and renovation state."""
    # The caller's area, narrowed to admin_code when given (403 outside it).
    condition, params = area.narrowed(admin_code).where("compounds", "c")
    where = [condition]
    params.update(limit=limit, offset=offset, straddle=settings.straddle_share)
    if bbox:
        where.append("c.geom && ST_MakeEnvelope(:x1, :y1, :x2, :y2, 4326)")
        params.update(x1=bbox[0], y1=bbox[1], x2=bbox[2], y2=bbox[3])
    for name, raw in (("renovation_status", renovation_status), ("category", category)):
        if raw:
            items = vocab.parse_words(raw, WORDS[name], name)
            where.append(f"c.{name} = ANY(:{name})")
            params[name] = items
    if renovated_from is not None:
        where.append("c.renovated_year >= :ry0")
        params["ry0"] = renovated_from
    if renovated_to is not None:
        where.append("c.renovated_year <= :ry1")
        params["ry1"] = renovated_to
    if straddling is not None:
        where.append("coalesce((c.grid_shares -> 1 ->> 'share')::float > :straddle, false) = :straddling")
        params["straddling"] = straddling
    cond = " AND ".join(where)
    matched = session.execute(text(f"SELECT count(*) FROM compounds c WHERE {cond}"), params).scalar_one()
    page = f"SELECT {COLUMNS}, c.geom FROM compounds c WHERE {cond} ORDER BY c.id LIMIT :limit OFFSET :offset"
    return feature_page(session, page, params, "id", matched, limit, offset)


def assign_all(session: Session, *, actor: str) -> dict[str, int]:
    """Re-run the assignment of every compound (and incidents' compound_id), audited; counts of changed rows."""
    compounds = assign_compounds(session)
    incidents = reassign_all_incident_compounds(session)
    for layer in ("compounds", "incidents"):
        events.on_commit(session, layer, None)
    total = session.execute(text("SELECT count(*) FROM compounds")).scalar_one()
    counts = {"compounds": total, "compounds_changed": compounds, "incidents_changed": incidents}
    audit.record(session, actor, "reassign", "compound", None, after=counts)
    return counts


def get_compound_inside(session: Session, compound_id: int, settings: Settings, area: Area) -> dict[str, Any]:
    """The compound just written, which must lie inside the writer's area (else OutsideArea, 422)."""
    try:
        return get_compound(session, compound_id, settings, area)
    except NotFound as exc:
        raise OutsideArea(
            f"小区不在您的辖区 {area.code} 内 the compound's main grid is outside your area {area.code}",
            field="geometry",
            area=area.code,
        ) from exc
