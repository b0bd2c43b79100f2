"""The CQL2-text corpus (issue 15): what /ogc filters support, what an outside probe sent, and seeded mutants.

Shared by bench/cql2_parsers.py (ours against the kept parsers `cql2` and `pygeofilter`) and the tests
(tests/unit/test_cql2_oracle.py, tests/api/test_cql2_corpus_api.py). Each entry is (collection, filter).
VALID: ours and `cql2` must both accept, with the same structure. EDGE: legal CQL2 with extreme values; a
parser may accept or refuse, but the API never answers ≥ 500. HOSTILE: ours must refuse with Cql2Error (400).
"""

from __future__ import annotations

import random

INC, GRID = "incidents", "grids"
GC = "GEOMETRYCOLLECTION("
POLY = "POLYGON((107.1 34.3, 107.2 34.3, 107.2 34.4, 107.1 34.3))"
HOLED = "POLYGON((1 1, 2 1, 2 2, 1 1), (1.1 1.1, 1.2 1.1, 1.2 1.2, 1.1 1.1))"

VALID: list[tuple[str, str]] = [
    (INC, "category = 'dispute'"),
    (INC, "category <> 'dispute'"),
    (INC, "id < 10"), (INC, "id <= 10"), (INC, "id > 10"), (INC, "id >= 10"),
    (INC, "id = -3"), (INC, "id > 2.5"), (INC, "id > 1e3"), (INC, "id >= +4"),
    (INC, "category = 'a' OR NOT status = 'b' AND id > 3"),
    (INC, "(category = 'a' OR status = 'b') AND id > 3"),
    (INC, "category = 'it''s' and \"status\" <> 'x' Or compound_id is not null"),
    (INC, "category = 'x''); DROP TABLE grids; --'"),
    (INC, "category = '网格 纠纷'"),
    (INC, "id BETWEEN 1 AND 5"),
    (INC, "id NOT BETWEEN 1 AND 5"),
    (INC, "external_id BETWEEN 'T000' AND 'T002' AND compound_id IS NULL"),
    (INC, "category IN ('hazard', 'property')"),
    (INC, "category NOT IN ('a', 'b')"),
    (INC, "id IN (1, 2, 3)"),
    (INC, "subcategory LIKE 'x%'"),
    (INC, "subcategory NOT LIKE 'x_y%'"),
    (INC, "subcategory LIKE 'a\\%b'"),
    (INC, "compound_id IS NULL"), (INC, "compound_id IS NOT NULL"),
    (INC, "NOT compound_id IS NULL"), (INC, "NOT NOT id = 1"),
    (INC, "outside_jurisdiction = TRUE"), (INC, "synthetic <> false"),
    (INC, "FALSE"), (INC, "TRUE"), (INC, "TRUE AND id = 1"),
    (INC, "occurred_at >= TIMESTAMP('2024-01-01T08:00:00+08:00')"),
    (INC, "occurred_at < TIMESTAMP('2024-03-04T00:00:00Z')"),
    (INC, "occurred_at < TIMESTAMP('2024-03-04T00:00:00.250Z')"),
    (INC, "reported_at < DATE('2024-02-01')"),
    (INC, "reported_at BETWEEN DATE('2024-01-01') AND DATE('2024-12-31')"),
    (INC, "category IN ('hazard', 'property') AND occurred_at < TIMESTAMP('2024-03-04T00:00:00Z')"),
    (INC, "S_INTERSECTS(geometry, BBOX(107, 34, 108, 35))"),
    (INC, "s_intersects(geometry, BBOX(107.101, 34.361, 107.119, 34.369))"),
    (INC, "S_INTERSECTS(geom, POINT(107.115 34.355))"),
    (INC, "S_WITHIN(geometry, " + POLY + ")"),
    (INC, "S_CONTAINS(" + HOLED + ", geom)"),
    (INC, "S_DISJOINT(geometry, LINESTRING(107 34, 108 35))"),
    (INC, "S_CROSSES(geometry, MULTILINESTRING((1 2, 3 4), (5 6, 7 8)))"),
    (INC, "S_TOUCHES(geometry, MULTIPOINT((1 2), (3 4)))"),
    (INC, "S_OVERLAPS(geometry, MULTIPOINT(1 2, 3 4))"),
    (INC, "S_EQUALS(geometry, MULTIPOLYGON(((1 1, 2 1, 2 2, 1 1)), ((3 3, 4 3, 4 4, 3 3))))"),
    (INC, "S_INTERSECTS(geometry, GEOMETRYCOLLECTION(POINT(1 2), LINESTRING(1 2, 3 4)))"),
    (INC, "S_INTERSECTS(geometry, BBOX(-180, -90, 180, 90)) AND NOT category = 'x'"),
    (INC, "category IN ('dispute','hazard') AND S_INTERSECTS(geometry, BBOX(107.13,34.35,107.16,34.37))"),
    (INC, "((((id = 1))))"),
    (INC, "id = 1 AND id = 2 AND id = 3 OR id = 4 OR (id = 5 AND NOT (id = 6 OR id = 7))"),
    (GRID, "households >= 100 AND NOT community_code = '610302001002'"),
    (GRID, "(households < 100 OR households > 150) AND name LIKE '东%'"),
    (GRID, "updated_at > TIMESTAMP('2020-01-01T00:00:00Z') AND version >= 1"),
    (GRID, "grid_worker IS NULL OR population BETWEEN 0 AND 99999"),
]  # fmt: skip

