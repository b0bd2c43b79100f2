"""CSV and GeoPackage incident files read into columns (GeoJSON: read_geojson; the shared types: model)."""

from __future__ import annotations

import csv
import io
import math
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from geo.crs import canonical_crs, declared_crs
from geo.errors import InvalidInput
from geo.incidents.model import PROPERTIES, Problems, RawIncidents, column, flag_unparsed

LON_NAMES = ("lon", "lng", "longitude", "x", "经度")
LAT_NAMES = ("lat", "latitude", "y", "纬度")


def _pick(names: list[str], wanted: tuple[str, ...]) -> str | None:
    lowered = {n.strip().lower(): n for n in names}
    return next((lowered[w] for w in wanted if w in lowered), None)


MAX_CSV_COLUMNS = 256  # the default of settings.max_csv_columns


def check_width(source: bytes | Path, max_columns: int) -> None:
    """Refuse a CSV with a row (header included) of more than max_columns fields, before pandas sees it: pandas
    takes time quadratic in the fields of a row (a 2×10^5-field header or first row: 16–32 s of CPU), while
    this scan is linear (~0.4 s per million ordinary rows)."""
    raw = io.BytesIO(source) if isinstance(source, bytes) else source.open("rb")
    with raw, io.TextIOWrapper(raw, encoding="utf-8-sig", newline="") as text:
        try:
            for line, row in enumerate(csv.reader(text), start=1):
                if len(row) > max_columns:
                    raise InvalidInput(
                        f"CSV row {line} has {len(row)} fields; at most {max_columns} are allowed "
                        "(setting max_csv_columns)",
                        field="body",
                        reason="too many columns",
                        row=line,
                        limit=max_columns,
                    )
        except (csv.Error, UnicodeDecodeError) as exc:  # e.g. a field over the csv module's 128 KiB
            raise InvalidInput(f"not a readable CSV: {exc}", field="body", reason=str(exc)) from exc


def read_csv(source: bytes | Path, crs: str | None = None, max_columns: int = MAX_CSV_COLUMNS) -> RawIncidents:
    """CSV with a header: lon/lat (or lng/longitude/x, latitude/y), category, occurred_at and optional columns."""

    def handle() -> Any:
        return io.BytesIO(source) if isinstance(source, bytes) else source

    check_width(source, max_columns)
    try:
        header = list(pd.read_csv(handle(), nrows=0, encoding="utf-8-sig").columns)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"not a readable CSV: {exc}", field="body", reason=str(exc)) from exc
    lon_col, lat_col = _pick(header, LON_NAMES), _pick(header, LAT_NAMES)
    if lon_col is None or lat_col is None:
        raise InvalidInput(
            f"the CSV needs lon and lat columns; it has {', '.join(header)}",
            field="lon/lat",
            reason="missing column",
        )
    # Coordinates are parsed as numbers by the C reader; every other column stays text (ids keep leading zeros).
    dtype = {c: str for c in header if c not in (lon_col, lat_col)}
    try:
        df = pd.read_csv(handle(), dtype=dtype, keep_default_na=False, na_values=[""], encoding="utf-8-sig")
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as exc:
        raise InvalidInput(f"not a readable CSV: {exc}", field="body", reason=str(exc)) from exc
    if not df.index.equals(pd.RangeIndex(len(df))):
        # pandas reads surplus fields on the first rows as an index instead of refusing them (later rows are
        # refused above): nothing may be silently shifted or dropped.
        raise InvalidInput(
            f"a row has more fields than the header's {len(header)} (first data rows); quote commas inside values",
            field="body",
            reason="extra fields",
        )
    n = len(df)
    problems = Problems(n)
    coords = []
    for col in (lon_col, lat_col):
        values = df[col]
        if values.dtype != np.float64:
            text = values.astype("str").str.strip()
            values = pd.to_numeric(text, errors="coerce")
            wrong = values.isna().to_numpy() & df[col].notna().to_numpy()
            wrong &= ~text.str.lower().isin(["nan", "inf", "-inf", "+inf", "infinity", "-infinity"]).to_numpy()
            problems.add(np.flatnonzero(wrong), col, "not a number")
        coords.append(values.to_numpy(dtype=np.float64))
    missing = np.flatnonzero(df[lon_col].isna().to_numpy() | df[lat_col].isna().to_numpy())
    problems.add(missing, f"{lon_col}/{lat_col}", "missing coordinates")
    lower = {c.strip().lower(): c for c in header}
    columns = {k: df[lower[k]].to_numpy(dtype=object) if k in lower else column([None] * n, n) for k in PROPERTIES}
    ignored = sorted(c for c in header if c.strip().lower() not in PROPERTIES and c not in (lon_col, lat_col))
    raw = RawIncidents(coords[0], coords[1], columns, problems, declared_crs(crs), ignored=ignored)
    raw.present = frozenset(lower) & frozenset(PROPERTIES)
    raw.geometry_field, raw.field_prefix = f"{lon_col}/{lat_col}", ""
    flag_unparsed(raw, [int(i) for idx, _, _ in problems.items for i in idx])
    return raw


