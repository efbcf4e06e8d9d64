"""Small cells in what people see: no breakdown figure (text, hover or title) shows a group of
1 to k−1 episodes, over random exports.

The figures are those of the dashboards and the review pack for the breakdowns below a
caseload (domain.md §8): neurotype rates, early alliance by group and the tag × tag grid,
outcome and sessions attended by ending, for the practice and for each therapist.  Every
string in each figure's JSON is scanned for an episode count (``n = N``, ``n=N``,
``n = N episodes``, ``n = N paired episodes``, ``n = N episodes starting as cases``): N must
be 0 or at least k.  Counts of other things (ruptures, ended episodes within a shown group)
are not group sizes and are not checked.  Checked by hand that it fails when a protection is
removed: with the endings' suppression in the metrics layer (``suppress_groups`` in
``outcomes`` and ``termination``) a no-op *and* ``views.termination._small`` always False it
fails on "dose by ending" (a group of 1) — either one alone still protects the figures; with
``neurotype.suppress_groups`` a no-op it fails on "neurotype rates" ([1, 1]).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from strategies import caseload_frames

from supervision.caseload import Caseload
from supervision.clinical import neurotype, outcomes, termination
from supervision.measures import default_registry
from supervision.views import neurotype as vn
from supervision.views import termination as vt

COUNT = re.compile(r"n ?= ?(\d+)((?: [a-z]+)*)")
GROUP_NOUNS = {"", " episodes", " paired episodes", " episodes starting as cases"}


def _strings(obj: Any) -> Iterator[str]:
    if isinstance(obj, str):
        yield obj
    elif isinstance(obj, dict):
        for v in obj.values():
            yield from _strings(v)
    elif isinstance(obj, (list, tuple)):
        for v in obj:
            yield from _strings(v)
    elif hasattr(obj, "tolist"):
        yield from _strings(obj.tolist())


def _group_counts(fig: Any) -> list[int]:
    if fig is None:
        return []
    found = []
    for s in _strings(fig.to_plotly_json()):
        for n, noun in COUNT.findall(s.replace("<br>", " ")):
            if noun in GROUP_NOUNS or noun.startswith((" episodes", " paired")):
                found.append(int(n))
    return found


def _figures(cl: Caseload, k: int) -> dict[str, Any]:
    groups = neurotype.group_summary(cl, min_cell=k)
    figs = {
        "neurotype rates": vn.group_rates_figure(groups, min_cell=k),
        "neurotype alliance": vn.group_alliance_figure(groups, min_cell=k),
        "dose by ending": vt.dose_figure(termination.dose_by_termination(cl, min_cell=k),
                                         min_cell=k),
    }
    grid = neurotype.tag_grid(cl, min_cell=k)
    if not grid.empty:
        figs["tag grid"] = vn.tag_heatmap_figure(grid, min_cell=k)
    if "phq9" in cl.measures_present("outcome"):
        figs["outcome by ending"] = vt.outcome_by_ending_figure(
            outcomes.outcomes_by_termination(cl, "phq9", min_cell=k), "PHQ-9", min_cell=k)
    return figs


@settings(max_examples=15, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(frames=caseload_frames(max_therapists=3, max_episodes=30, max_sessions=3),
       k=st.sampled_from([5, 8]))
def test_no_breakdown_figure_shows_a_small_group(frames: tuple, k: int) -> None:
    sessions, episodes, therapists = frames
    cl = Caseload.from_frames(sessions, episodes, therapists, registry=default_registry())
    scopes = {"practice": cl}
    for tid in pd.unique(episodes["therapist_id"]):
        scopes[str(tid)] = cl.scoped(therapist_id=str(tid))
    for where, scope in scopes.items():
        for name, fig in _figures(scope, k).items():
            small = [n for n in _group_counts(fig) if 0 < n < k]
            assert not small, (where, name, k, small)


def test_the_scan_finds_counts() -> None:
    """The scanner itself: a dose figure with endings of 6 and 7 episodes yields [6, 7]; the
    same figure with masking bypassed (k = 1) also shows the ending of 2 episodes."""
    df = pd.DataFrame({"termination": ["completed", "dropout", "external"],
                       "episodes": [6, 7, 2], "median": [10.0, 3.0, 5.0],
                       "q1": [8.0, 2.0, 4.0], "q3": [12.0, 4.0, 6.0], "mean": [10.0, 3.0, 5.0]})
    assert sorted(_group_counts(vt.dose_figure(df, min_cell=5))) == [6, 7]
    assert sorted(_group_counts(vt.dose_figure(df, min_cell=1))) == [2, 6, 7]
