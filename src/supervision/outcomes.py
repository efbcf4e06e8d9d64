"""Pre–post outcome: reliable change, recovery and the NHS Talking Therapies paired rule.

domain.md §5.  Per outcome measure, an episode's *scores* are its attended sessions with a
value on that measure, ordered by ``session_date`` then ``source_row``; an episode with at
least two scores is *paired* and compared first → last score (for an open episode, the
latest score so far).

Reliable change (per measure of the registry, :mod:`supervision.measures`)
    * ``reliable_change`` given: a change of **at least** that many points in the better
      (worse) direction is a reliable improvement (deterioration).  The published BDI-II
      minimal-important-difference counts of Claus et al. (2020) are reproduced with
      "at least" (``>=``) and not with ``>`` (tests/test_validation_claus.py).
    * ``reliability`` given instead: Jacobson & Truax (1991): reliable when
      ``|RCI| > 1.96`` (strict) with ``RCI = (post − pre) / S_diff`` and
      ``S_diff = √2 · SD_pre · √(1 − r)``; ``SD_pre`` is the measure's ``norm_sd`` or else
      the sample SD (ddof = 1) of the first scores of the paired episodes of the caseload
      passed in.  Computed as ``|post − pre| > 1.96 · S_diff`` (no division).  Undefined
      (NULL) when the sample has fewer than two paired episodes and no ``norm_sd`` is given.

Clinical range
    ``clinical_cutoff`` or the Jacobson–Truax cut-off ``c = (SD_clin · M_func + SD_func ·
    M_clin) / (SD_clin + SD_func)`` from functional norms, with the clinical mean / SD given
    or else the sample's pre-treatment mean / SD.  Lower-is-better measures are clinical at
    or above the cut-off, higher-is-better ones below it (``Measure.is_clinical``).

*Recovered*: first score clinical, last score not.  *Reliable recovery*: recovered and
reliably improved.  Everything is an Ibis expression; only summaries come into pandas.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import ibis
import ibis.expr.types as ir
import pandas as pd

from supervision.caseload import Caseload
from supervision.errors import ConfigError
from supervision.measures import Measure
from supervision.stats import wilson_frame

#: Jacobson & Truax (1991): a change is reliable when |RCI| exceeds this (two-sided 95%).
RCI_CRITICAL = 1.96
#: The pseudo-measure key of the NHS Talking Therapies PHQ-9 + GAD-7 paired rule.
PAIRED = "phq9_gad7"
#: Jacobson–Truax combined categories (Claus et al. 2020; clinicalsignificance R package).
CATEGORIES = ("recovered", "improved", "unchanged", "deteriorated", "harmed")

OUTCOME_COLUMNS = (
    "episode_id", "therapist_id", "n_scores", "first_score", "last_score", "change",
    "first_clinical", "last_clinical", "reliable_improvement", "reliable_deterioration",
    "recovered", "reliable_recovery",
)


def _attended(cl: Caseload) -> ir.Table:
    s = cl.sessions
    return s.filter(s.attendance == "attended")


def _first_last(r: ir.Table, columns: list[str]) -> ir.Table:
    """Per episode with ≥ 2 rows of ``r``: ``n_scores`` and ``<col>_first`` / ``<col>_last``.

    Rows are ordered by ``session_date`` then ``source_row``; one window sort, then a
    grouped aggregate that keeps the value at position 0 and at position n − 1.
    """
    w = ibis.window(group_by="episode_id", order_by=["session_date", "source_row"])
    r = r.mutate(_i=ibis.row_number().over(w), _n=r.episode_id.count().over(group_by="episode_id"))
    aggs = {"n_scores": r.episode_id.count()}
    for c in columns:
        aggs[f"{c}_first"] = r[c].max(where=r._i == 0)
        aggs[f"{c}_last"] = r[c].max(where=r._i == r._n - 1)
    out = r.group_by(["episode_id", "therapist_id"]).aggregate(**aggs)
    return out.filter(out.n_scores >= 2)


@dataclass(frozen=True)
class _Flags:
    """Ibis boolean expressions classifying one measure's first/last pair."""

    improved: ir.BooleanValue
    deteriorated: ir.BooleanValue
    first_clinical: ir.BooleanValue
    last_clinical: ir.BooleanValue


