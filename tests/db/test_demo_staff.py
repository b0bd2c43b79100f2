"""The demo's staff: one operator per centre, one worker per grid, the community police, county handlers."""

from __future__ import annotations

from sqlalchemy import text

from geo.auth import authenticate, bootstrap_principal
from geo.users import rotate_token

# The pilot's published figures (issue #16, domain notes): 1 city, 12 counties, 120 towns, 1,370 communities,
# 1,537 grids, 167 community police, 11 departments in each of the 12 counties.
EXPECTED = {
    "centre_operator": 1 + 12 + 120 + 1370,
    "grid_worker": 1537,
    "police": 167,
    "department_handler": 11 * 12,
}


def test_staff_counts(demo_db, db):
    assert demo_db.counts  # a fresh load, not the "already there" path
    rows = db.execute(text("SELECT roles[1], count(*) FROM users WHERE cardinality(roles) = 1 GROUP BY 1")).all()
    assert {role: n for role, n in rows if role in EXPECTED} == EXPECTED


def test_staff_areas_match_their_posts(demo_db, db):
    wrong = db.execute(
        text(
            """SELECT count(*) FROM users u LEFT JOIN officers o ON o.id = u.officer_id
               LEFT JOIN grids g ON g.code = u.area_code LEFT JOIN admin_units a ON a.code = u.area_code
               WHERE NOT CASE u.roles[1]
                 WHEN 'grid_worker' THEN g.status = 'active'
                 WHEN 'police' THEN o.community_code = u.area_code AND a.level = 'community'
                 WHEN 'department_handler' THEN a.level = 'county' AND u.department IS NOT NULL
                 WHEN 'centre_operator' THEN a.level IN ('city', 'county', 'town', 'community')
                 ELSE true END"""
        )
    ).scalar()
    assert wrong == 0
    handlers = db.execute(
        text("SELECT count(DISTINCT (area_code, department)) FROM users WHERE 'department_handler' = ANY(roles)")
    ).scalar()
    assert handlers == EXPECTED["department_handler"]


def test_no_usable_token_until_one_is_issued(demo_db, db):
    hashes = db.execute(text("SELECT token_sha256 FROM users WHERE username LIKE 'op.%'")).scalars().all()
    assert len(set(hashes)) == len(hashes) and all(len(h) == 64 for h in hashes)
    _, token = rotate_token(db, bootstrap_principal(), "op.610302")
    principal = authenticate(db, token)
    assert (principal.username, principal.area_code, principal.roles) == (
        "op.610302",
        "610302",
        frozenset({"centre_operator"}),
    )
