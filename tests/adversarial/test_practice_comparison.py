"""A therapist's practice comparison shows nothing that fewer than k others stand behind.

The attack (issue 12, item 2): a therapist knows their own caseload exactly, so the practice
figure at a point minus their own is the other therapists' figure there.  Practice alliance
by session number reached n = 1 (another therapist's single long episode, session by
session), the retention curve showed 1–4 at risk, and in a practice of two therapists the
practice minus their own *was* the other therapist.  These tests build such exports, send
them through the paths that hand practice figures to a therapist (the server's bundle,
``supervision.opening.write_bundle``, and a report pack's bundle,
``supervision.report.build.write_therapist_bundle``), and check the rule of
:mod:`supervision.comparison` against a slow count in pandas.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from strategies import caseload_frames

from supervision.caseload import Caseload
from supervision.comparison import practice_comparison
from supervision.opening import BANDS_KEY, read_bundle, write_bundle

K = 5
START = dt.date(2024, 1, 1)


def _export(plan: dict[str, list[tuple[int, str]]]) -> Caseload:
    """Therapist -> [(attended rated SRS sessions, termination)], one episode per tuple.

    Sessions are a week apart from 2024-01-01, every one attended with SRS 30 + its index.
    """
    sessions, episodes = [], []
    n = 0
    for tid, eps in plan.items():
        for length, ending in eps:
            n += 1
            eid = f"E{n:03d}"
            for i in range(length):
                sessions.append({
                    "source_row": len(sessions) + 1, "client_id": f"C{n:03d}",
                    "therapist_id": tid, "episode_id": eid,
                    "session_date": START + dt.timedelta(days=7 * i),
                    "attendance": "attended", "srs": 30.0 + min(i, 10), "rupture": "none",
                })
            end = START + dt.timedelta(days=7 * (length - 1)) if ending != "ongoing" else None
            episodes.append({"episode_id": eid, "client_id": f"C{n:03d}", "therapist_id": tid,
                             "start_date": START, "end_date": end, "termination": ending,
                             "client_neurotype": "unknown"})
    therapists = pd.DataFrame({"therapist_id": list(plan)})
    return Caseload.from_frames(pd.DataFrame(sessions), pd.DataFrame(episodes), therapists)


def _long_tail(ending: str = "completed") -> Caseload:
    """T1 (the viewer): 6 episodes of 3 sessions, ``ending``.  T2..T6: one episode of 3
    sessions each, ``ending``.  T7: one episode of 14 sessions, a drop-out.

    The retention tests pass ``client_ended``: a planned completion is not leaving therapy
    (censored, issue 24), so with ``completed`` the curve would have no step at 3."""
    plan = {"T1": [(3, ending)] * 6}
    plan |= {f"T{i}": [(3, ending)] for i in range(2, 7)}
    plan["T7"] = [(14, "dropout")]
    return _export(plan)


def test_alliance_by_session_stops_where_one_other_episode_remains() -> None:
    """Sessions 1–3: 12 episodes, 6 of them from 6 other therapists (>= 5 and >= 5): shown.
    Sessions 4–14: only T7's single episode stands behind each point: none is shown.
    (Before the fix the practice trend ran to session 14 with n = 1: T7's own ratings.)"""
    c = practice_comparison(_long_tail(), "T1", min_cell=K)
    points = c["alliance_by_session"]
    assert [p["rated_index"] for p in points] == [1, 2, 3]
    assert [p["n"] for p in points] == [12, 12, 12]
    # by quarter: Q1 2024 holds sessions 1-13 of T7 and everything else (12 episodes), Q2
    # holds only T7's 14th (week 13 = 2024-04-01): that quarter is left out.
    assert [q["quarter"] for q in c["alliance_by_quarter"]] == ["2024Q1"]


def test_retention_is_cut_where_fewer_than_k_others_are_at_risk() -> None:
    """Kaplan-Meier steps at 0 (12 at risk), 3 (12 at risk: 11 end there) and 14 (1 at risk,
    T7's).  Others at risk at 14: 1 episode, 1 therapist -> cut; the curve ends at 3."""
    c = practice_comparison(_long_tail("client_ended"), "T1", min_cell=K)
    assert [r["sessions"] for r in c["retention"]] == [0.0, 3.0]
    assert all(r["at_risk"] >= K for r in c["retention"])


def test_ending_counts_of_the_others_obey_the_small_cell_rule() -> None:
    """Others' endings: completed 5 (T2..T6), dropout 1 (T7).  The drop-out cell (1) is
    hidden, and with it its complement (completed, the only other non-empty cell), the
    drop-out rate and the headline's drop-out rate: practice 1 of 12 minus own 0 of 6 would
    give T7's ending."""
    c = practice_comparison(_long_tail(), "T1", min_cell=K)
    term = c["termination"]
    assert term["dropout"] is None and term["completed"] is None
    assert term["dropout_rate"] is None and term["dropout_rate_low"] is None
    assert set(term["suppressed"]) == {"dropout", "completed"}
    assert term["ended"] == 12  # 6 others ended: >= 5, so the total stays
    assert c["headline"]["dropout_rate"]["value"] is None
    assert c["headline"]["dropout_rate"]["suppressed"] is True
    assert c["headline"]["episodes"]["value"] == 12


@pytest.mark.parametrize("others", [1, 4])
def test_withheld_whole_when_fewer_than_k_other_therapists(others: int) -> None:
    """With 1 other therapist, practice minus own *is* that therapist; with 4 (each with
    many episodes) fewer than k therapists stand behind every figure.  Nothing but the
    measure keys and the reason is handed over."""
    plan = {"T1": [(4, "completed")] * 6}
    plan |= {f"T{i}": [(4, "completed")] * 6 for i in range(2, 2 + others)}
    c = practice_comparison(_export(plan), "T1", min_cell=K)
    assert set(c) <= {"alliance_key", "outcome_key", "window", "cover", "withheld"}
    assert "fewer than 5 other therapists" in c["withheld"]


def test_withheld_whole_when_fewer_than_k_other_episodes() -> None:
    """Five other therapists but... four episodes between them cannot happen; so: 5 other
    therapists listed, only 4 with an episode in the export -> 4 therapists, 4 episodes."""
    plan = {"T1": [(4, "completed")] * 6}
    plan |= {f"T{i}": [(4, "completed")] for i in range(2, 6)}
    plan["T6"] = []
    c = practice_comparison(_export(plan), "T1", min_cell=K)
    assert "withheld" in c


def test_the_servers_bundle_hands_over_only_the_comparison(tmp_path: Path) -> None:
    """``serve --therapist`` writes practice.json through write_bundle: on the two-therapist
    practice it holds no figure at all, and on the long-tail export no point past session 3."""
    two = _export({"T1": [(4, "completed")] * 6, "T2": [(9, "completed")] * 6})
    folder = write_bundle(two, "T1", tmp_path / "two", min_cell=K)
    practice = json.loads((folder / "practice.json").read_text())
    assert "withheld" in practice and "headline" not in practice
    assert "alliance_by_session" not in practice and "retention" not in practice
    cl, read = read_bundle(folder, "T1")
    # the expected-response bands (aggregates) go onto the kernel's caseload, not into the
    # practice figures it is handed
    assert read == {k: v for k, v in practice.items() if k != BANDS_KEY}
    assert cl.therapist_ids() == ["T1"]

    folder = write_bundle(_long_tail(), "T1", tmp_path / "tail", min_cell=K)
    practice = json.loads((folder / "practice.json").read_text())
    assert max(p["rated_index"] for p in practice["alliance_by_session"]) == 3


def test_a_report_packs_bundle_hands_over_only_the_comparison(tmp_path: Path) -> None:
    """``report --therapist`` / ``--per-therapist``: the quarter's practice bundle is shared,
    each therapist's written copy is scrubbed for that therapist."""
    from supervision.report.build import practice_bundle, write_therapist_bundle

    cl = _long_tail()
    shared = practice_bundle(cl, "2024Q1", {"source": "test"}, min_cell=K)
    assert max(p["rated_index"] for p in shared["alliance_by_session"]) == 13  # unscrubbed
    folder = write_therapist_bundle(cl, "T1", "2024Q1", tmp_path / "t1", shared, min_cell=K)
    written = json.loads((folder / "practice.json").read_text())
    assert max(p["rated_index"] for p in written["alliance_by_session"]) == 3
    assert written["cover"] == {"source": "test"}


def _reference_cover(sessions: pd.DataFrame, episodes: pd.DataFrame, me: str) -> tuple:
    """Slow count: for each rated-session number i (and attended-session count s), the other
    therapists' episodes with at least i rated SRS sessions (s attended) and their therapists."""
    att = sessions[sessions["attendance"] == "attended"]
    rated = att[att["srs"].notna()].groupby("episode_id").size()
    attended = att.groupby("episode_id").size()
    ep = episodes.set_index("episode_id")
    others = ep[ep["therapist_id"] != me]

    def cover(counts: pd.Series, i: float) -> tuple[int, int]:
        ids = [e for e in others.index if counts.get(e, 0) >= i]
        return len(ids), others.loc[ids, "therapist_id"].nunique()

    return (lambda i: cover(rated, i)), (lambda s: cover(attended, s)), others


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(frames=caseload_frames(max_therapists=9, max_episodes=40, max_sessions=8),
       pick=st.integers(0, 8))
def test_every_point_shown_has_k_others_behind_it(
    frames: tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame], pick: int
) -> None:
    """Random exports: each alliance point and retention step handed to a therapist has at
    least k other-therapist episodes from at least k other therapists behind it (slow count
    above), and the comparison is withheld exactly when the others fall short overall."""
    sessions, episodes, therapists = frames
    ids = sorted(therapists["therapist_id"])
    me = ids[pick % len(ids)]
    cl = Caseload.from_frames(sessions, episodes, therapists)
    c = practice_comparison(cl, me, min_cell=K)
    by_rated, by_attended, others = _reference_cover(sessions, episodes, me)
    short = len(others) < K or others["therapist_id"].nunique() < K
    assert ("withheld" in c) == short
    event("withheld" if short else "shown")
    for p in c.get("alliance_by_session") or []:
        eps, ther = by_rated(p["rated_index"])
        assert eps >= K and ther >= K and p["n"] >= K, p
    for r in c.get("retention") or []:
        eps, ther = by_attended(r["sessions"])
        assert eps >= K and ther >= K and r["at_risk"] >= K, r


