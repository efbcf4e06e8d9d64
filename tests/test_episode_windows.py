"""The root keeps the per-episode tables of the most recent date windows, and only those.

A supervisor trying date after date must not make the kernel grow with every window tried
(each window's table holds a row per episode), yet going back to dates just shown, or opening
another therapist in them, must not recompute: ``episodes.KEEP_WINDOWS`` windows are kept
(:meth:`Caseload.memo_recent`), the oldest let go first.

A window is a filter (issue 21): the root keeps the facts as of each end date, and a window
``[since, until]`` — a start date, a therapist — is their rows of the episodes active in it,
with no new pass over the sessions.
"""

from __future__ import annotations

import datetime as dt

import ibis.expr.types as ir
import pandas as pd
import pytest

from supervision import episodes
from supervision.caseload import Caseload
from supervision.episodes import WindowKey

D = dt.date(2024, 1, 1)


def _caseload() -> Caseload:
    """Two therapists, one episode each, five weekly attended sessions with SRS 30..34."""
    rows = [
        {"session_id": f"{e}{i}", "episode_id": e, "client_id": f"C{e}", "therapist_id": t,
         "session_date": D + dt.timedelta(days=7 * i), "attendance": "attended",
         "srs": 30.0 + i}
        for e, t in (("E1", "T1"), ("E2", "T2")) for i in range(5)
    ]
    episodes_ = pd.DataFrame({
        "episode_id": ["E1", "E2"], "client_id": ["CE1", "CE2"], "therapist_id": ["T1", "T2"],
        "start_date": [D, D], "end_date": [None, None], "termination": ["ongoing", "ongoing"]})
    therapists = pd.DataFrame({"therapist_id": ["T1", "T2"]})
    return Caseload.from_frames(pd.DataFrame(rows), episodes_, therapists)


def _windows(cl: Caseload) -> list[WindowKey]:
    return [k for k in cl._memo if isinstance(k, WindowKey)]


def test_the_same_window_again_gets_the_same_table_and_a_therapist_its_filter() -> None:
    cl = _caseload()
    until = D + dt.timedelta(days=20)
    first = episodes.episode_table(cl.scoped(until=until))
    again = episodes.episode_table(cl.scoped(until=until))
    assert again is first  # no second pass over the sessions
    own = episodes.episode_table(cl.scoped(therapist_id="T1", until=until))
    assert own.to_pyarrow().to_pandas()["episode_id"].tolist() == ["E1"]
    assert _windows(cl) == [WindowKey(None, until)]


def test_only_the_most_recent_windows_are_kept() -> None:
    """Five windows tried, KEEP_WINDOWS (3) kept: the last three, oldest first; looking one
    up again makes it the most recent."""
    cl = _caseload()
    ends = [D + dt.timedelta(days=d) for d in (7, 14, 21, 28, 35)]
    for until in ends:
        episodes.episode_table(cl.scoped(until=until))
    assert episodes.KEEP_WINDOWS == 3
    assert _windows(cl) == [WindowKey(None, u) for u in ends[-3:]]
    cl.memo_recent(WindowKey(None, ends[2]), lambda: None, keep=episodes.KEEP_WINDOWS)
    assert _windows(cl) == [WindowKey(None, u) for u in (ends[3], ends[4], ends[2])]


# ----------------------------------------------------------------------- a start date is a filter
def _three_episodes() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """E1 (T1) five weekly SRS sessions from D, ended D+28 (completed); E2 (T2) five from
    D+35, open; E3 (T1) five from D, open, its second session a flagged rupture resolved at
    the third."""
    rows = []
    for e, t, first in (("E1", "T1", 0), ("E2", "T2", 35), ("E3", "T1", 0)):
        for i in range(5):
            rows.append({
                "session_id": f"{e}{i}", "episode_id": e, "client_id": f"C{e}",
                "therapist_id": t, "session_date": D + dt.timedelta(days=first + 7 * i),
                "attendance": "attended", "srs": 30.0 + i,
                "rupture": "withdrawal" if (e, i) == ("E3", 1) else None,
                "repair": "resolved" if (e, i) == ("E3", 2) else None})
    eps = pd.DataFrame({
        "episode_id": ["E1", "E2", "E3"], "client_id": ["CE1", "CE2", "CE3"],
        "therapist_id": ["T1", "T2", "T1"],
        "start_date": [D, D + dt.timedelta(days=35), D],
        "end_date": [D + dt.timedelta(days=28), None, None],
        "termination": ["completed", "ongoing", "ongoing"]})
    return pd.DataFrame(rows), eps, pd.DataFrame({"therapist_id": ["T1", "T2"]})


def _sorted(t: ir.Table) -> pd.DataFrame:
    df = t.to_pyarrow().to_pandas().sort_values("episode_id", ignore_index=True)
    return df[sorted(df.columns)].astype(object).where(df.notna(), None)


def test_a_second_start_date_is_a_filter_of_the_end_dates_table(monkeypatch) -> None:
    """Issue 21: a start-date change never recomputes per-episode quantities.

    The first window ``[D, D+70]`` makes the facts as of D+70 in one pass (materialisations
    counted through Ibis ``Table.cache``) and keeps them under ``WindowKey(None, D+70)``; the
    second, ``[D+30, D+70]``, materialises nothing and is their rows of the episodes active in
    it.  By hand: E1 ended D+28 < D+30, so only E2 and E3 are active — 2 episodes, 10
    attended sessions, 1 flagged rupture (E3's, repaired: repair rate 1/1), E3's early SRS mean
    (its first three ratings, 30, 31, 32) 31 — the same figures as the window computed afresh
    on its own (a new export, no table kept)."""
    from dataclasses import replace

    from supervision.figures import scope_figures

    made = []
    cache = ir.Table.cache
    monkeypatch.setattr(ir.Table, "cache", lambda self: made.append(1) or cache(self))
    frames = _three_episodes()
    cl = Caseload.from_frames(*frames)
    until = D + dt.timedelta(days=70)
    first = episodes.episode_table(cl.scoped(since=D, until=until))
    assert len(made) > 0  # the one pass
    assert _sorted(first)["episode_id"].tolist() == ["E1", "E2", "E3"]
    assert _windows(cl) == [WindowKey(None, until)]

    made.clear()
    later = D + dt.timedelta(days=30)
    scope = cl.scoped(since=later, until=until)
    second = episodes.episode_table(scope)
    got = _sorted(second)
    assert made == []  # no materialisation: a filter
    assert got["episode_id"].tolist() == ["E2", "E3"]
    assert _windows(cl) == [WindowKey(None, until)]
    mine = episodes.episode_table(cl.scoped(therapist_id="T1", since=later, until=until))
    assert made == []  # a therapist in it too
    assert _sorted(mine)["episode_id"].tolist() == ["E3"]

    monkeypatch.setattr(ir.Table, "cache", cache)
    fresh = replace(Caseload.from_frames(*frames).scoped(since=later, until=until))
    assert fresh.scope is None  # not a plain scope: computed on its own sessions
    want = _sorted(episodes.episode_table(fresh))
    assert got[list(want.columns)].to_dict("records") == want.to_dict("records")

    figs = scope_figures(scope, by="therapist_id")
    again = scope_figures(fresh, by="therapist_id")
    pd.testing.assert_frame_equal(figs, again)
    whole = figs.iloc[0]
    assert (whole["episodes"], whole["sessions_attended"]) == (2, 10)
    assert (whole["flagged"], whole["repaired"], whole["repair_rate"]) == (1, 1, 1.0)
    assert whole["srs__early_mean"] == pytest.approx(31.0)
