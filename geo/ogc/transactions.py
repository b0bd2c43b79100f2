"""OGC API – Features Part 4 on grids: the edits are geo.editing's (one validation, one versioning);
this module only makes sure every applied edit refreshes the grid tiles it shows in."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from geo.pg import events
from geo.pg.events import BBox


def grid_bboxes(session: Session, codes: list[str]) -> BBox | None:
    """The bbox covering the grids' current geometries (retired ones included)."""
    row = session.execute(
        text(
            "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) "
            "FROM (SELECT ST_Extent(geom) AS e FROM grids WHERE code = ANY(:codes)) s"
        ),
        {"codes": codes},
    ).one()
    return events.bbox_from_row(row)


def announce(session: Session, result: dict[str, Any], before: BBox | None) -> None:
    """Refresh grid tiles on commit for any applied edit, attribute-only ones included.

    geo.editing announces the area whose shapes moved; a renamed grid or a new household count changes
    its tiles too (they carry name, households, population and version), so the edited grids' extent
    before and after the edit is announced as well.
    """
    if result.get("dry_run"):
        return
    codes = [g["code"] for g in result.get("grids", [])]
    changed = result.get("changed_bbox")
    box = events.union([before, grid_bboxes(session, codes), tuple(changed) if changed else None])  # type: ignore[list-item]
    if box is not None:
        events.on_commit(session, "grids", box)
