"""The open caseload table (issue 25) in a real Chromium, on the demo export.

A supervisor picks the therapist with the most open episodes, opens *Open caseload*, sees
one row per open episode (flagged rows first), sorts by last seen, filters to the flagged
ones, and clicks a row: the *Cases to discuss* tab opens with that episode's timeline drawn
and scrolled into view.  Screenshot: tests/e2e/screenshots/caseload-table.png (git-ignored).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from supervision.views.caseload_table import FILTERS, SORTS

SCREENSHOTS = Path(__file__).resolve().parent / "screenshots"
Server = Any

pytestmark = pytest.mark.e2e

IDLE = ("() => ![...document.querySelectorAll('.sv-loading-indicator')]"
        ".some(el => el.offsetParent !== null)")
ROWS = """() => [...document.querySelectorAll('.sv-cl-body .sv-cl-row')]
  .filter(r => r.offsetParent !== null)
  .map(r => ({id: r.querySelector('.sv-cl-open').innerText.trim(),
              text: r.innerText, flagged: r.classList.contains('sv-cl-flagged')
                                          || r.classList.contains('sv-risk')}))"""
IN_VIEW = """() => {
  const el = [...document.querySelectorAll('.sv-timeline')].find(e => e.offsetParent !== null);
  const p = el && el.querySelector('.js-plotly-plot');
  if (!p || !p._fullLayout) return null;
  const top = el.getBoundingClientRect().top;
  return {top: top, height: window.innerHeight};
}"""
ERROR_TEXT = re.compile(r"Traceback|error when executing|could not be drawn|Exception")


def _open_therapists(export: Path) -> tuple[str, int]:
    """The therapist with the most open episodes in the export, and how many."""
    e = pd.read_csv(export / "episodes.csv", dtype=str)
    n = e[e["termination"] == "ongoing"].groupby("therapist_id").size()
    n = n.sort_index().sort_values(ascending=False, kind="stable")
    return str(n.index[0]), int(n.iloc[0])


def _rows(page: Any) -> list[dict[str, Any]]:
    return page.evaluate(ROWS)


def _days(text: str) -> int:
    if "today" in text:
        return 0
    m = re.search(r"(\d+) days? ago", text)
    assert m, text
    return int(m.group(1))


def _wait_rows(page: Any, n: int) -> list[dict[str, Any]]:
    page.wait_for_function(f"() => ({ROWS})().length === {n}", timeout=60_000)
    return _rows(page)


def test_sort_filter_and_a_click_brings_the_timeline_into_view(
    start_server: Callable[..., Server], demo_export: Path, page: Any
) -> None:
    tid, n_open = _open_therapists(demo_export)
    assert n_open >= 3
    srv = start_server(demo_export)
    page.goto(srv.url + "/voila/render/supervisor.ipynb", wait_until="commit", timeout=120_000)
    page.locator(".lm-TabBar-tab", has_text="Open caseload").wait_for(timeout=120_000)
    page.wait_for_function(IDLE + " && document.querySelector('.sv-headline')",
                           timeout=120_000)
    page.locator(".widget-dropdown", has_text="Therapist").locator("select").select_option(tid)
    page.wait_for_timeout(500)
    page.wait_for_function(IDLE, timeout=120_000)
    page.locator(".lm-TabBar-tab", has_text="Open caseload").click()
    rows = _wait_rows(page, n_open)
    flags = [r["flagged"] for r in rows]
    assert flags == sorted(flags, reverse=True), "flagged rows first by default"
    assert not ERROR_TEXT.search(page.inner_text("body"))

    page.locator(".sv-cl-sort select").select_option(label=SORTS["days_since_seen"])
    days: list[int] = []
    for _ in range(60):  # the kernel reorders the rows: wait until the page shows it
        page.wait_for_timeout(500)
        days = [_days(r["text"]) for r in _rows(page)]
        if len(days) == n_open and days == sorted(days, reverse=True):
            break
    assert len(days) == n_open and days == sorted(days, reverse=True), days

    n_flagged = sum(flags)
    page.locator(".sv-cl-filter select").select_option(label=FILTERS["flagged"])
    flagged = _wait_rows(page, n_flagged)
    assert all(r["flagged"] for r in flagged)
    assert f"{n_flagged} of {n_open} open episodes shown" in page.inner_text(".sv-caseload-table")
    SCREENSHOTS.mkdir(exist_ok=True)
    page.locator(".sv-caseload-table").screenshot(path=str(SCREENSHOTS / "caseload-table.png"))

    page.locator(".sv-cl-filter select").select_option(label=FILTERS["all"])
    rows = _wait_rows(page, n_open)
    target = rows[-1]["id"]  # the last row: the timeline opens far from where it was
    page.locator(".sv-cl-open", has_text=target).click()
    page.wait_for_function(f"() => ({IN_VIEW})() !== null", timeout=120_000)
    header = page.locator(".sv-timeline .sv-timeline-header")
    header.wait_for(timeout=60_000)
    assert f"episode {target}" in header.inner_text()
    page.wait_for_timeout(800)  # the page's scroll runs 300 ms after the timeline opens
    where = page.evaluate(IN_VIEW)
    # in view: its top inside the viewport (a pixel above 0 is sub-pixel layout rounding of
    # a header scrolled to the very top, seen as -0.17 in CI)
    assert -1 <= where["top"] < where["height"], where
    assert page.locator(".lm-TabBar-tab.lm-mod-current").inner_text().strip() == (
        "Cases to discuss")
    assert not ERROR_TEXT.search(page.inner_text("body"))
    page.screenshot(path=str(SCREENSHOTS / "caseload-table-opened.png"))
