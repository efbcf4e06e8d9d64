"""Over-dispersion of funnel plots (Spiegelhalter 2005; FunnelPlotR ``data_type = "PR"``).

Expected numbers come from a slow reference written here with plain ``math`` and lists
(:func:`_reference`: R's type-7 quantile by hand, loops for the sums), from hand
calculations in the docstrings, or from simulated data with a known between-therapist spread.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from supervision.clinical import dispersion as dp
from supervision.views import practice as vp


def _quantile7(xs: list[float], p: float) -> float:
    """R's default ``quantile`` (type 7): h = (n − 1)p, interpolate between floor and ceil."""
    s = sorted(xs)
    h = (len(s) - 1) * p
    lo = math.floor(h)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (h - lo) * (s[hi] - s[lo])


def _reference(k: list[int], n: list[int], p0: float) -> tuple[float, float]:
    """φ and τ² exactly as Spiegelhalter (2005) App. A.2–A.3 / FunnelPlotR's code state them."""
    t0 = math.asin(math.sqrt(p0))
    z = [(math.asin(math.sqrt(ki / ni)) - t0) / (1 / (2 * math.sqrt(ni)))
         for ki, ni in zip(k, n, strict=True)]
    lo, hi = _quantile7(z, 0.1), _quantile7(z, 0.9)
    zw = [lo if x < lo else hi if x > hi else x for x in z]
    i = len(zw)
    phi = sum(x * x for x in zw) / i
    w = [4 * ni for ni in n]
    sw, sw2 = 0.0, 0.0
    for wi in w:
        sw += wi
        sw2 += wi * wi
    tau2 = 0.0 if i * phi < i - 1 else max(0.0, (i * phi - (i - 1)) / (sw - sw2 / sw))
    return phi, tau2


@settings(max_examples=80, deadline=None, derandomize=True)
@given(st.lists(st.tuples(st.integers(1, 200), st.floats(0, 1)), min_size=2, max_size=30),
       st.floats(0.02, 0.98))
def test_phi_and_tau2_equal_the_slow_reference(units: list[tuple[int, float]], p0: float) -> None:
    n = [u[0] for u in units]
    k = [round(u[0] * u[1]) for u in units]
    d = dp.overdispersion(k, n, p0=p0)
    phi, tau2 = _reference(k, n, p0)
    assert d.phi == pytest.approx(phi, rel=1e-12, abs=1e-12)
    assert d.tau2 == pytest.approx(tau2, rel=1e-12, abs=1e-15)
    assert d.therapists == len(n)


def test_hand_worked_phi_without_winsorising_effect() -> None:
    """Two therapists at p0 = 0.5: T1 30 of 100, T2 70 of 100.

    z₁ = (asin√0.3 − π/4)·2·10 = (0.579640 − 0.785398)·20 = −4.115168, z₂ = +4.115168
    (symmetric).  With two points the 10% / 90% quantiles are −z₂ + 0.1·2z₂ = −3.292134 and
    +3.292134, so both are Winsorised to ±3.292134 and φ = 3.292134² = 10.838149.
    τ² = (2φ − 1) / (Σw − Σw²/Σw) with w = 400, 400: (21.676298 − 1) / (800 − 400)
    = 0.051691.
    """
    d = dp.overdispersion([30, 70], [100, 100], p0=0.5)
    assert d.phi == pytest.approx(10.838149, abs=1e-5)
    assert d.tau2 == pytest.approx(0.051691, abs=1e-6)
    assert not d.adjusted  # two therapists are too few to adjust the funnel for


def test_limits_without_spread_are_the_arcsine_normal_limits() -> None:
    """τ² = 0, p0 = 0.5, n = 100: θ₀ = π/4, s = 1/(2·10) = 0.05, z = 1.959964.

    upper = sin²(π/4 + 0.0979982) = (1 + sin 0.1959964)/2 = (1 + 0.194745)/2 = 0.597372,
    lower = 1 − upper = 0.402628 (symmetric at 0.5).
    """
    d = dp.Dispersion(therapists=10, p0=0.5, phi=0.8, tau2=0.0, chi2_p=0.6)
    lim = dp.adjusted_limits(d, [100])
    assert lim["upper_95"].iloc[0] == pytest.approx(0.597372, abs=1e-6)
    assert lim["lower_95"].iloc[0] == pytest.approx(0.402628, abs=1e-6)
    # φ < 1: the multiplicative method never narrows the limits
    assert dp.adjusted_limits(d, [100], method="multiplicative").equals(lim)


