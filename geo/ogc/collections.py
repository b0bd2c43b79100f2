"""The published layers (geo/layers.py) as OGC API – Features collections: their property allowlists.

Every column name that reaches SQL comes from these definitions, never from a request. Properties not
listed here (phone numbers, free-text descriptions, JSON blobs) are not served.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from geo import vocab
from geo.area import Area
from geo.layers import LAYERS, Layer

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
EPSG4326 = "http://www.opengis.net/def/crs/EPSG/0/4326"


@dataclass(frozen=True)
class Property:
    name: str
    kind: str  # string, integer, number, boolean, datetime
    title: str
    enum: tuple[str, ...] | None = None


@dataclass(frozen=True)
class Collection(Layer):
    """A published layer (geo/layers.py) with the properties OGC API serves of it (its queryables)."""

    properties: tuple[Property, ...] = ()

    @property
    def id(self) -> str:
        return self.name

    @property
    def base_where(self) -> str:
        """Rows that exist for OGC clients (retired grids do not), on alias t."""
        return self.live_on("t")

    def prop(self, name: str) -> Property | None:
        return next((p for p in self.properties if p.name == name), None)

    @property
    def column_list(self) -> str:
        return ", ".join(f"t.{p.name}" for p in self.properties)


def _p(name: str, kind: str, zh: str, en: str, enum: dict | None = None) -> Property:
    return Property(name, kind, f"{zh} {en}", tuple(enum) if enum else None)


_ADMIN = (
    _p("code", "string", "区划代码", "Division code"),
    _p("name", "string", "名称", "Name"),
    _p("name_en", "string", "英文名", "English name"),
    _p("level", "string", "层级", "Level", vocab.ADMIN_LEVELS),
    _p("parent_code", "string", "上级代码", "Parent code"),
    _p("urban", "boolean", "城区", "Urban"),
    _p("households", "integer", "户数", "Households"),
    _p("population", "integer", "人口", "Population"),
    _p("synthetic", "boolean", "合成数据", "Synthetic"),
)
_GRIDS = (
    _p("code", "string", "网格编码", "Grid code"),
    _p("name", "string", "网格名称", "Grid name"),
    _p("community_code", "string", "村/社区代码", "Community code"),
    _p("grid_worker", "string", "网格员", "Grid worker"),
    _p("households", "integer", "户数", "Households"),
    _p("population", "integer", "人口", "Population"),
    _p("status", "string", "状态", "Status", {"active": 1, "retired": 1}),
    _p("version", "integer", "版本", "Version"),
    _p("synthetic", "boolean", "合成数据", "Synthetic"),
    _p("updated_at", "datetime", "更新时间", "Updated at"),
)
_COMPOUNDS = (
    _p("id", "integer", "编号", "Id"),
    _p("external_id", "string", "外部编号", "External id"),
    _p("name", "string", "小区名称", "Compound name"),
    _p("address", "string", "地址", "Address"),
    _p("buildings", "integer", "楼栋数", "Buildings"),
    _p("households", "integer", "户数", "Households"),
    _p("built_year", "integer", "建成年份", "Year built"),
    _p("category", "string", "类别", "Category", vocab.COMPOUND_CATEGORIES),
    _p("renovation_status", "string", "整治状态", "Renovation status", vocab.RENOVATION_STATUSES),
    _p("renovated_year", "integer", "整治年份", "Year renovated"),
    _p("party_group", "boolean", "党小组", "Party group"),
    _p("self_management_group", "boolean", "自管小组", "Self-management group"),
    _p("residents_council", "boolean", "居民议事会", "Residents' council"),
    _p("grid_code", "string", "网格编码", "Grid code"),
    _p("community_code", "string", "村/社区代码", "Community code"),
    _p("synthetic", "boolean", "合成数据", "Synthetic"),
    _p("updated_at", "datetime", "更新时间", "Updated at"),
)
_INCIDENTS = (
    _p("id", "integer", "编号", "Id"),
    _p("external_id", "string", "外部编号", "External id"),
    _p("category", "string", "类别", "Category", vocab.INCIDENT_CATEGORIES),
    _p("subcategory", "string", "子类", "Subcategory"),
    _p("status", "string", "状态", "Status", vocab.INCIDENT_STATUSES),
    _p("occurred_at", "datetime", "发生时间", "Occurred at"),
    _p("reported_at", "datetime", "上报时间", "Reported at"),
    _p("resolved_at", "datetime", "化解时间", "Resolved at"),
    _p("grid_code", "string", "网格编码", "Grid code"),
    _p("community_code", "string", "村/社区代码", "Community code"),
    _p("town_code", "string", "镇/街道代码", "Town code"),
    _p("county_code", "string", "县/区代码", "County code"),
    _p("compound_id", "integer", "小区编号", "Compound id"),
    _p("outside_jurisdiction", "boolean", "辖区外", "Outside jurisdiction"),
    _p("synthetic", "boolean", "合成数据", "Synthetic"),
)
_PATROLS = (
    _p("id", "integer", "编号", "Id"),
    _p("name", "string", "路线名称", "Route name"),
    _p("officer_id", "integer", "民警编号", "Officer id"),
    _p("community_code", "string", "村/社区代码", "Community code"),
    _p("shift", "string", "班次", "Shift", vocab.SHIFTS),
    _p("mode", "string", "方式", "Mode", vocab.PATROL_MODES),
    _p("version", "integer", "版本", "Version"),
    _p("synthetic", "boolean", "合成数据", "Synthetic"),
    _p("updated_at", "datetime", "更新时间", "Updated at"),
)

_PROPERTIES = {
    "admin_units": _ADMIN,
    "grids": _GRIDS,
    "compounds": _COMPOUNDS,
    "incidents": _INCIDENTS,
    "patrol_routes": _PATROLS,
}


def _collection(layer: Layer) -> Collection:
    """A published layer (geo/layers.py) with its property allowlist, as OGC API serves it."""
    return Collection(
        **{f.name: getattr(layer, f.name) for f in fields(Layer)}, properties=_PROPERTIES[layer.name]
    )


COLLECTIONS: dict[str, Collection] = {name: _collection(layer) for name, layer in LAYERS.items()}


def queryables(coll: Collection, self_url: str) -> dict[str, Any]:
    """The collection's queryables as a JSON Schema (OGC API – Features Part 3)."""
    props: dict[str, Any] = {
        "geometry": {"title": "几何 Geometry", "format": f"geometry-{coll.geometry_type.lower()}",
                     "x-ogc-role": "primary-geometry"},
    }  # fmt: skip
    for p in coll.properties:
        schema: dict[str, Any] = {"title": p.title}
        if p.kind == "datetime":
            schema.update(type="string", format="date-time")
        else:
            schema["type"] = p.kind
        if p.enum:
            schema["enum"] = list(p.enum)
        if p.name == coll.id_column:
            schema["x-ogc-role"] = "id"
        if p.name == coll.temporal:
            schema["x-ogc-role"] = "primary-instant"
        props[p.name] = schema
    return {
        "$schema": "https://json-schema.org/draft/2019-09/schema",
        "$id": self_url,
        "type": "object",
        "title": coll.title,
        "properties": props,
        "additionalProperties": False,
    }


