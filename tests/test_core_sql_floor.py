"""The hand-written SQL floor of ``benchmarks/core_sql.py`` equals ``compute_metrics`` (issue 21).

``benchmarks/`` times whole ``supervision metrics`` against one hand-written DuckDB statement
of the core figures; that comparison means something only if both compute the same figures.
Here every figure the statement produces — practice and each therapist: ``episodes``,
``sessions_attended``, ``alliance.<measure>.{rated_sessions, early_mean, mean_slope,
low_share}``, ``ruptures.*``, ``termination.*`` with both Wilson intervals — must equal
:func:`supervision.metrics.compute_metrics`' to 1e-9, on the demo export (``data/demo``, as
Parquet) and on the hand-worked export below, whose figures are also checked against the hand
calculation (so an error the two implementations shared would still show).

The hand-worked export (a = attended; SRS unless said; rows listed in date order)
--------------------------------------------------------------------------------
E1 (T1, completed)::

    a 38 | a 30 | cancelled | a 32 | a 39

  rated 38 30 32 39: early mean 100/3; slope 2.5/5 = 0.5 (x̄ 2.5, ȳ 34.75); low (< 36) 2.
  Drop at the 2nd: 38 → 30 = 8 ≥ 5; the next rated 32, 39: 39 ≥ 38 → repaired.
E2 (T1, dropout)::

    a 36 | a 28 withdrawal, repair partial | no_show | a 30 repair resolved | a 37 | a 29

  The 30 session comes *before* the 28 one in the file (dates order them), and the last two
  share a date: 37 is the earlier row, so 37 then 29.  rated 36 28 30 37 29: early mean 94/3;
  slope −5/10 = −0.5 (x̄ 3, ȳ 32); low 3.  The 28 session is flagged and a drop (8 points):
  one rupture, flagged, repaired by the later ``resolved``.  37 → 29 = 8: a drop, nothing
  after it: unrepaired; it is the last rupture of an ended episode → ``unrepaired_at_end``.
E3 (T1, ongoing), SRS and WAI-SR on the same sessions::

    a 38 wai 50 | a 32 wai 44 | a 33 wai 50 | cancelled, rupture confrontation

  The 2nd session drops on both (SRS 6 ≥ 5, WAI-SR 6 ≥ 6, at the threshold): one rupture,
  repaired because WAI-SR is back at 50 (SRS 33 < 38 is not).  SRS early mean 103/3, slope
  −5/2 = −2.5, low 2; WAI-SR early mean 48, slope 0.  The cancelled session's rupture: a
  session that did not take place holds no rupture (as ``tests/test_ruptures.py`` R4).
E4 (T2, completed): a 35 — one attended session: intake only; low 1.
E5 (T2, client_ended): no session at all (attended 0, not intake only).
E6 (T2, ongoing): a 40 | a 40 unspecified, repair resolved — flagged, repaired on itself.
T3 is in the therapists table with no episode: not in ``therapists``.

Practice: episodes 6, attended 4+5+3+1+0+2 = 15, ended 4 (E1 E2 E4 E5), dropout 1/4,
intake only 1/4.  Ruptures: flagged 2 (E2, E6), drop 3 (E1, E2, E3), count 5, repaired 4,
per 100 = 500/15, repair rate 4/5, unrepaired at end 1 (E2).  SRS: rated 15; early mean over
the 5 rated episodes (100/3 + 94/3 + 103/3 + 35 + 40)/5 = 34.8; mean slope over E1–E3
(0.5 − 0.5 − 2.5)/3 = −5/6; low 8/15.  WAI-SR: rated 3, early 48, slope 0, low_share null.
T1: episodes 3, attended 12, ended 2, dropout 1/2, intake only 0, flagged 1, drop 3, count 4,
repaired 3, unrepaired at end 1; SRS rated 12, early 33, slope −5/6, low 7/12.
T2: episodes 3, attended 3, ended 2, dropout 0, intake only 1/2, flagged 1, count 1,
repaired 1; SRS rated 3, early 37.5, slope null (no episode with 3 rated), low 1/3; WAI-SR
rated 0 (present in the export, none of T2's).
"""

from __future__ import annotations

import math
import sys
from pathlib import Path
from typing import Any

import duckdb
import pytest

from supervision.io import load_export
from supervision.measures import default_registry
from supervision.metrics import compute_metrics

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "data" / "demo"
sys.path.insert(0, str(ROOT / "benchmarks"))
from core_sql import ALLIANCE, core_metrics, core_sql  # noqa: E402

