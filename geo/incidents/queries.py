"""Reading incidents as GeoJSON and changing their status (writes of new incidents: geo.incidents.store)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from geo import scope, vocab
from geo.errors import InvalidInput, NotFound
from geo.geojson import feature_collection
from geo.pg import events

COLUMNS = """
    i.id, i.external_id, i.category, i.subcategory, i.status, i.occurred_at, i.reported_at, i.mediated_at,
    i.resolved_at, i.description, i.source_crs, i.grid_code, i.community_code, i.town_code, i.county_code,
    i.compound_id, i.outside_jurisdiction, i.synthetic, i.created_at, i.updated_at
"""
CST = dt.timezone(dt.timedelta(hours=8))
INCIDENT_AREA_COLUMNS = {level: f"i.{column}" for level, column in scope.SCOPE_COLUMN.items()}
CHANGEABLE = ("status", "subcategory", "description", "mediated_at", "resolved_at")


def as_aware(t: dt.datetime | None) -> dt.datetime | None:
    """A time without an offset is China Standard Time (UTC+8), as in the imports."""
    return t.replace(tzinfo=CST) if t is not None and t.tzinfo is None else t


def _words(raw: str | None, words: dict, field: str) -> list[str] | None:
    """'dispute,hazard' → checked list of vocabulary keys (None when not given)."""
    if not raw:
        return None
    items = [w.strip() for w in raw.split(",") if w.strip()]
    unknown = [w for w in items if w not in words]
    if unknown:
        raise InvalidInput(
            f"unknown {field} {', '.join(unknown)}; allowed: {', '.join(words)}",
            field=field,
            reason="unknown value",
        )
    return items


def list_incidents(
    session: Session,
    bbox: tuple[float, float, float, float] | None = None,
    admin_code: str | None = None,
    category: str | None = None,
    status: str | None = None,
    occurred_from: dt.datetime | None = None,
    occurred_to: dt.datetime | None = None,
    outside: bool | None = None,
    limit: int = 100,
    offset: int = 0,
) -> str:
    """A page of incidents (newest first) as a GeoJSON FeatureCollection with numberMatched/numberReturned."""
    where = ["TRUE"]
    params: dict[str, Any] = {"limit": limit, "offset": offset}
    if bbox:
        where.append("i.geom && ST_MakeEnvelope(:x1, :y1, :x2, :y2, 4326)")
        params.update(x1=bbox[0], y1=bbox[1], x2=bbox[2], y2=bbox[3])
    if admin_code:
        # One code of any level: the city (every incident in a grid), a county, a town, a community or a grid.
        condition, bound = scope.area_condition(admin_code, INCIDENT_AREA_COLUMNS, "NOT i.outside_jurisdiction")
        where.append(condition)
        params.update(bound)
    for name, raw, words in (
        ("category", category, vocab.INCIDENT_CATEGORIES),
        ("status", status, vocab.INCIDENT_STATUSES),
    ):
        items = _words(raw, words, name)
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
    body = feature_collection(session, page, params, "id", {"numberMatched": matched})
    returned = min(limit, max(0, matched - offset))
    return body[:-1] + f', "numberReturned": {returned}' + "}"


def get_incident(session: Session, incident_id: int, lock: bool = False) -> dict[str, Any]:
    """One incident as a GeoJSON Feature (dict), or NotFound."""
    row = session.execute(
        text(
            f"""SELECT json_build_object('type', 'Feature', 'id', t.id, 'geometry', ST_AsGeoJSON(t.geom, 7)::json,
                                         'properties', to_jsonb(t) - 'geom')
                FROM (SELECT {COLUMNS}, i.geom FROM incidents i WHERE i.id = :id {"FOR UPDATE" if lock else ""}) t"""
        ),
        {"id": incident_id},
    ).scalar_one_or_none()
    if row is None:
        raise NotFound(f"incident {incident_id} does not exist", field="id", reason="not found")
    return row


def update_incident(
    session: Session, incident_id: int, changes: dict[str, Any], now: dt.datetime | None = None
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Change status (and notes); mediated/resolved stamp mediated_at/resolved_at. (before, after) properties."""
    now = now or dt.datetime.now(dt.UTC)
    unknown = set(changes) - set(CHANGEABLE)
    if unknown:
        field = sorted(unknown)[0]
        raise InvalidInput(
            f"{field} cannot be changed here; changeable: {', '.join(CHANGEABLE)}",
            field=field,
            reason="not changeable",
        )
    before = get_incident(session, incident_id, lock=True)["properties"]
    new = {k: v for k, v in changes.items()}
    if "status" in new:
        if new["status"] not in vocab.INCIDENT_STATUSES:
            allowed = ", ".join(f"{k} ({zh})" for k, (zh, _) in vocab.INCIDENT_STATUSES.items())
            raise InvalidInput(
                f"unknown status {new['status']!r}; allowed: {allowed}", field="status", reason="unknown value"
            )
        stamp = {"mediated": "mediated_at", "resolved": "resolved_at"}.get(new["status"])
        if stamp and new.get(stamp) is None and before[stamp] is None:
            new[stamp] = now
    occurred = dt.datetime.fromisoformat(before["occurred_at"])
    for name in ("mediated_at", "resolved_at"):
        if new.get(name) is not None:
            new[name] = as_aware(new[name])
            if new[name] > now + dt.timedelta(minutes=5):
                raise InvalidInput(f"{name} is in the future", field=name, reason="in the future")
            if new[name] < occurred:
                raise InvalidInput(
                    f"{name} is earlier than occurred_at ({before['occurred_at']})",
                    field=name,
                    reason="earlier than occurred_at",
                )
    if new:
        sets = ", ".join(f"{k} = :{k}" for k in new)
        session.execute(
            text(f"UPDATE incidents SET {sets}, updated_at = now() WHERE id = :id"), {**new, "id": incident_id}
        )
    feature = get_incident(session, incident_id)
    after = feature["properties"]
    if new:
        lon, lat = feature["geometry"]["coordinates"]
        events.on_commit(session, "incidents", (lon, lat, lon, lat))
    changed = [k for k in after if k != "updated_at" and after[k] != before[k]]
    return {k: before[k] for k in changed}, {k: after[k] for k in changed}
