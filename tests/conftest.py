"""Shared pytest fixtures (each helper's fixtures live in their own conftest_*.py).

Test order: modules holding a test marked ``e2e``, ``spark`` or ``slow``, or a hypothesis
property test, run first (in their collected order), then the rest.  ``make test`` hands whole
modules to two workers (``--dist loadfile``) in collection order; with the long ones first,
the many short modules fill in at the end on whichever worker is free, instead of one worker
starting a several-minute module (test_wheel, test_warehouse, test_spark sort last by name)
while the other runs dry.  Within a module the order is unchanged.
"""

from __future__ import annotations

import pytest
from conftest_browser import browser  # noqa: F401  (one Chromium for every browser test)
from conftest_pg import pg_database, pg_server  # noqa: F401  (fixtures for test_warehouse)

LONG = ("e2e", "spark", "slow")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    long_modules = {item.nodeid.split("::")[0] for item in items
                    if any(item.get_closest_marker(m) for m in LONG)
                    or "/e2e/" in item.nodeid
                    or getattr(getattr(item, "obj", None), "is_hypothesis_test", False)}
    items.sort(key=lambda item: item.nodeid.split("::")[0] not in long_modules)
