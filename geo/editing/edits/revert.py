"""Reverting grids: an earlier version made current again, as a new version, validated like any edit."""

from __future__ import annotations

import shapely
from sqlalchemy import text
from sqlalchemy.orm import Session

from geo.editing.change import DEFAULT_TOLERANCE_M, Editor, GridChange, Result
from geo.editing.engine import apply_changes
from geo.editing.grid_rows import current_grid
from geo.errors import NotFound


def revert_grid(
    session: Session,
    code: str,
    version: int,
    *,
    expected_version: int | None,
    editor: Editor,
    reason: str | None = None,
    dry_run: bool = False,
    tolerance_m: float = DEFAULT_TOLERANCE_M,
) -> Result:
    """Make an earlier version current again, as a new version (validated like any edit)."""
    return revert_grids(
        session,
        {code: version},
        expected_versions={code: expected_version},
        editor=editor,
        reason=reason,
        dry_run=dry_run,
        tolerance_m=tolerance_m,
    )


def revert_grids(
    session: Session,
    versions: dict[str, int],
    *,
    expected_versions: dict[str, int | None] | None = None,
    editor: Editor,
    reason: str | None = None,
    dry_run: bool = False,
    tolerance_m: float = DEFAULT_TOLERANCE_M,
) -> Result:
    """Revert several grids together (e.g. both sides of a moved boundary), as new versions of each."""
    expected = expected_versions or {}
    changes = []
    for code, version in versions.items():
        row = (
            session.execute(
                text(
                    """
                SELECT name, community_code, grid_worker, households, population, status, ST_AsBinary(geom) AS wkb
                FROM grid_versions WHERE grid_code = :code AND version = :version
                """
                ),
                {"code": code, "version": version},
            )
            .mappings()
            .one_or_none()
        )
        if row is None:
            current_grid(session, code)  # GridNotFound when the grid itself is unknown
            raise NotFound(f"grid {code} has no version {version}", grid_code=code, version=version)
        attrs = {k: row[k] for k in ("name", "community_code", "grid_worker", "households", "population")}
        changes.append(
            GridChange(
                code,
                geom=shapely.from_wkb(row["wkb"]),
                attrs=attrs,
                status=row["status"],
                expected_version=expected.get(code),
            )
        )
    reason = reason or "revert to " + ", ".join(f"{c} version {v}" for c, v in versions.items())
    return apply_changes(
        session, changes, editor=editor, reason=reason, action="revert", dry_run=dry_run, tolerance_m=tolerance_m
    )
