"""Alliance figures (domain.md §3) on a hand-built export, and against the slow reference.

The hand-built export (every figure worked out below)
-----------------------------------------------------
Therapist T1 (team North): episodes A (ongoing) and B (completed); T2 (South): C and D.

Episode A (sessions in order; source_row in brackets)::

    2024-01-01 [1] attended   srs 30  wai_sr 40 (goal 14, task 13, bond 13)
    2024-01-08 [2] cancelled  srs 10           -> not rated (not attended)
    2024-01-15 [3] attended   srs 34
    2024-01-22 [4] no_show                     -> not rated
    2024-01-29 [11] attended  srs 38  wai_sr 44 (goal 15, task 14, bond 15)
    2024-01-29 [12] attended  srs 40           (same date: source_row 11 comes first,
                                                although row 12 is earlier in the frame)

  SRS rated 30, 34, 38, 40 (x = 1..4): early_mean = (30+34+38)/3 = 34;
  Σx = 10, Σy = 142, Σxy = 30+68+114+160 = 372, Σx² = 30,
  slope = (4·372 − 10·142) / (4·30 − 10²) = 68/20 = 3.4;
  low (< 36): 30, 34 -> 2; last 40, not low.
  WAI-SR rated 40, 44: early_mean 42, slope NULL (2 < 3), low NULL (no threshold).

Episode B: 2024-05-06 srs 36; 2024-05-13 srs 35.  early_mean 35.5, slope NULL (fewer than
  3 rated), low 1, last 35 -> last_low True.

Episode C: 2024-03-04 srs 39 wai 50 (g16 t17 b17); 03-11 srs 37 wai 48 (g16 t16 b16);
  03-18 srs 38 wai 52 (g18 t17 b17); 04-01 srs 20; 04-08 srs 36.
  SRS: early_mean (39+37+38)/3 = 38; Σx = 15, Σy = 170, Σxy = 39+74+114+80+180 = 487,
  Σx² = 55, slope = (5·487 − 15·170)/(5·55 − 225) = −115/50 = −2.3; low 1 (20; 36 is not
  below 36); last 36, not low.
  WAI: early_mean 50; Σx = 6, Σy = 150, Σxy = 50+96+156 = 302, Σx² = 14,
  slope = (3·302 − 6·150)/(3·14 − 36) = 6/6 = 1.0.

Episode D: one cancelled session with srs 25: no rated session, so not in the figures.

SRS summary: episodes 3, rated 4+2+5 = 11; early_mean = (34 + 35.5 + 38)/3 = 35.8333;
  SD over episodes: deviations −11/6, −2/6, 13/6 -> Σ² = (121+4+169)/36 = 294/36, var =
  147/36 = 49/12, so sd/√3 = √(49/36) = 7/6 and the t-interval is 35.8333 ± t(.975, 2)·7/6,
  t(.975, 2) = 4.302652729911275 (any t table: 4.303).
  mean_slope = (3.4 − 2.3)/2 = 0.55 over 2 episodes; low_share = (2+1+1)/11 = 4/11.
By therapist: T1: episodes 2, rated 6, early (34+35.5)/2 = 34.75, slope 3.4 (1 episode),
  low_share 3/6; T2: episodes 1, rated 5, early 38 (no interval: one episode), slope −2.3,
  low_share 1/5.
WAI-SR summary: episodes 2, rated 5, early (42+50)/2 = 46, mean_slope 1.0 (1 episode),
  low_share NaN (WAI-SR has no concern threshold).
"""

from __future__ import annotations

import datetime as dt
import math

import pandas as pd
import pytest
import reference as ref
from hypothesis import HealthCheck, given, settings
from strategies import caseload_frames

from supervision.caseload import Caseload
from supervision.clinical import alliance
from supervision.errors import ConfigError
from supervision.measures import default_registry

T_975_2 = 4.302652729911275
N = None


def _s(ep: str, t: str, date: str, row: int, att: str = "attended", srs: float | None = N,
       wai: float | None = N, sub: tuple[float, float, float] | None = None) -> dict:
    g, k, b = sub or (N, N, N)
    return {"source_row": row, "client_id": "c" + ep, "therapist_id": t, "episode_id": ep,
            "session_date": date, "attendance": att, "srs": srs, "wai_sr": wai,
            "wai_goal": g, "wai_task": k, "wai_bond": b}


