"""Bench: what the jurisdiction scope costs. A town user's scoped requests against the same request by a city user.

    CITYGRID_DATABASE_URL=… CITYGRID_OWNER_DATABASE_URL=… .venv/bin/python -m bench.scope [--rounds 15]

Needs the demo loaded (with its staff). Lists: GET /api/v1/incidents and /api/v1/grids by the town's centre
operator (no admin_code: the scope limits them) against a city admin with admin_code=<that town>. Tiles: the
incidents and grids tiles over the town, cold (the cache emptied before each), by the town user against the city
user (unscoped: the city's tile is the floor a scoped render is compared with). In-process ASGI client, so the
figures are the app's and the database's, not a network's. Medians of --rounds runs, the two callers interleaved.
"""

from __future__ import annotations

import argparse
import math
import statistics
import time

from fastapi.testclient import TestClient
from sqlalchemy import text

from api.app import create_app
from geo.auth import bootstrap_principal
from geo.settings import Settings
from geo.users import rotate_token


def tile_of(lon: float, lat: float, z: int) -> tuple[int, int]:
    n = 2**z
    y = (1 - math.log(math.tan(math.radians(lat)) + 1 / math.cos(math.radians(lat))) / math.pi) / 2 * n
    return int((lon + 180) / 360 * n), int(y)


def busiest_town(app) -> tuple[str, float, float]:
    with app.state.sessionmaker() as s:
        row = s.execute(
            text("""SELECT i.town_code, ST_X(ST_Centroid(ST_Collect(i.geom))), ST_Y(ST_Centroid(ST_Collect(i.geom)))
                    FROM incidents i WHERE i.town_code IS NOT NULL GROUP BY 1 ORDER BY count(*) DESC LIMIT 1""")
        ).one()  # fmt: skip
    return row[0], row[1], row[2]


def town_token(settings: Settings, town: str) -> str:
    from geo.pg.db import make_engine, make_sessionmaker, transaction

    with transaction(make_sessionmaker(make_engine(settings, settings.owner_database_url))) as session:
        return rotate_token(session, bootstrap_principal(), f"op.{town}")[1]


def timed(client: TestClient, url: str, headers: dict, before=None) -> float:
    if before:
        before()
    t0 = time.perf_counter()
    r = client.get(url, headers=headers)
    elapsed = time.perf_counter() - t0
    assert r.status_code == 200, (url, r.status_code, r.text[:200])
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    settings = Settings()
    app = create_app(settings)
    town, lon, lat = busiest_town(app)
    town_h = {"Authorization": f"Bearer {town_token(settings, town)}"}
    city_h = {"Authorization": f"Bearer {settings.bootstrap_admin_token}"}
    x, y = tile_of(lon, lat, 14)

    def cold() -> None:
        cache = getattr(app.state, "tile_cache", None)
        if cache is not None:
            cache.clear()

    cases = [
        ("incidents list", "/api/v1/incidents?limit=100", f"/api/v1/incidents?limit=100&admin_code={town}", None),
        ("grids list", "/api/v1/grids?limit=100", f"/api/v1/grids?limit=100&admin_code={town}", None),
        (
            "incidents tile z14 (cold)",
            f"/tiles/incidents/14/{x}/{y}.mvt",
            f"/tiles/incidents/14/{x}/{y}.mvt",
            cold,
        ),
        ("grids tile z14 (cold)", f"/tiles/grids/14/{x}/{y}.mvt", f"/tiles/grids/14/{x}/{y}.mvt", cold),
    ]
    print(f"town {town} (its centre operator) vs city admin; medians of {args.rounds} rounds, ms")
    print(f"{'request':28} {'town user':>10} {'city user':>10} {'ratio':>6}")
    with TestClient(app) as client:
        for name, town_url, city_url, before in cases:
            timed(client, town_url, town_h, before)  # warm both paths (plans, principal cache)
            timed(client, city_url, city_h, before)
            ours, peer = [], []
            for _ in range(args.rounds):
                ours.append(timed(client, town_url, town_h, before))
                peer.append(timed(client, city_url, city_h, before))
            a, b = statistics.median(ours) * 1e3, statistics.median(peer) * 1e3
            print(f"{name:28} {a:10.2f} {b:10.2f} {a / b:6.2f}")
    app.state.engine.dispose()


if __name__ == "__main__":
    main()
