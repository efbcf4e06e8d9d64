"""Issue 24, items 1 and 2: time axes in time order; a mean line stops where n < k and says
so at its end; bands and axes stay inside the measure's range.  Assertions on figure data."""

from __future__ import annotations

import numpy as np
import pandas as pd

from supervision.measures import default_registry
from supervision.views import alliance as va
from supervision.views.theme import order_time_axis, time_order


def _srs():
    return default_registry()["srs"]


def _quarters(labels: list[str], n: list[int]) -> pd.DataFrame:
    """Means 35 + i, a ±1 interval: only the order and the n matter here."""
    k = len(labels)
    mean = [35.0 + i for i in range(k)]
    return pd.DataFrame({"quarter": labels, "n": n, "mean": mean, "sd": [1.0] * k,
                         "low": [m - 1 for m in mean], "high": [m + 1 for m in mean]})


def test_time_order_sorts_quarters_months_and_dates_by_time() -> None:
    """By hand: 2023Q3 < 2023Q4 < 2024Q1 < 2024Q2; 2024-02 < 2024-10; 2023-12-31 < 2024-01-01
    (text order would put "2024-10" before "2024-2" and "2024Q10"-style labels wrongly)."""
    assert time_order(["2024Q2", "2023Q4", "2024Q1", "2023Q3", "2024Q1"]) == [
        "2023Q3", "2023Q4", "2024Q1", "2024Q2"]
    assert time_order(["2024-10", "2024-2"]) == ["2024-2", "2024-10"]
    assert time_order(["2024-01-01", "2023-12-31"]) == ["2023-12-31", "2024-01-01"]


def test_quarter_axis_is_in_time_order_when_the_own_trace_starts_later() -> None:
    """The issue's case: the therapist's dates narrowed to 2024Q1–Q2 drawn first, the
    practice's 2023Q3–2024Q2 second; plotly's first-appearance order would read 2024Q1,
    2024Q2, 2023Q3, 2023Q4.  The axis must read 2023Q3, 2023Q4, 2024Q1, 2024Q2, and each
    trace's own x must run forward (no zig-zag)."""
    own = _quarters(["2024Q2", "2024Q1"], [12, 12])
    practice = _quarters(["2024Q1", "2023Q4", "2024Q2", "2023Q3"], [50, 50, 50, 50])
    fig = va.alliance_quarter_figure(own, _srs(), practice=practice)
    axis = fig.layout.xaxis
    assert axis.categoryorder == "array"
    assert list(axis.categoryarray) == ["2023Q3", "2023Q4", "2024Q1", "2024Q2"]
    for trace in fig.data:
        xs = [str(x) for x in trace.x]
        assert xs == time_order(xs), trace.name


def test_order_time_axis_collects_every_trace() -> None:
    import plotly.graph_objects as go

    fig = go.Figure([go.Scatter(x=["2024Q1"], y=[1]), go.Scatter(x=["2022Q4", "2023Q2"], y=[1, 2])])
    order_time_axis(fig)
    assert list(fig.layout.xaxis.categoryarray) == ["2022Q4", "2023Q2", "2024Q1"]


def _by_session(n: list[int]) -> pd.DataFrame:
    k = len(n)
    mean = [36.0] * k
    return pd.DataFrame({"rated_index": list(range(1, k + 1)), "n": n, "mean": mean,
                         "sd": [2.0] * k, "low": [30.0] * k, "high": [39.0] * k})


def test_mean_line_stops_before_the_first_session_with_fewer_than_k_ratings() -> None:
    """n by session: 20, 12, 7, 4, 1, 1 with k = 5: session 4 is the first with n < 5, so the
    line (and its band) covers sessions 1–3 only, and a note at session 3 says "fewer than 5
    ratings after session 3".  With k = 1 nothing is cut."""
    fig = va.alliance_trend_figure(_by_session([20, 12, 7, 4, 1, 1]), _srs(), min_cell=5)
    mean = next(t for t in fig.data if t.name.endswith(": mean"))
    assert list(mean.x) == [1, 2, 3]
    band = next(t for t in fig.data if t.name.endswith("95% band"))
    assert max(band.x) == 3
    notes = [a for a in fig.layout.annotations if "after session" in a.text]
    assert len(notes) == 1
    assert notes[0].x == 3 and "fewer than 5 ratings" in notes[0].text
    fig1 = va.alliance_trend_figure(_by_session([20, 12, 7, 4, 1, 1]), _srs(), min_cell=1)
    mean1 = next(t for t in fig1.data if t.name.endswith(": mean"))
    assert list(mean1.x) == [1, 2, 3, 4, 5, 6]
    assert not [a for a in fig1.layout.annotations if "after session" in a.text]


