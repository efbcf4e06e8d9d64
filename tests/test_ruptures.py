"""Ruptures and repair (domain.md §4) on a hand-built export, and against the slow reference.

The hand-built export (SRS unless said; a = attended)
-----------------------------------------------------
R1 (T1, completed)::

    s1 a 38 | s2 a 37 withdrawal, repair partial | s3 a 36 | s4 a 38 repair resolved
    s5 a 31 | s6 a 33 | s7 no_show | s8 a 35 | s9 a 37 | s10 a 39

  flagged s2 (attended index 2), repaired by the ``resolved`` recorded on the later s4:
  sessions_to_repair = 4 − 2 = 2 attended sessions.  Drop at s5: 38 → 31 = 7 ≥ 5 points;
  the next three rated sessions 33, 35, 37 stay below 38 (s10's 39 is the fourth): not
  repaired.  Attended 9.  Last rupture (s5) unrepaired and the episode ended: counts in
  unrepaired_at_end.
R2 (T1, dropout)::

    s1 a 40 wai 50 | s2 a 30 wai 40 confrontation, repair resolved | s3 a 35 | s4 a 40

  s2 is both flagged and a drop (10 SRS, 10 WAI-SR points): ONE rupture, flagged, repaired
  on the same session (sessions_to_repair 0).  Attended 4; last rupture repaired.
R3 (T2, ongoing)::

    s1 a 38 wai 50 | s2 a 32 wai 43 | s3 a 33 wai 51 | s4 a 38 | s5 a 37 unspecified | s6 cancelled

  s2 drops on both measures (SRS 6 ≥ 5, WAI-SR 7 ≥ 6): one drop rupture; WAI-SR is back at
  51 ≥ 50 one rated session later, SRS at 38 two later -> repaired, reported on the measure
  that repaired first (wai_sr, 7 points, 1 session).  s5 flagged, never resolved.
  Attended 5; last rupture (s5) unrepaired but the episode is open.
R4 (T2, completed): s1–s3 a 36 36 36 and a cancelled session marked ``withdrawal`` — a
  session that did not take place holds no rupture.  Attended 3, no rupture.

Totals: flagged 3, drop 2, count 5, repaired 3 (R1 flag, R2 flag, R3 drop), attended 21;
per_100_sessions = 500/21; repair_rate 3/5 with the Wilson interval
  (p + z²/2n ± z√(p(1−p)/n + z²/4n²))/(1 + z²/n), z = 1.96, p = .6, n = 5:
  centre .98416, half 1.96·√.086416 = .576173, /1.76832 -> [0.23072, 0.88238];
sessions_to_repair = median(2, 0, 1) = 1; unrepaired_at_end = 1 (R1).
By therapist: T1 (R1, R2) flagged 2, drop 1, count 3, repaired 2, attended 13, median(2, 0)
  = 1, unrepaired_at_end 1; T2 (R3, R4) 1, 1, 2, 1, 8, median(1) = 1, 0.
"""

from __future__ import annotations

import math

import ibis
import pandas as pd
import pytest
import reference as ref
from hypothesis import HealthCheck, given, settings
from strategies import caseload_frames

from supervision.caseload import Caseload
from supervision.clinical import ruptures
from supervision.errors import ConfigError
from supervision.measures import default_registry

N = None


def _s(ep: str, t: str, day: int, att: str = "attended", srs: float | None = N,
       wai: float | None = N, rupture: str = "none", repair: str | None = N) -> dict:
    return {"client_id": "c" + ep, "therapist_id": t, "episode_id": ep,
            "session_date": pd.Timestamp("2024-01-01") + pd.Timedelta(days=7 * day),
            "attendance": att, "srs": srs, "wai_sr": wai, "rupture": rupture, "repair": repair}


