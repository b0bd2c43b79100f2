"""Users and their jurisdictions: who a principal is, where they work (and, later, the audited admin ops)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from geo import vocab
from geo.auth import Principal
from geo.errors import NotFound
from geo.stats.scope import CITY_CODE, resolve_scope

CITY_NAME = "宝鸡市"


def describe_area(session: Session, code: str) -> dict[str, Any]:
    """{code, level, name} of an admin unit or grid; the city answers even before its polygon is loaded."""
    try:
        scope = resolve_scope(session, code)
    except NotFound:
        if code != CITY_CODE:
            raise
        return {"code": code, "level": "city", "name": CITY_NAME}
    return {"code": scope.code, "level": scope.level, "name": scope.name}


def describe_me(session: Session, principal: Principal) -> dict[str, Any]:
    """What /api/v1/me shows: the username, roles (with labels), area and, where set, officer and department."""
    return {
        "username": principal.username,
        "roles": sorted(principal.roles),
        "role_labels": {r: "/".join(vocab.ROLES[r]) for r in sorted(principal.roles) if r in vocab.ROLES},
        "area": describe_area(session, principal.area_code),
        "officer_id": principal.officer_id,
        "department": principal.department,
    }
