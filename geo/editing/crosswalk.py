"""The 11-department merger: for each integrated grid, which department grids overlap it and by what share."""

from __future__ import annotations

import csv
import io
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from geo import vocab
from geo.area import Area
from geo.crs import METRIC_EPSG
from geo.editing.change import DEFAULT_TOLERANCE_M
from geo.editing.exchange import read_layer
from geo.editing.validate import problem, reject, to_multipolygon
from geo.errors import InvalidInput, NotFound

CSV_COLUMNS = (
    "grid_code",
    "grid_name",
    "community_code",
    "department",
    "department_grid_code",
    "department_grid_name",
    "overlap_m2",
    "share_of_grid",
    "share_of_department_grid",
)
# Overlaps thinner than the edit tolerance are digitising noise along shared edges, not real overlaps.
_PAIRS = f"""
    WITH d AS ({{dept}}),
    pairs AS (
        SELECT g.code, d.code AS dcode, d.name AS dname,
               ST_Transform(g.geom, {METRIC_EPSG}) AS gm, ST_Transform(d.geom, {METRIC_EPSG}) AS dm
        FROM d JOIN grids g ON g.status = 'active' AND {{inside}} AND g.geom && d.geom AND ST_Intersects(g.geom, d.geom)
    ),
    cut AS (
        SELECT code, dcode, dname, ST_Area(gm) AS garea, ST_Area(dm) AS darea,
               ST_CollectionExtract(ST_Intersection(gm, dm), 3) AS inter FROM pairs
    )
    SELECT code, dcode, dname, ST_Area(inter), garea, darea FROM cut
    WHERE NOT ST_IsEmpty(ST_Buffer(inter, -:half))
"""
_FROM_TABLE = "SELECT code, name, geom FROM department_grids WHERE department = :department"
_FROM_UPLOAD = (
    "SELECT code, name, ST_GeomFromWKB(w, 4326) AS geom "
    "FROM unnest(CAST(:codes AS text[]), CAST(:names AS text[]), CAST(:wkbs AS bytea[])) AS t(code, name, w)"
)


def check_department(department: str) -> None:
    if department not in vocab.DEPARTMENTS:
        raise NotFound(
            f"unknown department {department!r}; one of {', '.join(vocab.DEPARTMENTS)}", field="department"
        )


def crosswalk_table(
    session: Session, department: str, area: Area, tolerance_m: float = DEFAULT_TOLERANCE_M
) -> dict[str, Any]:
    """The crosswalk of a department's grids stored in department_grids, for the grids inside the area."""
    check_department(department)
    params = {"department": department}
    total = session.execute(text("SELECT count(*) FROM department_grids WHERE department = :department"), params)
    return _crosswalk(session, department, area, _FROM_TABLE, params, total.scalar_one(), tolerance_m)


def crosswalk_upload(
    session: Session,
    department: str,
    area: Area,
    data: bytes,
    filename: str | None = None,
    crs: str | None = None,
    tolerance_m: float = DEFAULT_TOLERANCE_M,
) -> dict[str, Any]:
    """The crosswalk of an uploaded department grid layer (each feature needs a code; a name is optional)."""
    check_department(department)
    _, gdf = read_layer(data, filename, crs)
    key = next((k for k in ("code", "id", "grid_code") if k in gdf.columns), None)
    if key is None:
        raise reject([problem("attribute", "the layer has no 'code' field", field="code")])
    codes, names, wkbs, problems = [], [], [], []
    for i, rec in enumerate(gdf.to_dict("records")):
        code = rec.get(key)
        geom, found = to_multipolygon(rec.get("geometry"), feature=i)
        problems += found
        if code is None or str(code).strip() in ("", "nan"):
            problems.append(problem("attribute", "the feature has no code", feature=i, field="code"))
        if geom is not None:
            codes.append(str(code))
            names.append(None if rec.get("name") is None else str(rec.get("name")))
            wkbs.append(geom.wkb)
    if problems:
        raise reject(problems, features=len(gdf))
    if not codes:
        raise InvalidInput("the layer has no features", field="file")
    params = {"codes": codes, "names": names, "wkbs": wkbs}
    return _crosswalk(session, department, area, _FROM_UPLOAD, params, len(codes), tolerance_m)


def _crosswalk(
    session: Session,
    department: str,
    area: Area,
    dept_sql: str,
    params: dict[str, Any],
    total: int,
    tolerance_m: float,
) -> dict[str, Any]:
    inside, bound = area.where("grids", "g")
    rows = session.execute(
        text(_PAIRS.format(dept=dept_sql, inside=inside) + " ORDER BY code, 4 DESC, dcode"),
        {**params, **bound, "half": tolerance_m / 2},
    ).all()
    grids = session.execute(
        text(
            f"SELECT code, name, community_code, ST_Area(ST_Transform(geom, {METRIC_EPSG})) FROM grids g "
            f"WHERE status = 'active' AND {inside} ORDER BY code"
        ),
        bound,
    ).all()
    by_grid: dict[str, list[dict[str, Any]]] = {}
    matched = set()
    for code, dcode, dname, overlap, garea, darea in rows:
        matched.add(dcode)
        by_grid.setdefault(code, []).append(
            {
                "code": dcode,
                "name": dname,
                "overlap_m2": round(overlap, 1),
                "share_of_grid": round(overlap / garea, 6) if garea else None,
                "share_of_department_grid": round(overlap / darea, 6) if darea else None,
            }
        )
    out = []
    for code, name, community, area_m2 in grids:
        parts = by_grid.get(code, [])
        out.append(
            {
                "code": code,
                "name": name,
                "community_code": community,
                "area_m2": round(area_m2, 1),
                "covered_share": round(sum(p["share_of_grid"] or 0 for p in parts), 6),
                "department_grids": parts,
            }
        )
    label = vocab.DEPARTMENTS[department]
    return {
        "department": department,
        "department_label": f"{label[0]} {label[1]}",
        "department_grids": total,
        "matched_department_grids": len(matched),
        "grids": out,
    }


def to_csv(result: dict[str, Any]) -> str:
    """One row per (integrated grid, overlapping department grid); grids overlapping none get one empty row."""
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(CSV_COLUMNS)
    for g in result["grids"]:
        base = [g["code"], g["name"], g["community_code"], result["department"]]
        if not g["department_grids"]:
            writer.writerow([*base, "", "", "", "", ""])
        for d in g["department_grids"]:
            writer.writerow(
                [
                    *base,
                    d["code"],
                    d["name"] or "",
                    d["overlap_m2"],
                    d["share_of_grid"],
                    d["share_of_department_grid"],
                ]
            )
    return buf.getvalue()