def _with_sample(t: ir.Table, first: str, m: Measure) -> tuple[ir.Table, ir.Value, ir.Value]:
    """Attach the sample's pre-treatment mean and SD (over paired episodes) when needed."""
    needs_sd = m.reliable_change is None and m.reliability is not None and m.norm_sd is None
    needs_c = m.clinical_cutoff is None and m.functional_mean is not None and (
        m.clinical_mean is None or m.clinical_sd is None
    )
    if not (needs_sd or needs_c):
        return t, ibis.null("float64"), ibis.null("float64")
    stats = t.aggregate(_pre_mean=t[first].mean(), _pre_sd=t[first].std(how="sample"))
    t = t.cross_join(stats)
    return t, t._pre_mean, t._pre_sd


def _flags(t: ir.Table, first: str, last: str, m: Measure,
           pre_mean: ir.Value, pre_sd: ir.Value) -> _Flags:
    sign = 1.0 if m.better == "higher" else -1.0
    gain = (t[last] - t[first]) * sign
    if m.reliable_change is not None:
        rc = ibis.literal(float(m.reliable_change))
        improved, deteriorated = gain >= rc, -gain >= rc
    elif m.reliability is not None:
        sd = ibis.literal(float(m.norm_sd)) if m.norm_sd is not None else pre_sd
        s_diff = sd * math.sqrt(2.0) * math.sqrt(1.0 - m.reliability)
        improved, deteriorated = gain > s_diff * RCI_CRITICAL, -gain > s_diff * RCI_CRITICAL
    else:
        raise ConfigError(
            f"measure {m.key!r} has neither reliable_change nor reliability: add one of them "
            "to the measure file to compute reliable change"
        )
    cut = _cutoff(m, pre_mean, pre_sd)
    if cut is None:
        none = ibis.null("boolean")
        return _Flags(improved, deteriorated, none, none)
    if m.better == "lower":
        return _Flags(improved, deteriorated, t[first] >= cut, t[last] >= cut)
    return _Flags(improved, deteriorated, t[first] < cut, t[last] < cut)


def _cutoff(m: Measure, pre_mean: ir.Value, pre_sd: ir.Value) -> ir.Value | None:
    """``Measure.cutoff`` as an Ibis value (the sample's mean/SD may be needed)."""
    if m.clinical_cutoff is not None:
        return ibis.literal(float(m.clinical_cutoff))
    if m.functional_mean is None or m.functional_sd is None:
        return None
    m_clin = ibis.literal(float(m.clinical_mean)) if m.clinical_mean is not None else pre_mean
    sd_clin = ibis.literal(float(m.clinical_sd)) if m.clinical_sd is not None else pre_sd
    return (sd_clin * m.functional_mean + m_clin * m.functional_sd) / (sd_clin + m.functional_sd)


def _outcome_measure(cl: Caseload, measure: str) -> Measure:
    m = cl.registry[measure]
    if m.kind != "outcome":
        known = ", ".join(x.key for x in cl.registry.outcome)
        raise ConfigError(f"{measure!r} is an alliance measure, not an outcome; outcomes: {known}")
    return m


def episode_outcomes(cl: Caseload, measure: str) -> ir.Table:
    """First → last score of each episode with ≥ 2 scores on ``measure``, classified.

    Parameters
    ----------
    cl
        The (already scoped) caseload.  Its paired episodes are the sample for a
        Jacobson–Truax ``S_diff`` or cut-off that needs the sample's pre-treatment SD.
    measure
        An outcome measure key of ``cl.registry`` (``"phq9"``, ``"ors"``, ...).

    Returns
    -------
    ir.Table
        ``episode_id, therapist_id, n_scores, first_score, last_score, change`` (last − first,
        in the measure's points), ``first_clinical, last_clinical`` (NULL when the measure
        has no cut-off), ``reliable_improvement, reliable_deterioration, recovered,
        reliable_recovery`` (see the module docstring for the formulas).
    """
    m = _outcome_measure(cl, measure)
    s = _attended(cl)
    t = _first_last(s.filter(s[measure].notnull()), [measure])
    t = t.rename(first_score=f"{measure}_first", last_score=f"{measure}_last")
    t, pre_mean, pre_sd = _with_sample(t, "first_score", m)
    f = _flags(t, "first_score", "last_score", m, pre_mean, pre_sd)
    recovered = f.first_clinical & ~f.last_clinical
    return t.select(
        "episode_id", "therapist_id", "n_scores", "first_score", "last_score",
        change=t.last_score - t.first_score,
        first_clinical=f.first_clinical, last_clinical=f.last_clinical,
        reliable_improvement=f.improved, reliable_deterioration=f.deteriorated,
        recovered=recovered, reliable_recovery=recovered & f.improved,
    )
