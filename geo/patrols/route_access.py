"""Who may read and write which patrol route: the caller's area, the writer's role and officer."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from geo.area import Area
from geo.auth import Principal
from geo.errors import Forbidden, NotFound

WRITER_ROLES = ("police", "gis_editor")


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


def check_officer_in_area(principal: Principal, officer: Mapping[str, Any]) -> None:
    """A route goes to an officer of a community inside the writer's area."""
    if not principal.area.holds(officer["community_code"]) and not principal.area.is_city:
        raise Forbidden(
            f"民警 {officer['id']} 的社区不在您的辖区内 officer {officer['id']}'s community "
            f"{officer['community_code']} is outside your area {principal.area_code}",
            field="officer_id",
        )
