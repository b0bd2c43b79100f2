"""Which cases a caller sees: held inside their area, lying inside it, or handled by them (a grid or department)."""

from __future__ import annotations

from typing import Any

from geo.area import Area
from geo.cases.units import Actor


def visible(actor: Actor, row: Any) -> bool:
    """Whether actor may see the case at all (otherwise it is a 404 to them)."""
    area = Area.of(actor.area_code)
    place = row.grid_code or row.community_code or row.town_code or row.county_code
    if area.holds(row.unit_code) or area.holds(place):
        return True
    if not area.holds(row.handler_code):
        return False
    return row.handler_kind != "department" or row.handler_department == actor.department
