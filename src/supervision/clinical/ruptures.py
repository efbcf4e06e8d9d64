"""Ruptures and repair (domain.md §4): flagged and alliance-drop ruptures, repair, rates.

Two kinds of rupture, one row per rupture *session*:

* **flagged** — an attended session whose ``rupture`` is not ``none`` (the clinician's 3RS
  type: withdrawal, confrontation, unspecified; Eubanks, Muran & Safran 2018).  It is
  *repaired* when ``repair == "resolved"`` is recorded on it or on any later session of the
  episode (domain.md's rule, taken literally).  ``sessions_to_repair`` counts attended
  sessions from the rupture to the first such session (0 when resolved on the same session).
* **drop** — a rated session whose alliance is at least the drop threshold below the previous
  rated session of the episode on that measure (registry ``drop_threshold``: SRS 5, WAI-SR 6
  points), or, with ``drop_sd=k``, at least *k* SDs of the episode's own series (episodes with
  ≥ 3 rated sessions; Stiles et al. 2004).  It is *repaired* when one of the next three rated
  sessions is back at or above the rating before the drop — the V-shaped rupture–repair
  sequence of Strauss et al. (2006); ``sessions_to_repair`` is that session's distance in
  rated sessions (1–3).  A session that drops on several measures is one rupture (repaired if
  it repairs on any); a session both flagged and dropped counts once, as flagged.

FIT's softer alert — any SRS fall of one point or more — is a flag (:func:`fit_alerts`), never a
rupture.  All expressions are portable Ibis (window functions), no raw SQL.
"""

from __future__ import annotations

from collections.abc import Mapping

import ibis
import ibis.expr.types as ir
import pandas as pd

from supervision.caseload import Caseload
from supervision.clinical.alliance import ORDER, ordered_sessions
from supervision.clinical.breakdown import with_groups
from supervision.clinical.termination import episode_termination
from supervision.errors import ConfigError
from supervision.stats import rate_columns
from supervision.windowcache import RuptureCandidates

#: Drop repairs are looked for within this many rated sessions after the drop (Strauss 2006).
REPAIR_WINDOW = 3

_EVENT_COLUMNS = (
    "episode_id", "therapist_id", "session_date", "source_row", "attended_index", "kind",
    "rupture_type", "measure", "drop_points", "repaired", "sessions_to_repair",
)


def is_drop(prev: ir.NumericValue, value: ir.NumericValue, points: float) -> ir.BooleanValue:
    """The drop rule: a previous rated value, a fall below it, of at least ``points``."""
    drop = prev - value
    return prev.notnull() & (drop > 0) & (drop >= ibis.literal(float(points)))


def repair_k(prev: ir.NumericValue, nexts: list[ir.NumericValue]) -> ir.IntegerValue:
    """The repair rule: the first k (1..:data:`REPAIR_WINDOW`) whose k-th next rated value is
    back at or above the rating before the drop; NULL if none."""
    return ibis.cases(*[(n >= prev, k) for k, n in enumerate(nexts, start=1)],
                      else_=ibis.null("int64")).cast("int64")


def _thresholds(
    cl: Caseload, drop_points: Mapping[str, float] | None, drop_sd: float | None
) -> dict[str, float]:
    """Alliance measure -> points (registry default, overridden by ``drop_points``)."""
    if drop_sd is not None and drop_sd <= 0:
        raise ConfigError(f"drop_sd must be a positive number of SDs (1 or 2), not {drop_sd}")
    points = {m.key: float(m.drop_threshold) for m in cl.registry.alliance
              if m.drop_threshold is not None}
    for key, value in (drop_points or {}).items():
        if key not in points:
            names = ", ".join(points)
            raise ConfigError(f"drop_points: {key!r} is not an alliance measure ({names})")
        if value <= 0:
            raise ConfigError(f"drop_points: {key} must be a positive number of points")
        points[key] = float(value)
    return points


