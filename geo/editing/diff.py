"""What an edit moves: incidents, compounds and households that change grid, snapshotted before and after."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

ID_LIMIT = 1000  # a response lists at most this many moved incident ids (the counts are always complete)
_INCIDENTS_IN_AREA = """
    SELECT i.id, i.grid_code FROM incidents i, (SELECT ST_GeomFromWKB(:area, 4326) AS g) a
    WHERE i.geom && a.g AND ST_Intersects(a.g, i.geom)
"""


@dataclass
class Snapshot:
    """Grid assignments inside the changed area before the edit."""

    area: bytes
    incidents: dict[int, str | None]
    compounds: dict[int, tuple[str | None, str, int | None]]  # id → (grid_code, name, households)


def snapshot(session: Session, area: bytes | None) -> Snapshot | None:
    """The current grid of every incident and compound touching area (None: nothing can move)."""
    if area is None:
        return None
    params = {"area": area}
    incidents = session.execute(text(_INCIDENTS_IN_AREA), params).all()
    compounds = session.execute(
        text(
            """
            SELECT c.id, c.grid_code, c.name, c.households FROM compounds c,
                   (SELECT ST_GeomFromWKB(:area, 4326) AS g) a
            WHERE c.geom && a.g AND ST_Intersects(a.g, c.geom)
            """
        ),
        params,
    ).all()
    return Snapshot(
        area=area,
        incidents={i: g for i, g in incidents},
        compounds={i: (g, name, hh) for i, g, name, hh in compounds},
    )


def reassign(session: Session, area: bytes | None) -> dict[str, Any] | None:
    """Re-assign incidents and compounds inside area with the spatial API's one function."""
    if area is None:
        return None
    from geo.assign import reassign_area  # the spatial API's module; imported late to keep layers loose

    return reassign_area(session, area)


def compare(session: Session, before: Snapshot | None) -> dict[str, Any]:
    """Which incidents, compounds and households now sit in a different grid than in the snapshot."""
    if before is None:
        return {
            "incidents": {"changed": 0, "moves": [], "ids": [], "ids_truncated": False},
            "compounds": {"changed": 0, "moves": []},
            "households": {"changed": 0, "moves": []},
        }
    # The same spatial predicate as the snapshot (a bitmap scan) beats probing 10,000 ids one by one.
    now_inc: dict[int, str | None] = dict(session.execute(text(_INCIDENTS_IN_AREA), {"area": before.area}).all())
    moved = sorted(i for i, g in before.incidents.items() if now_inc.get(i) != g)
    pairs = Counter((before.incidents[i], now_inc.get(i)) for i in moved)
    now_cmp: dict[int, str | None] = dict(
        session.execute(
            text("SELECT id, grid_code FROM compounds WHERE id = ANY(:ids)"), {"ids": list(before.compounds)}
        ).all()
    )
    compound_moves: list[dict[str, Any]] = [
        {"id": i, "name": name, "from": g, "to": now_cmp.get(i), "households": hh}
        for i, (g, name, hh) in sorted(before.compounds.items())
        if now_cmp.get(i) != g
    ]
    households: Counter[tuple[str | None, str | None]] = Counter()
    for m in compound_moves:
        households[(m["from"], m["to"])] += m["households"] or 0
    return {
        "incidents": {
            "changed": len(moved),
            "moves": [{"from": a, "to": b, "count": n} for (a, b), n in sorted(pairs.items(), key=_key)],
            "ids": moved[:ID_LIMIT],
            "ids_truncated": len(moved) > ID_LIMIT,
        },
        "compounds": {"changed": len(compound_moves), "moves": compound_moves},
        "households": {
            "changed": sum(households.values()),
            "moves": [{"from": a, "to": b, "households": n} for (a, b), n in sorted(households.items(), key=_key)],
        },
    }


def _key(item: tuple[tuple[str | None, str | None], int]) -> tuple[str, str]:
    (a, b), _ = item
    return (a or "", b or "")
