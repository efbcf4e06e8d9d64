"""One headless Chromium for the whole test session (Debian's /usr/bin/chromium).

Never `playwright install`: the machine has no internet.  Playwright's sync API runs an
event loop while it is open, so a second ``sync_playwright()`` in the same process fails;
every browser test therefore shares this session fixture.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run",
                 "--disable-quic"]


def launch(playwright: Any) -> Any:
    """Debian's Chromium, headless, as every browser test (and benchmarks/) runs it."""
    return playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                      args=CHROMIUM_ARGS)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} not installed")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = launch(p)
        yield b
        b.close()
