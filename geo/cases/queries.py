"""Reading cases: one case with its timeline and allowed steps; the caller's queue; the supervision list."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from geo.area import Area
from geo.cases import clock
from geo.cases.steps import STEPS, allowed_steps
from geo.cases.store import view_of
from geo.cases.units import Actor, Unit
from geo.cases.visibility import visible
from geo.cases.vocab import CLOSED_STATES, STATES
from geo.errors import InvalidInput, NotFound
from geo.pg import direct

_CASE_SQL = (
    "SELECT c.*, ST_X(i.geom) AS lon, ST_Y(i.geom) AS lat FROM cases c JOIN incidents i ON i.id = c.incident_id"
)
_EVENT_FIELDS = (
    "id", "step", "at", "actor", "from_unit_kind", "from_unit_code", "from_unit_department", "to_unit_kind",
    "to_unit_code", "to_unit_department", "note", "days", "review_on", "deadline_at", "late",
)  # fmt: skip
# One case with its timeline, a row per event (e_…), and whether it has photos (most have none: no query for
# them): one statement, where the case and its events took two on every read and after every step.
# The columns of an event `e` in such a row (also geo.cases.report's, which returns a new case in this shape).
EVENT_SELECT = (
    ", ".join(f"e.{f} AS e_{f}" for f in _EVENT_FIELDS) + ", ST_X(e.geom) AS e_lon, ST_Y(e.geom) AS e_lat"
)
_ONE_CASE = direct.SQL(
    "SELECT c.*, ST_X(i.geom) AS lon, ST_Y(i.geom) AS lat, "
    "EXISTS (SELECT 1 FROM case_photos p WHERE p.case_id = c.id) AS has_photos, "
    f"{EVENT_SELECT} "
    "FROM cases c JOIN incidents i ON i.id = c.incident_id LEFT JOIN case_events e ON e.case_id = c.id "
    "WHERE c.id = :id ORDER BY e.id"
)
_OPEN = "c.state NOT IN ('declined', 'closed')"


def _iso(t: dt.datetime | None) -> str | None:
    """Times in the centres' own offset (UTC+8)."""
    return None if t is None else t.astimezone(clock.LOCAL_TZ).isoformat()


def case_json(row: Any, actor: Actor, now: dt.datetime) -> dict[str, Any]:
    """The case document every endpoint returns (see README: "Case JSON")."""
    handler = Unit(row.handler_kind, row.handler_code, row.handler_department) if row.handler_code else None
    return {
        "id": row.id,
        "incident_id": row.incident_id,
        "state": row.state,
        "state_label": STATES[row.state][0] + " " + STATES[row.state][1],
        "category": row.category,
        "priority": row.priority,
        "channel": row.channel,
        "reporter": row.reporter,
        "unit": Unit(row.unit_kind, row.unit_code, row.unit_department).as_json(),
        "dispatch_code": row.dispatch_code,
        "handler": handler.as_json() if handler else None,
        "place": {k: getattr(row, k) for k in ("grid_code", "community_code", "town_code", "county_code")},
        "location": {"type": "Point", "coordinates": [row.lon, row.lat]},
        "reported_at": _iso(row.reported_at),
        "step_started_at": _iso(row.step_started_at),
        "deadline_at": _iso(row.deadline_at),
        "colour": None if row.state in CLOSED_STATES else clock.colour(row.step_started_at, row.deadline_at, now),
        "parked_until": row.parked_until.isoformat() if row.parked_until else None,
        "rework_count": row.rework_count,
        "late_steps": row.late_steps,
        "closed_at": _iso(row.closed_at),
        "closed_level": row.closed_level,
        "version": row.version,
        "allowed_steps": allowed_steps(view_of(row), actor),
    }


def get_case(session: Session, actor: Actor, case_id: int, now: dt.datetime | None = None) -> dict[str, Any]:
    """One case with its timeline and photos; NotFound outside the caller's reach."""
    return case_doc(session, actor, case_id, direct.rows(session, _ONE_CASE, {"id": case_id}), now)


