"""Checking parsed incidents, every row at once: coordinates, CRS, the city's reach, vocabularies, times.

Times: ISO 8601; a time without an offset is China Standard Time (UTC+8), where the records come from.
"In the future" allows 5 minutes of clock skew. A point is "far outside the city" when it lies more than
settings.city_margin_km beyond the admin_units 'city' polygon; with no city row the check is skipped.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import shapely
from numpy.typing import NDArray
from sqlalchemy import text
from sqlalchemy.orm import Session

from geo import crs as geocrs
from geo import vocab
from geo.incidents.iso8601 import parse_utc
from geo.incidents.model import Problems, RawIncidents, column
from geo.incidents.times import (
    AFTER_OCCURRED,
    BEFORE_OCCURRED,
    IN_THE_FUTURE,
    TOO_EARLY,
    before_occurred_rows,
    early_rows,
    future_rows,
)
from geo.localtime import CST_NP
from geo.pg import direct
from geo.pg.textcols import has_offset, missing, stripped_texts

TIMES = ("occurred_at", "reported_at", "mediated_at", "resolved_at")
TEXTS = ("external_id", "subcategory", "description")
_region_cache: dict[tuple, shapely.Geometry | None] = {}


@dataclass
class IncidentRows:
    """Checked incidents ready to store: WGS84 coordinates, vocabulary indexes, UTC times, input positions."""

    index: NDArray[np.int64]
    lon: NDArray[np.float64]
    lat: NDArray[np.float64]
    category: NDArray[np.int16]
    occurred_at: NDArray[np.datetime64]
    source_crs: str
    # Only the optional columns the input provides: texts (object arrays, None = NULL), status (int16),
    # times (datetime64[us], NaT = NULL).
    optional: dict[str, NDArray[Any]] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.index)


@dataclass
class Checked:
    rows: IncidentRows
    problems: Problems
    warnings: list[dict[str, Any]]
    received: int


_CITY_ROW = direct.SQL(  # every report runs it (geo/pg/direct.py)
    "SELECT current_database(), code, xmin::text FROM admin_units WHERE level = 'city' ORDER BY code LIMIT 1"
)


def city_region(session: Session, margin_km: float) -> shapely.Geometry | None:
    """The city polygon grown by margin_km (prepared; cached until the city row changes), or None."""
    row = direct.first(session, _CITY_ROW)
    if row is None:
        return None
    key = (*row, margin_km)
    if key not in _region_cache:
        # Simplify to 100 m before buffering: the margin is tens of km, the city outline has many vertices.
        wkb = session.execute(
            text(
                f"""SELECT ST_AsBinary(ST_Transform(ST_Buffer(ST_SimplifyPreserveTopology(
                        ST_Transform(geom, {geocrs.METRIC_EPSG}), 100), :m, 'quad_segs=4'), 4326))
                    FROM admin_units WHERE code = :code"""
            ),
            {"m": margin_km * 1000.0, "code": row[1]},
        ).scalar_one()
        region = shapely.from_wkb(bytes(wkb))
        shapely.prepare(region)
        if len(_region_cache) > 16:
            _region_cache.clear()
        _region_cache[key] = region
    return _region_cache[key]


def _vocab_lookup(words: vocab.Words) -> dict[str, int]:
    """Every accepted spelling (geo.vocab.spellings) → the key's index, as stored."""
    keys = list(words)
    return {spelling: keys.index(key) for spelling, key in vocab.spellings(words).items()}


CATEGORY_INDEX = _vocab_lookup(vocab.INCIDENT_CATEGORIES)
STATUS_INDEX = _vocab_lookup(vocab.INCIDENT_STATUSES)


def parse_times(
    values: NDArray[np.object_],
) -> tuple[NDArray[np.datetime64], NDArray[np.bool_], NDArray[np.bool_]]:
    """ISO 8601 texts → (UTC datetime64[us] with NaT, missing mask, unparseable mask)."""
    absent = missing(values)
    out = np.full(len(values), np.datetime64("NaT"), dtype="datetime64[us]")
    if absent.all():
        return out, absent, np.zeros(len(values), dtype=bool)
    texts = _as_text(values[~absent])
    utc = parse_utc(texts)
    retry = np.flatnonzero(np.isnat(utc))  # e.g. surrounding spaces: strip only the few that failed
    if len(retry):
        utc[retry] = parse_utc(_stripped(texts[retry]))
    # utc=True read offset-less times as UTC; they are China Standard Time, 8 hours ahead.
    # Stripped always: pandas may parse " …+08:00 " whole, and the offset must still be seen.
    naive = ~has_offset(_stripped(texts))
    utc[naive] = utc[naive] - CST_NP
    out[~absent] = utc
    bad = np.zeros(len(values), dtype=bool)
    bad[~absent] = np.isnat(utc)
    return out, absent, bad


