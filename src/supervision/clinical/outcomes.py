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
      passed in.  Computed as ``|post − pre| > 1.96 · S_diff`` (no division).  The strict
      ``>`` is the published definition; the Claus et al. (2020) counts are reproduced
      with it, though no |RCI| in those data lies near 1.96, so they cannot tell ``>``
      from ``>=``.  Undefined
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
from collections.abc import Sequence
from dataclasses import dataclass

import ibis
import ibis.expr.types as ir
import pandas as pd

from supervision.caseload import Caseload
from supervision.clinical import termination as term
from supervision.clinical.breakdown import add_rate, aggregate, with_by
from supervision.errors import ConfigError
from supervision.measures import PAIRED, Measure, Registry, default_registry
from supervision.privacy import MIN_CELL, suppress_groups
from supervision.schema import TERMINATION

#: Jacobson & Truax (1991): a change is reliable when |RCI| exceeds this (two-sided 95%).
RCI_CRITICAL = 1.96
#: The pseudo-measure key of the NHS Talking Therapies PHQ-9 + GAD-7 paired rule.
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
    """Attach the sample's pre-treatment mean and SD (over paired episodes) when needed.

    The sample SD is ``std(how="sample")`` (ddof = 1), as Jacobson & Truax (1991) and the
    ``clinicalsignificance`` R package use.
    """
    needs_sd = m.reliable_change is None and m.reliability is not None and m.norm_sd is None
    needs_c = m.clinical_cutoff is None and m.functional_mean is not None and (
        m.clinical_mean is None or m.clinical_sd is None
    )
    if not (needs_sd or needs_c):
        return t, ibis.null("float64"), ibis.null("float64")
    mean_col, sd_col = f"_{first}_mean", f"_{first}_sd"
    stats = t.aggregate(**{mean_col: t[first].mean(), sd_col: t[first].std(how="sample")})
    t = t.cross_join(stats)
    return t, t[mean_col], t[sd_col]


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
    return cl.registry.of_kind(measure, "outcome")