def _rated(s: ir.Table, measure: str) -> ir.Table:
    """The rated sessions of ``measure`` with their neighbours over the one session order.

    ``s`` is :func:`~supervision.clinical.alliance.ordered_sessions` (of a caseload or the
    whole export).  Adds ``value`` (float), ``prev`` (the previous rated value),
    ``next<k>`` / ``date<k>`` (the k-th next rated value and its date, k ≤
    :data:`REPAIR_WINDOW`), ``rated_index`` (1-based), and over the episode's rated
    sessions ``n_rated``, ``sy`` and ``syy`` (count, sum and sum of squares).  Lag and lead
    over one ordering: no self-join.
    """
    r = s.filter(s.attended & s[measure].notnull())
    w = ibis.window(group_by=r.episode_id, order_by=[r[c] for c in ORDER])
    whole = ibis.window(group_by=r.episode_id)
    y = r[measure].cast("float64")
    ks = range(1, REPAIR_WINDOW + 1)
    return r.mutate(
        value=y, prev=y.lag().over(w), rated_index=ibis.row_number().over(w) + 1,
        **{f"next{k}": y.lead(k).over(w) for k in ks},
        **{f"date{k}": r.session_date.lead(k).over(w) for k in ks},
        n_rated=y.count().over(whole), sy=y.sum().over(whole), syy=(y * y).sum().over(whole),
    )


def measure_drops(
    cl: Caseload, measure: str, *, points: float | None = None, drop_sd: float | None = None
) -> ir.Table:
    """Every alliance-drop session on one measure, before flagged sessions are set aside.

    A drop is a rated session with ``prev − value > 0`` and ``prev − value ≥ points`` (or, with
    ``drop_sd=k``, ``≥ k·SD`` of the episode's rated values, episodes with ≥ 3 rated
    sessions).  The SD test is done squared and from sums, ``drop² · n(n−1) ≥ k² · (nΣy² −
    (Σy)²)``, so it is exact for integer and half-point ratings on every backend.

    Columns: ``episode_id, therapist_id, session_date, source_row, rupture, attended_index,
    rated_index, n_rated, measure, drop_points, sessions_to_repair`` (NULL if not repaired).
    """
    r = _rated(ordered_sessions(cl), measure)
    drop = r.prev - r.value
    if drop_sd is None:
        r = r.filter(is_drop(r.prev, r.value, points if points is not None else 0.0))
    else:
        n = r.n_rated.cast("float64")
        k2 = ibis.literal(float(drop_sd) ** 2)
        big = (r.n_rated >= 3) & (drop * drop * n * (n - 1) >= k2 * (n * r.syy - r.sy * r.sy))
        r = r.filter(r.prev.notnull() & (drop > 0) & big)
    to_repair = repair_k(r.prev, [r[f"next{k}"] for k in range(1, REPAIR_WINDOW + 1)])
    return r.select(
        "episode_id", "therapist_id", "session_date", "source_row", "rupture",
        "rated_index", "n_rated",
        attended_index=r.attended_upto, measure=ibis.literal(measure),
        drop_points=r.prev - r.value, sessions_to_repair=to_repair.cast("int64"),
    )


def _drops(cl: Caseload, points: dict[str, float], drop_sd: float | None) -> ir.Table | None:
    present = [k for k in points if k in cl.sessions.columns]
    if not present:
        return None
    parts = [
        measure_drops(cl, k, points=points[k], drop_sd=drop_sd).mutate(measure_order=i)
        for i, k in enumerate(present)
    ]
    d = ibis.union(*parts) if len(parts) > 1 else parts[0]
    return _one_drop_per_session(d.rename(stp="sessions_to_repair"))


