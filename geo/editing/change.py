"""What one grid edit is made of: a GridChange per grid, the attributes an edit may set, who edits."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from typing import Any

from geo.auth import Principal
from geo.settings import Settings

EDITABLE = ("name", "community_code", "grid_worker", "grid_worker_phone", "households", "population")
# Who edits: a principal (the API: bounded by their area) or a name (trusted callers, the CLI: the city).
Editor = str | Principal
Result = dict[str, Any]  # what an edit returns: its diff (see engine.apply_changes)
DEFAULT_TOLERANCE_M = 1.0  # Settings.edit_tolerance_m's default; callers pass the configured value


@cache
def _settings() -> Settings:
    return Settings()


# Read from the environment once per process, in the engine itself: every edit path (REST, OGC, import,
# CLI) goes through it, so none can forget to pass them.
def snap_m() -> float:
    """CITYGRID_EDIT_SNAP_M: incoming vertices this close to a stored one are moved onto it (geo.editing.snap)."""
    return _settings().edit_snap_m


def sliver_m2() -> float:
    """CITYGRID_EDIT_SLIVER_M2: the most overlap or gap an edit may add, however thin (validate.check_post_state)."""
    return _settings().edit_sliver_m2


@dataclass
class GridChange:
    """One grid's part of an edit: a new geometry and/or attributes and/or status, or a new grid."""

    code: str
    geom: Any = None  # GeoJSON / WKT / shapely; None keeps the current geometry
    attrs: dict[str, Any] = field(default_factory=dict)
    status: str | None = None  # "retired" retires, "active" re-activates; None keeps
    expected_version: int | None = None  # the If-Match version; None: not checked (the lock still holds)
    create: bool = False
    feature: int | None = None  # index in an imported layer, for the report
