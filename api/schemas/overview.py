"""Response model of GET /api/v1/stats: the area's headline figures for a period."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, Field

from api.schemas.stats import ComparisonOut, DisputeFunnelOut, ScopeOut, ZeroIncidentOut


class HoldingsOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    grids: int = Field(description="active grids (全要素网格) in the area")
    compounds: int = Field(description="old residential compounds (老旧小区) in the area")
    three_no_compounds: int = Field(description="of which 三无小区")
    renovated_compounds: int = Field(description="of which renovated (已整治)")


class OverviewOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    scope: ScopeOut
    start: dt.date = Field(description="first local day, inclusive")
    end: dt.date = Field(description="local day after the last one, exclusive")
    holdings: HoldingsOut
    year_over_year: ComparisonOut = Field(description="by category against the same dates a year earlier")
    zero_incident: ZeroIncidentOut | None = Field(description="零发案 communities; null for a grid")
    disputes: DisputeFunnelOut | None = Field(description="矛盾纠纷 logged → mediated → resolved; null for a grid")