SESSIONS = """\
client_id,therapist_id,episode_id,session_date,attendance,srs,wai_sr,rupture,repair
C1,T1,E1,2024-01-01,attended,38,,,
C1,T1,E1,2024-01-08,attended,30,,,
C1,T1,E1,2024-01-15,cancelled,,,,
C1,T1,E1,2024-01-22,attended,32,,,
C1,T1,E1,2024-01-29,attended,39,,,
C2,T1,E2,2024-02-01,attended,36,,none,
C2,T1,E2,2024-02-22,attended,30,,none,resolved
C2,T1,E2,2024-02-08,attended,28,,withdrawal,partial
C2,T1,E2,2024-02-15,no_show,,,none,
C2,T1,E2,2024-03-01,attended,37,,none,
C2,T1,E2,2024-03-01,attended,29,,none,
C3,T1,E3,2024-01-03,attended,38,50,none,
C3,T1,E3,2024-01-10,attended,32,44,none,
C3,T1,E3,2024-01-17,attended,33,50,none,
C3,T1,E3,2024-01-24,cancelled,,,confrontation,
C4,T2,E4,2024-01-05,attended,35,,none,
C6,T2,E6,2024-01-02,attended,40,,none,
C6,T2,E6,2024-01-09,attended,40,,unspecified,resolved
"""
EPISODES = """\
episode_id,client_id,therapist_id,start_date,end_date,client_neurotype,termination
E1,C1,T1,2024-01-01,2024-02-01,neurotypical,completed
E2,C2,T1,2024-02-01,2024-03-10,adhd,dropout
E3,C3,T1,2024-01-03,,unknown,ongoing
E4,C4,T2,2024-01-05,2024-01-20,neurotypical,completed
E5,C5,T2,2024-01-06,2024-01-30,autistic,client_ended
E6,C6,T2,2024-01-02,,unknown,
"""
THERAPISTS = """\
therapist_id,therapist_neurotype,team
T1,neurotypical,North
T2,adhd,North
T3,autistic,South
"""

HAND: dict[str, dict[str, Any]] = {
    "practice": {
        "episodes": 6, "sessions_attended": 15,
        "alliance.srs.rated_sessions": 15, "alliance.srs.early_mean": 34.8,
        "alliance.srs.mean_slope": -5 / 6, "alliance.srs.low_share": 8 / 15,
        "alliance.wai_sr.rated_sessions": 3, "alliance.wai_sr.early_mean": 48.0,
        "alliance.wai_sr.mean_slope": 0.0, "alliance.wai_sr.low_share": None,
        "ruptures.flagged": 2, "ruptures.drop": 3, "ruptures.count": 5,
        "ruptures.repaired": 4, "ruptures.per_100_sessions": 500 / 15,
        "ruptures.repair_rate": 0.8, "ruptures.unrepaired_at_end": 1,
        "termination.ended": 4, "termination.counts.dropout": 1,
        "termination.counts.completed": 2, "termination.counts.client_ended": 1,
        "termination.counts.ongoing": 2, "termination.counts.external": 0,
        "termination.dropout_rate": 0.25, "termination.intake_only_rate": 0.25,
    },
    "therapists.T1": {
        "episodes": 3, "sessions_attended": 12,
        "alliance.srs.rated_sessions": 12, "alliance.srs.early_mean": 33.0,
        "alliance.srs.mean_slope": -5 / 6, "alliance.srs.low_share": 7 / 12,
        "ruptures.flagged": 1, "ruptures.drop": 3, "ruptures.count": 4,
        "ruptures.repaired": 3, "ruptures.unrepaired_at_end": 1,
        "termination.ended": 2, "termination.dropout_rate": 0.5,
        "termination.intake_only_rate": 0.0,
    },
    "therapists.T2": {
        "episodes": 3, "sessions_attended": 3,
        "alliance.srs.rated_sessions": 3, "alliance.srs.early_mean": 37.5,
        "alliance.srs.mean_slope": None, "alliance.srs.low_share": 1 / 3,
        "alliance.wai_sr.rated_sessions": 0, "alliance.wai_sr.early_mean": None,
        "ruptures.flagged": 1, "ruptures.drop": 0, "ruptures.count": 1,
        "ruptures.repaired": 1, "ruptures.per_100_sessions": 100 / 3,
        "termination.ended": 2, "termination.dropout_rate": 0.0,
        "termination.intake_only_rate": 0.5,
    },
}