def _as_text(values: NDArray[np.object_]) -> NDArray[np.object_]:
    """Values as str: a JSON number or object becomes its Python text, which no rule accepts as a time or word."""
    if all(isinstance(v, str) for v in values):
        return values
    return column((v if isinstance(v, str) else str(v) for v in values), len(values))


def _stripped(texts: NDArray[np.object_]) -> NDArray[np.object_]:
    return column((t.strip() for t in texts), len(texts))


def check(
    raw: RawIncidents, region: shapely.Geometry | None, margin_km: float = 0.0, now: dt.datetime | None = None
) -> Checked:
    """Check every row; return the valid rows (converted to WGS84), all problems and the warnings."""
    now = now or dt.datetime.now(dt.UTC)
    p, cols, prefix = raw.problems, raw.columns, raw.field_prefix
    x, y = _coordinates(raw, region, margin_km)
    category = _vocabulary(
        p, cols["category"], CATEGORY_INDEX, vocab.INCIDENT_CATEGORIES, prefix + "category", True
    )
    times = _times(raw, now)
    optional = _optional(raw, times)
    good = ~p.bad()
    rows = IncidentRows(
        np.flatnonzero(good),
        x[good],
        y[good],
        category[good],
        times["occurred_at"][good],
        raw.crs,
        {k: v[good] for k, v in optional.items()},
    )
    return Checked(rows, p, _warnings(raw), len(raw))


