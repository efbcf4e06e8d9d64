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


def test_all_small_draws_nothing() -> None:
    assert vt.outcome_by_ending_figure(_outcomes().iloc[[1, 2]], "PHQ-9", min_cell=5) is None


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
    assert vt.dose_figure(df.iloc[[1, 2]], min_cell=5) is None
