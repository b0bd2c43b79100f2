"""Which cases a caller sees: held inside their area, lying inside it, or handled by them (a grid or department)."""

from __future__ import annotations

from typing import Any

from geo.cases.units import Actor
from geo.scope import contains


def visible(actor: Actor, row: Any) -> bool:
    """Whether actor may see the case at all (otherwise it is a 404 to them)."""
    area = actor.area_code
    place = row.grid_code or row.community_code or row.town_code or row.county_code
    if contains(area, row.unit_code) or (place and contains(area, place)):
        return True
    if not row.handler_code or not contains(area, row.handler_code):
        return False
    return row.handler_kind != "department" or row.handler_department == actor.department
