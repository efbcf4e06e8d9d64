"""Intervals and other shared statistics, from well-kept libraries.

Everything here works on *aggregates* (counts, means, SDs) that the database has
already computed, so it never needs the session rows.

Import cost matters here: every dashboard kernel imports this module before its first
figure, and ``scipy.stats`` (pulled in by any ``statsmodels.stats`` module) costs about
1.3 s of that start.  So the intervals every page needs use the quantile functions of
``scipy.special`` (``ndtri``, ``stdtrit``: the same routines ``scipy.stats`` calls), the
Wilson interval is written out from them (tested equal to statsmodels'
``proportion_confint(method="wilson")`` in tests/test_stats.py), and statsmodels and
``scipy.stats`` are imported only inside the functions that need them (Kaplan–Meier,
funnel limits).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy.special import ndtri, stdtrit


def _z(alpha: float) -> float:
    """The standard normal quantile ``z(1 − α/2)`` (1.959964 for α = 0.05)."""
    return float(ndtri(1 - alpha / 2))


def _wilson(k: np.ndarray, n: np.ndarray, alpha: float) -> tuple[np.ndarray, np.ndarray]:
    """Wilson (1927) score interval, as statsmodels' ``proportion_confint(method="wilson")``.

    With ``p = k/n`` and ``z = z(1 − α/2)``: centre ``(p + z²/2n) / (1 + z²/n)``,
    half-width ``z·√(p(1−p)/n + z²/4n²) / (1 + z²/n)``; clipped to 0–1.
    """
    z = _z(alpha)
    p = k / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return np.clip(centre - half, 0.0, 1.0), np.clip(centre + half, 0.0, 1.0)


def wilson_ci(k: int, n: int, *, alpha: float = 0.05) -> list[float] | None:
    """Wilson score interval for a proportion ``k / n`` (Wilson 1927).

    Returns ``[low, high]`` in 0–1, or ``None`` when ``n == 0``.  Equal to
    ``statsmodels.stats.proportion.proportion_confint(method="wilson")`` (see the module
    docstring for why it is written out).
    """
    if n <= 0:
        return None
    low, high = _wilson(np.float64(k), np.float64(n), alpha)
    return [float(low), float(high)]


def wilson_frame(
    k: pd.Series, n: pd.Series, *, alpha: float = 0.05
) -> tuple[pd.Series, pd.Series]:
    """Vectorised :func:`wilson_ci`: ``(low, high)`` series, NaN where ``n == 0``."""
    k_arr = np.asarray(k, dtype="float64")
    n_arr = np.asarray(n, dtype="float64")
    ok = n_arr > 0
    low = np.full(k_arr.shape, np.nan)
    high = np.full(k_arr.shape, np.nan)
    if ok.any():
        low[ok], high[ok] = _wilson(k_arr[ok], n_arr[ok], alpha)
    return pd.Series(low, index=k.index), pd.Series(high, index=k.index)


def rate_columns(name: str, k: pd.Series, n: pd.Series) -> dict[str, pd.Series]:
    """A rate and its Wilson 95% interval as whole columns: ``name`` = k / n, 0–1 (NaN where
    n is 0 or missing), ``name_low`` / ``name_high`` (:func:`wilson_frame`).  The one place
    a count pair becomes a rate with its interval."""
    kk, nn = k.astype("float64"), n.astype("float64")
    low, high = wilson_frame(kk.fillna(0), nn.fillna(0))
    return {name: kk / nn.where(nn > 0), f"{name}_low": low, f"{name}_high": high}


def mean_ci(
    mean: float | None, sd: float | None, n: int, *, alpha: float = 0.05
) -> list[float] | None:
    """Student-t interval for a mean from its aggregates: ``mean ± t(1-α/2, n-1) · sd / √n``.

    ``None`` when ``n < 2`` or the SD is missing (one value has no interval).
    """
    if n < 2 or mean is None or sd is None or math.isnan(sd) or math.isnan(mean):
        return None
    half = float(stdtrit(n - 1, 1 - alpha / 2)) * sd / math.sqrt(n)
    return [mean - half, mean + half]


def mean_ci_frame(
    mean: pd.Series, sd: pd.Series, n: pd.Series, *, alpha: float = 0.05
) -> tuple[pd.Series, pd.Series]:
    """Vectorised :func:`mean_ci`: ``(low, high)`` series, NaN where ``n < 2``."""
    n_arr = np.asarray(n, dtype="float64")
    df = np.where(n_arr >= 2, n_arr - 1, np.nan)
    half = stdtrit(df, 1 - alpha / 2) * np.asarray(sd, dtype="float64") / np.sqrt(n_arr)
    m = np.asarray(mean, dtype="float64")
    return pd.Series(m - half, index=mean.index), pd.Series(m + half, index=mean.index)


def funnel_limits(
    p0: float, n: Sequence[int] | np.ndarray, *, levels: Sequence[float] = (0.95, 0.998)
) -> pd.DataFrame:
    """Control limits of a funnel plot for a proportion (Spiegelhalter 2005, Appendix A.1.1).

    For a target proportion ``p0`` and denominator ``n``, the limit at two-sided level ``L``
    uses the exact binomial quantile with interpolation: with ``p = (1 + L) / 2`` (upper) or
    ``(1 - L) / 2`` (lower), ``r = F⁻¹(p)``, ``α = (F(r) − p) / (F(r) − F(r − 1))`` and
    limit ``= (r − α) / n``, clipped to 0–1.

    Returns a frame with column ``n`` and, for each level, ``lower_<L>`` and ``upper_<L>``
    (e.g. ``lower_95``, ``upper_99.8``).
    """
    n_arr = np.asarray(n, dtype="int64")
    out = pd.DataFrame({"n": n_arr})
    for level in levels:
        name = f"{level * 100:g}"
        for side, p in (("lower", (1 - level) / 2), ("upper", (1 + level) / 2)):
            out[f"{side}_{name}"] = _binomial_limit(p0, n_arr, p)
    return out


def _binomial_limit(p0: float, n: np.ndarray, p: float) -> np.ndarray:
    from scipy import stats as sps  # only the practice review's funnels need it

    n = np.maximum(n, 1)
    r = sps.binom.ppf(p, n, p0)
    f_r = sps.binom.cdf(r, n, p0)
    f_r1 = sps.binom.cdf(r - 1, n, p0)
    denom = np.where(f_r - f_r1 > 0, f_r - f_r1, 1.0)
    alpha = (f_r - p) / denom
    return np.clip((r - alpha) / n, 0.0, 1.0)


def km_retention(durations: Sequence[float], ended: Sequence[bool]) -> pd.DataFrame:
    """Kaplan–Meier retention in therapy, by sessions attended.

    ``durations`` are attended sessions per episode; ``ended`` is True for an episode that
    ended (the event) and False for an ongoing one (right-censored).  Computed with
    ``statsmodels.duration.survfunc.SurvfuncRight``; the 95% band is statsmodels' default
    (log-log transformed).

    Returns columns ``sessions`` (0, then each event time), ``retained`` (0–1),
    ``low``, ``high`` and ``at_risk``.
    """
    from statsmodels.duration.survfunc import SurvfuncRight  # imports scipy.stats: lazily

    d = np.asarray(durations, dtype="float64")
    e = np.asarray(ended, dtype="int64")
    if d.size == 0:
        return pd.DataFrame(columns=["sessions", "retained", "low", "high", "at_risk"])
    sf = SurvfuncRight(d, e)
    if len(sf.surv_times) == 0:
        return pd.DataFrame(
            {"sessions": [0.0], "retained": [1.0], "low": [1.0], "high": [1.0], "at_risk": [d.size]}
        )
    low, high = _loglog_band(sf.surv_prob, sf.surv_prob_se)
    frame = pd.DataFrame(
        {
            "sessions": sf.surv_times,
            "retained": sf.surv_prob,
            "low": np.clip(low, 0, 1),
            "high": np.clip(high, 0, 1),
            "at_risk": sf.n_risk,
        }
    )
    start = pd.DataFrame(
        {"sessions": [0.0], "retained": [1.0], "low": [1.0], "high": [1.0], "at_risk": [d.size]}
    )
    return pd.concat([start, frame], ignore_index=True)


def _loglog_band(
    surv: np.ndarray, se: np.ndarray, *, alpha: float = 0.05
) -> tuple[np.ndarray, np.ndarray]:
    z = _z(alpha)
    s = np.clip(np.asarray(surv, dtype="float64"), 1e-12, 1 - 1e-12)
    theta = np.log(-np.log(s))
    with np.errstate(divide="ignore", invalid="ignore"):
        se_theta = np.asarray(se, dtype="float64") / (s * np.abs(np.log(s)))
    low = np.exp(-np.exp(theta + z * se_theta))
    high = np.exp(-np.exp(theta - z * se_theta))
    exact = (np.asarray(surv) >= 1.0) | (np.asarray(surv) <= 0.0)
    low = np.where(exact, surv, low)
    high = np.where(exact, surv, high)
    return low, high


__all__ = [
    "funnel_limits",
    "km_retention",
    "mean_ci",
    "mean_ci_frame",
    "rate_columns",
    "wilson_ci",
    "wilson_frame",
]
