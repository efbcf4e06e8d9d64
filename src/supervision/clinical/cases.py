"""Cases to discuss (domain.md §7): open episodes worth bringing to supervision, with reasons.

A supervisor's list of *open* (``termination == "ongoing"``) episodes with at least one of
these patterns, each coded as domain.md names it (and listed in this order):

``low_alliance``
    The latest rating on an alliance measure that has a concern threshold is below it
    (SRS: below 36, the clinical cut-off of Miller & Duncan; Duncan et al. 2003).
``alliance_drop``
    An alliance-drop rupture (registry ``drop_threshold``: SRS 5, WAI-SR 6 points below the
    previous rated session) on one of the episode's last three rated sessions of that
    measure — whether or not the clinician also flagged it, and whether or not it has since
    recovered: a recent sharp dip is worth a conversation (Safran & Muran 2000; Eubanks,
    Muran & Safran 2018).
``unrepaired_rupture``
    A clinician-flagged rupture with no ``resolved`` repair on it or any later session.
``reliable_deterioration``
    On any outcome measure, first → latest score so far is a reliable deterioration
    (:func:`supervision.clinical.outcomes.episode_outcomes`: reliable-change value or Jacobson &
    Truax 1991).
``no_shows``
    Two or more consecutive scheduled sessions with attendance ``no_show``, anywhere in the
    episode as seen at the end of the window (a cancelled or attended session breaks a run).
``not_on_track``
    On any outcome measure, the latest change from intake is worse than the practice's
    expected response for clients who started there (§11,
    :func:`supervision.clinical.expected.episode_expected`: below the 10th percentile of the
    practice's ended episodes as of the window's end, from the 3rd score on); the reason in
    plain words is :func:`not_on_track_reasons`.
``sudden_loss``
    On any outcome measure, a sudden loss (§10, :mod:`supervision.clinical.sudden_gains`)
    whose postgain session is one of the episode's last three scored sessions
    (:data:`~supervision.clinical.sudden_gains.RECENT_SCORED`).

Ended episodes never appear.  These are prompts, never verdicts on the work.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import ibis
import ibis.expr.types as ir
import pandas as pd

from supervision.caseload import Caseload
from supervision.clinical import expected, outcomes
from supervision.clinical import sudden_gains as sg
from supervision.clinical.alliance import ORDER, episode_alliance
from supervision.clinical.ruptures import flagged_events, measure_drops

Tables = Mapping[str, ir.Table]

#: Reason codes, in the order they are listed (domain.md §7).
REASONS = ("low_alliance", "alliance_drop", "unrepaired_rupture", "reliable_deterioration",
           "no_shows", "not_on_track", "sudden_loss")

#: An alliance drop counts when it is on one of the episode's last this-many rated sessions.
RECENT_RATED = 3


def _tagged(t: ir.Table, reason: str) -> ir.Table:
    return t.select("episode_id", reason=ibis.literal(reason))


def _table(tables: Tables | None, key: str, build: Callable[[], ir.Table]) -> ir.Table | None:
    """``tables[key]`` when per-episode tables are given (None: that measure has no values),
    else ``build()``."""
    return build() if tables is None else tables.get(key)


def _low_alliance(cl: Caseload, tables: Tables | None) -> list[ir.Table]:
    out = []
    for m in cl.registry.alliance:
        if m.concern_below is not None:
            a = _table(tables, f"alliance:{m.key}", lambda k=m.key: episode_alliance(cl, k))
            if a is not None:
                out.append(_tagged(a.filter(a.last_low), "low_alliance"))
    return out


def _alliance_drop(cl: Caseload) -> list[ir.Table]:
    out = []
    for m in cl.registry.alliance:
        d = measure_drops(cl, m.key, points=m.drop_threshold)
        out.append(_tagged(d.filter(d.rated_index > d.n_rated - RECENT_RATED), "alliance_drop"))
    return out


def _unrepaired(cl: Caseload) -> list[ir.Table]:
    f = flagged_events(cl)
    return [_tagged(f.filter(~f.repaired), "unrepaired_rupture")]


def _deterioration(cl: Caseload, tables: Tables | None) -> list[ir.Table]:
    out = []
    for m in cl.registry.outcome:
        o = _table(tables, f"outcome:{m.key}", lambda k=m.key: outcomes.episode_outcomes(cl, k))
        if o is not None:
            out.append(_tagged(o.filter(o.reliable_deterioration), "reliable_deterioration"))
    return out


def _no_shows(cl: Caseload) -> list[ir.Table]:
    s = cl.sessions
    w = ibis.window(group_by=s.episode_id, order_by=[s[c] for c in ORDER])
    s = s.mutate(before=s.attendance.lag().over(w))
    return [_tagged(s.filter((s.attendance == "no_show") & (s.before == "no_show")), "no_shows")]


def _sudden_measures(cl: Caseload) -> list[str]:
    """The outcome measures with scores (each its own scale: the paired rule is not one)."""
    return cl.measures_present("outcome")


def _not_on_track(cl: Caseload) -> list[ir.Table]:
    out = []
    for k in _sudden_measures(cl):
        e = expected.episode_expected(cl, measure=k)
        out.append(_tagged(e.filter(e.not_on_track), "not_on_track"))
    return out


def _sudden_loss(cl: Caseload) -> list[ir.Table]:
    out = []
    for k in _sudden_measures(cl):
        ev = sg.events(sg.series(cl, k), cl, cl.registry[k], kind="loss")
        out.append(_tagged(ev.filter(sg.recent_losses(ev)), "sudden_loss"))
    return out


def not_on_track_reasons(cl: Caseload) -> pd.DataFrame:
    """The plain-words reason of each open episode not on track (§7, §11), for the views:
    ``episode_id, measure, reason`` ("PHQ-9 is 4 points worse than at intake; 9 in 10
    clients who started at 15–17 were better by session 6"), one row per measure."""
    parts = []
    for k in _sudden_measures(cl):
        e = expected.episode_expected(cl, measure=k)
        e = e.filter(e.not_on_track)
        parts.append(e.select("episode_id", measure=ibis.literal(k), reason=e.reason))
    if not parts:
        return pd.DataFrame({c: pd.Series(dtype="object") for c in ("episode_id", "measure",
                                                                     "reason")})
    u = ibis.union(*parts) if len(parts) > 1 else parts[0]
    return u.order_by(["episode_id", "measure"]).execute()


def reason_col(reason: str) -> str:
    """The boolean column of a reason code in :func:`episode_reasons` (``reason__no_shows``)."""
    return f"reason__{reason}"


def _reason_rows(cl: Caseload, tables: Tables | None, ruptures: ir.Table | None) -> ir.Table:
    """One row per (episode, reason), distinct, for every episode of ``cl`` (open or not)."""
    if ruptures is None:
        unrepaired = _unrepaired(cl)
    else:  # ruptures.episode_ruptures: a flagged rupture not repaired, as flagged_events says
        unrepaired = [_tagged(ruptures.filter(ruptures.unrepaired_flagged), "unrepaired_rupture")]
    parts = [
        *_low_alliance(cl, tables), *_alliance_drop(cl), *unrepaired,
        *_deterioration(cl, tables), *_no_shows(cl), *_not_on_track(cl), *_sudden_loss(cl),
    ]
    return ibis.union(*parts, distinct=True) if len(parts) > 1 else parts[0].distinct()


def episode_reasons(
    cl: Caseload, *, tables: Tables | None = None, ruptures: ir.Table | None = None
) -> ir.Table:
    """Per episode with at least one reason: ``episode_id`` and one boolean column per code
    of :data:`REASONS` (:func:`reason_col`), for every episode (open or ended: the list of
    cases keeps the open ones).  ``tables`` as in :func:`case_reasons`; ``ruptures`` may be
    :func:`~.ruptures.episode_ruptures` of ``cl`` (its ``unrepaired_flagged``)."""
    r = _reason_rows(cl, tables, ruptures)
    return r.group_by("episode_id").aggregate(
        **{reason_col(code): (r.reason == code).any() for code in REASONS}
    )


def case_reasons(cl: Caseload, *, tables: Tables | None = None) -> ir.Table:
    """One row per (open episode, reason): ``therapist_id, episode_id, reason`` (distinct).

    ``tables`` may hold per-episode tables already computed for these episodes (or for a
    caseload containing them, with the same sample): ``"alliance:<key>"``
    (:func:`~supervision.clinical.alliance.episode_alliance`) and ``"outcome:<key>"``
    (:func:`~supervision.clinical.outcomes.per_episode`), one per measure with values; a measure
    without a table has no rated session and gives no reason.
    """
    reasons = _reason_rows(cl, tables, None)
    e = cl.episodes
    open_ = e.filter(e.termination == "ongoing").select("episode_id", "therapist_id")
    return open_.join(reasons, "episode_id").select("therapist_id", "episode_id", "reason")


def cases_to_discuss(cl: Caseload, *, tables: Tables | None = None) -> pd.DataFrame:
    """Open episodes with at least one §7 reason, by therapist then episode.

    ``tables``: per-episode tables to reuse, as in :func:`case_reasons`.

    Returns
    -------
    pandas.DataFrame
        ``therapist_id, episode_id, reasons, details`` — ``reasons`` is a list of codes in
        the order of :data:`REASONS`; ``details`` the plain-words reason of ``not_on_track``
        (:func:`not_on_track_reasons`, measures joined by "; "), else None.  Empty (with
        these columns) when no open episode qualifies.
    """
    df = case_reasons(cl, tables=tables).execute()
    cols = ["therapist_id", "episode_id", "reasons"]
    if df.empty:
        cols = [*cols, "details"]
        return pd.DataFrame({c: pd.Series(dtype="object") for c in cols})
    rank = {r: i for i, r in enumerate(REASONS)}
    df = df.assign(_o=df["reason"].map(rank)).sort_values(["therapist_id", "episode_id", "_o"])
    out = df.groupby(["therapist_id", "episode_id"], sort=True)["reason"].agg(list)
    out = out.rename("reasons").reset_index()[cols]
    if not out["reasons"].map(lambda r: "not_on_track" in r).any():
        return out.assign(details=None)
    why = not_on_track_reasons(cl).groupby("episode_id")["reason"].agg("; ".join)
    return out.assign(details=out["episode_id"].map(why).where(
        out["reasons"].map(lambda r: "not_on_track" in r), None))


__all__ = [
    "REASONS", "RECENT_RATED", "case_reasons", "cases_to_discuss", "episode_reasons",
    "not_on_track_reasons", "reason_col",
]
