"""Reading incidents from GeoJSON (one Feature or a FeatureCollection) into columns.

Readers only parse: every problem is recorded against the feature's index (0-based position in the input)
and checked afterwards, all at once, in geo.incidents.checks. Declared CRS: the `crs` argument (query
parameter / CLI option) or the FeatureCollection's `crs` member; EPSG:4326 when none is declared.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from geo.crs import declared_crs
from geo.errors import InvalidInput
from geo.incidents.model import PROPERTIES, Problems, RawIncidents, column, flag_unparsed


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
    columns = {k: column((p.get(k) for p in props), n) for k in PROPERTIES}
    # A Feature's own id serves as external_id when the properties do not carry one.
    if any(v is not None for v in ids):
        columns["external_id"] = column(
            (e if e is not None else i for e, i in zip(columns["external_id"], ids, strict=True)), n
        )
    known = set(PROPERTIES)
    seen = {k for p in props for k in p}
    ignored = sorted(seen - known)
    raw = RawIncidents(
        lon, lat, columns, problems, declared_crs(crs, member), np.asarray(z, dtype=np.int64), ignored
    )
    raw.present = frozenset((seen & known) | ({"external_id"} if any(v is not None for v in ids) else set()))
    flag_unparsed(raw, [i for i, *_ in bad])
    return raw
