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
from geo.errors import AdminUnitNotFound, Forbidden, InvalidGeometry, NotFound, VersionConflict
from geo.geojson import Page, feature_page, features_sql
from geo.patrols.validate import parse_route
from geo.pg import events

WRITER_ROLES = ("police", "gis_editor")

ROUTE_SELECT = f"""
    SELECT r.id, r.name, r.officer_id, o.name AS officer_name, o.badge AS officer_badge, r.community_code,
           r.shift, r.mode, r.planned_stops, r.version, r.synthetic, r.created_at, r.updated_at,
           round(ST_Length(ST_Transform(r.geom, {METRIC_EPSG}))::numeric, 1)::float8 AS length_m, r.geom
    FROM patrol_routes r JOIN officers o ON o.id = r.officer_id
"""


class RouteNotFound(NotFound):
    code = "patrol_route_not_found"


class OfficerNotFound(NotFound):
    code = "officer_not_found"


def check_patrol_area(
    session: Session,
    area: Area,
    route_id: int | None = None,
    officer_id: int | None = None,
    community_code: str | None = None,
    grid_codes: list[str] | None = None,
) -> None:
    """What a patrol request names must lie in the caller's area: a route or officer outside is not found
    (404, existence not revealed); a community or grid outside is forbidden (403)."""
    if area.is_city:
        return
    if route_id is not None:
        inside, params = area.where("patrol_routes", "r")
        hit = session.execute(
            text(f"SELECT 1 FROM patrol_routes r WHERE r.id = :id AND {inside}"), {"id": route_id, **params}
        )
        if hit.first() is None:
            raise RouteNotFound(f"patrol route {route_id} does not exist in your area", route_id=route_id)
    if officer_id is not None:
        community = session.execute(text("SELECT community_code FROM officers WHERE id = :id"), {"id": officer_id})
        if not area.holds(community.scalar_one_or_none()):
            raise OfficerNotFound(f"officer {officer_id} does not exist in your area", field="officer_id")
    if community_code is not None:
        area.narrowed(community_code, field="community_code")
    for code in grid_codes or []:
        area.narrowed(code, field="grid_codes")


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


def _officer(session: Session, officer_id: int) -> Mapping[str, Any]:
    row = (
        session.execute(text("SELECT id, name, community_code FROM officers WHERE id = :id"), {"id": officer_id})
        .mappings()
        .first()
    )
    if row is None:
        raise OfficerNotFound(f"officer {officer_id} does not exist", field="officer_id", officer_id=officer_id)
    return dict(row)


def check_may_write(principal: Principal, officer_id: int) -> None:
    """Police write only their own officer's routes; gis_editor and admin write any."""
    if not principal.has(*WRITER_ROLES):
        held = ", ".join(sorted(principal.roles))
        raise Forbidden(f"角色 {held} 不能编辑巡逻路线 roles {held} may not write patrol routes")
    if not principal.has("gis_editor") and principal.officer_id != officer_id:
        mine = "no officer" if principal.officer_id is None else f"officer {principal.officer_id}"
        raise Forbidden(
            f"a police token writes only its own officer's routes: this token is {mine}, "
            f"the route belongs to officer {officer_id}",
            officer_id=officer_id,
        )


def _check_near_city(session: Session, geometry: dict[str, Any], margin_km: float) -> None:
    """Refuse a line far from the city (swapped lon/lat, a wrong CRS); no city polygon, no check."""
    km = session.execute(
        text(
            """SELECT min(ST_Distance(a.geom::geography, ST_SetSRID(ST_GeomFromGeoJSON(:g), 4326)::geography)) / 1000
               FROM admin_units a WHERE a.level = 'city'"""
        ),
        {"g": json.dumps(geometry)},
    ).scalar_one()
    if km is not None and km > margin_km:
        raise InvalidGeometry(
            f"the route lies {km:.0f} km from the city (more than {margin_km:g} km): swapped lon/lat or a wrong CRS?",
            field="geometry",
            reason="far outside the city",
        )