def test_practice_line_stops_too_and_a_line_with_no_point_of_k_is_not_drawn() -> None:
    """Practice n: 30, 9, 3 (k = 5) -> practice line on sessions 1–2; own n all < 5 -> None."""
    fig = va.alliance_trend_figure(_by_session([8, 8]), _srs(), practice=_by_session([30, 9, 3]))
    prac = next(t for t in fig.data if t.name == "Practice: mean")
    assert list(prac.x) == [1, 2]
    assert va.alliance_trend_figure(_by_session([4, 2]), _srs()) is None


def test_band_and_axis_inside_the_scale() -> None:
    """A band from 2 to 50 is cut to 2–40 (SRS 0–40) and the y axis shows it whole: the axis
    starts at max(0, 2 − 2) = 0 and ends at 40 (the old axis began at mean − 6 = 30 and the
    band ran off its bottom)."""
    df = _by_session([20, 20])
    df["low"], df["high"] = [2.0, 2.0], [50.0, 50.0]
    fig = va.alliance_trend_figure(df, _srs())
    band = next(t for t in fig.data if t.name.endswith("95% band"))
    ys = np.array(band.y, dtype=float)
    assert ys.min() == 2.0 and ys.max() == 40.0
    lo, hi = fig.layout.yaxis.range
    assert lo <= ys.min() and hi == 40


def test_concern_level_is_a_legend_entry_not_a_label_on_a_point() -> None:
    """The concern line (SRS 36) is a trace with its name in the legend; no annotation reads
    "concern below" (an annotation sat on the last quarter's point)."""
    fig = va.alliance_quarter_figure(_quarters(["2024Q1", "2024Q2"], [9, 9]), _srs())
    assert any(t.name == "concern below 36" for t in fig.data)
    assert not [a for a in fig.layout.annotations if "concern" in (a.text or "")]


def test_quarter_with_fewer_than_k_ratings_is_named_not_drawn() -> None:
    """n = 12, 3, 9 with k = 5: 2024Q2 is left out and named under the axis."""
    fig = va.alliance_quarter_figure(_quarters(["2024Q1", "2024Q2", "2024Q3"], [12, 3, 9]), _srs())
    assert list(fig.data[0].x) == ["2024Q1", "2024Q3"]
    assert "not drawn (fewer than 5 ratings): 2024Q2" in fig.layout.xaxis.title.text


def test_therapist_cards_name_both_periods(tmp_path: object) -> None:
    """Issue 24 item 3: a therapist who picks 2024-04-01..2024-06-30 sees, on every card,
    their own period and the practice's named reference period (the export's quarters,
    first to last), never a bare "Practice (all dates)" beside a quarter."""
    import datetime as dt
    from pathlib import Path

    from supervision.caseload import Caseload
    from supervision.comparison import practice_label
    from supervision.demo import generate_demo
    from supervision.opening import read_bundle, write_bundle
    from supervision.views.apps import TherapistApp, reference_label

    s, e, t = generate_demo(episodes=60, seed=3)
    cl = Caseload.from_frames(s, e, t)
    tid = cl.therapist_ids()[0]
    own, practice = read_bundle(write_bundle(cl, tid, Path(str(tmp_path)) / "b", min_cell=5), tid)
    # the bundle's practice comes through the privacy gate: the last closed quarter of the
    # export (comparison.gate), named as such; a practice without a period keeps the
    # reference label of its dates (test_reference_label_of_a_windowed_practice)
    last = max(str(r["quarter"]) for r in practice["alliance_by_quarter"])
    assert practice["period"] == last
    label = practice_label(practice, reference_label(practice))
    assert label == f"Practice, {last}"
    app = TherapistApp(own, practice)
    app.since.value, app.until.value = dt.date(2024, 4, 1), dt.date(2024, 6, 30)
    app.refresh()
    html_text = app.headline.children[0].value
    cards = html_text.split('<div class="sv-card">')[1:]
    assert len(cards) == 6
    for card in cards:
        assert "Your caseload, 2024-04-01 to 2024-06-30" in card
        assert label in card
    assert "(all dates)" not in html_text


def test_reference_label_of_a_windowed_practice() -> None:
    """Aggregates made for a window name that window in ISO dates."""
    from supervision.views.apps import reference_label

    assert reference_label({"window": ["2024-01-01", "2024-03-31"]}) == (
        "Practice, 2024-01-01 to 2024-03-31")