def _one_drop_per_session(d: ir.Table) -> ir.Table:
    """The drop ruptures of drop rows of every measure (``stp``: sessions to repair, NULL if
    not repaired; ``measure_order``: the measure's place in the registry), the rule written
    once: a flagged session counts once, as flagged (its drops are left out); a session
    that dropped on several measures is one rupture, reported on the measure that repaired
    soonest, then the first in registry order.  Columns as :func:`rupture_events`."""
    d = d.filter(d.rupture == "none")
    w = ibis.window(group_by=[d.episode_id, d.source_row],
                    order_by=[ibis.coalesce(d.stp, REPAIR_WINDOW + 1), d.measure_order])
    d = d.mutate(pick=ibis.row_number().over(w))
    d = d.filter(d.pick == 0)
    return d.select(
        "episode_id", "therapist_id", "session_date", "source_row", "attended_index",
        kind=ibis.literal("drop"), rupture_type=ibis.literal("alliance_drop"),
        measure=d.measure, drop_points=d.drop_points.cast("float64"),
        repaired=d.stp.notnull(), sessions_to_repair=d.stp.cast("int64"),
    )


def _flagged_candidates(s: ir.Table) -> ir.Table:
    """Every flagged rupture of the whole export, with the first ``resolved`` session after it.

    ``resolved_upto`` / ``resolved_date``: attended index and date of the first session at or
    after the rupture with ``repair == "resolved"`` (NULL if none).  Sessions are in date
    order within an episode, so in a view read as of ``until`` the rupture is repaired exactly
    when ``resolved_date ≤ until``: the first resolved session is then in view (and is the
    first one there), and if it is after ``until`` every later one is too.  ``s`` is
    :func:`~supervision.clinical.alliance.ordered_sessions` of the whole export.
    """
    after = ibis.window(group_by=s.episode_id, order_by=[s[c] for c in ORDER], rows=(0, None))
    resolved = s.repair == "resolved"
    s = s.mutate(
        resolved_upto=ibis.ifelse(resolved, s.attended_upto, ibis.null("int64")).min().over(after),
        resolved_date=ibis.ifelse(resolved, s.session_date, ibis.null("date")).min().over(after),
    )
    f = s.filter(s.attended & (s.rupture != "none"))
    return f.select(
        "episode_id", "therapist_id", "session_date", "source_row", "resolved_upto",
        "resolved_date", attended_index=f.attended_upto, rupture_type=f.rupture,
    )


def _drop_candidates(s: ir.Table, measure: str, points: float, order: int) -> ir.Table:
    """Drops of one measure over the whole export, with the first repair and its date.

    Every session that drops by ``points`` (:func:`is_drop`), flagged or not (``rupture``
    says which: a flagged one counts as flagged among the ruptures, but is still a recent
    drop for the cases to discuss).  ``repair_k`` is the first k ≤ 3 with the k-th next
    rated value ≥ the rating before the drop, ``repair_date`` that session's date.  Read as
    of ``until``, the k-th next rated session is in view iff its date ≤ ``until`` (dates
    only grow), so the drop is repaired in ``repair_k`` sessions iff ``repair_date ≤
    until``, and not at all otherwise.  ``rated_index`` is the same in every window (a
    window keeps a prefix of each episode's sessions).
    """
    r = _rated(s, measure)
    ks = range(1, REPAIR_WINDOW + 1)
    r = r.filter(is_drop(r.prev, r.value, points))
    back = [r[f"next{k}"] >= r.prev for k in ks]
    return r.select(
        "episode_id", "therapist_id", "session_date", "source_row", "rupture", "rated_index",
        attended_index=r.attended_upto, measure=ibis.literal(measure),
        measure_order=ibis.literal(order), drop_points=(r.prev - r.value).cast("float64"),
        repair_k=repair_k(r.prev, [r[f"next{k}"] for k in ks]),
        repair_date=ibis.cases(*[(b, r[f"date{k}"]) for b, k in zip(back, ks, strict=True)],
                               else_=ibis.null("date")),
    )


