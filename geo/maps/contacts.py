"""Who to call about a grid: its community, grid worker and the community police officer, phones masked
for roles that only read the map."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from geo.auth import Principal
from geo.errors import GridNotFound

# Roles whose work is calling these people; anyone else (a viewer) sees 138****1234.
PHONE_ROLES = ("police", "grid_worker", "centre_operator", "gis_editor", "department_handler")


def may_see_phones(principal: Principal) -> bool:
    """True for the roles in PHONE_ROLES (and admin)."""
    return principal.allowed(PHONE_ROLES)


def mask_phone(phone: str | None) -> str | None:
    """The first 3 and last 4 digits kept, the middle starred (the usual Chinese mobile masking)."""
    if not phone:
        return phone
    return phone[:3] + "****" + phone[-4:] if len(phone) >= 8 else "****"


def grid_contacts(session: Session, code: str, show_phones: bool) -> dict[str, Any]:
    """{code, name, community, town, county, grid_worker: {name, phone}, police: [{name, badge, phone}]}."""
    row = (
        session.execute(
            text(
                """
                SELECT g.code, g.name, g.grid_worker, g.grid_worker_phone, g.households, g.population,
                       c.code AS community_code, c.name AS community_name,
                       t.code AS town_code, t.name AS town_name, k.code AS county_code, k.name AS county_name
                FROM grids g
                JOIN admin_units c ON c.code = g.community_code
                LEFT JOIN admin_units t ON t.code = c.parent_code
                LEFT JOIN admin_units k ON k.code = t.parent_code
                WHERE g.code = :code
                """
            ),
            {"code": code},
        )
        .mappings()
        .first()
    )
    if row is None:
        raise GridNotFound(f"no grid {code}", grid_code=code)
    officers = session.execute(
        text("SELECT name, badge, phone FROM officers WHERE community_code = :c ORDER BY badge"),
        {"c": row["community_code"]},
    ).all()

    def phone(value: str | None) -> str | None:
        return value if show_phones else mask_phone(value)

    return {
        "code": row["code"],
        "name": row["name"],
        "households": row["households"],
        "population": row["population"],
        "community": {"code": row["community_code"], "name": row["community_name"]},
        "town": {"code": row["town_code"], "name": row["town_name"]},
        "county": {"code": row["county_code"], "name": row["county_name"]},
        "grid_worker": {"name": row["grid_worker"], "phone": phone(row["grid_worker_phone"])},
        "police": [{"name": o.name, "badge": o.badge, "phone": phone(o.phone)} for o in officers],
        "phones_masked": not show_phones,
    }
