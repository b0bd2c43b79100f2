"""The tiny tree committed for real (for tests that need other connections: a live server, the CLI)."""

from __future__ import annotations

from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from tests.fixtures import GRIDS, TREE, load_tiny_tree

SPARE_COMMUNITY = "610302001003"  # 107.12–107.13E, 34.35–34.37N, east of the tree, with no grid yet
CODES = [g[0] for g in GRIDS]


def commit_tree(engine: Engine) -> None:
    """Remove leftovers, then commit the tiny tree and the spare community."""
    remove_tree(engine)
    with Session(engine) as session, session.begin():
        load_tiny_tree(session)
        session.execute(
            text(
                "INSERT INTO admin_units (code, name, level, parent_code, geom) VALUES (:c, '备用社区', 'community', "
                "'610302001', ST_Multi(ST_MakeEnvelope(107.12, 34.35, 107.13, 34.37, 4326)))"
            ),
            {"c": SPARE_COMMUNITY},
        )


def remove_tree(engine: Engine) -> None:
    """Delete every row the tree and edits on it left (grids of its communities, their versions and audit)."""
    communities = [t[0] for t in TREE if t[3] == "community"] + [SPARE_COMMUNITY]
    with engine.begin() as conn:
        codes = (
            conn.execute(
                text(
                    "SELECT DISTINCT grid_code FROM grid_versions WHERE community_code = ANY(:m) "
                    "UNION SELECT code FROM grids WHERE community_code = ANY(:m)"
                ),
                {"m": communities},
            )
            .scalars()
            .all()
        )
        conn.execute(
            text("DELETE FROM audit_log WHERE entity_type = 'grid' AND entity_id = ANY(:c)"), {"c": codes}
        )
        conn.execute(text("DELETE FROM incidents WHERE community_code = ANY(:m)"), {"m": communities})
        conn.execute(text("DELETE FROM grid_versions WHERE grid_code = ANY(:c)"), {"c": codes})
        conn.execute(text("DELETE FROM grids WHERE code = ANY(:c)"), {"c": codes})
        for code in [SPARE_COMMUNITY] + [t[0] for t in reversed(TREE)]:
            conn.execute(text("DELETE FROM admin_units WHERE code = :c"), {"c": code})
