"""The three dashboards in a real Chromium (Debian's), on the demo export.

For each dashboard: every figure panel of every tab renders a plot, no error text shows,
and a full-page screenshot of each tab lands in tests/e2e/screenshots/ (git-ignored).
Times from navigation to the last plot of the first tab go to screenshots/timings.json.
"""

from __future__ import annotations

import json
import re
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from e2e_support import RENDERED

HOSTILE = "<img src=x onerror=window.__xss=1>"  # as in conftest.hostile_export
SCREENSHOTS = Path(__file__).resolve().parent / "screenshots"
Server = Any  # conftest.Server (conftest modules are not importable by name here)

pytestmark = pytest.mark.e2e

COUNTS = """() => {
  const vis = el => el.offsetParent !== null;
  const tab = [...document.querySelectorAll('.sv-tab')].find(vis);
  const panels = [...tab.querySelectorAll('.sv-figure-panel')];
  return {all: tab.querySelectorAll('.sv-panel').length, panels: panels.length,
          plots: panels.filter(p => p.querySelector('.js-plotly-plot .main-svg')).length,
          empty: [...tab.querySelectorAll('.sv-empty-panel')].length};
}"""
FIRST_PLOT_DATA = """() => {
  const p = [...document.querySelectorAll('.sv-figure-panel .js-plotly-plot')]
    .find(el => el.offsetParent !== null);
  // rounded: DuckDB's parallel sums may differ in the last bits between two runs
  const r = v => typeof v === 'number' ? Math.round(v * 1e4) / 1e4 : v;
  const a = v => Array.from(v || []).map(r);
  return p ? JSON.stringify(p._fullData.map(t => [t.name, a(t.x), a(t.y)])) : null;
}"""
DRAWN_HIGH = """() => [...document.querySelectorAll('.sv-figure-panel .js-plotly-plot')]
  .filter(el => el.offsetParent !== null).every(el => el.offsetHeight > 100)"""
ERROR_TEXT = re.compile(r"Traceback|error when executing|could not be drawn|Exception")
TIMINGS = SCREENSHOTS / "timings.json"


def _record(key: str, seconds: float) -> None:
    data = json.loads(TIMINGS.read_text()) if TIMINGS.exists() else {}
    data[key] = round(seconds, 2)
    TIMINGS.write_text(json.dumps(data, indent=2))


def _wait_rendered(page: Any, timeout: float = 90_000) -> None:
    page.wait_for_function(RENDERED, timeout=timeout)


def _open(page: Any, url: str, key: str) -> None:
    t0 = time.monotonic()
    page.goto(url, wait_until="commit", timeout=120_000)
    _wait_rendered(page, timeout=120_000)
    _record(key, time.monotonic() - t0)


def _assert_clean(page: Any) -> None:
    text = page.inner_text("body")
    assert not ERROR_TEXT.search(text), ERROR_TEXT.search(text)
    assert page.locator(".sv-error").count() == 0


def _shot(page: Any, path: Path) -> None:
    """A screenshot of the whole page: Voilà scrolls an inner element, so grow the viewport."""
    h = page.evaluate("() => { const a = document.querySelector('.sv-app');"
                      " return a ? a.getBoundingClientRect().bottom + 60 : 900; }")
    page.set_viewport_size({"width": 1280, "height": min(int(h) + 40, 8000)})
    page.screenshot(path=str(path), full_page=True)
    page.set_viewport_size({"width": 1280, "height": 900})


def _every_tab(page: Any, name: str) -> dict[str, dict[str, int]]:
    """Visit every tab: all figure panels must hold a rendered plot; screenshot each."""
    seen = {}
    tabs = page.locator(".lm-TabBar-tab")
    for i in range(tabs.count()):
        title = tabs.nth(i).inner_text().strip()
        t0 = time.monotonic()
        tabs.nth(i).click()
        _wait_rendered(page)
        if i:
            _record(f"{name}: tab '{title}'", time.monotonic() - t0)
        counts = page.evaluate(COUNTS)
        assert counts["plots"] == counts["panels"], (title, counts)
        assert counts["all"] > 0, title
        seen[title] = counts
        _assert_clean(page)
        slug = re.sub(r"[^a-z]+", "-", title.lower()).strip("-")
        _shot(page, SCREENSHOTS / f"{name}-{i}-{slug}.png")
    tabs.nth(0).click()
    _wait_rendered(page)
    # back on the first tab its plots are drawn again at full height (a plot resized while
    # its tab was hidden used to come back 0 px high: a blank tab)
    page.wait_for_function(DRAWN_HIGH, timeout=15_000)
    return seen


@pytest.fixture(scope="module")
def full_server(start_server: Callable[..., Server], demo_export: Path) -> Server:
    return start_server(demo_export)


def _ids(export: Path) -> list[str]:
    return sorted(pd.read_csv(export / "therapists.csv", dtype=str)["therapist_id"])


LANDING_LINKS = """() => [...document.querySelectorAll('.sv-dashboard a')]
  .map(a => [a.textContent.trim(), new URL(a.href).pathname])"""


