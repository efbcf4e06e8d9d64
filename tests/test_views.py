"""supervision.views: figures carry n and intervals, suppress small cells, escape export
strings; the apps recompute when a filter widget changes (asserted on figure DATA)."""

from __future__ import annotations

import html
import json

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest

from supervision.caseload import Caseload
from supervision.measures import default_registry
from supervision.views import cases as vc
from supervision.views import neurotype as vn
from supervision.views import practice as vp
from supervision.views import ruptures as vr
from supervision.views.alliance import alliance_trend_figure
from supervision.views.common import PLOTLY_MIME, figure_panel, guarded, rate_text

HOSTILE = "<img src=x onerror=window.__xss=1>"



def _texts(fig: go.Figure) -> str:
    """Every string a figure can render as HTML: hovers, texts, names, ticks, titles."""
    return json.dumps(fig.to_plotly_json(), default=str)


# ---------------------------------------------------------------------- small pieces
def test_rate_text_gives_rate_interval_and_n() -> None:
    """7/20 ended episodes dropped out: 35%, Wilson interval given by the caller."""
    assert rate_text(0.35, 0.18, 0.57, 20, "ended episodes") == (
        "35% (95% CI 18%–57%), n = 20 ended episodes")
    assert rate_text(float("nan"), None, None, 0, "ended episodes") == (
        "no rate (n = 0 ended episodes)")


def test_guarded_turns_a_failure_into_a_readable_panel() -> None:
    from supervision.errors import ConfigError

    def boom() -> None:
        raise ConfigError("no SRS column <b>here</b>")

    w = guarded("The alliance trend", boom)
    assert "sv-error" in w.value and "could not be drawn" in w.value
    assert "&lt;b&gt;" in w.value  # the message is escaped too
    w2 = guarded("X", lambda: 1 / 0)
    assert "ZeroDivisionError" in w2.value


def test_figure_panel_uses_the_local_plotly_mimetype_not_a_cdn() -> None:
    fig = go.Figure(go.Scatter(x=[1], y=[2]))
    out = figure_panel(fig)
    data = out.outputs[0]["data"]
    assert PLOTLY_MIME in data and "text/html" not in data
    assert "cdn" not in json.dumps(data).lower()


# ---------------------------------------------------------------------- escaping
def _events(episode: str) -> pd.DataFrame:
    return pd.DataFrame({
        "episode_id": [episode, episode], "therapist_id": ["T1", "T1"],
        "session_date": ["2024-01-05", "2024-02-01"], "source_row": [1, 2],
        "attended_index": [2, 5], "kind": ["flagged", "drop"],
        "rupture_type": ["withdrawal", "alliance_drop"], "measure": [None, "srs"],
        "drop_points": [np.nan, 6.0], "repaired": [True, False],
        "sessions_to_repair": [1.0, np.nan],
    })


def test_hostile_episode_id_is_escaped_in_timeline_hover_and_ticks() -> None:
    fig = vr.rupture_timeline_figure(_events(HOSTILE))
    text = _texts(fig)
    assert HOSTILE not in text
    assert html.escape(HOSTILE) in text
    ys = {y for tr in fig.data if tr.y is not None for y in tr.y}
    assert ys == {html.escape(HOSTILE)}


def test_hostile_episode_id_is_escaped_in_client_lines_and_cases_html() -> None:
    by_session = pd.DataFrame({"rated_index": [1, 2], "n": [6, 6], "mean": [35.0, 37.0],
                               "sd": [1.0, 1.0], "low": [26.0, 28.0], "high": [44.0, 46.0]})
    series = pd.DataFrame({"episode_id": [HOSTILE, HOSTILE], "rated_index": [1, 2],
                           "session_date": pd.to_datetime(["2024-01-01", "2024-01-08"]),
                           "value": [34.0, 38.0]})
    fig = alliance_trend_figure(by_session, default_registry()["srs"], series=series)
    assert HOSTILE not in _texts(fig) and html.escape(HOSTILE) in _texts(fig)
    cases = pd.DataFrame({"therapist_id": ["T1"], "episode_id": [HOSTILE],
                          "reasons": [["low_alliance", "no_shows"]]})
    panel = vc.cases_panel(cases)
    assert HOSTILE not in panel.value and html.escape(HOSTILE) in panel.value
    assert "two or more no-shows in a row" in panel.value


