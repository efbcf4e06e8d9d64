"""Neurotype match (domain.md §6): groups, per-group figures with small cells suppressed, grid.

Hand-built export for the group figures (therapist tags → client tags)::

    TN "neurotypical"   12 clients "neurotypical" (both_nt), 6 clients "adhd" (nt_therapist)
    TA "adhd;autistic"   3 clients "adhd" (shared)

both_nt, episode i = 0..11, two attended sessions each:
  SRS 30, 30 for i < 6 and 36, 36 otherwise → early alliance (30·6 + 36·6) / 12 = 33;
  t-interval: sd = √(12·3² / 11) = 3.1334, t(.975, 11) = 2.20099 → 33 ± 1.99089;
  i < 3 dropout, 3..9 completed, 10, 11 ongoing → ended 10, drop-out 3/10 = 0.3;
  PHQ-9 15 → 8 for i < 4 (−7, reliable), else 15 → 14 → reliable improvement 4/12
  (no GAD-7 in the export, so PHQ-9 is the outcome used);
  i = 0 withdrawal on session 1 resolved on session 2; i = 1 confrontation never resolved
  → repair rate 1/2.
nt_therapist: 6 episodes, SRS 35, 35, completed → drop-out 0/6, early alliance 35.
shared: 3 episodes (< 5) → suppressed.  Practice breakdown: exactly one small cell, so the
next smallest non-empty cell, nt_therapist (6), is suppressed too (complementary).

By therapist (two-way, as the practice's groups are published beside them)::

            shared other_nd nd_th nt_th both_nt unknown | total
        TA     3      0       0     0      0       0    |   3
        TN     0      0       0     6     12       0    |  18
  practice     3      0       0     6     12       0    |  21

An empty cell in a column whose total is published as 0 (other_nd, nd_therapist, unknown)
is never a complement: that 0 tells everyone it is 0 (the old rule hid TA's other_nd, and
3 − 0 gave TA's shared away).  ``by="therapist_id"`` (practice totals published apart):
TA's row hides shared (3) and, having no other non-empty cell, its usable empty cell in the
largest column, both_nt (0; column 12, nt_therapist's is 6).  Down the columns, shared then
has one hidden cell, so TN's shared (0, the only candidate) is hidden; both_nt has one, so
TN's both_nt (12).  Every row and column now has 0 or 2 hidden cells.  From the row totals
3 and 18 (6 shown) and the column totals 3 and 12: TA shared = t, TA both_nt = 3 − t, TN
shared = 3 − t, TN both_nt = 9 + t for any t in 0..3 — nothing pinned.
``total=True`` (the practice row in the same table, so a column's total is a cell that can be
hidden): the practice row hides shared (3) and its smallest other non-empty cell,
nt_therapist (6); TA hides shared and both_nt (0, the largest column).  Down the columns:
shared holds two (TA, practice); nt_therapist one → TN's (6, the smallest non-empty);
both_nt one → TN's (12, before the practice's equal 12).  Then TA shared = t, TA both_nt =
3 − t, practice shared = t, practice nt_therapist = TN nt_therapist = 9 − t, TN both_nt =
9 + t, t in 0..3.
"""

from __future__ import annotations

import datetime as dt
import itertools

import pandas as pd
import pytest
import reference as ref
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from strategies import caseload_frames

from supervision.caseload import Caseload
from supervision.clinical.neurotype import group_summary, tag_grid
from supervision.clinical.pairing import episode_pairs
from supervision.schema import NEUROTYPE_GROUPS

D = dt.date(2024, 5, 6)
TAGS = ["unknown", "neurotypical", "adhd", "autistic", "adhd;autistic", "dyslexic;other_nd",
        "tourette", "adhd;dyspraxic"]


def _episode(rows: list, eps: list, eid: str, tid: str, client: str, ending: str,
             srs: float, phq: tuple[float, float], rupture: str = "none",
             repair: str | None = None) -> None:
    eps.append({"episode_id": eid, "client_id": f"C{eid}", "therapist_id": tid,
                "start_date": D, "client_neurotype": client, "termination": ending})
    for k in (0, 1):
        rows.append({"client_id": f"C{eid}", "therapist_id": tid, "episode_id": eid,
                     "session_date": D + dt.timedelta(days=7 * k), "srs": srs, "phq9": phq[k],
                     "rupture": rupture if k == 0 else "none", "repair": repair if k else None})


