"""Issue 12, "also left": the Alliance band stays in the scale's range and says where n is
small; the rupture timeline's legend no longer sits on its x-axis title."""

from __future__ import annotations

import numpy as np
import pandas as pd

from supervision.measures import default_registry
from supervision.views import alliance as va
from supervision.views import ruptures as vr


def _by_session() -> pd.DataFrame:
    """Three rated sessions, SRS (0–40).  Session 3 has n = 3 ratings 40, 40, 34.5:
    mean 38.1667, sd = √(((1.8333)²·2 + 3.6667²) / 2) = 3.1754, t(.975, 2) = 4.3027,
    half-width 4.3027 · 3.1754 / √3 = 7.888 → 30.28–46.05, past 40.  Session 2 (n = 4)
    lies inside the range but has fewer than 10 ratings; session 1 (n = 30) is neither."""
    return pd.DataFrame({
        "rated_index": [1, 2, 3], "n": [30, 4, 3], "mean": [36.0, 37.0, 38.1667],
        "sd": [2.0, 1.0, 3.1754], "low": [35.25, 35.41, 30.28], "high": [36.75, 38.59, 46.05],
    })


def _srs():
    return default_registry()["srs"]


def test_trend_band_is_clipped_to_the_measure_range_and_says_n_is_small() -> None:
    """The band trace's high side reads 36.75, 38.59, 40 (46.05 cut at the scale's 40)."""
    # min_cell = 3 keeps every point here (n = 30, 4, 3): this test is about the clipping
    fig = va.alliance_trend_figure(_by_session(), _srs(), practice=_by_session(), min_cell=3)
    band = next(t for t in fig.data if t.name.endswith("95% band"))
    ys = np.array(band.y, dtype=float)
    assert ys.min() >= 0 and ys.max() <= 40
    assert list(ys[:3]) == [36.75, 38.59, 40.0]
    mean = next(t for t in fig.data if t.name.endswith(": mean") and "This" in t.name)
    assert "few ratings" not in mean.hovertext[0]
    assert all("few ratings here" in h for h in mean.hovertext[1:])
    assert "(95% CI 30.3–40.0), n = 3 ratings" in mean.hovertext[2]
    notes = [a.text.replace("<br>", " ") for a in fig.layout.annotations]  # phone-width lines
    assert any("Few ratings (fewer than 10) from rated session 2 on" in t for t in notes)
    practice = next(t for t in fig.data if t.name == "Practice: mean")
    assert "few ratings here" in practice.hovertext[2]


def test_quarter_error_bars_stay_in_range() -> None:
    """Error bar above the 3rd quarter: 40 − 38.1667 = 1.8333, not 46.05 − 38.1667."""
    df = _by_session().rename(columns={"rated_index": "quarter"})
    df["quarter"] = ["2024Q1", "2024Q2", "2024Q3"]
    fig = va.alliance_quarter_figure(df, _srs(), min_cell=3)
    bar = fig.data[0].error_y
    top = np.array(fig.data[0].y, dtype=float) + np.array(bar.array, dtype=float)
    bottom = np.array(fig.data[0].y, dtype=float) - np.array(bar.arrayminus, dtype=float)
    assert top.max() <= 40 and bottom.min() >= 0
    assert abs(bar.array[2] - 1.8333) < 1e-9


def test_rupture_legend_sits_below_the_axis_title() -> None:
    """The legend is anchored to the figure's bottom edge (not a fraction of the plot's
    height, which on a 300 px timeline put it on the axis title), in a bottom margin of
    95 px: tick labels (~20 px), the title after an 8 px standoff (~20 px) and a legend row
    (~25 px) fit in it."""
    events = pd.DataFrame({
        "episode_id": ["E1", "E2"], "therapist_id": ["T1", "T1"],
        "session_date": ["2024-01-05", "2024-02-01"], "source_row": [1, 2],
        "attended_index": [2, 5], "kind": ["flagged", "drop"],
        "rupture_type": ["withdrawal", "alliance_drop"], "measure": [None, "srs"],
        "drop_points": [np.nan, 6.0], "repaired": [True, False],
        "sessions_to_repair": [1.0, np.nan],
    })
    fig = vr.rupture_timeline_figure(events)
    legend = fig.layout.legend
    assert legend.yref == "container" and legend.y == 0 and legend.yanchor == "bottom"
    assert fig.layout.margin.b >= 95
    assert fig.layout.xaxis.title.text == "attended session number"