# Legal CQL2 at the edges of its value ranges: accepted or refused, never a server error.
EDGE: list[tuple[str, str]] = [
    (INC, "id > 9223372036854775807"), (INC, "id > 9223372036854775808"), (INC, "id < -9223372036854775809"),
    (INC, "id = 1" + "0" * 300), (INC, "id = 1e308"), (INC, "id = 0." + "0" * 400 + "1"),
    (INC, "id = " + "0" * 5000 + "1"), (INC, "id < .5"), (INC, "1 = 1"), (INC, "id = 1\u3000AND id = 2"),
    (INC, "occurred_at > TIMESTAMP('0001-01-01T00:00:00Z')"),
    (INC, "occurred_at > TIMESTAMP('0001-01-01T00:00:00+14:00')"),
    (INC, "occurred_at < TIMESTAMP('9999-12-31T23:59:59Z')"),
    (INC, "occurred_at < TIMESTAMP('9999-12-31T23:59:59-12:00')"),
    (INC, "reported_at > DATE('0001-01-01') AND reported_at < DATE('9999-12-31')"),
    (INC, "occurred_at > '0001-01-01T00:00:00Z'"),
    (INC, "category = '" + "长" * 5000 + "'"),
    (INC, "category IN (" + ",".join(f"'c{i}'" for i in range(1500)) + ")"),
    (INC, "S_INTERSECTS(geometry, LINESTRING(" + ",".join(f"107.{i:04d} 34.1" for i in range(1500)) + "))"),
    (INC, "S_INTERSECTS(geometry, BBOX(-180, -90, -180, -90))"),
    (INC, "(" * 50 + "id = 1" + ")" * 50),
    (INC, "NOT " * 50 + "id = 1"),
    (INC, "S_INTERSECTS(geometry, " + GC * 20 + "POINT(1 1)" + ")" * 20 + ")"),
]  # fmt: skip

