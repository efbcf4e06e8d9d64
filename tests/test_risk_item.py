"""PHQ-9 item 9 (``phq9_item9``) and the ``risk_item`` reason (domain.md §2, §7).

The hand-worked export (a = attended, every episode open unless said; PHQ-9 total / item 9)
-------------------------------------------------------------------------------------------
T1:
  R1  a 15/2, a 14/1, a 13/0          -> latest scored session has item 9 = 0: not listed
  R2  a 15/0, a 14/0, a 13/1          -> latest 1 > 0: ``risk_item``
  R3  a 15/0, a 14/2, no_show         -> the no-show is not scored; latest scored (session
                                         2) has 2: ``risk_item``
  R4  a 15/0, a 14/3, a 13/(blank)    -> the latest scored session has no item 9: unknown,
                                         not listed (an older answer is not the latest)
  R5  (dropout, ENDED) a 20/3, a 21/3 -> ended: never listed
T2:
  R6  a 12/0, a 10/1, a 14/1, a 20/1 (srs 40, 40, 40, 30)
      -> item 9 = 1 at the latest; +8 on PHQ-9 (≥ 6: reliable deterioration); SRS 30 < 36
         and a 10-point drop on the last rated session: risk_item listed first, then
         low_alliance, alliance_drop, reliable_deterioration.
  R7  a 9/0, a 9/0 (srs 30, 30)       -> low_alliance only.
Listed order: R2, R3, R6 (risk first, then therapist, episode), then R7.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest
from fixtures.io_exports import write_csv

from supervision import figures
from supervision.caseload import Caseload
from supervision.errors import ExportError
from supervision.io import load_export
from supervision.metrics import compute_metrics
from supervision.timeline import case_timeline
from supervision.views.timeline import timeline_figure, timeline_panels

N = None
ROWS = [  # episode, therapist, attendance, phq9, item9, srs
    ("R1", "T1", "attended", 15, 2, N), ("R1", "T1", "attended", 14, 1, N),
    ("R1", "T1", "attended", 13, 0, N),
    ("R2", "T1", "attended", 15, 0, N), ("R2", "T1", "attended", 14, 0, N),
    ("R2", "T1", "attended", 13, 1, N),
    ("R3", "T1", "attended", 15, 0, N), ("R3", "T1", "attended", 14, 2, N),
    ("R3", "T1", "no_show", N, N, N),
    ("R4", "T1", "attended", 15, 0, N), ("R4", "T1", "attended", 14, 3, N),
    ("R4", "T1", "attended", 13, N, N),
    ("R5", "T1", "attended", 20, 3, N), ("R5", "T1", "attended", 21, 3, N),
    ("R6", "T2", "attended", 12, 0, 40), ("R6", "T2", "attended", 10, 1, 40),
    ("R6", "T2", "attended", 14, 1, 40), ("R6", "T2", "attended", 20, 1, 30),
    ("R7", "T2", "attended", 9, 0, 30), ("R7", "T2", "attended", 9, 0, 30),
]


def hand_caseload() -> Caseload:
    day, seen, rows = dt.date(2024, 1, 1), {}, []
    for i, (e, t, att, phq, item, srs) in enumerate(ROWS, start=1):
        k = seen[e] = seen.get(e, -1) + 1
        rows.append({"client_id": "C" + e, "therapist_id": t, "episode_id": e,
                     "session_date": day + dt.timedelta(days=7 * k), "source_row": i,
                     "attendance": att, "phq9": phq, "phq9_item9": item, "srs": srs})
    s = pd.DataFrame(rows)
    eps = pd.DataFrame({"episode_id": sorted(seen), "client_id": ["C" + e for e in sorted(seen)],
                        "therapist_id": [next(r[1] for r in ROWS if r[0] == e)
                                         for e in sorted(seen)],
                        "start_date": day})
    eps["termination"] = ["dropout" if e == "R5" else "ongoing" for e in eps["episode_id"]]
    return Caseload.from_frames(s, eps, pd.DataFrame({"therapist_id": ["T1", "T2"]}))


@pytest.fixture(scope="module")
def hand() -> Caseload:
    return hand_caseload()


def test_risk_item_on_the_latest_scored_session_only(hand: Caseload) -> None:
    cases = figures.cases_to_discuss(hand)
    listed = dict(zip(cases["episode_id"], cases["reasons"], strict=True))
    assert listed == {
        "R2": ["risk_item"], "R3": ["risk_item"],
        "R6": ["risk_item", "low_alliance", "alliance_drop", "reliable_deterioration"],
        "R7": ["low_alliance"],
    }


def test_risk_cases_come_first(hand: Caseload) -> None:
    assert figures.cases_to_discuss(hand)["episode_id"].tolist() == ["R2", "R3", "R6", "R7"]


def test_metrics_json_lists_risk_item_first(hand: Caseload) -> None:
    r = compute_metrics(hand)
    t2 = r["therapists"]["T2"]["cases"]
    assert [c["episode_id"] for c in t2] == ["R6", "R7"]
    assert t2[0]["reasons"][0] == "risk_item"
    assert [c["episode_id"] for c in r["therapists"]["T1"]["cases"]] == ["R2", "R3"]


def test_timeline_marks_the_item(hand: Caseload) -> None:
    tl = case_timeline(hand, "R3", bands=None)
    assert tl.reasons == ("risk_item",)
    assert tl.risk_sessions == [2]
    fig = timeline_figure(tl)
    marks = [t for t in fig.data if t.name == "Item 9 above 0 (check risk)"]
    assert len(marks) == 1 and list(marks[0].x) == [2]
    header = timeline_panels(tl)[0].value
    assert "Item 9 above 0" in header and "check risk" in header
    # R1 had item 9 above 0 earlier (sessions 1, 2), not at its latest: marked, not listed
    r1 = case_timeline(hand, "R1", bands=None)
    assert r1.risk_sessions == [1, 2] and r1.reasons == ()


def test_without_the_column_nothing_changes() -> None:
    cl = hand_caseload()
    s = cl.sessions.execute().drop(columns=["phq9_item9"])
    e, t = cl.episodes.execute(), cl.therapists.execute()
    plain = Caseload.from_frames(s, e, t)
    listed = figures.cases_to_discuss(plain)
    assert "risk_item" not in {r for rs in listed["reasons"] for r in rs}


S = ["client_id", "therapist_id", "episode_id", "session_date", "phq9", "phq9_item9"]
E = ["episode_id", "client_id", "therapist_id", "start_date"]


def _problems(tmp_path: Path, item: str) -> list[str]:
    folder = tmp_path / "export"
    folder.mkdir()
    write_csv(folder / "sessions.csv", S, [["C1", "T1", "E1", "2024-01-01", "12", "0"],
                                           ["C1", "T1", "E1", "2024-01-08", "12", item]])
    write_csv(folder / "episodes.csv", E, [["E1", "C1", "T1", "2024-01-01"]])
    with pytest.raises(ExportError) as info:
        load_export(folder)
    return [str(p) for p in info.value.problems]


@pytest.mark.parametrize(("item", "says"), [
    ("4", "sessions.csv:2:phq9_item9: 4 is outside 0–3 (PHQ-9 critical item)"),
    ("-1", "sessions.csv:2:phq9_item9: -1 is outside 0–3 (PHQ-9 critical item)"),
    ("1.5", "sessions.csv:2:phq9_item9: 1.5 is not a whole number"),
    ("often", "sessions.csv:2:phq9_item9: expected a number"),
])
def test_item9_validated_like_every_column(tmp_path: Path, item: str, says: str) -> None:
    got = _problems(tmp_path, item)
    assert any(p.startswith(says) for p in got), got


def test_a_valid_item9_loads(tmp_path: Path) -> None:
    folder = tmp_path / "ok"
    folder.mkdir()
    write_csv(folder / "sessions.csv", S, [["C1", "T1", "E1", "2024-01-01", "12", "3"]])
    write_csv(folder / "episodes.csv", E, [["E1", "C1", "T1", "2024-01-01"]])
    cl = load_export(folder)
    assert cl.sessions.execute()["phq9_item9"].tolist() == [3.0]
    assert figures.cases_to_discuss(cl)["reasons"].tolist() == [["risk_item"]]
