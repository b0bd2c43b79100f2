"""Which cases a caller sees: held inside their area, lying inside it, or handled by their department."""

from __future__ import annotations

from typing import Any

from geo.cases.units import Actor
from geo.scope import contains


def visible(actor: Actor, row: Any) -> bool:
    """Whether actor may see the case at all (otherwise it is a 404 to them)."""
    area = actor.area_code
    if contains(area, row.unit_code):
        return True
    place = row.grid_code or row.community_code or row.town_code or row.county_code
    if place and contains(area, place):
        return True
    return bool(
        actor.department
        and row.handler_department == actor.department
        and row.handler_code
        and contains(area, row.handler_code)
    )