def test_practice_curves_of_a_pack_lose_their_points_below_k() -> None:
    """The practice pack's own curves (no viewer subtracted): the long-tail export's alliance
    by session has n = 12 at sessions 1-3 and n = 1 at 4-14 (T7 alone), so 3 points stay;
    its retention steps are at 0 (12 at risk), 3 (12) and 14 (1): cut before 14."""
    from supervision.clinical import alliance, termination
    from supervision.comparison import points_of_k, retention_of_k

    cl = _long_tail("client_ended")
    trend = alliance.alliance_by_session(cl, "srs")
    assert trend["n"].tolist() == [12, 12, 12] + [1] * 11
    assert points_of_k(trend, K)["rated_index"].tolist() == [1, 2, 3]
    curve = termination.retention(cl)
    assert curve["at_risk"].tolist() == [12, 12, 1]
    assert retention_of_k(curve, K)["sessions"].tolist() == [0.0, 3.0]
    assert points_of_k(None, K) is None and retention_of_k(None, K) is None


def test_practice_review_curves_lose_their_points_below_k() -> None:
    """The practice review dashboard, long-tail export, 2024Q1: the trend's x values stop at
    session 3 (sessions 4-13 hold T7's episode alone) and retention at 3 sessions."""
    from supervision.views import practice_tabs as pt

    v = pt.PracticeView.build(_long_tail("client_ended"), "2024Q1", None, min_cell=K)
    pt.alliance_tab(v)
    pt.termination_tab(v)
    trend = v.figures["alliance_trend"]
    xs = [x for tr in trend.data if tr.x is not None for x in tr.x if x is not None]
    assert xs and max(xs) == 3
    curve = v.figures["retention"]
    xs = [x for tr in curve.data if tr.x is not None for x in tr.x if x is not None]
    assert xs and max(xs) == 3
