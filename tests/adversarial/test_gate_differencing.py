"""Differencing across refreshes (issue 23, item 2): two exports one session apart give
every viewer who is not entitled to all therapists the same figures of others.

The attack: a therapist's bundle from Monday's export and one from Tuesday's each passed the
small-cell rule, yet subtracting them gave another therapist's client's exact SRS rating
(the practice mean over n, then over n + 1: ``(n + 1)·m' − n·m``).  Here export B is export
A plus one attended, SRS-rated session of one ongoing client of T10, two days after A's last
session.  Every viewer kind that goes through :func:`supervision.comparison.gate` — the
limited supervisor, the therapist's server bundle and the therapist's pack bundle — is
built from both, and what it is handed of others is compared: identical (floats up to
summation noise in the 15th digit), so the difference isolates nothing.  The lead
(entitled to all) sees the picked dates and *does* see the new session: that proves the
added session changes the practice figures, so the equality above is the gate's doing,
not an unchanged input.

On main the therapist's server bundle held the practice of all dates: B's practice alliance
mean at the client's session number differed from A's by exactly that one rating.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from supervision.caseload import Caseload
from supervision.opening import BANDS_KEY, write_bundle
from supervision.report.build import practice_bundle, write_therapist_bundle
from supervision.views.apps import SupervisorApp

K = 5
CUT = dt.date(2024, 8, 14)
ADDED = CUT + dt.timedelta(days=2)
WHO = "T10"  # supervised by none of the viewers below


def _truncate(s: pd.DataFrame, e: pd.DataFrame, cut: dt.date) -> tuple[pd.DataFrame, ...]:
    """The export as it stood on ``cut``: later sessions gone, later endings still ongoing."""
    c = pd.Timestamp(cut)
    s = s[pd.to_datetime(s["session_date"]) <= c].copy()
    e = e[pd.to_datetime(e["start_date"]) <= c].copy()
    later = pd.to_datetime(e["end_date"]) > c
    e.loc[later, "end_date"] = pd.NaT
    e.loc[later, "termination"] = "ongoing"
    return s, e


@pytest.fixture(scope="module")
def exports() -> tuple[Caseload, Caseload, dict]:
    """Export A (the demo as of 2024-08-14) and B (A + one session of one T10 client)."""
    from supervision.demo import generate_demo

    s, e, t = generate_demo(episodes=160, seed=11)
    s, e = _truncate(s, e, CUT)
    ongoing = e[(e["therapist_id"] == WHO) & (e["termination"] == "ongoing")]
    assert not ongoing.empty, "the demo should give T10 an ongoing client on 2024-08-14"
    eid = ongoing["episode_id"].iloc[0]
    rated = s[(s["episode_id"] == eid) & s["srs"].notna()]
    last = rated.sort_values("session_date").iloc[-1].copy()
    last["session_date"] = pd.Timestamp(ADDED)
    last["attendance"], last["srs"] = "attended", 22.0
    s_b = pd.concat([s, last.to_frame().T.astype(s.dtypes.to_dict())], ignore_index=True)
    a = Caseload.from_frames(s, e, t)
    b = Caseload.from_frames(s_b, e, t)
    return a, b, {"episode": eid, "rated": len(rated) + 1}


def _others(d: dict) -> dict:
    """What a viewer is handed of others (not its cover facts or the expected-response
    bands of the viewer's own open episodes)."""
    return {k: v for k, v in d.items() if k not in ("cover", BANDS_KEY)}


def _same(x: Any, y: Any, where: str = "") -> list[str]:
    """Where two outputs differ: every key, length, count and text exactly; a float only
    beyond summation noise (relative 1e-9: DuckDB's parallel sums add in varying order, so
    the 15th digit of a mean can move between runs — one client's rating moves a mean of
    n <= 1,000 by far more than that)."""
    if isinstance(x, dict) and isinstance(y, dict):
        if set(x) != set(y):
            return [f"{where}: keys {sorted(set(x) ^ set(y))}"]
        return [d for k in x for d in _same(x[k], y[k], f"{where}.{k}")]
    if isinstance(x, list) and isinstance(y, list):
        if len(x) != len(y):
            return [f"{where}: {len(x)} != {len(y)} entries"]
        return [d for i, (u, v) in enumerate(zip(x, y, strict=True))
                for d in _same(u, v, f"{where}[{i}]")]
    if isinstance(x, float) and isinstance(y, float):
        return [] if math.isclose(x, y, rel_tol=1e-9, abs_tol=1e-12) else [f"{where}: {x} {y}"]
    return [] if x == y and type(x) is type(y) else [f"{where}: {x!r} {y!r}"]


def test_the_added_session_changes_the_practice_of_the_picked_dates(exports: tuple) -> None:
    """The lead's practice over the export's whole dates: B's alliance point at the added
    session's rated number has one more episode than A's — the input did change."""
    a, b, info = exports
    lead_a = SupervisorApp(a, min_cell=K).practice(None, CUT)
    lead_b = SupervisorApp(b, min_cell=K).practice(None, ADDED)
    i = info["rated"]
    n_at = lambda p: {x["rated_index"]: x["n"] for x in p["alliance_by_session"]}.get(i, 0)  # noqa: E731
    assert n_at(lead_b) == n_at(lead_a) + 1


def test_a_limited_supervisor_gets_the_same_others_from_both_exports(exports: tuple) -> None:
    a, b, _ = exports
    mine = ("T02", "T03")
    pa = SupervisorApp(a, min_cell=K, therapists=mine).practice(None, CUT)
    pb = SupervisorApp(b, min_cell=K, therapists=mine).practice(None, ADDED)
    assert pa["period"] == pb["period"] == "2024Q2"
    assert _same(_others(pa), _others(pb)) == []


def test_a_therapists_server_bundle_is_the_same_from_both_exports(
    exports: tuple, tmp_path: Path
) -> None:
    a, b, _ = exports
    fa = write_bundle(a, "T01", tmp_path / "a", min_cell=K) / "practice.json"
    fb = write_bundle(b, "T01", tmp_path / "b", min_cell=K) / "practice.json"
    pa, pb = (json.loads(f.read_text(encoding="utf-8")) for f in (fa, fb))
    assert pa["period"] == "2024Q2"
    assert _same(_others(pa), _others(pb)) == []


def test_a_therapists_pack_is_the_same_from_both_exports(exports: tuple, tmp_path: Path) -> None:
    """A pack of the quarter still open (2024Q3) shows others from the last closed one."""
    a, b, _ = exports
    out = []
    for name, cl in (("a", a), ("b", b)):
        shared = practice_bundle(cl, "2024Q3", {"source": name}, min_cell=K)
        folder = write_therapist_bundle(cl, "T01", "2024Q3", tmp_path / name, shared,
                                        min_cell=K)
        out.append(json.loads((folder / "practice.json").read_text(encoding="utf-8")))
    assert out[0]["period"] == "2024Q2"
    assert _same(_others(out[0]), _others(out[1])) == []
