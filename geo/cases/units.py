"""Units that hold cases (a grid, a centre at any level, a department at a level) and who may act for them.

A unit is (kind, code, department): a grid (15-digit code; its grid worker), a centre (综治中心: city 610300,
county, town or community code) or a department of the 11 at an admin level (its code + the department).
Who may act follows the jurisdictions contract: only the unit holding a case, or a centre above it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from geo.scope import CITY_CODE, contains, level_of, parent_of


class Actor(Protocol):
    """The caller (geo.auth.Principal): roles held in one area, a department for a department handler."""

    @property
    def username(self) -> str: ...
    @property
    def area_code(self) -> str: ...
    @property
    def department(self) -> str | None: ...

    def has(self, *roles: str) -> bool: ...


@dataclass(frozen=True)
class Unit:
    kind: str  # grid, centre, department
    code: str
    department: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "code": self.code, "department": self.department}

    @property
    def level(self) -> str:
        """grid, community, town, county or city."""
        return level_of(self.code) or "city"


def escalation_target(unit: Unit) -> Unit | None:
    """The centre one level up from the unit's code (None above the city).

    A grid or a centre escalates to the centre above it; a department at level L answers to the centre at L,
    so it escalates to that centre's own superior: the same code one level up.
    """
    up = parent_of(unit.code)
    return Unit("centre", up) if up else None


def is_holder(actor: Actor, unit: Unit) -> bool:
    """The actor is the unit: its grid worker, an operator of its centre, or a handler of its department."""
    if actor.area_code != unit.code:
        return False
    if unit.kind == "grid":
        return actor.has("grid_worker")
    if unit.kind == "centre":
        return actor.has("centre_operator")
    return actor.has("department_handler") and (actor.department == unit.department or actor.has("admin"))


def is_centre_above(actor: Actor, code: str | None) -> bool:
    """The actor is an operator of a centre whose area holds `code` (its own centre included)."""
    return code is not None and actor.has("centre_operator") and contains(actor.area_code, code)


def home_centre(grid_code: str | None, community_code: str | None, county_code: str | None) -> Unit:
    """The centre that receives a report made at a place: the community's, else the county's, else the city's."""
    if community_code:
        return Unit("centre", community_code)
    if grid_code:
        up = parent_of(grid_code)
        if up:
            return Unit("centre", up)
    return Unit("centre", county_code or CITY_CODE)
