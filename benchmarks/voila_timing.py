"""Voilà: time until the supervisor dashboard shows every plot, against an empty notebook.

One Voilà server (the command line of :func:`supervision.serve.voila_command`, the one
``supervision serve`` runs) serves a private folder holding a copy of
``dashboards/supervisor.ipynb`` and ``empty.ipynb`` (a notebook with no cells), with the export
prepared the way ``supervision serve`` prepares it (read and validated once by the server,
then opened read-only by every kernel: ``SUPERVISION_PREPARED``; the preparation is timed
on its own as ``prepare_s``).  Kernel preheating is
turned off, so every visit starts a kernel and runs the notebook: the figure is what a visitor
waits for when no warm kernel is waiting (preheating hides it for the first visitor only).

Headless Debian Chromium (``/usr/bin/chromium``; never ``playwright install``) opens each page
in a fresh browser context; the clock runs from ``page.goto`` to

* empty notebook: Voilà's ``voila_finish()`` has shown ``#rendered_cells``;
* supervisor: the same, and as many drawn Plotly figures (``.js-plotly-plot .main-svg``) as a
  warm-up visit found once the page had settled (the headline and the Alliance tab).

Then, on one open supervisor page, the two filter changes a supervisor makes: another therapist
(the first ``<select>``) and another start date (the first date input), each timed from the
change until the first figure shows new data and no loading line is visible (the condition of
``tests/e2e/test_dashboards.py``).  Each change picks a therapist, or a date, not shown before.

The peak RSS is that of the Voilà server and all its kernels together (psutil, sampled every
0.1 s) during the supervisor visits.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import nbformat
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from conftest_browser import CHROMIUM, launch  # the tests' Chromium and its flags

TIMEOUT_MS = 600_000
SHOWN = """(n) => {
  const cells = document.querySelector('#rendered_cells');
  if (!cells || cells.style.display === 'none') return false;
  return document.querySelectorAll('.js-plotly-plot .main-svg').length >= Math.max(n, 0) * 1;
}"""
PLOTS = "() => document.querySelectorAll('.js-plotly-plot').length"
RENDERED = """() => {
  const vis = el => el.offsetParent !== null;
  if ([...document.querySelectorAll('.sv-loading-indicator')].some(vis)) return false;
  const tab = [...document.querySelectorAll('.sv-tab')].find(vis);
  if (!tab) return false;
  const panels = [...tab.querySelectorAll('.sv-figure-panel')];
  return panels.every(p => p.querySelector('.js-plotly-plot .main-svg'));
}"""
FIRST_DATA = """() => {
  const p = [...document.querySelectorAll('.sv-figure-panel .js-plotly-plot')]
    .find(el => el.offsetParent !== null);
  return p ? JSON.stringify(p._fullData.map(t => [t.name, t.x, t.y])) : null;
}"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _site(root: Path) -> None:
    from supervision.serve import find_dashboards

    shutil.copy2(find_dashboards() / "supervisor.ipynb", root / "supervisor.ipynb")
    nbformat.write(nbformat.v4.new_notebook(), root / "empty.ipynb")


def _start(root: Path, export: Path, log: Path) -> tuple[subprocess.Popen, int, float]:
    """Start Voilà as ``supervision serve`` does; also return the server's preparation time.

    :func:`supervision.serve.prepare` reads and validates the export once and saves the
    validated copy that every kernel opens read-only (``SUPERVISION_PREPARED``).
    """
    from supervision.serve import prepare, voila_command, wait_ready, with_template_path

    port = _free_port()
    cmd = [a if a != "--preheat_kernel=True" else "--preheat_kernel=False"
           for a in voila_command(root, port)]
    work = root.parent / "work"
    work.mkdir(mode=0o700)
    t0 = time.perf_counter()
    _dashboards, env = prepare(export, therapist=None, mapping=None, measures=None,
                               min_cell=5, workdir=work)
    prepare_s = time.perf_counter() - t0
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, env=with_template_path(env), stdout=out,
                                stderr=subprocess.STDOUT)
    wait_ready(port, proc)
    return proc, port, prepare_s