def episode_outcomes(cl: Caseload, measure: str, *, scores: ir.Table | None = None) -> ir.Table:
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

    ``scores`` may give the first and last scores already found (``episode_id,
    therapist_id, n_scores, <measure>_first, <measure>_last``, episodes with ≥ 2 scores).
    """
    m = _outcome_measure(cl, measure)
    if scores is None:
        s = _attended(cl)
        scores = _first_last(s.filter(s[measure].notnull()), [measure])
    t = scores.rename(first_score=f"{measure}_first", last_score=f"{measure}_last")
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


def episode_phq9_gad7(cl: Caseload, *, scores: ir.Table | None = None) -> ir.Table:
    """The NHS Talking Therapies paired PHQ-9 + GAD-7 rule, per episode.

    Only attended sessions with **both** scores count; an episode needs at least two of
    them, and its first and last such sessions are compared.  Each measure's reliable
    change and caseness come from the registry (PHQ-9: 6 points, caseness ≥ 10; GAD-7:
    4 points, caseness ≥ 8).

    * ``case_at_start``: PHQ-9 or GAD-7 at caseness at the first paired session;
    * ``recovered``: a case at the start and neither at caseness at the last;
    * ``reliable_improvement``: at least one improves reliably and neither deteriorates
      reliably; ``reliable_deterioration``: the converse;
    * ``reliable_recovery``: recovered and reliably improved.

    Source: NHS England, *NHS Talking Therapies Manual* (v7, 2024), "paired scores" and the
    recovery / reliable improvement definitions used in the annual reports.

    Returns
    -------
    ir.Table
        ``episode_id, therapist_id, n_scores, case_at_start, recovered,
        reliable_improvement, reliable_deterioration, reliable_recovery``.  ``scores``: the
        first and last paired scores already found (``phq9_first`` ... ``gad7_last``).
    """
    phq, gad = _outcome_measure(cl, "phq9"), _outcome_measure(cl, "gad7")
    if scores is None:
        s = _attended(cl)
        scores = _first_last(s.filter(s.phq9.notnull() & s.gad7.notnull()), ["phq9", "gad7"])
    t = scores
    t, pm, psd = _with_sample(t, "phq9_first", phq)
    t, gm, gsd = _with_sample(t, "gad7_first", gad)
    p = _flags(t, "phq9_first", "phq9_last", phq, pm, psd)
    g = _flags(t, "gad7_first", "gad7_last", gad, gm, gsd)
    case = p.first_clinical | g.first_clinical
    recovered = case & ~p.last_clinical & ~g.last_clinical
    improved = (p.improved | g.improved) & ~p.deteriorated & ~g.deteriorated
    deteriorated = (p.deteriorated | g.deteriorated) & ~p.improved & ~g.improved
    return t.select(
        "episode_id", "therapist_id", "n_scores", case_at_start=case, recovered=recovered,
        reliable_improvement=improved, reliable_deterioration=deteriorated,
        reliable_recovery=recovered & improved,
    )


def per_episode(cl: Caseload, measure: str, *, scores: ir.Table | None = None) -> ir.Table:
    """:func:`episode_outcomes` or, for ``"phq9_gad7"``, :func:`episode_phq9_gad7`, with a
    common ``started_clinical`` column (``first_clinical`` / ``case_at_start``)."""
    if measure == PAIRED:
        t = episode_phq9_gad7(cl, scores=scores)
        return t.mutate(started_clinical=t.case_at_start)
    t = episode_outcomes(cl, measure, scores=scores)
    return t.mutate(started_clinical=t.first_clinical)


def outcome_summary(
    cl: Caseload, measure: str, *, by: str | None = None, min_cell: int = MIN_CELL
) -> pd.DataFrame:
    """Counts and rates of reliable change and recovery (domain.md §5).

    Parameters
    ----------
    measure
        An outcome measure key, or ``"phq9_gad7"`` for the NHS Talking Therapies paired rule.
    by
        None (one row) or a grouping column (see :func:`supervision.clinical.breakdown.with_by`).
        A breakdown (anything but None and ``therapist_id``) has its groups of fewer than
        ``min_cell`` paired episodes suppressed here (:func:`~supervision.clinical.termination.
        mask_breakdown`).

    Returns
    -------
    pandas.DataFrame
        ``<by>, paired, reliable_improvement, reliable_deterioration, recovered,
        reliable_recovery, started_clinical`` (counts) and the rates, each with Wilson
        95% ``_low`` / ``_high``:

        * ``reliable_improvement_rate`` = reliable_improvement / paired (episodes whose
          reliable change is defined), likewise ``reliable_deterioration_rate``;
        * ``recovery_rate`` = recovered / started_clinical and ``reliable_recovery_rate`` =
          reliable_recovery / started_clinical (NHS Talking Therapies: "finished treatment
          minus not at caseness at the start").
    """
    df = summarise_outcomes(with_by(cl, per_episode(cl, measure), by), by)
    return term.mask_breakdown(df, by, count_col="paired", min_cell=min_cell)


def summarise_outcomes(t: ir.Table, by: str | None) -> pd.DataFrame:
    """:func:`outcome_summary` from a per-episode table (:func:`per_episode`) holding ``by``."""
    c = t.episode_id.count
    aggs: dict[str, ir.Value] = {
        "paired": c(),
        "reliable_improvement": c(where=t.reliable_improvement),
        "reliable_deterioration": c(where=t.reliable_deterioration),
        "recovered": c(where=t.recovered),
        "reliable_recovery": c(where=t.reliable_recovery),
        "started_clinical": c(where=t.started_clinical),
        "_assessed": c(where=t.reliable_improvement.notnull()),
    }
    df = aggregate(t, by, aggs)
    for name, k, n in (
        ("recovery_rate", "recovered", "started_clinical"),
        ("reliable_improvement_rate", "reliable_improvement", "_assessed"),
        ("reliable_deterioration_rate", "reliable_deterioration", "_assessed"),
        ("reliable_recovery_rate", "reliable_recovery", "started_clinical"),
    ):
        df = add_rate(df, name, k, n)
    return df.drop(columns="_assessed")


_ENDING_COUNTS = ["paired", "reliable_improvement", "reliable_deterioration", "recovered",
                  "reliable_recovery", "started_clinical"]
#: What an ending's recovery figures are made of: withheld together (domain.md §8).
RECOVERY_COLUMNS = (
    "recovered", "reliable_recovery", "started_clinical", "recovery_rate", "recovery_rate_low",
    "recovery_rate_high", "reliable_recovery_rate", "reliable_recovery_rate_low",
    "reliable_recovery_rate_high",
)


def outcomes_by_termination(
    cl: Caseload, measure: str, *, min_cell: int = MIN_CELL
) -> pd.DataFrame:
    """:func:`outcome_summary` by ending, small endings suppressed (domain.md §8).

    One row per ending in ``TERMINATION`` order; endings without paired episodes have
    ``paired`` 0 and NaN rates.  Two levels of suppression, each with
    :func:`supervision.privacy.suppress_groups` (complementary suppression included, since
    the scope's own totals — paired, reliably improved, recovered ... — are published):

    * an ending with 1 to ``min_cell`` − 1 **paired** episodes is ``suppressed``: its
      ``paired``, every count and every rate NaN;
    * an ending's recovery (``started_clinical``, ``recovered``, ``reliable_recovery`` and
      their rates) is withheld, ``recovery_suppressed``, when the ending is suppressed or
      1 to ``min_cell`` − 1 of its episodes started in the clinical range (the recovery
      denominator).

    Returns
    -------
    pandas.DataFrame
        ``termination, paired, suppressed, recovery_suppressed``, the counts and the rates
        of :func:`outcome_summary` (counts as float, NaN where suppressed).
    """
    # unsuppressed rows: _suppress_endings applies the two-level rule to them
    df = summarise_outcomes(with_by(cl, per_episode(cl, measure), "termination"),
                            "termination")
    out = pd.DataFrame({"termination": list(TERMINATION)}).merge(df, on="termination", how="left")
    out[_ENDING_COUNTS] = out[_ENDING_COUNTS].fillna(0).astype("int64")
    return _suppress_endings(out, min_cell=min_cell)


def _suppress_endings(df: pd.DataFrame, *, min_cell: int = MIN_CELL) -> pd.DataFrame:
    """The two-level suppression of :func:`outcomes_by_termination` on its unsuppressed rows.

    The recovery level runs :func:`~supervision.privacy.suppress_groups` on
    ``started_clinical`` with every already suppressed ending counted as a small cell
    (it is hidden either way), so that its complement rule also sees those endings: a
    single ending with recovery withheld would otherwise be revealed as the scope's
    recovered total minus the shown endings.
    """
    out = suppress_groups(df, count_col="paired", min_cell=min_cell, keys=["termination"])
    hidden_as_small = out["started_clinical"].where(~out["suppressed"], 1)
    rec = suppress_groups(
        pd.DataFrame({"termination": out["termination"], "started_clinical": hidden_as_small}),
        count_col="started_clinical", min_cell=min_cell, keys=["termination"], rate_cols=[],
    )["suppressed"].to_numpy()
    for c in RECOVERY_COLUMNS:
        out[c] = out[c].astype("float64").where(~rec)
    out["recovery_suppressed"] = rec
    rest = [c for c in out if c not in ("termination", "paired", "suppressed",
                                        "recovery_suppressed")]
    return out[["termination", "paired", "suppressed", "recovery_suppressed", *rest]]


def episode_categories(cl: Caseload, measure: str) -> ir.Table:
    """The Jacobson–Truax combined category of each paired episode.

    Categories (Jacobson & Truax 1991, as reported by Claus et al. 2020 and the
    ``clinicalsignificance`` R package): ``recovered`` = clinical before, not after, and
    reliably improved; ``improved`` = reliably improved, not recovered; ``harmed`` = not
    clinical before, clinical after and reliably deteriorated; ``deteriorated`` = reliably
    deteriorated, not harmed; ``unchanged`` = neither.  NULL when reliable change is
    undefined (see the module docstring).  Built on :func:`episode_outcomes`.
    """
    t = episode_outcomes(cl, measure)
    fc = t.first_clinical.fill_null(False)
    lc = t.last_clinical.fill_null(False)
    harmed = ~t.first_clinical.fill_null(True) & lc & t.reliable_deterioration
    category = (
        ibis.cases(
            (t.reliable_improvement.isnull(), ibis.null("string")),
            (t.reliable_improvement & fc & ~lc, "recovered"),
            (t.reliable_improvement, "improved"),
            (harmed, "harmed"),
            (t.reliable_deterioration, "deteriorated"),
            else_="unchanged",
        )
    )
    return t.select("episode_id", "therapist_id", "first_score", "last_score", category=category)


def category_summary(cl: Caseload, measure: str, *, by: str | None = None) -> pd.DataFrame:
    """Episodes per Jacobson–Truax category: ``<by>, category, episodes`` (all five shown)."""
    t = with_by(cl, episode_categories(cl, measure), by)
    keys = [*([by] if by else []), "category"]
    df = t.group_by(keys).aggregate(episodes=t.episode_id.count()).execute()
    frames = [df] if by is None else [g for _, g in df.groupby(by, sort=True)]
    out = []
    for g in frames or [df]:
        full = pd.DataFrame({"category": list(CATEGORIES)})
        if by is not None and len(g):
            full.insert(0, by, g[by].iloc[0])
        out.append(full.merge(g, on=keys, how="left"))
    res = pd.concat(out, ignore_index=True)
    res["episodes"] = res["episodes"].fillna(0).astype("int64")
    return res


def jacobson_truax(
    pre: Sequence[float], post: Sequence[float], measure: str | Measure, *,
    registry: Registry | None = None,
) -> pd.DataFrame:
    """Classify pre/post pairs with the product's reliable-change code (no parallel formula).

    The pairs become a one-off :class:`Caseload` (one episode per pair, two attended
    sessions) and go through :func:`episode_categories`, so a ``measure`` without a
    ``norm_sd`` uses the SD of these ``pre`` scores (the sample).

    Parameters
    ----------
    pre, post
        Scores before and after, same length, no missing values.
    measure
        A registry key, or a :class:`Measure` (added to the registry for this call).
    registry
        Registry holding ``measure`` (default: the shipped one).

    Returns
    -------
    pandas.DataFrame
        ``pre, post, category`` in input order.
    """
    reg = registry or default_registry()
    if isinstance(measure, Measure):
        reg = Registry({**reg.measures, measure.key: measure})
        measure = measure.key
    if len(pre) != len(post):
        raise ConfigError(f"pre has {len(pre)} scores but post has {len(post)}")
    n = len(pre)
    ids = [f"p{i:06d}" for i in range(n)]
    sessions = pd.DataFrame({
        "client_id": ids * 2, "therapist_id": ["all"] * (2 * n), "episode_id": ids * 2,
        "session_date": ["2000-01-01"] * n + ["2000-01-02"] * n,
        measure: [*map(float, pre), *map(float, post)],
    })
    episodes = pd.DataFrame({"episode_id": ids, "client_id": ids, "therapist_id": "all",
                             "start_date": "2000-01-01"})
    cl = Caseload.from_frames(sessions, episodes, pd.DataFrame({"therapist_id": ["all"]}),
                              registry=reg)
    cat = episode_categories(cl, measure).select("episode_id", "category").execute()
    out = pd.DataFrame({"episode_id": ids, "pre": pre, "post": post})
    return out.merge(cat, on="episode_id", how="left").drop(columns="episode_id")


__all__ = [
    "CATEGORIES", "OUTCOME_COLUMNS", "PAIRED", "RCI_CRITICAL", "RECOVERY_COLUMNS",
    "category_summary", "episode_categories", "episode_outcomes", "episode_phq9_gad7",
    "jacobson_truax", "outcome_summary", "outcomes_by_termination", "per_episode",
    "summarise_outcomes",
]
