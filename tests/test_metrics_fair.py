"""``metrics`` JSON: ``funnels`` (over-dispersion) and ``adjusted_outcome`` (README keys).

The figures are those of :mod:`supervision.clinical.dispersion` and
:mod:`supervision.clinical.multilevel`, checked against their references in
tests/test_dispersion.py and tests/test_multilevel.py; here: the keys, the small-cell rule,
no NaN, and the same numbers with and without ``--therapist``.
"""

from __future__ import annotations

import json

import pytest
from test_multilevel import _simulate

from supervision.caseload import Caseload
from supervision.clinical import multilevel as ml
from supervision.metrics import compute_metrics, metrics_to_csv, metrics_to_json


@pytest.fixture(scope="module")
def simulated() -> Caseload:
    return _simulate(n_therapists=8, per=12, seed=3, small={"TX1": 2})[0]


@pytest.fixture(scope="module")
def result(simulated: Caseload) -> dict:
    return compute_metrics(simulated)


def test_practice_carries_the_model_and_the_prompt(result: dict) -> None:
    a = result["practice"]["adjusted_outcome"]["phq9"]
    assert a["episodes"] == 8 * 12 + 2 and a["therapists"] == 9 and a["hidden"] == 1
    assert "prompt for supervision" in a["note"]
    assert set(a) >= {"slope", "between_sd", "residual_sd", "intake_sd", "converged"}


def test_each_therapist_estimate_is_the_models_and_small_ones_are_null(
        simulated: Caseload, result: dict) -> None:
    table = ml.intake_adjusted(simulated, "phq9").therapists.set_index("therapist_id")
    for tid, row in table.iterrows():
        got = result["therapists"][tid]["adjusted_outcome"]["phq9"]
        assert got["episodes"] == 12
        assert got["estimate"] == pytest.approx(row["adjusted_improvement"])
        assert got["estimate_ci"] == pytest.approx([row["low"], row["high"]])
        assert got["effect_size"] == pytest.approx(row["effect_size"])
    assert result["therapists"]["TX1"]["adjusted_outcome"]["phq9"] is None


def test_funnels_dispersion_keys(result: dict) -> None:
    f = result["practice"]["funnels"]
    assert set(f) == {"dropout", "reliable_improvement"}
    d = f["reliable_improvement"]["phq9"]
    assert set(d) == {"therapists", "phi", "tau2", "chi2_p", "adjusted"}
    # TX1 (2 paired episodes) and, as its complement, one more therapist are left out
    assert d["therapists"] <= 8


def test_no_nan_and_same_with_therapist_flag(simulated: Caseload, result: dict) -> None:
    json.loads(metrics_to_json(result))
    assert "adjusted_outcome.phq9.estimate" in metrics_to_csv(result)
    one = compute_metrics(simulated, therapist="T02")
    a, b = (r["therapists"]["T02"]["adjusted_outcome"]["phq9"] for r in (one, result))
    # the same model fitted again: equal up to the optimiser's rounding (~1e-14)
    assert a["episodes"] == b["episodes"]
    for key in ("estimate", "effect_size", "shrinkage"):
        assert a[key] == pytest.approx(b[key], rel=1e-9, abs=1e-12)
    assert a["estimate_ci"] == pytest.approx(b["estimate_ci"], rel=1e-9)
    assert one["practice"]["funnels"] == result["practice"]["funnels"]
