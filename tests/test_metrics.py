"""``compute_metrics`` / ``metrics_to_csv``: the JSON of domain.md §9.

The hand-built export is the one of ``tests/test_termination.py`` (figures worked out in its
docstring: practice drop-out 2/4 with Wilson [0.1500, 0.8500], intake only 1/4, 7 attended
sessions; T1 drop-out 2/3; the two ongoing episodes left out of drop-out).  It has no ratings,
so it also shows the shape when no alliance or outcome measure is present.  The demo export
and random exports check everything else against the plain-Python reference and against the
metric modules' own summaries.
"""

from __future__ import annotations

import csv
import io
import json
import math
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import reference as ref
from hypothesis import HealthCheck, given, settings
from strategies import caseload_frames
from test_termination import hand_frames

from supervision.caseload import Caseload
from supervision.clinical import alliance, ruptures
from supervision.errors import ConfigError, ScopeError
from supervision.metrics import compute_metrics, metrics_to_csv, metrics_to_json

DEMO = Path(__file__).resolve().parents[1] / "data" / "demo"
GROUPS = ("shared", "other_nd", "nd_therapist", "nt_therapist", "both_nt", "unknown")
M_KEYS = {"episodes", "sessions_attended", "alliance", "ruptures", "termination", "outcomes",
          "neurotype"}
ALLIANCE_KEYS = {"rated_sessions", "early_mean", "mean_slope", "low_share"}
RUPTURE_KEYS = {"flagged", "drop", "count", "repaired", "per_100_sessions", "repair_rate",
                "repair_rate_ci", "unrepaired_at_end"}
TERMINATION_KEYS = {"ended", "counts", "dropout_rate", "dropout_rate_ci", "intake_only_rate"}
COUNT_KEYS = {"completed", "client_ended", "dropout", "external", "therapist_ended", "ongoing"}
OUTCOME_KEYS = {"paired", "reliable_improvement", "reliable_deterioration", "recovered",
                "reliable_recovery"}
GROUP_KEYS = {"episodes", "early_alliance", "dropout_rate", "repair_rate",
              "reliable_improvement_rate"}


@pytest.fixture(scope="module")
def hand() -> Caseload:
    return Caseload.from_frames(*hand_frames(), source="hand-built")


@pytest.fixture(scope="module")
def demo() -> Caseload:
    if not (DEMO / "sessions.csv").exists():
        pytest.skip("data/demo not generated")
    from supervision.io import load_export

    return load_export(DEMO, progress=False)


@pytest.fixture(scope="module")
def demo_result(demo: Caseload) -> dict[str, Any]:
    return compute_metrics(demo)


def check_m(m: dict[str, Any], alliance_measures: list[str], outcome_keys: list[str]) -> None:
    """Every key domain.md §9 names for M, listed explicitly."""
    assert set(m) >= M_KEYS
    assert set(m["alliance"]) == set(alliance_measures)
    for k in alliance_measures:
        assert set(m["alliance"][k]) >= ALLIANCE_KEYS
    assert set(m["ruptures"]) >= RUPTURE_KEYS
    assert set(m["termination"]) >= TERMINATION_KEYS
    assert set(m["termination"]["counts"]) == COUNT_KEYS
    assert set(m["outcomes"]) == set(outcome_keys)
    for k in outcome_keys:
        assert set(m["outcomes"][k]) >= OUTCOME_KEYS
    assert set(m["neurotype"]) >= {"groups"}
    assert set(m["neurotype"]["groups"]) == set(GROUPS)
    for cell in m["neurotype"]["groups"].values():
        assert GROUP_KEYS | {"suppressed"} <= set(cell)
        if cell["suppressed"]:
            assert all(cell[k] is None for k in GROUP_KEYS)


