"""``supervision metrics``: each therapist's ``open_caseload`` and the ``item_drivers`` of
``alliance.<measure>`` (issue 25; keys in the README), on a hand-worked export written here
as CSV and read by the command itself.

The export (weekly sessions, all attended unless said; ``--until 2024-03-01``)
------------------------------------------------------------------------------
References (T3): R01..R30, ended, PHQ-9 15, 15, 15 − (i mod 10) for i = 0..29, SRS 38, no
SRS items.  At scored session 3, for an intake of 15, the 30 gains (improvement) are 0..9,
three of each.  Type-7 percentiles over the 30 sorted gains, position 29·q: q = .10 → 2.9
→ 0 + 0.9·(1 − 0) = 0.9; q = .25 → 7.25 → 2 (between two 2s).

Open episodes, from 2024-01-01 (PHQ-9 / item 9 / SRS total):

====  ====  ==========================  ============  ======================================
 th    ep    PHQ-9 (item 9)              SRS           expected row
====  ====  ==========================  ============  ======================================
 T1    A     15 14 10 (0 0 0), then a    38 38 38      change −5, gain 5 ≥ 2: on_track;
             no-show                                   3 sessions, last seen 2024-01-15:
                                                       16 days to Jan 31 + 29 (Feb 2024)
                                                       + 1 = 46 days; one no-show is not a
                                                       run: no reason
 T1    B     15 15 14 (0 0 1)            36 36 34      gain 1: below 2 but not below 0.9:
                                                       below_p25; item 9 = 1 at the last
                                                       scored session: risk_item; SRS 34 <
                                                       36: concern, low_alliance; 46 days
 T1    C     15 15 15                    38 38 38      gain 0 < 0.9: below_p10 and
                                                       not_on_track; 46 days
 T1    D     15 14                       38 38         2nd score only: position too_early,
                                                       status not_enough_history; last seen
                                                       2024-01-08: 53 days
 T1    E     10 10 10 19 19 19           38 × 6        intake 10: no reference has a 6th
                                                       score: not_enough_history; +9 ≥ 6
                                                       (PHQ-9's reliable change):
                                                       reliable_deterioration; 10 → 19 is a
                                                       sudden loss (9 ≥ 6, ≥ 25% of 10,
                                                       flat either side) at the 4th of 6
                                                       scores: 1 loss, sudden_loss; last
                                                       seen 2024-02-05: 25 days
 T2    =G    5 5 5                       38 38 38      no reference within ± 6 of 5:
                                                       not_enough_history, no reason
====  ====  ==========================  ============  ======================================

T1's rows: B first (risk_item), then the other flagged by episode (C, E), then A, D.  T3 has
no open episode: ``[]``.  The id ``=G`` is a formula to a spreadsheet: in the CSV it is
written ``'=G``.

Alliance items: ended episodes (2023-06, two sessions, SRS = the sum of its four items,
relationship / goals / approach / overall), first (10, 10, 10, 10) = 40, then

* T1 K1–K3 (9, 9, 9, 6) = 33, K4–K5 (9, 6, 9, 9) = 33, K6 (7, 9, 9, 9) = 34;
* T2 L1–L2 (9, 9, 6, 9) = 33;
* T3 M1–M5 (9, 9, 9, 6) = 33.

Every second session is *low* (< 36; driver: the item lowest as a share of 0–10) and
*falling* (7 or 6 points ≥ 1; driver: the item that fell most: 4, 4, 3 and 4 points), the
same item both ways.  T1: 6 sessions in 6 episodes, overall 3, goals 2, relationship 1,
approach 0 (shares 1/2, 1/3, 1/6, 0).  T2: 2 episodes, fewer than k = 5: suppressed.  Then
the practice's 13 minus T1's and T3's would give T2's 2, so the smallest other shown
therapist with some, T3 (5 < 6), is hidden too (complementary suppression); T1 stays
shown.  Practice: 13 sessions in 13 episodes, relationship 1, goals 2, approach 2 (T2),
overall 3 + 5 = 8.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from supervision import cli
from supervision.io import load_export
from supervision.metrics import compute_metrics, metrics_to_csv

UNTIL = "2024-03-01"
S_COLS = ["client_id", "therapist_id", "episode_id", "session_date", "attendance", "phq9",
          "phq9_item9", "srs", "srs_relationship", "srs_goals", "srs_approach", "srs_overall"]
E_COLS = ["episode_id", "client_id", "therapist_id", "start_date", "end_date", "termination"]
OPEN = {  # episode: (therapist, [(attendance, phq9, item 9, srs), ...])
    "A": ("T1", [("attended", 15, 0, 38), ("attended", 14, 0, 38), ("attended", 10, 0, 38),
                 ("no_show", "", "", "")]),
    "B": ("T1", [("attended", 15, 0, 36), ("attended", 15, 0, 36), ("attended", 14, 1, 34)]),
    "C": ("T1", [("attended", 15, 0, 38)] * 3),
    "D": ("T1", [("attended", 15, 0, 38), ("attended", 14, 0, 38)]),
    "E": ("T1", [("attended", 10, 0, 38)] * 3 + [("attended", 19, 0, 38)] * 3),
    "=G": ("T2", [("attended", 5, 0, 38)] * 3),
}
ITEMS = {  # episode: (therapist, the second session's items)
    **{f"K{i}": ("T1", (9, 9, 9, 6)) for i in (1, 2, 3)},
    **{f"K{i}": ("T1", (9, 6, 9, 9)) for i in (4, 5)},
    "K6": ("T1", (7, 9, 9, 9)),
    **{f"L{i}": ("T2", (9, 9, 6, 9)) for i in (1, 2)},
    **{f"M{i}": ("T3", (9, 9, 9, 6)) for i in range(1, 6)},
}
PARTS = ["srs_relationship", "srs_goals", "srs_approach", "srs_overall"]


def _write(path: Path, cols: list[str], rows: list[list[object]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(cols)
        w.writerows(rows)


def write_export(folder: Path) -> Path:
    import datetime as dt

    week = dt.timedelta(weeks=1)
    s: list[list[object]] = []
    e: list[list[object]] = []
    start = dt.date(2024, 1, 1)
    for eid, (tid, rows) in OPEN.items():
        for k, (att, phq, item, srs) in enumerate(rows):
            s.append([f"C{eid}", tid, eid, start + k * week, att, phq, item, srs, "", "", "",
                      ""])
        e.append([eid, f"C{eid}", tid, start, "", "ongoing"])
    for i in range(30):
        d0, rid = dt.date(2023, 1, 2) + dt.timedelta(days=i), f"R{i + 1:02d}"
        for k, score in enumerate((15, 15, 15 - i % 10)):
            s.append([f"C{rid}", "T3", rid, d0 + k * week, "attended", score, 0, 38, "", "", "",
                      ""])
        e.append([rid, f"C{rid}", "T3", d0, d0 + 2 * week, "completed"])
    d0 = dt.date(2023, 6, 5)
    for eid, (tid, second) in ITEMS.items():
        for k, items in enumerate(((10, 10, 10, 10), second)):
            s.append([f"C{eid}", tid, eid, d0 + k * week, "attended", "", "", sum(items),
                      *items])
        e.append([eid, f"C{eid}", tid, d0, d0 + week, "completed"])
    folder.mkdir(parents=True, exist_ok=True)
    _write(folder / "sessions.csv", S_COLS, s)
    _write(folder / "episodes.csv", E_COLS, e)
    _write(folder / "therapists.csv", ["therapist_id"], [["T1"], ["T2"], ["T3"]])
    return folder


@pytest.fixture(scope="module")
def export(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_export(tmp_path_factory.mktemp("caseload_keys") / "export")


def _run(export: Path, tmp: Path, fmt: str, *more: str) -> str:
    out = tmp / f"metrics{len(more)}.{fmt}"
    out.unlink(missing_ok=True)
    assert cli.main(["metrics", str(export), "--until", UNTIL, "--format", fmt,
                     "--out", str(out), *more]) == 0
    return out.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def result(export: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    return json.loads(_run(export, tmp_path_factory.mktemp("json"), "json"))


def _phq9(intake: float, latest: float, position: str) -> dict:
    return {"intake": intake, "latest": latest, "change": latest - intake,
            "position": position}


def _srs(latest: float) -> dict:
    return {"measure": "srs", "latest": latest, "concern": latest < 36}


#: The expected rows, as worked in the module docstring.
EXPECTED = {
    "T1": [
        {"episode_id": "B", "sessions": 3, "days_since_seen": 46, "alliance": _srs(34),
         "outcomes": {"phq9": _phq9(15, 14, "below_p25")}, "status": "below_p25",
         "sudden_gains": 0, "sudden_losses": 0, "flagged": True,
         "reasons": ["risk_item", "low_alliance"]},
        {"episode_id": "C", "sessions": 3, "days_since_seen": 46, "alliance": _srs(38),
         "outcomes": {"phq9": _phq9(15, 15, "below_p10")}, "status": "below_p10",
         "sudden_gains": 0, "sudden_losses": 0, "flagged": True, "reasons": ["not_on_track"]},
        {"episode_id": "E", "sessions": 6, "days_since_seen": 25, "alliance": _srs(38),
         "outcomes": {"phq9": _phq9(10, 19, "not_enough_history")},
         "status": "not_enough_history", "sudden_gains": 0, "sudden_losses": 1,
         "flagged": True, "reasons": ["reliable_deterioration", "sudden_loss"]},
        {"episode_id": "A", "sessions": 3, "days_since_seen": 46, "alliance": _srs(38),
         "outcomes": {"phq9": _phq9(15, 10, "on_track")}, "status": "on_track",
         "sudden_gains": 0, "sudden_losses": 0, "flagged": False, "reasons": []},
        {"episode_id": "D", "sessions": 2, "days_since_seen": 53, "alliance": _srs(38),
         "outcomes": {"phq9": _phq9(15, 14, "too_early")}, "status": "not_enough_history",
         "sudden_gains": 0, "sudden_losses": 0, "flagged": False, "reasons": []},
    ],
    "T2": [
        {"episode_id": "=G", "sessions": 3, "days_since_seen": 46, "alliance": _srs(38),
         "outcomes": {"phq9": _phq9(5, 5, "not_enough_history")},
         "status": "not_enough_history", "sudden_gains": 0, "sudden_losses": 0,
         "flagged": False, "reasons": []},
    ],
    "T3": [],
}


def test_open_caseload_rows_by_hand(result: dict) -> None:
    assert result["meta"]["as_of"] == UNTIL
    for tid, rows in EXPECTED.items():
        assert result["therapists"][tid]["open_caseload"] == rows, tid
    assert "open_caseload" not in result["practice"]


def test_the_rows_carry_pseudonyms_only(result: dict) -> None:
    """No client id, no date in a row: the episode's pseudonym is the only id."""
    text = json.dumps([m["open_caseload"] for m in result["therapists"].values()])
    assert "CA" not in text and "client" not in text and "2024-" not in text


