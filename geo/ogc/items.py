"""Items of a collection as GeoJSON made by PostGIS: bbox, datetime, property and CQL2 filters, paging."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from geo.area import Area
from geo.errors import InvalidInput
from geo.ogc import cql2_sql
from geo.ogc.collections import Collection
from geo.ogc.params import Interval, coerce


@dataclass
class ItemsQuery:
    """Everything that selects features; all values are already typed and bounded by the caller."""

    limit: int = 100
    offset: int = 0
    bbox: tuple[float, float, float, float] | None = None
    datetime: Interval | None = None
    properties: dict[str, str] = field(default_factory=dict)
    filter: str | None = None


def where(coll: Collection, q: ItemsQuery, params: dict[str, Any]) -> str:
    """The WHERE condition (on alias t) for q, with its values added to params."""
    conds = [coll.base_where]
    if q.bbox is not None:
        # The same predicate tipg uses (ST_Intersects, not just &&), so counts compare one to one.
        conds.append("ST_Intersects(t.geom, ST_MakeEnvelope(:bx1, :by1, :bx2, :by2, 4326))")
        params.update(bx1=q.bbox[0], by1=q.bbox[1], bx2=q.bbox[2], by2=q.bbox[3])
    if q.datetime is not None:
        if coll.temporal is None:
            raise InvalidInput(f"datetime: collection {coll.id} has no temporal property", field="datetime")
        start, end = q.datetime
        if start is not None:
            conds.append(f"t.{coll.temporal} >= :dt_start")
            params["dt_start"] = start
        if end is not None:
            conds.append(f"t.{coll.temporal} <= :dt_end")
            params["dt_end"] = end
    for i, (name, raw) in enumerate(sorted(q.properties.items())):
        prop = coll.prop(name)
        assert prop is not None, "the router admits only queryable names"
        conds.append(f"t.{prop.name} = :pv{i}")
        params[f"pv{i}"] = coerce(prop, raw, name)
    if q.filter:
        conds.append(cql2_sql.to_sql(coll, q.filter, params))
    return " AND ".join(conds)


def _feature_json(coll: Collection) -> str:
    return (
        "json_build_object('type', 'Feature', 'id', t.{id}, 'geometry', ST_AsGeoJSON(t.geom, 7)::json, "
        "'properties', json_build_object({props}))"
    ).format(id=coll.id_column, props=", ".join(f"'{p.name}', t.{p.name}" for p in coll.properties))


def items(session: Session, coll: Collection, q: ItemsQuery, area: Area) -> tuple[int, int, str]:
    """(numberMatched, numberReturned, JSON array of Features) of the area's features, one page, one round trip."""
    inside, params = area.where(coll.table, "t")
    params.update(limit=q.limit, offset=q.offset)
    cond = f"{inside} AND {where(coll, q, params)}"
    sql = f"""
        WITH page AS (
            SELECT {coll.column_list}, t.geom FROM {coll.table} t
            WHERE {cond} ORDER BY t.{coll.id_column} LIMIT :limit OFFSET :offset
        )
        SELECT (SELECT count(*) FROM {coll.table} t WHERE {cond}),
               (SELECT count(*) FROM page),
               (SELECT coalesce(json_agg({_feature_json(coll)} ORDER BY t.{coll.id_column}), '[]'::json)::text
                FROM page t)
    """
    # Serial plans, as for tiles: concurrent requests, not parallel workers, should use the cores.
    session.execute(text("SET LOCAL max_parallel_workers_per_gather = 0"))
    matched, returned, features = session.execute(text(sql), params).one()
    return int(matched), int(returned), features


def item(session: Session, coll: Collection, fid: str, area: Area) -> tuple[str, dict[str, Any]] | None:
    """(Feature JSON, its properties) for one id, or None when there is no such (current) feature in the area."""
    key: Any = fid
    if coll.id_kind == "integer":
        if not fid.lstrip("-").isdigit() or len(fid) > 18:
            return None
        key = int(fid)
    inside, params = area.where(coll.table, "t")
    row = session.execute(
        text(
            f"SELECT {_feature_json(coll)}::text, {coll.column_list} FROM {coll.table} t "
            f"WHERE {coll.base_where} AND {inside} AND t.{coll.id_column} = :fid"
        ),
        {"fid": key, **params},
    ).one_or_none()
    if row is None:
        return None
    return row[0], dict(row._mapping)
