"""Nothing on a chart leaves the machine (issue 23 item 5, domain.md §8).

Every plotly figure the dashboards draw (the mime bundle of each figure panel) and every
figure of the review pack (``Plotly.newPlot(..., config)`` in the page) carries
``views.common.PLOT_CONFIG``: no "Share chart…" (upload to Plotly Cloud) button, no plotly
logo linking to plotly.com, no server URL to send to.  plotly.js 3 shows the upload button
unless ``showSendToCloud`` is false (its default is true: see the ``showSendToCloud``
attribute in the plotly.js bundled with plotly.py), so a figure without the config offers
the upload; on today's main the config is ``{"displaylogo": False, "responsive": True}``
and these tests fail.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import ipywidgets as widgets
import pytest

from supervision.caseload import Caseload
from supervision.views.common import PLOT_CONFIG, PLOTLY_MIME, figure_payload

UPLOAD_BUTTONS = {"sendChartToCloud", "sendDataToCloud"}


def _offers_no_upload(config: dict[str, Any]) -> None:
    assert config.get("showSendToCloud") is False, config
    assert config.get("displaylogo") is False, config
    assert not config.get("plotlyServerURL"), config
    assert set(config.get("modeBarButtonsToRemove", [])) >= UPLOAD_BUTTONS, config
    assert not config.get("showLink") and not config.get("showEditInChartStudio"), config


def test_plot_config_offers_no_upload_and_no_logo_link() -> None:
    _offers_no_upload(PLOT_CONFIG)


def test_the_bundled_plotly_js_would_offer_the_upload_without_it() -> None:
    """Why the key matters: plotly.js 3's own default for ``showSendToCloud`` is true."""
    from plotly.offline import get_plotlyjs

    assert 'showSendToCloud:{valType:"boolean",dflt:!0}' in get_plotlyjs()


def _walk(w: Any) -> Iterator[Any]:
    yield w
    for child in getattr(w, "children", ()) or ():
        yield from _walk(child)


def _payloads(root: widgets.Widget) -> list[dict[str, Any]]:
    found = []
    for w in _walk(root):
        for out in getattr(w, "outputs", ()) or ():
            data = out.get("data", {})
            if PLOTLY_MIME in data:
                found.append(data[PLOTLY_MIME])
    return found


def _every_tab(app: Any) -> list[dict[str, Any]]:
    payloads = []
    for i in range(len(app.tab_specs)):
        app.tabs.selected_index = i  # builds the tab (tabs are built lazily)
        payloads += _payloads(app.tabs.children[i])
    return payloads


@pytest.fixture(scope="module")
def demo() -> tuple[Caseload, Any]:
    """The seeded synthetic demo as a Caseload, and its episodes table."""
    from supervision.demo import generate_demo

    s, e, t = generate_demo(episodes=160, seed=11)
    return Caseload.from_frames(s, e, t), e


def test_every_dashboard_figure_carries_the_config(demo: tuple[Caseload, Any]) -> None:
    """Supervisor (with a case timeline opened) and practice review: every figure panel."""
    from supervision.views.apps import PracticeApp, SupervisorApp

    caseload, episodes = demo
    sup = SupervisorApp(caseload)
    sup.refresh()
    payloads = _every_tab(sup)
    own = episodes.loc[episodes["therapist_id"] == sup.therapist.value, "episode_id"]
    sup.open_timeline(own.iloc[0])
    timeline = sup.figures.get("case_timeline")
    assert timeline is not None
    payloads += _payloads(sup.root)
    practice = PracticeApp(caseload)
    practice.refresh()
    payloads += _every_tab(practice)
    assert len(payloads) >= 20, len(payloads)
    for p in payloads:
        assert p["config"] == PLOT_CONFIG
        _offers_no_upload(p["config"])


def test_figure_payload_config_is_a_copy() -> None:
    """A caller changing one figure's config must not change every other figure's."""
    import plotly.graph_objects as go

    p = figure_payload(go.Figure(go.Scatter(x=[1], y=[1])))
    p["config"]["showSendToCloud"] = True
    assert PLOT_CONFIG["showSendToCloud"] is False


NEWPLOT = re.compile(r"Plotly\.newPlot\(")


@pytest.mark.slow
def test_every_pack_figure_carries_the_config(tmp_path: Path) -> None:
    """The practice pack of a small demo: one config per ``Plotly.newPlot``, each without
    the upload (plotly.py writes ``json.dumps`` of the config, ``plotlyServerURL`` dropped
    when ``showSendToCloud`` is false)."""
    from supervision.demo import write_demo
    from supervision.report import ReportArgs, build_report
    from supervision.report.page import LIB_RE

    write_demo(tmp_path / "demo", episodes=120, seed=5)
    out = tmp_path / "pack.html"
    build_report(ReportArgs(str(tmp_path / "demo"), "2024Q3", out=str(out), quiet=True))
    page = LIB_RE.sub("", out.read_text(encoding="utf-8"))
    calls = len(NEWPLOT.findall(page))
    expected = {k: v for k, v in PLOT_CONFIG.items() if k != "plotlyServerURL"}
    assert calls > 5
    assert page.count(json.dumps(expected)) == calls
    assert '"showSendToCloud": true' not in page and '"displaylogo": true' not in page
