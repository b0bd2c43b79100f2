"""The published layers, once: what OGC API collections, vector tiles and the edit events are made of.

Each layer is a table with a geometry; OGC items add their property allowlists (geo/ogc/collections.py) and
tiles the few columns a map needs (geo/tiles/render.py), but the name, title, table, id, geometry type, time
column and which rows exist for clients are stated here and nowhere else. The tile cache's listener drops
every layer named here after a lost connection (geo/pg/listener.py).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Layer:
    name: str  # the collection id, tile layer name and edit-event layer
    title: str
    description: str
    table: str
    id_column: str
    id_kind: str  # string or integer
    geometry_type: str
    temporal: str | None = None  # the column a time filter applies to
    live: str = "TRUE"  # rows that exist for clients, on alias {a} (retired grids do not)

    def live_on(self, alias: str) -> str:
        return self.live.format(a=alias)


LAYERS: dict[str, Layer] = {
    layer.name: layer
    for layer in (
        Layer("admin_units", "行政区划 Administrative units",
              "市、县/区、镇/街道、村/社区 City, county/district, town/street and village/community polygons",
              "admin_units", "code", "string", "MultiPolygon"),
        Layer("grids", "全要素网格 Integrated grids",
              "现行网格（已撤销的不在此列） The current integrated grids (retired grids are not listed)",
              "grids", "code", "string", "MultiPolygon", "updated_at", "{a}.status = 'active'"),
        Layer("compounds", "老旧小区 Old residential compounds",
              "老旧小区及其整治与微治理状态 Old compounds with renovation and micro-governance state",
              "compounds", "id", "integer", "Polygon", "updated_at"),
        Layer("incidents", "事件 Incidents",
              "上报的事件（按发生时间） Reported incidents; datetime filters on occurred_at",
              "incidents", "id", "integer", "Point", "occurred_at"),
        Layer("patrol_routes", "巡逻路线 Patrol routes",
              "社区民警的巡逻路线 Planned patrol routes of community police",
              "patrol_routes", "id", "integer", "LineString", "updated_at"),
    )
}  # fmt: skip
