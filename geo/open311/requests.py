"""Open311 requests over the case cycle: filing a public report, and the public view of public-channel cases.

The public view holds only what GeoReport v2 needs and nothing about people or units: the case number, open or
closed, the service (category), when it was requested and last updated, and the place rounded to 0.001° (about
110 m north–south and 92 m east–west at Baoji). Cases from any other channel are never shown.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from geo import models, vocab
from geo.cases.report import CaseFields, report
from geo.cases.vocab import CLOSED_STATES
from geo.errors import InvalidInput, NotFound
from geo.open311.services import PUBLIC_SERVICES
from geo.scope import CITY_CODE
from geo.settings import Settings

DECIMALS = 3  # 0.001° ≈ 100 m
DEFAULT_DAYS = 90  # GeoReport v2: without dates, the last 90 days
MAX_RESULTS = 1000


@dataclass(frozen=True)
class AppActor:
    """A registered app filing on the public channel: a city-wide intake point, acting as a centre's operator."""

    username: str
    area_code: str = CITY_CODE
    department: str | None = None

    def has(self, *roles: str) -> bool:
        return "centre_operator" in roles


def file_request(
    session: Session,
    settings: Settings,
    app: models.Open311App,
    form: dict[str, Any],
    now: dt.datetime | None = None,
) -> int:
    """File a public report as a case routed to the grid holding (lat, long); its case id. Not committed."""
    service = form.get("service_code")
    if service not in PUBLIC_SERVICES:
        raise InvalidInput(f"service_code must be one of {', '.join(PUBLIC_SERVICES)}", field="service_code")
    lat, lon = _coordinate(form, "lat", 90), _coordinate(form, "long", 180)
    description = str(form.get("description") or "").strip()[:4000]
    feature = {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [lon, lat]},
        "properties": {
            "category": service,
            "occurred_at": (now or dt.datetime.now(dt.UTC)).isoformat(),
            "description": description or None,
        },
    }
    actor = AppActor(f"open311:{app.name}")
    case_id = report(session, settings, actor, feature, CaseFields(channel="public"), None, now).id
    grid = session.execute(text("SELECT grid_code FROM cases WHERE id = :id"), {"id": case_id}).scalar_one()
    if grid is None:  # the whole transaction is rolled back by the caller: nothing is kept
        raise InvalidInput("该位置不在任何网格内 the place lies outside every grid of Baoji", field="lat")
    session.execute(
        text("INSERT INTO open311_requests (case_id, app_id, email, name) VALUES (:c, :a, :e, :n)"),
        {"c": case_id, "a": app.id, "e": _text(form, "email"), "n": _name(form)},
    )
    return case_id


def _coordinate(form: dict[str, Any], name: str, bound: float) -> float:
    try:
        value = float(form[name])
    except (KeyError, TypeError, ValueError) as exc:
        raise InvalidInput(f"{name} is required, a number in degrees (WGS84)", field=name) from exc
    if not -bound <= value <= bound:
        raise InvalidInput(f"{name} must be between -{bound:g} and {bound:g}", field=name)
    return value


def _text(form: dict[str, Any], name: str) -> str | None:
    value = str(form.get(name) or "").strip()
    return value[:320] or None


def _name(form: dict[str, Any]) -> str | None:
    parts = [_text(form, "first_name"), _text(form, "last_name")]
    return _text(form, "name") or " ".join(p for p in parts if p) or None


_PUBLIC_SQL = """
SELECT c.id, c.state, c.category, c.reported_at, c.updated_at,
       round(ST_Y(i.geom)::numeric, :dec) AS lat, round(ST_X(i.geom)::numeric, :dec) AS lon
FROM cases c JOIN incidents i ON i.id = c.incident_id
WHERE c.channel = 'public'"""


def public_request(row: Any) -> dict[str, Any]:
    """One request as GeoReport v2 shows it (no people, no units, place rounded)."""
    zh, en = vocab.INCIDENT_CATEGORIES[row.category]
    return {
        "service_request_id": str(row.id),
        "status": "closed" if row.state in CLOSED_STATES else "open",
        "service_code": row.category,
        "service_name": f"{zh} {en}",
        "requested_datetime": row.reported_at.isoformat(),
        "updated_datetime": row.updated_at.isoformat(),
        "lat": float(row.lat),
        "long": float(row.lon),
    }


def get_request(session: Session, request_id: str) -> dict[str, Any]:
    """requests/{id}.json; NotFound unless it is a public-channel case."""
    if not request_id.isdigit() or len(request_id) > 18:
        raise NotFound(f"no request {request_id}", field="service_request_id")
    row = session.execute(text(f"{_PUBLIC_SQL} AND c.id = :id"), {"id": int(request_id), "dec": DECIMALS}).first()
    if row is None:
        raise NotFound(f"no request {request_id}", field="service_request_id")
    return public_request(row)


def list_requests(
    session: Session,
    *,
    status: str | None = None,
    service_code: str | None = None,
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
    ids: list[str] | None = None,
    now: dt.datetime | None = None,
) -> list[dict[str, Any]]:
    """requests.json: public-channel cases, newest first, filtered as GeoReport v2 says."""
    conds: list[str] = []
    params: dict[str, Any] = {"dec": DECIMALS, "lim": MAX_RESULTS}
    if ids:
        if not all(i.isdigit() and len(i) <= 18 for i in ids):
            raise InvalidInput(
                "service_request_id must be case numbers, comma-separated", field="service_request_id"
            )
        conds.append("c.id = ANY(:ids)")
        params["ids"] = [int(i) for i in ids]
    else:
        end = end or now or dt.datetime.now(dt.UTC)
        start = start or end - dt.timedelta(days=DEFAULT_DAYS)
        conds.append("c.reported_at >= :start AND c.reported_at < :end")
        params |= {"start": start, "end": end}
        if status:
            wanted = set(status.split(","))
            if not wanted <= {"open", "closed"}:
                raise InvalidInput("status must be open or closed (or both, comma-separated)", field="status")
            if wanted == {"open"}:
                conds.append("c.state <> ALL(:closed)")
            elif wanted == {"closed"}:
                conds.append("c.state = ANY(:closed)")
            params["closed"] = list(CLOSED_STATES)
        if service_code:
            codes = service_code.split(",")
            if not set(codes) <= set(PUBLIC_SERVICES):
                raise InvalidInput(
                    f"service_code must be among {', '.join(PUBLIC_SERVICES)}", field="service_code"
                )
            conds.append("c.category = ANY(:codes)")
            params["codes"] = codes
    sql = f"{_PUBLIC_SQL} AND {' AND '.join(conds)} ORDER BY c.reported_at DESC, c.id DESC LIMIT :lim"
    return [public_request(r) for r in session.execute(text(sql), params)]
