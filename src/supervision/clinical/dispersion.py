"""Over-dispersion of therapists' rates and the funnel limits adjusted for it.

Spiegelhalter D.J. (2005), "Funnel plots for comparing institutional performance",
*Statistics in Medicine* 24:1185–1202, §3.5 and Appendix A.2–A.3, as the R package
FunnelPlotR (Mainey, ``data_type = "PR"``) computes it for proportions:

1. Each therapist ``i`` with ``k_i`` of ``n_i`` (e.g. drop-outs of ended episodes) is put on
   the variance-stabilising arcsine-square-root scale: ``y_i = asin(√(k_i / n_i))``,
   ``θ₀ = asin(√p₀)``, within-therapist standard error ``s_i = 1 / (2√n_i)``, and the
   z-score ``z_i = (y_i − θ₀) / s_i``.
2. The z-scores are Winsorised at 10% at each end: below the 10th percentile set to it,
   above the 90th set to it (percentiles by linear interpolation, R's default ``quantile``,
   numpy's default ``quantile``).
3. The multiplicative over-dispersion factor is ``φ = (1/I) Σ z_i²`` (Winsorised z), ``I``
   therapists.  Under no over-dispersion ``Iφ`` is roughly χ² on ``I − 1`` degrees of
   freedom (``chi2_p`` is that test's upper tail).
4. The additive random-effects variance (DerSimonian & Laird 1986) is
   ``τ² = (Iφ − (I − 1)) / (Σ w_i − Σ w_i² / Σ w_i)`` with ``w_i = 1 / s_i²``, and 0 when
   ``Iφ ≤ I − 1``.

Limits at two-sided level ``L`` (``z = Φ⁻¹((1 + L)/2)``), back on the rate scale with
``sin²``:

* additive (random effects): ``θ₀ ± z √(s² + τ²)``;
* multiplicative: ``θ₀ ± z √φ · s`` (used only when ``φ > 1``).

The funnel plots draw the additive limits, as FunnelPlotR does by default: with many
episodes per therapist the multiplicative limits would still shrink to the practice line,
while the random-effects limits keep the real spread between therapists in view.
Everything here takes per-therapist counts (aggregates) and returns small frames.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

#: Winsorise the z-scores by this share at each end (Spiegelhalter 2005; FunnelPlotR).
TRIM = 0.1
#: Fewer therapists than this give no estimate of over-dispersion worth adjusting for.
MIN_THERAPISTS = 4
LEVELS = (0.95, 0.998)


@dataclass(frozen=True)
class Dispersion:
    """How much more therapists' rates vary than chance alone would make them.

    Attributes
    ----------
    therapists
        ``I``, the therapists the estimate rests on.
    p0
        The target (practice) rate, 0–1.
    phi
        Multiplicative over-dispersion factor ``φ`` (≥ 0; 1 is what chance alone gives).
    tau2
        Additive between-therapist variance ``τ²`` on the arcsine-square-root scale (≥ 0).
    chi2_p
        Upper-tail p of ``Iφ`` on χ² with ``I − 1`` degrees of freedom (NaN when ``I < 2``).
    """

    therapists: int
    p0: float
    phi: float
    tau2: float
    chi2_p: float

    @property
    def adjusted(self) -> bool:
        """Whether the funnel's limits are widened (``τ² > 0`` from enough therapists)."""
        return self.therapists >= MIN_THERAPISTS and self.tau2 > 0

    def as_dict(self) -> dict[str, float | int | bool | None]:
        """JSON-ready: ``therapists, phi, tau2, chi2_p, adjusted`` (NaN as None)."""
        def f(x: float) -> float | None:
            return None if math.isnan(x) else float(x)

        return {"therapists": self.therapists, "phi": f(self.phi), "tau2": f(self.tau2),
                "chi2_p": f(self.chi2_p), "adjusted": self.adjusted}


def z_scores(k: Sequence[int] | np.ndarray, n: Sequence[int] | np.ndarray,
             p0: float) -> np.ndarray:
    """Unadjusted z-scores on the arcsine-square-root scale (step 1 of the module)."""
    k_arr, n_arr = np.asarray(k, dtype="float64"), np.asarray(n, dtype="float64")
    y = np.arcsin(np.sqrt(k_arr / n_arr))
    return (y - math.asin(math.sqrt(p0))) * 2.0 * np.sqrt(n_arr)


def winsorised(z: np.ndarray, *, trim: float = TRIM) -> np.ndarray:
    """``z`` clipped to its ``trim`` and ``1 − trim`` quantiles (linear interpolation)."""
    lo, hi = np.quantile(z, [trim, 1.0 - trim])
    return np.clip(z, lo, hi)


