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


class _Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class ScopeOut(_Out):
    code: str = Field(description="admin unit or grid code")
    level: Level
    name: str


class WindowOut(_Out):
    start: dt.date = Field(description="first local day (Asia/Shanghai), inclusive")
    end: dt.date = Field(description="local day after the last one, exclusive")


class PreviousWindowOut(WindowOut):
    mode: PreviousMode = Field(description="prior: same length just before; yoy: same dates a year earlier")


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
    current: int
    previous: int
    difference: int = Field(description="current − previous")
    percent_change: float | None = Field(description="(C − P) / P × 100, rounded to 0.01; null when P = 0")
    z_score: float = Field(description="Poisson z-score 2(√C − √P), rounded to 0.001")
    significant: bool = Field(description="|z| > 3")


class CategoryChangeOut(ChangeOut):
    category: str
    label_zh: str
    label_en: str


class ComparisonOut(_Out):
    scope: ScopeOut
    current: WindowOut
    previous: PreviousWindowOut
    categories: list[str]
    total: ChangeOut
    by_category: list[CategoryChangeOut]


class BucketOut(_Out):
    start: dt.date = Field(description="first local day of the bucket (weeks start on Monday)")
    count: int
    by_category: dict[str, int]


class TrendOut(_Out):
    scope: ScopeOut
    window: WindowOut
    bucket: BucketName
    categories: list[str]
    total: int
    series: list[BucketOut]


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
    current: WindowOut
    previous: PreviousWindowOut
    categories: list[str]
    boundaries: Boundaries
    total: ChangeOut = Field(description="the whole scope")
    units: list[UnitChangeOut]


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
