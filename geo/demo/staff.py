"""The demo's staff: who works in the four levels of centres, in every grid, and in the departments.

One centre operator (综治中心值班员) per centre — the city, every county, town and community — one grid worker
(网格员) per active grid, one police user per community officer (社区民警, in the officer's community), and in
every county one handler (部门承办人) for each of the 11 departments. Counts come from the loaded tree, not
from constants. Usernames say who they are (`op.610302`, `gw.610302001001001`, `police.<badge>`,
`dept.610302.housing`). No usable token is stored: each gets the SHA-256 of a random value nobody keeps;
`citygrid users token USERNAME` issues a real one and prints it once.
"""

from __future__ import annotations

from sqlalchemy import Connection, text

from geo import vocab

PREFIXES = ("op.", "gw.", "police.", "dept.")
# A hash of 122 random bits (gen_random_uuid) that nobody sees: the account exists, its token is unknowable.
_UNKNOWABLE = "encode(sha256(convert_to(gen_random_uuid()::text || clock_timestamp()::text, 'UTF8')), 'hex')"

_STAFF = """
SELECT 'op.' || code AS username, name || '综治中心' AS display_name, ARRAY['centre_operator'] AS roles,
       code AS area_code, NULL AS department, NULL::int AS officer_id
  FROM admin_units WHERE level IN ('city', 'county', 'town', 'community')
UNION ALL
SELECT 'gw.' || code, coalesce(grid_worker, name || '网格员'), ARRAY['grid_worker'], code, NULL, NULL
  FROM grids WHERE status = 'active'
UNION ALL
SELECT 'police.' || badge, name, ARRAY['police'], community_code, NULL, id
  FROM officers WHERE community_code IS NOT NULL
UNION ALL
SELECT 'dept.' || a.code || '.' || d.key, a.name || d.label, ARRAY['department_handler'], a.code, d.key, NULL
  FROM admin_units a CROSS JOIN (SELECT * FROM unnest(CAST(:keys AS text[]), CAST(:labels AS text[])) AS x(key, label)) d
 WHERE a.level = 'county'
"""


_DEMO_USER = " OR ".join(f"username LIKE '{p}%'" for p in PREFIXES)


def remove_staff(conn: Connection) -> None:
    """Drop the previous demo staff (before the tables they point into are replaced)."""
    conn.execute(text(f"DELETE FROM users WHERE {_DEMO_USER}"))


def add_staff(conn: Connection) -> dict[str, int]:
    """Add the staff of the loaded tree (a username already taken by a real user is left alone); counts by role."""
    conn.execute(
        text(
            "INSERT INTO users (username, display_name, roles, area_code, department, officer_id, token_sha256) "
            f"SELECT s.username, s.display_name, s.roles, s.area_code, s.department, s.officer_id, {_UNKNOWABLE} "
            f"FROM ({_STAFF}) s ON CONFLICT (username) DO NOTHING"
        ),
        {"keys": list(vocab.DEPARTMENTS), "labels": [zh for zh, _ in vocab.DEPARTMENTS.values()]},
    )
    rows = conn.execute(
        text(f"SELECT roles[1], count(*) FROM users WHERE {_DEMO_USER} GROUP BY 1 ORDER BY 1")
    ).all()
    return {role: n for role, n in rows}