def test_hostile_therapist_id_is_escaped_in_funnel_hover() -> None:
    per = pd.DataFrame({"therapist_id": [HOSTILE, "T2"], "k": [2, 3], "n": [10, 12]})
    fig = vp.funnel_figure(per, 0.2, title="Drop-out", noun="ended episodes")
    assert HOSTILE not in _texts(fig) and html.escape(HOSTILE) in _texts(fig)


# ---------------------------------------------------------------------- n and suppression
def _groups() -> pd.DataFrame:
    """Two groups: 'shared' with 12 episodes (3/10 ended dropped out), 'both_nt' suppressed."""
    return pd.DataFrame({
        "group": ["shared", "both_nt"], "episodes": [12, np.nan], "suppressed": [False, True],
        "ended": [10, np.nan],
        "early_alliance": [36.5, np.nan], "early_alliance_low": [35.0, np.nan],
        "early_alliance_high": [38.0, np.nan],
        "dropout_rate": [0.3, np.nan], "dropout_rate_low": [0.108, np.nan],
        "dropout_rate_high": [0.603, np.nan],
        "repair_rate": [0.5, np.nan], "repair_rate_low": [0.2, np.nan],
        "repair_rate_high": [0.8, np.nan],
        "reliable_improvement_rate": [0.6, np.nan], "reliable_improvement_rate_low": [0.3, np.nan],
        "reliable_improvement_rate_high": [0.85, np.nan],
    })


def test_group_rates_show_n_and_interval_and_suppress_small_groups() -> None:
    fig = vn.group_rates_figure(_groups(), min_cell=5)
    dropout = next(t for t in fig.data if t.name == "Drop-out")
    assert dropout.y[0] == pytest.approx(0.3) and np.isnan(dropout.y[1])
    assert "n = 10 ended episodes" in dropout.hovertext[0]
    assert "95% CI 11%–60%" in dropout.hovertext[0]
    # the suppressed group's state sits on its tick (issue 24: one state per group)
    ticks = [html.unescape(t) for t in fig.layout.xaxis.categoryarray]
    assert ticks == ["Both ND, shared tag<br>n = 12", "Both neurotypical<br><5: not shown"]


def test_tag_heatmap_suppressed_cell_reads_lt5_and_has_no_rate() -> None:
    grid = pd.DataFrame({
        "therapist_tag": ["adhd", "adhd"], "client_tag": ["adhd", "autistic"],
        "episodes": [8, np.nan], "suppressed": [False, True],
        "dropout_rate": [0.25, np.nan], "early_alliance": [36.0, np.nan],
    })
    fig = vn.tag_heatmap_figure(grid, min_cell=5)
    z, text = fig.data[0].z, fig.data[0].text
    assert z[0][0] == pytest.approx(0.25) and np.isnan(z[0][1])
    assert html.unescape(text[0][1]) == "<5" and "n=8" in text[0][0]


def test_funnel_leaves_out_small_denominators_and_never_ranks() -> None:
    """T3 (1 of 3, n < 5) is left out, and so is T1 (2 of 10), the shown therapist with the
    smallest n: the practice's 6 of 25 minus T2's 3 of 12 leaves 3 of 13 for T3 and T1
    together, not T3's own 1 of 3.  The hidden part holds drop-outs (3) and others (10), so
    no further one is needed.  Order of the input kept, no sorting."""
    per = pd.DataFrame({"therapist_id": ["T3", "T1", "T2", "T4"], "k": [1, 2, 3, 0],
                        "n": [3, 10, 12, 0]})
    fig = vp.funnel_figure(per, 6 / 25, title="Drop-out", noun="ended episodes", min_cell=5)
    pts = next(t for t in fig.data if t.name == "therapists")
    assert list(pts.x) == [12]
    assert "3 therapist(s) not shown (fewer than 5 ended episodes" in fig.layout.title.text
    assert "3 of 12 ended episodes (25%)" in pts.hovertext[0]


def test_repair_rate_figure_carries_n_in_hover() -> None:
    own = {"repair_rate": 0.75, "repair_rate_low": 0.41, "repair_rate_high": 0.93,
           "count": 8, "attended_sessions": 80, "per_100_sessions": 10.0}
    fig = vr.repair_rate_figure(own, None, own_label="Therapist T1")
    assert "n = 8 ruptures" in fig.data[0].hovertext[0]
    assert "10.0 per 100" in fig.data[0].hovertext[0]


# ---------------------------------------------------------------------- apps
@pytest.fixture(scope="module")
def demo_caseload() -> Caseload:
    """The synthetic demo (seeded) as a Caseload: 160 episodes, at least 12 therapists."""
    from supervision.demo import generate_demo

    s, e, t = generate_demo(episodes=160, seed=11)
    return Caseload.from_frames(s, e, t)


