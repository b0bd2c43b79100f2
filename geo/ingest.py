"""Reading incidents from GeoJSON (one Feature or a FeatureCollection), CSV and GeoPackage into columns.

Shared by the API and the CLI. Readers only parse: every problem is recorded against the feature's index
(0-based position in the input; for CSV the data row, the header not counted) and checked afterwards, all
at once, in geo.ingest_checks. Declared CRS: the `crs` argument (query parameter / CLI option) or the
FeatureCollection's `crs` member or the GeoPackage layer's CRS; EPSG:4326 when none is declared.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from geo.errors import InvalidInput

# Columns an incident may carry besides its position; anything else is ignored with a warning.
PROPERTIES = (
    "external_id",
    "category",
    "subcategory",
    "status",
    "occurred_at",
    "reported_at",
    "mediated_at",
    "resolved_at",
    "description",
)
# Declared CRS names accepted (case, spaces, '-' and '_' ignored) and the canonical name stored.
CRS_NAMES = {
    "EPSG:4326": "EPSG:4326",
    "WGS84": "EPSG:4326",
    "CRS84": "EPSG:4326",
    "EPSG:4490": "EPSG:4490",
    "CGCS2000": "EPSG:4490",
    "GCJ02": "GCJ-02",
    "BD09": "BD-09",
}


@dataclass
class Problems:
    """Per-feature problems gathered in bulk: (indexes, field, reason or reason-per-index)."""

    n: int
    items: list[tuple[NDArray[np.int64], str, str | list[str]]] = field(default_factory=list)

    def add(self, indexes: Any, field_name: str, reason: str | list[str]) -> None:
        idx = np.asarray(indexes, dtype=np.int64).reshape(-1)
        if len(idx):
            self.items.append((idx, field_name, reason))

    def bad(self) -> NDArray[np.bool_]:
        mask = np.zeros(self.n, dtype=bool)
        for idx, _, _ in self.items:
            mask[idx] = True
        return mask

    def total(self) -> int:
        return sum(len(idx) for idx, _, _ in self.items)

    def report(self, cap: int = 1000) -> list[dict[str, Any]]:
        """The first `cap` problems by feature index, each {index, field, reason}."""
        if not self.items:
            return []
        which = np.concatenate([np.full(len(idx), k) for k, (idx, _, _) in enumerate(self.items)])
        pos = np.concatenate([np.arange(len(idx)) for idx, _, _ in self.items])
        rows = np.concatenate([idx for idx, _, _ in self.items])
        order = np.lexsort((which, rows))[:cap]
        out = []
        for o in order:
            _, name, reason = self.items[which[o]]
            out.append(
                {
                    "index": int(rows[o]),
                    "field": name,
                    "reason": reason if isinstance(reason, str) else reason[pos[o]],
                }
            )
        return out


@dataclass
class RawIncidents:
    """Parsed but unchecked input: coordinates (NaN where unusable), text columns, parse problems."""

    lon: NDArray[np.float64]
    lat: NDArray[np.float64]
    columns: pd.DataFrame
    problems: Problems
    crs: str = "EPSG:4326"
    z_indexes: NDArray[np.int64] = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    ignored: list[str] = field(default_factory=list)
    geometry_field: str = "geometry.coordinates"
    field_prefix: str = "properties."
    # The properties that occur in the input at all: the checks skip the others without touching pandas.
    present: frozenset[str] = frozenset(PROPERTIES)

    def __len__(self) -> int:
        return len(self.lon)


def canonical_crs(name: Any) -> str:
    """'GCJ-02', 'gcj02', 'urn:ogc:def:crs:EPSG::4490', … → a canonical name, or InvalidInput naming it."""
    raw = str(name).strip()
    key = raw.upper().replace(" ", "")
    if key.startswith("URN:OGC:DEF:CRS:"):
        parts = [p for p in key.split(":") if p]
        key = "CRS84" if parts[-1] == "CRS84" else f"EPSG:{parts[-1]}"
    if not key.startswith("EPSG:"):
        key = key.replace("-", "").replace("_", "")
    if key not in CRS_NAMES:
        raise InvalidInput(
            f"unknown CRS {raw!r}; accepted: EPSG:4326 (WGS84), EPSG:4490 (CGCS2000), GCJ-02, BD-09",
            field="crs",
            reason=f"unknown CRS {raw!r}",
        )
    return CRS_NAMES[key]


def declared_crs(argument: str | None, member: Any = None) -> str:
    """The CRS in force: the explicit argument, else the document's own declaration, else EPSG:4326."""
    from_member = None
    if member is not None:
        name = member.get("properties", {}).get("name") if isinstance(member, dict) else member
        from_member = canonical_crs(name)
    if argument:
        crs = canonical_crs(argument)
        if from_member and from_member != crs:
            raise InvalidInput(
                f"the crs parameter says {crs} but the FeatureCollection declares {from_member}",
                field="crs",
                reason="conflicting CRS declarations",
            )
        return crs
    return from_member or "EPSG:4326"


