"""Termination figures (domain.md §5) on a hand-built export, and against the reference.

The hand-built export (every figure below is worked out by hand from it)::

    episode therapist termination     sessions (attendance)                  attended
    E1      T1        completed       attended ×3                            3
    E2      T1        dropout         attended, no_show                      1  (intake only)
    E3      T1        ongoing         attended                               1  (not ended)
    E4      T1        dropout         no_show                                0
    E5      T2        client_ended    attended ×2                            2
    E6      T2        ongoing         (none)                                 0

Practice: 6 episodes, ended = 4 (E1, E2, E4, E5; the two ongoing are left out), dropout 2,
``dropout_rate`` = 2/4 = 0.5; Wilson 95% (z = 1.96): centre = (0.5 + z²/8) / (1 + z²/4) = 0.5,
half = z·√(0.25/4 + z²/64) / (1 + z²/4) = 1.96 · 0.35004 / 1.9604 = 0.34997 → [0.1500, 0.8500].
``intake_only_rate`` = 1/4 (E2; E3 has one session but is ongoing).  Sessions attended 7.
T1: 4 episodes, ended 3, dropout 2 → 2/3, intake only 1/3.  T2: ended 1, dropout 0 → 0.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
import reference as ref
from hypothesis import HealthCheck, given, settings
from strategies import caseload_frames

from supervision.caseload import Caseload
from supervision.clinical.breakdown import with_by
from supervision.clinical.termination import (
    dose_by_termination,
    episode_termination,
    retention,
    summarise_termination,
    termination_summary,
)
from supervision.errors import ConfigError

D = dt.date(2024, 1, 1)


def _day(n: int) -> dt.date:
    return D + dt.timedelta(days=n)


def hand_frames() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The export of the module docstring."""
    plan = {
        "E1": ("T1", "completed", ["attended"] * 3),
        "E2": ("T1", "dropout", ["attended", "no_show"]),
        "E3": ("T1", "ongoing", ["attended"]),
        "E4": ("T1", "dropout", ["no_show"]),
        "E5": ("T2", "client_ended", ["attended"] * 2),
        "E6": ("T2", "ongoing", []),
    }
    sessions, episodes = [], []
    for eid, (tid, ending, att) in plan.items():
        for i, a in enumerate(att):
            sessions.append({"client_id": f"C{eid}", "therapist_id": tid, "episode_id": eid,
                             "session_date": _day(7 * i), "attendance": a})
        end = None if ending == "ongoing" else _day(7 * max(len(att) - 1, 0))
        episodes.append({"episode_id": eid, "client_id": f"C{eid}", "therapist_id": tid,
                         "start_date": D, "end_date": end, "termination": ending})
    therapists = pd.DataFrame({"therapist_id": ["T1", "T2"], "team": ["North", "South"]})
    return pd.DataFrame(sessions), pd.DataFrame(episodes), therapists


@pytest.fixture(scope="module")
def cl() -> Caseload:
    return Caseload.from_frames(*hand_frames())


def test_episode_termination(cl: Caseload) -> None:
    """Per episode: ended, attended_sessions, intake_only as in the docstring table."""
    df = episode_termination(cl).execute().set_index("episode_id").sort_index()
    assert df["attended_sessions"].tolist() == [3, 1, 1, 0, 2, 0]
    assert df["ended"].tolist() == [True, True, False, True, True, False]
    assert df["intake_only"].tolist() == [False, True, False, False, False, False]


def test_practice_summary(cl: Caseload) -> None:
    """Ongoing episodes are left out of the drop-out denominator (2/4, not 2/6)."""
    r = termination_summary(cl).iloc[0]
    assert (r["episodes"], r["ended"], r["dropout"], r["ongoing"]) == (6, 4, 2, 2)
    assert (r["completed"], r["client_ended"], r["external"], r["therapist_ended"]) == (1, 1, 0, 0)
    assert r["dropout_rate"] == 0.5
    assert r["dropout_rate_low"] == pytest.approx(0.1500, abs=1e-4)
    assert r["dropout_rate_high"] == pytest.approx(0.8500, abs=1e-4)
    assert r["intake_only_rate"] == 0.25
    assert r["sessions_attended"] == 7


def test_summary_by_therapist_and_team(cl: Caseload) -> None:
    """T1: 2/3 drop-out, 1/3 intake only; T2: 0/1.  By team (North = T1) the same split."""
    t = termination_summary(cl, by="therapist_id").set_index("therapist_id")
    assert t.loc["T1", "dropout_rate"] == pytest.approx(2 / 3)
    assert t.loc["T1", "intake_only_rate"] == pytest.approx(1 / 3)
    assert t.loc["T2", "dropout_rate"] == 0.0
    # by team is a breakdown: both teams are below 5 episodes, so both are suppressed at the
    # source (issue 12); the unsuppressed per-episode sums are still 3 and 1 ended
    team = termination_summary(cl, by="team").set_index("team")
    assert team["suppressed"].all() and team["ended"].isna().all()
    raw = summarise_termination(with_by(cl, episode_termination(cl), "team"), "team")
    raw = raw.set_index("team")
    assert raw.loc["North", "ended"] == 3 and raw.loc["South", "ended"] == 1
    with pytest.raises(ConfigError, match="cannot break figures down"):
        termination_summary(cl, by="postcode")


def test_window_turns_later_endings_ongoing(cl: Caseload) -> None:
    """Until 2024-01-10: E1 (ended 01-15) reads as ongoing, E5 (ended 01-08) stays ended.

    Ended: E2 (01-08), E4 (01-01), E5 (01-08) = 3; dropout 2 → 2/3.
    """
    r = termination_summary(cl.scoped(until="2024-01-10")).iloc[0]
    assert (r["ended"], r["ongoing"], r["dropout"]) == (3, 3, 2)
    assert r["dropout_rate"] == pytest.approx(2 / 3)


