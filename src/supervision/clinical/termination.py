"""Termination: how episodes ended, drop-out, intake-only episodes, dose and retention.

domain.md §5.  ``termination`` is one of ``completed``, ``client_ended``, ``dropout``,
``external``, ``therapist_ended`` or ``ongoing``; an episode is *ended* when it is not
``ongoing`` (``Caseload.scoped`` already turned episodes that ended after the window into
``ongoing``).

* ``dropout_rate`` = dropout / ended episodes, with a Wilson 95% interval (Wilson 1927);
  the published mean across therapy studies is 19.7% (Swift & Greenberg 2012).
* ``intake_only_rate`` = ended episodes with exactly one attended session / ended episodes —
  the first decision of therapy, whether client and therapist commit after the intake.
* Dose = attended sessions per episode; retention = Kaplan–Meier survival in therapy by
  attended sessions, ended episodes as events and ongoing ones censored.
"""

from __future__ import annotations

import ibis.expr.types as ir
import numpy as np
import pandas as pd

from supervision.caseload import Caseload
from supervision.clinical.breakdown import add_rate, aggregate, with_by
from supervision.privacy import MIN_CELL, suppress_groups
from supervision.schema import ENDED, TERMINATION
from supervision.stats import km_retention


def episode_termination(cl: Caseload, *, attended: ir.Table | None = None) -> ir.Table:
    """One row per episode: how it ended and how many sessions were attended.

    Returns
    -------
    ir.Table
        ``episode_id, therapist_id, termination, ended`` (termination ≠ ongoing),
        ``attended_sessions`` (0 when none), ``intake_only`` (ended with exactly one
        attended session).  ``attended`` may give the attended sessions already counted
        (``episode_id, attended_sessions``, episodes with sessions).
    """
    e, s = cl.episodes, cl.sessions
    if attended is None:
        att = s.filter(s.attendance == "attended")
        att = att.group_by("episode_id").aggregate(_attended=att.episode_id.count())
    else:
        att = attended.select("episode_id", _attended=attended.attended_sessions)
    j = e.left_join(att, e.episode_id == att.episode_id)
    n = j._attended.fill_null(0)
    ended = j.termination != "ongoing"
    return j.select(
        "episode_id", "therapist_id", "termination", ended=ended, attended_sessions=n,
        intake_only=ended & (n == 1),
    )


#: Groupings that are a therapist's own caseload (or the whole scope): not a breakdown.
UNSUPPRESSED_BY = (None, "therapist_id")


def mask_breakdown(
    df: pd.DataFrame, by: str | None, *, count_col: str, min_cell: int
) -> pd.DataFrame:
    """Suppress small groups of a summary grouped ``by`` a breakdown (domain.md §8).

    A grouping below a therapist's own caseload (team, neurotype group, ending, …) shows a
    group of 1 to ``min_cell`` − 1 ``count_col`` as NaN with every figure NaN
    (:func:`~supervision.privacy.suppress_groups`, complementary suppression included) and
    gains the ``suppressed`` column.  ``None`` and ``therapist_id`` pass unchanged.
    """
    if by in UNSUPPRESSED_BY:
        return df
    return suppress_groups(df, count_col=count_col, min_cell=min_cell, keys=[by])


def termination_summary(
    cl: Caseload, *, by: str | None = None, min_cell: int = MIN_CELL
) -> pd.DataFrame:
    """Counts of each ending, drop-out and intake-only rates.

    Grouped ``by`` a breakdown (anything but None and ``therapist_id``), groups of fewer
    than ``min_cell`` episodes are suppressed here, at the source (:func:`mask_breakdown`).

    Returns
    -------
    pandas.DataFrame
        ``<by>, episodes, ended, completed, client_ended, dropout, external,
        therapist_ended, ongoing, dropout_rate, dropout_rate_low, dropout_rate_high,
        intake_only, intake_only_rate, sessions_attended`` (+ ``suppressed`` for a
        breakdown).  Rates in 0–1, NaN when no episode has ended.  One row when ``by`` is
        None (also for an empty caseload).
    """
    df = summarise_termination(with_by(cl, episode_termination(cl), by), by)
    return mask_breakdown(df, by, count_col="episodes", min_cell=min_cell)


