"""Pre–post outcome, reliable change, recovery and the paired PHQ-9/GAD-7 rule (domain.md §5).

Hand-built export (registry defaults: PHQ-9 reliable change 6, caseness ≥ 10; GAD-7 4, ≥ 8;
ORS higher is better, 5 points, clinical below 25).  Sessions in order; "x" = no score::

    E1 (ongoing)   phq9 15, [cancelled: 20], 12, 8      gad7 12, [x], 10, 5
    E2             phq9  9, 12, 16                      gad7  x,  9,  6
    E3             phq9 20                              (one score: not paired)
    E4             phq9 10, 4                           gad7  3,  9
    E5             same date: source_row 3 phq9 5 / source_row 7 phq9 11; later 12
                                                        gad7  4,  4,  3
    E6             ors 20, 26              E7          ors 30, 24

PHQ-9 per measure (first → last attended score): E1 15→8 (−7: reliable improvement; 15 ≥ 10
clinical, 8 not: recovered), E2 9→16 (+7: reliable deterioration), E4 10→4 (−6, exactly the
reliable change: improvement, "at least"; 10 is caseness: recovered), E5 5→12 (+7:
deterioration; the cancelled 20 of E1 and the date tie of E5 are ordered out).  So paired 4,
RI 2, RD 2, started clinical 2, recovered 2, reliable recovery 2, recovery_rate 2/2 = 1.

GAD-7: E1 12→5 (−7 RI, recovered), E2 9→6 (−3, recovered but not reliably), E4 3→9 (+6 RD),
E5 4→3 → paired 4, RI 1, RD 1, started clinical 2, recovered 2, reliable recovery 1.

Paired rule (sessions with both): E1 15/12 → 8/5: case, recovered, both improve → RI,
reliable recovery.  E2 only its sessions 2–3: 12/9 → 16/6: case (12 ≥ 10), PHQ-9 16 still
at caseness → not recovered; +4 and −3 are not reliable → neither.  E4 10/3 → 4/9: case, GAD-7
9 ≥ 8 at the end → not recovered; PHQ-9 improves and GAD-7 deteriorates → neither RI nor RD.
E5 5/4 → 12/3: no case; PHQ-9 +7 deteriorates, GAD-7 −1 does not improve → RD.
So paired 4, case 3, recovered 1 (rate 1/3), RI 1 (1/4), RD 1 (1/4), reliable recovery 1.

ORS (higher is better): E6 20→26 (+6 RI; 20 < 25 clinical, 26 not: recovered), E7 30→24
(−6 RD; not clinical → clinical).
"""

from __future__ import annotations

import datetime as dt
import math
import tomllib

import pandas as pd
import pytest
import reference as ref
from hypothesis import HealthCheck, given, settings
from strategies import caseload_frames

from supervision.caseload import Caseload
from supervision.clinical.breakdown import with_by
from supervision.clinical.outcomes import (
    RECOVERY_COLUMNS,
    category_summary,
    episode_outcomes,
    episode_phq9_gad7,
    jacobson_truax,
    outcome_summary,
    outcomes_by_termination,
    per_episode,
    summarise_outcomes,
)
from supervision.errors import ConfigError
from supervision.measures import default_registry

D = dt.date(2024, 3, 4)
X = None