def extents(session: Session, area: Area) -> dict[str, dict[str, Any]]:
    """Spatial (and temporal) extent of every collection, from planner statistics where they exist.

    Below the city, extents describe only what lies in the caller's area (the area's grids for space).
    """
    if not area.is_city:
        return _area_extents(session, area)
    out: dict[str, dict[str, Any]] = {}
    for coll in COLLECTIONS.values():
        exact = f"(SELECT ST_Extent(geom) FROM {coll.table})"
        # Millions of incidents: read the extent from ANALYZE statistics instead of scanning them all
        # (a never-analysed table falls back to the scan). The other tables are small enough to scan.
        extent_sql = (
            f"coalesce(ST_EstimatedExtent('public', '{coll.table}', 'geom'), {exact})"
            if coll.id == "incidents"
            else exact
        )
        row = session.execute(
            text(f"SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM (SELECT {extent_sql} AS e) s")
        ).one()
        extent: dict[str, Any] = {}
        if row[0] is not None:
            extent["spatial"] = {"bbox": [[round(float(v), 7) for v in row]], "crs": CRS84}
        if coll.temporal:
            lo, hi = session.execute(
                text(f"SELECT min({coll.temporal}), max({coll.temporal}) FROM {coll.table}")
            ).one()
            extent["temporal"] = _temporal(lo, hi)
        out[coll.id] = extent
    return out


def _temporal(lo: Any, hi: Any) -> dict[str, Any]:
    return {
        "interval": [[lo.isoformat() if lo else None, hi.isoformat() if hi else None]],
        "trs": "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian",
    }


def _area_extents(session: Session, area: Area) -> dict[str, dict[str, Any]]:
    inside, params = area.where("grids", "g")
    row = session.execute(
        text(
            f"SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM (SELECT ST_Extent(g.geom) AS e FROM grids g WHERE {inside}) s"
        ),
        params,
    ).one()
    out: dict[str, dict[str, Any]] = {}
    for coll in COLLECTIONS.values():
        extent: dict[str, Any] = {}
        if row[0] is not None:
            extent["spatial"] = {"bbox": [[round(float(v), 7) for v in row]], "crs": CRS84}
        if coll.temporal:
            cond, bound = area.where(coll.table, "t")
            lo, hi = session.execute(
                text(f"SELECT min(t.{coll.temporal}), max(t.{coll.temporal}) FROM {coll.table} t WHERE {cond}"),
                bound,
            ).one()
            extent["temporal"] = _temporal(lo, hi)
        out[coll.id] = extent
    return out