def _candidates(root: Caseload, points: dict[str, float]) -> tuple[ir.Table, ir.Table | None]:
    """The flagged and drop candidates of the root caseload, materialised once per root."""
    present = [k for k in points if k in root.sessions.columns]

    def build() -> tuple[ir.Table, ir.Table | None]:
        # one sort of the sessions for the attended index, shared by every candidate table
        cols = ["episode_id", "therapist_id", "session_date", "source_row", "attended",
                "attended_upto", "rupture", "repair", *present]
        s = ordered_sessions(root).select(*cols).cache()
        parts = [_drop_candidates(s, k, points[k], i) for i, k in enumerate(present)]
        drops = (ibis.union(*parts) if len(parts) > 1 else parts[0]) if parts else None
        return _flagged_candidates(s).cache(), None if drops is None else drops.cache()

    return root.memo(RuptureCandidates(tuple(sorted(points.items()))), build)  # candidate_key


def candidate_key(cl: Caseload) -> RuptureCandidates:
    """The memo key under which :func:`candidate_tables` are kept on the root caseload."""
    return RuptureCandidates(tuple(sorted(_thresholds(cl, None, None).items())))


def candidate_tables(cl: Caseload) -> tuple[ir.Table, ir.Table | None]:
    """The root's flagged and drop candidates at the registry's thresholds (memoised).

    Every scope's rupture figures are filters of these two tables, so a process that saves
    them (:mod:`supervision.io.prepared`) spares every dashboard kernel their computation.
    """
    return _candidates(cl.root, _thresholds(cl, None, None))


def _in_view(cl: Caseload, t: ir.Table) -> ir.Table:
    """Rows of a root candidate table whose session is in ``cl`` (its episodes, ≤ the cut)."""
    if cl.root is cl:  # the whole export: every candidate
        return t
    t = t.filter(t.episode_id.isin(cl.episodes.episode_id))
    cut = cl.session_cut
    return t if cut is None else t.filter(t.session_date <= ibis.literal(cut))


def _seen(date: ir.DateValue, cut: object) -> ir.BooleanValue:
    ok = date.notnull()
    return ok if cut is None else ok & (date <= ibis.literal(cut))


def _flagged_in_view(cl: Caseload, flagged: ir.Table) -> ir.Table:
    cut = cl.session_cut
    f = _in_view(cl, flagged)
    rep = _seen(f.resolved_date, cut)
    return f.select(
        "episode_id", "therapist_id", "session_date", "source_row", "attended_index",
        kind=ibis.literal("flagged"), rupture_type=f.rupture_type,
        measure=ibis.null("string"), drop_points=ibis.null("float64"), repaired=rep,
        sessions_to_repair=ibis.ifelse(rep, f.resolved_upto - f.attended_index,
                                       ibis.null("int64")).cast("int64"),
    )


def flagged_events(cl: Caseload) -> ir.Table:
    """The flagged ruptures alone, with repair as of the caseload's window (columns as
    :func:`rupture_events`), from the candidates computed once per export."""
    return _flagged_in_view(cl, _candidates(cl.root, _thresholds(cl, None, None))[0])


def _events_from_candidates(cl: Caseload, points: dict[str, float]) -> ir.Table:
    """:func:`rupture_events` (fixed points) from the root's candidates: filters only."""
    flagged, drops = _candidates(cl.root, points)
    cut = cl.session_cut
    f = _flagged_in_view(cl, flagged)
    if drops is None:
        return f
    d = _in_view(cl, drops)
    d = d.mutate(stp=ibis.ifelse(_seen(d.repair_date, cut), d.repair_k, ibis.null("int64")))
    return ibis.union(f, _one_drop_per_session(d)).select(*_EVENT_COLUMNS)


def drops_in_view(cl: Caseload) -> ir.Table | None:
    """Every alliance drop of ``cl``'s window at the registry's points, flagged or not.

    Columns ``episode_id, measure, rated_index, rupture, repaired`` (repaired by the
    window's end); None when the export has no alliance measure.  The cases to discuss read
    ``rated_index`` against the window's count of rated sessions (§7: a recent drop).
    """
    drops = candidate_tables(cl)[1]
    if drops is None:
        return None
    d = _in_view(cl, drops)
    return d.select("episode_id", "measure", "rated_index", "rupture",
                    repaired=_seen(d.repair_date, cl.session_cut) & d.repair_k.notnull())