def test_date_presets_by_hand() -> None:
    """Sessions 2023-01-09 .. 2024-11-20 (a Wednesday in 2024Q4):
    last 4 weeks = 2024-10-24 .. 2024-11-20 (27 days back, 28 days in all);
    this quarter = 2024-10-01 .. 2024-11-20; last quarter = 2024-07-01 .. 2024-09-30;
    since a date keeps its From and runs to the latest session."""
    import datetime as dt

    from supervision.views.dates import preset_range

    first, last = dt.date(2023, 1, 9), dt.date(2024, 11, 20)
    assert preset_range("all", first, last) == (first, last)
    assert preset_range("last_4_weeks", first, last) == (dt.date(2024, 10, 24), last)
    assert preset_range("this_quarter", first, last) == (dt.date(2024, 10, 1), last)
    assert preset_range("last_quarter", first, last) == (dt.date(2024, 7, 1),
                                                        dt.date(2024, 9, 30))
    assert preset_range("since", first, last, dt.date(2024, 3, 5)) == (dt.date(2024, 3, 5), last)
    # never before the first session
    assert preset_range("last_quarter", dt.date(2024, 8, 1), last)[0] == dt.date(2024, 8, 1)


def test_a_date_range_recomputes_once_on_apply() -> None:
    """Choosing a preset and typing a date count no recomputation; Apply counts one."""
    import datetime as dt

    from supervision.views.dates import DateRange

    calls: list[int] = []
    r = DateRange(dt.date(2023, 1, 9), dt.date(2024, 11, 20), lambda: calls.append(1))
    r.preset.value = "this_quarter"
    assert (r.since.value, r.until.value) == (dt.date(2024, 10, 1), dt.date(2024, 11, 20))
    r.since.value = dt.date(2024, 10, 15)
    assert r.preset.value == "custom" and calls == []
    r.apply.click()
    assert calls == [1]
    r.mark_applied()
    assert "Showing 2024-10-15 to 2024-11-20" in r.shown.value


def test_legends_sit_below_the_axis_title_and_labels_never_on_points() -> None:
    """Item 6: every styled figure with a legend anchors it to the figure's bottom edge in a
    125 px margin (ticks ~20 + axis title ~25 + up to three legend rows ~25 each = 120), not
    at a fraction of the plot's height (which on short plots sat on the tick labels); the
    funnel's practice rate is a legend entry, not a label at the line's end (on a dot)."""
    import pandas as pd

    from supervision.views import practice as vp
    from supervision.views import termination as vt

    per = pd.DataFrame({"therapist_id": ["T1", "T2", "T3"], "k": [2, 3, 4], "n": [10, 12, 20]})
    funnel = vp.funnel_figure(per, 0.196, title="Drop-out", noun="ended episodes")
    assert not [a for a in funnel.layout.annotations if "practice" in (a.text or "")]
    assert any(t.name == "practice 19.6%" for t in funnel.data)
    km = vt.retention_figure({"A": pd.DataFrame({
        "sessions": [0.0, 3.0], "retained": [1.0, 0.8], "low": [1.0, 0.6], "high": [1.0, 0.9],
        "at_risk": [20, 18]})})
    for fig in (funnel, km):
        legend = fig.layout.legend
        assert legend.yref == "container" and legend.y == 0 and legend.yanchor == "bottom"
        assert fig.layout.margin.b >= 120


def test_open_timeline_brings_it_into_view() -> None:
    """Item 10: after "Open timeline" the button at the timeline's end is focused (a
    ``focus`` message to the browser, which scrolls a focused element into view); a failed
    open sends none."""
    from supervision.caseload import Caseload
    from supervision.demo import generate_demo
    from supervision.timeline import case_timeline
    from supervision.views.timeline import TimelinePicker

    s, e, t = generate_demo(episodes=40, seed=2)
    cl = Caseload.from_frames(s, e, t)
    eid = str(e["episode_id"].iloc[0])
    sent: list[dict] = []
    picker = TimelinePicker([eid], lambda x: case_timeline(cl, x))
    picker.back.send = lambda msg, *a, **k: sent.append(msg)  # type: ignore[method-assign]
    picker.open("no such episode")
    assert sent == [] and picker.back not in picker.area.children
    picker.open(eid)
    assert picker.area.children[-1] is picker.back
    assert sent == [{"do": "focus"}]