def _coordinates(
    raw: RawIncidents, region: shapely.Geometry | None, margin_km: float
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """WGS84 x, y of every row (NaN where unusable), recording non-finite, out-of-range and far-away points."""
    n, p = len(raw), raw.problems
    lon, lat = raw.lon, raw.lat
    unparsed = raw.unparsed
    finite = np.isfinite(lon) & np.isfinite(lat)
    p.add(np.flatnonzero(~unparsed & ~finite), raw.geometry_field, "NaN or Infinity is not a coordinate")
    beyond = finite & ((np.abs(lon) > 180) | (np.abs(lat) > 90))
    bi = np.flatnonzero(beyond)
    p.add(
        bi,
        raw.geometry_field,
        [
            f"lon {lon[i]} / lat {lat[i]} out of range (lon within ±180, lat within ±90)"
            + ("; swapped axes? the order is lon, lat" if abs(lat[i]) <= 180 and abs(lon[i]) <= 90 else "")
            for i in bi
        ],
    )
    ok = finite & ~beyond
    x, y = np.full(n, np.nan), np.full(n, np.nan)
    x[ok], y[ok] = geocrs.to_wgs84(lon[ok], lat[ok], raw.crs)
    if region is not None:
        far = ok.copy()
        far[ok] = ~shapely.contains_xy(region, x[ok], y[ok])
        fi = np.flatnonzero(far)
        swapped = shapely.contains_xy(region, y[fi], x[fi]) if len(fi) else np.zeros(0, dtype=bool)
        p.add(
            fi,
            raw.geometry_field,
            [
                f"({lon[i]:.6f}, {lat[i]:.6f}) is far outside the city (more than {margin_km:g} km beyond it)"
                + ("; swapped axes? as (lat, lon) it would be inside: the order is lon, lat" if s else "")
                for i, s in zip(fi, swapped, strict=True)
            ],
        )
    return x, y


def _times(raw: RawIncidents, now: dt.datetime) -> dict[str, NDArray[Any]]:
    """Every time column as datetime64[us] UTC (NaT = none), recording missing, bad, future and early ones."""
    n, p, cols, prefix = len(raw), raw.problems, raw.columns, raw.field_prefix
    times = {}
    for name in TIMES:
        if name != "occurred_at" and name not in raw.present:
            times[name] = np.full(n, np.datetime64("NaT"), dtype="datetime64[us]")
            continue
        times[name], absent, bad = parse_times(cols[name])
        if name == "occurred_at":
            p.add(np.flatnonzero(absent), prefix + name, "missing: when did it happen? (ISO 8601)")
        p.add(np.flatnonzero(bad), prefix + name, "not an ISO 8601 date-time, e.g. 2024-05-01T08:30:00+08:00")
        p.add(future_rows(times[name], now), prefix + name, IN_THE_FUTURE)
        p.add(early_rows(times[name]), prefix + name, TOO_EARLY)
    for name in AFTER_OCCURRED:
        p.add(before_occurred_rows(times[name], times["occurred_at"]), prefix + name, BEFORE_OCCURRED)
    return times


def _optional(raw: RawIncidents, times: dict[str, NDArray[Any]]) -> dict[str, NDArray[Any]]:
    """The optional columns the input gives: status, texts (NUL refused, ids unique), later times."""
    p, cols, prefix = raw.problems, raw.columns, raw.field_prefix
    optional: dict[str, NDArray[Any]] = {}
    if "status" in raw.present and not missing(cols["status"]).all():
        status = _vocabulary(p, cols["status"], STATUS_INDEX, vocab.INCIDENT_STATUSES, prefix + "status", False)
        optional["status"] = status
    for name in TEXTS:
        if name in raw.present and not missing(cols[name]).all():
            values = cols[name]
            nested = np.fromiter((isinstance(v, list | dict) for v in values), dtype=bool, count=len(values))
            p.add(np.flatnonzero(nested), prefix + name, "must be text, not a JSON list or object")
            optional[name], nul = stripped_texts(np.where(nested, column([None] * len(values)), values))
            p.add(np.flatnonzero(nul), prefix + name, "contains a NUL character")
    if "external_id" in optional and len(raw) > 1:
        ids = optional["external_id"]
        codes, _ = pd.factorize(ids)  # None → -1; one code per distinct id
        first = np.zeros(len(ids), dtype=bool)
        first[np.unique(codes, return_index=True)[1]] = True
        dup = np.flatnonzero(~first & (codes >= 0))
        p.add(
            dup,
            prefix + "external_id",
            [f"external_id {ids[i]!r} appears more than once in this input" for i in dup],
        )
    for name in TIMES[1:]:
        if not np.isnat(times[name]).all():
            optional[name] = times[name]
    return optional


def _vocabulary(
    p: Problems, values: NDArray[np.object_], index: dict[str, int], words: dict, field_name: str, required: bool
) -> NDArray[np.int16]:
    """Map words to vocabulary indexes; record unknown (and, when required, missing) ones.

    One dict lookup per distinct value, not per row; a JSON list or object (unhashable) is an unknown word.
    """
    absent = missing(values)
    keys = _as_text(values)
    codes_of, distinct = pd.factorize(keys)
    found = np.array([_word(index, w) for w in distinct] + [-1], dtype=np.int32)[codes_of]
    unknown = np.flatnonzero((found < 0) & ~absent)
    p.add(
        unknown,
        field_name,
        [f"unknown value {values[i]!r}; allowed: {vocab.allowed(words)}" for i in unknown],
    )
    if required:
        p.add(np.flatnonzero(absent), field_name, f"missing; allowed: {vocab.allowed(words)}")
    return np.where(found < 0, 0, found).astype(np.int16)


def _word(index: dict[str, int], key: str) -> int:
    """A spelling's index (surrounding spaces ignored), or -1."""
    found = index.get(key)
    if found is None:
        found = index.get(key.strip())
    return -1 if found is None else found


def _warnings(raw: RawIncidents) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    if len(raw.z_indexes):
        out.append(
            {
                "code": "z_dropped",
                "detail": f"3D coordinates: the Z value was dropped for {len(raw.z_indexes)} feature(s)",
                "count": len(raw.z_indexes),
                "indexes": raw.z_indexes[:20].tolist(),
            }
        )
    if raw.ignored:
        out.append(
            {
                "code": "ignored_fields",
                "detail": "fields that incidents do not store were ignored: " + ", ".join(raw.ignored[:50]),
                "fields": raw.ignored[:50],
            }
        )
    return out
