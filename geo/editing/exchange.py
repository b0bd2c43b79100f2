"""Grid layers in and out as GeoJSON, GeoPackage and zipped Shapefile (pyogrio): imports are all-or-nothing."""

from __future__ import annotations

import io
import math
import re
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import geopandas as gpd
import pyogrio
import shapely
from sqlalchemy import text
from sqlalchemy.orm import Session

from geo import formats
from geo.area import Area
from geo.auth import Principal
from geo.crs import METRIC_EPSG, geometry_to_wgs84
from geo.editing.change import DEFAULT_TOLERANCE_M, EDITABLE, Editor, GridChange
from geo.editing.engine import apply_changes
from geo.editing.validate import check_validity, problem, reject, to_multipolygon
from geo.errors import AdminUnitNotFound, Forbidden, GridNotFound, InvalidInput
from geo.geojson import feature_collection

FORMATS = {
    "geojson": ("application/geo+json", "geojson"),
    "gpkg": ("application/geopackage+sqlite3", "gpkg"),
    "shp": ("application/zip", "zip"),
}
# Shapefile (dBASE) field names stop at 10 characters: exported under these names, read back under either.
SHP_NAMES = {
    "community_code": "comm_code",
    "community_name": "comm_name",
    "county_code": "cnty_code",
    "grid_worker": "worker",
    "grid_worker_phone": "worker_tel",
}
EXPORT_SELECT = """
    SELECT g.code, g.name, g.community_code, c.name AS community_name, t.code AS town_code,
           t.parent_code AS county_code, g.grid_worker, g.grid_worker_phone, g.households, g.population,
           g.status, g.version, round(ST_Area(ST_Transform(g.geom, {epsg}))::numeric, 1)::float AS area_m2,
           g.geom
    FROM grids g JOIN admin_units c ON c.code = g.community_code JOIN admin_units t ON t.code = c.parent_code
    WHERE (g.status = 'active' OR :retired) AND {area}
    ORDER BY g.code
"""


_GDAL_PATH = re.compile(r"(/vsi[a-z]+)?/[^\s'\",:]+")


def read_layer(data: bytes, filename: str | None = None, crs: str | None = None) -> tuple[str, gpd.GeoDataFrame]:
    """(format, the layer in WGS84); crs declares GCJ-02/BD-09 coordinates that are converted."""
    fmt = formats.sniff(data, filename)
    try:
        gdf = pyogrio.read_dataframe(io.BytesIO(data))
    except Exception as exc:  # GDAL reports unreadable data with several exception types
        # GDAL's message names the temporary path it read from: never shown to the client.
        said = _GDAL_PATH.sub("<upload>", str(exc))
        raise InvalidInput(f"the {fmt} file cannot be read: {said}", field="file") from exc
    if not isinstance(gdf, gpd.GeoDataFrame) or "geometry" not in gdf:
        raise InvalidInput(f"the {fmt} file holds no geometry layer", field="file")
    if gdf.crs is not None and gdf.crs.to_epsg() not in (4326, 4490):
        gdf = gdf.to_crs(4326)
    if crs:
        gdf["geometry"] = [None if g is None else geometry_to_wgs84(g, crs) for g in gdf.geometry]
    gdf = gdf.rename(columns={v: k for k, v in SHP_NAMES.items()})
    return fmt, gdf


def import_grids(
    session: Session,
    data: bytes,
    filename: str | None = None,
    *,
    editor: Editor,
    reason: str | None = None,
    crs: str | None = None,
    dry_run: bool = False,
    tolerance_m: float = DEFAULT_TOLERANCE_M,
    force: bool = False,
) -> dict[str, Any]:
    """Create or update every grid of a layer in one validated edit; any problem anywhere rejects all.

    A grid that exists is changed only from the version the layer names (an export carries it), so a layer
    prepared before someone else's edit cannot silently undo it; force (admins only, audited) overwrites.
    """
    if force and isinstance(editor, Principal) and "admin" not in editor.roles:
        raise Forbidden("force 仅限管理员 only an admin may force an import over newer versions", field="force")
    fmt, gdf = read_layer(data, filename, crs)
    if "code" not in gdf.columns:
        raise reject([problem("attribute", "the layer has no 'code' field", field="code")])
    records = gdf.to_dict("records")
    codes = [_text(r.get("code")) for r in records]
    existing = {
        r.code: r
        for r in session.execute(
            text(
                "SELECT code, version, status, name, community_code, grid_worker, grid_worker_phone, households, "
                "population, ST_AsBinary(geom) AS wkb FROM grids WHERE code = ANY(:codes)"
            ),
            {"codes": [c for c in codes if c]},
        )
    }
    # A stored grid outside the editor's area is not found, before anything is said about it (its version).
    area = editor.area if isinstance(editor, Principal) else None
    for code in existing:
        if area is not None and not area.holds(code):
            raise GridNotFound(f"no grid {code} in your area", grid_code=code)
    problems: list[dict[str, Any]] = []
    changes, unchanged = _plan(codes, records, existing, force, problems)
    problems += check_validity(
        session, [({"feature": c.feature, "grid_code": c.code}, c.geom) for c in changes if c.geom is not None]
    )
    if problems:
        raise reject(sorted(problems, key=lambda p: p.get("feature", -1)), features=len(records))
    if force:  # the audit rows say the version check was overridden, and by whom (the editor)
        reason = f"[force] {reason}" if reason else "[force]"
    edit = (
        apply_changes(
            session,
            changes,
            editor=editor,
            reason=reason,
            action="import",
            dry_run=dry_run,
            tolerance_m=tolerance_m,
        )
        if changes
        else None
    )
    return {
        "format": fmt,
        "features": len(records),
        "created": [c.code for c in changes if c.create],
        "updated": [c.code for c in changes if not c.create],
        "unchanged": unchanged,
        "dry_run": dry_run,
        "edit": edit,
    }


