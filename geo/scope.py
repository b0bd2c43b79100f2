"""The admin scope, written once: codes and levels, "is code X inside area A", and the SQL WHERE for a scope.

Codes nest by prefix (国家统计局 区划代码 and the province's grid practice): a 6-digit county, a 9-digit town,
a 12-digit community, a 15-digit grid = community code + 3 digits. The city 610300 holds every 6103xx code.
Every list, statistic and tile filter takes its scope condition from here; nobody else writes `610300`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from geo.errors import AdminUnitNotFound, GridNotFound, InvalidInput

CITY_CODE = "610300"
CITY_PREFIX = CITY_CODE[:4]  # the city holds every 6103xx county

# Scope level → the incidents column holding that level's code (fixed names, never user input).
SCOPE_COLUMN = {
    "county": "county_code",
    "town": "town_code",
    "community": "community_code",
    "grid": "grid_code",
}
LEVEL_BY_LENGTH = {6: "county", 9: "town", 12: "community", 15: "grid"}
LEVEL_ORDER = ("city", "county", "town", "community", "grid")
PARENT_LENGTH = {"grid": 12, "community": 9, "town": 6}  # a code's first digits name the unit one level up


def in_grids_box(alias: str, grids_param: str) -> str:
    """SQL condition: `alias`.geom inside the box of the grids bound to :grids_param (a text[]).

    AND it to a grid_code = ANY(:grids) filter: no index leads with an assignment column (migration 0003),
    and a grid's incidents lie in its polygon, so this reaches the GiST index and selects the same rows.
    """
    return (
        f"{alias}.geom && (SELECT ST_Extent(g_.geom)::geometry FROM grids g_ WHERE g_.code = ANY(:{grids_param}))"
    )


# The box holding every incident assigned to a town, community or grid: assignment puts a point in no grid
# in the community covering it, and a point in a grid in that grid's community, town and county.
_SCOPE_BOX = {
    "grid": "SELECT geom FROM grids WHERE code = :c",
    "community": "SELECT geom FROM admin_units WHERE code = :c UNION ALL SELECT geom FROM grids WHERE community_code = :c",
    "town": """SELECT geom FROM admin_units WHERE code = :c OR (level = 'community' AND parent_code = :c)
               UNION ALL SELECT g.geom FROM grids g JOIN admin_units a ON a.code = g.community_code
               WHERE a.parent_code = :c""",
}


@dataclass(frozen=True)
class Scope:
    """An admin unit or grid that a question is asked about."""

    code: str
    level: str  # city, county, town, community or grid
    name: str
    # (xmin, ymin, xmax, ymax) holding every incident of a town, community or grid: the way to the GiST index.
    box: tuple[float, float, float, float] | None = field(default=None, compare=False, repr=False)

    def incident_filter(self, alias: str = "i") -> str:
        """SQL condition selecting this scope's incidents; binds :scope_code (except for the city)."""
        # City scope = every incident assigned to a county, i.e. inside the jurisdiction; rows flagged
        # outside_jurisdiction have no county_code and are left out.
        if self.level == "city":
            return f"{alias}.county_code IS NOT NULL"
        condition = f"{alias}.{SCOPE_COLUMN[self.level]} = :scope_code"
        if self.box is not None:
            # No index leads with an assignment column (migration 0003): the box reaches the GiST index.
            condition += f" AND {alias}.geom && ST_MakeEnvelope(:box_x0, :box_y0, :box_x1, :box_y1, 4326)"
        return condition

    @property
    def params(self) -> dict[str, Any]:
        if self.level == "city":
            return {}
        if self.box is not None:
            return {
                "scope_code": self.code,
                **dict(zip(("box_x0", "box_y0", "box_x1", "box_y1"), self.box, strict=True)),
            }
        return {"scope_code": self.code}


def resolve_scope(session: Session, code: str) -> Scope:
    """The scope for an admin or grid code (level from its length; 6 digits may be the city), or 404."""
    code = (code or "").strip()
    level = LEVEL_BY_LENGTH.get(len(code))
    if not code.isdigit() or level is None:
        raise InvalidInput(
            f"admin_code '{code}' must be 6 (city/county), 9 (town), 12 (community) or 15 (grid) digits",
            field="admin_code",
        )
    if level == "grid":
        name = session.execute(text("SELECT name FROM grids WHERE code = :c"), {"c": code}).scalar_one_or_none()
        if name is None:
            raise GridNotFound(f"no grid with code {code}", field="admin_code", value=code)
        return Scope(code, "grid", name, _box(session, "grid", code))
    row = session.execute(text("SELECT name, level FROM admin_units WHERE code = :c"), {"c": code}).first()
    if row is None:
        raise AdminUnitNotFound(f"no admin unit with code {code}", field="admin_code", value=code)
    if row.level == "city":
        level = "city"
    elif row.level != level and not (row.level == "zone" and level == "county"):
        raise InvalidInput(
            f"admin unit {code} is a {row.level}, but a {len(code)}-digit code names a {level}",
            field="admin_code",
        )
    return Scope(code, level, row.name, _box(session, level, code) if level in _SCOPE_BOX else None)


def _box(session: Session, level: str, code: str) -> tuple[float, float, float, float] | None:
    """The box of the scope's polygons (None when it has none: then no incident is assigned to it either)."""
    row = session.execute(
        text(
            f"SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM "
            f"(SELECT ST_Extent(geom) AS e FROM ({_SCOPE_BOX[level]}) u) x"
        ),
        {"c": code},
    ).one()
    return None if row[0] is None else (row[0], row[1], row[2], row[3])


def child_level(scope: Scope) -> str | None:
    """The level directly below the scope (None below a grid)."""
    i = LEVEL_ORDER.index(scope.level)
    return LEVEL_ORDER[i + 1] if i + 1 < len(LEVEL_ORDER) else None


def check_level_below(scope: Scope, level: str) -> None:
    """A breakdown level must be one of the levels below the scope."""
    if level not in LEVEL_ORDER[1:]:
        raise InvalidInput(f"level must be one of {', '.join(LEVEL_ORDER[1:])}; got '{level}'", field="level")
    if LEVEL_ORDER.index(level) <= LEVEL_ORDER.index(scope.level):
        raise InvalidInput(f"level '{level}' is not below the scope {scope.code} ({scope.level})", field="level")


def level_of(code: str) -> str | None:
    """The level a code names by its length: 'city' (610300), 'county', 'town', 'community', 'grid'; else None."""
    if code == CITY_CODE:
        return "city"
    return LEVEL_BY_LENGTH.get(len(code)) if code.isdigit() else None


def contains(area: str, code: str) -> bool:
    """Whether the unit or grid `code` lies inside `area` (an area holds itself): codes nest by prefix."""
    if area == CITY_CODE:
        return code.startswith(CITY_PREFIX)
    return level_of(area) is not None and code.startswith(area)


def parent_of(code: str) -> str | None:
    """The admin unit one level up (a grid's community, a community's town, a town's county, a county's city);
    None for the city or a code of no level."""
    level = level_of(code)
    if level is None or level == "city":
        return None
    return CITY_CODE if level == "county" else code[: PARENT_LENGTH[level]]
