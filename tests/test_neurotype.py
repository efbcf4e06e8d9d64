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

By therapist (two-way, as the practice's groups are published beside them): TA's only cell
(shared, 3) is suppressed and, every other TA cell being empty, the first empty one
(other_nd) too.  Down the columns, shared and other_nd then each have one hidden cell, so
TN's shared and other_nd (both empty, the only candidates) are hidden as well; TN's row now
has two hidden cells and nothing changes further.  TN's nt_therapist (6) and both_nt (12)
stay shown.
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
from supervision.neurotype import episode_pairs, group_summary, tag_grid
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
    """TN shows nt_therapist (6, drop-out 0, early alliance 35); hidden cells as derived in
    the module docstring."""
    g = group_summary(cl, by="therapist_id").set_index(["therapist_id", "group"])
    assert g.loc[("TN", "nt_therapist"), "episodes"] == 6
    assert g.loc[("TN", "nt_therapist"), "dropout_rate"] == 0
    assert g.loc[("TN", "nt_therapist"), "early_alliance"] == pytest.approx(35)
    for tid in ("TA", "TN"):
        sup = g.loc[tid]["suppressed"]
        assert sup[sup].index.tolist() == ["shared", "other_nd"]


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