def _plan(
    codes: list[str | None],
    records: list[dict[str, Any]],
    existing: dict[str, Any],
    force: bool,
    problems: list[dict[str, Any]],
) -> tuple[list[GridChange], list[str]]:
    """Each feature as a new grid, a change of a stored one (from its version, unless forced) or unchanged."""
    changes, unchanged, seen = [], [], set()
    for i, (code, rec) in enumerate(zip(codes, records, strict=True)):
        where = {"feature": i, "grid_code": code}
        if not code:
            problems.append(problem("attribute", "the feature has no code", feature=i, field="code"))
            continue
        if code in seen:
            problems.append(problem("code", f"grid {code} appears twice in the layer", **where))
            continue
        seen.add(code)
        geom, found = to_multipolygon(rec.get("geometry"), **where)
        problems += found
        attrs, version, status = _attributes(rec, problems, where)
        old = existing.get(code)
        if old is None:
            attrs.setdefault("community_code", code[:12])
            changes.append(GridChange(code, geom=geom, attrs=attrs, status=status, create=True, feature=i))
        elif geom is not None and _same(old, geom, attrs, status):
            unchanged.append(code)
        elif version is None and not force:
            problems.append(
                problem(
                    "version",
                    f"grid {code} exists (version {old.version}): give its version to change it, "
                    "as an export carries it (or force, admins only)",
                    field="version",
                    current_version=old.version,
                    **where,
                )
            )
        else:
            changes.append(
                GridChange(code, geom=geom, attrs=attrs, status=status, expected_version=version, feature=i)
            )
    return changes, unchanged


def export_grids(
    session: Session, fmt: str, area: Area, admin_code: str | None = None, include_retired: bool = False
) -> tuple[bytes, str, str]:
    """(file bytes, media type, file name) of the grids in the area, under admin_code if given (any level)."""
    if fmt not in FORMATS:
        raise InvalidInput(f"unknown format {fmt!r}; one of {', '.join(FORMATS)}", field="format")
    asked = area.narrowed(admin_code)  # 403 outside the area, before anything about the code is revealed
    if (
        admin_code
        and not session.execute(
            text("SELECT 1 FROM admin_units WHERE code = :c UNION ALL SELECT 1 FROM grids WHERE code = :c"),
            {"c": admin_code},
        ).first()
    ):
        raise AdminUnitNotFound(f"no admin unit or grid {admin_code}", field="admin_code")
    inside, params = asked.where("grids", "g")
    params["retired"] = include_retired
    select = EXPORT_SELECT.format(epsg=METRIC_EPSG, area=inside)
    media, ext = FORMATS[fmt]
    name = f"grids_{asked.code}.{ext}"
    if fmt == "geojson":
        return feature_collection(session, select, params, "code").encode(), media, name
    gdf = gpd.read_postgis(text(select), session.connection(), geom_col="geom", params=params)
    with tempfile.TemporaryDirectory() as tmp:
        if fmt == "gpkg":
            path = Path(tmp) / name
            pyogrio.write_dataframe(gdf, path, driver="GPKG", layer="grids")
            return path.read_bytes(), media, name
        shp = Path(tmp) / "grids.shp"
        pyogrio.write_dataframe(gdf.rename(columns=SHP_NAMES), shp, driver="ESRI Shapefile", encoding="UTF-8")
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
            for part in sorted(Path(tmp).iterdir()):
                z.write(part, part.name)
        return buf.getvalue(), media, name


def _text(value: Any) -> str | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value).strip() or None


def _attributes(
    rec: dict[str, Any], problems: list[dict[str, Any]], where: dict[str, Any]
) -> tuple[dict[str, Any], int | None, str | None]:
    """The feature's editable attributes, its expected version and status, adding problems as found."""
    attrs: dict[str, Any] = {}
    for key in EDITABLE:
        if key not in rec:
            continue
        # A null field means "not given" (a layer has every column for every feature): the grid keeps its value.
        value = _whole(rec[key], key, problems, where) if key in ("households", "population") else _text(rec[key])
        if value is not None:
            attrs[key] = value
    version = _whole(rec.get("version"), "version", problems, where)
    status = _text(rec.get("status"))
    if status not in (None, "active", "retired"):
        problems.append(
            problem("attribute", f"status {status!r} is not active or retired", field="status", **where)
        )
    return attrs, version, status


def _whole(value: Any, field: str, problems: list[dict[str, Any]], where: dict[str, Any]) -> int | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = math.nan
    if not number.is_integer():
        problems.append(problem("attribute", f"{field} {value!r} is not a whole number", field=field, **where))
        return None
    return int(number)


def _same(old: Any, geom: Any, attrs: dict[str, Any], status: str | None) -> bool:
    """True when the feature would change nothing (same shape, same given attributes and status)."""
    if status is not None and status != old.status:
        return False
    if any(getattr(old, k) != v for k, v in attrs.items()):
        return False
    return bool(shapely.equals(shapely.from_wkb(old.wkb), geom))
