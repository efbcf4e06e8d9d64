"""The shared statistics (supervision.stats) against published values and hand calculations."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from supervision import stats

Z95 = 1.959963984540054


@pytest.mark.parametrize(
    ("k", "n", "low", "high"),
    [
        # Newcombe (1998), Stat Med 17:857–872, Table I, method 3 (Wilson score interval)
        (81, 263, 0.2553, 0.3662),
        (15, 148, 0.0624, 0.1605),
        (0, 20, 0.0, 0.1611),
        (1, 29, 0.0061, 0.1718),
    ],
)
def test_wilson_matches_newcombe_1998(k: int, n: int, low: float, high: float) -> None:
    got = stats.wilson_ci(k, n)
    assert got is not None
    assert got[0] == pytest.approx(low, abs=5e-5)
    assert got[1] == pytest.approx(high, abs=5e-5)


def test_wilson_closed_form_by_hand() -> None:
    """k = 3, n = 5, z = 1.96: p = .6; centre = p + z²/2n = .6 + 3.8416/10 = .98416;
    half = z·√(p(1−p)/n + z²/4n²) = 1.96·√(.048 + .038416) = .576173; divided by
    1 + z²/n = 1.76832 -> [.230720, .882384]."""
    low, high = stats.wilson_ci(3, 5)
    assert low == pytest.approx(0.230720, abs=2e-5)
    assert high == pytest.approx(0.882384, abs=2e-5)
    lo_s, hi_s = stats.wilson_frame(pd.Series([3, 0]), pd.Series([5, 0]))
    assert lo_s.iloc[0] == pytest.approx(low) and hi_s.iloc[0] == pytest.approx(high)
    assert math.isnan(lo_s.iloc[1]) and stats.wilson_ci(0, 0) is None


def test_wilson_equals_statsmodels_and_t_equals_scipy_stats() -> None:
    """The written-out Wilson interval equals statsmodels' ``proportion_confint`` (method
    "wilson"), and the t quantile from ``scipy.special.stdtrit`` equals ``scipy.stats.t``,
    over a grid of counts (0..n) and sizes (1..400) and three levels."""
    from scipy import stats as sps
    from statsmodels.stats.proportion import proportion_confint

    for alpha in (0.05, 0.1, 0.01):
        for n in (1, 2, 3, 5, 8, 13, 40, 99, 400):
            k = np.arange(n + 1)
            lo, hi = proportion_confint(k, np.full(k.shape, n), alpha=alpha, method="wilson")
            got_lo, got_hi = stats.wilson_frame(pd.Series(k), pd.Series(np.full(k.shape, n)))
            if alpha != 0.05:
                pairs = [stats.wilson_ci(int(i), n, alpha=alpha) for i in k]
                got_lo = pd.Series([p[0] for p in pairs])
                got_hi = pd.Series([p[1] for p in pairs])
            np.testing.assert_allclose(got_lo, np.clip(lo, 0, 1), rtol=1e-12, atol=1e-14)
            np.testing.assert_allclose(got_hi, np.clip(hi, 0, 1), rtol=1e-12, atol=1e-14)
            if n >= 2:
                t = sps.t.ppf(1 - alpha / 2, n - 1)
                got = stats.mean_ci(0.0, 1.0, n, alpha=alpha)
                assert got is not None and got[1] == pytest.approx(t / math.sqrt(n), rel=1e-12)


def test_importing_stats_does_not_import_scipy_stats() -> None:
    """A fresh interpreter importing supervision.stats loads neither scipy.stats nor
    statsmodels (their import is 1.3 s of every dashboard kernel's start)."""
    import subprocess
    import sys

    code = ("import sys, supervision.stats; "
            "print(sorted(m for m in sys.modules if m == 'scipy.stats' or "
            "m.startswith('statsmodels')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "[]"


def test_mean_ci_by_hand() -> None:
    """mean 10, sd 2, n 5: 10 ± t(.975, 4)·2/√5, t(.975, 4) = 2.776445 (t tables: 2.776)."""
    low, high = stats.mean_ci(10.0, 2.0, 5)
    half = 2.7764451051977987 * 2 / math.sqrt(5)
    assert (low, high) == pytest.approx((10 - half, 10 + half))
    assert stats.mean_ci(10.0, float("nan"), 1) is None


@pytest.mark.parametrize("p0", [0.2, 0.5])
def test_funnel_limits_approach_the_normal_approximation_at_large_n(p0: float) -> None:
    """At n = 10⁶ the exact binomial limits are p0 ± z·√(p0(1−p0)/n) to within the
    skewness correction (z² − 1)(1 − 2p0)/(6n) ≈ 3e-7 (Spiegelhalter 2005, Appendix A)."""
    n = 1_000_000
    df = stats.funnel_limits(p0, [n])
    se = math.sqrt(p0 * (1 - p0) / n)
    for name, z in (("95", Z95), ("99.8", 3.090232306167813)):
        assert df[f"lower_{name}"].iloc[0] == pytest.approx(p0 - z * se, abs=2e-6)
        assert df[f"upper_{name}"].iloc[0] == pytest.approx(p0 + z * se, abs=2e-6)


def test_funnel_limits_widen_as_n_shrinks() -> None:
    df = stats.funnel_limits(0.2, [10, 100, 1000])
    width = (df["upper_95"] - df["lower_95"]).to_numpy()
    assert np.all(np.diff(width) < 0)
    assert (df["lower_99.8"] <= df["lower_95"]).all() and (df["upper_99.8"] >= df["upper_95"]).all()


def test_km_retention_by_hand() -> None:
    """Durations 1, 2, 2+, 3, 4+ (+ = ongoing, censored).  Kaplan–Meier:
    t=1: 5 at risk, 1 ends -> 4/5 = .8; t=2: 4 at risk, 1 ends -> .8·3/4 = .6;
    t=3: 2 at risk, 1 ends -> .6·1/2 = .3.  Greenwood SE at t=1: .8·√(1/(5·4)) = .178885;
    log-log band: θ = log(−log .8), se_θ = SE/(S·|log S|), limits exp(−exp(θ ± z·se_θ))."""
    df = stats.km_retention([1, 2, 2, 3, 4], [True, True, False, True, False])
    assert df["sessions"].tolist() == [0, 1, 2, 3]
    assert df["retained"].tolist() == pytest.approx([1.0, 0.8, 0.6, 0.3])
    assert df["at_risk"].tolist() == [5, 5, 4, 2]
    s, se = 0.8, 0.8 * math.sqrt(1 / 20)
    theta, se_t = math.log(-math.log(s)), se / (s * abs(math.log(s)))
    assert df["low"].iloc[1] == pytest.approx(math.exp(-math.exp(theta + Z95 * se_t)))
    assert df["high"].iloc[1] == pytest.approx(math.exp(-math.exp(theta - Z95 * se_t)))
