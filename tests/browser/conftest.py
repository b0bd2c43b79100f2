"""The browser tests' fixtures (see harness.py)."""

from tests.browser.harness import browser, server  # noqa: F401  # fixtures for every browser test