def _drivers(sessions: int, counts: dict[str, int]) -> dict:
    return {"sessions": sessions, "episodes": sessions, "suppressed": False,
            "items": {p: {"sessions": counts[p], "share": pytest.approx(counts[p] / sessions)}
                      for p in PARTS}}


HIDDEN = {"sessions": None, "episodes": None, "suppressed": True,
          "items": {p: {"sessions": None, "share": None} for p in PARTS}}


def test_item_breakdown_by_hand(result: dict) -> None:
    t1 = dict(zip(PARTS, (1, 2, 0, 3), strict=True))
    practice = dict(zip(PARTS, (1, 2, 2, 8), strict=True))
    assert result["practice"]["alliance"]["srs"]["item_drivers"] == {
        "low": _drivers(13, practice), "falling": _drivers(13, practice)}
    th = {t: result["therapists"][t]["alliance"]["srs"]["item_drivers"] for t in EXPECTED}
    assert th["T1"] == {"low": _drivers(6, t1), "falling": _drivers(6, t1)}
    # T2: 2 episodes (primary); T3: its complement, so that 13 − 6 pins neither
    assert th["T2"] == {"low": HIDDEN, "falling": HIDDEN}
    assert th["T3"] == {"low": HIDDEN, "falling": HIDDEN}


