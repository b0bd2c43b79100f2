"""The CQL2 corpus (tests/cql2_corpus.py) sent to /ogc items on the real PostGIS: the SQL our builder makes runs.

Valid filters answer 200, hostile ones 400 naming the filter, and the edges and seeded mutants never ≥ 500
(what a value PostgreSQL cannot take — a year 0, a NUL, 2^63 against a bigint — would show as).
"""

from __future__ import annotations

import re
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient

from tests.cql2_corpus import EDGE, HOSTILE, VALID, generated
from tests.fixtures import load_tiny_tree

_SURROGATE = re.compile("[\ud800-\udfff]")


@pytest.fixture
def probe(app, db):
    load_tiny_tree(db)
    return TestClient(app, raise_server_exceptions=False)


def _sendable(corpus: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """What HTTP can carry: httpx refuses a query over 64 KiB (those few are over our 20,000-character limit
    anyway) and a lone surrogate has no UTF-8; both stay in the unit test (tests/unit/test_cql2_oracle.py)."""
    return [(c, t) for c, t in corpus if not _SURROGATE.search(t) and len(quote(t)) < 60_000]


def _get(probe, auth, coll: str, text: str):
    return probe.get(f"/ogc/collections/{coll}/items", params={"filter": text, "limit": "1"}, headers=auth)


def test_valid_filters_run(probe, auth):
    bad = [(t, r.status_code, r.text[:120]) for c, t in VALID if (r := _get(probe, auth, c, t)).status_code != 200]
    assert bad == []


def test_hostile_filters_are_400s_naming_the_filter(probe, auth, db):
    bad = []
    for coll, text in _sendable([h for h in HOSTILE if h[1]]):  # an empty filter= is no filter: 200
        r = _get(probe, auth, coll, text)
        if r.status_code != 400 or r.json().get("field") != "filter":
            bad.append((text[:60], r.status_code, r.text[:120]))
            db.rollback()
    assert bad == []


def test_edges_and_mutants_are_never_server_errors(probe, auth, db):
    bad = []
    for coll, text in _sendable([*EDGE, *generated(150, seed=1500)]):
        r = _get(probe, auth, coll, text)
        if r.status_code >= 500 or r.status_code not in (200, 400):
            bad.append((text[:60], r.status_code, r.text[:120]))
            db.rollback()  # the test's shared session; a real request has its own
    assert bad == []
