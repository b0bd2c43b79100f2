"""Mapbox vector tiles made by PostGIS (ST_AsMVT): only the columns a map needs, simplified per zoom.

Incidents below zoom 13 are square bins (16×16 per tile) with a count, not points: a city-wide tile
of years of points is megabytes nobody can read. Every layer caps a tile at 10,000 features (as tipg
does) and selects with ST_Intersects against the tile's lon/lat envelope (tipg's predicate too).
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from geo import vocab
from geo.area import CITY, Area
from geo.errors import InvalidInput, NotFound
from geo.layers import LAYERS as PUBLISHED
from geo.localtime import LOCAL_TZ_NAME
from geo.ogc.params import parse_datetime
from geo.tiles.cache import tile_bounds

EXTENT = 4096
BUFFER = 64  # matches geo.tiles.cache.BUFFER_SHARE
MAX_FEATURES = 10_000
MAX_ZOOM = 22
INCIDENT_POINTS_FROM_ZOOM = 13
BINS_PER_SIDE = 16
SIMPLIFY_UNITS = 4


@dataclass(frozen=True)
class TileLayer:
    name: str
    title: str
    table: str
    columns: str  # the properties, as SQL on alias g
    fields: dict[str, str]  # TileJSON field descriptions
    fid: str | None = None  # integer feature id column
    where: str = "TRUE"
    simplify: bool = True
    order: str = "g.id"

    @classmethod
    def of(cls, name: str, columns: str, fields: dict[str, str], where: str = "TRUE", **kw: Any) -> TileLayer:
        """The tile layer of a published layer (geo/layers.py): its title, table and live rows from there."""
        layer = PUBLISHED[name]
        live = layer.live_on("g")
        return cls(name, layer.title, layer.table, columns, fields, where=f"({live}) AND ({where})", **kw)


LAYERS: dict[str, TileLayer] = {
    layer.name: layer
    for layer in (
        TileLayer.of("admin_units",
                     "g.code, g.name, g.level, g.parent_code",
                     {"code": "区划代码 code", "name": "名称 name", "level": "city/county/town/community",
                      "parent_code": "上级代码 parent code"},
                     where="g.level = ANY(:levels)", order="g.code"),
        TileLayer.of("grids",
                     "g.code, g.name, g.community_code, g.households, g.population, g.version",
                     {"code": "网格编码 grid code", "name": "网格名称 name", "community_code": "村/社区 community",
                      "households": "户数 households", "population": "人口 population", "version": "版本 version"},
                     order="g.code"),
        TileLayer.of("compounds",
                     "g.name, g.category, g.renovation_status, g.households",
                     {"name": "小区名称 name", "category": "three_no/other",
                      "renovation_status": "整治状态 renovation status", "households": "户数 households"}, fid="id"),
        TileLayer.of("incidents",
                     f"g.category, g.status, to_char(g.occurred_at AT TIME ZONE '{LOCAL_TZ_NAME}', 'YYYY-MM-DD') "
                     "AS occurred_on",
                     {"category": "类别 category", "status": "状态 status", "occurred_on": "发生日期（北京时间） local date",
                      "count": f"z<{INCIDENT_POINTS_FROM_ZOOM}: 该格事件数 incidents in the bin"},
                     fid="id", simplify=False),
        TileLayer.of("patrol_routes",
                     "g.name, g.officer_id, g.community_code, g.shift, g.mode",
                     {"name": "路线名称 name", "officer_id": "民警 officer id", "community_code": "村/社区 community",
                      "shift": "班次 shift", "mode": "walk/drive"}, fid="id"),
    )
}  # fmt: skip


@dataclass(frozen=True)
class TileFilter:
    """Optional incident filters; variant() is its cache-key form."""

    category: str | None = None
    start: dt.datetime | None = None
    end: dt.datetime | None = None

    @classmethod
    def parse(cls, layer: str, category: str | None, datetime: str | None) -> TileFilter:
        """The filter a tile request asks for: only incidents filter, by one category and an OGC datetime."""
        if category is None and datetime is None:
            return cls()
        if layer != "incidents":
            raise InvalidInput("category and datetime filter only the incidents layer", field="layer")
        key = vocab.word(category, vocab.INCIDENT_CATEGORIES, "category") if category is not None else None
        start, end = parse_datetime(datetime) or (None, None)
        return cls(key, start, end)

    def variant(self) -> str:
        parts = [f"category={self.category}" if self.category else "",
                 f"start={self.start.isoformat()}" if self.start else "",
                 f"end={self.end.isoformat()}" if self.end else ""]  # fmt: skip
        return "&".join(p for p in parts if p)


def admin_levels(z: int) -> list[str]:
    """Which admin levels a tile at zoom z shows: finer levels appear as the map zooms in."""
    levels = ["city", "county"]
    if z >= 8:
        levels.append("town")
    if z >= 11:
        levels.append("community")
    return levels


def check_tile(layer: str, z: int, x: int, y: int) -> TileLayer:
    """The layer definition, or NotFound/InvalidInput naming what is out of range."""
    spec = LAYERS.get(layer)
    if spec is None:
        raise NotFound(f"no tile layer {layer!r}; layers: {', '.join(LAYERS)}", field="layer")
    if not 0 <= z <= MAX_ZOOM:
        raise InvalidInput(f"z={z} is outside 0..{MAX_ZOOM}", field="z")
    if not (0 <= x < 2**z and 0 <= y < 2**z):
        raise InvalidInput(f"tile {z}/{x}/{y} does not exist: x and y must be in 0..{2**z - 1}", field="x/y")
    return spec


def _filters(layer: str, flt: TileFilter, params: dict[str, Any]) -> str:
    if layer != "incidents":
        return ""
    conds = []
    if flt.category:
        conds.append("g.category = :category")
        params["category"] = flt.category
    if flt.start:
        conds.append("g.occurred_at >= :start")
        params["start"] = flt.start
    if flt.end:
        conds.append("g.occurred_at <= :end")
        params["end"] = flt.end
    return "".join(f" AND {c}" for c in conds)


def _features_sql(spec: TileLayer, extra_where: str) -> str:
    geom = "ST_Simplify(g.geom, :tol, true)" if spec.simplify else "g.geom"
    fid = f"g.{spec.fid} AS fid, " if spec.fid else ""
    return f"""
        WITH t AS (
            SELECT {fid}{spec.columns},
                   ST_AsMVTGeom(ST_Transform({geom}, 3857), ST_TileEnvelope(:z, :x, :y), {EXTENT}, {BUFFER}, true)
                       AS geom
            FROM {spec.table} g
            WHERE {spec.where}{extra_where} AND ST_Intersects(g.geom, ST_MakeEnvelope(:w, :s, :e, :n, 4326))
            ORDER BY {spec.order} LIMIT {MAX_FEATURES}
        )
        SELECT ST_AsMVT(t.*, :layer, {EXTENT}, 'geom'{", 'fid'" if spec.fid else ""}) FROM t WHERE t.geom IS NOT NULL
    """


def _points_sql(spec: TileLayer, extra_where: str) -> str:
    # Points need no clipping: their tile coordinates are the Web Mercator formula evaluated directly, the
    # same integers ST_AsMVTGeom(ST_Transform(geom, 3857), …) yields, at a fraction of the cost.
    return f"""
        WITH t AS (
            SELECT g.{spec.fid} AS fid, {spec.columns},
                   ST_MakePoint(round((ST_X(g.geom) - :w) * :kx),
                                round((:merc_n - ln(tan(pi() / 4 + radians(ST_Y(g.geom)) / 2))) * :ky)) AS geom
            FROM {spec.table} g
            WHERE {spec.where}{extra_where} AND ST_Intersects(g.geom, ST_MakeEnvelope(:w, :s, :e, :n, 4326))
            ORDER BY {spec.order} LIMIT {MAX_FEATURES}
        )
        SELECT ST_AsMVT(t.*, :layer, {EXTENT}, 'geom', 'fid') FROM t
    """


def _merc(lat: float) -> float:
    return math.log(math.tan(math.pi / 4 + math.radians(lat) / 2))


def _bins_sql(extra_where: str) -> str:
    # Half-open bounds so that a point on a tile edge is counted in exactly one tile.
    return f"""
        WITH pts AS (
            SELECT ST_X(g.geom) AS lon, ST_Y(g.geom) AS lat FROM incidents g
            WHERE g.geom && ST_MakeEnvelope(:w, :s, :e, :n, 4326){extra_where}
              AND ST_X(g.geom) < :e AND ST_Y(g.geom) > :s
        ), bins AS (
            SELECT count(*) AS count, avg(lon) AS lon, avg(lat) AS lat FROM pts
            GROUP BY floor((lon - :w) / :dx), floor((:n - lat) / :dy)
        ), t AS (
            SELECT count, ST_AsMVTGeom(ST_Transform(ST_SetSRID(ST_MakePoint(lon, lat), 4326), 3857),
                                       ST_TileEnvelope(:z, :x, :y), {EXTENT}, {BUFFER}, true) AS geom
            FROM bins
        )
        SELECT ST_AsMVT(t.*, :layer, {EXTENT}, 'geom') FROM t WHERE t.geom IS NOT NULL
    """


def scoped_variant(variant: str, area: Area) -> str:
    """The cache key's variant for a caller: tiles below the city are cached per area (never shared)."""
    return variant if area.is_city else f"{variant}@{area.code}"


