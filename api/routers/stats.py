"""Statistics for any admin unit or grid over a date range: counts, comparisons, trends, rankings, funnels."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from api.deps import Reader, ReadSessionDep
from api.schemas.stats import (
    Boundaries,
    BreakdownOut,
    BucketName,
    ChildLevel,
    ComparisonOut,
    CountsOut,
    CoverageOut,
    DisputeFunnelOut,
    PreviousMode,
    TopGridsOut,
    TrendOut,
    ZeroIncidentOut,
)
from geo import stats
from geo.scope import CITY_CODE

router = APIRouter(prefix="/api/v1/stats", tags=["stats 统计"])

AdminCode = Annotated[
    str | None,
    Query(
        min_length=6,
        max_length=15,
        description=f"{CITY_CODE} = the city (incidents with a county); 6-digit county, 9-digit town, "
        "12-digit village/community or 15-digit grid code",
    ),
]
Start = Annotated[dt.date, Query(description="first local day (Asia/Shanghai), inclusive")]
End = Annotated[dt.date, Query(description="local day after the last one, exclusive: [start, end)")]
Categories = Annotated[
    list[str] | None,
    Query(description="incident categories (repeat or comma-separate); default all. Unknown → 400"),
]
Previous = Annotated[PreviousMode, Query(description="prior: same-length window just before; yoy: a year earlier")]
BoundariesQ = Annotated[
    Boundaries,
    Query(description="current: stored grid_code; historic: the grid version valid when each incident happened"),
]


def scoped_admin_code(who: Reader, admin_code: AdminCode = None) -> str:
    """The unit or grid asked about: admin_code inside the caller's area (403 outside), else the area itself."""
    return who.area.narrowed(admin_code).code


ScopeCode = Annotated[str, Depends(scoped_admin_code)]


@router.get("/counts", summary="分类统计 Counts by category and status", response_model=CountsOut)
def counts(
    session: ReadSessionDep,
    admin_code: ScopeCode,
    start: Start,
    end: End,
    categories: Categories = None,
) -> CountsOut:
    return CountsOut.model_validate(stats.counts(session, admin_code, start, end, categories))


@router.get(
    "/coverage",
    summary="数据覆盖 The span of days the data cover, per category; a window's status against it",
    response_model=CoverageOut,
)
def coverage(
    session: ReadSessionDep,
    admin_code: ScopeCode,
    categories: Categories = None,
    start: Annotated[dt.date | None, Query(description="optional window to check: first local day")] = None,
    end: Annotated[dt.date | None, Query(description="optional window to check: the day after the last")] = None,
) -> CoverageOut:
    return CoverageOut.model_validate(stats.coverage_report(session, admin_code, categories, start, end))


@router.get(
    "/compare",
    summary="同比环比 Period comparison: exact two-Poisson test, BH across categories, no data outside the data",
    response_model=ComparisonOut,
)
def compare(
    session: ReadSessionDep,
    admin_code: ScopeCode,
    start: Start,
    end: End,
    categories: Categories = None,
    previous: Previous = "prior",
) -> ComparisonOut:
    result = stats.compare_periods(session, admin_code, start, end, categories, previous)
    return ComparisonOut.model_validate(result)


@router.get("/trend", summary="趋势 Counts per day, week or month", response_model=TrendOut)
def trend(
    session: ReadSessionDep,
    admin_code: ScopeCode,
    start: Start,
    end: End,
    categories: Categories = None,
    bucket: Annotated[BucketName, Query(description="date_trunc unit in Asia/Shanghai")] = "month",
) -> TrendOut:
    return TrendOut.model_validate(stats.trend(session, admin_code, start, end, bucket, categories))


@router.get(
    "/zero-incident", summary="零发案社区 Communities with no criminal incident", response_model=ZeroIncidentOut
)
def zero_incident(
    session: ReadSessionDep,
    admin_code: ScopeCode,
    start: Start,
    end: End,
    categories: Annotated[
        list[str] | None, Query(description="categories judged; default preventable and property")
    ] = None,
) -> ZeroIncidentOut:
    result = stats.zero_incident_communities(session, admin_code, start, end, categories)
    return ZeroIncidentOut.model_validate(result)


@router.get("/top-grids", summary="高发网格 Top grids by count", response_model=TopGridsOut)
def top_grids(
    session: ReadSessionDep,
    admin_code: ScopeCode,
    start: Start,
    end: End,
    categories: Categories = None,
    n: Annotated[int, Query(ge=1, le=1000, description="how many grids")] = 10,
    boundaries: BoundariesQ = "current",
) -> TopGridsOut:
    result = stats.top_grids(session, admin_code, start, end, categories, n, boundaries)
    return TopGridsOut.model_validate(result)


@router.get(
    "/breakdown",
    summary="分区统计 Per-unit counts, rates per 1,000 households and change",
    response_model=BreakdownOut,
)
def breakdown(
    session: ReadSessionDep,
    admin_code: ScopeCode,
    start: Start,
    end: End,
    level: Annotated[ChildLevel | None, Query(description="a level below the scope; default the next one")] = None,
    categories: Categories = None,
    previous: Previous = "prior",
    boundaries: BoundariesQ = "current",
) -> BreakdownOut:
    result = stats.breakdown(session, admin_code, start, end, level, categories, previous, boundaries)
    return BreakdownOut.model_validate(result)


@router.get(
    "/disputes",
    summary="矛盾纠纷化解 Dispute funnel: logged → mediated → resolved",
    response_model=DisputeFunnelOut,
)
def disputes(
    session: ReadSessionDep,
    admin_code: ScopeCode,
    start: Start,
    end: End,
    level: Annotated[ChildLevel | None, Query(description="a level below the scope; default the next one")] = None,
) -> DisputeFunnelOut:
    return DisputeFunnelOut.model_validate(stats.dispute_funnel(session, admin_code, start, end, level))
