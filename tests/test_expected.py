"""Expected treatment response, not on track and its back-test (domain.md §11); completeness (§12).

Percentiles are type 7 (linear interpolation between order statistics, numpy's default):
with the n values sorted, ``h = (n − 1)·q``, value ``v[⌊h⌋] + (h − ⌊h⌋)·(v[⌊h⌋+1] − v[⌊h⌋])``.
They are taken in the direction of improvement: for PHQ-9 (lower is better) on the *gain*
``intake − score``, and reported back as a change ``score − intake``.

Hand export H (PHQ-9; reliable change 6; widths up to ⌊27/4⌋ = 6 points)
-------------------------------------------------------------------------
Reference (ended)::

    A01..A30  intake 15, scores 15, 15 − c, 15 − c with c = (i − 1) // 3  (c = 0..9, three each)
    B1..B5    intake 12, scores 12, 12 + j  (j = 1..5: worse)
    S1        one score only: not in the reference

Gains of the A's at sessions 2 and 3, sorted: 0,0,0,1,1,1,…,9,9,9 (n = 30).  Type 7:
p10 h = 2.9 → 0 + 0.9·(1 − 0) = 0.9; p25 h = 7.25 → 2; p50 h = 14.5 → 4.5; p75 h = 21.75 → 7;
p90 h = 26.1 → 8 + 0.1 = 8.1.  As changes: **−0.9, −2, −4.5, −7, −8.1**.

With the B's (gains −5..−1) before them, n = 35: p10 h = 3.4 → −2 + 0.4 = −1.6; p25 h = 8.5
→ 1; p50 h = 17 → v[17] = 4; p75 h = 25.5 → 6.5; p90 h = 30.6 → 8.  As changes: **1.6, −1,
−4, −6.5, −8**.

Widths (smallest whole w ≥ 1 with ≥ 30 reference episodes holding a k-th score in x ± w):

=====  =======  =====  ===  =======================================
intake session  width  n    why
=====  =======  =====  ===  =======================================
12     2        3      35   ±1, ±2: the 5 B's; ±3 (9–15): + 30 A's
12     3        3      30   only the A's have a 3rd score
13     2        2      35   ±1: 5; ±2 (11–15): 35
13     3        2      30
15     2        1      30   14–16: the 30 A's
15     3        1      30
3      any      —      —    0–9 at ±6 holds nobody: not enough history
=====  =======  =====  ===  =======================================

No row for session 4 (no reference episode has 4 scores).  Open episodes (the 10th
percentile is −0.9 points, a gain of 0.9, at (15, 3), (12, 3) and (13, 3))::

    O1 15, 15, 16              gain −1 < 0.9   not on track ("1 point worse")
    O2 15, [cancelled 27], 14, 14   gain 1   on track (the cancelled score is not a score)
    O3 15, 16                  2 scores        too early
    O4 3, 5, 7                 intake 3        not enough history
    O5 15, 14, 14, 14          session 4       not enough history
    O6 15, 15, 15              gain 0          not on track ("the same as at intake")
    O7 15, 12, 14.5            gain 0.5        not on track ("0.5 points better", 14–16)
    O8 12, 12, 12.5            gain −0.5       not on track, window 9–15 (width 3)
    O9 13, 12, 10              gain 3          on track

Back-test on H: each A, judged at session 3 against the *others*, needs 31 in its window
(itself is one of the 30 A's) and there are no more with a 3rd score: never judged (30 "not
enough history", 0 judged).  Were an A its own reference, it would be judged (n = 30).

Planted export P for the back-test (PHQ-9, 31 ended episodes, all intake 20, 5 scores)
-------------------------------------------------------------------------------------
``P00..P26``: 20, 20, 20 − g, 20 − g, 20 − g with g = i // 2 (0,0,1,1,…,12,12,13);
``Q1, Q2``: 20, 20, 22, 22, 22 (gain −2 throughout); ``Q3, Q4``: 20, 20, 22, 22, 12 (−2, then 8).

Session 3 (and 4) gains: −2 ×4, then 0,0,1,1,…,13.  Judging a Q against the 30 others:
h = 29·0.1 = 2.9 between −2 and 0 → −0.2; −2 < −0.2: **flagged**.  Judging a Q with itself
left in (31 values): h = 3 → v[3] = −2; −2 is not below −2: not flagged.  A P00 (gain 0)
against the others: v[2] = v[3] = −2 → 0 is not below.  Session 5 gains: −2 ×2 (Q1, Q2),
0,0,1,1,…, with Q3, Q4 at 8: a Q1 against the others: [−2, 0, 0, 1, …] → 0.9: flagged;
P00 (0): [−2, −2, 0, 1, …] → 0.9: flagged; P02 (1): [−2, −2, 0, 0, 1, …] → 0: not.
So ever flagged: Q1–Q4 and P00, P01: **6 of 31**.  Reliable improvement (final gain ≥ 6):
P12..P26 (15) and Q3, Q4 = 17; without: 14.  Flagged by session 4 (all have a 5th score,
so the flag precedes the ending): Q1, Q2 among the 14 (**sensitivity 2/14**), Q3, Q4 among
the 17 (**false alarm 2/17**).

Completeness: see :func:`test_completeness_hand_worked`.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections import defaultdict
from fractions import Fraction
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.proportion import proportion_confint

from supervision import cli
from supervision.caseload import Caseload
from supervision.clinical import completeness as comp
from supervision.clinical import expected as ex
from supervision.errors import ConfigError
from supervision.measures import Measure, default_registry
from supervision.schema import ENDED

D0 = dt.date(2023, 1, 2)
REG = default_registry()
PHQ9, ORS = REG["phq9"], REG["ors"]


# ============================================================================ building exports
def frames(specs: list[tuple], measure: str = "phq9") -> tuple[pd.DataFrame, ...]:
    """``(episode_id, therapist_id, termination, sessions)`` → canonical frames.

    A session is a score (attended; None = attended, not scored), ``(attendance, score)``,
    or a dict of columns.  Sessions are a week apart; an ended episode ends on its last.
    """
    srows, erows = [], []
    for n, (eid, tid, term, sessions) in enumerate(specs):
        start = D0 + dt.timedelta(days=n % 50)
        for i, sess in enumerate(sessions):
            row = {"client_id": f"C{eid}", "therapist_id": tid, "episode_id": eid,
                   "session_date": start + dt.timedelta(weeks=i), "attendance": "attended"}
            if isinstance(sess, dict):
                row.update(sess)
            elif isinstance(sess, tuple):
                row["attendance"], row[measure] = sess
            else:
                row[measure] = sess
            srows.append(row)
        end = start + dt.timedelta(weeks=len(sessions) - 1) if term != "ongoing" else None
        erows.append({"episode_id": eid, "client_id": f"C{eid}", "therapist_id": tid,
                      "start_date": start, "end_date": end, "termination": term})
    sessions = pd.DataFrame(srows)
    episodes = pd.DataFrame(erows)
    therapists = pd.DataFrame({"therapist_id": sorted(episodes.therapist_id.unique())})
    return sessions, episodes, therapists


def caseload(fr: tuple[pd.DataFrame, ...]) -> Caseload:
    return Caseload.from_frames(*fr, registry=REG)


def hand_specs() -> list[tuple]:
    """Export H of the module docstring."""
    specs = []
    for i in range(1, 31):
        c = (i - 1) // 3
        specs.append((f"A{i:02d}", "T1" if i % 2 else "T2", "completed", [15, 15 - c, 15 - c]))
    specs += [(f"B{j}", "T2", "dropout", [12, 12 + j]) for j in range(1, 6)]
    specs.append(("S1", "T1", "completed", [20]))
    opens = {
        "O1": [15, 15, 16], "O2": [15, ("cancelled", 27), 14, 14], "O3": [15, 16],
        "O4": [3, 5, 7], "O5": [15, 14, 14, 14], "O6": [15, 15, 15], "O7": [15, 12, 14.5],
        "O8": [12, 12, 12.5], "O9": [13, 12, 10],
    }
    specs += [(eid, "T1" if eid < "O5" else "T2", "ongoing", s) for eid, s in opens.items()]
    return specs


def planted_backtest_specs() -> list[tuple]:
    """Export P of the module docstring."""
    specs = [(f"P{i:02d}", "T1", "completed", [20, 20, 20 - i // 2, 20 - i // 2, 20 - i // 2])
             for i in range(27)]
    specs += [(f"Q{j}", "T2", "dropout", [20, 20, 22, 22, 22]) for j in (1, 2)]
    specs += [(f"Q{j}", "T2", "completed", [20, 20, 22, 22, 12]) for j in (3, 4)]
    return specs


@pytest.fixture(scope="module")
def hand() -> Caseload:
    return caseload(frames(hand_specs()))


# ============================================================================ slow reference
def type7(values: list[Fraction], q: Fraction) -> Fraction:
    """Hyndman & Fan type 7, in exact fractions."""
    v = sorted(values)
    h = (len(v) - 1) * q
    lo = math.floor(h)
    return v[lo] if h == lo else v[lo] + (h - lo) * (v[lo + 1] - v[lo])


def slow_series(sessions: pd.DataFrame, measure: str) -> dict[str, list[Fraction]]:
    """Episode → its scores: attended sessions with a value, by date then row."""
    out: dict[str, list[tuple]] = defaultdict(list)
    for row_no, r in enumerate(sessions.to_dict("records"), start=1):
        v = r.get(measure)
        if r["attendance"] == "attended" and v is not None and not pd.isna(v):
            out[r["episode_id"]].append((r["session_date"], row_no, Fraction(v)))
    return {e: [x[2] for x in sorted(rows)] for e, rows in out.items()}


def slow_split(fr: tuple, measure: str) -> tuple[dict, dict]:
    """(reference: ended with ≥ 2 scores, open: ongoing with ≥ 1 score)."""
    series = slow_series(fr[0], measure)
    term = dict(zip(fr[1].episode_id, fr[1].termination, strict=True))
    ref = {e: s for e, s in series.items() if term[e] != "ongoing" and len(s) >= 2}
    opn = {e: s for e, s in series.items() if term[e] == "ongoing"}
    return ref, opn


def slow_band(ref: dict, x: Fraction, k: int, m: Measure, qs: list[Fraction],
              exclude: str | None = None) -> tuple[int, int, list[Fraction]] | None:
    """(width, n, percentiles as changes) at intake ``x``, session ``k``; None: not enough."""
    sign = 1 if m.better == "higher" else -1
    for w in range(1, max(1, int((m.max - m.min) // 4)) + 1):
        gains = [sign * (s[k - 1] - s[0]) for e, s in ref.items()
                 if e != exclude and len(s) >= k and abs(s[0] - x) <= w]
        if len(gains) >= 30:
            return w, len(gains), [sign * type7(gains, q) for q in qs]
    return None


QS = [Fraction(p, 100) for p in (10, 25, 50, 75, 90)]


def slow_bands(ref: dict, opn: dict, m: Measure) -> dict[tuple, tuple]:
    intakes = {s[0] for s in ref.values()} | {s[0] for s in opn.values()}
    out = {}
    for x in intakes:
        for k in range(2, max(len(s) for s in ref.values()) + 1):
            b = slow_band(ref, x, k, m, QS)
            if b is not None:
                out[(x, k)] = b
    return out


def slow_status(s: list[Fraction], ref: dict, m: Measure, pct: int = 10) -> str:
    if len(s) < 3:
        return "too_early"
    b = slow_band(ref, s[0], len(s), m, [Fraction(pct, 100)])
    if b is None:
        return "not_enough_history"
    sign = 1 if m.better == "higher" else -1
    return "not_on_track" if sign * (s[-1] - s[0]) < sign * b[2][0] else "on_track"


def slow_backtest(ref: dict, m: Measure, *, self_included: bool = False) -> dict[str, int]:
    """Counts of the back-test; each episode judged against the others (unless told not to)."""
    sign = 1 if m.better == "higher" else -1
    c: dict[str, int] = defaultdict(int)
    for e, s in ref.items():
        flags = {}
        for k in range(3, len(s) + 1):
            b = slow_band(ref, s[0], k, m, [Fraction(1, 10)],
                          exclude=None if self_included else e)
            if b is not None:
                flags[k] = sign * (s[k - 1] - s[0]) < sign * b[2][0]
        judged_by = any(k <= 4 for k in flags)
        flagged_by = any(f for k, f in flags.items() if k <= 4)
        improved = sign * (s[-1] - s[0]) >= m.reliable_change
        c["judged"] += bool(flags)
        c["ever"] += any(flags.values())
        c["too_little"] += not flags and len(s) >= 3
        if judged_by and len(s) > 4:
            c["better_n" if improved else "worse_n"] += 1
            c["better_k" if improved else "worse_k"] += flagged_by
    c["reference"] = len(ref)
    return dict(c)


def fast_counts(bt: dict) -> dict[str, int]:
    return {"reference": bt["reference_episodes"], "too_little": bt["not_enough_history"],
            "judged": bt["ever_flagged"]["n"], "ever": bt["ever_flagged"]["flagged"],
            "worse_n": bt["sensitivity"]["n"], "worse_k": bt["sensitivity"]["flagged"],
            "better_n": bt["false_alarm"]["n"], "better_k": bt["false_alarm"]["flagged"]}


def test_type7_is_numpys_default_percentile() -> None:
    rng = np.random.default_rng(3)
    for n in (1, 2, 7, 30, 31, 35):
        v = rng.integers(-10, 10, n).tolist()
        for p in (10, 25, 50, 75, 90):
            assert float(type7([Fraction(x) for x in v], Fraction(p, 100))) == pytest.approx(
                np.percentile(v, p), abs=1e-12)


# ============================================================================ hand export H
HAND_A = [-0.9, -2.0, -4.5, -7.0, -8.1]
HAND_AB = [1.6, -1.0, -4.0, -6.5, -8.0]
HAND_BANDS = [  # intake, session, p10..p90, n, width (module docstring)
    (12.0, 2, *HAND_AB, 35, 3), (12.0, 3, *HAND_A, 30, 3),
    (13.0, 2, *HAND_AB, 35, 2), (13.0, 3, *HAND_A, 30, 2),
    (15.0, 2, *HAND_A, 30, 1), (15.0, 3, *HAND_A, 30, 1),
]


def test_bands_hand_worked(hand: Caseload) -> None:
    got = ex.expected_bands(hand, measure="phq9")
    assert list(got.columns) == list(ex.BAND_COLUMNS)
    want = pd.DataFrame(HAND_BANDS, columns=list(ex.BAND_COLUMNS))
    pd.testing.assert_frame_equal(got, want, check_dtype=False, atol=1e-9)


def test_bands_hand_equal_slow_reference() -> None:
    fr = frames(hand_specs())
    ref, opn = slow_split(fr, "phq9")
    slow = slow_bands(ref, opn, PHQ9)
    assert {(float(x), k): (b[0], b[1], [float(p) for p in b[2]]) for (x, k), b in slow.items()} \
        == {(r[0], r[1]): (r[8], r[7], list(r[2:7])) for r in HAND_BANDS}


def test_open_episodes_hand_worked(hand: Caseload) -> None:
    t = ex.episode_expected(hand, measure="phq9").execute().set_index("episode_id")
    assert list(t.reset_index().columns) == list(ex.EPISODE_COLUMNS)
    assert t.status.to_dict() == {
        "O1": "not_on_track", "O2": "on_track", "O3": "too_early", "O4": "not_enough_history",
        "O5": "not_enough_history", "O6": "not_on_track", "O7": "not_on_track",
        "O8": "not_on_track", "O9": "on_track",
    }
    o2 = t.loc["O2"]
    assert (o2.latest_session, o2.latest_score, o2.latest_change) == (3, 14.0, -1.0)
    assert (o2.width, o2.n) == (1, 30)
    assert [o2.p10_at_latest, o2.threshold_at_latest, o2.p50_at_latest] == pytest.approx(
        [-0.9, -0.9, -4.5])
    assert t.loc["O8", "width"] == 3 and pd.isna(t.loc["O4", "n"])
    assert t.not_on_track.to_dict() == {e: s == "not_on_track" for e, s in t.status.items()}
    assert t.loc["O1", "reason"] == ("PHQ-9 is 1 point worse than at intake; 9 in 10 clients "
                                     "who started at 14–16 were better by session 3")
    assert t.loc["O6", "reason"] == ("PHQ-9 is the same as at intake; 9 in 10 clients who "
                                     "started at 14–16 were better by session 3")
    assert t.loc["O7", "reason"] == ("PHQ-9 is 0.5 points better than at intake; 9 in 10 "
                                     "clients who started at 14–16 had improved more by "
                                     "session 3")
    assert t.loc["O8", "reason"] == ("PHQ-9 is 0.5 points worse than at intake; 9 in 10 "
                                     "clients who started at 9–15 were better by session 3")
    assert t.reason[~t.not_on_track].isna().all()


def test_not_on_track_lists_only_flagged(hand: Caseload) -> None:
    df = ex.not_on_track(hand, measure="phq9")
    assert df[["therapist_id", "episode_id"]].values.tolist() == [
        ["T1", "O1"], ["T2", "O6"], ["T2", "O7"], ["T2", "O8"]]


def test_threshold_percentile_is_configurable(hand: Caseload) -> None:
    """At the 25th percentile (gain 2 at (15, 3)), O2's gain of 1 is below too, and O9's 3
    is not (its (13, 3) band is the A's); the reason says 3 in 4."""
    t = ex.episode_expected(hand, measure="phq9", threshold_percentile=25).execute()
    t = t.set_index("episode_id")
    assert t.loc["O2", "status"] == "not_on_track" and t.loc["O9", "status"] == "on_track"
    assert t.loc["O2", ["threshold_at_latest", "p10_at_latest"]].tolist() == pytest.approx(
        [-2.0, -0.9])
    assert "3 in 4 clients who started at 14–16" in t.loc["O2", "reason"]
    with pytest.raises(ConfigError, match="between 0 and 100"):
        ex.episode_expected(hand, measure="phq9", threshold_percentile=0)


def test_backtest_hand_never_judges_an_episode_against_itself(hand: Caseload) -> None:
    bt = ex.backtest(hand, measure="phq9")
    assert bt["reference_episodes"] == 35 and bt["not_enough_history"] == 30
    assert bt["ever_flagged"] == {"flagged": 0, "n": 0, "rate": None, "ci": None}
    # the A's would be judged were each its own reference (n = 30 with itself)
    ref, _ = slow_split(frames(hand_specs()), "phq9")
    assert slow_band(ref, Fraction(15), 3, PHQ9, QS, exclude="A01") is None
    assert slow_band(ref, Fraction(15), 3, PHQ9, QS)[1] == 30
    assert slow_backtest(ref, PHQ9, self_included=True)["judged"] == 30
    assert fast_counts(bt) == {**dict.fromkeys(fast_counts(bt), 0),
                               **slow_backtest(ref, PHQ9)} | {"reference": 35}


def tie_specs(zeros: int, ones: int) -> list[tuple]:
    """Ended episodes, intake 10, scores 10, 10, 10 − g with ``zeros`` gains 0, ``ones`` 1."""
    return [(f"G{i:03d}", "T1", "completed", [10, 10, 10 - (i >= zeros)])
            for i in range(zeros + ones)]


def test_a_change_equal_to_the_percentile_is_not_below_it() -> None:
    """The 7th percentile of 8 zeros and 93 ones: h = 100 · 0.07, exactly 7 → v[7] = 0, but
    in floating point 7.000000000000001 and DuckDB gives 8.9e-16.  An open episode with gain
    0 is not below it: on track.  Back-test with 9 zeros and 93 ones: a zero judged against
    the other 101 (8 zeros) is the same case; no flag."""
    fr = frames([*tie_specs(8, 93), ("O", "T1", "ongoing", [10, 10, 10])])
    t = ex.episode_expected(caseload(fr), measure="phq9", threshold_percentile=7).execute()
    assert t.status.tolist() == ["on_track"]
    ref, opn = slow_split(fr, "phq9")
    assert slow_status(opn["O"], ref, PHQ9, pct=7) == "on_track"
    bt = ex.backtest(caseload(frames(tie_specs(9, 93))), measure="phq9", threshold_percentile=7)
    assert bt["ever_flagged"] == {"flagged": 0, "n": 102, "rate": 0.0,
                                  "ci": pytest.approx(list(proportion_confint(0, 102,
                                                                              method="wilson")))}


def test_unknown_and_alliance_measure(hand: Caseload) -> None:
    with pytest.raises(ConfigError, match="unknown measure 'xyz'"):
        ex.expected_bands(hand, measure="xyz")
    with pytest.raises(ConfigError, match="alliance measure"):
        ex.backtest(hand, measure="srs")


# ============================================================================ planted back-test P
def test_backtest_planted_leave_one_out() -> None:
    fr = frames(planted_backtest_specs())
    bt = ex.backtest(caseload(fr), measure="phq9")
    assert bt["reference_episodes"] == 31 and bt["not_enough_history"] == 0
    assert {k: bt[k]["flagged"] for k in ("ever_flagged", "sensitivity", "false_alarm")} == {
        "ever_flagged": 6, "sensitivity": 2, "false_alarm": 2}
    assert (bt["ever_flagged"]["n"], bt["sensitivity"]["n"], bt["false_alarm"]["n"]) == (31, 14,
                                                                                          17)
    for key, (k, n) in {"ever_flagged": (6, 31), "sensitivity": (2, 14),
                        "false_alarm": (2, 17)}.items():
        assert bt[key]["rate"] == pytest.approx(k / n)
        assert bt[key]["ci"] == pytest.approx(list(proportion_confint(k, n, method="wilson")))
    ref, _ = slow_split(fr, "phq9")
    assert fast_counts(bt) == slow_backtest(ref, PHQ9)
    # with itself left in, the Q's gain of −2 equals the 10th percentile: no flag at all by 4
    with_self = slow_backtest(ref, PHQ9, self_included=True)
    assert with_self["worse_k"] == 0 and with_self["better_k"] == 0


def test_episode_backtest_columns() -> None:
    t = ex.episode_backtest(caseload(frames(planted_backtest_specs())), measure="phq9")
    df = t.execute().set_index("episode_id")
    assert df.loc["Q1", "first_flag_session"] == 3 and df.loc["P00", "first_flag_session"] == 5
    assert pd.isna(df.loc["P02", "first_flag_session"])
    assert df.loc["Q3"].reliable_improvement and not df.loc["Q1"].reliable_improvement
    assert df.loc["Q3", "final_change"] == -8.0
    assert df.flagged_by.sum() == 4 and df.ever_flagged.sum() == 6


# ============================================================================ random planted R
def random_specs(seed: int = 14) -> tuple[list[tuple], list[str], list[str]]:
    """240 ended PHQ-9/ORS episodes improving at random rates, 15 open episodes getting worse
    from intake (off track), 15 improving by a point a session (typical), and two at the
    edges of the range.  Some scores are halves; some sessions cancelled or unscored."""
    rng = np.random.default_rng(seed)
    specs, off, typical = [], [], []

    def session(phq: float, ors: float, k: int) -> dict:
        att = "cancelled" if k > 0 and rng.random() < 0.05 else "attended"
        missing = k > 0 and rng.random() < 0.05
        return {"attendance": att, "phq9": None if missing else phq, "ors": ors}

    for i in range(240):
        x, y, n = int(rng.integers(9, 23)), int(rng.integers(10, 30)), int(rng.integers(2, 9))
        d, step = rng.uniform(0.2, 1.6), 0.5 if i % 5 == 0 else 1.0
        sess = []
        for k in range(n):
            p = x if k == 0 else np.clip(np.round((x - d * k + rng.normal(0, 1.5)) / step) * step,
                                         0, 27)
            o = y if k == 0 else np.clip(np.round(y + d * k + rng.normal(0, 2)), 0, 40)
            sess.append(session(float(p), float(o), k))
        specs.append((f"R{i:03d}", f"T{i % 4}", str(rng.choice(ENDED)), sess))
    for i in range(15):
        x, n = int(rng.integers(12, 20)), int(rng.integers(4, 7))
        sess = [{"phq9": float(x if k == 0 else min(27, x + 2 + k)), "ors": 20.0 - k}
                for k in range(n)]
        specs.append((f"X{i:02d}", f"T{i % 4}", "ongoing", sess))
        off.append(f"X{i:02d}")
        sess = [{"phq9": float(x - k), "ors": 15.0 + 2 * k} for k in range(n)]
        specs.append((f"Y{i:02d}", f"T{i % 4}", "ongoing", sess))
        typical.append(f"Y{i:02d}")
    specs.append(("Z0", "T0", "ongoing", [{"phq9": v} for v in (0.0, 1.0, 2.0)]))
    specs.append(("Z1", "T1", "ongoing", [{"phq9": v} for v in (27.0, 26.0, 25.0)]))
    return specs, off, typical


@pytest.fixture(scope="module")
def planted() -> tuple[tuple, Caseload, list[str], list[str]]:
    specs, off, typical = random_specs()
    fr = frames(specs)
    return fr, caseload(fr), off, typical


@pytest.mark.parametrize("measure", ["phq9", "ors"])
def test_random_bands_equal_slow_reference(planted, measure: str) -> None:
    fr, cl, _, _ = planted
    m = REG[measure]
    ref, opn = slow_split(fr, measure)
    slow = slow_bands(ref, opn, m)
    got = ex.expected_bands(cl, measure=measure)
    assert {(float(x), k) for x, k in slow} == set(zip(got.intake, got.session, strict=True))
    assert got["width"].max() > 1  # the widening is exercised
    for r in got.itertuples():
        w, n, ps = slow[(Fraction(r.intake), r.session)]
        assert (r.width, r.n) == (w, n)
        assert [r.p10, r.p25, r.p50, r.p75, r.p90] == pytest.approx([float(p) for p in ps],
                                                                    abs=1e-9)


@pytest.mark.parametrize("measure", ["phq9", "ors"])
def test_random_open_episodes_equal_slow_reference(planted, measure: str) -> None:
    fr, cl, _, _ = planted
    ref, opn = slow_split(fr, measure)
    got = ex.episode_expected(cl, measure=measure).execute().set_index("episode_id")
    assert got.status.to_dict() == {e: slow_status(s, ref, REG[measure]) for e, s in opn.items()}


def test_planted_off_track_flagged_typical_not(planted) -> None:
    _, cl, off, typical = planted
    t = ex.episode_expected(cl, measure="phq9").execute().set_index("episode_id")
    assert (t.loc[off, "status"] == "not_on_track").all()
    assert (t.loc[typical, "status"] == "on_track").all()
    assert t.loc["Z0", "status"] == "not_enough_history"  # 0–6 holds no reference intake
    flagged = set(ex.not_on_track(cl, measure="phq9").episode_id)
    assert set(off) <= flagged and not set(typical) & flagged


@pytest.mark.parametrize("measure", ["phq9", "ors"])
def test_random_backtest_equals_slow_reference(planted, measure: str) -> None:
    fr, cl, _, _ = planted
    ref, _ = slow_split(fr, measure)
    bt = ex.backtest(cl, measure=measure)
    slow = {**dict.fromkeys(fast_counts(bt), 0), **slow_backtest(ref, REG[measure])}
    assert fast_counts(bt) == slow
    assert bt["ever_flagged"]["n"] > 100 and bt["sensitivity"]["n"] > 20


def truncated(fr: tuple, until: dt.date) -> tuple:
    """The export as it stood on ``until``, by hand: later sessions and episodes gone, a later
    ending not yet happened."""
    s, e, t = fr
    e = e[e.start_date <= until].copy()
    later = e.end_date.notna() & (e.end_date > until)
    e.loc[later, "termination"], e.loc[later, "end_date"] = "ongoing", None
    s = s[(s.session_date <= until) & s.episode_id.isin(e.episode_id)]
    return s.reset_index(drop=True), e.reset_index(drop=True), t


def test_as_of_and_scope_keep_the_practice_reference(planted) -> None:
    fr, cl, _, _ = planted
    until = D0 + dt.timedelta(weeks=5)
    ref, opn = slow_split(truncated(fr, until), "phq9")
    got = ex.episode_expected(cl, measure="phq9", as_of=until).execute()
    assert dict(zip(got.episode_id, got.status, strict=True)) == {
        e: slow_status(s, ref, PHQ9) for e, s in opn.items()}
    bands = ex.expected_bands(cl, measure="phq9", as_of=until)
    assert len(bands) == len(slow_bands(ref, opn, PHQ9))
    bt = ex.backtest(cl, measure="phq9", as_of=until)
    assert fast_counts(bt) == {**dict.fromkeys(fast_counts(bt), 0), **slow_backtest(ref, PHQ9)}
    # a therapist's caseload is judged against the whole practice's history
    whole = ex.episode_expected(cl, measure="phq9").execute()
    own = ex.episode_expected(cl.scoped(therapist_id="T1"), measure="phq9").execute()
    key = ["episode_id", "status", "width", "n", "threshold_at_latest"]
    pd.testing.assert_frame_equal(
        own[key].sort_values("episode_id").reset_index(drop=True),
        whole.loc[whole.therapist_id == "T1", key].sort_values("episode_id")
        .reset_index(drop=True), check_dtype=False)


# ============================================================================ completeness
def completeness_frames() -> tuple[pd.DataFrame, ...]:
    """The export of :func:`test_completeness_hand_worked`."""
    s, e, _ = frames([
        ("E1", "T1", "completed", [{"srs": 38.0, "phq9": 12.0},
                                   {"attendance": "cancelled", "srs": 30.0},
                                   {"phq9": 10.0}, {"srs": 39.0}]),
        ("E2", "T1", "ongoing", [{}, {"srs": 35.0, "gad7": 9.0}, {"attendance": "no_show"}]),
        ("E3", "T2", "dropout", [{"wai_sr": 40.0, "phq9": 15.0}, {"attendance": "no_show"}]),
        ("E4", "T2", "dropout", [{"attendance": "cancelled"}]),
    ])
    return s, e, pd.DataFrame({"therapist_id": ["T1", "T2", "T3"]})


def test_completeness_hand_worked() -> None:
    """T1: attended E1 s1, s3, s4 and E2 s1, s2 = 5; alliance-rated E1 s1 (38), s4 (39),
    E2 s2 (35) = 3 → 0.6 (the cancelled SRS 30 is not an attended session); outcome-scored
    E1 s1, s3 and E2 s2 (GAD-7) = 3 → 0.6; intake: E1 yes, E2 no → 1/2; ended E1, whose last
    attended session (s4) has no outcome score → 0/1.
    T2: E3's one attended session is rated (WAI-SR) and scored → 1/1 each; E4 ended with no
    attended session and counts nowhere; E3's last attended session is s1 → 1/1.
    T3: no sessions → zeros and no shares.  Practice: 4/6, 4/6, 2/3, 1/2."""
    df = comp.completeness(caseload(completeness_frames()))
    cols = ["sessions_attended", "alliance_rated", "outcome_scored", "episodes_started",
            "intake_scored", "episodes_ended", "final_scored"]
    assert df.scope.tolist() == ["therapist"] * 3 + ["practice"]
    assert df.therapist_id.tolist()[:3] == ["T1", "T2", "T3"]
    assert df[cols].values.tolist() == [[5, 3, 3, 2, 1, 1, 0], [1, 1, 1, 1, 1, 1, 1],
                                        [0] * 7, [6, 4, 4, 3, 2, 2, 1]]
    shares = df[list(comp.SHARES)].values.tolist()
    assert shares[0] == [0.6, 0.6, 0.5, 0.0] and shares[1] == [1.0] * 4
    assert all(math.isnan(v) for v in shares[2])
    assert shares[3] == pytest.approx([4 / 6, 4 / 6, 2 / 3, 1 / 2])
    rows = df.to_dict("records")
    assert comp.below_floor(rows[0]) == list(comp.SHARES)
    assert comp.below_floor(rows[1]) == [] and comp.below_floor(rows[2]) == []
    assert comp.below_floor(rows[3]) == list(comp.SHARES)
    assert comp.below_floor(rows[3], floor=0.6) == ["final_scored_share"]


# ============================================================================ command line
def write_export(folder: Path, fr: tuple) -> Path:
    folder.mkdir()
    s, e, t = fr
    s.to_csv(folder / "sessions.csv", index=False)
    e.to_csv(folder / "episodes.csv", index=False)
    t.to_csv(folder / "therapists.csv", index=False)
    return folder


@pytest.fixture
def hand_export(tmp_path: Path) -> Path:
    return write_export(tmp_path / "export", frames(hand_specs()))


def test_cli_json(hand_export: Path, capsys) -> None:
    assert cli.main(["expected", str(hand_export), "--measure", "phq9"]) == 0
    out, err = capsys.readouterr()
    data = json.loads(out)
    assert set(data) == {"measure", "bands", "backtest"} and data["measure"] == "phq9"
    assert [tuple(b.values()) for b in data["bands"]] == [pytest.approx(b) for b in HAND_BANDS]
    assert list(data["bands"][0]) == list(ex.BAND_COLUMNS)
    assert data["backtest"]["reference_episodes"] == 35
    assert data["backtest"]["ever_flagged"] == {"flagged": 0, "n": 0, "rate": None, "ci": None}
    assert "Traceback" not in err


def test_cli_csv_and_default_measure(tmp_path: Path, capsys) -> None:
    folder = write_export(tmp_path / "p", frames(planted_backtest_specs()))
    assert cli.main(["expected", str(folder), "--format", "csv"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "measure,section,intake,session,key,value"
    assert "phq9,bands,20.0,2,p10,0.0" in lines and "phq9,bands,20.0,5,n,31" in lines
    assert "phq9,backtest,,,sensitivity.flagged,2" in lines
    assert "phq9,backtest,,,false_alarm.n,17" in lines
    cells = {line.rsplit(",", 2)[1]: line.rsplit(",", 1)[1] for line in lines
             if line.startswith("phq9,backtest,,,")}
    low, high = proportion_confint(6, 31, method="wilson")
    assert float(cells["ever_flagged.ci.low"]) == pytest.approx(low)
    assert float(cells["ever_flagged.ci.high"]) == pytest.approx(high)


def test_cli_errors(hand_export: Path, capsys) -> None:
    assert cli.main(["expected", str(hand_export), "--measure", "xyz"]) == 1
    err = capsys.readouterr().err
    assert "supervision expected: unknown measure 'xyz'; the registry has outcome measures:" in err
    assert cli.main(["expected", str(hand_export), "--measure", "srs"]) == 1
    assert "'srs' is an alliance measure, not an outcome measure" in capsys.readouterr().err
    assert cli.main(["expected", str(hand_export), "--measure", "gad7"]) == 1
    assert "the export has no gad7 scores; outcome measures with scores: phq9" in (
        capsys.readouterr().err)
    assert cli.main(["expected", str(hand_export.parent / "missing")]) == 1
    err = capsys.readouterr().err
    assert "no such file or folder" in err and "Traceback" not in err


# ============================================================================ PostgreSQL
def test_same_figures_on_postgresql(pg_database: str) -> None:
    """The same Ibis code on PostgreSQL (``percentile_cont``) gives the same bands, statuses,
    reasons and back-test as on DuckDB (``quantile_cont``)."""
    from supervision.warehouse import connect_caseload, load_into

    specs, _, _ = random_specs()
    duck = caseload(frames(specs + hand_specs()))
    load_into(duck, pg_database)
    pg = connect_caseload(pg_database, registry=REG)
    for measure in ("phq9", "ors"):
        pd.testing.assert_frame_equal(ex.expected_bands(pg, measure=measure),
                                      ex.expected_bands(duck, measure=measure),
                                      check_dtype=False, atol=1e-9)
        assert ex.backtest(pg, measure=measure) == ex.backtest(duck, measure=measure)
        a, b = (ex.episode_expected(c, measure=measure).execute().sort_values("episode_id")
                .reset_index(drop=True).astype({"n": "float64", "width": "float64"})
                for c in (pg, duck))  # a NULL count is None on PostgreSQL, NaN on DuckDB
        pd.testing.assert_frame_equal(a, b, check_dtype=False, atol=1e-9)
    assert comp.completeness(pg).equals(comp.completeness(duck))