def _flat(node: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(node, dict):
        out: dict[str, Any] = {}
        for k, v in node.items():
            out.update(_flat(v, f"{prefix}.{k}" if prefix else str(k)))
        return out
    if isinstance(node, list) and all(isinstance(x, (int, float)) for x in node):
        return {f"{prefix}.{i}": x for i, x in enumerate(node)}
    return {prefix: node}


def _same(a: Any, b: Any) -> bool:
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, bool) or isinstance(b, bool):
        return a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)
    return a == b


def _as_parquet(src: Path, dst: Path) -> Path:
    """The CSV export ``src`` as a Parquet export (same rows, same row order)."""
    dst.mkdir()
    for name in ("sessions", "episodes", "therapists"):
        duckdb.sql(f"COPY (SELECT * FROM read_csv('{src / name}.csv')) "
                   f"TO '{dst / name}.parquet' (FORMAT parquet)")
    return dst


def _both(folder: Path, tmp: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    floor = core_metrics(_as_parquet(folder, tmp / "parquet"))
    product = compute_metrics(load_export(folder, progress=False))
    return _flat(floor), _flat(product)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], dict[str, Any]]:
    return _both(DEMO, tmp_path_factory.mktemp("demo"))


@pytest.fixture(scope="module")
def hand(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], dict[str, Any]]:
    tmp = tmp_path_factory.mktemp("hand")
    (folder := tmp / "csv").mkdir()
    for name, text in (("sessions", SESSIONS), ("episodes", EPISODES),
                       ("therapists", THERAPISTS)):
        (folder / f"{name}.csv").write_text(text, encoding="utf-8")
    return _both(folder, tmp)


def _differences(floor: dict[str, Any], product: dict[str, Any]) -> list[tuple]:
    return [(k, floor[k], product.get(k, "(missing)")) for k in sorted(floor)
            if not _same(floor[k], product.get(k))]


@pytest.mark.parametrize("export", ["demo", "hand"])
def test_floor_equals_compute_metrics(export: str, request: pytest.FixtureRequest) -> None:
    """Every figure of the statement, practice and each therapist, equals the product's."""
    floor, product = request.getfixturevalue(export)
    tids = {k.split(".")[1] for k in product if k.startswith("therapists.")}
    assert tids == {k.split(".")[1] for k in floor if k.startswith("therapists.")}
    wrong = _differences(floor, product)
    assert not wrong, f"{len(wrong)} figures differ (floor, product), e.g. {wrong[:8]}"
    # what it covers: 2 + 2 measures x 4 + ruptures 9 + termination 11 = 30 per scope
    assert sum(k.startswith("practice.") for k in floor) == 30
    assert len(floor) == 30 * (1 + len(tids))


def test_hand_worked_figures(hand: tuple[dict[str, Any], dict[str, Any]]) -> None:
    """The statement (and so the product) gives the hand calculation of the module docstring."""
    floor, _ = hand
    assert sorted({k.split(".")[1] for k in floor if k.startswith("therapists.")}) == ["T1", "T2"]
    wrong = [(f"{scope}.{k}", floor[f"{scope}.{k}"], v) for scope, figs in HAND.items()
             for k, v in figs.items() if not _same(floor[f"{scope}.{k}"], v)]
    assert not wrong, wrong
    # Wilson 95%, k = 4, n = 5: (p + z²/2n ± z√(p(1−p)/n + z²/4n²)) / (1 + z²/n)
    z, p, n = 1.959963984540054, 0.8, 5
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    assert _same(floor["practice.ruptures.repair_rate_ci.0"], centre - half)
    assert _same(floor["practice.ruptures.repair_rate_ci.1"], centre + half)


def test_thresholds_are_the_registrys() -> None:
    """The statement's drop points and concern line are domain.md's, as the registry has them."""
    reg = default_registry()
    for key, (drop, concern) in ALLIANCE.items():
        assert (reg[key].drop_threshold, reg[key].concern_below) == (drop, concern), key


def test_one_statement_lag_lead_no_index_join(tmp_path: Path) -> None:
    """One statement; neighbours by lag/lead over the one ordering, never a join on an index."""
    sql = core_sql(_as_parquet(DEMO, tmp_path / "p"))
    code = "\n".join(line.split("--")[0] for line in sql.splitlines())
    assert code.count(";") == 0 and code.strip().upper().startswith("WITH")
    assert "lag(" in code and "lead(" in code
    assert ".i +" not in code and ".i -" not in code and "i + 1" not in code