def summarise_termination(t: ir.Table, by: str | None) -> pd.DataFrame:
    """:func:`termination_summary` from an :func:`episode_termination` table holding ``by``."""
    aggs: dict[str, ir.Value] = {"episodes": t.episode_id.count()}
    aggs["ended"] = t.episode_id.count(where=t.ended)
    for term in TERMINATION:
        aggs[term] = t.episode_id.count(where=t.termination == term)
    aggs["intake_only"] = t.episode_id.count(where=t.intake_only)
    aggs["sessions_attended"] = t.attended_sessions.sum()
    df = aggregate(t, by, aggs)
    df["sessions_attended"] = df["sessions_attended"].fillna(0).astype("int64")
    df = add_rate(df, "dropout_rate", "dropout", "ended")
    ended = df["ended"].astype("float64")
    df["intake_only_rate"] = df["intake_only"] / ended.where(ended > 0)
    cols = [*([by] if by else []), "episodes", "ended", *TERMINATION, "dropout_rate",
            "dropout_rate_low", "dropout_rate_high", "intake_only", "intake_only_rate",
            "sessions_attended"]
    return df[cols]


def dose_by_termination(cl: Caseload, *, min_cell: int = MIN_CELL) -> pd.DataFrame:
    """Attended sessions per episode by ending: median, quartiles and mean.

    An ending with 1 to ``min_cell`` − 1 episodes is suppressed (domain.md §8) with
    :func:`supervision.privacy.suppress_groups`, complementary suppression included: the
    scope's episodes and ``sessions_attended`` are published, so with one ending hidden
    its size and its mean (= its sessions / its episodes) would follow by subtraction.

    Returns
    -------
    pandas.DataFrame
        ``termination, episodes, suppressed, median, q1, q3, mean``, one row per ending in
        the order of :data:`supervision.schema.TERMINATION` (0 episodes and NaN when none;
        ``episodes`` and every figure NaN when suppressed).  Quartiles are exact
        (continuous, as numpy's default "linear" method).
    """
    t = episode_termination(cl)
    a = t.attended_sessions
    q = t.group_by("termination").aggregate(
        episodes=t.episode_id.count(), median=a.quantile(0.5), q1=a.quantile(0.25),
        q3=a.quantile(0.75), mean=a.mean(),
    ).execute()
    out = pd.DataFrame({"termination": list(TERMINATION)}).merge(q, on="termination", how="left")
    out["episodes"] = out["episodes"].fillna(0).astype("int64")
    for c in ("median", "q1", "q3", "mean"):
        out[c] = pd.to_numeric(out[c]).astype("float64")
    out = suppress_groups(out, count_col="episodes", min_cell=min_cell, keys=["termination"])
    return out[["termination", "episodes", "suppressed", "median", "q1", "q3", "mean"]]


def retention(cl: Caseload) -> pd.DataFrame:
    """Kaplan–Meier retention in therapy by attended sessions (:func:`stats.km_retention`).

    Leaving therapy is an ending other than a planned completion: those episodes are events
    at their number of attended sessions.  Ongoing episodes, and episodes that ended as
    planned (``completed``: the therapy ran its course, nobody left it), are right-censored
    there.  Only the counts per (sessions, left) come from the database.
    """
    t = episode_termination(cl)
    t = t.mutate(left=t.ended & (t.termination != "completed"))
    c = t.group_by(["attended_sessions", "left"]).aggregate(n=t.episode_id.count()).execute()
    reps = c["n"].to_numpy(dtype="int64")
    durations = np.repeat(c["attended_sessions"].to_numpy(dtype="float64"), reps)
    left = np.repeat(c["left"].to_numpy(dtype=bool), reps)
    return km_retention(durations, left)


__all__ = [
    "ENDED",
    "UNSUPPRESSED_BY",
    "dose_by_termination",
    "episode_termination",
    "mask_breakdown",
    "retention",
    "summarise_termination",
    "termination_summary",
]
