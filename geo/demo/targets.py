"""The Baoji pilot's published figures, and the plain SQL that recomputes each of them from the database.

`citygrid demo check` and the demo tests run these queries: a figure is only "met" when the rows in the
database produce it, whatever the generator intended. Years are local (Asia/Shanghai) calendar years;
city-wide means every incident assigned to a county (rows flagged outside the jurisdiction are left out).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

GRIDS = 1_537
TOWNS = 120
COMMUNITIES = 1_370
RENOVATED_COMPOUNDS = 656
PREVENTABLE_CHANGE_PCT = -52.7
PROPERTY_CHANGE_PCT = -32.3
ZERO_CRIME_COMMUNITIES_2020 = 632
FENG_CODE = "610330"
FENG_DISPUTES_2020 = 2_980
FENG_DISPUTES_RESOLVED_2020 = 2_920
CITY_DISPUTES_RESOLVED_2020 = 3_993
HAZARDS_2020 = 3_270
OFFICERS = 167
CITY_AREA_KM2 = 18_117


def in_year(year: int, alias: str = "") -> str:
    """SQL condition: the incident occurred in this local (UTC+8) calendar year."""
    col = f"{alias}.occurred_at" if alias else "occurred_at"
    return f"{col} >= '{year}-01-01 00:00+08' AND {col} < '{year + 1}-01-01 00:00+08'"


YEAR_2019, YEAR_2020 = in_year(2019), in_year(2020)
RESOLVED = "resolved_at IS NOT NULL AND status IN ('resolved', 'closed')"


def _change_sql(category: str) -> str:
    return f"""
        SELECT round(100.0 * (n20 - n19) / n19, 1) FROM (
            SELECT count(*) FILTER (WHERE {YEAR_2019}) AS n19, count(*) FILTER (WHERE {YEAR_2020}) AS n20
            FROM incidents WHERE category = '{category}' AND county_code IS NOT NULL
        ) x"""


# Criminal incidents (preventable + property) inside each compound, by spatial containment, 2019 → 2020.
_CRIMINAL = "i.category IN ('preventable', 'property')"
_COMPOUND_FALL = f"""
    SELECT round(100.0 * (sum(n.n20) - sum(n.n19)) / nullif(sum(n.n19), 0), 1)
    FROM compounds c
    CROSS JOIN LATERAL (
        SELECT count(*) FILTER (WHERE {_CRIMINAL} AND {in_year(2019, "i")}) AS n19,
               count(*) FILTER (WHERE {_CRIMINAL} AND {in_year(2020, "i")}) AS n20
        FROM incidents i
        WHERE ST_Covers(c.geom, i.geom)  -- the category in FILTER: as a WHERE the planner ANDs a 47k-row bitmap
    ) n
    WHERE c.category = 'three_no' AND c.renovation_status = :status"""


# Case histories (geo.demo.generate_cases), recomputed from case_events alone: cases of incidents of 2020.
_CASE_2020 = (
    f"JOIN cases c ON c.id = e.case_id JOIN incidents i ON i.id = c.incident_id WHERE {in_year(2020, 'i')}"
)


def _case_events(step_list: str, where: str) -> str:
    return (
        f"SELECT count(DISTINCT e.case_id) FROM case_events e {_CASE_2020} AND e.step IN ({step_list}) AND {where}"
    )


# A closed case was closed inside its grid when it was resolved on the spot or last dispatched to a grid.
_CLOSED_IN_GRID = f"""
    SELECT (avg((EXISTS (SELECT 1 FROM case_events s WHERE s.case_id = e.case_id AND s.step = 'resolve_on_spot')
                 OR (SELECT d.to_unit_kind FROM case_events d WHERE d.case_id = e.case_id
                     AND d.step IN ('dispatch', 'rework') ORDER BY d.id DESC LIMIT 1) = 'grid')::int) > 0.5)::int
    FROM case_events e {_CASE_2020} AND e.step = 'verify_close'"""


@dataclass(frozen=True)
class Check:
    """One seed figure: how to compute it and what it must be."""

    key: str
    label: str  # Chinese first, then English
    sql: str
    target: float | None  # None: compared with another check (see `better_than`)
    params: tuple[tuple[str, str], ...] = ()
    tolerance: float = 0.0  # relative, for figures that are real measurements (the city's area)
    better_than: str | None = None  # this figure must be lower (a larger fall) than that check's


CHECKS: tuple[Check, ...] = (
    Check("grids", "全要素网格 grids", "SELECT count(*) FROM grids WHERE status = 'active'", GRIDS),
    Check("towns", "镇/街道 towns and streets", "SELECT count(*) FROM admin_units WHERE level = 'town'", TOWNS),
    Check(
        "communities",
        "村/社区 villages and communities",
        "SELECT count(*) FROM admin_units WHERE level = 'community'",
        COMMUNITIES,
    ),
    Check(
        "city_area_km2",
        "市域面积 city area (km²)",
        "SELECT round((ST_Area(ST_Transform(geom, 32648)) / 1e6)::numeric, 0) FROM admin_units WHERE level = 'city'",
        CITY_AREA_KM2,
        tolerance=0.01,
    ),
    Check(
        "renovated_compounds",
        "已整治三无小区 renovated three-nos compounds",
        "SELECT count(*) FROM compounds WHERE category = 'three_no' AND renovation_status = 'renovated'",
        RENOVATED_COMPOUNDS,
    ),
    Check(
        "preventable_change",
        "可防性案件同比 preventable cases 2020 vs 2019 (%)",
        _change_sql("preventable"),
        PREVENTABLE_CHANGE_PCT,
    ),
    Check(
        "property_change",
        "侵财类案件同比 property crimes 2020 vs 2019 (%)",
        _change_sql("property"),
        PROPERTY_CHANGE_PCT,
    ),
    Check(
        "zero_crime_communities",
        "零发案村/社区 villages/communities with no criminal case in 2020",
        f"""SELECT count(*) FROM admin_units a WHERE a.level = 'community' AND NOT EXISTS (
                SELECT 1 FROM incidents i WHERE i.community_code = a.code
                AND i.category IN ('preventable', 'property') AND {in_year(2020, "i")})""",
        ZERO_CRIME_COMMUNITIES_2020,
    ),
    Check(
        "feng_disputes",
        "凤县矛盾纠纷排查 Feng county disputes logged in 2020",
        f"SELECT count(*) FROM incidents WHERE category = 'dispute' AND county_code = :feng AND {YEAR_2020}",
        FENG_DISPUTES_2020,
        params=(("feng", FENG_CODE),),
    ),
    Check(
        "feng_disputes_resolved",
        "凤县化解 Feng county disputes resolved (of 2020's)",
        f"SELECT count(*) FROM incidents WHERE category = 'dispute' AND county_code = :feng AND {YEAR_2020} "
        f"AND {RESOLVED}",
        FENG_DISPUTES_RESOLVED_2020,
        params=(("feng", FENG_CODE),),
    ),
    Check(
        "city_disputes_resolved",
        "全市化解矛盾纠纷 disputes resolved city-wide (of 2020's)",
        f"SELECT count(*) FROM incidents WHERE category = 'dispute' AND county_code IS NOT NULL AND {YEAR_2020} "
        f"AND {RESOLVED}",
        CITY_DISPUTES_RESOLVED_2020,
    ),
    Check(
        "hazards",
        "排查安全隐患 safety hazards found in 2020",
        f"SELECT count(*) FROM incidents WHERE category = 'hazard' AND county_code IS NOT NULL AND {YEAR_2020}",
        HAZARDS_2020,
    ),
    Check(
        "case_feng_disputes",
        "凤县矛盾纠纷案件（按事件）Feng county dispute cases reported, from case events",
        _case_events("'report', 'resolve_on_spot'", "c.category = 'dispute' AND c.county_code = :feng"),
        FENG_DISPUTES_2020,
        params=(("feng", FENG_CODE),),
    ),
    Check(
        "case_feng_disputes_closed",
        "凤县化解结案（按事件）Feng county dispute cases closed, from case events",
        _case_events("'verify_close'", "c.category = 'dispute' AND c.county_code = :feng"),
        FENG_DISPUTES_RESOLVED_2020,
        params=(("feng", FENG_CODE),),
    ),
    Check(
        "case_city_disputes_closed",
        "全市化解结案（按事件）dispute cases closed city-wide, from case events",
        _case_events("'verify_close'", "c.category = 'dispute'"),
        CITY_DISPUTES_RESOLVED_2020,
    ),
    Check(
        "case_hazards",
        "安全隐患案件（按事件）hazard cases reported, from case events",
        _case_events("'report', 'resolve_on_spot'", "c.category = 'hazard'"),
        HAZARDS_2020,
    ),
    Check(
        "case_closed_in_grid",
        "多数在网格内化解 most cases closed inside their grid (1 = yes), from case events",
        _CLOSED_IN_GRID,
        1,
    ),
    Check(
        "officers",
        "社区民警 community police officers with patrol routes",
        "SELECT count(*) FROM officers o WHERE EXISTS (SELECT 1 FROM patrol_routes r WHERE r.officer_id = o.id)",
        OFFICERS,
    ),
    Check(
        "outside_flagged",
        "辖区外 incidents flagged outside the jurisdiction (≥ 1)",
        "SELECT least(count(*), 1) FROM incidents WHERE outside_jurisdiction",
        1,
    ),
    Check(
        "unrenovated_compound_change",
        "未整治三无小区案件同比 unrenovated compounds' criminal cases (%)",
        _COMPOUND_FALL,
        None,
        params=(("status", "not_renovated"),),
    ),
    Check(
        "renovated_compound_change",
        "已整治三无小区案件同比 renovated compounds' criminal cases (%)",
        _COMPOUND_FALL,
        None,
        params=(("status", "renovated"),),
        better_than="unrenovated_compound_change",
    ),
)


@dataclass(frozen=True)
class Result:
    check: Check
    value: float | None
    ok: bool
    reference: float | None = None  # the other check's value, for `better_than`

    @property
    def expected(self) -> str:
        if self.check.better_than:
            return f"< {self.reference:g}" if self.reference is not None else "< (missing)"
        if self.check.target is None:
            return "(reference)"
        tol = f" ±{self.check.tolerance:.0%}" if self.check.tolerance else ""
        return f"{self.check.target:g}{tol}"


def run_checks(conn: Connection | Session) -> list[Result]:
    """Every check computed on the database, with whether it meets its target."""
    values: dict[str, float | None] = {}
    results = []
    for check in CHECKS:
        raw = conn.execute(text(check.sql), dict(check.params)).scalar()
        value = None if raw is None else float(raw)
        values[check.key] = value
        other = values.get(check.better_than) if check.better_than else None
        if check.better_than:
            ok = value is not None and other is not None and value < other
        elif check.target is None:
            ok = value is not None
        elif check.tolerance:
            ok = value is not None and abs(value - check.target) <= check.tolerance * abs(check.target)
        else:
            ok = value == check.target
        results.append(Result(check, value, ok, other))
    return results
