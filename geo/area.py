"""A user's jurisdiction (their area) and the one rule of what it holds, for every table a user can read.

An area is an admin unit (the city, a county, town or community) or a grid, named by its code; what it holds
follows from the codes alone (they nest by prefix, and the city holds every 6103xx code), so no query is
needed to know a user's area. Incidents outside every grid belong to the city and to the county whose polygon
holds them, not to a town or community. Every read takes its condition from Area.where; every single object
outside the area is "not found" (its existence is not revealed); an explicit admin_code outside is forbidden.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from geo.errors import Forbidden, InvalidInput, NotFound
from geo.scope import CITY_CODE, contains, level_of

# Per table and level: the SQL (on alias {a}, parameter :{p}) selecting the rows inside an area of that level.
_INSIDE = "{a}.{col} LIKE :{p} || '%'"
_WHERE: dict[str, dict[str, str]] = {
    "incidents": {
        "county": "{a}.county_code = :{p}",
        "town": "{a}.town_code = :{p} AND NOT {a}.outside_jurisdiction",
        "community": "{a}.community_code = :{p} AND NOT {a}.outside_jurisdiction",
        "grid": "{a}.grid_code = :{p}",
    },
    "grids": {
        "county": _INSIDE.replace("{col}", "community_code"),
        "town": _INSIDE.replace("{col}", "community_code"),
        "community": "{a}.community_code = :{p}",
        "grid": "{a}.code = :{p}",
    },
    # Units inside the area, and the ones holding it (a town user's map shows its county's outline).
    "admin_units": {level: "({a}.code LIKE :{p} || '%' OR {a}.code = ANY(:{p}_up))" for level in
                    ("county", "town", "community", "grid")},
    "compounds": {
        "county": _INSIDE.replace("{col}", "community_code"),
        "town": _INSIDE.replace("{col}", "community_code"),
        "community": "{a}.community_code = :{p}",
        "grid": "{a}.grid_code = :{p}",
    },
    # Cases by where they happened (measures) and by the unit holding them (a queue: the units inside the area).
    "cases": {level: f"{{a}}.{level}_code = :{{p}}" for level in ("county", "town", "community", "grid")},
    "case_holders": {level: _INSIDE.replace("{col}", "unit_code") for level in
                     ("county", "town", "community", "grid")},
    # Roll-ups kept once per county and once for the whole city (migration 0009): no rows below a county.
    "case_rollups": {level: "{a}.area_code = :{p}" for level in ("city", "county")},
    # Routes belong to a community's officer: visible from the community up, not to one grid.
    "patrol_routes": {
        "county": _INSIDE.replace("{col}", "community_code"),
        "town": _INSIDE.replace("{col}", "community_code"),
        "community": "{a}.community_code = :{p}",
        "grid": "FALSE",
    },
}  # fmt: skip
_UNIT_CODE_LENGTHS = (6, 9, 12)


@dataclass(frozen=True)
class Area:
    """An admin-unit or grid code and its level: what a user may see and change."""

    code: str
    level: str  # city, county, town, community or grid

    @classmethod
    def of(cls, code: str, field: str = "area") -> Area:
        level = level_of(code) if isinstance(code, str) else None
        if level is None:
            raise InvalidInput(
                f"区域代码无效 {code!r} is not a city, county, town, community or grid code", field=field
            )
        return cls(code, level)

    @property
    def is_city(self) -> bool:
        return self.level == "city"

    def holds(self, code: str | None) -> bool:
        """Whether the unit or grid `code` lies inside this area (an area holds itself)."""
        return code is not None and contains(self.code, code)

    def ancestors(self) -> list[str]:
        """The codes of the units holding this area, city first."""
        if self.is_city:
            return []
        return [CITY_CODE] + [self.code[:n] for n in _UNIT_CODE_LENGTHS if n < len(self.code)]

    def narrowed(self, admin_code: str | None, field: str = "admin_code") -> Area:
        """The area a request asks about: admin_code if given (403 when outside this area), else this one."""
        if admin_code is None or admin_code == "":
            return self
        asked = Area.of(admin_code.strip(), field)
        if not self.holds(asked.code):
            raise Forbidden(
                f"{asked.code} 不在您的辖区 {self.code} 内 {asked.code} is outside your area {self.code}",
                field=field,
                area=self.code,
            )
        return asked

    def where(self, table: str, alias: str, param: str = "area") -> tuple[str, dict[str, Any]]:
        """(SQL condition on `alias`, its parameters) selecting the rows of `table` inside this area."""
        if self.is_city and "city" not in _WHERE[table]:
            return "TRUE", {}
        condition = _WHERE[table][self.level].format(a=alias, p=param)
        params: dict[str, Any] = {param: self.code}
        if table == "admin_units":
            params[f"{param}_up"] = self.ancestors()
        return condition, params

    def has_rows_in(self, table: str) -> bool:
        """Whether `table` keeps rows for this area (a roll-up kept per county has none for a town)."""
        return self.is_city or self.level in _WHERE[table]

    def check_holds(self, code: str | None, what: str) -> None:
        """A single object with this code outside the area is not found (404, existence not revealed)."""
        if not self.holds(code):
            raise NotFound(f"{what} 不存在或不在您的辖区 {what} not found in your area", field="id")


def area_name(session: Session, code: str) -> str:
    """The name of an admin unit or grid (the code itself when neither holds it)."""
    found = session.execute(
        text(
            "SELECT name FROM admin_units WHERE code = :c UNION ALL SELECT name FROM grids WHERE code = :c LIMIT 1"
        ),
        {"c": code},
    ).scalar_one_or_none()
    return found or code


CITY = Area(CITY_CODE, "city")  # the whole deployment: the bootstrap admin's and the CLI's area
