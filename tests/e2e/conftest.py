"""Browser-test fixtures: `supervision serve` in a subprocess, and Debian's Chromium.

Never `playwright install`: the machine has no internet; /usr/bin/chromium is used.
Each server is started in its own process group and killed as a group at teardown.
``start_server`` hands every test that asks for the same export and options the same running
server (per pytest process: an xdist worker): starting one and preheating its kernels costs
tens of seconds, and a dashboard server holds nothing a test could change for the next one
(every page gets a kernel of its own).
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from conftest_browser import CHROMIUM, CHROMIUM_ARGS  # noqa: F401  (re-exported)
from e2e_support import Server, write_hostile_demo

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = Path(__file__).resolve().parent / "screenshots"
HOSTILE = "<img src=x onerror=window.__xss=1>"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/e2e" in str(item.fspath):
            item.add_marker(pytest.mark.e2e)
            if not Path(CHROMIUM).exists():
                item.add_marker(pytest.mark.skip(reason=f"{CHROMIUM} not installed"))


@pytest.fixture(scope="session")
def demo_export(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The default demo export (data/demo if present, else written fresh, same seed)."""
    repo = ROOT / "data" / "demo"
    if (repo / "sessions.csv").exists():
        return repo
    from supervision.demo import write_demo

    out = tmp_path_factory.mktemp("e2e") / "demo"
    write_demo(out)
    return out


@pytest.fixture(scope="session")
def hostile_export(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small demo whose first therapist and one episode carry an HTML-injection id."""

    def swap(tables: Mapping[str, Any]) -> dict[str, dict[str, str]]:
        first = sorted(tables["therapists"]["therapist_id"])[0]
        episodes = tables["episodes"]
        episode = episodes.loc[episodes["therapist_id"] == first, "episode_id"].iloc[0]
        return {"therapist_id": {first: HOSTILE}, "episode_id": {episode: HOSTILE + " E"}}

    out = tmp_path_factory.mktemp("e2e") / "hostile"
    return write_hostile_demo(out, episodes=80, seed=3, swap=swap)


@pytest.fixture(scope="session")
def start_server() -> Iterator[Callable[..., Server]]:
    """Start servers on demand, one per (export, options): a second test asking for the same
    gets the running one; all are stopped (process group) at the end of the session."""
    servers: dict[tuple[str, tuple[str, ...]], Server] = {}

    def start(export: Path, *extra: str) -> Server:
        key = (str(Path(export).resolve()), extra)
        running = servers.get(key)
        if running is None or running.proc.poll() is not None:
            running = servers[key] = Server(export, *extra)
        return running

    yield start
    for s in servers.values():
        s.stop()


@pytest.fixture(scope="module")
def start_own_server() -> Iterator[Callable[..., Server]]:
    """Servers on an export of the module's own (no other module asks for it): stopped when
    the module ends, so their kernels do not hold memory for the rest of the session."""
    servers: list[Server] = []

    def start(export: Path, *extra: str) -> Server:
        servers.append(Server(export, *extra))
        return servers[-1]

    yield start
    for s in servers:
        s.stop()


@pytest.fixture
def context(browser: Any) -> Iterator[Any]:
    """A fresh browser context (its own cookies) at desktop size, closed after the test."""
    ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    yield ctx
    ctx.close()


@pytest.fixture
def page(context: Any) -> Any:
    return context.new_page()


@pytest.fixture(scope="session", autouse=True)
def _screenshot_dir() -> None:
    SCREENSHOTS.mkdir(exist_ok=True)
    shutil.rmtree(SCREENSHOTS / "old", ignore_errors=True)