def test_zero_ended_gives_nan_rate() -> None:
    """A caseload with only ongoing episodes: denominator 0 → NaN (null in JSON)."""
    s, e, t = hand_frames()
    e = e[e["termination"] == "ongoing"]
    s = s[s["episode_id"].isin(e["episode_id"])]
    r = termination_summary(Caseload.from_frames(s, e, t)).iloc[0]
    assert r["ended"] == 0 and pd.isna(r["dropout_rate"]) and pd.isna(r["intake_only_rate"])


def test_dose_by_termination_hides_small_endings(cl: Caseload) -> None:
    """The hand export: completed 1 episode, client_ended 1, dropout 2, ongoing 2 — all
    1..4 at min_cell 5, so all four are suppressed (episodes and every figure NaN);
    external and therapist_ended have none (0 episodes, NaN, not suppressed)."""
    d = dose_by_termination(cl).set_index("termination")
    assert d["suppressed"].tolist() == [True, True, True, False, False, True]
    hidden = d.loc[d["suppressed"]].drop(columns="suppressed")
    assert hidden.isna().all().all()
    assert d.loc["external", "episodes"] == 0 and pd.isna(d.loc["external", "median"])
    with pytest.raises(ConfigError, match="upward only"):
        dose_by_termination(cl, min_cell=4)


def _dose_caseload(plan: dict[str, list[int]]) -> Caseload:
    """One therapist; per ending, one episode per entry attending that many sessions (an
    episode with 0 attended has one no-show)."""
    sessions, episodes = [], []
    for ending, doses in plan.items():
        for n in doses:
            eid = f"E{len(episodes):03d}"
            episodes.append({"episode_id": eid, "client_id": f"C{eid}", "therapist_id": "T1",
                             "start_date": D, "termination": ending})
            att = ["attended"] * n or ["no_show"]
            sessions += [{"client_id": f"C{eid}", "therapist_id": "T1", "episode_id": eid,
                          "session_date": _day(7 * i), "attendance": a}
                         for i, a in enumerate(att)]
    return Caseload.from_frames(pd.DataFrame(sessions), pd.DataFrame(episodes),
                                pd.DataFrame({"therapist_id": ["T1"]}))


def test_dose_by_termination() -> None:
    """Quartiles by hand (linear interpolation at position p·(n − 1) of the sorted doses):

    * completed [3, 5, 8, 10, 12, 20]: median (8 + 10)/2 = 9; q1 at 1.25 → 5 + .25·3 = 5.75;
      q3 at 3.75 → 10 + .75·2 = 11.5; mean 58/6;
    * dropout [0, 0, 1, 1, 2, 3, 4]: median 1; q1 at 1.5 → 0.5; q3 at 4.5 → 2.5; mean 11/7;
    * client_ended [6, 7]: 2 episodes → suppressed at k = 5; alone it would follow from
      the scope's 20 episodes (and 92 sessions) minus the shown endings, so the smallest
      shown non-empty ending, external [2 × 5] (5 < 6 < 7), is suppressed too.
    """
    cl = _dose_caseload({"completed": [3, 5, 8, 10, 12, 20], "client_ended": [6, 7],
                         "dropout": [0, 1, 1, 2, 4, 0, 3], "external": [2] * 5})
    d = dose_by_termination(cl).set_index("termination")
    assert d["suppressed"].tolist() == [False, True, False, True, False, False]
    cols = ["episodes", "median", "q1", "q3", "mean"]
    assert d.loc["completed", cols].tolist() == pytest.approx([6, 9, 5.75, 11.5, 58 / 6])
    assert d.loc["dropout", cols].tolist() == pytest.approx([7, 1, 0.5, 2.5, 11 / 7])
    assert d.loc[["client_ended", "external"], cols].isna().all().all()
    assert d.loc["ongoing", "episodes"] == 0 and not d.loc["ongoing", "suppressed"]


def test_retention(cl: Caseload) -> None:
    """Kaplan–Meier by attended sessions; leaving (an ending other than a planned completion)
    is the event: E4@0, E2@1, E5@2; censored E6@0, E3@1 (ongoing) and E1@3 (completed as
    planned: nobody left, issue 24).

    S(0) = 5/6; S(1) = 5/6 · 3/4 = 0.625 (at risk E1, E2, E3, E5); S(2) = 0.625 · 1/2 = 0.3125
    (at risk E1, E5); no step at 3 (E1's completion is not a departure), where counting it
    would have dropped the curve to 0.
    """
    km = retention(cl)
    last = km.groupby("sessions")["retained"].last()
    assert last[1.0] == pytest.approx(0.625)
    assert last[2.0] == pytest.approx(0.3125)
    assert 3.0 not in last.index


@pytest.mark.slow
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(frames=caseload_frames())
def test_matches_reference(frames: tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]) -> None:
    """termination_summary equals the plain-Python reference on random exports, by therapist."""
    s, e, t = frames
    fast = termination_summary(Caseload.from_frames(s, e, t), by="therapist_id")
    slow = ref.termination_summary(s, e, t, "therapist_id")
    assert sorted(fast["therapist_id"]) == sorted(slow)
    for row in fast.to_dict("records"):
        want = slow[row["therapist_id"]]
        for k, v in want.items():
            assert row[k] == pytest.approx(v, nan_ok=True), k
        assert 0 <= row["dropout_rate"] <= 1 or pd.isna(row["dropout_rate"])
