"""Grid edits for GIS staff (create, replace, update, retire, split, merge, move a boundary, revert).

Each function validates, versions, re-assigns and audits in the caller's transaction (see
geo/editing/engine.py) and returns the edit's diff; with dry_run=True it writes nothing. expected_version(s)
are the If-Match versions: a stale one raises VersionConflict. One grid: one_grid.py; splitting, merging and
moving a boundary: reshape.py; reverting to earlier versions: revert.py.
"""

from geo.editing.edits.one_grid import create_grid, replace_grid, retire_grid, update_grid
from geo.editing.edits.reshape import merge_grids, move_boundary, split_grid
from geo.editing.edits.revert import revert_grid, revert_grids

__all__ = [
    "create_grid",
    "merge_grids",
    "move_boundary",
    "replace_grid",
    "retire_grid",
    "revert_grid",
    "revert_grids",
    "split_grid",
    "update_grid",
]
