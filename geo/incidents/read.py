"""Which reader a file needs, and the one entry that reads any supported format into RawIncidents."""

from __future__ import annotations

from pathlib import Path

from geo import formats
from geo.errors import InvalidInput
from geo.incidents.model import RawIncidents
from geo.incidents.read_files import MAX_CSV_COLUMNS, read_csv, read_geopackage
from geo.incidents.read_geojson import load_json, read_geojson

READABLE = ("geojson", "csv", "gpkg")


def read_any(
    data: bytes | Path, fmt: str, crs: str | None = None, max_csv_columns: int = MAX_CSV_COLUMNS
) -> RawIncidents:
    """Dispatch on fmt: 'geojson', 'csv' or 'gpkg' (the CLI guesses it from the file suffix)."""
    if fmt == "geojson":
        raw = data.read_bytes() if isinstance(data, Path) else data
        return read_geojson(load_json(raw), crs)
    if fmt == "csv":
        return read_csv(data, crs, max_csv_columns)
    if fmt == "gpkg":
        return read_geopackage(data, crs)
    raise InvalidInput(
        f"unknown format {fmt!r}; one of geojson, csv, gpkg", field="format", reason="unknown format"
    )


def format_for(name: str) -> str:
    """The reader for a file name, by its suffix."""
    return formats.from_name(name, READABLE)