def render_tile(
    session: Session, layer: str, z: int, x: int, y: int, flt: TileFilter | None = None, area: Area = CITY
) -> bytes:
    """One MVT tile of layer at z/x/y with only the area's features (empty bytes when nothing is there)."""
    spec = check_tile(layer, z, x, y)
    w, s, e, n = tile_bounds(z, x, y)
    params: dict[str, Any] = {"z": z, "x": x, "y": y, "w": w, "s": s, "e": e, "n": n, "layer": spec.name}
    # A quarter of a screen pixel of a 256-px tile (4 of 4096 units) in degrees: finer detail cannot show, and
    # dropping it before ST_Transform makes low-zoom tiles 2–3× cheaper to render.
    params["tol"] = SIMPLIFY_UNITS * (e - w) / EXTENT
    if layer == "admin_units":
        params["levels"] = admin_levels(z)
    extra = _filters(layer, flt or TileFilter(), params)
    inside, bound = area.where(spec.table, "g")
    if not area.is_city:
        extra += f" AND {inside}"
        params.update(bound)
    if layer == "incidents" and z < INCIDENT_POINTS_FROM_ZOOM:
        params.update(dx=(e - w) / BINS_PER_SIDE, dy=(n - s) / BINS_PER_SIDE)
        sql = _bins_sql(extra)
    elif layer == "incidents":
        params.update(kx=EXTENT / (e - w), merc_n=_merc(n), ky=EXTENT / (_merc(n) - _merc(s)))
        sql = _points_sql(spec, extra)
    else:
        sql = _features_sql(spec, extra)
    # Serial plans: with many tiles in flight, parallel workers per tile only fight over the same cores
    # (measured here: 8 concurrent point tiles ran ~1.5× faster serial than with 2 workers each).
    session.execute(text("SET LOCAL max_parallel_workers_per_gather = 0"))
    data = session.execute(text(sql), params).scalar_one()
    return bytes(data) if data is not None else b""


def tilejson(spec: TileLayer, tile_url: str, bounds: list[float] | None) -> dict[str, Any]:
    """A TileJSON 3.0 document for one layer (MapLibre and Leaflet.VectorGrid read it)."""
    return {
        "tilejson": "3.0.0",
        "name": spec.name,
        "description": spec.title,
        "tiles": [tile_url],
        "minzoom": 0,
        "maxzoom": MAX_ZOOM,
        "bounds": bounds or [-180, -85.0511, 180, 85.0511],
        "vector_layers": [{"id": spec.name, "description": spec.title, "fields": spec.fields}],
    }
