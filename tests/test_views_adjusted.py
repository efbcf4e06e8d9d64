"""The intake-adjusted outcome drawn: n, interval, the prompt sentence, no ranking, privacy.

Data are simulated as in tests/test_multilevel.py; the figure's numbers are checked against
the model's table (:func:`supervision.clinical.multilevel.intake_adjusted`), which that
module checks against the closed form and known effects.
"""

from __future__ import annotations

import html

import numpy as np
import plotly.graph_objects as go
import pytest
from test_multilevel import _simulate

from supervision.caseload import Caseload
from supervision.clinical import multilevel as ml
from supervision.views import adjusted as vadj
from supervision.views import tabs

HOSTILE = '<img src=x onerror="alert(1)">'


@pytest.fixture(scope="module")
def simulated() -> Caseload:
    return _simulate(n_therapists=8, per=12, seed=3, small={"TX1": 2})[0]


def _text(fig: go.Figure) -> str:
    return " ".join(a.text for a in fig.layout.annotations).replace("<br>", " ")


def test_figure_shows_each_shown_therapist_with_n_and_interval(simulated: Caseload) -> None:
    res = ml.intake_adjusted(simulated, "phq9")
    fig = vadj.adjusted_figure(res, measure_name="PHQ-9", min_cell=5)
    est = next(t for t in fig.data if t.name == "adjusted estimate")
    assert list(est.y) == [f"T{j:02d} (n = 12)" for j in range(8)]  # by id, not by estimate
    assert np.allclose(est.x, res.therapists["adjusted_improvement"])
    assert np.allclose(np.asarray(est.x) + np.asarray(est.error_x.array), res.therapists["high"])
    words = _text(fig)
    assert "prompt for supervision, not a verdict" in words
    assert ("1 therapist(s) with fewer than 5 paired episodes are in the model but not shown"
            in words)
    assert "TX1" not in " ".join(map(str, est.y)) + " ".join(est.hovertext)
    assert "n = 12 paired episodes" in est.hovertext[0]


def test_hostile_therapist_id_is_escaped(simulated: Caseload) -> None:
    res = ml.intake_adjusted(simulated, "phq9")
    t = res.therapists.copy()
    t.loc[0, "therapist_id"] = HOSTILE
    from dataclasses import replace

    fig = vadj.adjusted_figure(replace(res, therapists=t), measure_name="PHQ-9")
    shown = " ".join(str(y) for tr in fig.data for y in tr.y) + " ".join(
        h for tr in fig.data for h in tr.hovertext)
    assert HOSTILE not in shown and html.escape(HOSTILE) in shown


def test_supervisor_context_shows_only_the_therapist_in_view(simulated: Caseload) -> None:
    own = simulated.scoped(therapist_id="T03")
    view = tabs.View(own=own, practice={"outcome_key": "phq9"}, own_label="Therapist T03")
    tabs.termination_tab(view)
    fig = view.figures["adjusted_outcome"]
    est = next(t for t in fig.data if t.name == "adjusted estimate")
    assert list(est.y) == ["T03 (n = 12)"]
    full = ml.intake_adjusted(simulated, "phq9").therapists.set_index("therapist_id")
    assert est.x[0] == pytest.approx(full.loc["T03", "adjusted_improvement"])


def test_therapist_view_has_no_practice_model(simulated: Caseload) -> None:
    own = simulated.scoped(therapist_id="T03")
    view = tabs.View(own=own, practice={"outcome_key": "phq9"}, therapist_view=True)
    tabs.termination_tab(view)
    assert "adjusted_outcome" not in view.figures


def test_small_therapist_in_view_is_not_shown(simulated: Caseload) -> None:
    own = simulated.scoped(therapist_id="TX1")
    assert vadj.own_in_practice_figure(own, "phq9", measure_name="PHQ-9") is None