def _walk(node: Any, path: str = "") -> list[tuple[str, Any]]:
    if isinstance(node, dict):
        return [x for k, v in node.items() for x in _walk(v, f"{path}.{k}")]
    if isinstance(node, list) and path.endswith("cases"):
        return [(f"{path}.{c['episode_id']}", c["reasons"]) for c in node]
    return [(path, node)]


def test_hand_built_figures(hand: Caseload) -> None:
    """The test_termination figures, in JSON; no measures → empty alliance/outcomes."""
    r = compute_metrics(hand)
    p = r["practice"]
    check_m(p, [], [])
    assert (p["episodes"], p["sessions_attended"]) == (6, 7)
    t = p["termination"]
    assert t["ended"] == 4 and t["counts"]["ongoing"] == 2 and t["counts"]["dropout"] == 2
    assert t["dropout_rate"] == 0.5 and t["intake_only_rate"] == 0.25
    assert t["dropout_rate_ci"] == pytest.approx([0.1500, 0.8500], abs=1e-4)
    assert r["therapists"]["T1"]["termination"]["dropout_rate"] == pytest.approx(2 / 3)
    assert r["therapists"]["T2"]["cases"] == []
    # no ruptures: repair_rate has denominator 0 → null, counts 0
    assert p["ruptures"]["count"] == 0 and p["ruptures"]["repair_rate"] is None
    # 6 episodes, all "unknown" neurotype: T1 holds 4 of them (a small cell) and T2 2.  T1's
    # total (4) is published, so a practice row "unknown 6, shared 0, other_nd 0" would pin
    # T1's hidden 4 (T1's total minus T1's other groups, each bound to 0 by a practice 0):
    # the LP audit (privacy.py) hides the practice's unknown and two of its zeros as
    # complements; the groups no one is in stay shown as 0.
    g = p["neurotype"]["groups"]
    assert g["unknown"]["episodes"] is None and g["unknown"]["suppressed"]
    assert sum(c["suppressed"] for c in g.values()) >= 2
    assert g["both_nt"] == {**g["both_nt"], "episodes": 0, "suppressed": False}
    # T2 has 2 episodes, both in "unknown": suppressed, with the first empty cell beside it
    g2 = r["therapists"]["T2"]["neurotype"]["groups"]
    assert g2["unknown"]["suppressed"] and g2["unknown"]["episodes"] is None
    assert g2["shared"]["suppressed"]
    assert r["meta"]["note"] == "prompts for reflection, not verdicts"
    assert r["meta"]["source"] == "hand-built" and r["meta"]["min_cell"] == 5


def test_therapist_option_and_window(hand: Caseload) -> None:
    """--therapist keeps the practice aggregate; the window reads episodes as of ``until``."""
    one = compute_metrics(hand, therapist="T1")
    full = compute_metrics(hand)
    assert list(one["therapists"]) == ["T1"]
    assert one["practice"] == full["practice"]
    assert one["therapists"]["T1"] == full["therapists"]["T1"]
    with pytest.raises(ScopeError, match="no therapist"):
        compute_metrics(hand, therapist="T9")
    w = compute_metrics(hand, until="2024-01-10")
    assert w["practice"]["termination"]["ended"] == 3  # E1 ended later: ongoing as of 01-10
    assert w["meta"]["window"] == {"since": None, "until": "2024-01-10"}


def test_min_cell_upward_only(hand: Caseload) -> None:
    with pytest.raises(ConfigError, match="upward only"):
        compute_metrics(hand, min_cell=3)
    r = compute_metrics(hand, min_cell=7)  # the practice's 6 "unknown" episodes now hidden
    assert r["practice"]["neurotype"]["groups"]["unknown"]["suppressed"]
    assert r["meta"]["min_cell"] == 7