def rupture_events(
    cl: Caseload,
    *,
    drop_points: Mapping[str, float] | None = None,
    drop_sd: float | None = None,
) -> ir.Table:
    """One row per rupture session, flagged or alliance drop (see the module docstring).

    Parameters
    ----------
    drop_points
        Alliance measure -> points for a drop rupture; measures not named keep the
        registry's ``drop_threshold`` (SRS 5, WAI-SR 6).
    drop_sd
        Use ``k`` SDs of the episode's own series instead of points (1 or 2; Stiles et al.
        2004); episodes with fewer than 3 rated sessions then have no drop ruptures.

    Returns
    -------
    ir.Table
        ``episode_id, therapist_id, session_date, source_row, attended_index, kind
        ("flagged"|"drop"), rupture_type, measure (NULL for flagged), drop_points (NULL for
        flagged), repaired, sessions_to_repair (NULL if unrepaired)``.
    """
    points = _thresholds(cl, drop_points, drop_sd)
    if drop_sd is None:
        return _events_from_candidates(cl, points)
    flagged = flagged_events(cl)
    drops = _drops(cl, points, drop_sd)
    events = flagged if drops is None else ibis.union(flagged, drops.select(*_EVENT_COLUMNS))
    return events.select(*_EVENT_COLUMNS)


def fit_alerts(cl: Caseload) -> ir.Table:
    """FIT's soft alert: every SRS rating at least 1 point below the previous rated session.

    A prompt to check in with the client (Duncan & Miller's FIT), shown as a flag and never
    counted as a rupture.  Columns ``episode_id, therapist_id, session_date, rated_index,
    fall`` (points, ≥ 1).
    """
    d = measure_drops(cl, "srs", points=1.0)
    return d.select(
        "episode_id", "therapist_id", "session_date", "rated_index", fall=d.drop_points
    )


def _attended(cl: Caseload) -> ir.Table:
    """``episode_id, therapist_id, attended_sessions`` of every episode (termination's count)."""
    return episode_termination(cl).select("episode_id", "therapist_id", "attended_sessions")


def rupture_counts(ev: ir.Table) -> ir.Table:
    """Per episode with a rupture, from :func:`rupture_events`: ``episode_id, flagged, drop,
    count, repaired, unrepaired_flagged`` (a flagged rupture not repaired) and
    ``last_repaired`` (whether the episode's last rupture, in session order, was repaired)."""
    last = ibis.window(group_by=ev.episode_id, order_by=[ibis.desc(ev[c]) for c in ORDER])
    ev = ev.mutate(rank=ibis.row_number().over(last), is_flagged=ev.kind == "flagged")
    per = ev.group_by("episode_id").aggregate(
        flagged=ev.is_flagged.cast("int64").sum(),
        count=ev.episode_id.count(),
        repaired=ev.repaired.cast("int64").sum(),
        unrepaired=(ev.is_flagged & ~ev.repaired).cast("int64").sum(),
        last_repaired=ev.repaired.cast("int64").max(where=ev.rank == 0),
    )
    return per.select(
        "episode_id", flagged=per.flagged.cast("int64"),
        drop=(per["count"] - per.flagged).cast("int64"), count=per["count"].cast("int64"),
        repaired=per.repaired.cast("int64"), unrepaired_flagged=per.unrepaired > 0,
        last_repaired=per.last_repaired == 1,
    )


def episode_ruptures(
    cl: Caseload,
    *,
    drop_points: Mapping[str, float] | None = None,
    drop_sd: float | None = None,
    attended: ir.Table | None = None,
) -> ir.Table:
    """Per episode (every episode of the caseload): :func:`rupture_counts`, zero without one.

    Columns ``episode_id, therapist_id, attended_sessions, flagged, drop, count, repaired,
    unrepaired_flagged, last_repaired`` (NULL with no rupture).  ``attended`` may be
    :func:`~.termination.episode_termination` of ``cl``, whose ``attended_sessions`` is then
    used instead of counting them again.
    """
    per = rupture_counts(rupture_events(cl, drop_points=drop_points, drop_sd=drop_sd))
    base = _attended(cl) if attended is None else attended.select(
        "episode_id", "therapist_id", "attended_sessions")
    j = base.left_join(per, "episode_id")
    return j.select(
        "episode_id", "therapist_id", "attended_sessions",
        **{c: ibis.coalesce(j[c], 0).cast("int64") for c in ("flagged", "drop", "count",
                                                                "repaired")},
        unrepaired_flagged=ibis.coalesce(j.unrepaired_flagged, False),
        last_repaired=j.last_repaired,
    )


