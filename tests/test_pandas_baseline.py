"""The pandas baseline of ``benchmarks/`` computes the same figures as ``compute_metrics``.

``benchmarks/RESULTS.md`` compares the speed of :func:`supervision.metrics.compute_metrics`
with ``benchmarks/pandas_baseline.py`` (issue 5).  That comparison is only fair if both compute
the same thing: here every figure the baseline produces — practice and each therapist —
must equal the library's on the demo export (300 episodes, seed 7), to 1e-9.  The two are
independent implementations (pandas groupby/shift vs Ibis over DuckDB) of domain.md §3–§6, so
agreement is also a cross-check of the metric modules.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("supervision.metrics", reason="supervision.metrics has not landed yet")

from supervision.demo import write_demo
from supervision.io import load_export
from supervision.metrics import compute_metrics

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from pandas_baseline import baseline_metrics


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
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)
    return a == b


@pytest.fixture(scope="module")
def both(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], dict[str, Any]]:
    folder = tmp_path_factory.mktemp("demo")
    write_demo(folder, episodes=300, seed=7, fmt="csv")
    ours = compute_metrics(load_export(folder, progress=False))
    return _flat(ours), _flat(baseline_metrics(folder))


def test_baseline_covers_practice_and_every_therapist(both: tuple[dict, dict]) -> None:
    """Same therapists, and the baseline's figures are a subset of compute_metrics' keys."""
    ours, base = both
    tids = {k.split(".")[1] for k in ours if k.startswith("therapists.")}
    assert tids == {k.split(".")[1] for k in base if k.startswith("therapists.")}
    missing = sorted(k for k in base if k not in ours)
    assert not missing, f"baseline keys compute_metrics does not have: {missing[:10]}"
    # practice: episodes, sessions_attended (2) + 2 alliance measures x 4 (8) + ruptures 7 and
    # a 2-value interval (9) + termination ended, 6 counts, 2 rates, interval (11) + outcomes
    # phq9, gad7, phq9_gad7 x 5 (15) + 6 neurotype groups x 6 fields (36) = 81 figures
    assert sum(k.startswith("practice.") for k in base) == 81


def test_baseline_equals_compute_metrics(both: tuple[dict, dict]) -> None:
    """Every figure of the baseline equals compute_metrics' (reference: the library itself)."""
    ours, base = both
    wrong = [(k, base[k], ours.get(k)) for k in sorted(base) if not _same(base[k], ours.get(k))]
    assert not wrong, f"{len(wrong)} figures differ, e.g. {wrong[:8]}"
