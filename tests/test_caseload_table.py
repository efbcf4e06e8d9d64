"""The open caseload table (issue 25 item 1): figures.open_caseload and its widget.

The hand-worked export (weekly sessions from 2024-01-01, all attended unless said; as of
2024-03-01)
----------------------------------------------------------------------------------------
Reference (T2): R01..R30, ended, PHQ-9 15, 15, 15 − (i mod 10) for i = 0..29: at scored
session 3, for an intake of 15 at width 1, 30 episodes whose gains (improvement) are 0..9,
three of each.  Type-7 percentiles over the 30 sorted gains, position 29·q: q = .10 →
2.9 → 0.9; q = .25 → 7.25 → 2 (as in tests/test_timeline.py).

Open episodes of T1 (PHQ-9 / SRS):

====  =======================  ===========  =========================================
 ep    PHQ-9                    SRS          expected
====  =======================  ===========  =========================================
 A     15 14 10, then a no-show 38 38 38     gain 5 ≥ 2: on_track; last seen 2024-01-15
                                             (46 days before 2024-03-01), 3 sessions
 B     15 15 14 (item 9: 0 0 1) 36 36 34     gain 1: below the 25th (2), not the 10th
                                             (0.9): below_p25; SRS 34 < 36: concern;
                                             reasons risk_item, low_alliance
 C     15 15 15                 38 38 38     gain 0 < 0.9: below_p10; not_on_track
 D     15 14                    38 38        2nd score only: not_enough_history;
                                             last seen 2024-01-08: 53 days
 E     10 10 10 19 19 19        38 × 6       intake 10: the 30 references are within
                                             width 5 but none has a 6th score:
                                             not_enough_history; a sudden loss 10 → 19
                                             (9 ≥ 6 and ≥ 25% of 10; both sides flat,
                                             10 < 19 by more than t·0): 1 loss;
                                             +9 ≥ 6: reliable_deterioration; last seen
                                             2024-02-05: 25 days; 6 sessions
 F     5 5 5                    38 38 38     no reference within ± 6 (a quarter of 27):
                                             not_enough_history
====  =======================  ===========  =========================================

Order: B (risk item), then the other flagged (C, E), then A, D, F.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from supervision import figures
from supervision.caseload import Caseload

AS_OF = dt.date(2024, 3, 1)
N = None
OPEN = {  # episode: [(attendance, phq9, item9, srs), ...]
    "A": [("attended", 15, 0, 38), ("attended", 14, 0, 38), ("attended", 10, 0, 38),
          ("no_show", N, N, N)],
    "B": [("attended", 15, 0, 36), ("attended", 15, 0, 36), ("attended", 14, 1, 34)],
    "C": [("attended", 15, 0, 38)] * 3,
    "D": [("attended", 15, 0, 38), ("attended", 14, 0, 38)],
    "E": [("attended", 10, 0, 38)] * 3 + [("attended", 19, 0, 38)] * 3,
    "F": [("attended", 5, 0, 38)] * 3,
}


def hand_caseload() -> Caseload:
    start, s, e = dt.date(2024, 1, 1), [], []
    for eid, rows in OPEN.items():
        for k, (att, phq, item, srs) in enumerate(rows):
            s.append({"client_id": "C" + eid, "therapist_id": "T1", "episode_id": eid,
                      "session_date": start + dt.timedelta(weeks=k), "attendance": att,
                      "phq9": phq, "phq9_item9": item, "srs": srs})
        e.append({"episode_id": eid, "client_id": "C" + eid, "therapist_id": "T1",
                  "start_date": start, "termination": "ongoing"})
    for i in range(30):
        d0, rid = dt.date(2023, 1, 2) + dt.timedelta(days=i), f"R{i + 1:02d}"
        for k, score in enumerate((15, 15, 15 - i % 10)):
            s.append({"client_id": "C" + rid, "therapist_id": "T2", "episode_id": rid,
                      "session_date": d0 + dt.timedelta(weeks=k), "attendance": "attended",
                      "phq9": score, "phq9_item9": 0, "srs": 38})
        e.append({"episode_id": rid, "client_id": "C" + rid, "therapist_id": "T2",
                  "start_date": d0, "end_date": d0 + dt.timedelta(weeks=2),
                  "termination": "completed"})
    sessions = pd.DataFrame(s)
    sessions["source_row"] = range(1, len(sessions) + 1)
    return Caseload.from_frames(sessions, pd.DataFrame(e),
                                pd.DataFrame({"therapist_id": ["T1", "T2"]}))


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    return figures.open_caseload(hand_caseload(), as_of=AS_OF).set_index("episode_id")


def test_one_row_per_open_episode_flagged_first(table: pd.DataFrame) -> None:
    assert table.index.tolist() == ["B", "C", "E", "A", "D", "F"]
    assert table["flagged"].tolist() == [True, True, True, False, False, False]


def test_each_status(table: pd.DataFrame) -> None:
    assert table["status"].to_dict() == {
        "A": "on_track", "B": "below_p25", "C": "below_p10", "D": "not_enough_history",
        "E": "not_enough_history", "F": "not_enough_history"}


def test_sessions_last_seen_and_scores(table: pd.DataFrame) -> None:
    assert table["sessions"].to_dict() == {"A": 3, "B": 3, "C": 3, "D": 2, "E": 6, "F": 3}
    assert table.loc[["A", "D", "E"], "days_since_seen"].tolist() == [46, 53, 25]
    assert table["phq9__intake"].to_dict() == {
        "A": 15, "B": 15, "C": 15, "D": 15, "E": 10, "F": 5}
    assert table["phq9__change"].to_dict() == {
        "A": -5, "B": -1, "C": 0, "D": -1, "E": 9, "F": 0}
    assert table["phq9__latest"]["E"] == 19


def test_alliance_latest_and_concern(table: pd.DataFrame) -> None:
    assert table.loc["B", ["alliance_measure", "alliance_latest", "alliance_concern"]
                     ].tolist() == ["srs", 34.0, True]
    assert not table.loc["A", "alliance_concern"] and table.loc["A", "alliance_latest"] == 38


def test_sudden_losses_and_reasons(table: pd.DataFrame) -> None:
    assert table["sudden_losses"].to_dict() == {"A": 0, "B": 0, "C": 0, "D": 0, "E": 1, "F": 0}
    assert table["sudden_gains"].sum() == 0
    assert table.loc["B", "reasons"] == ["risk_item", "low_alliance"]
    assert table.loc["C", "reasons"] == ["not_on_track"]
    assert table.loc["E", "reasons"] == ["reliable_deterioration", "sudden_loss"]
    assert table.loc["A", "reasons"] == []


def test_a_therapist_scope_sees_only_its_own() -> None:
    cl = hand_caseload()
    t2 = figures.open_caseload(cl.scoped(therapist_id="T2"), as_of=AS_OF)
    assert t2.empty and list(t2.columns)[:len(figures.CASELOAD_COLUMNS)] == list(
        figures.CASELOAD_COLUMNS)


def test_widget_sorts_and_filters() -> None:
    from supervision.views.caseload_table import CaseloadTable

    opened: list[str] = []
    w = CaseloadTable(figures.open_caseload(hand_caseload(), as_of=AS_OF), opened.append)
    assert w.shown() == ["B", "C", "E", "A", "D", "F"]
    w.sort.value = "days_since_seen"
    assert w.shown() == ["D", "B", "C", "A", "F", "E"]  # 53, 46 ×4 (default order), 25
    w.sort.value = "status"
    assert w.shown()[:3] == ["C", "B", "A"]  # below 10th, below 25th, on track
    w.show.value = "flagged"
    assert w.shown() == ["C", "B", "E"]
    w.show.value = "not_enough_history"
    w.sort.value = "flagged"
    assert w.shown() == ["E", "D", "F"]
    w.show.value = "all"
    w.search.value = "c"
    assert w.shown() == ["C"]
    w.rows["C"].children[0].click()
    assert opened == ["C"]


def test_a_row_click_opens_its_timeline_in_the_app() -> None:
    from supervision.views.apps import SupervisorApp

    app = SupervisorApp(hand_caseload())
    app.refresh()
    names = [n for n, _ in app.tab_specs]
    app.tabs.selected_index = names.index("Open caseload")
    root = app.tabs.children[names.index("Open caseload")].children[0]
    body = root.children[-2]  # then the pager
    shown = [row.children[0].description for row in body.children]
    assert shown == ["B", "C", "E", "A", "D", "F"]
    body.children[1].children[0].click()  # C
    assert app.tabs.selected_index == names.index("Cases to discuss")
    assert app._view.timeline.timeline.episode_id == "C"
    assert app._view.timeline.episode.value == "C"


def test_the_pack_table_escapes_and_keeps_the_order() -> None:
    from supervision.views.caseload_table import caseload_html

    df = figures.open_caseload(hand_caseload(), as_of=AS_OF)
    df.loc[df["episode_id"] == "A", "episode_id"] = "<b>A</b>"
    html = caseload_html(df)
    assert "&lt;b&gt;A&lt;/b&gt;" in html and "<b>A</b>" not in html
    order = [html.index(f"<td>{e}</td>") for e in ("B", "C", "E")]
    assert order == sorted(order)
    assert html.count('<tr class="sv-risk">') == 1
    assert "below the 25th percentile" in html and "never a verdict" in html


def test_a_page_at_a_time() -> None:
    """30 rows (the six hand rows five times, ids renamed): 25 on the first page, 5 on the
    second; a new sort goes back to the first page; rows are built only when shown."""
    from supervision.views.caseload_table import PAGE, CaseloadTable

    base = figures.open_caseload(hand_caseload(), as_of=AS_OF)
    big = pd.concat([base] * 5, ignore_index=True)
    big["episode_id"] = [f"X{i:02d}" for i in range(len(big))]
    w = CaseloadTable(big, lambda _: None)
    assert PAGE == 25 and len(w.body.children) == 25 and len(w.rows) == 25
    assert "page 1 of 2" in w.count.value and w.prev.disabled and not w.next.disabled
    w.next.click()
    assert [r.children[0].description for r in w.body.children] == w.shown()[25:]
    assert len(w.body.children) == 5 and w.next.disabled
    w.sort.value = "episode_id"
    assert w.page == 0 and w.body.children[0].children[0].description == "X00"


def test_the_concern_flag_is_shown() -> None:
    """B's latest SRS 34 is below 36: its row says so (the column holds numpy booleans)."""
    from supervision.views.caseload_table import CaseloadTable

    w = CaseloadTable(figures.open_caseload(hand_caseload(), as_of=AS_OF), lambda _: None,
                      registry=hand_caseload().registry)
    assert "below 36" in w.rows["B"].children[1].value
    assert "below 36" not in w.rows["A"].children[1].value