def test_additive_limits_keep_a_floor_of_spread_at_large_n() -> None:
    """τ² = 0.01 (τ = 0.1 on the arcsine scale), p0 = 0.5: as n → ∞ the 95% limits tend to
    sin²(π/4 ± 1.959964·0.1) = (1 ± sin 0.391993)/2 = (1 ± 0.382039)/2 = 0.691020 / 0.308980,
    while the multiplicative ones (φ = 3) shrink to the practice rate."""
    d = dp.Dispersion(therapists=10, p0=0.5, phi=3.0, tau2=0.01, chi2_p=0.001)
    add = dp.adjusted_limits(d, [10**9])
    assert add["upper_95"].iloc[0] == pytest.approx(0.691020, abs=1e-5)
    assert add["lower_95"].iloc[0] == pytest.approx(0.308980, abs=1e-5)
    mult = dp.adjusted_limits(d, [10**9], method="multiplicative")
    assert mult["upper_95"].iloc[0] == pytest.approx(0.5, abs=1e-4)


def test_simulated_spread_is_detected_and_chance_alone_is_not() -> None:
    """40 therapists with 60 ended episodes each.  Binomial at 0.2 (no over-dispersion):
    E[φ] ≈ 1 before Winsorising (somewhat less after), and τ² small.  Rates drawn on the
    arcsine scale with a true τ = 0.15 (τ² = 0.0225): the estimate recovers τ² roughly."""
    rng = np.random.default_rng(20261207)
    n = np.full(40, 60)
    p0 = 0.2
    chance = dp.overdispersion(rng.binomial(n, p0), n, p0=p0)
    assert chance.phi < 1.5 and chance.tau2 < 0.004
    theta = math.asin(math.sqrt(p0)) + rng.normal(0, 0.15, 40)
    p = np.sin(np.clip(theta, 0, math.pi / 2)) ** 2
    spread = dp.overdispersion(rng.binomial(n, p), n, p0=p0)
    assert spread.adjusted and spread.phi > 3
    assert 0.01 < spread.tau2 < 0.04


def test_funnel_draws_adjusted_limits_and_says_so() -> None:
    """Ten therapists of 40 ended episodes, half with 4 drop-outs and half with 16 (rates 0.1
    and 0.4 around 0.25): far more spread than chance, so the funnel is adjusted."""
    per = pd.DataFrame({"therapist_id": [f"T{i}" for i in range(10)],
                        "k": [4, 16] * 5, "n": [40] * 10})
    fig = vp.funnel_figure(per, 0.25, title="Drop-out", noun="ended episodes")
    names = {t.name for t in fig.data}
    assert "95% limits, adjusted" in names and "95% limits without adjustment" in names
    words = " ".join(a.text for a in fig.layout.annotations).replace("<br>", " ")
    assert "widened for over-dispersion" in words and "φ =" in words
    meta = fig.layout.meta["dispersion"]
    d = dp.overdispersion(per["k"], per["n"], p0=0.25)
    assert meta["adjusted"] and meta["phi"] == pytest.approx(d.phi)
    adj = [t.y[39] for t in fig.data if t.name == "95% limits, adjusted"]  # lower, upper
    raw = [t.y[39] for t in fig.data if t.name == "95% limits without adjustment"]
    assert adj[0] < raw[0] < 0.25 < raw[1] < adj[1]  # at n = 40 the adjusted ones are wider


def test_funnel_without_spread_is_not_adjusted_and_says_so() -> None:
    """Six therapists at exactly the practice rate (5 of 20): φ = 0, no adjustment."""
    per = pd.DataFrame({"therapist_id": [f"T{i}" for i in range(6)], "k": [5] * 6,
                        "n": [20] * 6})
    fig = vp.funnel_figure(per, 0.25, title="Drop-out", noun="ended episodes")
    assert not any("adjust" in (t.name or "") for t in fig.data)
    words = " ".join(a.text for a in fig.layout.annotations).replace("<br>", " ")
    assert "Limits not adjusted" in words
