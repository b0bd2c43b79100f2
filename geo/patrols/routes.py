"""Patrol routes: create, read, update, delete with ownership checks and audit; GeoJSON and GPX export."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import gpxpy.gpx
from sqlalchemy import text
from sqlalchemy.orm import Session

from geo import audit, vocab
from geo.area import CITY, Area
from geo.auth import Principal
from geo.crs import METRIC_EPSG
from geo.errors import VersionConflict
from geo.geojson import Page, feature_page, features_sql
from geo.patrols.route_access import RouteNotFound, check_may_write, check_officer_in_area, check_patrol_area
from geo.patrols.route_checks import check_community, check_near_city, officer_row, route_warnings
from geo.patrols.validate import parse_route
from geo.pg import events

ROUTE_SELECT = f"""
    SELECT r.id, r.name, r.officer_id, o.name AS officer_name, o.badge AS officer_badge, r.community_code,
           r.shift, r.mode, r.planned_stops, r.version, r.synthetic, r.created_at, r.updated_at,
           round(ST_Length(ST_Transform(r.geom, {METRIC_EPSG}))::numeric, 1)::float8 AS length_m, r.geom
    FROM patrol_routes r JOIN officers o ON o.id = r.officer_id
"""


def get_route(session: Session, route_id: int, area: Area = CITY) -> dict[str, Any]:
    """One route as a GeoJSON Feature (properties include length_m and the officer's name)."""
    check_patrol_area(session, area, route_id=route_id)
    sql = features_sql(ROUTE_SELECT + " WHERE r.id = :id", "id")
    features = json.loads(session.execute(text(sql), {"id": route_id}).scalar_one())
    if not features:
        raise RouteNotFound(f"patrol route {route_id} does not exist", route_id=route_id)
    return features[0]


def list_routes(
    session: Session,
    area: Area,
    officer_id: int | None = None,
    community_code: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> Page:
    """A page of the routes in the area as a FeatureCollection, filtered by officer and/or community."""
    if community_code is not None:
        area.narrowed(community_code, field="community_code")
    inside, params = area.where("patrol_routes", "r")
    where = [inside]
    params.update(limit=limit, offset=offset, officer=officer_id, community=community_code)
    if officer_id is not None:
        where.append("r.officer_id = :officer")
    if community_code is not None:
        where.append("r.community_code = :community")
    cond = " AND ".join(where)
    matched = session.execute(text(f"SELECT count(*) FROM patrol_routes r WHERE {cond}"), params).scalar_one()
    page = ROUTE_SELECT + f" WHERE {cond} ORDER BY r.id LIMIT :limit OFFSET :offset"
    return feature_page(session, page, params, "id", matched, limit, offset)


def _snapshot(feature: Mapping[str, Any]) -> dict[str, Any]:
    props = dict(feature["properties"])
    for volatile in ("created_at", "updated_at"):
        props.pop(volatile, None)
    return {**props, "geometry": feature["geometry"]}


def create_route(
    session: Session, principal: Principal, payload: Any, reach_m: float = 100.0, city_margin_km: float = 50.0
) -> dict[str, Any]:
    """Insert a route; returns {"route": Feature, "warnings": [...]}. Nothing is written on any error."""
    data = parse_route(payload)
    officer = officer_row(session, data["officer_id"])
    check_may_write(principal, officer["id"])
    check_officer_in_area(principal, officer)
    check_near_city(session, data["geometry"], city_margin_km)
    community = data.get("community_code") or officer["community_code"]
    if community is not None:
        check_community(session, community)
    route_id = session.execute(
        text(
            """INSERT INTO patrol_routes (name, officer_id, community_code, shift, mode, planned_stops, geom)
               VALUES (:name, :officer, :community, :shift, :mode, CAST(:stops AS jsonb),
                       ST_SetSRID(ST_GeomFromGeoJSON(:geom), 4326))
               RETURNING id"""
        ),
        {
            "name": data["name"],
            "officer": officer["id"],
            "community": community,
            "shift": data["shift"],
            "mode": data["mode"],
            "stops": json.dumps(data["planned_stops"], ensure_ascii=False),
            "geom": json.dumps(data["geometry"]),
        },
    ).scalar_one()
    feature = get_route(session, route_id)
    _announce(session, route_id)
    audit.record(session, principal.username, "create", "patrol_route", str(route_id), after=_snapshot(feature))
    return {"route": feature, "warnings": route_warnings(session, route_id, officer, reach_m)}


def _announce(session: Session, route_id: int) -> None:
    """Refresh the patrol-route tiles over the route's current extent once the transaction commits."""
    row = session.execute(
        text(
            "SELECT ST_XMin(geom), ST_YMin(geom), ST_XMax(geom), ST_YMax(geom) FROM patrol_routes WHERE id = :id"
        ),
        {"id": route_id},
    ).first()
    box = events.bbox_from_row(row)
    if box is not None:
        events.on_commit(session, "patrol_routes", box)


def _locked(session: Session, route_id: int, area: Area) -> Mapping[str, Any]:
    check_patrol_area(session, area, route_id=route_id)
    row = (
        session.execute(
            text("SELECT id, officer_id, version FROM patrol_routes WHERE id = :id FOR UPDATE"), {"id": route_id}
        )
        .mappings()
        .first()
    )
    if row is None:
        raise RouteNotFound(f"patrol route {route_id} does not exist", route_id=route_id)
    return dict(row)


def _check_version(row: Mapping[str, Any], if_match: int | None) -> None:
    if if_match is not None and if_match != row["version"]:
        raise VersionConflict(
            f"patrol route {row['id']} is at version {row['version']}, not {if_match}: reload and retry",
            current_version=row["version"],
        )


def update_route(
    session: Session,
    principal: Principal,
    route_id: int,
    payload: Any,
    if_match: int | None = None,
    reach_m: float = 100.0,
    city_margin_km: float = 50.0,
) -> dict[str, Any]:
    """Replace the given fields of a route (absent ones are kept); optional If-Match version check."""
    row = _locked(session, route_id, principal.area)
    check_may_write(principal, row["officer_id"])
    _check_version(row, if_match)
    data = parse_route(payload, partial=True)
    officer = officer_row(session, data.get("officer_id", row["officer_id"]))
    check_may_write(principal, officer["id"])
    check_officer_in_area(principal, officer)
    if "community_code" in data:
        check_community(session, data["community_code"])
    if "geometry" in data:
        check_near_city(session, data["geometry"], city_margin_km)
    before = _snapshot(get_route(session, route_id))
    _announce(session, route_id)  # where it was
    sets = ["version = version + 1", "updated_at = now()"]
    params: dict[str, Any] = {"id": route_id}
    for field in ("name", "officer_id", "community_code", "shift", "mode"):
        if field in data:
            sets.append(f"{field} = :{field}")
            params[field] = data[field]
    if "planned_stops" in data:
        sets.append("planned_stops = CAST(:planned_stops AS jsonb)")
        params["planned_stops"] = json.dumps(data["planned_stops"], ensure_ascii=False)
    if "geometry" in data:
        sets.append("geom = ST_SetSRID(ST_GeomFromGeoJSON(:geom), 4326)")
        params["geom"] = json.dumps(data["geometry"])
    session.execute(text(f"UPDATE patrol_routes SET {', '.join(sets)} WHERE id = :id"), params)
    feature = get_route(session, route_id)
    _announce(session, route_id)  # where it is now
    audit.record(
        session,
        principal.username,
        "update",
        "patrol_route",
        str(route_id),
        before=before,
        after=_snapshot(feature),
    )
    return {"route": feature, "warnings": route_warnings(session, route_id, officer, reach_m)}


def delete_route(session: Session, principal: Principal, route_id: int, if_match: int | None = None) -> None:
    """Delete a route (ownership and optional version checked); the audit log keeps its last state."""
    row = _locked(session, route_id, principal.area)
    check_may_write(principal, row["officer_id"])
    _check_version(row, if_match)
    before = _snapshot(get_route(session, route_id))
    _announce(session, route_id)
    session.execute(text("DELETE FROM patrol_routes WHERE id = :id"), {"id": route_id})
    audit.record(session, principal.username, "delete", "patrol_route", str(route_id), before=before)


def route_gpx(session: Session, route_id: int, area: Area) -> str:
    """The route as GPX 1.1: a track along the line and a waypoint per planned stop, in visiting order."""
    feature = get_route(session, route_id, area)
    props = feature["properties"]
    gpx = gpxpy.gpx.GPX()
    gpx.creator = "citygrid"
    gpx.name = props["name"]
    shift = vocab.SHIFTS[props["shift"]][0]
    mode = vocab.PATROL_MODES[props["mode"]][0]
    gpx.description = f"{props['officer_name']} · {shift} · {mode} · {props['length_m']:.0f} m"
    track = gpxpy.gpx.GPXTrack(name=props["name"])
    segment = gpxpy.gpx.GPXTrackSegment()
    segment.points = [gpxpy.gpx.GPXTrackPoint(lat, lon) for lon, lat, *_ in feature["geometry"]["coordinates"]]
    track.segments.append(segment)
    gpx.tracks.append(track)
    for i, stop in enumerate(props.get("planned_stops") or []):
        gpx.waypoints.append(
            gpxpy.gpx.GPXWaypoint(
                stop["lat"],
                stop["lon"],
                name=f"{i + 1}. {stop['name']}",
                description=f"{stop['kind']}; dwell {stop['dwell_minutes']:g} min",
                type=stop["kind"],
            )
        )
    return gpx.to_xml(version="1.1")