def test_landing_page_lists_what_may_be_opened(
    full_server: Server, start_server: Callable[..., Server], demo_export: Path, page: Any
) -> None:
    """The product's landing page at / (and /voila/tree), not Voilà's file list: on a full
    server the supervisor and practice dashboards, on a --therapist server only the
    therapist's own; each link draws; the export's name, dates and checksum; the reminder."""
    for path in ("/", "/voila/tree"):
        page.goto(full_server.url + path, timeout=60_000)
        assert page.evaluate(LANDING_LINKS) == [
            ["Supervision: caseload review", "/voila/render/supervisor.ipynb"],
            ["Practice review", "/voila/render/practice_review.ipynb"]]
    text = page.inner_text("body")
    assert "Select items to open" not in text and "therapist.ipynb" not in text
    assert "2023-01-02 to 2024-12-31" in text and "not verdicts" in text
    assert re.search(r"\b[0-9a-f]{64}\b", text)
    assert page.inner_text(".sv-export-name") == demo_export.name
    _shot(page, SCREENSHOTS / "landing.png")
    page.click("text=Practice review")
    _wait_rendered(page, timeout=120_000)  # a click from the landing page is same-origin
    srv = start_server(demo_export, "--therapist", _ids(demo_export)[0])
    page.goto(srv.url + "/", timeout=60_000)
    assert page.evaluate(LANDING_LINKS) == [
        ["Your caseload: reflection", "/voila/render/therapist.ipynb"]]


def test_supervisor_dashboard(full_server: Server, page: Any) -> None:
    _open(page, full_server.url + "/voila/render/supervisor.ipynb", "supervisor: first tab")
    seen = _every_tab(page, "supervisor")
    # T01 (first in the list): 2 alliance + 3 rupture + 5 termination plots; its neurotype
    # groups are all below 5 episodes, so that tab shows one privacy message instead.
    assert sum(c["plots"] for c in seen.values()) >= 10, seen
    assert seen["Neurotype match"]["plots"] == 0, seen
    assert "n = " in page.inner_text(".sv-headline")
    before = page.evaluate(FIRST_PLOT_DATA)
    t0 = time.monotonic()
    page.locator("select").first.select_option(index=1)
    page.wait_for_function(f"() => ({FIRST_PLOT_DATA})() !== {json.dumps(before)}",
                           timeout=60_000)
    _wait_rendered(page)
    _record("supervisor: change therapist", time.monotonic() - t0)
    assert page.evaluate(FIRST_PLOT_DATA) != before
    _shot(page, SCREENSHOTS / "supervisor.png")


def test_practice_review_dashboard(full_server: Server, page: Any) -> None:
    url = full_server.url + "/voila/render/practice_review.ipynb"
    _open(page, url, "practice_review: first tab")
    seen = _every_tab(page, "practice_review")
    assert sum(c["plots"] for c in seen.values()) >= 10, seen
    tabs = page.locator(".lm-TabBar-tab")
    tabs.nth(1).click()  # funnel plots: must not be a league table
    _wait_rendered(page)
    assert page.locator("table:visible").count() == 0
    tabs.nth(0).click()
    _wait_rendered(page)
    _shot(page, SCREENSHOTS / "practice_review.png")


def test_therapist_dashboard_is_fixed_on_the_server(
    start_server: Callable[..., Server], demo_export: Path, page: Any
) -> None:
    ids = _ids(demo_export)
    me, other = ids[0], ids[1]
    srv = start_server(demo_export, "--therapist", me)
    with pytest.raises(urllib.error.HTTPError):
        urllib.request.urlopen(srv.url + "/voila/render/supervisor.ipynb", timeout=30)
    _open(page, srv.url + "/voila/render/therapist.ipynb", "therapist: first tab")
    seen = _every_tab(page, "therapist")
    assert sum(c["plots"] for c in seen.values()) >= 10, seen  # as for the supervisor's T01
    plain = page.evaluate(FIRST_PLOT_DATA)
    _shot(page, SCREENSHOTS / "therapist.png")
    for query in (f"?therapist={other}", f"?therapist_id={other}&scope=all"):
        page.goto(srv.url + "/voila/render/therapist.ipynb" + query, wait_until="commit")
        _wait_rendered(page, timeout=120_000)
        assert page.evaluate(FIRST_PLOT_DATA) == plain
        html = page.content()
        body = html.replace(query, "")
        assert not re.search(rf"\b{re.escape(other)}\b", body), f"{other} appears in the page"
        assert me in page.inner_text("body")


def test_hostile_ids_render_as_text_and_run_nothing(
    start_own_server: Callable[..., Server], hostile_export: Path, page: Any
) -> None:
    srv = start_own_server(hostile_export)
    _open(page, srv.url + "/voila/render/supervisor.ipynb", "hostile: first tab")
    _every_tab(page, "hostile")
    assert page.evaluate("() => typeof window.__xss") == "undefined"
    assert HOSTILE in page.inner_text(".sv-headline")
    assert page.locator("img[src='x']").count() == 0
