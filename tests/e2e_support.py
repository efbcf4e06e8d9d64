"""Helpers shared by the browser tests (``tests/e2e``) and the server tests outside it.

* :class:`Server` runs ``supervision serve`` in its own process group and returns once the
  dashboards it announces have their preheated kernel and those kernels have finished
  running their notebook (every browser test and server test starts servers through it).
  :func:`e2e_conftest` loads ``tests/e2e/conftest.py`` by path (conftest modules are not
  importable by name) for ``Server``, ``CHROMIUM``, ``CHROMIUM_ARGS``, ``HOSTILE``.
* :data:`RENDERED` and :data:`FIGURES_DRAWN`: the page conditions the browser tests wait on.
* :func:`process_tree` lists the processes a test started (its server and everything below
  it), found from that server's pid, never by a pattern over the machine's processes.
* :func:`write_hostile_demo` writes a synthetic demo export and puts HTML / script payloads
  in its ids and team names, for the escaping tests.
"""

from __future__ import annotations

import importlib.util
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd
import psutil
from processes import cmdline, tree

ROOT = Path(__file__).resolve().parents[1]
SCREENSHOTS = ROOT / "tests" / "e2e" / "screenshots"

#: The visible tab has settled: no loading line shows, the tab has panels, and every figure
#: panel in it holds a drawn plotly plot (a tab of privacy messages only counts as drawn).
RENDERED = """() => {
  const vis = el => el.offsetParent !== null;
  if ([...document.querySelectorAll('.sv-loading-indicator')].some(vis)) return false;
  const tab = [...document.querySelectorAll('.sv-tab')].find(vis);
  if (!tab) return false;
  const panels = [...tab.querySelectorAll('.sv-panel')];
  if (!panels.length) return false;
  return panels.filter(p => p.classList.contains('sv-figure-panel'))
               .every(p => p.querySelector('.js-plotly-plot .main-svg'));
}"""
#: As :data:`RENDERED`, and at least one figure panel drawn (a dashboard's first tab has one).
FIGURES_DRAWN = """() => {
  const vis = el => el.offsetParent !== null;
  if ([...document.querySelectorAll('.sv-loading-indicator')].some(vis)) return false;
  const tab = [...document.querySelectorAll('.sv-tab')].find(vis);
  if (!tab) return false;
  const panels = [...tab.querySelectorAll('.sv-figure-panel')];
  return panels.length > 0 && panels.every(p => p.querySelector('.js-plotly-plot .main-svg'));
}"""
#: A dashboard page ``supervision serve`` announces on its terminal (one line each).
ANNOUNCED = re.compile(r"/voila/render/[\w.-]+\.ipynb")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cpu_seconds(pids: Sequence[int]) -> float:
    """User + system CPU seconds used so far by the processes still alive among ``pids``."""
    total = 0.0
    for pid in pids:
        try:
            t = psutil.Process(pid).cpu_times()
        except psutil.Error:
            continue
        total += t.user + t.system
    return total


def wait_quiet(root: int, *, window: float = 1.0, below: float = 0.1,
               timeout: float = 180.0) -> bool:
    """Wait until ``root`` and the processes below it used less than ``below`` CPU seconds in
    the last ``window`` seconds (a preheated kernel has finished running its notebook).
    True once quiet; False when still busy after ``timeout`` (only the warmth of the first
    page's timing depends on it: that page then waits for its kernel itself)."""
    t0 = time.monotonic()
    before = cpu_seconds(tree(root))
    while time.monotonic() - t0 < timeout:
        time.sleep(window)
        now = cpu_seconds(tree(root))
        if now - before < below:
            return True
        before = now
    return False


