"""Response models of /api/v1/stats (built from geo.stats dataclasses), so the OpenAPI schema is exact."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Level = Literal["city", "county", "town", "community", "grid"]
ChildLevel = Literal["county", "town", "community", "grid"]
PreviousMode = Literal["prior", "yoy"]
Boundaries = Literal["current", "historic"]
BucketName = Literal["day", "week", "month"]
Coverage = Literal["covered", "partial", "no_data"]
ChangeStatus = Literal["ok", "partial", "no_data"]

COVERAGE_DOC = (
    "the window against the span of the data (geo.stats.coverage): covered (every day inside), partial, or "
    "no_data (no day inside). Only covered windows are compared"
)


class _Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class ScopeOut(_Out):
    code: str = Field(description="admin unit or grid code")
    level: Level
    name: str


class WindowOut(_Out):
    start: dt.date = Field(description="first local day (Asia/Shanghai), inclusive")
    end: dt.date = Field(description="local day after the last one, exclusive")


class SpanOut(_Out):
    first_day: dt.date = Field(description="first local day with data, inclusive")
    last_day: dt.date = Field(description="last local day with data, inclusive")


class ComparedWindowOut(WindowOut):
    days: int = Field(description="length in days: the exposure of the two-Poisson test")
    coverage: Coverage = Field(description=COVERAGE_DOC)


class PreviousWindowOut(ComparedWindowOut):
    mode: PreviousMode = Field(
        description="prior: the same calendar length just before (whole months move by months: 2020 → 2019); "
        "yoy: the same dates a year earlier"
    )


class LabelledCountOut(_Out):
    key: str
    label_zh: str
    label_en: str
    count: int


class CountsOut(_Out):
    scope: ScopeOut
    window: WindowOut
    categories: list[str]
    total: int
    by_category: list[LabelledCountOut]
    by_status: list[LabelledCountOut]


class ChangeOut(_Out):
    """A change between two periods; null figures and status no_data when the data do not cover both."""

    current: int
    previous: int
    difference: int | None = Field(description="current − previous; null when status is no_data")
    percent_change: float | None = Field(
        description="(C − P) / P × 100, rounded to 0.01; null when P = 0 or status is no_data"
    )
    z_score: float | None = Field(
        description="descriptive only, not a test: 2(√C − √P), rounded to 0.001 (its variance is ~2 for two "
        "single periods, so it is never used to flag a change)"
    )
    p_value: float | None = Field(
        description="two-sided exact p of 'the same daily rate' by the conditional binomial test for two Poisson "
        "counts (Przyborowski & Wilenski 1940): C ~ Binomial(C + P, t₁/(t₁ + t₂)), t = days"
    )
    p_adjusted: float | None = Field(
        description="p_value adjusted by Benjamini & Hochberg (1995) across the changes listed with it "
        "(categories of a comparison, units of a breakdown); null for a single test"
    )
    significant: bool = Field(description="status ok and p_adjusted (or p_value for a single test) < alpha (0.01)")
    status: ChangeStatus = Field(
        description="ok: the data cover both windows; partial: the data start or end inside one (figures shown, "
        "never flagged); no_data: a window lies wholly outside the data (no change is given)"
    )
    method: str = Field(description="the test used, and the correction when there is one")


class CategoryChangeOut(ChangeOut):
    category: str
    label_zh: str
    label_en: str


class ComparisonOut(_Out):
    scope: ScopeOut
    current: ComparedWindowOut
    previous: PreviousWindowOut
    categories: list[str]
    total: ChangeOut
    by_category: list[CategoryChangeOut] = Field(description="each category BH-adjusted with the others")
    data_span: SpanOut | None = Field(description="the days the scope's source (its county, or all) has data")
    alpha: float = Field(description="significance level of the flags (FDR level when adjusted)")


class BucketOut(_Out):
    start: dt.date = Field(description="first local day of the bucket (weeks start on Monday)")
    count: int
    by_category: dict[str, int]
    coverage: Coverage = Field(description="the bucket's days against the data's span: a 0 there may be no data")


class TrendOut(_Out):
    scope: ScopeOut
    window: WindowOut
    bucket: BucketName
    categories: list[str]
    total: int
    series: list[BucketOut]
    data_span: SpanOut | None = Field(description="the days the scope's source (its county, or all) has data")


class ZeroCommunityOut(_Out):
    code: str
    name: str
    town_code: str | None
    town_name: str | None
    county_code: str | None
    county_name: str | None


class ZeroIncidentOut(_Out):
    scope: ScopeOut
    window: WindowOut
    categories: list[str] = Field(description="the categories judged (default: preventable, property)")
    total_communities: int = Field(description="villages/communities under the scope")
    count: int = Field(description="of which had no incident of the categories in the range (零发案)")
    communities: list[ZeroCommunityOut]


class GridCountOut(_Out):
    rank: int
    grid_code: str
    grid_name: str | None
    community_code: str | None
    community_name: str | None
    town_code: str | None
    town_name: str | None
    county_code: str | None
    households: int | None
    count: int
    rate_per_1000_households: float | None = Field(description="null when households are unknown or 0")


class TopGridsOut(_Out):
    scope: ScopeOut
    window: WindowOut
    categories: list[str]
    boundaries: Boundaries
    grids: list[GridCountOut]


class UnitChangeOut(ChangeOut):
    code: str
    name: str | None
    parent_code: str | None
    households: int | None
    rate_per_1000_households: float | None = Field(description="current count per 1,000 households")


class BreakdownOut(_Out):
    scope: ScopeOut
    level: ChildLevel
    current: ComparedWindowOut
    previous: PreviousWindowOut
    categories: list[str]
    boundaries: Boundaries
    total: ChangeOut = Field(description="the whole scope")
    units: list[UnitChangeOut] = Field(description="each unit's change BH-adjusted with the others'")


class FunnelRowOut(_Out):
    code: str | None
    name: str | None
    logged: int = Field(description="disputes that occurred in the range")
    mediated: int = Field(description="mediated_at set, or status mediated/resolved/closed")
    resolved: int = Field(description="resolved_at set, or status resolved/closed")
    mediated_pct: float | None = Field(description="mediated / logged × 100; null when none logged")
    resolved_pct: float | None = Field(description="resolved / logged × 100; null when none logged")


class DisputeFunnelOut(_Out):
    scope: ScopeOut
    window: WindowOut
    level: ChildLevel
    total: FunnelRowOut
    units: list[FunnelRowOut]


class CategorySpanOut(SpanOut):
    category: str


class CoverageOut(_Out):
    """The span of days a scope's data cover (its county's, or all counties' for the city), per category too."""

    scope: ScopeOut
    data_span: SpanOut | None = Field(description="first to last day with any incident of the scope's source")
    by_category: list[CategorySpanOut] = Field(
        description="city-wide, for information: a category falling to zero is a change, not missing data"
    )
    window: ComparedWindowOut | None = Field(description="the asked window's coverage, when start/end are given")
