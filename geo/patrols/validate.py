"""Checks on patrol input (line, stops, shift, mode, points) that name the field and the reason."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from geo import vocab
from geo.errors import InvalidGeometry, InvalidInput
from geo.patrols.params import MAX_DWELL_MINUTES, MAX_SHIFT_MINUTES, MAX_STOPS, MAX_VERTICES, STOP_KINDS

ROUTE_FIELDS = ("name", "officer_id", "community_code", "shift", "mode", "planned_stops", "geometry")
# What GET returns besides the writable fields: accepted back (a PUT of a fetched Feature) and ignored.
READ_ONLY = {"id", "version", "officer_name", "officer_badge", "length_m", "created_at", "updated_at", "synthetic"}


def _number(value: Any, field: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidInput(f"{field} must be a number, got {value!r}", field=field, reason="not a number")
    if not math.isfinite(value):
        raise InvalidInput(f"{field} must be a finite number", field=field, reason="not finite")
    return float(value)


def lonlat(lon: Any, lat: Any, field: str) -> tuple[float, float]:
    """A (lon, lat) pair of finite numbers within ±180/±90, or InvalidGeometry naming field."""
    x, y = _number(lon, f"{field}.lon"), _number(lat, f"{field}.lat")
    if not (-180 <= x <= 180 and -90 <= y <= 90):
        raise InvalidGeometry(
            f"{field} ({x}, {y}) is not a WGS84 lon,lat (lon within ±180, lat within ±90; lon first)",
            field=field,
            reason="coordinate out of range",
        )
    return x, y


def parse_point(value: Any, field: str) -> tuple[float, float]:
    """A point given as [lon, lat], {"lon", "lat"}, a GeoJSON Point or "lon,lat"."""
    if isinstance(value, str):
        parts = value.split(",")
        try:
            nums = [float(p) for p in parts]
        except ValueError:
            nums = []
        if len(nums) != 2:
            raise InvalidInput(f"{field} must be 'lon,lat', got {value!r}", field=field, reason="not lon,lat")
        return lonlat(nums[0], nums[1], field)
    if isinstance(value, Mapping):
        if value.get("type") == "Point":
            value = value.get("coordinates")
        else:
            return lonlat(value.get("lon"), value.get("lat"), field)
    if isinstance(value, list | tuple) and len(value) in (2, 3):
        return lonlat(value[0], value[1], field)
    raise InvalidInput(f"{field} must be [lon, lat], got {value!r}", field=field, reason="not a point")


def parse_line(geometry: Any, field: str = "geometry") -> list[tuple[float, float]]:
    """The vertices of a GeoJSON LineString (2D), refusing other types, < 2 points or bad coordinates."""
    if not isinstance(geometry, Mapping):
        raise InvalidGeometry(f"{field} must be a GeoJSON LineString object", field=field, reason="missing")
    kind = geometry.get("type")
    if kind != "LineString":
        raise InvalidGeometry(
            f"{field} must be a LineString, got {kind!r}", field=field, reason="not a LineString", got=kind
        )
    coords = geometry.get("coordinates")
    if not isinstance(coords, list):
        raise InvalidGeometry(f"{field}.coordinates must be a list of [lon, lat]", field=field, reason="bad")
    if len(coords) > MAX_VERTICES:
        raise InvalidGeometry(f"{field} has {len(coords)} vertices; at most {MAX_VERTICES}", field=field)
    points: list[tuple[float, float]] = []
    for i, pos in enumerate(coords):
        where = f"{field}.coordinates[{i}]"
        if not isinstance(pos, list | tuple) or len(pos) not in (2, 3):
            raise InvalidGeometry(f"{where} must be [lon, lat], got {pos!r}", field=where, reason="not a position")
        points.append(lonlat(pos[0], pos[1], where))
    if len(points) < 2:
        raise InvalidGeometry(
            f"{field} needs at least 2 points, got {len(points)}", field=field, reason="fewer than 2 points"
        )
    if len(set(points)) < 2:
        raise InvalidGeometry(
            f"{field} has zero length: all its points are the same", field=field, reason="zero length"
        )
    return points


def check_choice(value: Any, field: str, choices: Mapping[str, tuple[str, str]]) -> str:
    """value if it is one of the vocabulary's keys, else InvalidInput listing them."""
    if value not in choices:
        allowed = ", ".join(f"{k} ({zh})" for k, (zh, _) in choices.items())
        raise InvalidInput(f"unknown {field} {value!r}; one of {allowed}", field=field, reason="unknown value")
    return str(value)


