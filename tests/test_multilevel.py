"""Intake-adjusted outcome per therapist (random-intercept MixedLM, shrunken BLUPs).

Checks: the BLUPs statsmodels returns equal the closed form of the random-intercept model
given its variance components (worked here from the residuals, not through statsmodels'
prediction code); simulated therapists with known effects are recovered within their
intervals; the small-cell rule and thin data.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from supervision.caseload import Caseload
from supervision.clinical import multilevel as ml

TRUE_SD_U, TRUE_SD_E, SLOPE = 2.0, 3.0, -0.4


def _simulate(n_therapists: int = 30, per: int = 30, seed: int = 7,
              small: dict[str, int] | None = None) -> tuple[Caseload, dict[str, float]]:
    """PHQ-9 episodes: intake ~ N(16, 3); change = −5 + SLOPE·(intake − 16) + u_j + e.

    u_j ~ N(0, 2²) is therapist j's true effect in points of change (negative = more
    improvement on PHQ-9), e ~ N(0, 3²).  ``small`` adds therapists with that many episodes.
    """
    rng = np.random.default_rng(seed)
    sizes = {f"T{j:02d}": per for j in range(n_therapists)} | (small or {})
    u = {t: float(rng.normal(0, TRUE_SD_U)) for t in sizes}
    rows, eps = [], []
    for t, k in sizes.items():
        for i in range(k):
            eid = f"{t}E{i:03d}"
            intake = float(rng.normal(16, 3))
            last = intake - 5 + SLOPE * (intake - 16) + u[t] + float(rng.normal(0, TRUE_SD_E))
            rows += [(eid, t, "2025-01-06", intake), (eid, t, "2025-03-03", last)]
            eps.append((eid, eid, t, "2025-01-06"))
    s = pd.DataFrame(rows, columns=["episode_id", "therapist_id", "session_date", "phq9"])
    s["client_id"] = s["episode_id"]
    e = pd.DataFrame(eps, columns=["episode_id", "client_id", "therapist_id", "start_date"])
    t = pd.DataFrame({"therapist_id": list(sizes)})
    return Caseload.from_frames(s, e, t), u


@pytest.fixture(scope="module")
def simulated() -> tuple[Caseload, dict[str, float]]:
    return _simulate(small={"TX1": 3, "TX2": 4})


def test_blup_equals_the_closed_form(simulated: tuple[Caseload, dict[str, float]]) -> None:
    """û_j = σ_u² / (σ_u² + σ_e²/n_j) · mean_j(change − β₀ − β₁·intake_c), by hand."""
    cl, _ = simulated
    df = ml.episode_changes(cl, "phq9")
    b0, b1, var_u, var_e, blup, _ = ml.fit(df)
    centred = df["intake"] - df["intake"].mean()
    resid = df["change"] - b0 - b1 * centred
    for t, r in resid.groupby(df["therapist_id"]):
        n = len(r)
        by_hand = var_u / (var_u + var_e / n) * (sum(r) / n)
        assert blup[t] == pytest.approx(by_hand, rel=1e-6, abs=1e-9), t


def test_known_therapist_effects_are_recovered(
        simulated: tuple[Caseload, dict[str, float]]) -> None:
    """30 therapists of 30 episodes: the 95% intervals should hold about 95% of the true
    effects (at least 26 of 30 here: binomial(30, 0.95) falls below 26 with p ≈ 0.06, and the
    seed is fixed); the variance components and the slope come back near 2, 3 and −0.4."""
    cl, u = simulated
    res = ml.intake_adjusted(cl, "phq9")
    shown = res.therapists.set_index("therapist_id")
    assert "TX1" not in shown.index and "TX2" not in shown.index and res.hidden == 2
    assert res.n_therapists == 32 and res.episodes == 30 * 30 + 7
    # The model's intercept absorbs the mean of the 32 realised effects, so the BLUPs
    # estimate each effect relative to that mean (weighted by episodes, as GLS weighs them
    # when every therapist has the same shrinkage).  PHQ-9 is lower-is-better: the estimate
    # is signed as improvement, i.e. −(u_j − ū).
    sizes = ml.episode_changes(cl, "phq9").groupby("therapist_id").size()
    u_bar = sum(u[t] * k for t, k in sizes.items()) / sizes.sum()
    truth = pd.Series({t: -(u[t] - u_bar) for t in shown.index})
    inside = (shown["low"] <= truth) & (truth <= shown["high"])
    assert inside.sum() >= 26
    assert np.corrcoef(truth, shown["adjusted_improvement"])[0, 1] > 0.8
    assert res.between_sd == pytest.approx(TRUE_SD_U, abs=0.8)
    assert res.residual_sd == pytest.approx(TRUE_SD_E, abs=0.3)
    assert res.slope == pytest.approx(SLOPE, abs=0.1)
    # shrinkage: λ = σu²/(σu² + σe²/30) ≈ 4/(4 + 0.3) ≈ 0.93 for every shown therapist
    assert shown["shrinkage"].between(0.8, 1.0).all()
    assert list(shown.index) == sorted(shown.index)  # by id, never by estimate


def test_effect_size_is_points_over_the_intake_sd(
        simulated: tuple[Caseload, dict[str, float]]) -> None:
    cl, _ = simulated
    res = ml.intake_adjusted(cl, "phq9")
    sd = ml.episode_changes(cl, "phq9")["intake"].std(ddof=1)
    t = res.therapists
    assert np.allclose(t["effect_size"], t["adjusted_improvement"] / sd)


def test_too_few_therapists_give_no_estimates_and_say_why() -> None:
    cl, _ = _simulate(n_therapists=2, per=10)
    res = ml.intake_adjusted(cl, "phq9")
    assert res.therapists.empty and "too few" in res.notes[0]


def test_identical_therapists_sit_at_the_boundary_and_say_so() -> None:
    """Three therapists with the same six (intake, last) pairs: their mean residuals are equal,
    so the REML between-therapist variance is 0, every shrunken estimate is the practice's (0,
    interval [0, 0]) and so is each unshrunk one; the note says chance explains the spread."""
    pairs = [(10, 6), (14, 9), (18, 10), (20, 15), (12, 9), (16, 8)]
    rows, eps = [], []
    for t in ("A", "B", "C"):
        for i, (pre, post) in enumerate(pairs):
            eid = f"{t}{i}"
            rows += [(eid, t, "2025-01-06", pre), (eid, t, "2025-02-03", post)]
            eps.append((eid, eid, t, "2025-01-06"))
    s = pd.DataFrame(rows, columns=["episode_id", "therapist_id", "session_date", "phq9"])
    s["client_id"] = s["episode_id"]
    e = pd.DataFrame(eps, columns=["episode_id", "client_id", "therapist_id", "start_date"])
    cl = Caseload.from_frames(s, e, pd.DataFrame({"therapist_id": ["A", "B", "C"]}))
    res = ml.intake_adjusted(cl, "phq9")
    t = res.therapists
    assert list(t["therapist_id"]) == ["A", "B", "C"] and res.between_sd == 0
    assert (t[["adjusted_improvement", "low", "high", "shrinkage"]] == 0).all().all()
    assert np.allclose(t["unshrunk"], 0)
    assert any("no more than chance" in n for n in res.notes)


def test_a_clear_between_therapist_spread_is_not_fitted_as_zero() -> None:
    """100 therapists × 40 episodes, true σ_u = 1.5 beside σ_e = 5 (the between-therapist
    share of variance 8%): the fit must find σ_u near 1.5.  L-BFGS alone stops at σ_u² = 0
    on such data (statsmodels 0.15), so the optimiser order matters."""
    rng = np.random.default_rng(1)
    t = np.repeat(np.arange(100), 40)
    u = rng.normal(0, 1.5, 100)
    intake = rng.normal(16, 4, t.size)
    change = -5 - 0.4 * (intake - 16) + u[t] + rng.normal(0, 5, t.size)
    df = pd.DataFrame({"therapist_id": [f"T{x:03d}" for x in t], "intake": intake,
                       "change": change})
    _, slope, var_u, var_e, _, converged = ml.fit(df)
    assert converged
    assert 1.0 < var_u**0.5 < 2.0 and 4.7 < var_e**0.5 < 5.3
    assert slope == pytest.approx(-0.4, abs=0.05)