def test_demo_json_has_every_key_and_no_nan(demo: Caseload, demo_result: dict) -> None:
    """Every §9 key for the practice and each therapist; strict JSON round trip."""
    r = demo_result
    al = [k for k in ("srs", "wai_sr") if k in demo.measures_present("alliance")]
    outs = demo.measures_present("outcome")
    outs += ["phq9_gad7"] if {"phq9", "gad7"} <= set(outs) else []
    assert set(r) >= {"practice", "therapists", "meta"}
    check_m(r["practice"], al, outs)
    assert set(r["therapists"]) == set(demo.therapist_ids())
    for m in r["therapists"].values():
        check_m(m, al, outs)
        assert isinstance(m["cases"], list)
        for case in m["cases"]:
            assert set(case) == {"episode_id", "reasons", "details"} and case["reasons"]
            assert (case["details"] is not None) == ("not_on_track" in case["reasons"])
    text = json.dumps(r, allow_nan=False)
    assert json.loads(text) == r


def test_demo_rates_and_cells(demo_result: dict) -> None:
    """Every rate and interval in 0–1; no shown neurotype cell below 5 episodes."""
    for path, v in _walk(demo_result):
        last = path.rsplit(".", 1)[-1]
        if v is not None and last.endswith(("_rate", "_share", "_rate_ci")):
            vals = v if isinstance(v, list) else [v]
            assert all(0 <= x <= 1 for x in vals), path
    for m in [demo_result["practice"], *demo_result["therapists"].values()]:
        for cell in m["neurotype"]["groups"].values():
            assert cell["suppressed"] or cell["episodes"] == 0 or cell["episodes"] >= 5


def test_demo_equals_module_summaries(demo: Caseload, demo_result: dict) -> None:
    """compute_metrics aggregates cached per-episode tables itself: it must give the same
    figures as alliance.alliance_summary and ruptures.rupture_summary (the views' source)."""
    a = alliance.alliance_summary(demo, "srs", by="therapist_id").set_index("therapist_id")
    rs = ruptures.rupture_summary(demo, by="therapist_id").set_index("therapist_id")
    for tid, m in demo_result["therapists"].items():
        got = m["alliance"]["srs"]
        for k in ("rated_sessions", "early_mean", "mean_slope", "low_share"):
            assert got[k] == pytest.approx(a.loc[tid, k]), (tid, k)
        assert got["early_mean_ci"] == pytest.approx(
            [a.loc[tid, "early_mean_low"], a.loc[tid, "early_mean_high"]])
        for k in ("flagged", "drop", "count", "repaired", "unrepaired_at_end",
                  "per_100_sessions", "repair_rate"):
            assert m["ruptures"][k] == pytest.approx(rs.loc[tid, k]), (tid, k)


def test_demo_equals_reference(demo: Caseload, demo_result: dict) -> None:
    """Termination, outcomes and neurotype groups equal the plain-Python reference."""
    s, e, t = (demo.sessions.execute(), demo.episodes.execute(), demo.therapists.execute())
    _compare_reference(demo_result, s, e, t, demo.registry, 5)


def _close(got: Any, want: Any) -> bool:
    if want is None or (isinstance(want, float) and math.isnan(want)):
        return got is None
    return got == pytest.approx(want)