def parse_stops(stops: Any, field: str = "planned_stops") -> list[dict[str, Any]]:
    """Planned stops as [{name, lon, lat, dwell_minutes, kind}], normalised, each problem named by index."""
    if stops is None:
        return []
    if not isinstance(stops, list):
        raise InvalidInput(f"{field} must be a list of stops", field=field, reason="not a list")
    if len(stops) > MAX_STOPS:
        raise InvalidInput(f"{field} has {len(stops)} stops; at most {MAX_STOPS}", field=field)
    out = []
    for i, stop in enumerate(stops):
        where = f"{field}[{i}]"
        if not isinstance(stop, Mapping):
            raise InvalidInput(f"{where} must be an object", field=where, index=i, reason="not an object")
        lon, lat = lonlat(stop.get("lon"), stop.get("lat"), where)
        dwell = _number(stop.get("dwell_minutes", 0), f"{where}.dwell_minutes")
        if not 0 <= dwell <= MAX_DWELL_MINUTES:
            raise InvalidInput(
                f"{where}.dwell_minutes must be within 0–{MAX_DWELL_MINUTES}, got {dwell:g}",
                field=f"{where}.dwell_minutes",
                index=i,
                reason="out of range",
            )
        kind = check_choice(stop.get("kind", "other"), f"{where}.kind", STOP_KINDS)
        name = stop.get("name") or f"{STOP_KINDS[kind][0]} {i + 1}"
        if not isinstance(name, str):
            raise InvalidInput(f"{where}.name must be text", field=f"{where}.name", index=i)
        clean = {"name": name, "lon": lon, "lat": lat, "dwell_minutes": dwell, "kind": kind}
        # Keep what a suggestion adds (eta, weight, ref) so a saved suggestion round-trips.
        for extra in ("eta_minutes", "weight", "ref"):
            if extra in stop:
                clean[extra] = stop[extra]
        out.append(clean)
    return out


def _flatten(payload: Mapping[str, Any]) -> dict[str, Any]:
    """A GeoJSON Feature's properties plus its geometry, or the flat object; read-only fields dropped."""
    if payload.get("type") == "Feature":
        props = payload.get("properties") or {}
        if not isinstance(props, Mapping):
            raise InvalidInput("properties must be an object", field="properties", reason="not an object")
        flat = dict(props)
        if "geometry" in payload:
            flat["geometry"] = payload["geometry"]
    else:
        flat = {k: v for k, v in payload.items() if k != "type"}
    return {k: v for k, v in flat.items() if k not in READ_ONLY}


def parse_route(payload: Any, partial: bool = False) -> dict[str, Any]:
    """A route payload checked field by field; partial=True (update) lets fields be absent."""
    if not isinstance(payload, Mapping):
        raise InvalidInput("the route must be a JSON object", reason="not an object")
    payload = _flatten(payload)
    unknown = sorted(set(payload) - set(ROUTE_FIELDS))
    if unknown:
        raise InvalidInput(
            f"unknown route field(s): {', '.join(unknown)}; known: {', '.join(ROUTE_FIELDS)}",
            field=unknown[0],
            reason="unknown field",
        )
    out: dict[str, Any] = {}
    for required in ("name", "officer_id", "shift", "geometry"):
        if not partial and payload.get(required) is None:
            raise InvalidInput(f"{required} is required", field=required, reason="missing")
    if "name" in payload:
        name = payload["name"]
        if not isinstance(name, str) or not name.strip():
            raise InvalidInput("name must be non-empty text", field="name", reason="empty")
        out["name"] = name.strip()
    if "officer_id" in payload:
        oid = payload["officer_id"]
        if isinstance(oid, bool) or not isinstance(oid, int):
            raise InvalidInput(f"officer_id must be an integer, got {oid!r}", field="officer_id")
        out["officer_id"] = oid
    if payload.get("community_code") is not None:
        code = payload["community_code"]
        if not isinstance(code, str) or not (code.isdigit() and len(code) == 12):
            raise InvalidInput(f"community_code must be 12 digits, got {code!r}", field="community_code")
        out["community_code"] = code
    if "shift" in payload:
        out["shift"] = check_choice(payload["shift"], "shift", vocab.SHIFTS)
    if "mode" in payload or not partial:
        out["mode"] = check_choice(payload.get("mode", "walk"), "mode", vocab.PATROL_MODES)
    if "planned_stops" in payload or not partial:
        out["planned_stops"] = parse_stops(payload.get("planned_stops"))
    if "geometry" in payload:
        out["geometry"] = {"type": "LineString", "coordinates": [list(p) for p in parse_line(payload["geometry"])]}
    return out


def check_shift_minutes(value: Any, field: str = "shift_minutes") -> float:
    """A shift length in minutes: > 0 and at most a day."""
    minutes = _number(value, field)
    if minutes <= 0:
        raise InvalidInput(f"{field} must be > 0: a shift of zero length has no time to patrol", field=field)
    if minutes > MAX_SHIFT_MINUTES:
        raise InvalidInput(f"{field} must be at most {MAX_SHIFT_MINUTES} (one day)", field=field)
    return minutes
