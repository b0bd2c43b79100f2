"""The real Baoji demo in the test database: loaded once per run, committed, for any test that asks.

Use the `demo_db` fixture (it returns the load summary); `db`, `client` and `engine` then see the demo. Tests that
ask for it run after all others, because the demo fills admin_units and grids with the real codes that the
hand-made tiny tree (tests/fixtures.py) would collide with.
"""

from __future__ import annotations

import pytest

from geo.demo.load import DemoSummary, load_demo
from geo.settings import Settings


@pytest.fixture(scope="session")
def demo_db(settings: Settings) -> DemoSummary:
    """Load the demo (default seed) into the test database once; commits."""
    return load_demo(settings, force=True)


def pytest_collection_modifyitems(
    session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
) -> None:
    """Run the tests that use the demo last (stable order otherwise)."""
    uses = [item for item in items if "demo_db" in getattr(item, "fixturenames", ())]
    if uses:
        others = [item for item in items if "demo_db" not in getattr(item, "fixturenames", ())]
        items[:] = others + uses
