"""Neurotype pair groups of others in a therapist's pack pass the gate (issue 23, brief
item 5): a group (therapist tag × client tag) is shown only when at least k other
therapists' episodes *from at least k other therapists* stand behind it.

The planted practice, 2024Q1 (counted by hand):

* T1, the viewer, neurotypical: 7 episodes with neurotypical clients (``both_nt``);
* T2, the only neurodivergent colleague (``adhd``): 8 episodes with neurotypical clients,
  the whole of the practice's ``nd_therapist`` group;
* T3..T8, neurotypical: 3 neurotypical clients each (``both_nt``: 18 more) and one client
  tagged ``adhd`` each (``nt_therapist``: 6 episodes from 6 therapists).

The others' ``nd_therapist`` holds 8 episodes (≥ 5), so the episode count alone let it
through on main: T1's pack showed "nd_therapist: 8 episodes" with its rates, which is T2's
own caseload (T1 has none there) and says that T2 is neurodivergent.  It has 1 other
therapist behind it, so now it is hidden, and one more non-empty group with it (the pack
also shows the practice's episodes, so one hidden group alone would be the total minus the
shown ones): ``nt_therapist``, the smallest shown.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from supervision.caseload import Caseload
from supervision.clinical.pairing import episode_pairs
from supervision.report.build import practice_bundle, write_therapist_bundle

K = 5
NT = "neurotypical"


def _frames() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    eps = [(f"A{i}", "T1", NT) for i in range(7)]
    eps += [(f"B{i}", "T2", NT) for i in range(8)]
    for j in range(3, 9):
        eps += [(f"C{j}{i}", f"T{j}", NT) for i in range(3)] + [(f"D{j}", f"T{j}", "adhd")]
    e = pd.DataFrame(eps, columns=["episode_id", "therapist_id", "client_neurotype"])
    e["client_id"] = "c" + e["episode_id"]
    e["start_date"], e["end_date"], e["termination"] = "2024-01-08", "2024-03-01", "completed"
    rows = [{"client_id": "c" + eid, "therapist_id": tid, "episode_id": eid,
             "session_date": pd.Timestamp(day), "attendance": "attended", "rupture": "none",
             "srs": 32.0, "phq9": 14.0 - i}
            for eid, tid, _ in eps
            for i, day in enumerate(("2024-01-08", "2024-01-15", "2024-01-22"))]
    # one more client of T1, seen into April: the export's end closes 2024Q1
    rows += [{"client_id": "cLATE", "therapist_id": "T1", "episode_id": "LATE",
              "session_date": pd.Timestamp(d), "attendance": "attended", "rupture": "none",
              "srs": 33.0, "phq9": 12.0} for d in ("2024-03-04", "2024-04-02")]
    e = pd.concat([e, pd.DataFrame([{
        "episode_id": "LATE", "therapist_id": "T1", "client_neurotype": NT,
        "client_id": "cLATE", "start_date": "2024-03-04", "end_date": None,
        "termination": "ongoing"}])], ignore_index=True)
    t = pd.DataFrame({"therapist_id": [f"T{j}" for j in range(1, 9)],
                      "therapist_neurotype": [NT, "adhd", *[NT] * 6]})
    return pd.DataFrame(rows), e, t


@pytest.fixture(scope="module")
def pack(tmp_path_factory: pytest.TempPathFactory) -> tuple[Caseload, dict]:
    cl = Caseload.from_frames(*_frames())
    shared = practice_bundle(cl, "2024Q1", {"source": "planted"}, min_cell=K)
    folder: Path = write_therapist_bundle(cl, "T1", "2024Q1",
                                          tmp_path_factory.mktemp("t1"), shared, min_cell=K)
    return cl, json.loads((folder / "practice.json").read_text(encoding="utf-8"))


def _behind(cl: Caseload) -> pd.DataFrame:
    """Per group: the other therapists' episodes and therapists (every episode is in
    2024Q1; the pairing is the product's rule, the counting is plain pandas)."""
    p = episode_pairs(cl).execute()
    o = p[p["therapist_id"] != "T1"]
    return o.groupby("group").agg(episodes=("episode_id", "size"),
                                  therapists=("therapist_id", "nunique"))


def test_the_planted_groups_are_as_counted_by_hand(pack: tuple) -> None:
    cl, _ = pack
    b = _behind(cl)
    assert b.loc["nd_therapist"].tolist() == [8, 1]
    assert b.loc["nt_therapist"].tolist() == [6, 6]
    assert b.loc["both_nt"].tolist() == [18, 6]


def test_no_group_of_fewer_than_k_other_therapists_is_shown(pack: tuple) -> None:
    cl, practice = pack
    assert practice["period"] == "2024Q1"
    b = _behind(cl)
    groups = {g["group"]: g for g in practice["neurotype_groups"]}
    for name, g in groups.items():
        if not g.get("suppressed"):
            eps, ther = (b.loc[name].tolist() if name in b.index else [0, 0])
            assert eps == 0 or (eps >= K and ther >= K), (name, eps, ther, g)
    hidden = groups["nd_therapist"]
    assert hidden["suppressed"] is True and hidden["episodes"] is None
    assert all(v is None for k, v in hidden.items() if k not in ("group", "suppressed"))


def test_the_hidden_group_is_not_the_total_minus_the_shown(pack: tuple) -> None:
    """At least two non-empty groups are hidden, so the practice's episodes minus the shown
    groups is a sum of two unknowns (here nd_therapist 8 + nt_therapist 6)."""
    cl, practice = pack
    p = episode_pairs(cl).execute().groupby("group").size()
    hidden = [g["group"] for g in practice["neurotype_groups"] if g.get("suppressed")]
    assert len([g for g in hidden if p.get(g, 0) > 0]) >= 2