def overdispersion(k: Sequence[int] | np.ndarray, n: Sequence[int] | np.ndarray, *,
                   p0: float, trim: float = TRIM) -> Dispersion:
    """``φ`` and ``τ²`` of therapists' ``k`` of ``n`` around the rate ``p0`` (module docstring).

    Therapists with ``n`` 0 are left out (no rate).  ``p0`` must lie strictly in 0–1 for
    any spread to be estimated; at 0 or 1 (every therapist alike) ``φ`` and ``τ²`` are 0.
    """
    from scipy import stats as sps  # the practice review's funnels only

    k_arr, n_arr = np.asarray(k, dtype="float64"), np.asarray(n, dtype="float64")
    keep = n_arr > 0
    k_arr, n_arr = k_arr[keep], n_arr[keep]
    i = int(n_arr.size)
    if i == 0 or not 0.0 < p0 < 1.0:
        return Dispersion(i, float(p0), 0.0 if i else math.nan, 0.0, math.nan)
    z = winsorised(z_scores(k_arr, n_arr, p0), trim=trim)
    phi = float(np.mean(z**2))
    w = 4.0 * n_arr  # 1 / s_i²
    tau2 = 0.0
    if i >= 2 and i * phi > i - 1:  # one therapist: no spread between therapists
        tau2 = max(0.0, (i * phi - (i - 1)) / (w.sum() - (w**2).sum() / w.sum()))
    chi2_p = float(sps.chi2.sf(i * phi, i - 1)) if i >= 2 else math.nan
    return Dispersion(i, float(p0), phi, float(tau2), chi2_p)


def adjusted_limits(d: Dispersion, n: Sequence[int] | np.ndarray, *,
                    method: str = "additive",
                    levels: Sequence[float] = LEVELS) -> pd.DataFrame:
    """Funnel limits around ``d.p0`` widened for over-dispersion, for denominators ``n``.

    ``method`` is ``"additive"`` (random effects, ``τ²``) or ``"multiplicative"`` (``φ``,
    only when ``φ > 1``; otherwise no widening).  Same shape as
    :func:`supervision.stats.funnel_limits`: ``n`` and, per level, ``lower_<L>`` and
    ``upper_<L>`` (e.g. ``lower_95``, ``upper_99.8``), rates in 0–1.
    """
    from scipy.special import ndtri

    if method not in ("additive", "multiplicative"):
        raise ValueError(f"method must be 'additive' or 'multiplicative', not {method!r}")
    n_arr = np.maximum(np.asarray(n, dtype="float64"), 1.0)
    s2 = 1.0 / (4.0 * n_arr)
    spread = s2 + d.tau2 if method == "additive" else s2 * max(d.phi, 1.0)
    se = np.sqrt(spread)
    theta0 = math.asin(math.sqrt(min(max(d.p0, 0.0), 1.0)))
    out = pd.DataFrame({"n": np.asarray(n, dtype="int64")})
    for level in levels:
        z = float(ndtri((1.0 + level) / 2.0))
        name = f"{level * 100:g}"
        for side, sign in (("lower", -1.0), ("upper", 1.0)):
            theta = np.clip(theta0 + sign * z * se, 0.0, math.pi / 2.0)
            out[f"{side}_{name}"] = np.sin(theta) ** 2
    return out


def adjustment_words(d: Dispersion, *, noun: str = "episodes") -> str:
    """The adjustment said in words, for the chart and the report (never a verdict)."""
    i = d.therapists
    if i < MIN_THERAPISTS:
        return (f"Limits not adjusted for over-dispersion: {i} therapist(s) on the plot are "
                f"too few to tell whether their rates vary more than chance (needs "
                f"{MIN_THERAPISTS}).")
    if not d.adjusted:
        return (f"Limits not adjusted: the {i} therapists' rates vary no more than chance "
                f"alone would make them (over-dispersion φ = {d.phi:.2f}).")
    tau_pts = _tau_in_points(d)
    return (f"Limits widened for over-dispersion (Spiegelhalter 2005, random effects): the "
            f"{i} therapists' rates vary more than chance alone would make them "
            f"(φ = {d.phi:.2f}), so the limits allow for a real spread between therapists "
            f"of about ±{tau_pts:.0f} percentage points around the practice rate, "
            f"whatever the number of {noun}.")


def _tau_in_points(d: Dispersion) -> float:
    """``τ`` as percentage points of rate at ``p0`` (delta method: dp/dθ = sin 2θ₀)."""
    theta0 = math.asin(math.sqrt(min(max(d.p0, 0.0), 1.0)))
    return 100.0 * math.sqrt(d.tau2) * abs(math.sin(2.0 * theta0))


__all__ = ["LEVELS", "MIN_THERAPISTS", "TRIM", "Dispersion", "adjusted_limits",
           "adjustment_words", "overdispersion", "winsorised", "z_scores"]
