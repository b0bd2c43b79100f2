"""A self-contained stand-in for Baoji's 1,537 grids: a jittered, exact tessellation of the urban extent.

53 × 29 = 1,537 quadrilateral-ish cells over 107.05–107.30E, 34.33–34.41N (the urban strip along the Wei),
each edge split into segments with jittered interior vertices that both neighbours share, so the cells
tile the extent with no gap or overlap and have ~30 vertices each, like digitised grids. Flagged synthetic.
"""

from __future__ import annotations

import numpy as np
from sqlalchemy import text
from sqlalchemy.engine import Connection

NX, NY, SEG = 53, 29, 8
X0, X1, Y0, Y1 = 107.05, 107.30, 34.33, 34.41


def _lattice(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Corner vertices and shared edge polylines: horizontal edges h[i][j], vertical edges v[i][j]."""
    dx, dy = (X1 - X0) / NX, (Y1 - Y0) / NY
    gx, gy = np.meshgrid(X0 + dx * np.arange(NX + 1), Y0 + dy * np.arange(NY + 1), indexing="ij")
    inner = np.zeros_like(gx, dtype=bool)
    inner[1:-1, 1:-1] = True
    gx = gx + inner * rng.uniform(-0.25, 0.25, gx.shape) * dx
    gy = gy + inner * rng.uniform(-0.25, 0.25, gy.shape) * dy
    corners = np.stack([gx, gy], axis=-1)
    t = np.linspace(0, 1, SEG + 1)[1:-1]

    def edge(a: np.ndarray, b: np.ndarray, normal: np.ndarray, scale: float, border: bool) -> np.ndarray:
        pts = a + (b - a) * t[:, None]
        if not border:
            pts = pts + normal * rng.uniform(-0.06, 0.06, (len(t), 1)) * scale
        return pts

    horiz = np.empty((NX, NY + 1, SEG - 1, 2))
    for i in range(NX):
        for j in range(NY + 1):
            horiz[i, j] = edge(corners[i, j], corners[i + 1, j], np.array([0, 1]), dy, j in (0, NY))
    vert = np.empty((NX + 1, NY, SEG - 1, 2))
    for i in range(NX + 1):
        for j in range(NY):
            vert[i, j] = edge(corners[i, j], corners[i, j + 1], np.array([1, 0]), dx, i in (0, NX))
    return corners, horiz, vert


def cell_rings(seed: int = 1537) -> dict[tuple[int, int], np.ndarray]:
    """Closed counter-clockwise rings of every cell (i west→east, j south→north)."""
    corners, horiz, vert = _lattice(np.random.default_rng(seed))
    rings = {}
    for i in range(NX):
        for j in range(NY):
            ring = np.concatenate(
                [
                    corners[i, j][None],
                    horiz[i, j],
                    corners[i + 1, j][None],
                    vert[i + 1, j],
                    corners[i + 1, j + 1][None],
                    horiz[i, j + 1][::-1],
                    corners[i, j + 1][None],
                    vert[i, j][::-1],
                    corners[i, j][None],
                ]
            )
            rings[(i, j)] = ring
    return rings


def _wkt(ring: np.ndarray) -> str:
    return "SRID=4326;MULTIPOLYGON(((" + ",".join(f"{x:.9f} {y:.9f}" for x, y in ring) + ")))"


def load(conn: Connection, seed: int = 1537) -> int:
    """Insert the city, 1 county, towns, communities (4×4 cells) and the 1,537 grids; return the grid count."""
    rows = []
    for (i, j), ring in cell_rings(seed).items():
        community = f"610302{1 + i // 16:03d}{1 + (i % 16) // 4 * 10 + j // 4:03d}"
        rows.append((community, i, j, _wkt(ring)))
    rows.sort(key=lambda r: (r[0], -r[2], r[1]))  # numbered west→east, north→south within a community
    seq: dict[str, int] = {}
    conn.execute(text("CREATE TEMP TABLE bench_cells (code text, community text, geom geometry) ON COMMIT DROP"))
    for community, _i, _j, wkt in rows:
        seq[community] = seq.get(community, 0) + 1
        conn.execute(
            text("INSERT INTO bench_cells VALUES (:c, :m, ST_GeomFromEWKT(:g))"),
            {"c": f"{community}{seq[community]:03d}", "m": community, "g": wkt},
        )
    conn.execute(
        text(
            """
        INSERT INTO admin_units (code, name, level, parent_code, urban, synthetic, geom)
        SELECT '610300', '宝鸡市（合成）', 'city', NULL, true, true, ST_Multi(ST_Union(geom)) FROM bench_cells
        UNION ALL
        SELECT '610302', '渭滨区（合成）', 'county', '610300', true, true, ST_Multi(ST_Union(geom)) FROM bench_cells;
        INSERT INTO admin_units (code, name, level, parent_code, urban, synthetic, geom)
        SELECT left(community, 9), '街道' || left(community, 9), 'town', '610302', true, true,
               ST_Multi(ST_Union(geom)) FROM bench_cells GROUP BY 1;
        INSERT INTO admin_units (code, name, level, parent_code, urban, synthetic, geom)
        SELECT community, '社区' || community, 'community', left(community, 9), true, true,
               ST_Multi(ST_Union(geom)) FROM bench_cells GROUP BY community;
        INSERT INTO grids (code, name, community_code, synthetic, geom)
        SELECT code, '网格' || code, community, true, ST_Multi(geom) FROM bench_cells;
        """
        )
    )
    return int(conn.execute(text("SELECT count(*) FROM grids")).scalar_one())