def load_json(raw: bytes | str) -> Any:
    """json.loads with the position of a syntax error in the message."""
    try:
        return json.loads(raw)
    except ValueError as exc:  # syntax, encoding (UnicodeDecodeError), a 5,000-digit integer
        raise InvalidInput(
            f"the body is not valid JSON: {exc}", field="body", reason=f"invalid JSON: {exc}"
        ) from exc
    except RecursionError as exc:  # e.g. [[[[…]]]] nested tens of thousands deep
        raise InvalidInput(
            "the body nests arrays or objects too deeply", field="body", reason="nested too deeply"
        ) from exc


def read_geojson(doc: Any, crs: str | None = None, single: bool = False) -> RawIncidents:
    """A parsed GeoJSON document (a Feature, or a FeatureCollection unless `single`) → RawIncidents."""
    kind = doc.get("type") if isinstance(doc, dict) else None
    if kind == "Feature":
        features, member = [doc], None
    elif kind == "FeatureCollection" and not single:
        features, member = doc.get("features"), doc.get("crs")
        if not isinstance(features, list):
            raise InvalidInput("a FeatureCollection needs a 'features' array", field="features", reason="missing")
    else:
        wanted = "Feature" if single else "Feature or FeatureCollection"
        raise InvalidInput(f"expected a GeoJSON {wanted}, got type {kind!r}", field="type", reason="wrong type")
    n = len(features)
    problems = Problems(n)
    lon, lat = np.full(n, np.nan), np.full(n, np.nan)
    props: list[dict] = []
    ids: list[Any] = []
    bad: list[tuple[int, str, str]] = []
    z: list[int] = []
    for i, f in enumerate(features):
        p = f.get("properties") if isinstance(f, dict) else None
        props.append(p if isinstance(p, dict) else {})
        ids.append(f.get("id") if isinstance(f, dict) else None)
        g = f.get("geometry") if isinstance(f, dict) else None
        if not isinstance(f, dict) or f.get("type") != "Feature":
            bad.append((i, "type", "not a GeoJSON Feature"))
        elif not isinstance(g, dict):
            bad.append((i, "geometry", "missing geometry (null or not an object)"))
        elif g.get("type") != "Point":
            bad.append((i, "geometry.type", f"geometry is a {g.get('type')}, not a Point: incidents are points"))
        else:
            c = g.get("coordinates")
            if not isinstance(c, list) or len(c) < 2:
                bad.append((i, "geometry.coordinates", "empty geometry: a Point needs [lon, lat]"))
            elif not all(isinstance(v, int | float) and not isinstance(v, bool) for v in c):
                bad.append((i, "geometry.coordinates", "coordinates must be numbers [lon, lat]"))
            else:
                lon[i], lat[i] = c[0], c[1]
                if len(c) > 2:
                    z.append(i)
    for i, name, reason in bad:
        problems.add([i], name, reason)
    columns = pd.DataFrame({k: [p.get(k) for p in props] for k in PROPERTIES})
    # A Feature's own id serves as external_id when the properties do not carry one.
    if any(v is not None for v in ids):
        columns["external_id"] = [
            e if e is not None else i for e, i in zip(columns["external_id"], ids, strict=True)
        ]
    known = set(PROPERTIES)
    seen = {k for p in props for k in p}
    ignored = sorted(seen - known)
    raw = RawIncidents(
        lon, lat, columns, problems, declared_crs(crs, member), np.asarray(z, dtype=np.int64), ignored
    )
    raw.present = frozenset((seen & known) | ({"external_id"} if any(v is not None for v in ids) else set()))
    flag_unparsed(raw, [i for i, *_ in bad])
    return raw


def flag_unparsed(raw: RawIncidents, unparsed: list[int]) -> None:
    """Mark rows whose coordinates never parsed, so the finite-number check does not report them twice."""
    raw.columns["_unparsed"] = False
    if unparsed:
        raw.columns.loc[unparsed, "_unparsed"] = True


def read_any(data: bytes | Path, fmt: str, crs: str | None = None) -> RawIncidents:
    """Dispatch on fmt: 'geojson', 'csv' or 'gpkg' (the CLI guesses it from the file suffix)."""
    if fmt == "geojson":
        raw = data.read_bytes() if isinstance(data, Path) else data
        return read_geojson(load_json(raw), crs)
    from geo.ingest_files import read_csv, read_geopackage  # the file readers build on this module's types

    if fmt == "csv":
        return read_csv(data, crs)
    if fmt == "gpkg":
        return read_geopackage(data, crs)
    raise InvalidInput(
        f"unknown format {fmt!r}; one of geojson, csv, gpkg", field="format", reason="unknown format"
    )


def format_for(name: str) -> str:
    """The reader for a file name, by its suffix."""
    suffix = Path(name).suffix.lower()
    for fmt, suffixes in {"geojson": (".geojson", ".json"), "csv": (".csv", ".txt"), "gpkg": (".gpkg",)}.items():
        if suffix in suffixes:
            return fmt
    raise InvalidInput(
        f"cannot tell the format of {name!r}: use .geojson/.json, .csv or .gpkg",
        field="file",
        reason="unknown suffix",
    )
