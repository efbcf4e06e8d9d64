"""``supervision metrics``: sudden gains / losses (§9, §10) and completeness (§12), from the
window's per-episode table, equal to the clinical modules' own summaries.

The hand-worked export (every session attended, weekly; PHQ-9 reliable change 6 points,
so criterion 1 is a change of at least 6; t = 2.776 with six scores around the interval)
------------------------------------------------------------------------------------------
T1:
  A  open    PHQ-9 20 20 20 10 10 10, SRS 38 on every session, then a no-show
             -> one gain 3→4 (20→10: 10 ≥ 6 and ≥ 5 = 25% of 20; means 20 vs 10, s_pooled
                0), magnitude 10; later scores 10, 10 not worse than 10 + 5: not reversed
  B  ended   PHQ-9 10 10 10 20 20 –, no SRS (the last session has no score)
             -> one loss 3→4 (10→20, means 10 vs 20 over the two post scores, t(3) · 0),
                magnitude 10, not reversed; final session not scored
T2:
  C  open    PHQ-9 20 20 20 8 8 15, SRS 38 on every session
             -> gain 3→4 (12 points; post mean 10.33, SS 32.67, s_pooled = √(32.67/4) =
                2.858, 2.776 · 2.858 = 7.93 < 9.67): magnitude 12, reversed (15 > 8 + 6);
                5→6 (8→15) would be a loss but has one post score: none
  D  ended   PHQ-9 27 27 27 18 18 18 9 9 9, no SRS
             -> two gains, 3→4 and 6→7, magnitude 9 each, not reversed

Sudden gains: T1 1 gain (A) mean 10, SD null; T2 3 gains in 2 episodes (1 with several),
1 reversal, magnitudes 12, 9, 9: mean 10, SD √((4 + 1 + 1) / 2) = √3; practice 4 gains in 3
episodes, 1 reversal, mean 40 / 4 = 10, SD √((0 + 4 + 1 + 1) / 3) = √2.
Sudden losses: T1 1 (B), magnitude 10; T2 none; practice 1, mean 10, SD null.

Completeness (attended sessions 27: A 6, B 6, C 6, D 9): alliance rated 12 / 27 (T1 6/12,
T2 6/15); outcome scored 26 / 27 (T1 11/12, T2 15/15); intake scored 4 / 4; final scored
among the ended B and D 1 / 2 (T1 0/1, T2 1/1).
"""

from __future__ import annotations

import math

import pandas as pd
import pytest

from supervision.caseload import Caseload
from supervision.clinical import completeness as cp
from supervision.clinical import sudden_gains as sg
from supervision.metrics import compute_metrics, metrics_to_csv

N = None
EPISODES = {
    "A": ("T1", "ongoing", [20, 20, 20, 10, 10, 10], True),
    "B": ("T1", "completed", [10, 10, 10, 20, 20, N], False),
    "C": ("T2", "ongoing", [20, 20, 20, 8, 8, 15], True),
    "D": ("T2", "completed", [27, 27, 27, 18, 18, 18, 9, 9, 9], False),
}


def hand_frames() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    rows = []
    for eid, (tid, _, scores, srs) in EPISODES.items():
        for i, x in enumerate(scores, start=1):
            rows.append({"client_id": "c" + eid, "therapist_id": tid, "episode_id": eid,
                         "session_date": pd.Timestamp("2024-01-01") + pd.Timedelta(days=7 * i),
                         "attendance": "attended", "rupture": "none", "phq9": x,
                         "srs": 38.0 if srs else N})
    rows.append({**rows[5], "session_date": pd.Timestamp("2024-03-01"),
                 "attendance": "no_show", "phq9": N, "srs": N})  # A: a no-show at the end
    episodes = pd.DataFrame({
        "episode_id": list(EPISODES), "client_id": ["c" + e for e in EPISODES],
        "therapist_id": [v[0] for v in EPISODES.values()], "start_date": "2024-01-08",
        "end_date": [None if v[1] == "ongoing" else "2024-04-01" for v in EPISODES.values()],
        "termination": [v[1] for v in EPISODES.values()],
    })
    return pd.DataFrame(rows), episodes, pd.DataFrame({"therapist_id": ["T1", "T2"]})


@pytest.fixture(scope="module")
def hand() -> Caseload:
    return Caseload.from_frames(*hand_frames())


@pytest.fixture(scope="module")
def result(hand: Caseload) -> dict:
    return compute_metrics(hand)


