"""GeoJSON output built by PostGIS (ST_AsGeoJSON), returned as text so Python never re-encodes it."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from geo.errors import InvalidInput


def parse_bbox(raw: str | None) -> tuple[float, float, float, float] | None:
    """'minlon,minlat,maxlon,maxlat' → floats, with a clear error naming what is wrong."""
    if raw is None or raw == "":
        return None
    parts = raw.split(",")
    if len(parts) != 4:
        raise InvalidInput(f"bbox needs 4 numbers minlon,minlat,maxlon,maxlat; got {len(parts)}", field="bbox")
    try:
        x1, y1, x2, y2 = (float(p) for p in parts)
    except ValueError as exc:
        raise InvalidInput(f"bbox has a value that is not a number: {raw!r}", field="bbox") from exc
    if not all(map(lambda v: v == v and abs(v) != float("inf"), (x1, y1, x2, y2))):
        raise InvalidInput("bbox values must be finite numbers", field="bbox")
    if not (-180 <= x1 <= x2 <= 180 and -90 <= y1 <= y2 <= 90):
        raise InvalidInput(
            f"bbox {raw} is not minlon<=maxlon within ±180, minlat<=maxlat within ±90 (lon,lat order)",
            field="bbox",
        )
    return x1, y1, x2, y2


def features_sql(select_sql: str, id_column: str) -> str:
    """SQL yielding one JSON array of Features for the rows of select_sql (its geometry column is geom)."""
    return f"""
        SELECT coalesce(json_agg(json_build_object(
            'type', 'Feature',
            'id', t.{id_column},
            'geometry', ST_AsGeoJSON(t.geom, 7)::json,
            'properties', to_jsonb(t) - 'geom'
        )), '[]'::json)::text
        FROM ({select_sql}) t
    """


def feature_collection(
    session: Session, select_sql: str, params: dict[str, Any], id_column: str, extra: dict[str, Any] | None = None
) -> str:
    """A FeatureCollection JSON string: features made by PostGIS, foreign members (extra) by Python."""
    features = session.execute(text(features_sql(select_sql, id_column)), params).scalar_one()
    tail = json.dumps(extra or {}, ensure_ascii=False, default=str)[1:-1]
    return '{"type": "FeatureCollection", "features": ' + features + (", " + tail if tail else "") + "}"


@dataclass(frozen=True)
class Page:
    """One page of a list: its Features (a JSON array PostGIS built), the rows matching, and where it starts."""

    features: str
    matched: int
    limit: int
    offset: int

    @property
    def returned(self) -> int:
        return min(self.limit, max(0, self.matched - self.offset))

    @property
    def next_offset(self) -> int | None:
        """Where the next page starts, or None on the last one."""
        return self.offset + self.limit if self.offset + self.limit < self.matched else None

    def body(self) -> str:
        """The page as a GeoJSON FeatureCollection with numberMatched and numberReturned."""
        counts = f'"numberMatched": {self.matched}, "numberReturned": {self.returned}'
        return '{"type": "FeatureCollection", "features": ' + self.features + ", " + counts + "}"


def feature_page(
    session: Session,
    select_sql: str,
    params: dict[str, Any],
    id_column: str,
    matched: int,
    limit: int,
    offset: int,
) -> Page:
    """The page of select_sql's rows (it binds :limit and :offset itself) as a Page."""
    features = session.execute(text(features_sql(select_sql, id_column)), params).scalar_one()
    return Page(features, matched, limit, offset)
