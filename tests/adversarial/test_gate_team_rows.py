"""A row per team in any view of the practice needs at least k therapists behind it (issue
23, "Must hold"; brief item 2): a team of one or two therapists is their own figures.

The seeded demo (160 episodes, T01..T12; North and South six therapists each) with T01
moved to a team of its own, "East".  On main the practice pack's and the practice review's
"Sudden gains and losses by team" for 2024Q3 showed "East: 5 episodes with enough scores"
with its gains — T01's own caseload, to whoever reads the pack.  Now a team of fewer than
k therapists has no row: it is merged into "other teams (few therapists each)", hidden whole
when fewer than k therapists stand behind the merged row too (here T01 alone), with the
sentence saying why; and South is hidden with it as the complement (otherwise the
published total minus North and South would be the merged row).  Two small teams of three
therapists each merge into one row of six, which may then be shown.
"""

from __future__ import annotations

import pandas as pd
import pytest

from supervision import periods
from supervision.caseload import Caseload
from supervision.report.sections import sudden_section
from supervision.scopes import sudden_breakdown
from supervision.views.practice_tabs import PracticeView

K = 5
Q = "2024Q3"
#: The merged row's name (supervision.scopes.MERGED_TEAMS), spelt out: the test reads as
#: the page does.
MERGED_TEAMS = "other teams (few therapists each)"


@pytest.fixture(scope="module")
def frames() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    from supervision.demo import generate_demo

    return generate_demo(episodes=160, seed=11)


def _with_teams(frames: tuple, teams: dict[str, str]) -> tuple[Caseload, pd.DataFrame]:
    s, e, t = frames
    t = t.copy()
    t["team"] = t["therapist_id"].map(teams).fillna(t["team"])
    return Caseload.from_frames(s, e, t), t


def _therapists_behind(e: pd.DataFrame, t: pd.DataFrame) -> dict[str, int]:
    """Slow count: per team, the therapists with an episode active in 2024Q3 (started by
    its last day, not ended before its first)."""
    q0, q1 = (pd.Timestamp(d) for d in periods.quarter_bounds(Q))
    start, end = pd.to_datetime(e["start_date"]), pd.to_datetime(e["end_date"])
    active = e[(start <= q1) & (end.isna() | (end >= q0))]
    j = active.merge(t[["therapist_id", "team"]], on="therapist_id")
    return j.groupby("team")["therapist_id"].nunique().to_dict()


def test_a_team_of_one_therapist_has_no_row_in_the_pack(frames: tuple) -> None:
    cl, t = _with_teams(frames, {"T01": "East"})
    assert _therapists_behind(frames[1], t) == {"East": 1, "North": 5, "South": 5}
    v = PracticeView.build(cl, Q, None, min_cell=K)
    page = sudden_section(v).html()
    assert "East" not in page
    assert MERGED_TEAMS in page and "Teams of fewer than 5 therapists" in page
    rows = sudden_breakdown(v.current, outcome_key=v.outcome_key, min_cell=K)
    for recs in rows.values():
        groups = {r["group"]: r for r in recs}
        assert "East" not in groups
        assert groups[MERGED_TEAMS]["suppressed"] is True  # T01 alone behind it
        assert groups[MERGED_TEAMS]["episodes"] is None
        # one hidden row would be the published total minus the shown ones
        assert sum(r["suppressed"] for r in recs) >= 2


def test_small_teams_merge_into_a_row_of_enough_therapists(frames: tuple) -> None:
    """North split in two teams of three: neither has a row; merged they are six."""
    split = {"T01": "N1", "T03": "N1", "T05": "N1", "T07": "N2", "T09": "N2", "T11": "N2"}
    cl, t = _with_teams(frames, split)
    behind = _therapists_behind(frames[1], t)
    assert behind["N1"] + behind["N2"] >= K and max(behind["N1"], behind["N2"]) < K
    q0, q1 = periods.quarter_bounds(Q)
    rows = sudden_breakdown(cl.scoped(since=q0, until=q1), outcome_key="phq9", min_cell=K)
    for recs in rows.values():
        groups = {r["group"] for r in recs}
        assert groups == {"South", MERGED_TEAMS}
