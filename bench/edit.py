"""A validated boundary move between two grids that re-assigns 10,000 incidents: p50 over ~20 moves.

Ours: geo.editing.move_boundary (lock, validate validity/containment/overlap/gaps/coverage, version both
grids, re-assign what moved via geo.assignment.reassign_area, diff, audit) in one committed transaction.
Peer, same run, same moves: the naive way — write both new shapes, then
UPDATE incidents SET grid_code from a points-outer ST_Contains lookup over the two grids (no validation,
no versions, no audit). The boundary alternates between two lines so that each move re-assigns the same
10,000 incidents; the database is the 1,537 synthetic grids of bench/synthetic_grids.py. A floor is printed
too: one bare UPDATE of exactly those rows' grid_code, committed — what any approach pays for rewriting
10,000 rows of an 8-index table with the daily-count trigger, so the move's own overhead is visible.

    .venv/bin/python bench/edit.py [--runs 20] [--background 200000] [--db citygrid_edit_bench]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import synthetic_grids  # noqa: E402
from bench._server import bench_settings  # noqa: E402
from geo.editing.edits import move_boundary  # noqa: E402
from geo.pg import make_engine, make_sessionmaker  # noqa: E402

STRIP_INCIDENTS = 10_000
CELL_I, CELL_J = 20, 14  # B = this cell, A = the one north of it (same 4×4 community block)


def _cell_center(i: int, j: int) -> tuple[float, float]:
    dx = (synthetic_grids.X1 - synthetic_grids.X0) / synthetic_grids.NX
    dy = (synthetic_grids.Y1 - synthetic_grids.Y0) / synthetic_grids.NY
    return synthetic_grids.X0 + (i + 0.5) * dx, synthetic_grids.Y0 + (j + 0.5) * dy


def prepare(owner_engine, background: int) -> tuple[str, str]:
    """Load the grids and incidents once (idempotent); return the codes (A north, B south) of the pair."""
    with owner_engine.begin() as conn:
        if conn.execute(text("SELECT count(*) FROM grids")).scalar_one() == 0:
            print("loading 1,537 synthetic grids …", flush=True)
            synthetic_grids.load(conn)
            conn.execute(
                text(
                    "INSERT INTO grid_versions (grid_code, version, name, community_code, status, geom, valid_from, "
                    "editor, reason) SELECT code, 1, name, community_code, status, geom, now(), 'bench', 'initial' "
                    "FROM grids"
                )
            )
        codes = []
        for j in (CELL_J + 1, CELL_J):
            x, y = _cell_center(CELL_I, j)
            codes.append(
                conn.execute(
                    text("SELECT code FROM grids WHERE ST_Covers(geom, ST_SetSRID(ST_MakePoint(:x, :y), 4326))"),
                    {"x": x, "y": y},
                ).scalar_one()
            )
        if conn.execute(text("SELECT count(*) FROM incidents")).scalar_one() == 0:
            print(
                f"generating {background:,} background incidents and {STRIP_INCIDENTS:,} in the strip …",
                flush=True,
            )
            per_grid = max(1, background // 1537)
            conn.execute(
                text(
                    """
                    INSERT INTO incidents (category, occurred_at, grid_code, community_code, synthetic, geom)
                    SELECT 'dispute', now(), g.code, g.community_code, true, (ST_Dump(ST_GeneratePoints(g.geom, :n, 7))).geom
                    FROM grids g
                    """
                ),
                {"n": per_grid},
            )
            south, north = lines(conn, *codes)
            conn.execute(
                text(
                    """
                    WITH u AS (SELECT ST_UnaryUnion(ST_Collect(geom)) AS g FROM grid_versions
                               WHERE grid_code IN (:a, :b) AND version = 1),
                    strip AS (SELECT ST_Intersection(u.g, ST_MakeEnvelope(-180, :y0, 180, :y1, 4326)) AS g FROM u)
                    INSERT INTO incidents (category, occurred_at, synthetic, geom)
                    SELECT 'dispute', now(), true, (ST_Dump(ST_GeneratePoints(strip.g, :n, 11))).geom FROM strip
                    """
                ),
                {"a": codes[0], "b": codes[1], "y0": south[0][1], "y1": north[0][1], "n": STRIP_INCIDENTS},
            )
            conn.execute(
                text(
                    "UPDATE incidents i SET grid_code = (SELECT code FROM grids g WHERE ST_Covers(g.geom, i.geom) "
                    "ORDER BY code LIMIT 1) WHERE grid_code IS NULL"
                )
            )
        conn.execute(text("ANALYZE"))
    return codes[0], codes[1]


def lines(conn, a: str, b: str) -> tuple[list[tuple[float, float]], list[tuple[float, float]]]:
    """Two straight lines across both grids: 15% of a cell below and above their original shared edge."""
    x0, x1, ymin, ymax = conn.execute(
        text(
            """
            WITH v AS (SELECT grid_code, geom FROM grid_versions WHERE grid_code IN (:a, :b) AND version = 1),
            edge AS (SELECT ST_Intersection((SELECT geom FROM v WHERE grid_code = :a),
                                            (SELECT geom FROM v WHERE grid_code = :b)) AS g)
            SELECT ST_XMin(u) - 0.001, ST_XMax(u) + 0.001, ST_YMin(edge.g), ST_YMax(edge.g)
            FROM edge, (SELECT ST_Collect(geom) AS u FROM v) s
            """
        ),
        {"a": a, "b": b},
    ).one()
    dy = (synthetic_grids.Y1 - synthetic_grids.Y0) / synthetic_grids.NY
    south, north = ymin - 0.15 * dy, ymax + 0.15 * dy
    return [(x0, south), (x1, south)], [(x0, north), (x1, north)]


def ours(factory, a: str, b: str, line) -> tuple[float, int]:
    started = time.perf_counter()
    with factory() as session, session.begin():
        versions = dict(
            session.execute(text("SELECT code, version FROM grids WHERE code IN (:a, :b)"), {"a": a, "b": b}).all()
        )
        result = move_boundary(
            session,
            a,
            b,
            line={"type": "LineString", "coordinates": line},
            expected_versions=versions,
            editor="bench",
            reason="bench",
        )
    return time.perf_counter() - started, result["incidents"]["changed"]


def naive(factory, a: str, b: str, shapes: dict[str, bytes]) -> tuple[float, int]:
    started = time.perf_counter()
    with factory() as session, session.begin():
        for code, wkb in shapes.items():
            session.execute(
                text("UPDATE grids SET geom = ST_GeomFromWKB(:g, 4326) WHERE code = :c"), {"g": wkb, "c": code}
            )
        changed = session.execute(
            text(
                """
                UPDATE incidents i SET grid_code = (
                    SELECT g.code FROM grids g WHERE g.code IN (:a, :b) AND ST_Contains(g.geom, i.geom) LIMIT 1)
                WHERE i.grid_code IN (:a, :b)
                """
            ),
            {"a": a, "b": b},
        ).rowcount
    return time.perf_counter() - started, changed


def floor(factory, a: str, b: str, south, north) -> float:
    """The least any approach pays: one UPDATE swapping the grid of exactly the strip's rows, committed."""
    started = time.perf_counter()
    with factory() as session, session.begin():
        session.execute(
            text(
                """
                UPDATE incidents SET grid_code = CASE WHEN grid_code = :a THEN :b ELSE :a END
                WHERE geom && ST_MakeEnvelope(:x0, :y0, :x1, :y1, 4326)
                  AND ST_Covers((SELECT ST_Intersection(ST_UnaryUnion(ST_Collect(geom)),
                                 ST_MakeEnvelope(:x0, :y0, :x1, :y1, 4326)) FROM grids WHERE code IN (:a, :b)), geom)
                """
            ),
            {"a": a, "b": b, "x0": south[0][0], "x1": south[1][0], "y0": south[0][1], "y1": north[0][1]},
        )
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--background", type=int, default=200_000, help="incidents spread over all grids")
    parser.add_argument("--db", default="citygrid_edit_bench")
    args = parser.parse_args()
    settings = bench_settings(args.db)
    a, b = prepare(make_engine(settings, settings.owner_database_url), args.background)
    engine = make_engine(settings)
    factory = make_sessionmaker(engine)
    with engine.connect() as conn:
        south, north = lines(conn, a, b)
        total = conn.execute(text("SELECT count(*) FROM incidents")).scalar_one()
    print(f"grids {a} (north) / {b} (south); {total:,} incidents in the database")
    ours(factory, a, b, south)  # start from the south line (untimed), then alternate
    shapes: dict[str, dict[str, bytes]] = {}
    ours_t, peer_t = [], []
    for run in range(args.runs):
        line = north if run % 2 == 0 else south
        seconds, moved = ours(factory, a, b, line)
        ours_t.append(seconds)
        assert moved >= STRIP_INCIDENTS, f"expected ≥ {STRIP_INCIDENTS} re-assigned incidents, got {moved}"
        with engine.connect() as conn:
            key = "north" if run % 2 == 0 else "south"
            shapes.setdefault(
                key,
                dict(
                    conn.execute(
                        text("SELECT code, ST_AsBinary(geom) FROM grids WHERE code IN (:a, :b)"), {"a": a, "b": b}
                    ).all()
                ),
            )
    # The peer makes the same moves, starting where ours stopped (at the last line ours used).
    last = "north" if (args.runs - 1) % 2 == 0 else "south"
    for _ in range(args.runs):
        last = "south" if last == "north" else "north"
        seconds, _ = naive(factory, a, b, shapes[last])
        peer_t.append(seconds)
    # An even number of swaps leaves every incident in the grid it was in.
    floor_t = [floor(factory, a, b, south, north) for _ in range(args.runs + args.runs % 2)]
    p50, peer50, floor50 = statistics.median(ours_t), statistics.median(peer_t), statistics.median(floor_t)
    print(
        f"ours  (validated, versioned, audited move re-assigning {STRIP_INCIDENTS:,}): "
        f"p50 {p50 * 1000:.0f} ms, p90 {sorted(ours_t)[int(0.9 * len(ours_t)) - 1] * 1000:.0f} ms "
        f"over {len(ours_t)} moves (target < 300 ms)"
    )
    print(f"peer  (naive: write shapes, points-outer ST_Contains UPDATE): p50 {peer50 * 1000:.0f} ms")
    print(f"ratio peer/ours: {peer50 / p50:.2f}×")
    print(
        f"floor (one bare UPDATE swapping the same {STRIP_INCIDENTS:,} rows' grid, committed): p50 "
        f"{floor50 * 1000:.0f} ms — ours spends {(p50 - floor50) * 1000:.0f} ms beyond it"
    )
    engine.dispose()


if __name__ == "__main__":
    main()
