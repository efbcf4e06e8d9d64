"""The intake-adjusted outcome beside a limited supervisor's therapist passes the gate
(issue 23, brief item 3): the model is fitted over every therapist, so the estimate shown
for the therapist in view, and the words under it (paired episodes, therapists, how many
are not shown), rest on other therapists' clients.

On main the supervisor dashboard fitted it over the dates picked, for a hub supervisor
limited to some therapists as for the lead: walking the end date through 2024Q4 changed
the model's count of paired episodes (each step, one more client of someone they do not
supervise) and the estimate with it.  Now, for a limited viewer, it is the model of the
gate's closed quarter (2024Q3 for every end date in 2024Q4), the same to the last digit
whatever the dates, and it is not shown when fewer than k other therapists stand behind
it.  Figures from the seeded demo (160 episodes, T01..T12); 2024Q3's model: 34 paired
episodes from 11 therapists, T01 with 5 of them (counted by
:func:`supervision.clinical.multilevel.intake_adjusted` of that quarter, the figure's own
source, so only its constancy and the gate's decision are tested here).
"""

from __future__ import annotations

import datetime as dt

import plotly.graph_objects as go
import pytest

from supervision.caseload import Caseload
from supervision.views import tabs
from supervision.views.apps import SupervisorApp

K = 5
SINCE = dt.date(2024, 7, 1)
ENDS = (dt.date(2024, 10, 20), dt.date(2024, 11, 24), dt.date(2024, 12, 30))


@pytest.fixture(scope="module")
def demo() -> Caseload:
    from supervision.demo import generate_demo

    return Caseload.from_frames(*generate_demo(episodes=160, seed=11))


def _adjusted(cl: Caseload, mine: tuple[str, ...] | None, until: dt.date) -> go.Figure | None:
    app = SupervisorApp(cl, min_cell=K, therapists=mine)
    app.therapist.value = "T01"
    app.since.value, app.until.value = SINCE, until
    view = app.make_view()
    tabs.termination_tab(view)
    return view.figures.get("adjusted_outcome")


def _seen(fig: go.Figure) -> tuple:
    """Everything the figure tells: its numbers, hovers and words."""
    est = next(t for t in fig.data if t.name == "adjusted estimate")
    words = " ".join(a.text for a in fig.layout.annotations)
    return (tuple(est.x), tuple(est.hovertext), dict(fig.layout.meta["adjusted"]), words)


def test_the_lead_sees_the_model_move_with_the_dates(demo: Caseload) -> None:
    """Entitled to all: the model is of the dates picked, and those dates do add paired
    episodes (so the constancy below is the gate's doing)."""
    counts = {_adjusted(demo, None, d).layout.meta["adjusted"]["episodes"] for d in ENDS}
    assert len(counts) > 1


def test_a_limited_supervisor_gets_the_closed_quarters_model_whatever_the_dates(
    demo: Caseload,
) -> None:
    seen = [_adjusted(demo, ("T01", "T02"), d) for d in ENDS]
    assert all(f is not None for f in seen)
    first = _seen(seen[0])
    assert all(_seen(f) == first for f in seen[1:])
    assert "2024Q3" in first[3]
    assert first[2]["episodes"] == 34 and first[2]["therapists"] == 11


def test_not_shown_with_fewer_than_k_other_therapists(demo: Caseload) -> None:
    """Limited to T01..T08: the others are T09..T12, four therapists, so nothing of the
    model may be shown (the lead, entitled to all, still sees it)."""
    mine = tuple(f"T{j:02d}" for j in range(1, 9))
    assert _adjusted(demo, mine, ENDS[-1]) is None
    assert _adjusted(demo, None, ENDS[-1]) is not None
