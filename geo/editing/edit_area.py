"""The editor's area bounds an edit: which grids (and communities moved to) an editor may touch."""

from __future__ import annotations

from typing import Any

from geo.area import Area
from geo.editing.change import GridChange
from geo.errors import Forbidden, GridNotFound


def check_edit_in_area(area: Area, changes: list[GridChange], olds: dict[str, dict[str, Any]]) -> None:
    """Editors edit grids only inside their area; an edit spanning two counties needs the city level."""
    # A grid's code holds its community's code (a prefix): the grid code and any community it moves to.
    touched = {c.code: [c.code, c.attrs.get("community_code")] for c in changes}
    for code, old in olds.items():
        if touched[code][1] == old["community_code"]:
            touched[code][1] = None
    counties = {code[:6] for codes in touched.values() for code in codes if code}
    if len(counties) > 1 and not area.is_city:
        raise Forbidden(
            f"跨县（区）调整网格须由市级进行 an edit across counties {', '.join(sorted(counties))} needs the city level",
            field="code",
        )
    for code, codes in touched.items():
        outside = [c for c in codes if c and not area.holds(c)]
        if code in olds and not area.holds(code):
            raise GridNotFound(f"no grid {code} in your area", grid_code=code)  # existence not revealed
        if outside:
            raise Forbidden(
                f"网格 {code} 不在您的辖区 {area.code} 内 grid {code} would lie outside your area {area.code}",
                field="code",
                grid_code=code,
            )
