"""Schemathesis, in-process, over every operation of the OpenAPI: no 500s, responses match the schema.

Bounded: a fixed number of examples per operation, no shrinking deadline, all inside the test's
rolled-back transaction (the tiny tree is loaded so that reads return real features).
"""

from __future__ import annotations

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
from tests.fixtures import load_tiny_tree

EXAMPLES = int(os.environ.get("CITYGRID_FUZZ_EXAMPLES", "10"))


# Loaded at import from an app that has not connected yet; each test binds it to its rolled-back session.
APP = create_app(_test_settings())
schema = schemathesis.openapi.from_asgi("/openapi.json", APP)


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
