"""Schemathesis, in-process, over every operation of the OpenAPI: no 500s, responses match the schema.

Bounded: a fixed number of examples per operation, no shrinking deadline, all inside the test's
rolled-back transaction (the tiny tree is loaded so that reads return real features). Schemathesis alone
never sent a NUL or an integer ≥ 2^63 (issue #15): the hooks below swap one generated query, path or header
value for an edge value (tests/edge_values.py) in every other example, so the fuzz also tries them.
"""

from __future__ import annotations

import itertools
import os

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from api.app import create_app
from api.deps import get_session
from tests.conftest import ADMIN_TOKEN, _test_settings
from tests.edge_values import EDGE_VALUES, HEADER_VALUES
from tests.fixtures import load_tiny_tree

EXAMPLES = int(os.environ.get("CITYGRID_FUZZ_EXAMPLES", "10"))


# Loaded at import from an app that has not connected yet; each test binds it to its rolled-back session.
APP = create_app(_test_settings())
schema = schemathesis.openapi.from_asgi("/openapi.json", APP)


_turn = itertools.count()


def _swapped(values: dict | None, edges: list[str], skip: tuple[str, ...] = ()) -> dict | None:
    """Every other generated value set has one value replaced by an edge value, taken in turn (hypothesis,
    derandomized, kept choosing the same one from a sampled_from; a counter spreads them over all)."""
    names = sorted(k for k in (values or {}) if k.lower() not in skip)
    turn = next(_turn)
    if not names or turn % 2:
        return values
    k = turn // 2
    return {**(values or {}), names[k % len(names)]: edges[k % len(edges)]}


@schema.hook
def map_query(context, query):
    return _swapped(query, EDGE_VALUES)


@schema.hook
def map_path_parameters(context, path_parameters):
    return _swapped(path_parameters, [v for v in EDGE_VALUES if v])  # an empty segment is another route


@schema.hook
def map_headers(context, headers):
    return _swapped(headers, HEADER_VALUES, skip=("authorization",))


@pytest.fixture
def bound_app(settings, db):
    def test_session():
        try:
            yield db
        except Exception:
            db.rollback()
            raise

    load_tiny_tree(db)
    APP.dependency_overrides[get_session] = test_session
    yield APP
    APP.dependency_overrides.clear()


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_api_conforms(case, bound_app):
    case.call_and_validate(
        headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
        checks=[
            not_a_server_error,
            status_code_conformance,
            content_type_conformance,
            response_schema_conformance,
        ],
    )
