"""What an edit moves: incidents (as the re-assignment reports them), compounds and households that change grid."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

ID_LIMIT = 1000  # a response lists at most this many moved incident ids (the counts are always complete)


@dataclass
class Snapshot:
    """Compounds' grids inside the changed area before the edit; the re-assignment fills in the incidents."""

    area: bytes
    compounds: dict[int, tuple[str | None, str, int | None]]  # id → (grid_code, name, households)
    # (id, old grid, new grid) of every incident the re-assignment moved to another grid
    incident_moves: list[tuple[int, str | None, str | None]] = field(default_factory=list)


def snapshot(session: Session, area: bytes | None) -> Snapshot | None:
    """The current grid of every compound touching area (None: nothing can move)."""
    if area is None:
        return None
    params = {"area": area}
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
    return Snapshot(area=area, compounds={i: (g, name, hh) for i, g, name, hh in compounds})


def reassign(session: Session, before: Snapshot | None) -> dict[str, Any] | None:
    """Re-assign incidents and compounds inside the snapshot's area with the spatial API's one function."""
    if before is None:
        return None
    from geo.assignment.sql_rule import (
        reassign_area_moves,  # the spatial API's module; imported late to keep layers loose
    )

    counts, before.incident_moves = reassign_area_moves(session, before.area)
    return counts


def compare(session: Session, before: Snapshot | None) -> dict[str, Any]:
    """Which incidents, compounds and households now sit in a different grid than in the snapshot."""
    if before is None:
        return {
            "incidents": {"changed": 0, "moves": [], "ids": [], "ids_truncated": False},
            "compounds": {"changed": 0, "moves": []},
            "households": {"changed": 0, "moves": []},
        }
    moved = sorted(i for i, _, _ in before.incident_moves)
    pairs = Counter((old, new) for _, old, new in before.incident_moves)
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
