"""The root keeps the per-episode tables of the most recent date windows, and only those.

A supervisor trying date after date must not make the kernel grow with every window tried
(each window's table holds a row per episode), yet going back to dates just shown, or opening
another therapist in them, must not recompute: ``episodes.KEEP_WINDOWS`` windows are kept
(:meth:`Caseload.memo_recent`), the oldest let go first.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd

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