def test_same_figures_with_therapist_option(export: Path, result: dict,
                                            tmp_path: Path) -> None:
    one = json.loads(_run(export, tmp_path, "json", "--therapist", "T2"))
    assert list(one["therapists"]) == ["T2"]
    mine = one["therapists"]["T2"]
    assert mine["open_caseload"] == EXPECTED["T2"]
    assert mine["alliance"]["srs"]["item_drivers"] == {"low": HIDDEN, "falling": HIDDEN}
    assert one["practice"]["alliance"] == result["practice"]["alliance"]


def test_csv_flattens_the_records_by_position(export: Path, tmp_path: Path) -> None:
    rows = list(csv.reader(io.StringIO(_run(export, tmp_path, "csv"))))
    get = {(r[0], r[1], r[2]): r[3] for r in rows[1:]}
    t1 = {k: v for (scope, tid, k), v in get.items() if scope == "therapist" and tid == "T1"}
    assert t1["open_caseload.0.episode_id"] == "B"
    assert t1["open_caseload.0.reasons"] == "risk_item;low_alliance"
    assert t1["open_caseload.0.alliance.concern"] == "true"
    assert t1["open_caseload.2.outcomes.phq9.change"] == "9.0"
    assert t1["open_caseload.2.sudden_losses"] == "1"
    assert t1["open_caseload.4.outcomes.phq9.position"] == "too_early"
    assert t1["open_caseload.4.days_since_seen"] == "53"
    assert t1["open_caseload.3.reasons"] == ""
    assert "open_caseload.5.episode_id" not in t1  # five open episodes: 0..4
    assert t1["cases.0.episode_id"] == "B" and t1["cases.2.reasons"] == (
        "reliable_deterioration;sudden_loss")
    assert t1["alliance.srs.item_drivers.low.items.srs_overall.sessions"] == "3"
    assert t1["alliance.srs.item_drivers.low.items.srs_overall.share"] == "0.5"
    # a formula-like id is text, neutralised; numbers stay numbers
    assert get[("therapist", "T2", "open_caseload.0.episode_id")] == "'=G"
    assert get[("therapist", "T2", "alliance.srs.item_drivers.low.sessions")] == ""
    assert get[("therapist", "T3", "open_caseload")] == ""  # no open episode: one empty cell
    assert get[("meta", "", "as_of")] == UNTIL
    assert not any(r[2].startswith(("=", "+", "-", "@")) for r in rows)


def test_strict_json_and_the_flattening_rule(export: Path) -> None:
    """No NaN in the dict (``allow_nan=False``), also where a row has no score; and the one
    rule for lists: records by position, intervals as low/high, other lists joined."""
    r = compute_metrics(load_export(export, progress=False), until=UNTIL)
    json.dumps(r, allow_nan=False)
    demo = {"practice": {}, "meta": {}, "therapists": {"T": {
        "cases": [{"episode_id": "E1", "reasons": ["a", "b"], "details": None}],
        "x_ci": [0.25, None], "notes": ["n1", "n2"], "empty": []}}}
    rows = list(csv.reader(io.StringIO(metrics_to_csv(demo))))[1:]
    assert [r[2:] for r in rows] == [
        ["cases.0.episode_id", "E1"], ["cases.0.reasons", "a;b"], ["cases.0.details", ""],
        ["x_ci.low", "0.25"], ["x_ci.high", ""], ["notes", "n1;n2"], ["empty", ""]]