def hand_frames() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The export of the module docstring."""
    r1 = [_s("R1", "T1", 1, srs=38), _s("R1", "T1", 2, srs=37, rupture="withdrawal",
                                         repair="partial"),
          _s("R1", "T1", 3, srs=36), _s("R1", "T1", 4, srs=38, repair="resolved"),
          _s("R1", "T1", 5, srs=31), _s("R1", "T1", 6, srs=33), _s("R1", "T1", 7, "no_show"),
          _s("R1", "T1", 8, srs=35), _s("R1", "T1", 9, srs=37), _s("R1", "T1", 10, srs=39)]
    r2 = [_s("R2", "T1", 1, srs=40, wai=50),
          _s("R2", "T1", 2, srs=30, wai=40, rupture="confrontation", repair="resolved"),
          _s("R2", "T1", 3, srs=35), _s("R2", "T1", 4, srs=40)]
    r3 = [_s("R3", "T2", 1, srs=38, wai=50), _s("R3", "T2", 2, srs=32, wai=43),
          _s("R3", "T2", 3, srs=33, wai=51), _s("R3", "T2", 4, srs=38),
          _s("R3", "T2", 5, srs=37, rupture="unspecified"), _s("R3", "T2", 6, "cancelled")]
    r4 = [_s("R4", "T2", 1, srs=36), _s("R4", "T2", 2, srs=36),
          _s("R4", "T2", 3, "cancelled", rupture="withdrawal"), _s("R4", "T2", 4, srs=36)]
    episodes = pd.DataFrame({
        "episode_id": ["R1", "R2", "R3", "R4"], "client_id": ["cR1", "cR2", "cR3", "cR4"],
        "therapist_id": ["T1", "T1", "T2", "T2"], "start_date": ["2024-01-08"] * 4,
        "termination": ["completed", "dropout", "ongoing", "completed"],
    })
    therapists = pd.DataFrame({"therapist_id": ["T1", "T2"], "team": ["North", "South"]})
    return pd.DataFrame(r1 + r2 + r3 + r4), episodes, therapists


@pytest.fixture(scope="module")
def hand() -> Caseload:
    return Caseload.from_frames(*hand_frames())


def _events(cl: Caseload, **opts: object) -> pd.DataFrame:
    ev = ruptures.rupture_events(cl, **opts).execute()
    return ev.sort_values(["episode_id", "attended_index"], ignore_index=True)


def test_rupture_events_by_hand(hand: Caseload) -> None:
    """One row per rupture session (module docstring)."""
    ev = _events(hand)
    got = [(r.episode_id, r.attended_index, r.kind, r.rupture_type,
            None if pd.isna(r.measure) else r.measure, r.repaired,
            None if pd.isna(r.sessions_to_repair) else int(r.sessions_to_repair))
           for r in ev.itertuples()]
    assert got == [
        ("R1", 2, "flagged", "withdrawal", None, True, 2),  # resolved on a later session
        ("R1", 5, "drop", "alliance_drop", "srs", False, None),  # not back within 3 rated
        ("R2", 2, "flagged", "confrontation", None, True, 0),  # flagged AND dropped: once
        ("R3", 2, "drop", "alliance_drop", "wai_sr", True, 1),  # two measures: one rupture
        ("R3", 5, "flagged", "unspecified", None, False, None),
    ]
    assert ev["drop_points"].tolist()[1] == 7.0 and ev["drop_points"].tolist()[3] == 7.0
    assert ev["drop_points"].isna().tolist() == [True, False, True, False, True]


def test_episode_ruptures_by_hand(hand: Caseload) -> None:
    df = ruptures.episode_ruptures(hand).execute().set_index("episode_id").sort_index()
    cols = ["attended_sessions", "flagged", "drop", "count", "repaired", "unrepaired_flagged"]
    assert df[cols].values.tolist() == [
        [9, 1, 1, 2, 1, False], [4, 1, 0, 1, 1, False], [5, 1, 1, 2, 1, True],
        [3, 0, 0, 0, 0, False],
    ]
    assert df["last_repaired"].tolist()[:3] == [False, True, False]
    assert pd.isna(df.loc["R4", "last_repaired"])


def test_rupture_summary_by_hand(hand: Caseload) -> None:
    row = ruptures.rupture_summary(hand).iloc[0]
    assert [row[c] for c in ("flagged", "drop", "count", "repaired", "attended_sessions")] == [
        3, 2, 5, 3, 21]
    assert row["per_100_sessions"] == pytest.approx(500 / 21)
    assert row["repair_rate"] == pytest.approx(0.6)
    assert row["repair_rate_low"] == pytest.approx(0.23072, abs=1e-5)
    assert row["repair_rate_high"] == pytest.approx(0.88238, abs=1e-5)
    assert row["sessions_to_repair"] == 1.0
    assert row["unrepaired_at_end"] == 1


def test_rupture_summary_by_therapist(hand: Caseload) -> None:
    df = ruptures.rupture_summary(hand, by="therapist_id")
    assert df["therapist_id"].tolist() == ["T1", "T2"]
    assert df[["flagged", "drop", "count", "repaired", "attended_sessions",
               "unrepaired_at_end"]].values.tolist() == [[2, 1, 3, 2, 13, 1], [1, 1, 2, 1, 8, 0]]
    assert df["repair_rate"].tolist() == pytest.approx([2 / 3, 0.5])
    assert df["per_100_sessions"].tolist() == pytest.approx([300 / 13, 25.0])
    assert df["sessions_to_repair"].tolist() == [1.0, 1.0]


def test_drop_points_option(hand: Caseload) -> None:
    """SRS at 8 points: R1's 7-point SRS drop and R3's 6-point SRS drop no longer count;
    R3's 7-point WAI-SR drop still does (6 points)."""
    ev = _events(hand, drop_points={"srs": 8})
    drops = ev[ev["kind"] == "drop"]
    assert drops[["episode_id", "measure"]].values.tolist() == [["R3", "wai_sr"]]


