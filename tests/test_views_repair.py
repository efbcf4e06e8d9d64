"""The sessions-to-repair histogram: counts by hand, whole-number axes."""

from __future__ import annotations

import pandas as pd

from supervision.views.ruptures import sessions_to_repair_figure


def test_counts_and_integer_ticks() -> None:
    """Five ruptures: flagged repaired after 0, 0, 2 sessions; a drop repaired after 1; one
    flagged never repaired (left out).  Bars: flagged {0: 2, 2: 1}, drop {1: 1}; median of
    (0, 0, 1, 2) = 0.5; n = 4 repaired; y ticks every 1 (tallest stack 2), x from -0.5 to 2.5."""
    events = pd.DataFrame({
        "kind": ["flagged", "flagged", "flagged", "drop", "flagged"],
        "repaired": [True, True, True, True, False],
        "sessions_to_repair": [0, 0, 2, 1, None],
    })
    fig = sessions_to_repair_figure(events)
    assert fig is not None
    bars = {t.name: dict(zip(t.x, t.y, strict=True)) for t in fig.data}
    assert bars == {"clinician-flagged": {0: 2, 2: 1}, "alliance drop": {1: 1}}
    assert "median 0.5, n = 4 repaired" in fig.layout.title.text
    assert "0 = repaired in the same session" in fig.layout.title.text
    assert fig.layout.yaxis.dtick == 1 and fig.layout.yaxis.tick0 == 0
    assert tuple(fig.layout.xaxis.range) == (-0.5, 2.5)


def test_nothing_repaired_draws_nothing() -> None:
    events = pd.DataFrame({"kind": ["drop"], "repaired": [False], "sessions_to_repair": [None]})
    assert sessions_to_repair_figure(events) is None
