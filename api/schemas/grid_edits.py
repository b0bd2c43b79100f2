"""Request bodies of the grid-editing endpoints (GeoJSON geometries are checked by geo.editing)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Geometry = dict[str, Any]
# Properties a client may send back from a GET that editing ignores (derived or managed by the server).
READ_ONLY = {
    "code",
    "version",
    "status",
    "community_name",
    "town_code",
    "synthetic",
    "created_at",
    "updated_at",
    "area_m2",
}


class GridProperties(BaseModel):
    """A grid's editable attributes (read-only ones from a GET are accepted and ignored)."""

    model_config = ConfigDict(extra="ignore")
    code: str | None = Field(default=None, max_length=15, description="15 digits: community code + 3")
    name: str | None = Field(default=None, max_length=200, description="网格名称 grid name")
    community_code: str | None = Field(default=None, max_length=12)
    grid_worker: str | None = Field(default=None, max_length=200, description="网格员 grid worker")
    grid_worker_phone: str | None = Field(default=None, max_length=50)
    households: int | None = Field(default=None, ge=0, le=2_147_483_647)
    population: int | None = Field(default=None, ge=0, le=2_147_483_647)


class GridFeature(BaseModel):
    """A whole grid as a GeoJSON Feature (POST creates, PUT replaces)."""

    type: Literal["Feature"] = "Feature"
    id: str | None = Field(default=None, max_length=15)
    geometry: Geometry
    properties: GridProperties = Field(default_factory=GridProperties)


class GridPatch(BaseModel):
    """Part of a grid: a new geometry and/or some properties; what is left out stays."""

    type: Literal["Feature"] = "Feature"
    geometry: Geometry | None = None
    properties: dict[str, Any] = Field(default_factory=dict)


class RevertBody(BaseModel):
    version: int = Field(ge=1, description="the version to make current again")


class SplitBody(BaseModel):
    line: Geometry = Field(description="GeoJSON LineString crossing the grid from edge to edge")
    new_codes: list[str] | None = Field(
        default=None, description="codes of the new pieces (default: the next free ones)"
    )
    names: list[str] | None = None


class MergeBody(BaseModel):
    codes: list[str] = Field(min_length=2, max_length=50)
    keep: str | None = Field(default=None, description="the grid that takes the union (default: the first)")
    versions: dict[str, int] = Field(default_factory=dict, description="each grid's ETag version")


class BoundaryBody(BaseModel):
    a: str = Field(max_length=15)
    b: str = Field(max_length=15)
    line: Geometry | None = Field(default=None, description="the new shared boundary, crossing both grids")
    geometries: dict[str, Geometry] | None = Field(default=None, description="or the two new shapes, by code")
    versions: dict[str, int] = Field(default_factory=dict, description="each grid's ETag version")
