"""Shared fixtures: a fresh, migrated test database on a real PostGIS; each test rolled back.

Under CI (CI=true) a skipped database test fails the run: a green run must have touched PostGIS.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import psycopg
import pytest
from sqlalchemy import Engine, create_engine
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from api.ops import pgcluster
from geo.pg import migrate
from geo.settings import Settings

pytest_plugins = ["tests.demo_fixture"]  # the `demo_db` fixture: the real Baoji demo, loaded once per run
IN_CI = os.environ.get("CI", "").lower() == "true"
ADMIN_TOKEN = "test-admin-token"
_skipped: list[str] = []


def _test_settings() -> Settings:
    base = Settings()
    # CITYGRID_TEST_DB lets several checkouts share one server without dropping each other's test database.
    dbname = os.environ.get("CITYGRID_TEST_DB") or make_url(base.owner_database_url).database + "_test"

    def swap(url: str) -> str:
        return make_url(url).set(database=dbname).render_as_string(hide_password=False)

    return base.model_copy(
        update={
            "env": "test",
            "database_url": swap(base.database_url),
            "owner_database_url": swap(base.owner_database_url),
            "bootstrap_admin_token": ADMIN_TOKEN,
        }
    )


@pytest.fixture(scope="session")
def settings() -> Settings:
    """Settings pointing at <db>_test, freshly created and migrated for this run."""
    s = _test_settings()
    if not pgcluster.probe(s.admin_database_url).reachable:
        msg = f"PostGIS not reachable at {pgcluster.probe(s.admin_database_url).where}: run `citygrid db up`"
        if IN_CI:
            pytest.fail(msg)
        pytest.skip(msg)
    dbname = make_url(s.owner_database_url).database
    with psycopg.connect(pgcluster.libpq_url(s.admin_database_url), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')
    pgcluster.bootstrap_database(s, dbname)
    migrate(s.owner_database_url)
    return s


@pytest.fixture(scope="session")
def engine(settings: Settings) -> Iterator[Engine]:
    """The app role's engine (least privilege, as the API runs)."""
    eng = create_engine(settings.database_url, pool_pre_ping=True)
    yield eng
    eng.dispose()


@pytest.fixture(scope="session")
def owner_engine(settings: Settings) -> Iterator[Engine]:
    eng = create_engine(settings.owner_database_url)
    yield eng
    eng.dispose()


@pytest.fixture
def db(engine: Engine) -> Iterator[Session]:
    """A session inside a transaction that is rolled back after the test (commits become savepoints)."""
    conn = engine.connect()
    outer = conn.begin()
    session = Session(bind=conn, join_transaction_mode="create_savepoint", expire_on_commit=False)
    try:
        yield session
    finally:
        session.close()
        outer.rollback()
        conn.close()


@pytest.fixture
def app(settings: Settings, db: Session):
    """The real app, its session dependency bound to the test's rolled-back transaction."""
    from api.app import create_app
    from api.deps import get_session

    application = create_app(settings)

    def test_session():
        # Like the real dependency: a failed request rolls back its own work, and only that: what the test
        # set up before the request is committed to the outer (still rolled-back-at-the-end) transaction first.
        db.commit()
        try:
            yield db
        except Exception:
            db.rollback()
            raise

    application.dependency_overrides[get_session] = test_session
    yield application
    application.state.engine.dispose()


@pytest.fixture
def client(app):
    from fastapi.testclient import TestClient

    with TestClient(app) as c:
        yield c


@pytest.fixture
def auth() -> dict[str, str]:
    return {"Authorization": f"Bearer {ADMIN_TOKEN}"}


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.skipped and not hasattr(report, "wasxfail"):
        _skipped.append(report.nodeid)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if IN_CI and _skipped:
        print(f"\nCI=true and {len(_skipped)} test(s) skipped; a skip is a failure here:")
        for nodeid in _skipped:
            print("  skipped:", nodeid)
        session.exitstatus = 1