def _check_community(session: Session, code: str) -> None:
    found = session.execute(text("SELECT 1 FROM admin_units WHERE code = :c"), {"c": code}).first()
    if found is None:
        raise AdminUnitNotFound(f"community {code} does not exist", field="community_code")


def _warnings(session: Session, route_id: int, officer: Mapping[str, Any], reach_m: float) -> list[dict]:
    """Warnings (not errors): the route leaves the officer's community; a stop lies far from the line."""
    warnings: list[dict[str, Any]] = []
    if officer["community_code"] is None:
        warnings.append(
            {"code": "officer_without_community", "detail": "该民警未关联社区 the officer has no community"}
        )
    else:
        row = (
            session.execute(
                text(
                    f"""SELECT a.name, ST_CoveredBy(r.geom, a.geom) AS inside,
                       ST_Length(ST_Transform(ST_Difference(r.geom, a.geom), {METRIC_EPSG}))
                         / NULLIF(ST_Length(ST_Transform(r.geom, {METRIC_EPSG})), 0) AS share_out
                    FROM patrol_routes r, admin_units a WHERE r.id = :id AND a.code = :c"""
                ),
                {"id": route_id, "c": officer["community_code"]},
            )
            .mappings()
            .first()
        )
        if row is not None and not row["inside"]:
            share = float(row["share_out"] or 0.0)
            warnings.append(
                {
                    "code": "outside_community",
                    "detail": f"路线约 {share:.0%} 在民警社区 {row['name']} 之外 "
                    f"{share:.0%} of the route lies outside the officer's community {officer['community_code']}",
                    "community_code": officer["community_code"],
                    "share_outside": round(share, 4),
                }
            )
    far = session.execute(
        text(
            f"""SELECT s.ord - 1 AS idx, ST_Distance(ST_Transform(r.geom, {METRIC_EPSG}),
                       ST_Transform(ST_SetSRID(ST_MakePoint((s.v->>'lon')::float8, (s.v->>'lat')::float8), 4326),
                                    {METRIC_EPSG})) AS d
                FROM patrol_routes r, jsonb_array_elements(coalesce(r.planned_stops, '[]')) WITH ORDINALITY s(v, ord)
                WHERE r.id = :id"""
        ),
        {"id": route_id},
    ).all()
    for idx, dist in far:
        if dist > reach_m:
            warnings.append(
                {
                    "code": "stop_off_route",
                    "detail": f"第 {idx + 1} 个停留点距路线 {dist:.0f} 米 stop {idx} is {dist:.0f} m from the line",
                    "field": f"planned_stops[{idx}]",
                    "distance_m": round(dist, 1),
                }
            )
    return warnings


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
    officer = _officer(session, data["officer_id"])
    check_may_write(principal, officer["id"])
    check_officer_in_area(principal, officer)
    _check_near_city(session, data["geometry"], city_margin_km)
    community = data.get("community_code") or officer["community_code"]
    if community is not None:
        _check_community(session, community)
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
    return {"route": feature, "warnings": _warnings(session, route_id, officer, reach_m)}


def check_officer_in_area(principal: Principal, officer: Mapping[str, Any]) -> None:
    """A route goes to an officer of a community inside the writer's area."""
    if not principal.area.holds(officer["community_code"]) and not principal.area.is_city:
        raise Forbidden(
            f"民警 {officer['id']} 的社区不在您的辖区内 officer {officer['id']}'s community "
            f"{officer['community_code']} is outside your area {principal.area_code}",
            field="officer_id",
        )


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
    officer = _officer(session, data.get("officer_id", row["officer_id"]))
    check_may_write(principal, officer["id"])
    check_officer_in_area(principal, officer)
    if "community_code" in data:
        _check_community(session, data["community_code"])
    if "geometry" in data:
        _check_near_city(session, data["geometry"], city_margin_km)
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
    return {"route": feature, "warnings": _warnings(session, route_id, officer, reach_m)}


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
