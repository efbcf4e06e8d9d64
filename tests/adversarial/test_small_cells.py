"""Small cells: no JSON or CSV output of ``compute_metrics`` reveals a suppressed count.

Over random exports (``tests/strategies.py``, up to 4 therapists and 40 episodes, so groups
of every size from 0 to past the threshold occur) and ``min_cell`` 5 or 8:

* a suppressed neurotype group shows ``episodes`` and every figure as null (JSON) or empty
  (CSV), and a shown group never has 1..k-1 episodes;
* subtraction within a breakdown: the scope's total minus its shown groups is the sum of
  the suppressed ones, so exactly one suppressed group with episodes would be revealed —
  never happens (complementary suppression);
* subtraction across breakdowns: a practice group's count minus the therapists' shown
  counts of that group would reveal a single suppressed therapist cell — never happens.
"""

from __future__ import annotations

import csv
import io

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from strategies import caseload_frames

from supervision.caseload import Caseload
from supervision.measures import default_registry
from supervision.metrics import compute_metrics, metrics_to_csv

FIGURES = ("early_alliance", "dropout_rate", "repair_rate", "reliable_improvement_rate")


def _check_scope(m: dict, k: int, where: str) -> None:
    groups = m["neurotype"]["groups"]
    hidden = [g for g, c in groups.items() if c.get("suppressed")]
    for g, c in groups.items():
        if c.get("suppressed"):
            assert c["episodes"] is None, (where, g)
            assert all(c.get(f) is None for f in FIGURES), (where, g, c)
        else:
            assert c["episodes"] == 0 or c["episodes"] >= k, (where, g, c["episodes"])
    shown = sum(c["episodes"] or 0 for c in groups.values())
    remainder = m["episodes"] - shown
    assert remainder >= 0, where
    assert not (len(hidden) == 1 and remainder > 0), (where, hidden, remainder)


def _check_across(result: dict, k: int) -> None:
    for g, pc in result["practice"]["neurotype"]["groups"].items():
        if pc.get("suppressed"):
            continue
        cells = [m["neurotype"]["groups"][g] for m in result["therapists"].values()]
        hidden = [c for c in cells if c.get("suppressed")]
        remainder = pc["episodes"] - sum(c["episodes"] or 0 for c in cells)
        assert not (len(hidden) == 1 and remainder > 0), (g, remainder)


def _check_csv(text: str, k: int) -> None:
    rows = list(csv.DictReader(io.StringIO(text)))
    flags = {(r["scope"], r["therapist_id"], r["key"].rsplit(".", 1)[0])
             for r in rows if r["key"].endswith(".suppressed") and r["value"] == "true"}
    for r in rows:
        head = r["key"].rsplit(".", 1)[0]
        if (r["scope"], r["therapist_id"], head) in flags and not r["key"].endswith(
                ".suppressed"):
            assert r["value"] == "", r
        if r["key"].startswith("neurotype.groups.") and r["key"].endswith(".episodes"):
            assert r["value"] in ("", "0") or int(r["value"]) >= k, r


@settings(max_examples=40, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(frames=caseload_frames(max_therapists=4, max_episodes=40, max_sessions=3),
       k=st.sampled_from([5, 5, 8]))
def test_no_output_reveals_a_small_cell(frames: tuple, k: int) -> None:
    sessions, episodes, therapists = frames
    cl = Caseload.from_frames(sessions, episodes, therapists, registry=default_registry())
    result = compute_metrics(cl, min_cell=k)
    _check_scope(result["practice"], k, "practice")
    for tid, m in result["therapists"].items():
        _check_scope(m, k, tid)
    _check_across(result, k)
    _check_csv(metrics_to_csv(result), k)