class Server:
    """A running ``supervision serve``; ``url`` is its root.

    ``export`` None: the source is in ``extra`` (``--db URL --schema S``), or the shipped demo.
    Ready when its status answers, every dashboard it announces has its preheated kernel
    ("Kernel pool of … is filled" in its log; ``notebooks`` overrides the count) and the
    process tree has gone quiet (the pooled kernels ran their notebook: timings are warm
    ones).  ``warm=False``: ready when the status answers.  ``command`` replaces
    ``python -m supervision.cli`` (an installed ``supervision`` script).  ``wait=False``:
    returns at once; call :meth:`ready` (so that several servers start side by side).
    """

    def __init__(self, export: Path | None, *extra: str, notebooks: int | None = None,
                 warm: bool = True, command: Sequence[str] | None = None,
                 cwd: Path = ROOT, env: Mapping[str, str] | None = None,
                 wait: bool = True) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = SCREENSHOTS / f"serve-{self.port}.log"
        SCREENSHOTS.mkdir(exist_ok=True)
        self._log = self.log.open("wb")
        source = [] if export is None else [str(export)]
        program = list(command or [sys.executable, "-m", "supervision.cli"])
        cmd = [*program, "serve", *source, "--port", str(self.port), *extra]
        self.proc = subprocess.Popen(cmd, stdout=self._log, stderr=subprocess.STDOUT,
                                     start_new_session=True, cwd=cwd,
                                     env=None if env is None else dict(env))
        self._warm, self._notebooks = warm, notebooks
        if wait:
            self.ready()

    def ready(self) -> Server:
        """Wait until the server is ready (see the class); stop it if it never is."""
        try:
            self._wait()
            if self._warm:
                self._wait_pools(self._notebooks)
                wait_quiet(self.proc.pid)
        except BaseException:
            self.stop()
            raise
        return self

    def text(self) -> str:
        return self.log.read_text(errors="replace")

    def _wait(self, timeout: float = 90.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"serve exited early: {self.text()[-2000:]}")
            try:
                urllib.request.urlopen(f"{self.url}/api/status", timeout=2).close()
                return
            except urllib.error.HTTPError:
                return
            except OSError:
                time.sleep(0.3)
        raise RuntimeError("serve did not become ready")

    def _wait_pools(self, n: int | None, timeout: float = 180.0) -> None:
        """Wait until each announced dashboard (or ``n``) has its preheated kernel."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            text = self.text()
            want = len(set(ANNOUNCED.findall(text))) if n is None else n
            if want and text.count("Kernel pool of") >= want:
                return
            if self.proc.poll() is not None:
                raise RuntimeError(f"serve exited early: {text[-2000:]}")
            time.sleep(0.3)
        raise RuntimeError(f"no preheated kernels after {timeout:.0f} s: {self.text()[-2000:]}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self._log.close()
TABLES = ("sessions", "episodes", "therapists")
#: Given the demo's tables, the id replacements: column -> {old id: new id}.
IdSwap = Callable[[Mapping[str, pd.DataFrame]], Mapping[str, Mapping[str, str]]]


def e2e_conftest() -> Any:
    """The e2e conftest module, loaded afresh (Server, CHROMIUM, CHROMIUM_ARGS, HOSTILE)."""
    spec = importlib.util.spec_from_file_location(
        "_supervision_e2e_conftest", ROOT / "tests" / "e2e" / "conftest.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def process_tree(root: int) -> list[tuple[int, str]]:
    """(pid, command line) of ``root`` and every process below it (Voilà, its kernels): only
    what the test itself started (:mod:`processes`)."""
    return [(pid, cmdline(pid)) for pid in tree(root)]


def write_hostile_demo(
    out: Path, *, episodes: int, seed: int, swap: IdSwap, teams: Sequence[str] = ()
) -> Path:
    """``write_demo(out, episodes=, seed=)``, then ids replaced in every table that has them.

    ``swap`` gets the demo's tables (read as text) and returns, per id column
    (``therapist_id``, ``episode_id``, ``client_id``), the ids to replace; ``teams``, when
    given, become the therapists' team names in turn.  Returns ``out``.
    """
    from supervision.demo import write_demo

    write_demo(out, episodes=episodes, seed=seed)
    tables = {n: pd.read_csv(out / f"{n}.csv", dtype=str, keep_default_na=False)
              for n in TABLES}
    replace = swap(tables)
    for df in tables.values():
        for column, ids in replace.items():
            if column in df:
                df.replace({column: dict(ids)}, inplace=True)
    if teams:
        n = len(tables["therapists"])
        tables["therapists"]["team"] = [teams[i % len(teams)] for i in range(n)]
    for n, df in tables.items():
        df.to_csv(out / f"{n}.csv", index=False)
    return out
