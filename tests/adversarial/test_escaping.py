"""Escaping: an export full of HTML and script payloads renders as text in every dashboard.

A small demo (``write_demo(episodes=60, seed=4)``) gets a payload as the id of five
therapists, as every team name and as four episodes' and clients' ids.  In Chromium, every
tab of the supervisor, practice-review and (``--therapist <payload>``) therapist dashboards
is visited: no payload runs (``window.__xss`` stays undefined), no element a payload would
create exists, and the payload text is visible as text.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from _server import e2e_conftest
from e2e_support import write_hostile_demo

pytestmark = pytest.mark.e2e

# Ids hold no "/" (validation refuses an id that could be read as a path), so the payloads
# in id columns close no tag; team names may.
PAYLOADS = [
    "<img src=x onerror=window.__xss=1>",
    "<script>window.__xss=2",
    '"><svg onload=window.__xss=3>',
    '<a href="javascript:window.__xss=4">a',
    "<b onmouseover=window.__xss=5>b{{7*7}}",
]
TEAM_PAYLOADS = ['<iframe srcdoc="<script>parent.__xss=6</script>">',
                 "<style>*{display:none}</style>", "</div><img src=y onerror=window.__xss=7>"]
INJECTED = ("img[src='x'], img[src='y'], svg[onload], iframe[srcdoc], a[href^='javascript'], "
            "b[onmouseover]")


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> Path:
    def swap(tables: Mapping[str, pd.DataFrame]) -> dict[str, dict[str, str]]:
        ids = sorted(tables["therapists"]["therapist_id"])[: len(PAYLOADS)]
        episodes = list(tables["episodes"]["episode_id"][:4])
        clients = list(tables["episodes"]["client_id"][:4])
        return {
            "therapist_id": dict(zip(ids, PAYLOADS, strict=True)),
            "episode_id": {e: f"{e}<img src=x onerror=window.__xss=8>" for e in episodes},
            "client_id": {c: f"<script>window.__xss=9 {c}" for c in clients},
        }

    out = tmp_path_factory.mktemp("escaping") / "hostile"
    return write_hostile_demo(out, episodes=60, seed=4, swap=swap, teams=TEAM_PAYLOADS)


def _visit_every_tab(browser: Any, url: str) -> str:
    """Open ``url``, click every tab, hover the plots; return the page's visible text."""
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(url, wait_until="commit", timeout=180_000)
    page.wait_for_selector(".sv-tab", timeout=180_000)
    page.wait_for_selector(".js-plotly-plot .main-svg", timeout=180_000)
    text = page.inner_text("body")
    tabs = page.locator(".lm-TabBar-tab")
    for i in range(tabs.count()):
        tabs.nth(i).click()
        page.wait_for_timeout(2500)
        for plot in page.locator(".js-plotly-plot .nsewdrag").all()[:6]:
            if plot.is_visible():
                plot.hover()
        text += page.inner_text("body")
    assert page.evaluate("() => typeof window.__xss") == "undefined", url
    found = page.evaluate(f"() => [...document.querySelectorAll({INJECTED!r})]"
                          ".map(e => e.outerHTML.slice(0, 120))")
    assert not found, (url, found)
    assert not page.evaluate("() => [...document.querySelectorAll('script:not([src])')]"
                             ".some(s => s.textContent.includes('__xss'))"), url
    page.close()
    return text


def test_payloads_render_as_text_everywhere(hostile: Path, browser: Any) -> None:
    conf = e2e_conftest()
    full = conf.Server(hostile)
    try:
        seen = ""
        for nb in ("supervisor.ipynb", "practice_review.ipynb"):
            seen += _visit_every_tab(browser, f"{full.url}/voila/render/{nb}")
    finally:
        full.stop()
    assert any(p in seen for p in PAYLOADS), "no payload shown as text"
    scoped = conf.Server(hostile, "--therapist", PAYLOADS[0])
    try:
        text = _visit_every_tab(browser, f"{scoped.url}/voila/render/therapist.ipynb")
    finally:
        scoped.stop()
    assert PAYLOADS[0] in text
