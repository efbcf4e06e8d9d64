"""The one privacy gate (issue 23, item 1): a supervisor limited to some therapists sees of
the others only what at least k episodes of at least k other therapists stand behind.

On main (before :func:`supervision.comparison.gate`) a hub supervisor limited to T02 and T03
got the whole practice's aggregates of whatever dates they picked: with a one-week window
the practice alliance line had points of n = 1 (one client of a therapist they do not
supervise), and walking the end date a day at a time gave single ratings away.  The checks
here count what stands behind each shown point with a slow pandas reference over the raw
frames (not the code under test), and walk the end date a day at a time.
"""

from __future__ import annotations

import datetime as dt
import json

import pandas as pd
import pytest

from supervision import periods
from supervision.caseload import Caseload
from supervision.views.apps import SupervisorApp

K = 5
MINE = ("T02", "T03")


@pytest.fixture(scope="module")
def demo_frames() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The seeded demo: 160 episodes, T01..T12, sessions 2023-01-02 .. 2024-12-31."""
    from supervision.demo import generate_demo

    return generate_demo(episodes=160, seed=11)


@pytest.fixture(scope="module")
def demo(demo_frames: tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]) -> Caseload:
    return Caseload.from_frames(*demo_frames)


@pytest.mark.parametrize(("until", "quarter"), [
    (dt.date(2024, 9, 30), "2024Q3"),   # the quarter's last day closes it
    (dt.date(2024, 9, 29), "2024Q2"),   # one day short: Q3 is still open
    (dt.date(2024, 7, 1), "2024Q2"),
    (dt.date(2024, 1, 1), "2023Q4"),
    (dt.date(2023, 12, 31), "2023Q4"),
])
def test_closed_quarter_is_the_last_quarter_ended_by_until(until: dt.date, quarter: str) -> None:
    """Calendar quarters end on 31 Mar, 30 Jun, 30 Sep and 31 Dec (hand-checked)."""
    assert periods.closed_quarter(until) == quarter


def _reference_cover(frames: tuple[pd.DataFrame, ...], quarter: str,
                     entitled: tuple[str, ...]) -> dict[int, tuple[int, int, int]]:
    """Slow count, in pandas over the raw frames, of what stands behind each point of the
    practice's alliance by session number in ``quarter``: rated index i -> (practice
    episodes, other therapists' episodes, other therapists).

    The quarter's scope holds the episodes started by its last day and not ended before
    its first, with their attended SRS-rated sessions up to its last day; an episode has a
    point at rated index i when it has at least i such sessions.
    """
    s, e, _ = frames
    q0, q1 = (pd.Timestamp(d) for d in periods.quarter_bounds(quarter))
    e = e.assign(start_date=pd.to_datetime(e["start_date"]), end_date=pd.to_datetime(e["end_date"]))
    active = e[(e["start_date"] <= q1) & (e["end_date"].isna() | (e["end_date"] >= q0))]
    s = s.assign(session_date=pd.to_datetime(s["session_date"]))
    rated = s[(s["session_date"] <= q1) & (s["attendance"] == "attended") & s["srs"].notna()
              & s["episode_id"].isin(active["episode_id"])]
    per = rated.groupby(["episode_id", "therapist_id"]).size().rename("r").reset_index()
    out = {}
    for i in range(1, int(per["r"].max()) + 1):
        at = per[per["r"] >= i]
        others = at[~at["therapist_id"].isin(entitled)]
        out[i] = (len(at), len(others), others["therapist_id"].nunique())
    return out


def _app(cl: Caseload, since: dt.date, until: dt.date) -> SupervisorApp:
    app = SupervisorApp(cl, min_cell=K, therapists=MINE)
    app.therapist.value = "T03"
    app.since.value, app.until.value = since, until
    app.refresh()
    return app


def test_a_scoped_supervisor_sees_no_point_of_others_with_fewer_than_k_behind(
    demo: Caseload, demo_frames: tuple[pd.DataFrame, ...]
) -> None:
    """A one-week window: every point of the practice line shown has >= 5 practice episodes
    and >= 5 episodes from >= 5 therapists other than T02 and T03 (slow count); the
    practice figures are of 2024Q2, the last quarter closed by 2024-08-14, and say so.
    (On main the same window drew the practice line from that week's active episodes, with
    points of n = 1 at the late session numbers.)"""
    app = _app(demo, dt.date(2024, 8, 8), dt.date(2024, 8, 14))
    practice = app._view.practice
    cover = _reference_cover(demo_frames, "2024Q2", MINE)
    points = practice.get("alliance_by_session") or []
    assert points, "the practice line should not be withheld whole in this demo"
    for p in points:
        n, eps, ther = cover[int(p["rated_index"])]
        assert p["n"] == n >= K, p
        assert eps >= K and ther >= K, (p, eps, ther)
    # the points left out are exactly those the rule leaves out (none lost for nothing)
    expected = [i for i, (n, eps, ther) in cover.items() if n >= K and eps >= K and ther >= K]
    assert [int(p["rated_index"]) for p in points] == expected
    assert practice["period"] == "2024Q2"
    assert app._view.practice_label == "Practice, 2024Q2"
    trend = app.figures["alliance_trend"]
    assert any(tr.name == "Practice, 2024Q2: mean" for tr in trend.data)
    drawn = next(tr for tr in trend.data if tr.name == "Practice, 2024Q2: mean")
    assert [int(x) for x in drawn.x] == expected

def test_walking_the_end_date_a_day_at_a_time_reveals_nothing(demo: Caseload) -> None:
    """End date 2024-09-20 .. 2024-10-09, one day at a time, start fixed a week earlier:
    the figures of others change once, when 2024Q3 closes (30 Sep), to the next closed
    quarter — a disjoint period, not a window one day longer — and are identical to the
    last digit on every other day, so no difference of two days is one client's rating."""
    app = SupervisorApp(demo, min_cell=K, therapists=MINE)
    seen = []
    for d in range(20):
        until = dt.date(2024, 9, 20) + dt.timedelta(days=d)
        seen.append(json.dumps(app.practice(until - dt.timedelta(days=7), until),
                               sort_keys=True))
    changes = [i for i in range(1, len(seen)) if seen[i] != seen[i - 1]]
    assert changes == [10]  # 2024-09-30 is the 11th day
    assert json.loads(seen[9])["period"] == "2024Q2"
    assert json.loads(seen[10])["period"] == "2024Q3"


def test_the_lead_still_sees_the_practice_of_the_chosen_dates(demo: Caseload) -> None:
    """A supervisor over every therapist (no limit) is entitled to all: the practice
    figures still cover the picked dates (the gate is for viewers who are not)."""
    app = SupervisorApp(demo, min_cell=K)
    p = app.practice(dt.date(2024, 8, 8), dt.date(2024, 8, 14))
    assert "period" not in p and p["window"] == ["2024-08-08", "2024-08-14"]
