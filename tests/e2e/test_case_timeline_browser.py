"""The case timeline (domain.md §12) in a real Chromium, on the demo export.

A supervisor goes from *Cases to discuss* to a case's timeline and sees every row of it
drawn; on a server fixed to one therapist, the therapist's own case opens, and another
therapist's episode id typed into the picker (the widget's value, sent from the page) shows
the "not in this caseload" message and nothing of that episode.
The screenshot is tests/e2e/screenshots/timeline.png (git-ignored; docs/timeline.png is the
README's copy).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

SCREENSHOTS = Path(__file__).resolve().parent / "screenshots"
Server = Any  # conftest.Server

pytestmark = pytest.mark.e2e

TAB_READY = """() => {
  const vis = el => el.offsetParent !== null;
  if ([...document.querySelectorAll('.sv-loading-indicator')].some(vis)) return false;
  return [...document.querySelectorAll('.sv-open-timeline')].some(vis);
}"""
#: The timeline's plot: one y axis per row, each with at least one trace or annotation.
DRAWN = """() => {
  const p = document.querySelector('.sv-timeline .js-plotly-plot');
  if (!p || !p.querySelector('.main-svg') || !p._fullLayout) return null;
  const axes = Object.keys(p._fullLayout).filter(k => /^yaxis\\d*$/.test(k));
  const used = new Set(p._fullData.map(t => t.yaxis));
  const notes = (p._fullLayout.annotations || []).map(a => a.yref);
  const rows = axes.map(k => 'y' + k.slice(5));
  return {rows: rows.length, drawn: rows.filter(y => used.has(y) ||
          notes.includes(y + ' domain')).length, height: p.offsetHeight,
          subplots: p.querySelectorAll('.subplot').length};
}"""
ERROR_TEXT = re.compile(r"Traceback|error when executing|could not be drawn|Exception")


def _cases_tab(page: Any, url: str) -> None:
    page.goto(url, wait_until="commit", timeout=120_000)
    tab = page.locator(".lm-TabBar-tab", has_text="Cases to discuss")
    tab.wait_for(timeout=120_000)
    page.wait_for_function(
        "() => ![...document.querySelectorAll('.sv-loading-indicator')]"
        ".some(el => el.offsetParent !== null) && document.querySelector('.sv-headline')",
        timeout=120_000)
    tab.click()
    page.wait_for_function(TAB_READY, timeout=90_000)


def _open(page: Any, episode_id: str) -> None:
    box = page.locator(".sv-episode-picker input")
    box.fill(episode_id)
    box.press("Tab")
    page.wait_for_timeout(300)  # the value reaches the kernel before the click
    page.locator(".sv-open-timeline").click()


def _drawn(page: Any) -> dict[str, int]:
    page.wait_for_function(f"() => ({DRAWN})() !== null", timeout=90_000)
    return page.evaluate(DRAWN)


def _shot(page: Any, path: Path) -> None:
    """The whole timeline area, header to caption (Voilà scrolls an inner element)."""
    h = page.evaluate("() => document.querySelector('.sv-app').getBoundingClientRect().bottom")
    page.set_viewport_size({"width": 1280, "height": min(int(h) + 80, 8000)})
    page.locator(".sv-timeline").screenshot(path=str(path))
    page.set_viewport_size({"width": 1280, "height": 900})


def _episodes(export: Path) -> pd.DataFrame:
    return pd.read_csv(export / "episodes.csv", dtype=str)


def test_supervisor_opens_a_case_timeline_from_cases_to_discuss(
    start_server: Callable[..., Server], demo_export: Path, page: Any
) -> None:
    srv = start_server(demo_export)
    _cases_tab(page, srv.url + "/voila/render/supervisor.ipynb")
    listed = page.locator(".sv-cases td").first.inner_text().strip()
    assert page.locator(".sv-episode-picker input").input_value() == listed  # listed first
    _open(page, listed)
    got = _drawn(page)
    # attendance, SRS (and WAI-SR if rated), ruptures, PHQ-9 and GAD-7: every row drawn
    assert got["rows"] >= 5 and got["drawn"] == got["rows"], got
    assert got["height"] > 600, got
    text = page.inner_text(".sv-timeline")
    assert f"episode {listed}" in text
    assert "Why it is listed" in text and "never a verdict" in text
    assert not ERROR_TEXT.search(page.inner_text("body"))
    SCREENSHOTS.mkdir(exist_ok=True)
    _shot(page, SCREENSHOTS / "timeline.png")


def test_therapist_server_opens_own_case_and_refuses_another_therapists(
    start_server: Callable[..., Server], demo_export: Path, page: Any
) -> None:
    eps = _episodes(demo_export)
    me, other = sorted(eps["therapist_id"].unique())[:2]
    srv = start_server(demo_export, "--therapist", me)
    _cases_tab(page, srv.url + "/voila/render/therapist.ipynb")
    mine = page.locator(".sv-episode-picker input").input_value()
    assert mine in set(eps.loc[eps["therapist_id"] == me, "episode_id"])
    _open(page, mine)
    got = _drawn(page)
    assert got["drawn"] == got["rows"], got
    # the bands the server handed over (never the kernel's own rows), or why there are none
    text = page.inner_text(".sv-timeline")
    assert "not available on a therapist" not in text
    assert ("Expected median" in page.inner_text(".sv-timeline .js-plotly-plot")
            or "not enough history yet" in text)
    _shot(page, SCREENSHOTS / "timeline-therapist.png")

    theirs = eps[eps["therapist_id"] == other].iloc[0]
    _open(page, theirs["episode_id"])
    page.locator(".sv-timeline .sv-empty").wait_for(timeout=60_000)
    text = page.inner_text(".sv-timeline")
    assert "is not in this caseload" in text
    assert page.locator(".sv-timeline .js-plotly-plot").count() == 0
    body = page.inner_text("body")
    assert not re.search(rf"\b{re.escape(other)}\b", body), f"{other} appears in the page"
    assert theirs["start_date"] not in body
