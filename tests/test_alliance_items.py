"""Which SRS item drives a low or a falling total (issue 25 item 3), against a hand count.

The export (SRS items relationship, goals, approach, overall; the total is their sum; all
attended, in this order):

====  ===============  =====  ==================================================
 ep    items            total  low (< 36) driver · falling (≥ 1 point) driver
====  ===============  =====  ==================================================
 E1    10 10 10 10      40     —
       9  8  9  9       35     low: goals (8) · fall 5: goals fell most (2)
       9  8  9  6       32     low: overall (6) · fall 3: overall (3)
 E2    8  9  9  9       35     low: relationship (8) · first session
       8  9  9  9       35     low: relationship · no fall
 E3    9  9  9  9       36     —
       9  9  8  9       35     low: approach · fall 1: approach
 E4    10 10 10 10      40     —
       9  9  10 10      38     not low · fall 2: relationship and goals tie (1 each):
                               both count
 E5    (items missing)  30     not counted: the parts are needed
====  ===============  =====  ==================================================

Low: 5 sessions in 3 episodes (E1, E2, E3): relationship 2, goals 1, approach 1, overall 1.
Falling: 4 sessions in 3 episodes (E1, E3, E4): relationship 1, goals 2, approach 1,
overall 1 (shares add to more than 1 because of the tie).
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from supervision.caseload import Caseload
from supervision.clinical.alliance import item_drivers

N = None
ROWS = {
    "E1": [(10, 10, 10, 10), (9, 8, 9, 9), (9, 8, 9, 6)],
    "E2": [(8, 9, 9, 9), (8, 9, 9, 9)],
    "E3": [(9, 9, 9, 9), (9, 9, 8, 9)],
    "E4": [(10, 10, 10, 10), (9, 9, 10, 10)],
}
ITEMS = ["srs_relationship", "srs_goals", "srs_approach", "srs_overall"]


def caseload() -> Caseload:
    s, day = [], dt.date(2024, 1, 1)
    for eid, sessions in ROWS.items():
        for k, items in enumerate(sessions):
            s.append({"client_id": "C" + eid, "therapist_id": "T1", "episode_id": eid,
                      "session_date": day + dt.timedelta(weeks=k), "srs": float(sum(items)),
                      **dict(zip(ITEMS, map(float, items), strict=True))})
    s.append({"client_id": "CE5", "therapist_id": "T1", "episode_id": "E5",
              "session_date": day, "srs": 30.0})
    e = pd.DataFrame({"episode_id": [*ROWS, "E5"], "client_id": [f"C{x}" for x in (*ROWS, "E5")],
                      "therapist_id": "T1", "start_date": day})
    return Caseload.from_frames(pd.DataFrame(s), e, pd.DataFrame({"therapist_id": ["T1"]}))


@pytest.fixture(scope="module")
def drivers() -> pd.DataFrame:
    return item_drivers(caseload(), "srs", min_cell=3).set_index(["kind", "item"])


def test_low_total_drivers(drivers: pd.DataFrame) -> None:
    low = drivers.loc["low"]
    assert low["events"].to_dict() == {"srs_relationship": 2, "srs_goals": 1,
                                       "srs_approach": 1, "srs_overall": 1}
    assert set(low["of_events"]) == {5} and set(low["episodes"]) == {3}
    assert low.loc["srs_relationship", "share"] == pytest.approx(2 / 5)


def test_falling_total_drivers_count_ties_for_each(drivers: pd.DataFrame) -> None:
    falling = drivers.loc["falling"]
    assert falling["events"].to_dict() == {"srs_relationship": 1, "srs_goals": 2,
                                           "srs_approach": 1, "srs_overall": 1}
    assert set(falling["of_events"]) == {4} and set(falling["episodes"]) == {3}


def test_small_cells_are_suppressed() -> None:
    """With k = 4 both kinds (3 episodes each) are hidden: no count, no share."""
    d = item_drivers(caseload(), "srs", min_cell=4)
    assert d["suppressed"].all()
    assert d[["events", "of_events", "episodes", "share"]].isna().all().all()


def test_without_items_nothing() -> None:
    cl = caseload()
    s = cl.sessions.execute().drop(columns=ITEMS)
    plain = Caseload.from_frames(s, cl.episodes.execute(), cl.therapists.execute())
    assert item_drivers(plain, "srs").empty


def test_the_alliance_tab_shows_the_breakdown_with_n() -> None:
    from supervision.views.alliance import item_drivers_panel

    own = item_drivers(caseload(), "srs", min_cell=3)
    html = item_drivers_panel(own, None, own_label="Therapist T1").value
    assert "Relationship" in html and "2 of 5" in html and "3 episodes" in html
    hidden = item_drivers_panel(item_drivers(caseload(), "srs", min_cell=4), None,
                                own_label="Therapist T1").value
    assert "fewer than" in hidden and "2 of 5" not in hidden


def test_the_timeline_shows_the_items_under_the_total() -> None:
    from supervision.timeline import case_timeline
    from supervision.views.timeline import timeline_figure

    tl = case_timeline(caseload(), "E1", bands=None)
    assert len(tl.items) == 3 * 4  # three rated sessions, four items each
    overall = tl.items[tl.items["item"] == "srs_overall"]
    assert overall["value"].tolist() == [10.0, 9.0, 6.0]
    fig = timeline_figure(tl)
    titles = [a.text for a in fig.layout.annotations]
    assert any("Session Rating Scale items" in t for t in titles)
    assert {t.name for t in fig.data} >= {"Relationship (bond)", "Overall (fit)"}
    assert case_timeline(caseload(), "E5", bands=None).items.empty
