"""``termination_summary(by=…)`` and ``outcome_summary(by=…)`` mask breakdowns at the source.

Issue 12 ("also left"): for any grouping they returned raw small groups, so every caller had
to remember to suppress.  A grouping below a therapist's own caseload (team, neurotype group,
ending) is now suppressed in the metric itself; ``therapist_id`` (a therapist's own caseload)
and the whole scope are not a breakdown.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd

from supervision.caseload import Caseload
from supervision.clinical import outcomes, termination

START = dt.date(2024, 1, 1)


def _teams() -> Caseload:
    """Team A: T1 with 3 episodes; team B: T2 with 6; team C: T3 with 10.  Every episode has
    two attended sessions with PHQ-9 20 then 5 (a reliable improvement, 15 >= 6) and ends
    completed."""
    plan = {"T1": 3, "T2": 6, "T3": 10}
    sessions, episodes = [], []
    n = 0
    for tid, count in plan.items():
        for _ in range(count):
            n += 1
            for i, phq in enumerate((20.0, 5.0)):
                sessions.append({"source_row": len(sessions) + 1, "client_id": f"C{n}",
                                 "therapist_id": tid, "episode_id": f"E{n}",
                                 "session_date": START + dt.timedelta(days=7 * i),
                                 "attendance": "attended", "phq9": phq})
            episodes.append({"episode_id": f"E{n}", "client_id": f"C{n}", "therapist_id": tid,
                             "start_date": START, "end_date": START + dt.timedelta(days=7),
                             "termination": "completed"})
    therapists = pd.DataFrame({"therapist_id": list(plan), "team": ["A", "B", "C"]})
    return Caseload.from_frames(pd.DataFrame(sessions), pd.DataFrame(episodes), therapists)


def test_termination_by_team_suppresses_small_teams_and_their_complement() -> None:
    """A (3 episodes) is below 5: hidden.  The total (19) is published, so one hidden team
    would be 19 - 6 - 10 = 3: the smallest shown team, B (6), is hidden with it.  C stays."""
    df = termination.termination_summary(_teams(), by="team").set_index("team")
    assert df.loc["A", "suppressed"] and df.loc["B", "suppressed"]
    assert not df.loc["C", "suppressed"]
    assert pd.isna(df.loc["A", "episodes"]) and pd.isna(df.loc["A", "dropout_rate"])
    assert pd.isna(df.loc["B", "completed"])
    assert df.loc["C", "episodes"] == 10 and df.loc["C", "completed"] == 10


def test_outcomes_by_team_suppress_on_paired_episodes() -> None:
    """Paired episodes per team are 3 / 6 / 10 (every episode has two PHQ-9 scores): the
    same two teams are hidden; C shows 10 of 10 reliably improved."""
    df = outcomes.outcome_summary(_teams(), "phq9", by="team").set_index("team")
    assert list(df["suppressed"]) == [True, True, False]
    assert pd.isna(df.loc["A", "reliable_improvement_rate"])
    assert df.loc["C", "paired"] == 10 and df.loc["C", "reliable_improvement_rate"] == 1.0


def test_a_therapists_own_caseload_is_not_a_breakdown() -> None:
    """By therapist, T1's 3 episodes are T1's own figures (domain.md §8): shown as they are."""
    df = termination.termination_summary(_teams(), by="therapist_id").set_index("therapist_id")
    assert "suppressed" not in df and df.loc["T1", "episodes"] == 3
    o = outcomes.outcome_summary(_teams(), "phq9", by="therapist_id").set_index("therapist_id")
    assert o.loc["T1", "paired"] == 3