def hand_frames() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The export of the module docstring."""
    rows = [
        _s("A", "T1", "2024-01-01", 1, srs=30, wai=40, sub=(14, 13, 13)),
        _s("A", "T1", "2024-01-08", 2, "cancelled", srs=10),
        _s("A", "T1", "2024-01-15", 3, srs=34),
        _s("A", "T1", "2024-01-22", 4, "no_show"),
        _s("A", "T1", "2024-01-29", 12, srs=40),
        _s("A", "T1", "2024-01-29", 11, srs=38, wai=44, sub=(15, 14, 15)),
        _s("B", "T1", "2024-05-06", 5, srs=36),
        _s("B", "T1", "2024-05-13", 6, srs=35),
        _s("C", "T2", "2024-03-04", 7, srs=39, wai=50, sub=(16, 17, 17)),
        _s("C", "T2", "2024-03-11", 8, srs=37, wai=48, sub=(16, 16, 16)),
        _s("C", "T2", "2024-03-18", 9, srs=38, wai=52, sub=(18, 17, 17)),
        _s("C", "T2", "2024-04-01", 10, srs=20),
        _s("C", "T2", "2024-04-08", 13, srs=36),
        _s("D", "T2", "2024-04-08", 14, "cancelled", srs=25),
    ]
    episodes = pd.DataFrame({
        "episode_id": ["A", "B", "C", "D"], "client_id": ["cA", "cB", "cC", "cD"],
        "therapist_id": ["T1", "T1", "T2", "T2"],
        "start_date": ["2024-01-01", "2024-05-06", "2024-03-04", "2024-04-08"],
        "end_date": [N, "2024-05-13", N, N],
        "termination": ["ongoing", "completed", "ongoing", "ongoing"],
    })
    therapists = pd.DataFrame({"therapist_id": ["T1", "T2"], "team": ["North", "South"]})
    return pd.DataFrame(rows), episodes, therapists


@pytest.fixture(scope="module")
def hand() -> Caseload:
    return Caseload.from_frames(*hand_frames())


def test_rated_sessions_skip_unattended_and_order_by_date_then_source_row(hand: Caseload) -> None:
    """A: cancelled srs 10 and the no-show are not rated; row 11 (38) precedes row 12 (40)."""
    r = alliance.episode_series(hand, "srs")
    a = r[r["episode_id"] == "A"]
    assert a["value"].tolist() == [30, 34, 38, 40]
    assert a["rated_index"].tolist() == [1, 2, 3, 4]
    assert pd.Timestamp(a["session_date"].iloc[0]).date() == dt.date(2024, 1, 1)
    assert "D" not in set(r["episode_id"])


def test_episode_alliance_by_hand(hand: Caseload) -> None:
    """Figures of the module docstring, per episode (SRS and WAI-SR)."""
    srs = alliance.episode_alliance(hand, "srs").execute().set_index("episode_id").sort_index()
    assert srs.index.tolist() == ["A", "B", "C"]
    assert srs["rated_sessions"].tolist() == [4, 2, 5]
    assert srs["early_mean"].tolist() == pytest.approx([34.0, 35.5, 38.0])
    assert srs.loc["A", "slope"] == pytest.approx(3.4)
    assert pd.isna(srs.loc["B", "slope"])  # fewer than three rated sessions
    assert srs.loc["C", "slope"] == pytest.approx(-2.3)
    assert srs["low_sessions"].tolist() == [2, 1, 1]
    assert srs["last_value"].tolist() == [40.0, 35.0, 36.0]
    assert srs["last_low"].tolist() == [False, True, False]
    wai = alliance.episode_alliance(hand, "wai_sr").execute().set_index("episode_id").sort_index()
    assert wai.index.tolist() == ["A", "C"]
    assert wai["early_mean"].tolist() == pytest.approx([42.0, 50.0])
    assert pd.isna(wai.loc["A", "slope"])
    assert wai.loc["C", "slope"] == pytest.approx(1.0)
    assert wai["low_sessions"].isna().all() and wai["last_low"].isna().all()


def test_alliance_summary_by_hand(hand: Caseload) -> None:
    """Caseload SRS summary with its t-interval (module docstring)."""
    row = alliance.alliance_summary(hand, "srs").iloc[0]
    assert row["episodes"] == 3 and row["rated_sessions"] == 11
    assert row["early_mean"] == pytest.approx(107.5 / 3)
    assert row["early_mean_low"] == pytest.approx(107.5 / 3 - T_975_2 * 7 / 6)
    assert row["early_mean_high"] == pytest.approx(107.5 / 3 + T_975_2 * 7 / 6)
    assert row["mean_slope"] == pytest.approx(0.55)
    assert row["slope_episodes"] == 2
    assert row["low_share"] == pytest.approx(4 / 11)
    wai = alliance.alliance_summary(hand, "wai_sr").iloc[0]
    assert (wai["episodes"], wai["rated_sessions"], wai["slope_episodes"]) == (2, 5, 1)
    assert wai["early_mean"] == pytest.approx(46.0)
    assert wai["mean_slope"] == pytest.approx(1.0)
    assert math.isnan(wai["low_share"])


@pytest.mark.parametrize(("by", "keys"), [("therapist_id", ["T1", "T2"]),
                                          ("team", ["North", "South"])])
def test_alliance_summary_by_group(hand: Caseload, by: str, keys: list[str]) -> None:
    """T1 = North: 2 episodes, 6 rated, early 34.75, slope 3.4, low 3/6; T2 = South: 1, 5,
    38 (no interval with one episode), −2.3, 1/5."""
    df = alliance.alliance_summary(hand, "srs", by=by)
    assert df[by].tolist() == keys
    assert df["episodes"].tolist() == [2, 1]
    assert df["rated_sessions"].tolist() == [6, 5]
    assert df["early_mean"].tolist() == pytest.approx([34.75, 38.0])
    assert df["mean_slope"].tolist() == pytest.approx([3.4, -2.3])
    assert df["low_share"].tolist() == pytest.approx([0.5, 0.2])
    assert math.isnan(df["early_mean_low"].iloc[1])


def test_empty_caseload_gives_one_row_of_zeros(hand: Caseload) -> None:
    row = alliance.alliance_summary(hand.scoped(therapist_id="nobody"), "srs").iloc[0]
    assert row["episodes"] == 0 and row["rated_sessions"] == 0
    assert math.isnan(row["early_mean"]) and math.isnan(row["low_share"])


def test_alliance_by_session_by_hand(hand: Caseload) -> None:
    """Index 1: A30 B36 C39 -> n 3, mean 35, sd √21; 2: 34 35 37 -> 35.333; 3: 38 38 -> sd 0;
    4: 40 20 -> mean 30, sd √200; 5: C36 alone (cut by max_session=4)."""
    df = alliance.alliance_by_session(hand, "srs", max_session=4)
    assert df["rated_index"].tolist() == [1, 2, 3, 4]
    assert df["n"].tolist() == [3, 3, 2, 2]
    assert df["mean"].tolist() == pytest.approx([35.0, 106 / 3, 38.0, 30.0])
    assert df["sd"].iloc[0] == pytest.approx(math.sqrt(21))
    assert df["sd"].iloc[3] == pytest.approx(math.sqrt(200))
    t_975_1 = 12.706204736174704
    assert df["high"].iloc[3] == pytest.approx(30 + t_975_1 * math.sqrt(200) / math.sqrt(2))
    one = alliance.alliance_by_session(hand, "srs")
    assert one["n"].iloc[-1] == 1 and math.isnan(one["low"].iloc[-1])


def test_alliance_by_quarter_by_hand(hand: Caseload) -> None:
    """2024Q1: A 30 34 38 40 and C 39 37 38 -> n 7, mean 256/7.  2024Q2: C 20 36, B 36 35 ->
    n 4, mean 31.75, deviations −11.75, 4.25, 4.25, 3.25 -> sd √(184.75/3)."""
    df = alliance.alliance_by_quarter(hand, "srs")
    assert df["quarter"].tolist() == ["2024Q1", "2024Q2"]
    assert df["n"].tolist() == [7, 4]
    assert df["mean"].tolist() == pytest.approx([256 / 7, 31.75])
    assert df["sd"].iloc[1] == pytest.approx(math.sqrt(184.75 / 3))


def test_subscales_by_session_by_hand(hand: Caseload) -> None:
    """Goal: index 1 A14 C16 -> 15; index 2 A15 C16 -> 15.5; index 3 C18 alone."""
    df = alliance.subscales_by_session(hand, "wai_sr")
    assert df["subscale"].unique().tolist() == ["wai_goal", "wai_task", "wai_bond"]
    goal = df[df["subscale"] == "wai_goal"]
    assert goal["rated_index"].tolist() == [1, 2, 3]
    assert goal["n"].tolist() == [2, 2, 1]
    assert goal["mean"].tolist() == pytest.approx([15.0, 15.5, 18.0])


def test_outcome_or_unknown_measure_is_a_config_error(hand: Caseload) -> None:
    with pytest.raises(ConfigError, match="outcome measure"):
        alliance.episode_alliance(hand, "phq9")
    with pytest.raises(ConfigError, match="unknown measure"):
        alliance.alliance_summary(hand, "hamd")
    with pytest.raises(ConfigError, match="cannot break figures down by"):
        alliance.alliance_summary(hand, "srs", by="postcode")


# ------------------------------------------------------------------ against the reference
def _close(a: object, b: object) -> bool:
    if a is None or (isinstance(a, float) and math.isnan(a)) or a is pd.NA:
        return b is None or (isinstance(b, float) and math.isnan(b)) or b is pd.NA
    if isinstance(a, float) or isinstance(b, float):
        return b is not None and not pd.isna(b) and math.isclose(
            float(a), float(b), rel_tol=1e-9, abs_tol=1e-9)
    return a == b


# Each Ibis query takes a fraction of a second to compile here, so fewer but larger exports.
@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
@given(caseload_frames(max_therapists=4, max_episodes=15))
def test_alliance_equals_reference(frames: tuple[pd.DataFrame, ...]) -> None:
    """Every alliance figure equals the slow reference (floats within 1e-9); rates in 0–1."""
    sessions, episodes, therapists = frames
    reg = default_registry()
    cl = Caseload.from_frames(sessions, episodes, therapists)
    for m in ("srs", "wai_sr"):
        fast = alliance.episode_alliance(cl, m).execute().set_index("episode_id")
        slow = ref.episode_alliance(sessions, reg, m)
        assert set(fast.index) == set(slow)
        for eid, want in slow.items():
            for col, v in want.items():
                assert _close(v, fast.loc[eid, col]), (m, eid, col, v, fast.loc[eid, col])
        for by in (None, "therapist_id"):
            df = alliance.alliance_summary(cl, m, by=by)
            slow_s = ref.alliance_summary(sessions, episodes, therapists, reg, m, by=by)
            got = {(None if by is None else r[by]): r for r in df.to_dict("records")}
            assert set(got) == set(slow_s)
            for key, want in slow_s.items():
                for col, v in want.items():
                    assert _close(v, got[key][col]), (m, by, key, col, v, got[key][col])
            share = df["low_share"].dropna()
            assert ((share >= 0) & (share <= 1)).all()
        by_session = alliance.alliance_by_session(cl, m).set_index("rated_index")
        slow_b = ref.alliance_by_session(sessions, m)
        assert set(by_session.index) == set(slow_b)
        for i, (n, mean, sd) in slow_b.items():
            row = by_session.loc[i]
            assert row["n"] == n and _close(mean, row["mean"]) and _close(sd, row["sd"])
        by_q = alliance.alliance_by_quarter(cl, m).set_index("quarter")
        slow_q = ref.alliance_by_quarter(sessions, m)
        assert set(by_q.index) == set(slow_q)
        for q, (n, mean, _sd) in slow_q.items():
            assert by_q.loc[q, "n"] == n and _close(mean, by_q.loc[q, "mean"])