# What the probe sent, and the same kinds pushed further: ours refuses each with a 400.
HOSTILE: list[tuple[str, str]] = [
    (GRID, "'x' IS NULL"),
    (GRID, "name NOT LIKE '\\'"),
    (GRID, "name LIKE 'abc\\'"),
    (GRID, "S_INTERSECTS(geometry, " + GC * 900 + "POINT(1 1)" + ")" * 900 + ")"),
    (GRID, "S_INTERSECTS(geometry, " + GC * 5000 + ")"),
    (GRID, "name = 'a\x00b'"), (GRID, "name\x00 = 'a'"), (GRID, "\x00"),
    (GRID, "(" * 2000 + "name = 'a'" + ")" * 2000),
    (GRID, "(" * 5000), (GRID, "NOT " * 4000 + "name = 'a'"),
    (GRID, "(" * 24 + "name = 'a'"), (GRID, "S_INTERSECTS(geometry, POLYGON(" + "(" * 24 + "1 1)))"),
    (INC, "id = " + "9" * 5000), (INC, "id = " + "0" * 5000 + "1.5e99999"), (INC, "id = 1e400"),
    (INC, "occurred_at > TIMESTAMP('0000-01-01T00:00:00Z')"),
    (INC, "occurred_at > TIMESTAMP('10000-01-01T00:00:00Z')"),
    (INC, "occurred_at > TIMESTAMP('2024-02-30T00:00:00Z')"),
    (INC, "reported_at > DATE('0000-00-00')"), (INC, "reported_at > DATE('2024-13-01')"),
    (INC, "category = 'unterminated"), (INC, "category = \"dispute\""), (INC, "category = 'a"),
    (GRID, "名称 = 'a'"), (GRID, "\"名称\" = 'a'"), (GRID, "name = 'a' AND 网格 = 1"),
    (GRID, "S_INTERSECTS(geometry, POINT(" + "1 " * 60_000 + "))"),
    (GRID, "S_INTERSECTS(geometry, POINT(200 10))"),
    (GRID, "S_INTERSECTS(geometry, POLYGON((1 1, 2 1, 2 2, 1 2)))"),
    (GRID, "S_INTERSECTS(geometry, BBOX(1, 2, 3))"),
    (GRID, "S_INTERSECTS(geometry, POINT(1 2 3))"),
    (GRID, "S_INTERSECTS(geometry, POINT(NaN NaN))"),
    (GRID, "name = 'a'; SELECT 1"), (GRID, "name = 'a' -- x"), (GRID, "name = 'a' /* */"),
    (GRID, "nosuch = 1"), (GRID, "grid_worker_phone = '1'"), (GRID, "households = 'many'"),
    (GRID, "geometry = 1"), (GRID, "name LIKE 5"), (GRID, "households BETWEEN 1 AND 'z'"),
    (GRID, ""), (GRID, "   "), (GRID, "()"), (GRID, "name ="), (GRID, "AND"), (GRID, "name = 'a' OR"),
    (GRID, "households > 1) OR (1 = 1"), (GRID, "name IS"), (GRID, "name IN ()"),
    (GRID, "name = 'a' " * 2500),
    (GRID, "name = '\ud800'"), (GRID, "name\u202e = 'a'"),
]  # fmt: skip

_PIECES = [
    "(", ")", ",", "'", '"', "''", "\\", "\x00", " AND ", " OR ", " NOT ", " IS NULL", " LIKE ", " IN (",
    " BETWEEN ", "=", "<>", "9" * 400, str(2**63), "1e999", "-", ".", "TIMESTAMP('0001-01-01T00:00:00Z')",
    "DATE('9999-12-31')", GC * 40, "POINT(", "BBOX(", "S_INTERSECTS(", "网格", "\u202e", "\t", "\n", "NaN",
]  # fmt: skip


def generated(count: int = 400, seed: int = 15) -> list[tuple[str, str]]:
    """Seeded mutants of the valid filters: pieces inserted, characters dropped or doubled, halves swapped."""
    rng = random.Random(seed)
    out: list[tuple[str, str]] = []
    for _ in range(count):
        coll, text = rng.choice(VALID)
        for _ in range(rng.randint(1, 3)):
            at = rng.randint(0, len(text))
            op = rng.random()
            if op < 0.5:
                text = text[:at] + rng.choice(_PIECES) + text[at:]
            elif op < 0.7:
                text = text[:at] + text[at + rng.randint(1, 4) :]
            elif op < 0.85:
                text = text[:at] + text[at:] * rng.randint(2, 30)
            else:
                text = text[at:] + text[:at]
        out.append((coll, text))
    return out
