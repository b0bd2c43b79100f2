"""What a written patrol route is checked against (its officer, the city, its community), and the
warnings it earns (it leaves the officer's community, a stop lies far from the line)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from geo.crs import METRIC_EPSG
from geo.errors import AdminUnitNotFound, InvalidGeometry
from geo.patrols.route_access import OfficerNotFound


def officer_row(session: Session, officer_id: int) -> Mapping[str, Any]:
    row = (
        session.execute(text("SELECT id, name, community_code FROM officers WHERE id = :id"), {"id": officer_id})
        .mappings()
        .first()
    )
    if row is None:
        raise OfficerNotFound(f"officer {officer_id} does not exist", field="officer_id", officer_id=officer_id)
    return dict(row)


def check_near_city(session: Session, geometry: dict[str, Any], margin_km: float) -> None:
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


def check_community(session: Session, code: str) -> None:
    found = session.execute(text("SELECT 1 FROM admin_units WHERE code = :c"), {"c": code}).first()
    if found is None:
        raise AdminUnitNotFound(f"community {code} does not exist", field="community_code")


def route_warnings(session: Session, route_id: int, officer: Mapping[str, Any], reach_m: float) -> list[dict]:
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