def _trace_data(fig: go.Figure | None) -> str:
    assert fig is not None
    return json.dumps([{"x": tr.x, "y": tr.y} for tr in fig.data], default=str)


def _no_error_panels(app: object) -> None:
    for i in range(len(app.tab_specs)):  # type: ignore[attr-defined]
        app.tabs.selected_index = i  # type: ignore[attr-defined]
        for w in app.tabs.children[i].children:  # type: ignore[attr-defined]
            assert "sv-error-panel" not in w._dom_classes, getattr(w, "value", w)


def test_supervisor_therapist_dropdown_changes_the_figures(demo_caseload: Caseload) -> None:
    from supervision.views.apps import SupervisorApp

    app = SupervisorApp(demo_caseload)
    app.refresh()
    ids = list(app.therapist.options)
    assert len(ids) >= 12
    before = _trace_data(app.figures["alliance_trend"])
    head_before = app.headline.children[0].value
    # ids[2]: the demo's T02 has 3 episodes, too few (< k = 5) for a mean line at all
    app.therapist.value = ids[2]
    assert _trace_data(app.figures["alliance_trend"]) != before
    assert app.headline.children[0].value != head_before
    names = [tr.name for tr in app.figures["alliance_trend"].data]
    assert f"Therapist {ids[2]}: mean" in names
    _no_error_panels(app)


def test_supervisor_date_range_changes_the_figures(demo_caseload: Caseload) -> None:
    import datetime as dt

    from supervision.views.apps import SupervisorApp

    app = SupervisorApp(demo_caseload)
    app.refresh()
    app.tabs.selected_index = 3  # termination
    before = _trace_data(app.figures["termination_mix"])
    app.until.value = dt.date(2023, 9, 30)
    # a date field alone recomputes nothing (issue 24: a range applies once, on Apply)
    assert _trace_data(app.figures["termination_mix"]) == before
    app.dates.apply.click()
    assert _trace_data(app.figures["termination_mix"]) != before
    assert "to 2023-09-30" in app.dates.shown.value
    app.since.value = dt.date(2024, 1, 1)  # after `until`: a readable message, no figures
    app.dates.apply.click()
    assert "after the end date" in app.headline.children[0].value


def test_supervisor_client_lines_toggle_adds_capped_traces(demo_caseload: Caseload) -> None:
    from supervision.views.alliance import MAX_CLIENT_LINES
    from supervision.views.apps import SupervisorApp

    app = SupervisorApp(demo_caseload)
    app.refresh()
    n0 = len(app.figures["alliance_trend"].data)
    app.show_clients.value = True
    n1 = len(app.figures["alliance_trend"].data)
    assert n0 < n1 <= n0 + MAX_CLIENT_LINES


def test_practice_quarter_and_team_change_the_figures(demo_caseload: Caseload) -> None:
    from supervision.views.apps import PracticeApp

    app = PracticeApp(demo_caseload)
    app.refresh()
    app.tabs.selected_index = 1  # funnel plots
    before = _trace_data(app.figures["funnel_dropout"])
    app.quarter.value = app.quarter.options[2]
    after_q = _trace_data(app.figures["funnel_dropout"])
    assert after_q != before
    team = app.team.options[1][1]
    app.team.value = team
    assert _trace_data(app.figures["funnel_dropout"]) != after_q
    _no_error_panels(app)


def test_therapist_bundle_holds_one_therapist_and_anonymous_aggregates(
    demo_caseload: Caseload, tmp_path: object
) -> None:
    from pathlib import Path

    from supervision.opening import read_bundle, write_bundle
    from supervision.views.apps import TherapistApp

    ids = demo_caseload.therapist_ids()
    folder = write_bundle(demo_caseload, ids[0], Path(str(tmp_path)) / "b", min_cell=5)
    cl, practice = read_bundle(folder, ids[0])
    assert cl.therapist_ids() == [ids[0]]
    assert set(cl.episodes.execute()["therapist_id"]) == {ids[0]}
    text = (folder / "practice.json").read_text()
    assert not any(t in text for t in ids), "practice aggregates must not name therapists"
    app = TherapistApp(cl, practice)
    app.refresh()
    names = [tr.name for tr in app.figures["alliance_trend"].data]
    # the practice of the last closed quarter (comparison.gate), named so in the legend
    assert practice["period"] == "2024Q4"
    assert "Your caseload: mean" in names and "Practice, 2024Q4: mean" in names
    _no_error_panels(app)