def test_drop_sd_option(hand: Caseload) -> None:
    """R3 SRS 38 32 33 38 37: mean 35.6, Σ dev² = 33.2, var 8.3, sd 2.881; WAI-SR 50 43 51:
    mean 48, Σ dev² = 38, var 19, sd 4.359.  k = 2: SRS 6 ≥ 5.762 yes, WAI-SR 7 ≥ 8.718 no ->
    reported on SRS, back at 38 two rated sessions later.  k = 1: both; WAI-SR repairs first.
    R1 SRS (9 ratings, mean 36, Σ dev² = 54, var 6.75, sd 2.598): only s5's 7 ≥ 2k for k ≤ 2.
    R4 (SD 0) has no drop: a drop must be a fall."""
    two = _events(hand, drop_sd=2)
    d2 = two[two["kind"] == "drop"]
    assert d2[["episode_id", "attended_index", "measure"]].values.tolist() == [
        ["R1", 5, "srs"], ["R3", 2, "srs"]]
    assert int(d2["sessions_to_repair"].iloc[1]) == 2
    one = _events(hand, drop_sd=1)
    d1 = one[one["kind"] == "drop"]
    assert d1[["episode_id", "measure"]].values.tolist() == [["R1", "srs"], ["R3", "wai_sr"]]
    with pytest.raises(ConfigError, match="drop_sd"):
        ruptures.rupture_events(hand, drop_sd=0)
    with pytest.raises(ConfigError, match="not an alliance measure"):
        ruptures.rupture_events(hand, drop_points={"phq9": 3})


def test_fit_alerts_are_flags_not_ruptures(hand: Caseload) -> None:
    """SRS falls ≥ 1: R1 s2 (1), s3 (1), s5 (7); R2 s2 (10); R3 s2 (6), s5 (1)."""
    fa = ruptures.fit_alerts(hand).execute().sort_values(["episode_id", "rated_index"])
    assert fa[["episode_id", "rated_index", "fall"]].values.tolist() == [
        ["R1", 2, 1.0], ["R1", 3, 1.0], ["R1", 5, 7.0], ["R2", 2, 10.0], ["R3", 2, 6.0],
        ["R3", 5, 1.0]]
    assert ruptures.rupture_summary(hand).iloc[0]["count"] == 5  # unchanged by the alerts


# ------------------------------------------------------------------ against the reference
CON = ibis.duckdb.connect()
OPTIONS = ({}, {"drop_sd": 1}, {"drop_points": {"srs": 3, "wai_sr": 9}})


def _same(a: object, b: object) -> bool:
    na = a is None or (isinstance(a, float) and math.isnan(a)) or a is pd.NA
    nb = b is None or (isinstance(b, float) and math.isnan(b)) or b is pd.NA
    if na or nb:
        return na and nb
    if isinstance(a, float) or isinstance(b, float):
        return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-9)
    return a == b


# Each Ibis query takes about a second to compile here, so fewer but larger exports.
@settings(max_examples=10, deadline=None, suppress_health_check=list(HealthCheck))
@given(caseload_frames(max_therapists=4, max_episodes=20))
def test_ruptures_equal_reference(frames: tuple[pd.DataFrame, ...]) -> None:
    """Events and summary figures equal the slow reference for three option sets (per-episode
    figures and by-therapist summaries for the default); rates in 0–1, repaired ≤ ruptures."""
    sessions, episodes, therapists = frames
    reg = default_registry()
    cl = Caseload.from_frames(sessions, episodes, therapists, con=CON)
    for opts in OPTIONS:
        ev = ruptures.rupture_events(cl, **opts).execute()
        ev["session_date"] = pd.to_datetime(ev["session_date"]).dt.date
        got = sorted(tuple(r) for r in ev.astype(object).where(ev.notna(), None).itertuples(
            index=False))
        want = sorted(tuple(e.values()) for e in ref.rupture_events(sessions, reg, **opts))
        assert len(got) == len(want)
        for g, w in zip(got, want, strict=True):
            assert all(_same(x, y) for x, y in zip(w, g, strict=True)), (opts, w, g)
        if opts:
            _check_summary(cl, frames, opts, None)
            continue
        per = ruptures.episode_ruptures(cl, **opts).execute().set_index("episode_id")
        for eid, want_row in ref.episode_ruptures(sessions, episodes, reg, **opts).items():
            for col, v in want_row.items():
                assert _same(v, per.loc[eid, col]), (opts, eid, col, v, per.loc[eid, col])
        for by in (None, "therapist_id"):
            _check_summary(cl, frames, opts, by)
    fits = ruptures.fit_alerts(cl).execute()
    assert len(fits) == len(ref.fit_alerts(sessions))


def _check_summary(cl: Caseload, frames: tuple[pd.DataFrame, ...], opts: dict,
                   by: str | None) -> None:
    sessions, episodes, therapists = frames
    df = ruptures.rupture_summary(cl, by=by, **opts)
    slow = ref.rupture_summary(sessions, episodes, therapists, default_registry(), by=by, **opts)
    rows = {(None if by is None else r[by]): r for r in df.to_dict("records")}
    assert set(rows) == set(slow)
    for key, want_row in slow.items():
        for col, v in want_row.items():
            assert _same(v, rows[key][col]), (opts, by, key, col, v, rows[key][col])
    assert (df["repaired"] <= df["count"]).all()
    for c in ("repair_rate", "repair_rate_low", "repair_rate_high"):
        rate = df[c].dropna()
        assert ((rate >= 0) & (rate <= 1)).all()