def hand_frames() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The export of the module docstring (explicit source_row for the E5 date tie)."""
    rows: list[dict] = []

    def add(eid: str, day: int, att: str = "attended", **scores: float | None) -> None:
        rows.append({"client_id": f"C{eid}", "therapist_id": "T1" if eid < "E5" else "T2",
                     "episode_id": eid, "session_date": D + dt.timedelta(days=day),
                     "attendance": att, "source_row": 100 + len(rows), **scores})

    for day, (p, g) in enumerate([(15, 12), (20, X), (12, 10), (8, 5)]):
        add("E1", 7 * day, "cancelled" if day == 1 else "attended", phq9=p, gad7=g)
    for day, (p, g) in enumerate([(9, X), (12, 9), (16, 6)]):
        add("E2", 7 * day, phq9=p, gad7=g)
    add("E3", 0, phq9=20)
    for day, (p, g) in enumerate([(10, 3), (4, 9)]):
        add("E4", 7 * day, phq9=p, gad7=g)
    add("E5", 0, phq9=11, gad7=4)
    rows[-1]["source_row"] = 7
    add("E5", 0, phq9=5, gad7=4)
    rows[-1]["source_row"] = 3
    add("E5", 7, phq9=12, gad7=3)
    add("E6", 0, ors=20)
    add("E6", 7, ors=26)
    add("E7", 0, ors=30)
    add("E7", 7, ors=24)
    sessions = pd.DataFrame(rows)
    ids = sorted(sessions["episode_id"].unique())
    episodes = pd.DataFrame({
        "episode_id": ids, "client_id": [f"C{e}" for e in ids],
        "therapist_id": ["T1" if e < "E5" else "T2" for e in ids], "start_date": D,
        "termination": ["ongoing", "completed", "dropout", "completed", "completed",
                        "dropout", "completed"]})
    return sessions, episodes, pd.DataFrame({"therapist_id": ["T1", "T2"]})


@pytest.fixture(scope="module")
def cl() -> Caseload:
    return Caseload.from_frames(*hand_frames())


def _by_episode(t) -> pd.DataFrame:
    return t.execute().set_index("episode_id").sort_index()


def test_phq9_episode_outcomes(cl: Caseload) -> None:
    """First/last attended score, change and flags per episode (docstring, PHQ-9)."""
    df = _by_episode(episode_outcomes(cl, "phq9"))
    assert df.index.tolist() == ["E1", "E2", "E4", "E5"]
    assert df["first_score"].tolist() == [15, 9, 10, 5]
    assert df["last_score"].tolist() == [8, 16, 4, 12]
    assert df["n_scores"].tolist() == [3, 3, 2, 3]
    assert df["reliable_improvement"].tolist() == [True, False, True, False]
    assert df["reliable_deterioration"].tolist() == [False, True, False, True]
    assert df["recovered"].tolist() == [True, False, True, False]
    assert df["reliable_recovery"].tolist() == [True, False, True, False]


def test_summaries_per_measure(cl: Caseload) -> None:
    """PHQ-9 and GAD-7 counts and rates (docstring)."""
    p = outcome_summary(cl, "phq9").iloc[0]
    assert [p[c] for c in ("paired", "reliable_improvement", "reliable_deterioration",
                           "started_clinical", "recovered", "reliable_recovery")] == [
        4, 2, 2, 2, 2, 2]
    assert p["recovery_rate"] == 1.0 and p["reliable_improvement_rate"] == 0.5
    g = outcome_summary(cl, "gad7").iloc[0]
    assert [g[c] for c in ("paired", "reliable_improvement", "reliable_deterioration",
                           "started_clinical", "recovered", "reliable_recovery")] == [
        4, 1, 1, 2, 2, 1]


def test_paired_rule(cl: Caseload) -> None:
    """NHS Talking Therapies paired rule (docstring): only sessions with both scores."""
    df = _by_episode(episode_phq9_gad7(cl))
    assert df.index.tolist() == ["E1", "E2", "E4", "E5"]
    assert df["case_at_start"].tolist() == [True, True, True, False]
    assert df["recovered"].tolist() == [True, False, False, False]
    assert df["reliable_improvement"].tolist() == [True, False, False, False]
    assert df["reliable_deterioration"].tolist() == [False, False, False, True]
    s = outcome_summary(cl, "phq9_gad7").iloc[0]
    assert (s["paired"], s["started_clinical"], s["recovered"]) == (4, 3, 1)
    assert s["recovery_rate"] == pytest.approx(1 / 3)
    assert s["reliable_improvement_rate"] == 0.25 and s["reliable_deterioration_rate"] == 0.25
    assert s["reliable_recovery_rate"] == pytest.approx(1 / 3)


def test_higher_is_better(cl: Caseload) -> None:
    """ORS: E6 20→26 reliable improvement and recovery; E7 30→24 deterioration."""
    df = _by_episode(episode_outcomes(cl, "ors"))
    assert df["reliable_improvement"].tolist() == [True, False]
    assert df["reliable_deterioration"].tolist() == [False, True]
    assert df["first_clinical"].tolist() == [True, False]
    assert df["last_clinical"].tolist() == [False, True]


def test_by_therapist_and_termination(cl: Caseload) -> None:
    """PHQ-9 by therapist: T1 has E1, E2, E4 (RI 2 of 3); T2 has E5 (RD).  By ending:
    completed E2, E4, E5 (RI 1 of 3); ongoing E1; dropout none (0 paired, NaN rate)."""
    t = outcome_summary(cl, "phq9", by="therapist_id").set_index("therapist_id")
    assert t.loc["T1", "reliable_improvement_rate"] == pytest.approx(2 / 3)
    assert t.loc["T2", "reliable_deterioration"] == 1
    # by ending is a breakdown: 3 and 1 paired are both below 5, suppressed at the source
    masked = outcome_summary(cl, "phq9", by="termination").set_index("termination")
    assert masked["suppressed"].all() and masked["paired"].isna().all()
    raw = summarise_outcomes(with_by(cl, per_episode(cl, "phq9"), "termination"),
                             "termination").set_index("termination")
    assert raw.loc["completed", "paired"] == 3 and raw.loc["ongoing", "paired"] == 1
    assert raw.loc["completed", "reliable_improvement_rate"] == pytest.approx(1 / 3)


def test_by_termination_hides_small_endings(cl: Caseload) -> None:
    """By ending at min_cell 5: completed (3 paired) and ongoing (1) are both 1..4, so both
    are suppressed (two hidden: no complement needed); the other four endings have 0 paired
    episodes, are shown as 0 with NaN rates."""
    b = outcomes_by_termination(cl, "phq9").set_index("termination")
    assert len(b) == 6
    assert b["suppressed"].to_dict() == {"completed": True, "client_ended": False,
                                         "dropout": False, "external": False,
                                         "therapist_ended": False, "ongoing": True}
    assert b["recovery_suppressed"].tolist() == b["suppressed"].tolist()
    hidden = b.loc[["completed", "ongoing"]].drop(columns=["suppressed", "recovery_suppressed"])
    assert hidden.isna().all().all()
    assert b.loc["dropout", "paired"] == 0 and math.isnan(b.loc["dropout", "recovery_rate"])


def _ending_caseload(plan: list[tuple[str, int, float, float]]) -> Caseload:
    """One therapist; for each ``(ending, copies, first, last)``, ``copies`` episodes with two
    attended sessions a week apart scoring PHQ-9 ``first`` then ``last``."""
    sessions, episodes = [], []
    for ending, copies, first, last in plan:
        for _ in range(copies):
            eid = f"E{len(episodes):03d}"
            episodes.append({"episode_id": eid, "client_id": f"C{eid}", "therapist_id": "T1",
                             "start_date": D, "termination": ending})
            sessions += [{"client_id": f"C{eid}", "therapist_id": "T1", "episode_id": eid,
                          "session_date": D + dt.timedelta(days=7 * i), "phq9": score}
                         for i, score in enumerate((first, last))]
    return Caseload.from_frames(pd.DataFrame(sessions), pd.DataFrame(episodes),
                                pd.DataFrame({"therapist_id": ["T1"]}))


def test_by_termination_complementary_suppression() -> None:
    """PHQ-9 (reliable change 6, caseness ≥ 10) by ending, worked by hand:

    * completed: 5 × 15→5 (−10: reliable improvement; case → not: recovered, reliable
      recovery) and 1 × 8→16 (+8: deterioration, not a case): paired 6, RI 5 (5/6),
      RD 1, started clinical 5, recovered 5 (recovery_rate 5/5 = 1);
    * client_ended: 5 × 12→12: paired 5, no change, started clinical 5, recovered 0;
    * dropout: 2 × 15→14: paired 2.

    At k = 5 drop-out (2) is suppressed; alone it would be the scope's paired total 13
    minus 6 minus 5, so the smallest shown non-empty ending, client_ended (5 < 6), is
    suppressed too.  Recovery: both hidden endings count as small hidden cells (1..4 each,
    as an attacker who sees them hidden may assume).  Their sum would then be the published
    started-clinical total minus completed's 5, and a line whose hidden cells are all at a
    bound can be pinned (privacy.py's rule since issue 12): so completed's recovery (5
    cases) is withheld as a further complement.  At k = 8 completed (6) and client_ended
    (5) are small as well: all hidden.
    """
    cl = _ending_caseload([("completed", 5, 15, 5), ("completed", 1, 8, 16),
                           ("client_ended", 5, 12, 12), ("dropout", 2, 15, 14)])
    b = outcomes_by_termination(cl, "phq9").set_index("termination")
    assert b["suppressed"].tolist() == [False, True, True, False, False, False]
    assert b["recovery_suppressed"].tolist() == [True, True, True, False, False, False]
    c = b.loc["completed"]
    assert (c["paired"], c["reliable_improvement"], c["reliable_deterioration"]) == (6, 5, 1)
    assert c["reliable_improvement_rate"] == pytest.approx(5 / 6)
    assert c[["started_clinical", "recovered", "recovery_rate"]].isna().all()
    for ending in ("client_ended", "dropout"):
        assert b.loc[ending].drop(["suppressed", "recovery_suppressed"]).isna().all(), ending
    assert b.loc["external", "paired"] == 0 and not b.loc["external", "suppressed"]
    b8 = outcomes_by_termination(cl, "phq9", min_cell=8)
    assert b8["suppressed"].tolist() == [True, True, True, False, False, False]
    with pytest.raises(ConfigError, match="upward only"):
        outcomes_by_termination(cl, "phq9", min_cell=3)


def test_by_termination_recovery_withheld() -> None:
    """Recovery withheld on its own, with its complement, worked by hand:

    * completed: 5 × 15→5 and 1 × 8→16 (as above): paired 6, RI 5, started clinical 5;
    * client_ended: 3 × 15→5 and 3 × 8→8: paired 6, RI 3 (3/6), started clinical 3,
      recovered 3.

    No ending has 1..4 paired episodes, so both are shown with their reliable-improvement
    rates.  client_ended has 3 cases at the start: its recovery is withheld; alone, it
    would be the scope's recovered total (8) minus completed's 5, so completed's recovery
    (5 cases) is withheld too.
    """
    cl = _ending_caseload([("completed", 5, 15, 5), ("completed", 1, 8, 16),
                           ("client_ended", 3, 15, 5), ("client_ended", 3, 8, 8)])
    b = outcomes_by_termination(cl, "phq9").set_index("termination")
    assert not b["suppressed"].any()
    assert b["recovery_suppressed"].tolist() == [True, True, False, False, False, False]
    assert b.loc["completed", "reliable_improvement_rate"] == pytest.approx(5 / 6)
    assert b.loc["client_ended", "reliable_improvement_rate"] == 0.5
    assert b.loc["client_ended", "paired"] == 6
    rec = b.loc[["completed", "client_ended"], list(RECOVERY_COLUMNS)]
    assert rec.isna().all().all()


def test_jacobson_truax_with_sample_sd() -> None:
    """reliability .8, no norm SD: SD_pre = sd(10, 14) = 2.8284, S_diff = √2·2.8284·√.2 = 1.7889,
    1.96·S_diff = 3.506: 10→6 (4 points) improved, 14→11 (3 points) unchanged.  With
    ``norm_sd = 5``: S_diff = 3.1623, 1.96·S_diff = 6.198: both unchanged."""
    reg = default_registry().extended(tomllib.loads(
        '[jt]\nkind = "outcome"\nmin = 0\nmax = 50\nbetter = "lower"\nreliability = 0.8\n'))
    got = jacobson_truax([10, 14], [6, 11], "jt", registry=reg)
    assert got["category"].tolist() == ["improved", "unchanged"]
    reg2 = reg.extended({"jt": {"norm_sd": 5.0}})
    assert jacobson_truax([10, 14], [6, 11], "jt", registry=reg2)["category"].tolist() == [
        "unchanged", "unchanged"]


def test_categories_with_fixed_cutoff(cl: Caseload) -> None:
    """PHQ-9 categories: E1, E4 recovered; E2 9→16 not clinical → clinical + RD: harmed;
    E5 5→12 likewise harmed."""
    c = category_summary(cl, "phq9").set_index("category")["episodes"]
    assert c.to_dict() == {"recovered": 2, "improved": 0, "unchanged": 0, "deteriorated": 0,
                           "harmed": 2}


def test_not_an_outcome_measure(cl: Caseload) -> None:
    with pytest.raises(ConfigError, match="alliance measure"):
        episode_outcomes(cl, "srs")


@pytest.mark.slow
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(frames=caseload_frames())
def test_matches_reference(frames: tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]) -> None:
    """Per-episode flags and by-therapist summaries equal the reference on random exports."""
    s, e, t = frames
    cl = Caseload.from_frames(s, e, t)
    reg = cl.registry
    groups = dict(zip(e["episode_id"], e["therapist_id"], strict=True))
    for key, slow in (("phq9", ref.episode_outcomes(s, reg, "phq9")),
                      ("gad7", ref.episode_outcomes(s, reg, "gad7")),
                      ("phq9_gad7", ref.episode_phq9_gad7(s, reg))):
        fast = outcome_summary(cl, key, by="therapist_id").set_index("therapist_id")
        want = ref.outcome_summary(slow, groups)
        assert sorted(fast.index) == sorted(want)
        for tid, w in want.items():
            for k, v in w.items():
                assert fast.loc[tid, k] == pytest.approx(v, nan_ok=True), (key, tid, k)
            rates = [c for c in fast.columns if c.endswith(("_rate", "_low", "_high"))]
            vals = fast.loc[tid, rates].dropna()
            assert ((vals >= 0) & (vals <= 1)).all()