def _compare_reference(r: dict, s: pd.DataFrame, e: pd.DataFrame, t: pd.DataFrame,
                       reg: Any, min_cell: int) -> None:
    term = ref.termination_summary(s, e, t, "therapist_id")
    for tid, want in term.items():
        got = r["therapists"][tid]["termination"]
        assert _close(got["dropout_rate"], want["dropout_rate"]), tid
        assert _close(got["intake_only_rate"], want["intake_only_rate"]), tid
        assert got["counts"] == {k: want[k] for k in COUNT_KEYS}
    groups = dict(zip(e["episode_id"], e["therapist_id"], strict=True))
    present = [k for k in ("phq9", "gad7") if s[k].notna().any()]
    keyed = {k: ref.episode_outcomes(s, reg, k) for k in present}
    if len(present) == 2:
        keyed["phq9_gad7"] = ref.episode_phq9_gad7(s, reg)
    for key, per in keyed.items():
        want_all = ref.outcome_summary(per, groups)
        for tid, m in r["therapists"].items():
            want = want_all.get(tid, {"paired": 0, **dict.fromkeys(OUTCOME_KEYS - {"paired"}, 0)})
            for k in OUTCOME_KEYS:
                assert m["outcomes"][key][k] == want[k], (key, tid, k)
    g = ref.group_summary(s, e, t, reg, min_cell=min_cell)
    for grp, want in g.items():
        got = r["practice"]["neurotype"]["groups"][grp]
        if got["suppressed"] and not want["suppressed"]:
            # The practice's groups are also the column totals of the therapist × group
            # table, so privacy.py's LP audit may hide a practice cell as a complement of a
            # therapist's small cell (the reference protects the one-way table alone).  A
            # cell the reference hides is always hidden; a shown cell equals the reference.
            assert all(got[k] is None for k in want if k != "suppressed"), grp
            continue
        for k, v in want.items():
            assert _close(got[k], v) if v is not None else got[k] is None, (grp, k)


@pytest.mark.slow
@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(frames=caseload_frames(max_episodes=8))
def test_random_exports_equal_reference(frames: tuple) -> None:
    """Random valid exports: reference figures, strict JSON, CSV with one row per leaf."""
    s, e, t = frames
    cl = Caseload.from_frames(s, e, t)
    r = compute_metrics(cl)
    json.dumps(r, allow_nan=False)
    _compare_reference(r, s, e, t, cl.registry, 5)


def test_json_text_equals_standard_library(demo_result: dict) -> None:
    """``metrics_to_json`` (orjson) reads back to exactly what ``json.dumps`` writes.

    Same keys in the same order, same numbers (both write floats as the shortest text that
    round-trips), indented; and a NaN is refused, where orjson alone would write null.
    """
    text = metrics_to_json(demo_result)
    assert json.loads(text) == json.loads(json.dumps(demo_result))
    assert list(json.loads(text)) == list(demo_result)
    assert text.startswith('{\n  "practice"')
    bad = {**demo_result, "meta": {**demo_result["meta"], "x": [1.0, float("nan")]}}
    with pytest.raises(ValueError, match="NaN"):
        metrics_to_json(bad)


def test_csv(hand: Caseload) -> None:
    """Long CSV: scope, therapist_id, key, value; intervals as .low/.high; null as empty."""
    r = compute_metrics(hand)
    rows = list(csv.DictReader(io.StringIO(metrics_to_csv(r))))
    assert list(rows[0]) == ["scope", "therapist_id", "key", "value"]
    get = {(x["scope"], x["therapist_id"], x["key"]): x["value"] for x in rows}
    assert get[("practice", "", "termination.dropout_rate")] == "0.5"
    assert float(get[("practice", "", "termination.dropout_rate_ci.low")]) == pytest.approx(
        0.15, abs=1e-4)
    assert get[("therapist", "T1", "termination.counts.dropout")] == "2"
    assert get[("practice", "", "ruptures.repair_rate")] == ""
    assert get[("meta", "", "note")] == "prompts for reflection, not verdicts"


def test_empty_window(hand: Caseload) -> None:
    """A window before every episode: counts 0, every rate null, all six groups listed as 0,
    strict JSON (nothing divides by zero into NaN)."""
    r = compute_metrics(hand, until="2023-12-31")
    json.dumps(r, allow_nan=False)
    p = r["practice"]
    assert p["episodes"] == 0 and r["therapists"] == {}
    assert p["termination"]["dropout_rate"] is None and p["termination"]["dropout_rate_ci"] is None
    assert {g: c["episodes"] for g, c in p["neurotype"]["groups"].items()} == dict.fromkeys(
        GROUPS, 0)
    one = compute_metrics(hand, therapist="T1", until="2023-12-31")
    assert one["therapists"]["T1"]["episodes"] == 0 and one["therapists"]["T1"]["cases"] == []
