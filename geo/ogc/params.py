"""Typed parsing of OGC request parameters: datetime intervals, property values and CRS names."""

from __future__ import annotations

import datetime as dt
import re

from geo.errors import InvalidInput
from geo.ogc.collections import CRS84, Property

Interval = tuple[dt.datetime | None, dt.datetime | None]

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
# EPSG:4326 proper is lat/lon order; accepting it while reading lon/lat would silently swap axes.
_ACCEPTED_CRS = {CRS84, "OGC:CRS84"}


def parse_instant(raw: str, field: str, end_of_day: bool = False) -> dt.datetime:
    """An RFC 3339 date-time (a zone-less one is UTC) or a full date (a UTC day; its end when end_of_day)."""
    value = raw.strip()
    try:
        if _DATE.match(value):
            day = dt.datetime.fromisoformat(value).replace(tzinfo=dt.UTC)
            return day + dt.timedelta(days=1) - dt.timedelta(microseconds=1) if end_of_day else day
        stamp = dt.datetime.fromisoformat(value.replace("z", "Z").replace("Z", "+00:00"))
    except ValueError as exc:
        raise InvalidInput(
            f"{field}: {raw!r} is not an RFC 3339 date-time (e.g. 2024-05-01T08:00:00+08:00) or date (2024-05-01)",
            field=field,
        ) from exc
    return stamp if stamp.tzinfo else stamp.replace(tzinfo=dt.UTC)


def parse_datetime(raw: str | None) -> Interval | None:
    """`datetime=` as a closed interval: an instant, a date (that whole UTC day), or start/end with '..' open."""
    if raw is None or raw.strip() == "":
        return None
    if "/" not in raw:
        if _DATE.match(raw.strip()):
            return parse_instant(raw, "datetime"), parse_instant(raw, "datetime", end_of_day=True)
        instant = parse_instant(raw, "datetime")
        return instant, instant
    parts = raw.split("/")
    if len(parts) != 2:
        raise InvalidInput(f"datetime: {raw!r} has more than one '/'", field="datetime")
    start_raw, end_raw = (p.strip() for p in parts)
    start = None if start_raw in ("", "..") else parse_instant(start_raw, "datetime")
    end = None if end_raw in ("", "..") else parse_instant(end_raw, "datetime", end_of_day=True)
    if start is None and end is None:
        raise InvalidInput(
            "datetime: an interval needs at least one bound ('../..' is not allowed)", field="datetime"
        )
    if start and end and start > end:
        raise InvalidInput(f"datetime: the start {start_raw} is after the end {end_raw}", field="datetime")
    return start, end


def coerce(prop: Property, raw: str, field: str) -> object:
    """A query-string value converted to the property's type, or InvalidInput naming the field."""
    try:
        if prop.kind == "integer":
            return int(raw)
        if prop.kind == "number":
            value = float(raw)
            if value != value or abs(value) == float("inf"):
                raise ValueError(raw)
            return value
        if prop.kind == "boolean":
            low = raw.strip().lower()
            if low not in ("true", "false"):
                raise ValueError(raw)
            return low == "true"
        if prop.kind == "datetime":
            return parse_instant(raw, field)
    except ValueError as exc:
        raise InvalidInput(f"{field}: {raw!r} is not a valid {prop.kind}", field=field) from exc
    if prop.enum and raw not in prop.enum:
        raise InvalidInput(f"{field}: {raw!r} is not one of {', '.join(prop.enum)}", field=field)
    return raw


def check_crs(raw: str | None, field: str) -> None:
    """Only WGS84 lon/lat is accepted for bbox-crs and filter-crs."""
    if raw is not None and raw.strip() not in _ACCEPTED_CRS:
        raise InvalidInput(f"{field}: only {CRS84} (WGS84 lon/lat) is supported; got {raw!r}", field=field)
