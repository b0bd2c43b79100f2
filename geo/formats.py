"""Which format a file is in, decided in one place: by its first bytes, its name, or its content type.

Incident imports read GeoJSON, CSV and GeoPackage; grid imports and exports GeoJSON, GeoPackage and zipped
Shapefiles. Each caller passes the formats it reads, and hears a 4xx naming what it accepts.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterable
from pathlib import Path

from geo.errors import InvalidInput

SUFFIXES = {
    ".geojson": "geojson",
    ".json": "geojson",
    ".csv": "csv",
    ".txt": "csv",
    ".gpkg": "gpkg",
    ".zip": "shp",
    ".shp": "shp",
}
CONTENT_TYPES = {
    "application/geo+json": "geojson",
    "application/json": "geojson",
    "text/csv": "csv",
    "application/csv": "csv",
    "application/geopackage+sqlite3": "gpkg",
    "application/zip": "shp",
}


def _accepted(formats: Iterable[str]) -> str:
    return "/".join(s for s, f in SUFFIXES.items() if f in formats)


def from_name(name: str, formats: Iterable[str] = ("geojson", "csv", "gpkg")) -> str:
    """The format a file name's suffix says, if it is one of `formats`; else InvalidInput naming the file."""
    formats = tuple(formats)
    fmt = SUFFIXES.get(Path(name).suffix.lower())
    if fmt not in formats:
        raise InvalidInput(
            f"cannot tell the format of {name!r}: use {_accepted(formats)}",
            field="file",
            reason="unknown suffix",
        )
    return fmt


def from_content_type(content_type: str) -> str | None:
    """The format a media type names (parameters ignored), or None."""
    return CONTENT_TYPES.get(content_type.split(";")[0].strip().lower())


def sniff(data: bytes, filename: str | None = None) -> str:
    """'gpkg', 'shp' (a zip holding a .shp) or 'geojson' from the file's first bytes; else InvalidInput."""
    if data.startswith(b"SQLite format 3\x00"):
        return "gpkg"
    if data.startswith(b"PK\x03\x04"):
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            if any(n.lower().endswith(".shp") for n in z.namelist()):
                return "shp"
        raise InvalidInput("the zip file holds no .shp layer", field="file")
    if data.lstrip()[:1] in (b"{", b"["):
        return "geojson"
    raise InvalidInput(
        f"cannot tell the format of {filename or 'the upload'}: expected GeoJSON, GeoPackage or a zipped Shapefile",
        field="file",
    )
