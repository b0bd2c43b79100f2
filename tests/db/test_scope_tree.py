"""The admin tree by code (geo.scope): one level up, and the queue's SQL (Area.where on case holders) agreeing with contains().

Expected values are worked by hand from the published codes: 610302 渭滨区, 610302001 its first street,
610302001001 a community of it, 610302001001007 a grid of that community; 610303 金台区 is a sibling county.
"""

from __future__ import annotations

import pytest
from sqlalchemy import text

from geo.area import Area
from geo.scope import contains, parent_of

GRID, COMMUNITY, TOWN, COUNTY = "610302001001007", "610302001001", "610302001", "610302"


@pytest.mark.parametrize(
    ("code", "up"),
    [(GRID, COMMUNITY), (COMMUNITY, TOWN), (TOWN, COUNTY), (COUNTY, "610300"), ("610300", None), ("61030", None)],
)
def test_parent_of_is_one_level_up(code, up):
    assert parent_of(code) == up


CODES = [GRID, COMMUNITY, TOWN, COUNTY, "610303", "610303002", "610302999"]  # every holder lies in the city


@pytest.mark.parametrize(
    ("area", "inside"),
    [
        ("610300", {GRID, COMMUNITY, TOWN, COUNTY, "610303", "610303002", "610302999"}),
        (COUNTY, {GRID, COMMUNITY, TOWN, COUNTY, "610302999"}),
        (TOWN, {GRID, COMMUNITY, TOWN}),
        (GRID, {GRID}),
    ],
)
def test_queue_condition_selects_what_contains_holds(owner_engine, area, inside):
    cond, params = Area.of(area).where("case_holders", "c")
    with owner_engine.connect() as conn:
        rows = conn.execute(
            text(f"SELECT c.unit_code FROM unnest(CAST(:codes AS text[])) AS c(unit_code) WHERE {cond}"),
            {"codes": CODES, **params},
        ).scalars()
        selected = set(rows)
    assert selected == inside
    assert {c for c in CODES if contains(area, c)} == inside
