"""Reporting a case: an incident (stored as any incident is) plus its case, routed to the centre that files it.

A retried report (the same reporter and Idempotency-Key) returns the case made the first time: concurrent
retries queue on a transaction-level advisory lock on the key, and the (reporter, key) unique index backs it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import Field, TypeAdapter, ValidationError
from sqlalchemy import text
from sqlalchemy.orm import Session

from geo import audit
from geo.cases import clock, fold
from geo.cases.limits import limit_for
from geo.cases.queries import EVENT_SELECT
from geo.cases.store import INSERT_EVENT_INTO, event_params, event_values
from geo.cases.units import Actor, Unit, home_centre
from geo.cases.vocab import CHANNELS, IDEMPOTENCY_KEY_MAX_CHARS, NOTE_MAX_CHARS, PRIORITIES
from geo.errors import Forbidden, InvalidInput, OutsideArea, OutsideGrid
from geo.incidents import create_incident
from geo.live import announce_case
from geo.pg import direct
from geo.scope import contains, level_of
from geo.settings import Settings

# Which role may report through which channel (admin: any).
CHANNEL_ROLES = {
    "grid_worker": "grid_worker",
    "police": "police",
    "centre": "centre_operator",
    "public": "centre_operator",
    "assigned": "centre_operator",
}


@dataclass(frozen=True)
class Place:
    """Where a reported incident lies, as stored: what routing and the case row need."""

    category: str
    grid_code: str | None
    community_code: str | None
    town_code: str | None
    county_code: str | None
    lon: float
    lat: float


@dataclass(frozen=True)
class CaseFields:
    """The case part of a report (the incident is the Feature)."""

    # Checked by pydantic when a report's "case" member is read (fields_of): strict, so a list, an object or a
    # number where a word belongs is a 400 naming it, never a value PostgreSQL or a set lookup chokes on.
    priority: Annotated[str, Field(strict=True, max_length=16)] = "normal"
    channel: Annotated[str | None, Field(strict=True, max_length=16)] = None
    on_the_spot: Annotated[bool, Field(strict=True)] = False
    assign_to: Annotated[str | None, Field(strict=True, max_length=15)] = None  # channel "assigned": the centre
    note: Annotated[str | None, Field(strict=True, max_length=NOTE_MAX_CHARS)] = None


_CASE_FIELDS = TypeAdapter(CaseFields)


def fields_of(doc: Any) -> CaseFields:
    """The case fields of a report: its "case" member, taken out of the Feature (the rest is the incident)."""
    extra = doc.pop("case", None) if isinstance(doc, dict) else None
    if extra is None:
        return CaseFields()
    if not isinstance(extra, dict):
        raise InvalidInput("case must be an object", field="case")
    known = set(CaseFields.__dataclass_fields__)
    unknown = sorted(set(extra) - known)
    if unknown:
        raise InvalidInput(
            f"unknown case field {unknown[0]}; known: {', '.join(sorted(known))}", field=f"case.{unknown[0]}"
        )
    try:
        return _CASE_FIELDS.validate_python(extra)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = "case." + ".".join(str(p) for p in first["loc"])
        raise InvalidInput(f"{where}: {first['msg']}", field=where) from exc


def _channel(actor: Actor, fields: CaseFields) -> str:
    channel = _channel_of(actor, fields)
    if fields.assign_to is not None and channel != "assigned":  # refused, not dropped: it names a receiver
        raise InvalidInput(
            f"assign_to 只用于交办渠道 is only for channel assigned (this report goes by channel {channel})",
            field="case.assign_to",
        )
    return channel


def _channel_of(actor: Actor, fields: CaseFields) -> str:
    if fields.channel is not None:
        if fields.channel not in CHANNELS:
            raise InvalidInput(f"channel must be one of {', '.join(CHANNELS)}", field="case.channel")
        if not actor.has(CHANNEL_ROLES[fields.channel]):
            raise Forbidden(
                f"渠道 {fields.channel} 需要角色 channel {fields.channel} needs role {CHANNEL_ROLES[fields.channel]}"
            )
        return fields.channel
    for channel in ("grid_worker", "police", "centre"):
        if actor.has(CHANNEL_ROLES[channel]) and (channel != "grid_worker" or level_of(actor.area_code) == "grid"):
            return "assigned" if channel == "centre" and fields.assign_to else channel
    raise Forbidden(
        "只有网格员、社区民警和中心值班员可以上报 only grid workers, police and centre operators report cases"
    )


# Waits for the key's transaction-level advisory lock, then looks the case up (migration 0011: why one call).
_BY_KEY = direct.SQL("SELECT case_by_key(:r, :k)")


def find_by_key(session: Session, reporter: str, key: str) -> int | None:
    found = direct.scalar(session, _BY_KEY, {"r": reporter, "k": key})
    return None if found is None else int(found)


@dataclass(frozen=True)
class Reported:
    """A report's case: its id, whether this report made it, and (when it did) the case as written, in the rows
    geo.cases.queries.case_doc reads, so that the answer needs no second read."""

    id: int
    created: bool
    rows: Sequence[Any] | None = None


def report(
    session: Session,
    settings: Settings,
    actor: Actor,
    feature: Any,
    fields: CaseFields,
    idempotency_key: str | None = None,
    now: dt.datetime | None = None,
) -> Reported:
    """Store the incident and its case in the caller's transaction: the case's id, whether this report made it,
    and (when it did) its rows."""
    now = now or dt.datetime.now(dt.UTC)
    if idempotency_key is not None and len(idempotency_key) > IDEMPOTENCY_KEY_MAX_CHARS:
        raise InvalidInput(
            f"Idempotency-Key: at most {IDEMPOTENCY_KEY_MAX_CHARS} characters", field="Idempotency-Key"
        )
    if idempotency_key:
        found = find_by_key(session, actor.username, idempotency_key)
        if found is not None:
            return Reported(found, False)
    if fields.priority not in PRIORITIES:
        raise InvalidInput(f"priority must be one of {', '.join(PRIORITIES)}", field="case.priority")
    channel = _channel(actor, fields)
    entries: list[audit.Entry] = []
    stored = create_incident(session, settings, feature, None, actor=actor.username, audit_with=entries)
    if (
        not stored.created
        and session.execute(
            text("SELECT EXISTS (SELECT 1 FROM cases WHERE incident_id = :id)"), {"id": stored.id}
        ).scalar_one()
    ):
        raise InvalidInput("该事件已有案件 this incident (external_id) already has a case", field="external_id")
    incident_id, props = stored.id, stored.properties
    place = Place(props["category"], props["grid_code"], props["community_code"], props["town_code"],
                  props["county_code"], stored.lon, stored.lat)  # fmt: skip
    holder, on_spot = _route(actor, channel, fields, place)
    step = "resolve_on_spot" if on_spot else "report"
    days, _ = limit_for(session, place.category, fields.priority, "spot" if on_spot else "file")
    event = {
        "step": step,
        "at": now,
        "actor": actor.username,
        "from_unit_kind": "grid" if on_spot else None,
        "from_unit_code": actor.area_code if on_spot else None,
        "to_unit_kind": holder.kind,
        "to_unit_code": holder.code,
        "note": fields.note,
        "deadline_at": clock.deadline(now, days),
        "lon": place.lon,
        "lat": place.lat,
    }
    derived = fold.apply(None, event)
    rows = _insert_case(
        session, actor.username, idempotency_key, channel, fields.priority, place, incident_id, derived, event
    )
    case_id = int(rows[0].id)
    place_code = place.grid_code or place.community_code or place.town_code or place.county_code or ""
    announce_case(session, case_id, derived.state, derived.version, step, [holder.code, place_code], now)
    case_entry = audit.Entry(
        actor.username, "create", "case", str(case_id), None, {"incident_id": incident_id, "channel": channel}
    )
    audit.record_all(session, [*entries, case_entry])  # the incident's row and the case's: one statement
    return Reported(case_id, True, rows)


def _route(actor: Actor, channel: str, fields: CaseFields, place: Place) -> tuple[Unit, bool]:
    """The centre that receives the report, and whether it was resolved on the spot."""
    where = place.grid_code or place.community_code or place.county_code
    if channel == "grid_worker":
        if place.grid_code != actor.area_code:
            raise OutsideGrid(
                f"上报地点不在您的网格 {actor.area_code} 内（位于 {place.grid_code or '网格外'}） "
                f"the place is outside your grid {actor.area_code} (it lies in {place.grid_code or 'no grid'})",
                field="geometry",
                grid_code=actor.area_code,
                place_grid_code=place.grid_code,
            )
        return home_centre(place.grid_code, place.community_code, place.county_code), fields.on_the_spot
    if fields.on_the_spot:
        raise InvalidInput(
            "只有网格员可以就地化解 only a grid worker resolves on the spot", field="case.on_the_spot"
        )
    if where is None or not contains(actor.area_code, where):
        raise OutsideArea(  # as a plain incident report outside the reporter's area: 422 naming the area
            f"上报地点不在辖区 {actor.area_code} 内 the place is outside your area {actor.area_code}",
            field="geometry",
            area=actor.area_code,
        )
    if channel == "centre":
        return Unit("centre", actor.area_code), False
    if channel == "assigned":
        target = fields.assign_to or ""
        if (
            target == actor.area_code
            or not contains(actor.area_code, target)
            or level_of(target) in (None, "grid")
        ):
            raise InvalidInput(
                "交办对象须是下级中心 assign_to must be a centre below yours", field="case.assign_to"
            )
        return Unit("centre", target), False
    return home_centre(place.grid_code, place.community_code, place.county_code), False


def _insert_case(
    session: Session,
    reporter: str,
    key: str | None,
    channel: str,
    priority: str,
    place: Place,
    incident_id: int,
    d: fold.Derived,
    event: dict[str, Any],
) -> Sequence[Any]:
    values = {
        "incident_id": incident_id,
        "reporter": reporter,
        "idempotency_key": key,
        "channel": channel,
        "category": place.category,
        "priority": priority,
        "grid_code": place.grid_code,
        "community_code": place.community_code,
        "town_code": place.town_code,
        "county_code": place.county_code,
        **d.as_dict(),
    }
    return direct.rows(
        session,
        _INSERT_CASE,
        {**values, **event_params(event, "ev_"), "place_lon": place.lon, "place_lat": place.lat},
    )


_CASE_COLUMNS = ("incident_id", "reporter", "idempotency_key", "channel", "category", "priority", "grid_code",
                 "community_code", "town_code", "county_code", *fold.COLUMNS)  # fmt: skip
# The case, its first event and the case read back as GET /cases/{id} reads it (queries._ONE_CASE's columns; no
# photos yet; the location is the incident's point as stored): one statement where three were.
_INSERT_CASE = direct.SQL(
    f"""WITH c AS (INSERT INTO cases ({", ".join(_CASE_COLUMNS)})
                   VALUES ({", ".join(":" + c for c in _CASE_COLUMNS)}) RETURNING *),
            e AS ({INSERT_EVENT_INTO} VALUES {event_values("(SELECT id FROM c)", "ev_")} RETURNING *)
       SELECT c.*, CAST(:place_lon AS float8) AS lon, CAST(:place_lat AS float8) AS lat, false AS has_photos,
              {EVENT_SELECT}
       FROM c, e"""
)
