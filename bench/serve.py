"""Bench: citygrid's /tiles and /ogc items against tipg 1.6.1 serving the same PostGIS tables, side by side.

    .venv/bin/python -m bench.serve [--tiles-per-zoom 10] [--clients 8] [--rounds 3] [--incidents 200000]

Both servers run as one uvicorn worker on 127.0.0.1, as the same least-privilege database role, with a
10,000-feature tile cap, ST_Intersects against the tile/bbox envelope, the same property columns and
`Accept-Encoding: gzip`; citygrid authenticates every request with a viewer token (tipg has no auth).
Tiles: a fixed seeded list over the urban districts (z10–z16), cold (each tile new to citygrid's cache)
and warm (the same tiles again). Items: limit 100 with ~1 km bboxes. Medians of --rounds runs.
tipg gets its own venv (.data/bench-venv-tipg, made with uv when missing): its pins clash with ours.
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlencode

import mapbox_vector_tile
from sqlalchemy.engine import make_url

from bench.serve_data import URBAN, drop_viewer, prepare, viewer_token, warm_postgres
from geo.settings import DEV_TOKEN, REPO_ROOT
from geo.tiles.cache import tile_range

TIPG_VENV = REPO_ROOT / ".data" / "bench-venv-tipg"
PROPS = {
    "grids": "code,name,community_code,households,population,version",
    "incidents": "category,status,occurred_at",
}


def _locked(name: str) -> str:
    """name==version as pinned in our requirements.lock, so both servers run the same HTTP stack."""
    for line in (REPO_ROOT / "requirements.lock").read_text().splitlines():
        if line.startswith(f"{name}=="):
            return line.split()[0]
    return name


def ensure_tipg() -> Path:
    """tipg's own venv with tipg 1.6.1 and uvicorn + httptools + uvloop at our locked versions."""
    python = TIPG_VENV / "bin" / "python"
    wanted = ["tipg==1.6.1", *(_locked(n) for n in ("uvicorn", "httptools", "uvloop"))]
    uv = REPO_ROOT / ".venv" / "bin" / "uv"
    if not python.exists():
        subprocess.run([str(uv), "venv", "-q", "--python", "3.11", str(TIPG_VENV)], check=True)
    have = subprocess.run(
        [str(uv), "pip", "freeze", "--python", str(python)], capture_output=True, text=True
    ).stdout
    if any(req.lower() not in have.lower() for req in wanted):
        subprocess.run([str(uv), "pip", "install", "-q", "--python", str(python), *wanted], check=True)
    return TIPG_VENV / "bin" / "uvicorn"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(cmd: list[str], env: dict[str, str], port: int, probe: str, headers: dict[str, str]) -> subprocess.Popen:
    proc = subprocess.Popen(cmd, env={**os.environ, **env}, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{cmd[0]} exited: {proc.stderr.read().decode()[-2000:] if proc.stderr else ''}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", probe, headers=headers)
            if conn.getresponse().status == 200:
                return proc
        except OSError:
            pass
        time.sleep(0.5)
    proc.terminate()
    raise RuntimeError(f"{cmd[0]} did not answer on port {port}")


def clear_cache(port: int) -> None:
    """Empty citygrid's tile cache (admin-only endpoint; the development bootstrap token)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    conn.request("DELETE", "/tiles/cache", headers={"Authorization": f"Bearer {DEV_TOKEN}"})
    r = conn.getresponse()
    body = r.read()
    if r.status != 200 or json.loads(body).get("entries", 0):
        raise RuntimeError(f"could not empty the tile cache: {r.status}")


def fetch(port: int, path: str, headers: dict[str, str]) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    conn.request("GET", path, headers=headers)
    r = conn.getresponse()
    return r.status, r.read()


async def _client(port: int, paths: list[str], cursor: list[int], head: bytes, errors: list) -> None:
    """One keep-alive connection fetching paths[cursor] until none are left (a minimal HTTP/1.1 reader)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        while cursor[0] < len(paths):
            path = paths[cursor[0]]
            cursor[0] += 1
            writer.write(b"GET " + path.encode() + b" HTTP/1.1\r\n" + head)
            status_line = await reader.readline()
            length, chunked = None, False
            while (line := await reader.readline()) not in (b"\r\n", b""):
                name, _, value = line.decode("latin-1").partition(":")
                if name.lower() == "content-length":
                    length = int(value)
                elif name.lower() == "transfer-encoding" and "chunked" in value.lower():
                    chunked = True
            if chunked:
                while size := int((await reader.readline()).split(b";")[0], 16):
                    await reader.readexactly(size + 2)
                await reader.readline()
            elif length:
                await reader.readexactly(length)
            if b" 200 " not in status_line:
                errors.append((status_line.decode().strip(), path))
    finally:
        writer.close()


def load(port: int, paths: list[str], headers: dict[str, str], clients: int) -> float:
    """Requests per second for paths fetched once each over `clients` concurrent keep-alive connections.

    One asyncio thread drives all connections, so the load generator spends far less of the shared CPUs
    than a thread per client would.
    """
    head = "".join(f"{k}: {v}\r\n" for k, v in {"Host": "127.0.0.1", **headers}.items()).encode() + b"\r\n"
    cursor: list[int] = [0]
    errors: list = []

    async def run() -> float:
        t0 = time.perf_counter()
        await asyncio.gather(*(_client(port, paths, cursor, head, errors) for _ in range(clients)))
        return time.perf_counter() - t0

    elapsed = asyncio.run(run())
    if errors:
        raise RuntimeError(f"{len(errors)} failed requests, e.g. {errors[:3]}")
    return len(paths) / elapsed


def tile_list(seed: int, per_zoom: int, zooms: range) -> list[tuple[int, int, int]]:
    """A seeded sample of tiles over the urban districts, per_zoom at each zoom."""
    rng = random.Random(seed)
    out = []
    for z in zooms:
        x0, x1, y0, y1 = tile_range(URBAN, z, margin=0)
        cells = [(x, y) for x in range(x0, x1 + 1) for y in range(y0, y1 + 1)]
        out += [(z, x, y) for x, y in rng.sample(cells, min(per_zoom, len(cells)))]
    return out


def bboxes(seed: int, n: int) -> list[str]:
    rng = random.Random(seed)
    w, s, e, n_ = URBAN
    out = []
    for _ in range(n):
        x, y = rng.uniform(w, e - 0.011), rng.uniform(s, n_ - 0.009)
        out.append(f"{x:.5f},{y:.5f},{x + 0.011:.5f},{y + 0.009:.5f}")  # ~1 km × 1 km at 34.4°N
    return out


def ours_tile(layer: str, z: int, x: int, y: int) -> str:
    return f"/tiles/{layer}/{z}/{x}/{y}.mvt"


def tipg_tile(layer: str, z: int, x: int, y: int) -> str:
    return f"/collections/public.{layer}/tiles/WebMercatorQuad/{z}/{x}/{y}?" + urlencode(
        {"properties": PROPS[layer]}
    )


def ours_items(layer: str, bbox: str) -> str:
    return f"/ogc/collections/{layer}/items?" + urlencode({"bbox": bbox, "limit": 100})


def tipg_items(layer: str, bbox: str) -> str:
    return f"/collections/public.{layer}/items?" + urlencode(
        {"bbox": bbox, "limit": 100, "properties": PROPS[layer]}
    )


def parity(ports: tuple[int, int], hdrs: tuple[dict, dict], tiles: list, boxes: list[str]) -> str:
    """Check both servers return the same feature counts, so the ratio compares like with like."""
    checked = 0
    for layer in ("grids", "incidents"):
        for z, x, y in tiles[:: max(1, len(tiles) // 12)]:
            if layer == "incidents" and z < 13:
                continue  # citygrid serves bins there by design; counted separately below
            counts = []
            for port, h, path in ((ports[0], hdrs[0], ours_tile(layer, z, x, y)),
                                  (ports[1], hdrs[1], tipg_tile(layer, z, x, y))):  # fmt: skip
                status, body = fetch(port, path, {k: v for k, v in h.items() if k != "Accept-Encoding"})
                assert status == 200, (status, path)
                # tipg names its MVT layer "default"; count the features of every layer in the tile.
                decoded = mapbox_vector_tile.decode(body) if body else {}
                counts.append(sum(len(lyr["features"]) for lyr in decoded.values()))
            if counts[0] != counts[1]:
                raise AssertionError(f"{layer} {z}/{x}/{y}: citygrid {counts[0]} features, tipg {counts[1]}")
            checked += 1
    for bbox in boxes[:5]:
        a = json.loads(
            fetch(ports[0], ours_items("incidents", bbox), {"Authorization": hdrs[0]["Authorization"]})[1]
        )
        b = json.loads(fetch(ports[1], tipg_items("incidents", bbox), {})[1])
        if (a["numberMatched"], a["numberReturned"]) != (b["numberMatched"], b["numberReturned"]):
            raise AssertionError(f"items {bbox}: citygrid {a['numberMatched']}, tipg {b['numberMatched']}")
        checked += 1
    return f"parity ok on {checked} tiles/pages (same feature counts)"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tiles-per-zoom", type=int, default=10)
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--items", type=int, default=150, help="bbox requests per items run")
    ap.add_argument("--incidents", type=int, default=200_000)
    ap.add_argument("--db", default="citygrid_ogc_bench")
    args = ap.parse_args()

    settings, described = prepare(args.db, args.incidents)
    print(f"data: {described}")
    token = viewer_token(settings)
    warm_postgres(settings)
    tipg_uvicorn = ensure_tipg()
    url = make_url(settings.database_url)
    db_env = {
        "CITYGRID_DATABASE_URL": settings.database_url,
        "CITYGRID_OWNER_DATABASE_URL": settings.owner_database_url,
    }
    ours_port, tipg_port = free_port(), free_port()
    auth = {"Authorization": f"Bearer {token}", "Accept-Encoding": "gzip"}
    plain = {"Accept-Encoding": "gzip"}
    common = ["--host", "127.0.0.1", "--workers", "1", "--no-access-log", "--log-level", "warning"]
    ours = start([str(REPO_ROOT / ".venv/bin/uvicorn"), "api.main:app", "--port", str(ours_port), *common],
                 {**db_env, "CITYGRID_ENV": "development"}, ours_port, "/ogc", auth)  # fmt: skip
    tipg = start([str(tipg_uvicorn), "tipg.main:app", "--port", str(tipg_port), *common],
                 {"DATABASE_URL": url.set(drivername="postgresql").render_as_string(hide_password=False),
                  "TIPG_DB_SCHEMAS": '["public"]', "TIPG_DB_EXCLUDE_FUNCTION_SCHEMAS": '["public"]',
                  "TIPG_DB_TABLES": '["public.grids", "public.incidents"]',
                  "TIPG_MAX_FEATURES_PER_TILE": "10000"}, tipg_port, "/collections", plain)  # fmt: skip
    try:
        zooms = range(10, 17)
        lists = [tile_list(seed, args.tiles_per_zoom, zooms) for seed in range(args.rounds)]
        print(parity((ours_port, tipg_port), (auth, plain), tile_list(1000, 4, zooms), bboxes(99, 5)))
        print(
            f"{args.clients} clients, {len(lists[0])} tiles per layer per run (z10–z16), medians of {args.rounds} runs"
        )
        rows = []
        groups = [("grids", "grids z10–16", zooms), ("incidents", "incidents z13–16 (points)", range(13, 17)),
                  ("incidents", "incidents z10–12 (citygrid bins / tipg points)", range(10, 13))]  # fmt: skip
        for layer, label, zs in groups:
            cold_o, cold_t, warm_o, warm_t = [], [], [], []
            for tiles in lists:
                sel = [t for t in tiles if t[0] in zs]
                clear_cache(ours_port)
                cold_o.append(load(ours_port, [ours_tile(layer, *t) for t in sel], auth, args.clients))
                cold_t.append(load(tipg_port, [tipg_tile(layer, *t) for t in sel], plain, args.clients))
            every = [t for tiles in lists for t in tiles if t[0] in zs]
            load(ours_port, [ours_tile(layer, *t) for t in every], auth, args.clients)  # fill the cache, untimed
            load(tipg_port, [tipg_tile(layer, *t) for t in every], plain, args.clients)
            repeat = max(1, 1000 // len(every))  # ≥ 1,000 cached requests: a steady state, not connection set-up
            for _ in range(args.rounds):
                warm_o.append(load(ours_port, [ours_tile(layer, *t) for t in every] * repeat, auth, args.clients))
                warm_t.append(load(tipg_port, [tipg_tile(layer, *t) for t in every], plain, args.clients))
            rows.append((f"tiles {label}, cold", statistics.median(cold_o), statistics.median(cold_t)))
            rows.append((f"tiles {label}, warm", statistics.median(warm_o), statistics.median(warm_t)))
        for layer in ("incidents", "grids"):
            io, it = [], []
            for r in range(args.rounds):
                boxes = bboxes(r, args.items)
                io.append(load(ours_port, [ours_items(layer, b) for b in boxes], auth, args.clients))
                it.append(load(tipg_port, [tipg_items(layer, b) for b in boxes], plain, args.clients))
            rows.append((f"items {layer}, limit 100, ~1 km bbox", statistics.median(io), statistics.median(it)))
        print(f"{'workload':58} {'citygrid/s':>11} {'tipg/s':>9} {'ratio':>7}")
        for label, a, b in rows:
            print(f"{label:58} {a:11.1f} {b:9.1f} {a / b:6.2f}×")
        status, body = fetch(ours_port, "/tiles/cache", auth)
        print(f"citygrid tile cache: {body.decode() if status == 200 else status}")
    finally:
        for proc in (ours, tipg):
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
        drop_viewer(settings)


if __name__ == "__main__":
    sys.exit(main())
