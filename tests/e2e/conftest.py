"""Browser-test fixtures: `supervision serve` in a subprocess, and Debian's Chromium.

Never `playwright install`: the machine has no internet; /usr/bin/chromium is used.
Each server is started in its own process group and killed as a group at teardown.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from conftest_browser import CHROMIUM, CHROMIUM_ARGS  # noqa: F401  (re-exported)
from e2e_support import write_hostile_demo

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = Path(__file__).resolve().parent / "screenshots"
HOSTILE = "<img src=x onerror=window.__xss=1>"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/e2e" in str(item.fspath):
            item.add_marker(pytest.mark.e2e)
            if not Path(CHROMIUM).exists():
                item.add_marker(pytest.mark.skip(reason=f"{CHROMIUM} not installed"))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """A running `supervision serve`; ``url`` is its root."""

    def __init__(self, export: Path | None, *extra: str, notebooks: int = 3) -> None:
        """``export`` None: the source is in ``extra`` (``--db URL --schema S``)."""
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = SCREENSHOTS / f"serve-{self.port}.log"
        SCREENSHOTS.mkdir(exist_ok=True)
        self._log = self.log.open("wb")
        source = [] if export is None else [str(export)]
        cmd = [sys.executable, "-m", "supervision.cli", "serve", *source,
               "--port", str(self.port), *extra]
        self.proc = subprocess.Popen(cmd, stdout=self._log, stderr=subprocess.STDOUT,
                                     start_new_session=True, cwd=ROOT)
        self._wait()
        self._wait_pools(1 if "--therapist" in extra else notebooks)

    def _wait(self, timeout: float = 90.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"serve exited early: {self.log.read_text()[-2000:]}")
            try:
                urllib.request.urlopen(f"{self.url}/api/status", timeout=2).close()
                return
            except urllib.error.HTTPError:
                return
            except OSError:
                time.sleep(0.3)
        raise RuntimeError("serve did not become ready")

    def _wait_pools(self, n: int, timeout: float = 180.0) -> None:
        """Wait until each notebook has its preheated kernel (so timings are warm ones)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.log.read_text(errors="replace").count("Kernel pool of") >= n:
                time.sleep(8)  # the pooled kernels execute their notebook
                return
            time.sleep(0.5)

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self._log.close()


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
    """Start servers on demand; all are stopped (process group) at the end of the session."""
    servers: list[Server] = []

    def start(export: Path, *extra: str) -> Server:
        s = Server(export, *extra)
        servers.append(s)
        return s

    yield start
    for s in servers:
        s.stop()


@pytest.fixture
def page(browser: object) -> Iterator[object]:
    ctx = browser.new_context(viewport={"width": 1280, "height": 900})  # type: ignore[attr-defined]
    pg = ctx.new_page()
    yield pg
    ctx.close()


@pytest.fixture(scope="session", autouse=True)
def _screenshot_dir() -> None:
    SCREENSHOTS.mkdir(exist_ok=True)
    shutil.rmtree(SCREENSHOTS / "old", ignore_errors=True)
