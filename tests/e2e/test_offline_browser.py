"""No request leaves 127.0.0.1, and no plot offers an upload (issue 23 item 5, domain.md §8).

Each page (the landing page, the supervisor, practice-review and therapist dashboards, and
the review pack's HTML) is opened in Chromium with a route that lets through only requests
to 127.0.0.1 / localhost (and the pack's own ``file:``/``data:``/``blob:`` URLs), records
every other one and aborts it.  The page must still draw its plots, and every plot's
live plotly context must have the upload button off and no logo link.  On today's main the
dashboards ask cdn.jsdelivr.net for Font Awesome twice per page, and every plot has
``showSendToCloud`` on (plotly.js 3's default), so these tests fail there.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pandas as pd
import pytest
from e2e_support import FIGURES_DRAWN as RENDERED

from tests.e2e.conftest import ROOT, SCREENSHOTS

pytestmark = pytest.mark.e2e
Server = Any  # conftest.Server

LOCAL_HOSTS = {"127.0.0.1", "localhost", "[::1]", "::1"}
LOCAL_SCHEMES = {"file", "data", "blob", "about"}
# The live config plotly.js resolved for each drawn plot, and what its modebar offers.
PLOTS = """() => [...document.querySelectorAll('.js-plotly-plot')].map(gd => ({
  cloud: !!(gd._context && gd._context.showSendToCloud),
  logo: !!(gd._context && gd._context.displaylogo),
  server: (gd._context && gd._context.plotlyServerURL) || '',
  buttons: [...gd.querySelectorAll('.modebar-btn')].map(b => b.getAttribute('data-title')),
  links: [...gd.querySelectorAll('a[href]')].map(a => a.href),
}))"""


class Outside:
    """A Playwright route handler: local requests go through, others are recorded, aborted."""

    def __init__(self) -> None:
        self.urls: list[str] = []

    def __call__(self, route: Any) -> None:
        url = route.request.url
        parts = urlsplit(url)
        if parts.scheme in LOCAL_SCHEMES or parts.hostname in LOCAL_HOSTS:
            route.continue_()
        else:
            self.urls.append(url)
            route.abort()


def _check_plots(page: Any, at_least: int, *, server_url: bool = False) -> list[dict[str, Any]]:
    """Every plot: upload and logo off; no upload button; no link off the host.
    ``server_url``: tolerate plotly.js's default upload address in the context (plotly.py's
    ``to_html`` drops the config's empty one when ``showSendToCloud`` is false; with the
    button gone nothing can use it)."""
    plots = page.evaluate(PLOTS)
    assert len(plots) >= at_least, plots
    for p in plots:
        assert not p["cloud"] and not p["logo"], p
        assert server_url or not p["server"], p
        assert not any("share" in (t or "").lower() or "cloud" in (t or "").lower()
                       for t in p["buttons"]), p["buttons"]
        assert not any(urlsplit(h).hostname not in LOCAL_HOSTS for h in p["links"]), p["links"]
    return plots


def _open_offline(browser: Any, url: str, shot: str, *, plots: int = 1) -> list[str]:
    """Open ``url`` with every off-host request blocked; wait for its plots; screenshot."""
    outside = Outside()
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        context.route("**/*", outside)
        page = context.new_page()
        page.goto(url, wait_until="commit", timeout=120_000)
        if plots:
            page.wait_for_function(RENDERED, timeout=180_000)
            page.hover(".js-plotly-plot .main-svg")  # shows the modebar, as a person would
            _check_plots(page, plots)
        else:
            page.wait_for_load_state("load", timeout=60_000)
        page.wait_for_load_state("networkidle", timeout=60_000)
        page.screenshot(path=str(SCREENSHOTS / shot), full_page=False)
    finally:
        context.close()
    return outside.urls


@pytest.fixture(scope="module")
def small_export(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small seeded demo (120 episodes): quick to serve, enough for every panel."""
    from supervision.demo import write_demo

    out = tmp_path_factory.mktemp("offline") / "demo"
    write_demo(out, episodes=120, seed=5)
    return out


@pytest.fixture(scope="module")
def server(start_own_server: Callable[..., Server], small_export: Path) -> Server:
    return start_own_server(small_export)


@pytest.mark.parametrize("path", ["/", "/voila/render/supervisor.ipynb",
                                  "/voila/render/practice_review.ipynb"])
def test_dashboards_request_nothing_beyond_the_server(
    server: Server, browser: Any, path: str
) -> None:
    name = "landing" if path == "/" else Path(path).stem
    outside = _open_offline(browser, server.url + path, f"offline-{name}.png",
                            plots=0 if path == "/" else 1)
    assert outside == []


def test_therapist_dashboard_requests_nothing_beyond_the_server(
    start_own_server: Callable[..., Server], small_export: Path, browser: Any
) -> None:
    first = sorted(pd.read_csv(small_export / "therapists.csv", dtype=str)["therapist_id"])[0]
    srv = start_own_server(small_export, "--therapist", first)
    outside = _open_offline(browser, srv.url + "/voila/render/therapist.ipynb",
                            "offline-therapist.png", plots=1)
    assert outside == []


@pytest.mark.slow
def test_pack_requests_nothing_and_offers_no_upload(
    small_export: Path, browser: Any, tmp_path: Path
) -> None:
    out = tmp_path / "pack.html"
    cmd = [sys.executable, "-m", "supervision.cli", "report", str(small_export),
           "--quarter", "2024Q3", "--out", str(out)]
    done = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=900)
    assert done.returncode == 0, done.stderr
    outside = Outside()
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    try:
        context.route("**/*", outside)
        page = context.new_page()
        page.goto(out.as_uri(), wait_until="load")
        page.wait_for_function(
            "document.querySelectorAll('.js-plotly-plot .main-svg').length >= "
            "document.querySelectorAll('.plotly-graph-div').length", timeout=120_000)
        page.hover(".js-plotly-plot .main-svg")
        _check_plots(page, 5, server_url=True)
        page.screenshot(path=str(SCREENSHOTS / "offline-pack.png"), full_page=False)
    finally:
        context.close()
    assert outside.urls == []