_SUMMARY = [
    "flagged", "drop", "count", "repaired", "attended_sessions", "per_100_sessions",
    "repair_rate", "repair_rate_low", "repair_rate_high", "sessions_to_repair",
    "unrepaired_at_end",
]


def rupture_summary(
    cl: Caseload,
    *,
    by: str | None = None,
    drop_points: Mapping[str, float] | None = None,
    drop_sd: float | None = None,
) -> pd.DataFrame:
    """Rupture and repair figures per group (one row for the caseload when ``by`` is None).

    * ``flagged``, ``drop``, ``count`` (= flagged + drop) and ``repaired`` ruptures;
    * ``per_100_sessions`` = 100 · count / attended sessions;
    * ``repair_rate`` = repaired / count, 0–1, with a Wilson 95% interval (Wilson 1927);
    * ``sessions_to_repair`` = median over repaired ruptures (attended sessions for flagged,
      rated sessions for drops);
    * ``unrepaired_at_end`` = ended episodes (termination ≠ ongoing) whose last rupture was
      not repaired (Eubanks, Muran & Safran 2018: unrepaired ruptures go with worse outcome).

    Rates with a zero denominator are NaN.
    """
    opts = {"drop_points": drop_points, "drop_sd": drop_sd}
    ep = episode_ruptures(cl, **opts).join(
        cl.episodes.select("episode_id", ended=cl.episodes.termination != "ongoing"),
        "episode_id",
    )
    ep, keys = with_groups(cl, ep, by)
    agg = {c: ep[c].sum() for c in ("flagged", "drop", "count", "repaired", "attended_sessions")}
    agg["unrepaired_at_end"] = (ep.ended & (ep.last_repaired == False)).cast("int64").sum()  # noqa: E712
    ev, _ = with_groups(cl, rupture_events(cl, **opts), by)
    med = ev.sessions_to_repair.cast("float64").median(where=ev.repaired)
    if keys:  # one query: the episode sums, left-joined to the median over each group's events
        a = ep.group_by(keys).aggregate(**agg)
        m = ev.group_by(keys).aggregate(sessions_to_repair=med)
        q = a.left_join(m, keys).select(a, m.sessions_to_repair)
        df = q.execute().sort_values(keys, ignore_index=True)
    else:
        df = ep.aggregate(**agg).cross_join(ev.aggregate(sessions_to_repair=med)).execute()
    return _rates(df)[[*keys, *_SUMMARY]]


def _rates(df: pd.DataFrame) -> pd.DataFrame:
    for c in ("flagged", "drop", "count", "repaired", "attended_sessions", "unrepaired_at_end"):
        df[c] = df[c].fillna(0).astype("int64")
    df["sessions_to_repair"] = df["sessions_to_repair"].astype("float64")
    sessions = df["attended_sessions"].where(df["attended_sessions"] > 0).astype("float64")
    df["per_100_sessions"] = 100.0 * df["count"] / sessions
    for c, v in rate_columns("repair_rate", df["repaired"], df["count"]).items():
        df[c] = v
    return df


__all__ = [
    "REPAIR_WINDOW",
    "candidate_key",
    "candidate_tables",
    "drops_in_view",
    "episode_ruptures",
    "fit_alerts",
    "flagged_events",
    "is_drop",
    "measure_drops",
    "repair_k",
    "rupture_counts",
    "rupture_events",
    "rupture_summary",
]
