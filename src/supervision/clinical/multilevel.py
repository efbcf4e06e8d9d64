"""Intake-adjusted outcome per therapist, shrunk towards the practice (a multilevel model).

A therapist whose clients start more severely ill may show more raw change (regression to
the mean, more room to improve) or less (harder cases); comparing raw change is unfair.
As ACORN's severity-adjusted effect size (Brown, Lambert et al. 2005; Minami et al. 2008)
does, each paired episode's change from intake is modelled on its intake score, and what is
left is split into a therapist part and an episode part:

    change_ij = β₀ + β₁ (intake_ij − mean intake) + u_j + e_ij,
    u_j ~ N(0, σ_u²),  e_ij ~ N(0, σ_e²)

(``statsmodels`` ``MixedLM``, REML).  ``change`` is last − first score of a paired episode
(:func:`supervision.clinical.outcomes.episode_outcomes`; for the PHQ-9 + GAD-7 rule, PHQ-9).

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
import warnings
from dataclasses import dataclass, field

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


def modelled_measure(measure: str) -> str:
    """The single measure modelled for ``measure`` (PHQ-9 for the PHQ-9 + GAD-7 rule)."""
    return "phq9" if measure == PAIRED else measure


def episode_changes(cl: Caseload, measure: str) -> pd.DataFrame:
    """``therapist_id, intake, change`` of each paired episode (no client or episode ids)."""
    t = episode_outcomes(cl, modelled_measure(measure))
    df = t.select("therapist_id", intake=t.first_score, change=t.change).execute()
    return df.dropna().astype({"intake": "float64", "change": "float64"})


def fit(df: pd.DataFrame) -> tuple[float, float, float, float, dict[str, float], bool]:
    """REML random-intercept fit: ``(β₀, β₁, σ_u², σ_e², {therapist: û_j}, converged)``.

    ``df`` has ``therapist_id, intake, change``; ``intake`` is centred here.
    """
    import statsmodels.formula.api as smf

    d = df.assign(intake_c=df["intake"] - df["intake"].mean())
    model = smf.mixedlm("change ~ intake_c", d, groups=d["therapist_id"])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        # Powell first: statsmodels' default BFGS stalls near σ_u² = 0 (common with few
        # therapists; the boundary test), and L-BFGS can stop at 0 when σ_u² is clearly > 0
        res = model.fit(reml=True, method=["powell", "lbfgs"])
    # a variance at the boundary (σ_u² ≈ 0) is a finding, said by intake_adjusted; other
    # convergence warnings are not
    converged = bool(res.converged) and not any(
        "converge" in str(w.message).lower() and "boundary" not in str(w.message).lower()
        for w in caught
    )
    var_u = float(res.cov_re.iloc[0, 0])
    # at σ_u² = 0 every BLUP is 0 (statsmodels refuses to invert the singular covariance)
    re = ({str(g): float(v.iloc[0]) for g, v in res.random_effects.items()}
          if var_u > 0 else {})
    return (float(res.fe_params["Intercept"]), float(res.fe_params["intake_c"]),
            var_u, float(res.scale), re, converged)


def _mean_residuals(df: pd.DataFrame, intercept: float, slope: float) -> pd.Series:
    """Per therapist, ``r̄_j`` = the mean of change − β₀ − β₁·intake_c (unshrunk)."""
    centred = df["intake"] - df["intake"].mean()
    r = df["change"] - intercept - slope * centred
    return r.groupby(df["therapist_id"]).mean()


def intake_adjusted(cl: Caseload, measure: str, *, min_cell: int = MIN_CELL) -> AdjustedOutcome:
    """Each therapist's intake-adjusted, shrunken outcome (module docstring).

    Raises nothing on thin data: with fewer than :data:`MIN_THERAPISTS` therapists or too
    few episodes, the result has no rows and a note saying why.
    """
    min_cell = check_min_cell(min_cell)
    m = modelled_measure(measure)
    df = episode_changes(cl, measure)
    counts = df.groupby("therapist_id").size()
    empty = pd.DataFrame({c: pd.Series(dtype="float64") for c in COLUMNS})
    base = {"measure": m, "episodes": len(df), "n_therapists": int(counts.size)}
    if counts.size < MIN_THERAPISTS or len(df) < counts.size + 3:
        return AdjustedOutcome(
            **base, therapists=empty, hidden=int(counts.size), slope=math.nan,
            between_sd=math.nan, residual_sd=math.nan, intake_sd=math.nan, converged=False,
            notes=[f"{counts.size} therapist(s) with paired {m} scores: too few to separate "
                   f"therapists from chance (needs {MIN_THERAPISTS})."])
    try:
        intercept, slope, var_u, var_e, blup, converged = fit(df)
    except (ValueError, np.linalg.LinAlgError) as exc:  # e.g. every change identical
        return AdjustedOutcome(
            **base, therapists=empty, hidden=int(counts.size), slope=math.nan,
            between_sd=math.nan, residual_sd=math.nan, intake_sd=math.nan, converged=False,
            notes=[f"The intake-adjusted model could not be fitted to these {len(df)} "
                   f"episodes ({exc}); no estimates are shown."])
    sign = 1.0 if cl.registry[m].better == "higher" else -1.0
    intake_sd = float(df["intake"].std(ddof=1))
    n = counts.astype("float64")
    var_u = var_u if var_u > BOUNDARY * var_e else 0.0
    cond_var = var_u * var_e / (n * var_u + var_e)
    est = sign * pd.Series({g: blup.get(str(g), 0.0) for g in n.index}, dtype="float64")
    est = est if var_u > 0 else pd.Series(0.0, index=n.index)
    shrink = var_u / (var_u + var_e / n)
    # the unshrunk r̄_j with its own interval (σ_e/√n_j): what shrinkage starts from
    raw = sign * _mean_residuals(df, intercept, slope).reindex(n.index)
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


__all__ = ["COLUMNS", "MIN_THERAPISTS", "PROMPT", "AdjustedOutcome", "episode_changes", "fit",
           "intake_adjusted", "modelled_measure"]