def read_geopackage(source: bytes | Path, crs: str | None = None, layer: str | None = None) -> RawIncidents:
    """A GeoPackage point layer (its attribute columns named as in PROPERTIES)."""
    import pyogrio
    import shapely

    if isinstance(source, bytes):
        with tempfile.NamedTemporaryFile(suffix=".gpkg") as tmp:
            tmp.write(source)
            tmp.flush()
            return read_geopackage(Path(tmp.name), crs, layer)
    try:
        meta, _, wkb, values = pyogrio.raw.read(source, layer=layer, datetime_as_string=True)
    except Exception as exc:  # pyogrio raises several DataSourceError kinds for unreadable files
        raise InvalidInput(f"not a readable GeoPackage: {exc}", field="file", reason=str(exc)) from exc
    n = len(wkb)
    geoms = shapely.from_wkb(wkb)
    problems = Problems(n)
    kind = shapely.get_type_id(geoms)
    empty = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    problems.add(np.flatnonzero(empty), "geometry", "empty or missing geometry")
    not_point = ~empty & (kind != 0)
    names = np.asarray(shapely.geometry.base.GEOMETRY_TYPES)[np.where(not_point, kind, 0)]
    problems.add(
        np.flatnonzero(not_point), "geometry.type", [f"geometry is a {t}, not a Point" for t in names[not_point]]
    )
    lon, lat = np.full(n, np.nan), np.full(n, np.nan)
    ok = ~empty & ~not_point
    xy = shapely.get_coordinates(geoms[ok])
    lon[ok], lat[ok] = xy[:, 0], xy[:, 1]
    z = np.flatnonzero(ok & shapely.has_z(geoms))
    fields = [str(f) for f in meta["fields"]]
    lower = {f.lower(): i for i, f in enumerate(fields)}
    columns = {k: column(_as_text(values[lower[k]]) if k in lower else [None] * n, n) for k in PROPERTIES}
    ignored = sorted(f for f in fields if f.lower() not in PROPERTIES)
    file_crs = meta.get("crs")
    declared = declared_crs(crs) if crs else (canonical_crs(file_crs) if file_crs else "EPSG:4326")
    raw = RawIncidents(lon, lat, columns, problems, declared, z, ignored, "geometry", "")
    raw.present = frozenset(lower) & frozenset(PROPERTIES)
    flag_unparsed(raw, list(np.flatnonzero(~ok)))
    return raw


def _as_text(values: NDArray[Any]) -> list[str | None]:
    """GeoPackage attribute values as text (None for nulls/NaN), as CSV and GeoJSON give them."""
    out: list[str | None] = []
    for v in values:
        if v is None or (isinstance(v, float) and math.isnan(v)):
            out.append(None)
        else:
            out.append(str(v))
    return out
