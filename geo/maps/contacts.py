"""Who to call about a grid: its community, grid worker and the community police officer, phones masked
for roles that only read the map."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from geo.area import CITY, Area
from geo.auth import Principal
from geo.errors import AdminUnitNotFound, GridNotFound, InvalidInput

# Roles whose work is calling these people; anyone else (a viewer) sees 138****1234.
PHONE_ROLES = ("police", "grid_worker", "centre_operator", "gis_editor", "department_handler")


def may_see_phones(principal: Principal) -> bool:
    """True for the roles in PHONE_ROLES (and admin)."""
    return principal.has(*PHONE_ROLES)


def mask_phone(phone: str | None) -> str | None:
    """The first 3 and last 4 digits kept, the middle starred (the usual Chinese mobile masking)."""
    if not phone:
        return phone
    return phone[:3] + "****" + phone[-4:] if len(phone) >= 8 else "****"


def contacts(session: Session, code: str, show_phones: bool, area: Area = CITY) -> dict[str, Any]:
    """Who to call for a grid (15 digits) or a village/community (12) inside `area` (else not found)."""
    area.check_holds(code, "联系人 contacts")
    if len(code) == 15:
        return grid_contacts(session, code, show_phones)
    if len(code) == 12:
        return community_contacts(session, code, show_phones)
    raise InvalidInput("contacts are for a 12-digit community or a 15-digit grid code", field="code")


def _police(session: Session, community: str, show_phones: bool) -> list[dict[str, Any]]:
    officers = session.execute(
        text("SELECT id, name, badge, phone FROM officers WHERE community_code = :c ORDER BY badge"),
        {"c": community},
    ).all()
    return [
        {"id": o.id, "name": o.name, "badge": o.badge, "phone": o.phone if show_phones else mask_phone(o.phone)}
        for o in officers
    ]


def community_contacts(session: Session, code: str, show_phones: bool) -> dict[str, Any]:
    """{community: {code, name}, police: [{id, name, badge, phone}], grids: n} for a village/community."""
    row = session.execute(
        text(
            "SELECT a.code, a.name, (SELECT count(*) FROM grids g WHERE g.community_code = a.code "
            "AND g.status = 'active') AS grids FROM admin_units a WHERE a.code = :c AND a.level = 'community'"
        ),
        {"c": code},
    ).first()
    if row is None:
        raise AdminUnitNotFound(f"no village/community {code}", admin_code=code)
    police = _police(session, code, show_phones)
    return {"community": {"code": row.code, "name": row.name}, "grids": row.grids, "police": police,
            "phones_masked": not show_phones}  # fmt: skip


def grid_contacts(session: Session, code: str, show_phones: bool) -> dict[str, Any]:
    """{code, name, community, town, county, grid_worker: {name, phone}, police: [{id, name, badge, phone}]}."""
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
    phone = row["grid_worker_phone"] if show_phones else mask_phone(row["grid_worker_phone"])

    return {
        "code": row["code"],
        "name": row["name"],
        "households": row["households"],
        "population": row["population"],
        "community": {"code": row["community_code"], "name": row["community_name"]},
        "town": {"code": row["town_code"], "name": row["town_name"]},
        "county": {"code": row["county_code"], "name": row["county_name"]},
        "grid_worker": {"name": row["grid_worker"], "phone": phone},
        "police": _police(session, row["community_code"], show_phones),
        "phones_masked": not show_phones,
    }
