"""Termination breakdowns hide groups of 1 to k−1 episodes (domain.md §8), by hand."""

from __future__ import annotations

import json
import math

import pandas as pd

from supervision.views import termination as vt


def _outcomes() -> pd.DataFrame:
    """Completed: 8 paired, 6 reliably improved (0.75), 5 started as cases, 3 recovered (0.6).
    Drop-out: 2 paired, 2 improved (1.0) -> suppressed at k = 5: no rate, "<5".
    External: 0 paired -> not drawn at all."""
    return pd.DataFrame({
        "termination": ["completed", "dropout", "external"],
        "paired": [8, 2, 0],
        "started_clinical": [5, 2, 0],
        "reliable_improvement_rate": [0.75, 1.0, math.nan],
        "reliable_improvement_rate_low": [0.41, 0.34, math.nan],
        "reliable_improvement_rate_high": [0.93, 1.0, math.nan],
        "recovery_rate": [0.6, 1.0, math.nan],
        "recovery_rate_low": [0.23, 0.34, math.nan],
        "recovery_rate_high": [0.88, 1.0, math.nan],
    })


def test_outcome_by_ending_hides_small_endings() -> None:
    fig = vt.outcome_by_ending_figure(_outcomes(), "PHQ-9", min_cell=5)
    assert fig is not None
    bars = {t.name: list(t.y) for t in fig.data if t.type == "bar"}
    assert bars["Reliable improvement"][0] == 0.75 and math.isnan(bars["Reliable improvement"][1])
    assert bars["Recovery"][0] == 0.6 and math.isnan(bars["Recovery"][1])
    marks = [t for t in fig.data if t.type == "scatter" and t.mode == "text"]
    assert len(marks) == 1 and list(marks[0].text) == ["&lt;5"]
    # the hidden group's count (2) is nowhere in its hover text
    hover = [h for t in fig.data if t.type == "bar" for h in t.hovertext]
    assert all("n = 2" not in h for h in hover)
    assert "privacy" in hover[1]


def test_recovery_needs_k_cases_at_start() -> None:
    """Completed with 8 paired but only 3 starting as cases: improvement shown, recovery not."""
    df = _outcomes().iloc[[0]].assign(started_clinical=3)
    fig = vt.outcome_by_ending_figure(df, "PHQ-9", min_cell=5)
    bars = {t.name: list(t.y) for t in fig.data if t.type == "bar"}
    assert bars["Reliable improvement"] == [0.75] and math.isnan(bars["Recovery"][0])


def test_all_small_draws_only_marks() -> None:
    """Only drop-out (2 paired) has episodes: a "<5" mark and no bar, not an empty state
    that would read as "no episodes"; with no paired episode at all, no figure."""
    fig = vt.outcome_by_ending_figure(_outcomes().iloc[[1, 2]], "PHQ-9", min_cell=5)
    bars = [y for t in fig.data if t.type == "bar" for y in t.y]
    assert bars and all(math.isnan(y) for y in bars)
    marks = [t for t in fig.data if t.type == "scatter" and t.mode == "text"]
    assert [list(t.text) for t in marks] == [["&lt;5"]]
    assert "n = 2" not in json.dumps(fig.to_plotly_json(), default=str)
    assert vt.outcome_by_ending_figure(_outcomes().iloc[[2]], "PHQ-9", min_cell=5) is None


def _suppressed_by_metrics() -> pd.DataFrame:
    """What ``outcomes_by_termination`` returns for ``_outcomes`` at k = 5: drop-out
    suppressed (counts and rates NaN); alone it would be revealed by subtraction, so
    completed (8) is suppressed too; external shown with 0."""
    df = _outcomes().assign(suppressed=[True, True, False],
                            recovery_suppressed=[True, True, False])
    figures = [c for c in df if c not in ("termination", "suppressed", "recovery_suppressed")]
    df.loc[[0, 1], figures] = math.nan
    return df