def hand_frames() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The export of the module docstring."""
    rows: list = []
    eps: list = []
    for i in range(12):
        ending = "dropout" if i < 3 else ("completed" if i < 10 else "ongoing")
        rupture = {0: "withdrawal", 1: "confrontation"}.get(i, "none")
        _episode(rows, eps, f"B{i:02d}", "TN", "neurotypical", ending, 30 if i < 6 else 36,
                 (15, 8) if i < 4 else (15, 14), rupture, "resolved" if i == 0 else None)
    for i in range(6):
        _episode(rows, eps, f"N{i}", "TN", "adhd", "completed", 35, (12, 12))
    for i in range(3):
        _episode(rows, eps, f"S{i}", "TA", "adhd", "completed", 38, (20, 10))
    therapists = pd.DataFrame({"therapist_id": ["TA", "TN"],
                               "therapist_neurotype": ["adhd;autistic", "neurotypical"]})
    return pd.DataFrame(rows), pd.DataFrame(eps), therapists


@pytest.fixture(scope="module")
def cl() -> Caseload:
    return Caseload.from_frames(*hand_frames())


def test_every_tag_pair_matches_the_set_definition() -> None:
    """Each (therapist tags, client tags) combination of TAGS gets the group that the
    set-based reference definition gives (64 pairs, each group reached)."""
    pairs = list(itertools.product(TAGS, TAGS))
    therapists = pd.DataFrame({"therapist_id": [f"T{i}" for i in range(len(pairs))],
                               "therapist_neurotype": [t for t, _ in pairs]})
    episodes = pd.DataFrame({"episode_id": [f"E{i}" for i in range(len(pairs))],
                             "client_id": [f"C{i}" for i in range(len(pairs))],
                             "therapist_id": therapists["therapist_id"], "start_date": D,
                             "client_neurotype": [c for _, c in pairs]})
    sessions = pd.DataFrame({"client_id": ["C0"], "therapist_id": ["T0"], "episode_id": ["E0"],
                             "session_date": [D]})
    got = episode_pairs(Caseload.from_frames(sessions, episodes, therapists)).execute()
    got = dict(zip(got["episode_id"], got["group"], strict=True))
    want = {f"E{i}": ref.neurotype_group(c, t) for i, (t, c) in enumerate(pairs)}
    assert got == want
    assert set(want.values()) == set(NEUROTYPE_GROUPS)
    assert want["E" + str(pairs.index(("adhd;autistic", "adhd")))] == "shared"
    assert want["E" + str(pairs.index(("adhd", "dyslexic;other_nd")))] == "other_nd"


def test_group_figures(cl: Caseload) -> None:
    """both_nt figures and the suppression pattern of the module docstring."""
    g = group_summary(cl).set_index("group")
    assert g.index.tolist() == list(NEUROTYPE_GROUPS)
    b = g.loc["both_nt"]
    assert not b["suppressed"] and b["episodes"] == 12
    assert b["early_alliance"] == pytest.approx(33)
    assert b["early_alliance_low"] == pytest.approx(33 - 1.99089, abs=1e-4)
    assert b["dropout_rate"] == pytest.approx(0.3) and b["ended"] == 10
    assert b["reliable_improvement_rate"] == pytest.approx(4 / 12)
    assert b["repair_rate"] == pytest.approx(0.5)
    assert g.loc["shared", "suppressed"] and pd.isna(g.loc["shared", "episodes"])
    assert g.loc["nt_therapist", "suppressed"]  # complementary
    assert g.loc[["nt_therapist", "shared"], ["dropout_rate", "early_alliance",
                                             "repair_rate"]].isna().all().all()
    assert (g.loc[["other_nd", "nd_therapist", "unknown"], "episodes"] == 0).all()


def test_group_figures_by_therapist(cl: Caseload) -> None:
    """Hidden cells as derived in the module docstring (one-way, then with the practice row
    in the table); TA's other_nd (a column of total 0) stays shown as 0."""
    g = group_summary(cl, by="therapist_id").set_index(["therapist_id", "group"])
    for tid in ("TA", "TN"):
        sup = g.loc[tid]["suppressed"]
        assert sup[sup].index.tolist() == ["shared", "both_nt"]
    assert g.loc[("TN", "nt_therapist"), "episodes"] == 6
    assert g.loc[("TN", "nt_therapist"), "dropout_rate"] == 0
    assert g.loc[("TN", "nt_therapist"), "early_alliance"] == pytest.approx(35)
    assert g.loc[("TA", "other_nd"), "episodes"] == 0
    both = group_summary(cl, by="therapist_id", total=True)
    both["therapist_id"] = both["therapist_id"].fillna("practice")
    g = both.set_index(["therapist_id", "group"])
    for tid, want in (("TA", ["shared", "both_nt"]), ("TN", ["nt_therapist", "both_nt"]),
                      ("practice", ["shared", "nt_therapist"])):
        sup = g.loc[tid]["suppressed"]
        assert sup[sup].index.tolist() == want, tid
    assert g.loc[("practice", "both_nt"), "episodes"] == 12


def test_tag_grid(cl: Caseload) -> None:
    """TA's two tags put each of its 3 episodes in both (adhd, adhd) and (autistic, adhd):
    two small cells, both suppressed.  (neurotypical, neurotypical) 12, (neurotypical, adhd) 6."""
    g = tag_grid(cl).set_index(["therapist_tag", "client_tag"])
    assert g.loc[("adhd", "adhd"), "suppressed"] and g.loc[("autistic", "adhd"), "suppressed"]
    assert g.loc[("neurotypical", "neurotypical"), "episodes"] == 12
    assert g.loc[("neurotypical", "neurotypical"), "dropout_rate"] == pytest.approx(0.3)
    assert g.loc[("neurotypical", "adhd"), "episodes"] == 6
    assert g.loc[("adhd", "neurotypical"), "episodes"] == 0
    assert len(g) == 3 * 2


@pytest.mark.slow
@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(frames=caseload_frames(max_episodes=12), min_cell=st.sampled_from([5, 6]))
def test_matches_reference(frames: tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame],
                           min_cell: int) -> None:
    """group_summary equals the reference on random exports; no shown cell below min_cell."""
    s, e, t = frames
    cl = Caseload.from_frames(s, e, t)
    fast = group_summary(cl, min_cell=min_cell).set_index("group")
    slow = ref.group_summary(s, e, t, cl.registry, min_cell=min_cell)
    for grp, want in slow.items():
        for k, v in want.items():
            got = fast.loc[grp, k]
            if v is None:
                assert pd.isna(got), (grp, k)
            else:
                assert got == pytest.approx(v), (grp, k)
    shown = fast[~fast["suppressed"]]["episodes"]
    assert not ((shown > 0) & (shown < min_cell)).any()
