"""Shared pytest fixtures (each helper's fixtures live in their own conftest_*.py)."""

from conftest_browser import browser  # noqa: F401  (one Chromium for every browser test)
from conftest_pg import pg_database, pg_server  # noqa: F401  (fixtures for test_warehouse)