def _summary(df: pd.DataFrame) -> dict:
    row = df.iloc[0].to_dict()
    return {k: row[k] for k in sg.SUMMARY_KEYS}


def _same(got: dict, want: dict) -> bool:
    def eq(a: object, b: object) -> bool:
        if a is None or b is None:
            return a is None and b is None
        return math.isclose(float(a), float(b), rel_tol=1e-12)  # type: ignore[arg-type]
    return got.keys() == want.keys() and all(eq(got[k], want[k]) for k in got)


def test_sudden_gains_by_hand(result: dict) -> None:
    p = result["practice"]["outcomes"]["phq9"]
    assert _same(p["sudden_gains"], {"gains": 4, "episodes_with_gain": 3,
                                     "episodes_with_multiple": 1, "reversals": 1,
                                     "magnitude_mean": 10.0, "magnitude_sd": math.sqrt(2)})
    assert _same(p["sudden_losses"], {"gains": 1, "episodes_with_gain": 1,
                                      "episodes_with_multiple": 0, "reversals": 0,
                                      "magnitude_mean": 10.0, "magnitude_sd": None})
    t1, t2 = (result["therapists"][t]["outcomes"]["phq9"] for t in ("T1", "T2"))
    assert _same(t1["sudden_gains"], {"gains": 1, "episodes_with_gain": 1,
                                      "episodes_with_multiple": 0, "reversals": 0,
                                      "magnitude_mean": 10.0, "magnitude_sd": None})
    assert _same(t2["sudden_gains"], {"gains": 3, "episodes_with_gain": 2,
                                      "episodes_with_multiple": 1, "reversals": 1,
                                      "magnitude_mean": 10.0, "magnitude_sd": math.sqrt(3)})
    assert t2["sudden_losses"]["gains"] == 0 and t2["sudden_losses"]["magnitude_mean"] is None


@pytest.mark.parametrize("kind", ["gain", "loss"])
def test_sudden_keys_equal_the_module_summary(hand: Caseload, result: dict, kind: str) -> None:
    key = "sudden_gains" if kind == "gain" else "sudden_losses"
    ev = sg.sudden_events(hand, measure="phq9", kind=kind)
    assert _same(result["practice"]["outcomes"]["phq9"][key], _summary(sg.summarise(ev)))
    by = sg.summarise(ev, by="therapist_id").set_index("therapist_id")
    for tid, m in result["therapists"].items():
        if tid in by.index:
            want = {k: by.loc[tid, k] for k in sg.SUMMARY_KEYS}
            assert _same(m["outcomes"]["phq9"][key], want)
        else:
            assert m["outcomes"]["phq9"][key]["gains"] == 0


def test_completeness_by_hand_and_equal_to_module(hand: Caseload, result: dict) -> None:
    assert _same(result["practice"]["completeness"], {
        "alliance_rated_share": 12 / 27, "outcome_scored_share": 26 / 27,
        "intake_scored_share": 1.0, "final_scored_share": 0.5})
    assert _same(result["therapists"]["T1"]["completeness"], {
        "alliance_rated_share": 0.5, "outcome_scored_share": 11 / 12,
        "intake_scored_share": 1.0, "final_scored_share": 0.0})
    assert _same(result["therapists"]["T2"]["completeness"], {
        "alliance_rated_share": 0.4, "outcome_scored_share": 1.0,
        "intake_scored_share": 1.0, "final_scored_share": 1.0})
    table = cp.completeness(hand)
    for _, row in table.iterrows():
        m = (result["practice"] if row["scope"] == "practice"
             else result["therapists"][row["therapist_id"]])
        assert _same(m["completeness"], {s: row[s] for s in cp.SHARES})


def test_therapist_option_gives_the_same_figures(hand: Caseload, result: dict) -> None:
    """A therapist's counts are their own caseload's (no suppression below 5 episodes)."""
    alone = compute_metrics(hand, therapist="T2")["therapists"]["T2"]
    assert alone["outcomes"]["phq9"]["sudden_gains"] == (
        result["therapists"]["T2"]["outcomes"]["phq9"]["sudden_gains"])
    assert alone["completeness"] == result["therapists"]["T2"]["completeness"]


def test_csv_flattens_the_new_keys(result: dict) -> None:
    text = metrics_to_csv(result)
    assert "practice,,outcomes.phq9.sudden_gains.gains,4" in text
    assert "therapist,T1,outcomes.phq9.sudden_losses.magnitude_mean,10.0" in text
    assert "practice,,completeness.final_scored_share,0.5" in text
