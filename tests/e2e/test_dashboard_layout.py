"""The three dashboards as a person sees them on a laptop (1440×900) and a phone (390×844).

Issue 24, items 5 and 6, checked from the elements' bounding boxes in a real Chromium: no
control (input, select, button) outside the viewport's width, where the page cannot scroll
sideways; no tab label cut ("Neurotyp"); no plot legend over an axis title, a tick label or
a chart's words (the funnel's legend sat on its fairness sentence); no chart's words running
past the figure's edge (an annotation does not wrap: on a phone it was cut); the quarter
axis in time order.  Every tab is opened and checked.  A screenshot of each dashboard at each
size lands in tests/e2e/screenshots/docs-<dashboard>-<size>.png, and one of every tab in
tests/e2e/screenshots/tab-<dashboard>-<size>-<n>.png, for a person to look at.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from e2e_support import RENDERED

SCREENSHOTS = Path(__file__).resolve().parent / "screenshots"
Server = Any

pytestmark = pytest.mark.e2e

SIZES = {"desktop": (1440, 900), "phone": (390, 844)}


#: Controls whose box runs past the viewport's right edge (or starts left of 0).
OUTSIDE = """() => {
  const w = document.documentElement.clientWidth;
  return [...document.querySelectorAll('.sv-app input, .sv-app select, .sv-app button')]
    .filter(el => el.offsetParent !== null)
    .map(el => [el.outerHTML.slice(0, 80), el.getBoundingClientRect()])
    .filter(([_, r]) => r.width > 0 && (r.right > w + 1 || r.left < -1))
    .map(([h, r]) => `${h} @ ${Math.round(r.left)}-${Math.round(r.right)} of ${w}`);
}"""

#: Tab labels whose text does not fit (cut with an ellipsis).
CUT_TABS = """() => [...document.querySelectorAll('.lm-TabBar-tab')]
  .map(t => [t.innerText.trim(), t.querySelector('.lm-TabBar-tabLabel') || t])
  .filter(([_, l]) => l.scrollWidth > l.clientWidth + 1).map(([s]) => s)"""

#: Per visible plot: the legend's box against every axis title and tick label box.
LEGEND_OVERLAPS = """() => {
  const meet = (a, b) => a.left < b.right - 1 && b.left < a.right - 1 &&
                         a.top < b.bottom - 1 && b.top < a.bottom - 1;
  const out = [];
  for (const p of document.querySelectorAll('.sv-figure-panel .js-plotly-plot')) {
    if (p.offsetParent === null) continue;
    const legend = p.querySelector('g.legend');
    if (!legend) continue;
    const box = legend.getBoundingClientRect();
    const others = p.querySelectorAll(
      '.g-xtitle, .g-ytitle, .xtick text, .ytick text, g.annotation-text-g text');
    for (const o of others) {
      const r = o.getBoundingClientRect();
      if (r.width && meet(box, r)) {
        const title = (p.querySelector('.gtitle') || {}).textContent || '?';
        out.push(`${title}: legend over "${o.textContent}"`);
      }
    }
  }
  return out;
}"""

#: Per visible plot: text of an annotation (a chart's words) running past the figure's edges.
CUT_WORDS = """() => {
  const out = [];
  for (const p of document.querySelectorAll('.sv-figure-panel .js-plotly-plot')) {
    if (p.offsetParent === null) continue;
    const fig = p.querySelector('.main-svg').getBoundingClientRect();
    for (const t of p.querySelectorAll('g.annotation-text-g text')) {
      const r = t.getBoundingClientRect();
      if (r.width && (r.right > fig.right + 1 || r.left < fig.left - 1)) {
        const title = (p.querySelector('.gtitle') || {}).textContent || '?';
        out.push(`${title}: "${t.textContent.slice(0, 40)}" cut at the figure's edge`);
      }
    }
  }
  return out;
}"""

QUARTER_AXES = """() => [...document.querySelectorAll('.sv-figure-panel .js-plotly-plot')]
  .filter(p => p.offsetParent !== null && p._fullLayout && p._fullLayout.xaxis &&
               /quarter/.test((p._fullLayout.xaxis.title || {}).text || ''))
  .map(p => p._fullLayout.xaxis._categories)"""


def _check(page: Any, where: tuple[str, ...]) -> None:
    page.wait_for_function(RENDERED, timeout=180_000)
    page.wait_for_timeout(500)  # plotly's responsive resize after the first draw
    assert page.evaluate(OUTSIDE) == [], where
    assert page.evaluate(CUT_TABS) == [], where
    assert page.evaluate(LEGEND_OVERLAPS) == [], where
    assert page.evaluate(CUT_WORDS) == [], where
    for cats in page.evaluate(QUARTER_AXES):
        assert cats == sorted(cats), (*where, cats)  # "2023Q4" < "2024Q1" as text too


def _look(page: Any, url: str, name: str, size: str) -> None:
    w, h = SIZES[size]
    page.set_viewport_size({"width": w, "height": h})
    page.goto(url, wait_until="commit", timeout=120_000)
    _check(page, (name, size))
    page.screenshot(path=str(SCREENSHOTS / f"docs-{name}-{size}.png"), full_page=True)
    tabs = page.locator(".lm-TabBar-tab")
    for i in range(tabs.count()):
        label = tabs.nth(i).inner_text().strip()
        tabs.nth(i).click()
        page.wait_for_timeout(300)  # the tab's panels are built on first view
        _check(page, (name, size, label))
        page.locator(".sv-tab:visible").first.screenshot(
            path=str(SCREENSHOTS / f"tab-{name}-{size}-{i}.png"))


@pytest.fixture(scope="module")
def servers(start_server: Callable[..., Server], demo_export: Path) -> dict[str, Any]:
    return {"full": start_server(demo_export),
            "therapist": start_server(demo_export, "--therapist", "T01")}


@pytest.mark.parametrize("size", list(SIZES))
@pytest.mark.parametrize("name", ["supervisor", "practice_review", "therapist"])
def test_dashboard_fits_and_nothing_overlaps(servers: dict[str, Any], page: Any, name: str,
                                             size: str) -> None:
    srv = servers["therapist" if name == "therapist" else "full"]
    _look(page, f"{srv.url}/voila/render/{name}.ipynb", name, size)
