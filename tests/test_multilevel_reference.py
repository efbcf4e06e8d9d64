"""The summary-statistics REML fit (multilevel.fit_sums) against statsmodels ``MixedLM``.

The reference is statsmodels' random-intercept ``MixedLM`` fitted by REML to one row per
episode (what multilevel.py used before it was fitted from per-therapist sums).  Compared on
simulated practices, unbalanced (2 to 60 episodes per therapist) and balanced, one with no
between-therapist variance (σ_u² = 0, the boundary): fixed effects, variance components,
BLUPs and the 95% interval bounds.

Tolerances.  statsmodels' optimisers stop where its REML log-likelihood is flat to ~1e-9, which
leaves σ_u² uncertain in about the 5th significant figure (its Powell and L-BFGS answers differ
by up to 3e-5 relative on these data).  So (1) the REML log-likelihood that statsmodels itself
computes at our estimates is at least its own maximum (ours is the better maximiser, not a
different model), and (2) the estimates agree to 1e-5 relative, 1e-4 for σ_u² (absolute
1e-6 × σ_e² at the boundary, where statsmodels reports a σ_u² of ~1e-8 instead of 0), an
BLUP û_j = λ_j r̄_j to 1e-5 plus (1 − λ_j) × the two fits' relative difference in σ_u² (how
far that difference moves λ_j; or within 1e-5 σ_e of it when û_j is near 0, where β₀'s
1e-6-relative difference dominates), and an interval bound û_j ± half to the same share of its
scale |û_j| + half.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from supervision.caseload import Caseload
from supervision.clinical import multilevel as ml

Z95 = 1.959963984540054


def _practice(seed: int, k: int, sd_u: float, unbalanced: bool) -> pd.DataFrame:
    """``therapist_id, intake, change``: change = −5 − 0.4·(intake − 16) + u_j + e."""
    rng = np.random.default_rng(seed)
    sizes = rng.integers(2, 60, k) if unbalanced else np.full(k, 20)
    t = np.repeat(np.arange(k), sizes)
    u = rng.normal(0, sd_u, k)
    intake = np.round(rng.normal(16, 4, t.size))  # whole-point scores, as PHQ-9's
    change = np.round(-5 - 0.4 * (intake - 16) + u[t] + rng.normal(0, 5, t.size))
    return pd.DataFrame({"therapist_id": [f"T{x:03d}" for x in t], "intake": intake,
                         "change": change})


CASES = {"unbalanced": (1, 40, 2.0, True), "unbalanced_small_spread": (2, 25, 1.0, True),
         "boundary": (3, 30, 0.0, False), "few_therapists": (4, 12, 3.0, True)}


def _caseload(df: pd.DataFrame) -> Caseload:
    eid = [f"E{i:05d}" for i in range(len(df))]
    first = pd.DataFrame({"episode_id": eid, "therapist_id": df["therapist_id"],
                          "session_date": "2025-01-06", "phq9": df["intake"]})
    last = first.assign(session_date="2025-03-03", phq9=df["intake"] + df["change"])
    s = pd.concat([first, last], ignore_index=True)
    s["client_id"] = s["episode_id"]
    e = pd.DataFrame({"episode_id": eid, "client_id": eid, "therapist_id": df["therapist_id"],
                      "start_date": "2025-01-06"})
    return Caseload.from_frames(s, e, pd.DataFrame(
        {"therapist_id": sorted(df["therapist_id"].unique())}))


def _statsmodels(df: pd.DataFrame) -> tuple:
    import statsmodels.formula.api as smf

    d = df.assign(intake_c=df["intake"] - df["intake"].mean())
    model = smf.mixedlm("change ~ intake_c", d, groups=d["therapist_id"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # boundary warnings in the σ_u² = 0 case
        return model, model.fit(reml=True, method=["powell", "lbfgs"])


@pytest.mark.parametrize("case", list(CASES))
def test_the_sums_fit_equals_statsmodels_reml(case: str) -> None:
    from statsmodels.regression.mixed_linear_model import MixedLMParams

    seed, k, sd_u, unbalanced = CASES[case]
    df = _practice(seed, k, sd_u, unbalanced)
    b0, b1, var_u, var_e, blup, converged = ml.fit(df)
    model, ref = _statsmodels(df)
    ref_u = float(ref.cov_re.iloc[0, 0])
    assert converged
    # (1) statsmodels' own REML log-likelihood at our estimates is at least its maximum
    ours = MixedLMParams.from_components(np.array([b0, b1]), cov_re=np.array([[var_u / var_e]]))
    assert model.loglike(ours, profile_fe=False) >= ref.llf - 1e-7
    # (2) the estimates
    assert b0 == pytest.approx(ref.fe_params["Intercept"], rel=1e-5)
    assert b1 == pytest.approx(ref.fe_params["intake_c"], rel=1e-5)
    assert var_e == pytest.approx(ref.scale, rel=1e-5)
    if case == "boundary":
        assert var_u == 0 and ref_u < 1e-6 * ref.scale and blup == {}
    else:
        assert var_u == pytest.approx(ref_u, rel=1e-4)
    res = ml.intake_adjusted(_caseload(df), "phq9")
    t = res.therapists.set_index("therapist_id")
    assert res.n_therapists == k and len(t) + res.hidden == k
    assert res.slope == pytest.approx(b1, rel=1e-7)
    sizes = df.groupby("therapist_id").size()
    d_u = abs(var_u / ref_u - 1) if case != "boundary" else 0.0
    for g, re in ref.random_effects.items():
        # û_j = λ_j r̄_j: λ_j's relative error is (1 − λ_j) × σ_u²'s, which is statsmodels'
        lam = ref_u / (ref_u + ref.scale / sizes[g])
        rel = 1e-5 + (1 - lam) * d_u
        tiny = 1e-5 * float(np.sqrt(ref.scale))  # for û_j near 0: 1e-5 of σ_e
        u_ref = float(re.iloc[0]) if case != "boundary" else 0.0
        half = Z95 * float(np.sqrt(ref.random_effects_cov[g].iloc[0, 0])) \
            if case != "boundary" else 0.0
        if case != "boundary":
            assert blup[g] == pytest.approx(u_ref, rel=rel, abs=tiny), g
        # PHQ-9 is lower-is-better: estimates are signed as improvement, −û_j
        if g not in t.index:  # fewer than min_cell episodes: not shown
            continue
        row = t.loc[g]
        assert row["adjusted_improvement"] == pytest.approx(-u_ref, rel=rel, abs=tiny), g
        # a bound is û_j ± half: relative to its scale, |û_j| + half
        scale = abs(u_ref) + half
        assert row["low"] == pytest.approx(-u_ref - half, rel=rel, abs=rel * scale), g
        assert row["high"] == pytest.approx(-u_ref + half, rel=rel, abs=rel * scale), g