class PeakRSS:
    """Sample the summed RSS of a process and its descendants in a background thread."""

    def __init__(self, pid: int) -> None:
        self.proc, self.peak, self._stop = psutil.Process(pid), 0, threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            total = 0
            for p in [self.proc, *self.proc.children(recursive=True)]:
                try:
                    total += p.memory_info().rss
                except psutil.Error:
                    continue
            self.peak = max(self.peak, total)
            time.sleep(0.1)

    def __enter__(self) -> PeakRSS:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def _visit(browser: Any, url: str, plots: int) -> float:
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = ctx.new_page()
    t0 = time.perf_counter()
    page.goto(url, wait_until="commit", timeout=TIMEOUT_MS)
    page.wait_for_function(SHOWN, arg=plots, timeout=TIMEOUT_MS, polling=50)
    took = time.perf_counter() - t0
    ctx.close()  # closing the page lets Voilà shut the kernel down
    return took


def _settled_plots(browser: Any, url: str) -> int:
    """Warm-up visit: how many figures the page shows once it has stopped changing for 5 s."""
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = ctx.new_page()
    page.goto(url, wait_until="commit", timeout=TIMEOUT_MS)
    page.wait_for_function(SHOWN, arg=0, timeout=TIMEOUT_MS, polling=100)
    last, since = -1, time.monotonic()
    while time.monotonic() - since < 5:
        n = page.evaluate(PLOTS)
        if n != last:
            last, since = n, time.monotonic()
        time.sleep(0.2)
    ctx.close()
    return int(last)


def _changed(page: Any, change: Any) -> float:
    """Seconds from ``change()`` until the first figure's data differ and nothing is loading."""
    before = page.evaluate(FIRST_DATA)
    t0 = time.perf_counter()
    change()
    page.wait_for_function(f"() => ({FIRST_DATA})() !== {json.dumps(before)} && ({RENDERED})()",
                           timeout=TIMEOUT_MS, polling=20)
    return time.perf_counter() - t0


def _filter_changes(browser: Any, url: str, plots: int, repeat: int) -> dict[str, list[float]]:
    """On one supervisor page: ``repeat`` therapist changes, then ``repeat`` start dates."""
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = ctx.new_page()
    page.goto(url, wait_until="commit", timeout=TIMEOUT_MS)
    page.wait_for_function(SHOWN, arg=plots, timeout=TIMEOUT_MS, polling=50)
    page.wait_for_function(RENDERED, timeout=TIMEOUT_MS)
    pick = page.locator("select").first
    n = pick.locator("option").count()
    therapist = [_changed(page, lambda i=i: pick.select_option(index=(7 * i + 3) % n))
                 for i in range(1, repeat + 1)]
    start = page.locator('input[type="date"]').first
    lo = dt.date.fromisoformat(start.input_value())
    dates = [_changed(page, lambda i=i: start.fill((lo + dt.timedelta(days=61 * i)).isoformat()))
             for i in range(1, repeat + 1)]
    ctx.close()
    return {"therapist_change": therapist, "date_change": dates}


def measure_voila(export: Path, repeat: int) -> dict[str, Any]:
    """Median seconds to show the empty notebook and the supervisor dashboard (all plots)."""
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        return {"error": f"{CHROMIUM} not found: not measured"}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "site"
        root.mkdir()
        _site(root)
        proc, port, prepare_s = _start(root, export, Path(tmp) / "voila.log")
        base = f"http://127.0.0.1:{port}/voila/render"
        try:
            with sync_playwright() as pw:
                browser = launch(pw)
                plots = _settled_plots(browser, f"{base}/supervisor.ipynb")
                empty = [_visit(browser, f"{base}/empty.ipynb", 0) for _ in range(repeat)]
                with PeakRSS(proc.pid) as rss:
                    sup = [_visit(browser, f"{base}/supervisor.ipynb", plots)
                           for _ in range(repeat)]
                changes = _filter_changes(browser, f"{base}/supervisor.ipynb", plots, repeat)
                browser.close()
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    return {"plots": plots, "runs": repeat, "prepare_s": prepare_s,
            "empty_s": statistics.median(empty),
            "supervisor_s": statistics.median(sup), "rss_mib": rss.peak / 2**20,
            "therapist_change_s": statistics.median(changes["therapist_change"]),
            "date_change_s": statistics.median(changes["date_change"]),
            "empty_samples": empty, "supervisor_samples": sup, **{
                f"{k}_samples": v for k, v in changes.items()}}
