"""Expected-response bands handed to a therapist's kernel pass the gate (issue 23, brief
item 4): they come from a closed quarter, so two bundles of exports a day apart cannot be
subtracted to get another therapist's client.

The attack, by hand.  The practice's reference for PHQ-9 intake 15 at scored session 2 is
40 ended episodes of five other therapists: 20 improved by 2 points and 20 by 6.  Type-7
median of 40 values: position 39 × 0.5 = 19.5, between the 20th (2) and the 21st (6):
**4**.  Export B is export A plus one episode of T9 that starts in April and ends after two
scores, 15 then 10: a gain of **5**.  Over 41 values the median sits at position
40 × 0.5 = 20, the 21st value in order — 2 (×20), 5, 6 (×20) — which is **5**: B's handed
median *is* that client's change, and ``n`` went from 40 to 41 to say there is one.

On main the bands were read as of the export's end, so the two bundles differed exactly so.
Now they are read as of the end of the gate's quarter (2024Q1: both exports end in April),
where the new episode had not ended: the two bundles hand over the same bands, and the
proof that the input changed is the full server's own bands (B's n is 41, its median 5).
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from supervision.caseload import Caseload
from supervision.clinical.expected import expected_bands
from supervision.opening import BANDS_KEY, write_bundle

K = 5
OTHERS = ("T5", "T6", "T7", "T8", "T9")


def _session(eid: str, tid: str, day: str, phq9: float) -> dict:
    return {"client_id": "c" + eid, "therapist_id": tid, "episode_id": eid,
            "session_date": pd.Timestamp(day), "attendance": "attended", "rupture": "none",
            "phq9": phq9}


def _export(with_new: bool, others: tuple[str, ...] = OTHERS) -> Caseload:
    rows, eps = [], []
    for j in range(40):  # the reference: ended in February, spread over the other therapists
        eid, tid, gain = f"R{j:02d}", others[j % len(others)], 2.0 if j < 20 else 6.0
        rows += [_session(eid, tid, "2024-01-08", 15.0),
                 _session(eid, tid, "2024-01-15", 15.0 - gain)]
        eps.append((eid, tid, "2024-01-08", "2024-02-01", "completed"))
    # T1's open client at intake 15, seen into April (the export ends in 2024Q2)
    for i, day in enumerate(("2024-01-08", "2024-01-15", "2024-01-22", "2024-04-08")):
        rows.append(_session("OPEN", "T1", day, 15.0 - i))
    eps.append(("OPEN", "T1", "2024-01-08", None, "ongoing"))
    if with_new:  # one more client of T9: 15 -> 10, ended in April
        rows += [_session("NEW", "T9", "2024-04-09", 15.0),
                 _session("NEW", "T9", "2024-04-16", 10.0)]
        eps.append(("NEW", "T9", "2024-04-09", "2024-04-20", "completed"))
    e = pd.DataFrame(eps, columns=["episode_id", "therapist_id", "start_date", "end_date",
                                   "termination"])
    e["client_id"] = "c" + e["episode_id"]
    t = pd.DataFrame({"therapist_id": ["T1", *others]})
    return Caseload.from_frames(pd.DataFrame(rows), e, t)


def _band(cl: Caseload) -> pd.Series:
    b = expected_bands(cl, measure="phq9")
    return b[(b["intake"] == 15) & (b["session"] == 2)].iloc[0]


@pytest.fixture(scope="module")
def exports() -> tuple[Caseload, Caseload]:
    return _export(False), _export(True)


def test_the_new_client_moves_the_full_servers_band_to_its_own_change(exports: tuple) -> None:
    """The input did change: on the practice's own server (entitled to all) the band at
    (15, 2) has n 40 -> 41 and median 4 -> 5, the new client's gain (hand calculation)."""
    a, b = exports
    ba, bb = _band(a), _band(b)
    assert (int(ba["n"]), float(ba["p50"])) == (40, -4.0)  # PHQ-9: lower is better
    assert (int(bb["n"]), float(bb["p50"])) == (41, -5.0)


def test_two_bundles_a_day_apart_hand_over_the_same_bands(exports: tuple, tmp_path: Path) -> None:
    a, b = exports
    got = []
    for name, cl in (("a", a), ("b", b)):
        folder = write_bundle(cl, "T1", tmp_path / name, min_cell=K)
        got.append(json.loads((folder / "practice.json").read_text(encoding="utf-8"))[BANDS_KEY])
    at = [[(r["n"], r["q0500"]) for r in g["measures"]["phq9"]
           if r["intake"] == 15 and r["session"] == 2] for g in got]
    # the reference as of 2024-03-31: the 40 February endings, median gain 4, in both
    # (on main: [(40, 4.0)] then [(41, 5.0)], the new client's own change)
    assert at == [[(40, 4.0)], [(40, 4.0)]]
    assert got[0] == got[1]
    assert got[0]["period"] == "2024Q1"


def test_bands_of_too_few_other_therapists_are_not_handed_over(tmp_path: Path) -> None:
    """The other half of the gate: the same 40 episodes from four other therapists give
    no band at all to T1's kernel (the full server still has it: n 40)."""
    few = _export(False, OTHERS[:4])
    assert int(_band(few)["n"]) == 40
    folder = write_bundle(few, "T1", tmp_path, min_cell=K)
    bands = json.loads((folder / "practice.json").read_text(encoding="utf-8"))[BANDS_KEY]
    assert bands["measures"]["phq9"] == []
