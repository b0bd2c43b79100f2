"""Importing a road network (GeoJSON, GPKG, an OSM extract converted with ogr2ogr) into the roads table."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyogrio
import shapely
from sqlalchemy import text
from sqlalchemy.orm import Session

from geo.crs import METRIC_EPSG
from geo.errors import InvalidGeometry, InvalidInput

ONEWAY_TRUE = {"yes", "true", "1", "-1"}  # OSM: -1 means one-way against the drawing direction
COPY_SQL = "COPY roads (name, highway, oneway, source, length_m, geom) FROM STDIN"


def read_roads(path: str | Path, layer: str | None = None) -> gpd.GeoDataFrame:
    """Road lines from a file as WGS84 LineStrings with name, highway and oneway (multi-lines split)."""
    path = Path(path)
    if not path.exists():
        raise InvalidInput(f"no such file: {path}", field="file")
    try:
        frame = pyogrio.read_dataframe(path, layer=layer)
    except Exception as exc:  # pyogrio raises DataSourceError/DataLayerError and friends
        raise InvalidInput(f"cannot read {path.name} as a vector file: {exc}", field="file") from exc
    if frame.crs is None:
        raise InvalidGeometry(f"{path.name} declares no CRS; convert it to EPSG:4326 first", field="file")
    frame = frame.to_crs(4326)
    frame = frame[frame.geometry.notna() & ~frame.geometry.is_empty]
    kinds = set(frame.geom_type)
    if kinds - {"LineString", "MultiLineString"}:
        raise InvalidGeometry(
            f"{path.name} has {', '.join(sorted(kinds - {'LineString', 'MultiLineString'}))} features; "
            "roads must be LineStrings",
            field="geometry",
        )
    frame = frame.explode(index_parts=False, ignore_index=True)
    oneway = frame.get("oneway")
    out = gpd.GeoDataFrame(
        {
            "name": _text_column(frame, "name"),
            "highway": _text_column(frame, "highway"),
            "oneway": (
                oneway.astype(str).str.strip().str.lower().isin(ONEWAY_TRUE).to_numpy()
                if oneway is not None
                else np.zeros(len(frame), dtype=bool)
            ),
            "reverse": (
                oneway.astype(str).str.strip().eq("-1").to_numpy()
                if oneway is not None
                else np.zeros(len(frame), dtype=bool)
            ),
        },
        geometry=frame.geometry.to_numpy(),
        crs=4326,
    )
    # A one-way drawn against its direction is stored reversed, so every stored one-way runs forwards.
    out.loc[out["reverse"], "geometry"] = shapely.reverse(out.geometry[out["reverse"]].to_numpy())
    out = out.drop(columns="reverse")
    out = out[shapely.get_num_coordinates(out.geometry.to_numpy()) >= 2]
    out["length_m"] = out.geometry.to_crs(METRIC_EPSG).length.round(2)
    return out


def _text_column(frame: gpd.GeoDataFrame, name: str) -> np.ndarray:
    if name not in frame:
        return np.full(len(frame), None, dtype=object)
    return frame[name].astype(object).where(frame[name].notna(), None).to_numpy()


def copy_roads(
    session: Session,
    roads: gpd.GeoDataFrame,
    source: str,
    replace: bool = False,
    progress: Callable[[int], None] | None = None,
    chunk: int = 20_000,
) -> int:
    """COPY the roads into the table in the session's transaction; replace=True first deletes that source."""
    if replace:
        session.execute(text("DELETE FROM roads WHERE source = :s"), {"s": source})
    raw = session.connection().connection.driver_connection
    assert raw is not None, "COPY needs a live psycopg connection"
    hexes = shapely.to_wkb(shapely.set_srid(roads.geometry.to_numpy(), 4326), hex=True, include_srid=True)
    with raw.cursor() as cur:
        for start in range(0, len(roads), chunk):
            part = roads.iloc[start : start + chunk]
            buf = io.StringIO()
            for (name, highway, oneway, length), wkb in zip(
                part[["name", "highway", "oneway", "length_m"]].itertuples(index=False, name=None),
                hexes[start : start + chunk],
                strict=True,
            ):
                buf.write(
                    "\t".join(
                        [
                            _copy_text(name),
                            _copy_text(highway),
                            "t" if oneway else "f",
                            _copy_text(source),
                            repr(float(length)),
                            wkb,
                        ]
                    )
                    + "\n"
                )
            with cur.copy(COPY_SQL) as copy:
                copy.write(buf.getvalue())
            if progress:
                progress(len(part))
    return len(roads)


def _copy_text(value: object) -> str:
    """A value in COPY text format (NULL as \\N; backslash, tab and newlines escaped)."""
    if value is None:
        return "\\N"
    s = str(value)
    return s.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def import_roads(session: Session, path: str | Path, layer: str | None = None, replace: bool = True) -> int:
    """Read a road file and COPY it into roads (rows from the same file name are replaced)."""
    frame = read_roads(path, layer)
    return copy_roads(session, frame, Path(path).name, replace)
