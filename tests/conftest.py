"""Shared pytest fixtures (each helper's fixtures live in their own conftest_*.py)."""

from conftest_pg import pg_database, pg_server  # noqa: F401  (fixtures for test_warehouse)
