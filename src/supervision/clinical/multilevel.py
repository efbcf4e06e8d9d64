"""Intake-adjusted outcome per therapist, shrunk towards the practice (a multilevel model).

A therapist whose clients start more severely ill may show more raw change (regression to
the mean, more room to improve) or less (harder cases); comparing raw change is unfair.
As ACORN's severity-adjusted effect size (Brown, Lambert et al. 2005; Minami et al. 2008)
does, each paired episode's change from intake is modelled on its intake score, and what is
left is split into a therapist part and an episode part:

    change_ij = β₀ + β₁ (intake_ij − mean intake) + u_j + e_ij,
    u_j ~ N(0, σ_u²),  e_ij ~ N(0, σ_e²)

(REML, fitted from per-therapist sums computed in one DuckDB ``GROUP BY``: :func:`fit_sums`;
tested equal to ``statsmodels`` ``MixedLM``).  ``change`` is last − first score of a paired
episode (:func:`supervision.clinical.outcomes.episode_outcomes`; for the PHQ-9 + GAD-7 rule,
PHQ-9).

Each therapist's estimate is the best linear unbiased predictor (BLUP) of ``u_j`` given the
variance components: with ``n_j`` episodes and mean residual ``r̄_j`` (change minus the fixed
part),

    û_j = λ_j r̄_j,   λ_j = σ_u² / (σ_u² + σ_e² / n_j)          (the shrinkage weight)

and its conditional variance ``σ_u² σ_e² / (n_j σ_u² + σ_e²)`` = ``(1 − λ_j) σ_u²``; the 95%
interval is ``û_j ± 1.96 √var``.  A therapist with few episodes is pulled towards the
practice (0), so chance alone rarely puts them at an extreme.  ``adjusted_improvement`` is
``û_j`` in the measure's points, signed so that positive means **more improvement than the
practice's clients at the same intake severity** (lower-is-better measures flipped);
``effect_size`` divides it by the SD of intake scores (ACORN's scale).

Only per-therapist results leave this module, and a therapist with fewer than ``min_cell``
paired episodes is not shown (domain.md §8), though every episode informs the model.
These are prompts for supervision, never a verdict or a ranking.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd

from supervision.caseload import Caseload
from supervision.clinical.outcomes import episode_outcomes
from supervision.measures import PAIRED
from supervision.privacy import MIN_CELL, check_min_cell

#: Two-sided 95% normal quantile.
Z95 = 1.959963984540054
#: Fewer therapists than this cannot separate therapist from episode variation.
MIN_THERAPISTS = 3
PROMPT = ("Intake-adjusted estimates are a prompt for supervision, not a verdict on a "
          "therapist: they rest on few episodes, are pulled towards the practice when there "
          "are few, and leave out much of what clients bring.")
COLUMNS = ("therapist_id", "episodes", "adjusted_improvement", "low", "high", "shrinkage",
           "effect_size", "effect_size_low", "effect_size_high", "unshrunk", "unshrunk_low",
           "unshrunk_high")
#: σ_u² below this share of σ_e² is read as 0 (REML at the boundary of its parameter space).
BOUNDARY = 1e-4


@dataclass(frozen=True)
class AdjustedOutcome:
    """The fitted model and the therapists shown.

    Attributes
    ----------
    measure
        The outcome measure key modelled.
    therapists
        Per therapist shown (``min_cell`` or more paired episodes): ``therapist_id, episodes,
        adjusted_improvement, low, high`` (points; positive = more improvement than expected
        at the same intake), ``shrinkage`` (λ, 0–1), ``effect_size, effect_size_low,
        effect_size_high`` (in SDs of intake scores), ``unshrunk, unshrunk_low,
        unshrunk_high`` (``r̄_j`` signed as improvement, ± 1.96 σ_e/√n_j: before shrinkage).
        Ordered by ``therapist_id``, never by estimate.
    episodes, n_therapists
        Paired episodes and therapists in the model (all, shown or not).
    hidden
        Therapists in the model but not shown (fewer than ``min_cell`` episodes).
    slope
        β₁: points of change per point of intake severity.
    between_sd, residual_sd
        σ_u and σ_e, in points.
    intake_sd
        SD (ddof = 1) of the intake scores of the episodes modelled.
    converged
        Whether the REML fit converged without warnings.
    paired
        Paired episodes per therapist in the model (every therapist, shown or not): what
        stands behind the model, for a viewer's gate
        (:func:`supervision.views.adjusted.own_in_practice_figure`).
    """

    measure: str
    therapists: pd.DataFrame
    episodes: int
    n_therapists: int
    hidden: int
    slope: float
    between_sd: float
    residual_sd: float
    intake_sd: float
    converged: bool
    notes: list[str] = field(default_factory=list)
    paired: dict[str, int] = field(default_factory=dict)


def modelled_measure(measure: str) -> str:
    """The single measure modelled for ``measure`` (PHQ-9 for the PHQ-9 + GAD-7 rule)."""
    return "phq9" if measure == PAIRED else measure


def episode_changes(cl: Caseload, measure: str) -> pd.DataFrame:
    """``therapist_id, intake, change`` of each paired episode (no client or episode ids)."""
    t = episode_outcomes(cl, modelled_measure(measure))
    df = t.select("therapist_id", intake=t.first_score, change=t.change).execute()
    return df.dropna().astype({"intake": "float64", "change": "float64"})


#: Per-therapist sufficient statistics the model is fitted from (:func:`therapist_sums`).
SUMS = ("therapist_id", "n", "sx", "sy", "sxx", "sxy", "syy")


def therapist_sums(t: ir.Table) -> pd.DataFrame:
    """Per therapist: ``n, sx, sy, sxx, sxy, syy``, one DuckDB ``GROUP BY``.

    ``t`` has ``therapist_id, intake, change`` (rows with any of them missing are left out).  With
    ``x`` = intake − the mean intake of all rows and ``y`` = change − the mean change of all
    rows (both global aggregates; centring keeps the sums of squares well conditioned),
    ``sx`` = Σx, ``sxx`` = Σx², ``sxy`` = Σxy, ``sy`` = Σy, ``syy`` = Σy² over the therapist's
    episodes.  The two means come back in ``df.attrs["intake_mean"]`` and
    ``df.attrs["change_mean"]``.  Ordered by ``therapist_id``.
    """
    t = t.filter(t.therapist_id.notnull() & t.intake.notnull() & t.change.notnull())
    t = t.select("therapist_id", intake=t.intake.cast("float64"),
                 change=t.change.cast("float64"))
    c = t.mutate(intake_mean=t.intake.mean().over(), change_mean=t.change.mean().over())
    c = c.mutate(x=c.intake - c.intake_mean, y=c.change - c.change_mean)
    g = c.group_by("therapist_id").aggregate(
        n=c.count(), sx=c.x.sum(), sy=c.y.sum(), sxx=(c.x * c.x).sum(),
        sxy=(c.x * c.y).sum(), syy=(c.y * c.y).sum(),
        intake_mean=c.intake_mean.max(), change_mean=c.change_mean.max())
    df = g.order_by("therapist_id").execute()
    means = {k: float(df[k].iloc[0]) if len(df) else math.nan
             for k in ("intake_mean", "change_mean")}
    df = df[list(SUMS)].astype({"therapist_id": str, "n": "int64"} |
                               dict.fromkeys(SUMS[2:], "float64"))
    df.attrs.update(means)
    return df


def _reml_parts(sums: pd.DataFrame, gamma: float) -> tuple[np.ndarray, np.ndarray, float]:
    """``(A, b, c)`` of the random-intercept model at ``γ = σ_u²/σ_e²``, from the sums.

    Per therapist ``V_j = σ_e² (I + γ 11ᵀ)`` and, by Sherman–Morrison,
    ``σ_e² V_j⁻¹ = I − w_j 11ᵀ`` with ``w_j = γ / (1 + n_j γ)``.  Summed over therapists,
    ``A = Σ X_jᵀ(I − w_j 11ᵀ)X_j`` (X_j = [1, x]), ``b = Σ X_jᵀ(I − w_j 11ᵀ)y_j`` and
    ``c = Σ y_jᵀ(I − w_j 11ᵀ)y_j``, each a function of ``n, Σx, Σy, Σx², Σxy, Σy²``.
    """
    n, sx, sy = sums["n"].to_numpy(float), sums["sx"].to_numpy(), sums["sy"].to_numpy()
    w = gamma / (1.0 + n * gamma)
    a = np.array([[np.sum(n - w * n * n), np.sum(sx - w * n * sx)],
                  [0.0, np.sum(sums["sxx"].to_numpy() - w * sx * sx)]])
    a[1, 0] = a[0, 1]
    b = np.array([np.sum(sy - w * n * sy), np.sum(sums["sxy"].to_numpy() - w * sx * sy)])
    c = float(np.sum(sums["syy"].to_numpy() - w * sy * sy))
    return a, b, c


def _reml_deviance(sums: pd.DataFrame, gamma: float) -> float:
    """−2 × the REML log-likelihood, σ_e² profiled out, up to a constant (``N − 2`` = dof).

    With ``Q = c − bᵀA⁻¹b`` (the GLS residual quadratic form, in units of σ_e²) and
    ``σ̂_e² = Q / (N − 2)``:  ``(N − 2) log Q + Σ log(1 + n_j γ) + log det A``.
    """
    a, b, c = _reml_parts(sums, gamma)
    sign, logdet = np.linalg.slogdet(a)
    q = c - float(b @ np.linalg.solve(a, b))
    if sign <= 0 or not q > 0:
        return math.inf
    n = sums["n"].to_numpy(float)
    return (n.sum() - 2) * math.log(q) + float(np.sum(np.log1p(n * gamma))) + logdet


def _reml_slope(sums: pd.DataFrame, gamma: float) -> float:
    """d/dγ of :func:`_reml_deviance`, in closed form.

    With ``w_j' = 1/(1 + n_j γ)²``, ``v_j = (n_j, Σx_j)``, ``r_j = Σy_j − v_jᵀβ̂`` (β̂ the GLS
    fit at γ): ``dQ/dγ = −Σ w_j' r_j²``, ``d log det A/dγ = −Σ w_j' v_jᵀA⁻¹v_j`` and
    ``d Σ log(1 + n_j γ)/dγ = Σ n_j/(1 + n_j γ)``.
    """
    a, b, c = _reml_parts(sums, gamma)
    beta = np.linalg.solve(a, b)
    q = c - float(b @ beta)
    n, sx = sums["n"].to_numpy(float), sums["sx"].to_numpy()
    dw = 1.0 / (1.0 + n * gamma) ** 2
    r = sums["sy"].to_numpy() - n * beta[0] - sx * beta[1]
    v = np.stack([n, sx])
    lev = np.sum(v * np.linalg.solve(a, v), axis=0)  # v_jᵀ A⁻¹ v_j
    return (-(n.sum() - 2) * float(np.sum(dw * r * r)) / q + float(np.sum(n / (1.0 + n * gamma)))
            - float(np.sum(dw * lev)))


def fit_sums(sums: pd.DataFrame) -> tuple[float, float, float, float, dict[str, float], bool]:
    """REML random-intercept fit from :func:`therapist_sums`: as :func:`fit`.

    The REML likelihood, profiled over σ_e², is a function of ``γ = σ_u²/σ_e²`` alone: it is
    scanned on a grid of ``log γ`` and the optimum found around the best grid point as the
    root of its closed-form derivative (``scipy.optimize.brentq``, to machine precision, so
    that sums added in another order give the same fit); ``γ = 0`` (no between-therapist
    variance) is compared directly, since REML can sit at that boundary.
    """
    from scipy.optimize import brentq

    n_total = int(sums["n"].sum())
    if n_total < 3:
        raise ValueError("fewer than 3 episodes")
    a0, b0, c0 = _reml_parts(sums, 0.0)
    if np.linalg.matrix_rank(a0) < 2:
        raise np.linalg.LinAlgError("every intake score is the same")
    if not c0 - float(b0 @ np.linalg.solve(a0, b0)) > 0:
        raise ValueError("the changes fit a straight line in intake exactly")
    grid = np.linspace(-12.0, 12.0, 49)  # log γ: γ from 6e-6 to 1.6e5
    dev = [_reml_deviance(sums, math.exp(g)) for g in grid]
    i = int(np.argmin(dev))
    lo, hi = float(grid[max(i - 1, 0)]), float(grid[min(i + 1, grid.size - 1)])
    slope_lo, slope_hi = (_reml_slope(sums, math.exp(g)) for g in (lo, hi))
    converged = bool(np.isfinite(dev[i]))
    if slope_lo < 0 < slope_hi:  # an interior minimum, bracketed
        gamma = math.exp(brentq(lambda g: _reml_slope(sums, math.exp(g)), lo, hi,
                                xtol=1e-13, rtol=1e-15))
    else:  # the minimum lies at the grid's edge: γ ≈ 0 (checked next) or unbounded
        gamma = math.exp(float(grid[i]))
        converged = converged and i == 0
    if _reml_deviance(sums, 0.0) <= _reml_deviance(sums, gamma):
        gamma = 0.0
    a, b, c = _reml_parts(sums, gamma)
    beta = np.linalg.solve(a, b)
    var_e = (c - float(b @ beta)) / (n_total - 2)
    var_u = gamma * var_e
    n = sums["n"].to_numpy(float)
    resid = sums["sy"].to_numpy() - n * beta[0] - beta[1] * sums["sx"].to_numpy()
    re = ({str(k): float(v) for k, v in
           zip(sums["therapist_id"], gamma / (1.0 + n * gamma) * resid, strict=True)}
          if var_u > 0 else {})
    intercept = float(beta[0]) + float(sums.attrs.get("change_mean", 0.0))
    return intercept, float(beta[1]), float(var_u), float(var_e), re, converged


def fit(df: pd.DataFrame) -> tuple[float, float, float, float, dict[str, float], bool]:
    """REML random-intercept fit: ``(β₀, β₁, σ_u², σ_e², {therapist: û_j}, converged)``.

    ``df`` has ``therapist_id, intake, change``; ``intake`` is centred here.  Fitted from
    the per-therapist sums (:func:`therapist_sums`, :func:`fit_sums`), as
    :func:`intake_adjusted` does; tests/test_multilevel_reference.py checks it equals
    ``statsmodels`` ``MixedLM`` (REML).
    """
    frame = df[["therapist_id", "intake", "change"]].astype(
        {"therapist_id": str, "intake": "float64", "change": "float64"})
    return fit_sums(therapist_sums(ibis.memtable(frame)))


def _mean_residuals(sums: pd.DataFrame, intercept: float, slope: float) -> pd.Series:
    """Per therapist, ``r̄_j`` = the mean of change − β₀ − β₁·intake_c (unshrunk)."""
    n = sums["n"].to_numpy(float)
    r = (sums["sy"].to_numpy() + n * (sums.attrs["change_mean"] - intercept)
         - slope * sums["sx"].to_numpy()) / n
    return pd.Series(r, index=sums["therapist_id"].to_numpy())


def intake_adjusted(cl: Caseload, measure: str, *, min_cell: int = MIN_CELL) -> AdjustedOutcome:
    """Each therapist's intake-adjusted, shrunken outcome (module docstring).

    Raises nothing on thin data: with fewer than :data:`MIN_THERAPISTS` therapists or too
    few episodes, the result has no rows and a note saying why.
    """
    min_cell = check_min_cell(min_cell)
    m = modelled_measure(measure)
    t = episode_outcomes(cl, m)
    sums = therapist_sums(t.select("therapist_id", intake=t.first_score, change=t.change))
    counts = pd.Series(sums["n"].to_numpy(), index=sums["therapist_id"].to_numpy())
    n_episodes = int(counts.sum())
    empty = pd.DataFrame({c: pd.Series(dtype="float64") for c in COLUMNS})
    base = {"measure": m, "episodes": n_episodes, "n_therapists": int(counts.size),
            "paired": {str(k): int(v) for k, v in counts.items()}}
    if counts.size < MIN_THERAPISTS or n_episodes < counts.size + 3:
        return AdjustedOutcome(
            **base, therapists=empty, hidden=int(counts.size), slope=math.nan,
            between_sd=math.nan, residual_sd=math.nan, intake_sd=math.nan, converged=False,
            notes=[f"{counts.size} therapist(s) with paired {m} scores: too few to separate "
                   f"therapists from chance (needs {MIN_THERAPISTS})."])
    try:
        intercept, slope, var_u, var_e, blup, converged = fit_sums(sums)
    except (ValueError, np.linalg.LinAlgError) as exc:  # e.g. every change identical
        return AdjustedOutcome(
            **base, therapists=empty, hidden=int(counts.size), slope=math.nan,
            between_sd=math.nan, residual_sd=math.nan, intake_sd=math.nan, converged=False,
            notes=[f"The intake-adjusted model could not be fitted to these {n_episodes} "
                   f"episodes ({exc}); no estimates are shown."])
    sign = 1.0 if cl.registry[m].better == "higher" else -1.0
    # the sums are about the mean intake, so Σx² over everyone is the sum of squares
    intake_sd = math.sqrt(float(sums["sxx"].sum()) / (n_episodes - 1))
    n = counts.astype("float64")
    var_u = var_u if var_u > BOUNDARY * var_e else 0.0
    cond_var = var_u * var_e / (n * var_u + var_e)
    est = sign * pd.Series({g: blup.get(str(g), 0.0) for g in n.index}, dtype="float64")
    est = est if var_u > 0 else pd.Series(0.0, index=n.index)
    shrink = var_u / (var_u + var_e / n)
    # the unshrunk r̄_j with its own interval (σ_e/√n_j): what shrinkage starts from
    raw = sign * _mean_residuals(sums, intercept, slope).reindex(n.index)
    half_raw = Z95 * np.sqrt(var_e / n)
    out = pd.DataFrame({
        "therapist_id": n.index.astype(str), "episodes": counts.to_numpy(),
        "adjusted_improvement": est.to_numpy(),
        "low": (est - Z95 * np.sqrt(cond_var)).to_numpy(),
        "high": (est + Z95 * np.sqrt(cond_var)).to_numpy(),
        "shrinkage": shrink.to_numpy(),
        "unshrunk": raw.to_numpy(), "unshrunk_low": (raw - half_raw).to_numpy(),
        "unshrunk_high": (raw + half_raw).to_numpy(),
    })
    for c, src in (("effect_size", "adjusted_improvement"), ("effect_size_low", "low"),
                   ("effect_size_high", "high")):
        out[c] = out[src] / intake_sd if intake_sd > 0 else math.nan
    shown = out[out["episodes"] >= min_cell].sort_values("therapist_id").reset_index(drop=True)
    # at the boundary the optimiser often reports non-convergence; σ_u² = 0 is the finding
    notes = ([] if converged or var_u <= 0 else
             ["The model's fit did not fully converge: read with care."])
    if var_u <= 0:
        notes.append("Once intake severity is allowed for, therapists' outcomes differ no "
                     "more than chance would make them (between-therapist variance 0): "
                     "every shrunken estimate is the practice's.")
    return AdjustedOutcome(
        **base, therapists=shown[list(COLUMNS)], hidden=int(counts.size - len(shown)),
        slope=slope, between_sd=math.sqrt(max(var_u, 0.0)), residual_sd=math.sqrt(var_e),
        intake_sd=intake_sd, converged=converged, notes=notes)


__all__ = ["COLUMNS", "MIN_THERAPISTS", "PROMPT", "SUMS", "AdjustedOutcome", "episode_changes",
           "fit", "fit_sums", "intake_adjusted", "modelled_measure", "therapist_sums"]
