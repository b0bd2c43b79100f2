"""Reading incidents as GeoJSON and changing their status (writes of new incidents: geo.incidents.store)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from geo import audit, vocab
from geo.area import Area, area_name
from geo.errors import Forbidden, InvalidInput, NotFound, OutsideArea
from geo.geojson import Page, feature_page
from geo.incidents import times
from geo.incidents.model import STORED_PROPERTIES
from geo.incidents.times import AFTER_OCCURRED
from geo.localtime import as_aware
from geo.pg import events

COLUMNS = ", ".join(f"i.{c}" for c in STORED_PROPERTIES)

CHANGEABLE = ("status", "subcategory", "description", "mediated_at", "resolved_at")


def list_incidents(
    session: Session,
    area: Area,
    bbox: tuple[float, float, float, float] | None = None,
    admin_code: str | None = None,
    category: str | None = None,
    status: str | None = None,
    occurred_from: dt.datetime | None = None,
    occurred_to: dt.datetime | None = None,
    outside: bool | None = None,
    limit: int = 100,
    offset: int = 0,
) -> Page:
    """A page of incidents (newest first) as a GeoJSON FeatureCollection with numberMatched/numberReturned."""
    # The caller's area, narrowed to admin_code when given (403 outside it): one code of any level.
    asked = area.narrowed(admin_code)
    condition, params = asked.where("incidents", "i")
    where = [condition]
    if admin_code and asked.is_city:
        where.append("NOT i.outside_jurisdiction")  # admin_code=610300: the incidents inside some grid
    params.update(limit=limit, offset=offset)
    if bbox:
        where.append("i.geom && ST_MakeEnvelope(:x1, :y1, :x2, :y2, 4326)")
        params.update(x1=bbox[0], y1=bbox[1], x2=bbox[2], y2=bbox[3])
    for name, raw, words in (
        ("category", category, vocab.INCIDENT_CATEGORIES),
        ("status", status, vocab.INCIDENT_STATUSES),
    ):
        items = vocab.parse_words(raw, words, name)
        if items:
            where.append(f"i.{name} = ANY(:{name})")
            params[name] = items
    if occurred_from:
        where.append("i.occurred_at >= :t0")
        params["t0"] = as_aware(occurred_from)
    if occurred_to:
        where.append("i.occurred_at < :t1")
        params["t1"] = as_aware(occurred_to)
    if occurred_from and occurred_to and params["t0"] > params["t1"]:
        raise InvalidInput("occurred_from is after occurred_to", field="occurred_from", reason="empty range")
    if outside is not None:
        where.append("i.outside_jurisdiction = :outside")
        params["outside"] = outside
    cond = " AND ".join(where)
    matched = session.execute(text(f"SELECT count(*) FROM incidents i WHERE {cond}"), params).scalar_one()
    page = f"SELECT {COLUMNS}, i.geom FROM incidents i WHERE {cond} ORDER BY i.occurred_at DESC, i.id DESC LIMIT :limit OFFSET :offset"
    return feature_page(session, page, params, "id", matched, limit, offset)


def get_incident(session: Session, incident_id: int, area: Area, lock: bool = False) -> dict[str, Any]:
    """One incident inside the area as a GeoJSON Feature (dict), or NotFound (also when it lies outside)."""
    inside, params = area.where("incidents", "i")
    row = session.execute(
        text(
            f"""SELECT json_build_object('type', 'Feature', 'id', t.id, 'geometry', ST_AsGeoJSON(t.geom, 7)::json,
                                         'properties', to_jsonb(t) - 'geom')
                FROM (SELECT {COLUMNS}, i.geom FROM incidents i
                      WHERE i.id = :id AND {inside} {"FOR UPDATE" if lock else ""}) t"""
        ),
        {"id": incident_id, **params},
    ).scalar_one_or_none()
    if row is None:
        raise NotFound(f"incident {incident_id} does not exist", field="id", reason="not found")
    return row


def update_incident(
    session: Session,
    incident_id: int,
    changes: dict[str, Any],
    area: Area,
    now: dt.datetime | None = None,
    *,
    actor: str,
    reason: str | None = None,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Change status (and notes), audited; mediated/resolved stamp mediated_at/resolved_at. (before, after)."""
    now = now or dt.datetime.now(dt.UTC)
    unknown = set(changes) - set(CHANGEABLE)
    if unknown:
        field = sorted(unknown)[0]
        raise InvalidInput(
            f"{field} cannot be changed here; changeable: {', '.join(CHANGEABLE)}",
            field=field,
            reason="not changeable",
        )
    before = get_incident(session, incident_id, area, lock=True)["properties"]
    new = {k: v for k, v in changes.items()}
    if "status" in new:
        new["status"] = vocab.word(new["status"], vocab.INCIDENT_STATUSES, "status")
        stamp = {"mediated": "mediated_at", "resolved": "resolved_at"}.get(new["status"])
        if stamp and new.get(stamp) is None and before[stamp] is None:
            new[stamp] = now
    for name in AFTER_OCCURRED:
        if new.get(name) is not None:
            new[name] = as_aware(new[name])
    times.check_one(
        {
            "occurred_at": dt.datetime.fromisoformat(before["occurred_at"]),
            **{k: new.get(k) for k in AFTER_OCCURRED},
        },
        now,
    )
    if new:
        sets = ", ".join(f"{k} = :{k}" for k in new)
        session.execute(
            text(f"UPDATE incidents SET {sets}, updated_at = now() WHERE id = :id"), {**new, "id": incident_id}
        )
    feature = get_incident(session, incident_id, area)
    after = feature["properties"]
    if new:
        lon, lat = feature["geometry"]["coordinates"]
        events.on_commit(session, "incidents", (lon, lat, lon, lat))
    changed = [k for k in after if k != "updated_at" and after[k] != before[k]]
    old, new_values = {k: before[k] for k in changed}, {k: after[k] for k in changed}
    audit.record(session, actor, "update", "incident", str(incident_id), old, new_values, reason)
    return old, new_values


def check_reported_inside(session: Session, incident_id: int, area: Area) -> None:
    """A report must lie inside the reporter's area (a grid worker's: their grid); else OutsideArea (422)."""
    inside, params = area.where("incidents", "i")
    hit = session.execute(
        text(f"SELECT 1 FROM incidents i WHERE i.id = :id AND {inside}"), {"id": incident_id, **params}
    )
    if hit.first() is None:
        name = area_name(session, area.code)
        raise OutsideArea(
            f"点位不在您的辖区 {name}（{area.code}）内 the point is outside your {area.level} {area.code} ({name})",
            field="geometry",
            area=area.code,
            area_name=name,
        )


def check_bulk_allowed(area: Area) -> None:
    """Bulk files come from other systems and may cover the whole city: imported at city level only."""
    if not area.is_city:
        raise Forbidden(
            f"批量导入须由市级用户进行 bulk imports are made at city level; your area is {area.code}: "
            "report incidents one by one",
            field="area",
        )