def test_draws_what_the_metrics_layer_suppressed() -> None:
    """Rows flagged ``suppressed`` (count NaN) get "<5" marks, no bar and no count."""
    fig = vt.outcome_by_ending_figure(_suppressed_by_metrics(), "PHQ-9", min_cell=5)
    marks = [t for t in fig.data if t.type == "scatter" and t.mode == "text"]
    assert len(marks) == 1 and list(marks[0].text) == ["&lt;5", "&lt;5"]
    assert all(math.isnan(y) for t in fig.data if t.type == "bar" for y in t.y)
    hover = [h for t in fig.data if t.type == "bar" for h in t.hovertext]
    assert all(h.endswith("not shown (privacy)") for h in hover)


def test_recovery_suppressed_flag_is_drawn() -> None:
    """Completed shown (8 paired) but its recovery flagged withheld: improvement 0.75
    drawn, recovery not, and its hover says why rather than giving n."""
    df = _outcomes().iloc[[0]].assign(suppressed=False, recovery_suppressed=True)
    fig = vt.outcome_by_ending_figure(df, "PHQ-9", min_cell=5)
    bars = {t.name: t for t in fig.data if t.type == "bar"}
    assert list(bars["Reliable improvement"].y) == [0.75]
    assert math.isnan(bars["Recovery"].y[0])
    assert list(bars["Recovery"].hovertext) == ["Completed (planned): recovery not shown (privacy)"]
    # no bar to hover: the title says which ending's recovery is withheld, and why
    assert "Recovery not shown (privacy" in fig.layout.title.text
    assert fig.layout.title.text.endswith("Completed (planned)</sub>")
    shown = vt.outcome_by_ending_figure(_outcomes().iloc[[0]], "PHQ-9", min_cell=5)
    assert "Recovery not shown" not in shown.layout.title.text


def test_dose_hides_small_endings() -> None:
    """Completed 6 episodes (median 10) shown; client-ended 1 episode (median 10) hidden as <5."""
    df = pd.DataFrame({
        "termination": ["completed", "client_ended", "external"],
        "episodes": [6, 1, 0],
        "median": [10.0, 10.0, math.nan], "q1": [7.0, 10.0, math.nan],
        "q3": [11.0, 10.0, math.nan], "mean": [9.5, 10.0, math.nan],
    })
    fig = vt.dose_figure(df, min_cell=5)
    assert fig is not None
    points = fig.data[0]
    assert list(points.x) == [10.0] and len(points.y) == 1
    marks = [t for t in fig.data if t.type == "scatter" and t.mode == "text"]
    assert len(marks) == 1 and len(marks[0].y) == 1 and list(marks[0].text) == ["&lt;5"]
    assert "n = 1" not in json.dumps(fig.to_plotly_json(), default=str)
    only_small = vt.dose_figure(df.iloc[[1, 2]], min_cell=5)
    assert list(only_small.data[0].x) == []
    assert [list(t.text) for t in only_small.data if t.mode == "text"] == [["&lt;5"]]
    assert vt.dose_figure(df.iloc[[2]], min_cell=5) is None


def test_dose_draws_what_the_metrics_layer_suppressed() -> None:
    """``dose_by_termination`` rows flagged ``suppressed`` (episodes NaN): "<5", no point."""
    df = pd.DataFrame({
        "termination": ["completed", "client_ended", "dropout"],
        "episodes": [6.0, math.nan, math.nan], "suppressed": [False, True, True],
        "median": [10.0, math.nan, math.nan], "q1": [7.0, math.nan, math.nan],
        "q3": [11.0, math.nan, math.nan], "mean": [9.5, math.nan, math.nan],
    })
    fig = vt.dose_figure(df, min_cell=5)
    assert list(fig.data[0].x) == [10.0]
    marks = [t for t in fig.data if t.type == "scatter" and t.mode == "text"]
    assert len(marks) == 1 and len(marks[0].y) == 2
