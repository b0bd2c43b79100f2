"""Edits of one grid: create, replace (PUT), update (PATCH), retire (alone or into a neighbour)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from geo.editing.change import DEFAULT_TOLERANCE_M, EDITABLE, Editor, GridChange, Result
from geo.editing.edits.reshape import merge_grids
from geo.editing.engine import apply_changes
from geo.editing.grid_rows import current_grid
from geo.editing.validate import problem, reject


def create_grid(
    session: Session,
    code: str,
    geometry: Any,
    attrs: dict[str, Any],
    *,
    editor: Editor,
    reason: str | None = None,
    dry_run: bool = False,
    tolerance_m: float = DEFAULT_TOLERANCE_M,
) -> Result:
    """A new grid (version 1); attrs needs name and community_code."""
    attrs = {"community_code": code[:12], **attrs}
    change = GridChange(code, geom=geometry, attrs=attrs, create=True)
    return apply_changes(
        session, [change], editor=editor, reason=reason, action="create", dry_run=dry_run, tolerance_m=tolerance_m
    )


def replace_grid(
    session: Session,
    code: str,
    geometry: Any,
    attrs: dict[str, Any],
    *,
    expected_version: int | None,
    editor: Editor,
    reason: str | None = None,
    dry_run: bool = False,
    tolerance_m: float = DEFAULT_TOLERANCE_M,
) -> Result:
    """Replace geometry and every attribute (PUT): attributes left out become empty, name is required."""
    if not (attrs.get("name") or "").strip():
        raise reject(
            [problem("attribute", "name is required when replacing a grid", field="name", grid_code=code)]
        )
    full = {k: attrs.get(k) for k in EDITABLE}
    full["community_code"] = attrs.get("community_code") or current_grid(session, code)["community_code"]
    change = GridChange(code, geom=geometry, attrs=full, expected_version=expected_version)
    return apply_changes(
        session, [change], editor=editor, reason=reason, action="replace", dry_run=dry_run, tolerance_m=tolerance_m
    )


def update_grid(
    session: Session,
    code: str,
    *,
    geometry: Any = None,
    attrs: dict[str, Any] | None = None,
    expected_version: int | None,
    editor: Editor,
    reason: str | None = None,
    dry_run: bool = False,
    tolerance_m: float = DEFAULT_TOLERANCE_M,
) -> Result:
    """Change some attributes and/or the geometry (PATCH); the rest stays."""
    change = GridChange(code, geom=geometry, attrs=dict(attrs or {}), expected_version=expected_version)
    return apply_changes(
        session, [change], editor=editor, reason=reason, action="update", dry_run=dry_run, tolerance_m=tolerance_m
    )


def retire_grid(
    session: Session,
    code: str,
    *,
    expected_version: int | None,
    editor: Editor,
    reason: str | None = None,
    absorbed_by: str | None = None,
    absorbed_by_version: int | None = None,
    dry_run: bool = False,
    tolerance_m: float = DEFAULT_TOLERANCE_M,
) -> Result:
    """Retire a grid; its area must go to a neighbour (absorbed_by) or lie outside its community by now."""
    if absorbed_by:
        versions = {code: expected_version, absorbed_by: absorbed_by_version}
        return merge_grids(
            session,
            [absorbed_by, code],
            keep=absorbed_by,
            expected_versions=versions,
            editor=editor,
            reason=reason,
            dry_run=dry_run,
            tolerance_m=tolerance_m,
            action="retire",
        )
    change = GridChange(code, status="retired", expected_version=expected_version)
    return apply_changes(
        session, [change], editor=editor, reason=reason, action="retire", dry_run=dry_run, tolerance_m=tolerance_m
    )