def case_doc(
    session: Session, actor: Actor, case_id: int, rows: Sequence[Any], now: dt.datetime | None = None
) -> dict[str, Any]:
    """The case document from its rows as _ONE_CASE reads them (a row per event)."""
    now = now or dt.datetime.now(dt.UTC)
    row = rows[0] if rows else None
    if row is None or not visible(actor, row):
        raise NotFound(f"案件 {case_id} 不存在 case {case_id} does not exist", field="id")
    doc = case_json(row, actor, now)
    doc["timeline"] = [_event_json(e) for e in rows if e.e_id is not None]
    doc["photos"] = []
    if row.has_photos:  # most cases have none: one round trip less
        photos = session.execute(
            text(
                "SELECT id, content_type, width, height, uploaded_by, uploaded_at FROM case_photos "
                "WHERE case_id = :id ORDER BY id"
            ),
            {"id": case_id},
        )
        doc["photos"] = [{**dict(p._mapping), "uploaded_at": _iso(p.uploaded_at)} for p in photos]
    return doc


def _event_json(e: Any) -> dict[str, Any]:
    """One timeline entry from a row of _ONE_CASE (its e_… columns)."""
    return {
        "id": e.e_id,
        "step": e.e_step,
        "label": STEPS[e.e_step].label,
        "at": _iso(e.e_at),
        "actor": e.e_actor,
        "from_unit": _unit(e, "e_from_unit"),
        "to_unit": _unit(e, "e_to_unit"),
        "note": e.e_note,
        "days": e.e_days,
        "review_on": e.e_review_on.isoformat() if e.e_review_on else None,
        "deadline_at": _iso(e.e_deadline_at),
        "late": e.e_late,
        "location": None if e.e_lon is None else {"type": "Point", "coordinates": [e.e_lon, e.e_lat]},
    }


def _unit(e: Any, prefix: str) -> dict[str, Any] | None:
    code = getattr(e, f"{prefix}_code")
    if code is None:
        return None
    return {"kind": getattr(e, f"{prefix}_kind"), "code": code, "department": getattr(e, f"{prefix}_department")}


def queue_condition(actor: Actor) -> tuple[str, dict[str, Any]]:
    """SQL: the cases actor's queue holds (held by units inside their area; a department's by that department)."""
    cond, params = Area.of(actor.area_code).where("case_holders", "c")
    if actor.has("centre_operator"):
        return cond, params
    if actor.department:
        return f"{cond} AND c.unit_kind = 'department' AND c.unit_department = :dept", {
            **params,
            "dept": actor.department,
        }
    return f"{cond} AND c.unit_kind = 'grid'", params


def list_cases(
    session: Session,
    actor: Actor,
    *,
    states: list[str] | None = None,
    unit_code: str | None = None,
    category: str | None = None,
    overdue: bool | None = None,
    supervision: bool = False,
    limit: int = 50,
    offset: int = 0,
    now: dt.datetime | None = None,
) -> dict[str, Any]:
    """The caller's queue: open cases by default, overdue first then by deadline; paged."""
    now = now or dt.datetime.now(dt.UTC)
    where, params = queue_condition(actor)
    conds = [where]
    for s in states or []:
        if s not in STATES:
            raise InvalidInput(f"state must be among {', '.join(STATES)}", field="state")
    if states:
        conds.append("c.state = ANY(:states)")
        params["states"] = states
    else:
        conds.append(_OPEN)
    if unit_code:
        conds.append("c.unit_code = :unit")
        params["unit"] = unit_code
    if category:
        conds.append("c.category = :category")
        params["category"] = category
    if overdue is not None or supervision:
        conds.append(
            "c.deadline_at < :now"
            if overdue or supervision
            else "(c.deadline_at IS NULL OR c.deadline_at >= :now)"
        )
        params["now"] = now
    if supervision:  # 督办: overdue cases held below the caller's own centre
        conds.append("c.unit_code <> :own")
        params["own"] = actor.area_code
    sql = f"{_CASE_SQL} WHERE {' AND '.join(conds)} ORDER BY c.deadline_at NULLS LAST, c.id LIMIT :lim OFFSET :off"
    rows = session.execute(text(sql), {**params, "lim": limit + 1, "off": offset}).fetchall()
    items = [case_json(r, actor, now) for r in rows[:limit]]
    return {"items": items, "limit": limit, "offset": offset, "has_more": len(rows) > limit}
