"""Races on a committed database through the real app (no shared test transaction): two operators acting on
one case at once, and a phone retrying one report ten times at once."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session

from geo.auth import create_user
from tests.case_helpers import GRID_NW, GRID_SW, WEST, feature, remove_cases
from tests.committed_tree import commit_tree, remove_tree

NAMES = ("race-gw", "race-op1", "race-op2")


def _drop_users(owner_engine) -> None:
    with owner_engine.begin() as conn:
        conn.execute(text("DELETE FROM users WHERE username = ANY(:n)"), {"n": list(NAMES)})
        # Their creation was audited (citygrid_user_write): other tests count the audit rows.
        conn.execute(
            text("DELETE FROM audit_log WHERE entity_type = 'user' AND entity_id = ANY(:n)"), {"n": list(NAMES)}
        )


@pytest.fixture
def live(settings, owner_engine):
    from api.app import create_app

    remove_cases(owner_engine)
    _drop_users(owner_engine)
    commit_tree(owner_engine)
    with Session(owner_engine) as s:
        tokens = [
            create_user(s, NAMES[0], "grid_worker", area_code=GRID_NW),
            create_user(s, NAMES[1], "centre_operator", area_code=WEST),
            create_user(s, NAMES[2], "centre_operator", area_code=WEST),
        ]
        s.commit()
    app = create_app(settings)
    with TestClient(app) as client:
        yield client, [{"Authorization": f"Bearer {t}"} for t in tokens]
    app.state.engine.dispose()
    remove_cases(owner_engine)
    _drop_users(owner_engine)
    remove_tree(owner_engine)


def test_ten_concurrent_retries_make_one_case(live, owner_engine):
    client, (gw, _, _) = live
    headers = {**gw, "Idempotency-Key": "a1b2c3-retry"}
    with ThreadPoolExecutor(10) as pool:
        replies = list(
            pool.map(lambda _: client.post("/api/v1/cases", json=feature(GRID_NW), headers=headers), range(10))
        )
    assert sorted(r.status_code for r in replies) == [200] * 9 + [201], [r.text for r in replies]
    assert len({r.json()["id"] for r in replies}) == 1
    with owner_engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM cases")).scalar_one() == 1
        assert (
            conn.execute(text("SELECT count(*) FROM incidents WHERE grid_code = :g"), {"g": GRID_NW}).scalar_one()
            == 1
        )


def test_two_operators_at_once_one_wins(live, owner_engine):
    client, (gw, op1, op2) = live
    case = client.post("/api/v1/cases", json=feature(GRID_NW), headers=gw).json()
    cid = case["id"]
    client.post(f"/api/v1/cases/{cid}/steps", json={"step": "file"}, headers={**op1, "If-Match": '"1"'})
    moves = [
        (op1, {"step": "dispatch", "to": {"kind": "grid", "code": GRID_NW}}),
        (op2, {"step": "dispatch", "to": {"kind": "grid", "code": GRID_SW}}),
    ]
    with ThreadPoolExecutor(2) as pool:
        replies = list(
            pool.map(
                lambda m: client.post(
                    f"/api/v1/cases/{cid}/steps", json=m[1], headers={**m[0], "If-Match": '"2"'}
                ),
                moves,
            )
        )
    codes = sorted(r.status_code for r in replies)
    assert codes in ([200, 409], [200, 412]), [r.text for r in replies]
    loser = next(r for r in replies if r.status_code != 200).json()
    winner = next(r for r in replies if r.status_code == 200).json()
    assert loser["current"]["state"] == "dispatched" and loser["current"]["version"] == 3
    with owner_engine.connect() as conn:
        steps = conn.execute(
            text("SELECT step FROM case_events WHERE case_id = :c ORDER BY id"), {"c": cid}
        ).scalars()
        assert list(steps) == ["report", "file", "dispatch"]
        held = conn.execute(text("SELECT unit_code FROM cases WHERE id = :c"), {"c": cid}).scalar_one()
    assert held == winner["unit"]["code"]


def test_the_app_role_cannot_rewrite_history(live, engine):
    client, (gw, _, _) = live
    client.post("/api/v1/cases", json=feature(GRID_NW), headers=gw)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT has_table_privilege('case_events', 'INSERT')")).scalar_one()
        assert not conn.execute(text("SELECT has_table_privilege('case_events', 'UPDATE')")).scalar_one()
        assert not conn.execute(text("SELECT has_table_privilege('case_events', 'DELETE')")).scalar_one()
