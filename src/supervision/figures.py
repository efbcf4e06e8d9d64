"""The figures of a scope: grouped aggregates of the one-pass per-episode table.

:func:`scope_figures` aggregates :func:`supervision.episodes.episode_table` once for the whole
table and once per value of a grouping column (``therapist_id``, ``group``, ...), in two
queries, and adds every rate and interval as whole columns.  The result is one pandas row per
scope (``by`` None for the whole table), the columns named as the summaries of the metric
modules name them:

* termination (domain.md §5): ``episodes, ended, <each ending>, intake_only,
  sessions_attended, dropout_rate(_low, _high), intake_only_rate``;
* ruptures (§4): ``flagged, drop, count, repaired, unrepaired_at_end, per_100_sessions,
  repair_rate(_low, _high)``;
* alliance (§3), per measure ``<a>``: ``<a>__episodes, <a>__rated_sessions, <a>__early_mean
  (_low, _high), <a>__early_sd, <a>__mean_slope, <a>__slope_episodes, <a>__low_share``;
* outcomes (§5), per measure ``<o>``: ``<o>__paired`` and the counts and rates of
  :func:`supervision.clinical.outcomes.summarise_outcomes`, each rate with ``_low`` / ``_high``;
* sudden gains and losses (§10), per outcome measure ``<o>`` but the paired rule and kind
  ``<k>``: ``<o>__<k>__`` + the keys of :func:`supervision.clinical.sudden_gains.summarise`
  (``gains, episodes_with_gain, episodes_with_multiple, reversals, magnitude_mean,
  magnitude_sd``), and per such measure ``<o>__sudden_episodes``: the episodes with at least
  :data:`~supervision.clinical.sudden_gains.MIN_SCORES` scores on it, the n the counts are
  shown with (an episode with fewer cannot have a gain or a loss);
* completeness (§12): the counts of :func:`supervision.clinical.completeness.completeness`
  and its four shares.

A rate with denominator 0 is NaN.  :func:`group_figures` gives the neurotype-group cells (§6,
with the small-cell suppression of :func:`supervision.clinical.neurotype.group_summary`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import ibis
import ibis.expr.types as ir
import pandas as pd

from supervision.caseload import Caseload
from supervision.clinical import completeness, neurotype
from supervision.clinical.cases import REASONS, reason_col
from supervision.clinical.sudden_gains import MIN_SCORES
from supervision.episodes import (
    SUDDEN_KINDS,
    EpisodeTableKey,
    col,
    episode_table,
    measures,
    sudden_measures,
)
from supervision.schema import TERMINATION
from supervision.stats import mean_ci_frame, rate_columns

OUTCOME_COUNTS = ("paired", "reliable_improvement", "reliable_deterioration", "recovered",
                  "reliable_recovery", "started_clinical")
#: rate name -> (numerator, denominator) of each outcome rate.
OUTCOME_RATES = {
    "recovery_rate": ("recovered", "started_clinical"),
    "reliable_improvement_rate": ("reliable_improvement", "_assessed"),
    "reliable_deterioration_rate": ("reliable_deterioration", "_assessed"),
    "reliable_recovery_rate": ("reliable_recovery", "started_clinical"),
}
_RUPTURE_COUNTS = ("flagged", "drop", "count", "repaired")
#: Completeness counts (domain.md §12, :mod:`supervision.clinical.completeness`).
COMPLETENESS_COUNTS = ("alliance_rated", "outcome_scored", "episodes_started", "intake_scored",
                       "episodes_ended", "final_scored")
#: The sudden-gain summary counts per measure and kind (``<o>__<kind>__gains`` ...).
SUDDEN_COUNTS = ("gains", "episodes_with_gain", "episodes_with_multiple", "reversals")


def _aggs(t: ir.Table, key: EpisodeTableKey) -> dict[str, ir.Value]:
    c = t.episode_id.count
    aggs: dict[str, ir.Value] = {
        "episodes": c(), "ended": c(where=t.ended),
        **{x: c(where=t.termination == x) for x in TERMINATION},
        "intake_only": c(where=t.intake_only), "sessions_attended": t.attended_sessions.sum(),
        **{x: t[x].sum() for x in _RUPTURE_COUNTS},
        "unrepaired_at_end": c(where=t.ended & ~t.last_repaired),
    }
    started = t.attended_sessions > 0
    aggs |= {
        "alliance_rated": t.alliance_rated_sessions.sum(),
        "outcome_scored": t.outcome_scored_sessions.sum(),
        "episodes_started": c(where=started), "intake_scored": c(where=started & t.intake_scored),
        "episodes_ended": c(where=started & t.ended),
        "final_scored": c(where=started & t.ended & t.final_scored),
    }
    for k in sudden_measures(key):
        aggs[col(k, "sudden_episodes")] = c(where=t[col(k, "n_scores")] >= MIN_SCORES)
        for kind in SUDDEN_KINDS:
            def f(x: str, k: str = k, kind: str = kind) -> ir.Column:
                return t[col(k, f"{kind}_{x}")]
            p = col(k, kind)
            aggs |= {
                f"{p}__gains": f("events").sum(), f"{p}__episodes_with_gain": f("events").count(),
                f"{p}__episodes_with_multiple": c(where=f("multiple")),
                f"{p}__reversals": f("reversals").sum(),
                f"{p}__magnitude_sum": f("magnitude_sum").sum(),
                f"{p}__magnitude_sumsq": f("magnitude_sumsq").sum(),
            }
    for k in key.alliance:
        early, slope = t[col(k, "early_mean")], t[col(k, "slope")]
        aggs |= {
            col(k, "episodes"): t[col(k, "rated_sessions")].count(),
            col(k, "rated_sessions"): t[col(k, "rated_sessions")].sum(),
            col(k, "early_mean"): early.mean(), col(k, "early_sd"): early.std(how="sample"),
            col(k, "mean_slope"): slope.mean(), col(k, "slope_episodes"): slope.count(),
            col(k, "low_sum"): t[col(k, "low_sessions")].sum(),
        }
    for k in key.outcome:
        aggs[col(k, "paired")] = t[col(k, "n_scores")].count()
        for x in OUTCOME_COUNTS[1:]:
            aggs[col(k, x)] = c(where=t[col(k, x)])
        aggs[col(k, "_assessed")] = t[col(k, "reliable_improvement")].count()
    return aggs


def _rate(df: pd.DataFrame, name: str, k: str, n: str) -> dict[str, pd.Series]:
    return rate_columns(name, df[k], df[n])


def _rates(df: pd.DataFrame, key: EpisodeTableKey) -> pd.DataFrame:
    """Counts as int64 (0 where NULL), then every rate and interval, column by column."""
    counts = ["episodes", "ended", *TERMINATION, "intake_only", "sessions_attended",
              *_RUPTURE_COUNTS, "unrepaired_at_end"]
    counts += [col(k, x) for k in key.alliance for x in ("episodes", "rated_sessions",
                                                          "slope_episodes")]
    counts += [col(k, x) for k in key.outcome for x in (*OUTCOME_COUNTS, "_assessed")]
    counts += list(COMPLETENESS_COUNTS)
    counts += [f"{col(k, kind)}__{x}" for k in sudden_measures(key) for kind in SUDDEN_KINDS
               for x in SUDDEN_COUNTS]
    counts += [col(k, "sudden_episodes") for k in sudden_measures(key)]
    new: dict[str, pd.Series] = {
        c: pd.to_numeric(df[c]).fillna(0).astype("int64") for c in counts}
    df = _with(df, new)
    ended = df["ended"].astype("float64").where(df["ended"] > 0)
    sessions = df["sessions_attended"].astype("float64").where(df["sessions_attended"] > 0)
    new = {**_rate(df, "dropout_rate", "dropout", "ended"),
           "intake_only_rate": df["intake_only"] / ended,
           "per_100_sessions": 100.0 * df["count"] / sessions,
           **_rate(df, "repair_rate", "repaired", "count")}
    for k in key.alliance:
        fl = {x: pd.to_numeric(df[col(k, x)]).astype("float64")
              for x in ("early_mean", "early_sd", "mean_slope", "low_sum")}
        rated = df[col(k, "rated_sessions")].astype("float64")
        low, high = mean_ci_frame(fl["early_mean"], fl["early_sd"], df[col(k, "episodes")])
        new |= {col(k, x): v for x, v in fl.items()}
        new |= {col(k, "low_share"): fl["low_sum"] / rated.where(rated > 0),
                col(k, "early_mean_low"): low, col(k, "early_mean_high"): high}
    for k in key.outcome:
        for name, (num, den) in OUTCOME_RATES.items():
            new |= {col(k, x): v for x, v in _rate(df, name, col(k, num), col(k, den)).items()}
    for share, (num, den) in completeness.SHARES.items():
        d = df[den].astype("float64")
        new[share] = df[num].astype("float64") / d.where(d > 0)
    for k in sudden_measures(key):
        for kind in SUDDEN_KINDS:
            new |= _magnitude(df, f"{col(k, kind)}__")
    return _with(df, new)


def _magnitude(df: pd.DataFrame, p: str) -> dict[str, pd.Series]:
    """Mean and sample SD (ddof = 1) of the events' magnitudes from their count, sum and sum
    of squares, as :func:`supervision.clinical.sudden_gains.summarise` (NaN without events;
    the SD NaN with fewer than 2)."""
    n = df[f"{p}gains"].astype("float64")
    total = pd.to_numeric(df[f"{p}magnitude_sum"]).astype("float64").fillna(0.0)
    sumsq = pd.to_numeric(df[f"{p}magnitude_sumsq"]).astype("float64").fillna(0.0)
    mean = total / n.where(n > 0)
    var = ((sumsq - total * total / n.where(n > 0)) / (n - 1).where(n > 1)).clip(lower=0.0)
    return {f"{p}magnitude_mean": mean, f"{p}magnitude_sd": var ** 0.5}


def _with(df: pd.DataFrame, new: dict[str, pd.Series]) -> pd.DataFrame:
    """``df`` with the columns ``new`` (replacing any of the same name), in one concat."""
    kept = df.drop(columns=[c for c in new if c in df.columns])
    return pd.concat([kept, pd.DataFrame(new, index=df.index)], axis=1)


def scope_figures(
    cl: Caseload, *, by: str | None = "therapist_id", keys: list[str] | None = None,
    table: ir.Table | None = None,
) -> pd.DataFrame:
    """The figures of the whole caseload (first row, ``by`` None) and of each ``by`` value.

    ``by`` is a column of the per-episode table (``therapist_id``, ``group``,
    ``termination``) or None (the whole row only).  ``keys``: ``by`` values to have a row
    for even without an episode (counts 0, rates NaN).  ``table`` defaults to
    :func:`~supervision.episodes.episode_table` of ``cl``.
    """
    key = measures(cl)
    t = episode_table(cl) if table is None else table
    aggs = _aggs(t, key)
    frames = [t.aggregate(**aggs).to_pyarrow().to_pandas()]
    if by is not None:
        frames[0].insert(0, by, None)
        g = t.group_by(by).aggregate(**aggs).to_pyarrow().to_pandas()
        g[by] = g[by].astype(object)
        frames.append(g.sort_values(by, ignore_index=True, key=_str_key))
        missing = [k for k in (keys or []) if k not in set(g[by])]
        if missing:
            frames.append(pd.DataFrame({by: missing}))
    df = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    return _rates(df, key)


def cases_to_discuss(cl: Caseload) -> pd.DataFrame:
    """Open episodes with at least one §7 reason (domain.md §7), those with ``risk_item``
    first, then by therapist and episode: a
    filter of the per-episode table's ``reason__<code>`` columns (the rule is
    :func:`supervision.clinical.cases.episode_reasons`, written once).

    Returns
    -------
    pandas.DataFrame
        ``therapist_id, episode_id, reasons, details`` — ``reasons`` a list of codes in the
        order of :data:`~supervision.clinical.cases.REASONS`; ``details`` the plain-words
        reason of ``not_on_track`` (§11, the measures' reasons joined by "; "), else None.
        Empty (with these columns) when no open episode qualifies.
    """
    t = episode_table(cl)
    flags = [t[reason_col(r)] for r in REASONS]
    any_reason = flags[0]
    for f in flags[1:]:
        any_reason = any_reason | f
    q = t.filter((t.termination == "ongoing") & any_reason)
    df = q.select("therapist_id", "episode_id", "not_on_track_reason",
                  *[reason_col(r) for r in REASONS]).to_pyarrow().to_pandas()
    df = df.assign(therapist_id=df["therapist_id"].astype(str),
                   episode_id=df["episode_id"].astype(str))
    # a critical item first, whatever else applies (§7); then by therapist and episode
    df = df.assign(_calm=~df[reason_col("risk_item")].astype(bool))
    df = df.sort_values(["_calm", "therapist_id", "episode_id"], ignore_index=True)
    marks = zip(*(df[reason_col(r)].tolist() for r in REASONS), strict=True)
    reasons = [[r for r, m in zip(REASONS, row, strict=True) if m] for row in marks]
    why = [t if "not_on_track" in rs and isinstance(t, str) else None
           for t, rs in zip(df["not_on_track_reason"].tolist(), reasons, strict=True)]
    return pd.DataFrame({"therapist_id": df["therapist_id"].astype(object),
                         "episode_id": df["episode_id"].astype(object),
                         "reasons": pd.Series(reasons, dtype=object),
                         "details": pd.Series(why, dtype=object)})


#: Status of an open episode against the practice's expected response (§11), worst first:
#: the worst over its outcome measures (``<o>__expected_position``); an episode before its
#: 3rd score, or without comparable history, is ``not_enough_history``.
CASELOAD_STATUS = ("below_p10", "below_p25", "on_track", "not_enough_history")
#: Columns of :func:`open_caseload`, before the per-measure ones.
CASELOAD_COLUMNS = ("therapist_id", "episode_id", "sessions", "last_seen_date",
                    "days_since_seen", "alliance_measure", "alliance_latest",
                    "alliance_concern", "status", "sudden_gains", "sudden_losses", "flagged",
                    "reasons")


def _status_rank(t: ir.Table, outs: tuple[str, ...]) -> ir.IntegerValue:
    """The worst :data:`CASELOAD_STATUS` index over the outcome measures ``outs``."""
    ranks = [ibis.cases(*((t[col(k, "expected_position")] == s, i)
                          for i, s in enumerate(CASELOAD_STATUS[:3])), else_=3)
             for k in outs]
    return ibis.least(*ranks) if len(ranks) > 1 else (ranks[0] if ranks else ibis.literal(3))


def _summed(t: ir.Table, names: list[str]) -> ir.IntegerValue:
    out: ir.IntegerValue = ibis.literal(0)
    for n in names:
        out = out + ibis.coalesce(t[n], 0)
    return out


def open_caseload(cl: Caseload, *, as_of: dt.date, alliance_key: str | None = None,
                  therapist_ids: Sequence[str] | None = None) -> pd.DataFrame:
    """Every open episode of ``cl``, one row each: the supervisor's open caseload.

    One query over the per-episode table (:func:`~supervision.episodes.episode_table`):
    the episodes with ``termination == "ongoing"`` as of the window's end, with

    * ``sessions``: attended sessions so far; ``last_seen_date`` (the last attended session)
      and ``days_since_seen`` (days from it to ``as_of``: the window's end);
    * ``alliance_measure, alliance_latest, alliance_concern``: the latest rating on
      ``alliance_key`` (default: SRS, else WAI-SR) and whether it is below the measure's
      concern threshold (None for a measure without one, such as WAI-SR);
    * per outcome measure ``<o>`` (not the paired rule): ``<o>__intake, <o>__latest,
      <o>__change`` (latest − intake, in points) and ``<o>__position``;
    * ``status``: the worst of :data:`CASELOAD_STATUS` over the outcome measures (§11:
      the latest change below the 10th or the 25th percentile of change of the practice's
      ended episodes that started at the same level; else on track);
    * ``sudden_gains, sudden_losses`` (§10, over the outcome measures);
    * ``reasons``: the §7 codes (``risk_item`` first); ``flagged``: any reason.

    Rows come flagged first (``risk_item`` cases first of all), then by therapist and episode.
    Pseudonyms only: ``episode_id`` and ``therapist_id``.  ``therapist_ids``: only these
    therapists' episodes (a supervisor's team, within the window's one table).
    """
    t = episode_table(cl)
    key = measures(cl)
    outs = sudden_measures(key)
    a_key = alliance_key if alliance_key in key.alliance else (
        cl.registry.default_alliance(list(key.alliance)))
    t = t.filter(t.termination == "ongoing")
    if therapist_ids is not None:
        t = t.filter(t.therapist_id.isin([str(x) for x in therapist_ids]))
    seen = t.last_seen_date.cast("date")
    cols: dict[str, ir.Value] = {
        "sessions": t.attended_sessions, "last_seen_date": seen,
        "alliance_measure": ibis.literal(a_key, type="string"),
        "alliance_latest": t[col(a_key, "last")] if a_key else ibis.null("float64"),
        "alliance_concern": t[col(a_key, "last_low")] if a_key and (
            cl.registry[a_key].concern_below is not None) else ibis.null("boolean"),
        "_rank": _status_rank(t, outs),
        "sudden_gains": _summed(t, [col(k, "gain_events") for k in outs]),
        "sudden_losses": _summed(t, [col(k, "loss_events") for k in outs]),
    }
    for k in outs:
        cols |= {col(k, "intake"): t[col(k, "first")], col(k, "latest"): t[col(k, "last")],
                 col(k, "change"): t[col(k, "last")] - t[col(k, "first")],
                 col(k, "position"): t[col(k, "expected_position")]}
    marks = [reason_col(r) for r in REASONS]
    df = t.select("therapist_id", "episode_id", *marks, **cols).to_pyarrow().to_pandas()
    reasons = [[r for r, m in zip(REASONS, row, strict=True) if m]
               for row in zip(*(df[m].tolist() for m in marks), strict=True)]
    rank = df.pop("_rank")
    df = df.drop(columns=marks).assign(
        therapist_id=df["therapist_id"].astype(str), episode_id=df["episode_id"].astype(str),
        # days as of the window's end (a subtraction per row: a literal date inside the
        # query would be a parameter of the compiled plan, which DuckDB's date parts refuse)
        days_since_seen=[None if pd.isna(d) else (as_of - pd.Timestamp(d).date()).days
                         for d in df["last_seen_date"]],
        status=[CASELOAD_STATUS[int(r)] for r in rank],
        reasons=pd.Series(reasons, dtype=object, index=df.index),
        flagged=[bool(r) for r in reasons], _risk=["risk_item" in r for r in reasons])
    df = df.sort_values(["_risk", "flagged", "therapist_id", "episode_id"],
                        ascending=[False, False, True, True], ignore_index=True)
    rest = [c for c in df.columns if c not in CASELOAD_COLUMNS and c != "_risk"]
    return df[[*CASELOAD_COLUMNS, *rest]]


def _str_key(s: pd.Series) -> pd.Series:
    return s.map(str)


def neurotype_table(cl: Caseload, table: ir.Table | None = None) -> ir.Table:
    """The columns :func:`~.neurotype.group_summary` averages, from the per-episode
    table: episodes with a therapist row, their group, ending, ruptures, early mean on the
    default alliance measure and reliable improvement on the default outcome."""
    t = episode_table(cl) if table is None else table
    present = cl.measures_present()
    a_key, o_key = cl.registry.default_alliance(present), cl.registry.default_outcome(present)
    t = t.filter(t.group.notnull())
    early = t[col(a_key, "early_mean")] if a_key else ibis.null("float64")
    ri = t[col(o_key, "reliable_improvement")] if o_key else ibis.null("boolean")
    return t.select("episode_id", "therapist_id", "group", "termination", "ended", "count",
                    "repaired", early_mean=early, reliable_improvement=ri)


def group_figures(cl: Caseload, *, min_cell: int, by: str | None = None,
                  table: ir.Table | None = None, total: bool = False) -> pd.DataFrame:
    """:func:`supervision.clinical.neurotype.group_summary` from the per-episode table (``total``:
    with the whole scope's groups as rows whose ``by`` is missing, suppressed together)."""
    fig = neurotype_table(cl, table)
    return neurotype.group_summary(cl, min_cell=min_cell, by=by, figures=fig, total=total)


__all__ = ["CASELOAD_COLUMNS", "CASELOAD_STATUS", "COMPLETENESS_COUNTS", "OUTCOME_COUNTS",
           "OUTCOME_RATES", "SUDDEN_COUNTS", "cases_to_discuss", "group_figures",
           "neurotype_table", "open_caseload", "scope_figures"]
