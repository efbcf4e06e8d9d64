"""The one-pass per-episode table: every quantity a figure needs, one row per episode.

``episode_table(cl)`` is computed once per caseload object (a data source and a date window,
:meth:`Caseload.scoped`) in the database and kept with it (:meth:`Caseload.memo`, under the
typed key :class:`EpisodeTableKey`).  Every figure of a scope — the practice, a therapist, a
team, a neurotype group — is then a grouped aggregate of this table (:mod:`supervision.scopes`),
and a therapist's figures are a filter of it, never a recomputation.

Each quantity comes from the one function that owns its clinical rule (alliance §3:
:func:`supervision.clinical.alliance.episode_alliance`; ruptures §4:
:func:`supervision.clinical.ruptures.episode_ruptures`; termination §5:
:func:`supervision.clinical.termination.episode_termination`; outcomes §5:
:func:`supervision.clinical.outcomes.per_episode`; neurotype pair §6:
:func:`supervision.clinical.pairing.episode_pairs`; case reasons §7:
:func:`supervision.clinical.cases.episode_reasons`); this module only lays them side by side.

Columns (``<a>`` an alliance measure with values, ``<o>`` an outcome measure with values or
``phq9_gad7`` when PHQ-9 and GAD-7 both have values):

* ``episode_id, therapist_id, group`` (neurotype pair group; NULL without a therapist row);
* termination: ``termination, ended, attended_sessions, intake_only``;
* ruptures: ``flagged, drop, count, repaired, unrepaired_flagged, last_repaired``;
* alliance: ``<a>__rated_sessions, <a>__early_mean, <a>__slope, <a>__low_sessions,
  <a>__last_low`` (NULL for an episode without a rated session);
* outcomes: ``<o>__n_scores`` (NULL for an episode without a pre–post pair),
  ``<o>__reliable_improvement, <o>__reliable_deterioration, <o>__recovered,
  <o>__reliable_recovery, <o>__started_clinical``;
* case reasons (§7, for open episodes): one boolean column per code of
  :data:`supervision.clinical.cases.REASONS`, prefixed ``reason__``.

A figure that uses the caseload's own sample (a Jacobson–Truax measure without norms) is
computed over this caseload's paired episodes; :func:`sample_free` says whether a therapist's
figures filtered from a wider table equal those of the therapist's own caseload.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import ibis
import ibis.expr.types as ir

from supervision.caseload import Caseload
from supervision.clinical import alliance, cases, pairing, ruptures
from supervision.clinical import outcomes as oc
from supervision.clinical import termination as term
from supervision.clinical.cases import reason_col
from supervision.measures import Measure

_SEP = "__"
ALLIANCE_FIELDS = ("rated_sessions", "early_mean", "slope", "low_sessions", "last_low")
OUTCOME_FIELDS = ("n_scores", "reliable_improvement", "reliable_deterioration", "recovered",
                  "reliable_recovery", "started_clinical")
RUPTURE_FIELDS = ("flagged", "drop", "count", "repaired", "unrepaired_flagged", "last_repaired")


@dataclass(frozen=True)
class EpisodeTableKey:
    """The memo key of a caseload's per-episode table: the measures it holds."""

    alliance: tuple[str, ...]
    outcome: tuple[str, ...]


def col(measure: str, field: str) -> str:
    """The column of ``field`` for ``measure`` (``"srs__early_mean"``)."""
    return f"{measure}{_SEP}{field}"


def measures(cl: Caseload) -> EpisodeTableKey:
    """The alliance and outcome measures (and the paired rule) the table holds for ``cl``."""
    present = cl.measures_present()
    al = tuple(k for k in present if cl.registry[k].kind == "alliance")
    outs = [k for k in present if cl.registry[k].kind == "outcome"]
    if {"phq9", "gad7"} <= set(outs):
        outs.append(oc.PAIRED)
    return EpisodeTableKey(al, tuple(outs))


def _needs_sample(m: Measure) -> bool:
    sd = m.reliable_change is None and m.reliability is not None and m.norm_sd is None
    c = m.clinical_cutoff is None and m.functional_mean is not None and (
        m.clinical_mean is None or m.clinical_sd is None)
    return sd or c


def sample_free(cl: Caseload) -> bool:
    """Whether no outcome measure's reliable change or cut-off uses the caseload's sample:
    then every per-episode quantity depends on the episode's own sessions alone."""
    return not any(_needs_sample(m) for m in cl.registry.outcome)


def _left(t: ir.Table, other: ir.Table) -> ir.Table:
    """``t`` left-joined to ``other`` on ``episode_id`` (``other``'s key dropped)."""
    other = other.rename(_episode_id="episode_id")
    j = t.left_join(other, t.episode_id == other._episode_id)
    return j.drop("_episode_id")


def _scored(measure: str, s: ir.Table) -> ir.BooleanValue:
    """Whether a session counts for ``measure`` (attended with a value; both for the pair)."""
    if measure == oc.PAIRED:
        return s.attended & s.phq9.notnull() & s.gad7.notnull()
    return s.attended & s[measure].notnull()


def ordered_sessions(cl: Caseload, key: EpisodeTableKey) -> ir.Table:
    """The sessions, ordered once: every position a per-episode figure needs, from one sort.

    All windows share one partition (``episode_id``) and one order (``session_date``,
    ``source_row``), and run forward only: ``pos`` (0-based position), ``attended``,
    ``prev_attendance`` (the session before) and, per measure ``<m>`` of ``key``, ``<m>__i``
    (sessions counting for ``m`` up to here: for such a session its 1-based index).
    """
    s = cl.sessions
    order = [s[c] for c in alliance.ORDER]
    w = ibis.window(group_by=s.episode_id, order_by=order)
    upto = ibis.window(group_by=s.episode_id, order_by=order, rows=(None, 0))
    s = s.mutate(attended=s.attendance == "attended")
    cols: dict[str, ir.Value] = {
        "pos": ibis.row_number().over(w), "prev_attendance": s.attendance.lag().over(w),
    }
    for k in (*key.alliance, *key.outcome):
        cols[col(k, "i")] = _scored(k, s).cast("int64").sum().over(upto)
    keep = ["episode_id", "therapist_id", "attendance", "attended", "rupture", "repair",
            *_values(key)]
    return s.select(*keep, **cols)


def _values(key: EpisodeTableKey) -> list[str]:
    return sorted({c for k in (*key.alliance, *key.outcome)
                   for c in (("phq9", "gad7") if k == oc.PAIRED else (k,))})


def _per_episode_sessions(o: ir.Table, key: EpisodeTableKey) -> ir.Table:
    """Per episode with sessions: ``attended_sessions``, ``no_shows`` (two in a row),
    ``last_resolved`` (position of the last ``resolved`` repair) and ``<m>__n`` per measure."""
    return o.group_by("episode_id").aggregate(
        attended_sessions=o.attended.cast("int64").sum(),
        no_shows=((o.attendance == "no_show") & (o.prev_attendance == "no_show")).any(),
        last_resolved=o.pos.max(where=o.repair == "resolved"),
        **{col(k, "n"): _scored(k, o).cast("int64").sum() for k in (*key.alliance, *key.outcome)},
    )


def _scored_rows(o: ir.Table, per: ir.Table, k: str) -> ir.Table:
    """The sessions counting for measure ``k`` with ``i`` (1-based index) and ``n`` (count)."""
    r = o.filter(_scored(k, o))
    n = per.select(_e=per.episode_id, n=per[col(k, "n")])
    r = r.join(n, r.episode_id == n._e).drop("_e")
    return r.mutate(i=r[col(k, "i")])


def _drops(o: ir.Table, per: ir.Table, cl: Caseload, key: EpisodeTableKey) -> ir.Table | None:
    """Every alliance drop (:func:`~.ruptures.is_drop` at the registry's points) on
    each measure: ``episode_id, pos, rupture, measure, recent`` (on one of the last
    :data:`~supervision.clinical.cases.RECENT_RATED` rated sessions) and ``repaired``
    (:func:`~.ruptures.repair_k`).  Neighbours by rated index: joins, no sort."""
    parts = []
    for k in key.alliance:
        m = cl.registry[k]
        r = _scored_rows(o, per, k)
        r = r.select("episode_id", "pos", "rupture", "i", "n", value=r[k].cast("float64"))
        base = r.select(_e=r.episode_id, _i=r.i, _v=r.value)
        prev = base.select(_e=base._e, _i=base._i + 1, prev=base._v)
        r = r.join(prev, (r.episode_id == prev._e) & (r.i == prev._i)).drop("_e", "_i")
        d = r.filter(ruptures.is_drop(r.prev, r.value, float(m.drop_threshold or 0.0)))
        for j in range(1, ruptures.REPAIR_WINDOW + 1):
            nb = base.select(_e=base._e, _i=base._i - j, **{f"next{j}": base._v})
            d = d.left_join(nb, (d.episode_id == nb._e) & (d.i == nb._i)).drop("_e", "_i")
        nexts = [d[f"next{j}"] for j in range(1, ruptures.REPAIR_WINDOW + 1)]
        parts.append(d.select(
            "episode_id", "pos", "rupture", measure=ibis.literal(k),
            recent=d.i > d.n - cases.RECENT_RATED,
            repaired=ruptures.repair_k(d.prev, nexts).notnull()))
    if not parts:
        return None
    return ibis.union(*parts) if len(parts) > 1 else parts[0]


def _first_last(o: ir.Table, per: ir.Table, k: str) -> ir.Table:
    """:func:`supervision.clinical.outcomes.per_episode`'s ``scores``: first and last score(s)."""
    r = _scored_rows(o, per, k)
    values = ("phq9", "gad7") if k == oc.PAIRED else (k,)
    aggs: dict[str, ir.Value] = {"n_scores": r.episode_id.count()}
    for c in values:
        aggs[f"{c}_first"] = r[c].max(where=r.i == 1)
        aggs[f"{c}_last"] = r[c].max(where=r.i == r.n)
    g = r.group_by(["episode_id", "therapist_id"]).aggregate(**aggs)
    return g.filter(g.n_scores >= 2)


def _ruptures(cl: Caseload, o: ir.Table, per: ir.Table, drops: ir.Table | None) -> ir.Table:
    """Per episode with a rupture (§4): ``flagged, drop, count, repaired, unrepaired_flagged,
    last_repaired`` — the rule of :mod:`supervision.clinical.ruptures`: flagged when attended with a
    rupture type, repaired by a ``resolved`` on it or later; a drop on a session not flagged,
    one per session (repaired on any measure)."""
    f = o.filter(o.attended & (o.rupture != "none"))
    lr = per.select(_e=per.episode_id, _r=per.last_resolved)
    f = f.join(lr, f.episode_id == lr._e)
    parts = [f.select("episode_id", "pos", flagged=ibis.literal(True),
                      repaired=ibis.coalesce(f._r >= f.pos, False))]
    points = {m.key for m in cl.registry.alliance if m.drop_threshold is not None}
    if drops is not None:
        d = drops.filter((drops.rupture == "none") & drops.measure.isin(list(points)))
        d = d.group_by(["episode_id", "pos"]).aggregate(repaired=d.repaired.any())
        parts.append(d.select("episode_id", "pos", flagged=ibis.literal(False),
                              repaired=d.repaired))
    ev = ibis.union(*parts) if len(parts) > 1 else parts[0]
    g = ev.group_by("episode_id").aggregate(
        flagged=ev.flagged.cast("int64").sum(), count=ev.episode_id.count(),
        repaired=ev.repaired.cast("int64").sum(),
        unrepaired_flagged=(ev.flagged & ~ev.repaired).any(), _last=ev.pos.max(),
    )
    last = ev.select(_e=ev.episode_id, _p=ev.pos, last_repaired=ev.repaired)
    g = g.join(last, (g.episode_id == last._e) & (g._last == last._p))
    return g.select("episode_id", "flagged", drop=g["count"] - g.flagged, count=g["count"],
                    repaired=g.repaired, unrepaired_flagged=g.unrepaired_flagged,
                    last_repaired=g.last_repaired)


def _reasons(cl: Caseload, per: ir.Table, drops: ir.Table | None, al: dict[str, ir.Table],
             outs: dict[str, ir.Table], rup: ir.Table) -> ir.Table:
    """Per episode: one boolean per §7 reason (the codes of :mod:`supervision.clinical.cases`)."""
    tagged = []

    def tag(t: ir.Table, reason: str) -> None:
        tagged.append(t.select("episode_id", reason=ibis.literal(reason)))

    for m in cl.registry.alliance:
        if m.key in al and m.concern_below is not None:
            tag(al[m.key].filter(al[m.key].last_low), "low_alliance")
    if drops is not None:
        tag(drops.filter(drops.recent), "alliance_drop")
    tag(rup.filter(rup.unrepaired_flagged), "unrepaired_rupture")
    for m in cl.registry.outcome:
        if m.key in outs:
            tag(outs[m.key].filter(outs[m.key].reliable_deterioration), "reliable_deterioration")
    tag(per.filter(per.no_shows), "no_shows")
    u = ibis.union(*tagged)
    return u.group_by("episode_id").aggregate(
        **{reason_col(code): (u.reason == code).any() for code in cases.REASONS})


def _build(cl: Caseload, key: EpisodeTableKey) -> ir.Table:
    """The per-episode table, materialised; the ordered sessions and the other intermediate
    tables are dropped as soon as it is made (Ibis keeps a cached table's source expression,
    so without the release every window would keep a copy of its sessions)."""
    o = ordered_sessions(cl, key).cache()
    per = _per_episode_sessions(o, key).cache()
    drops = _drops(o, per, cl, key)
    drops = None if drops is None else drops.cache()
    try:
        return _table(cl, key, o, per, drops).cache()
    finally:
        for t in (o, per, drops):
            if t is not None:
                t.release()


def _table(cl: Caseload, key: EpisodeTableKey, o: ir.Table, per: ir.Table,
           drops: ir.Table | None) -> ir.Table:
    tt = term.episode_termination(cl, attended=per)
    t = tt.select("episode_id", "therapist_id", "termination", "ended", "attended_sessions",
                  "intake_only")
    t = _left(t, pairing.episode_pairs(cl).select("episode_id", "group"))
    rup = _ruptures(cl, o, per, drops)
    t = _left(t, rup)
    fill = {x: ibis.coalesce(t[x], 0) for x in ("flagged", "drop", "count", "repaired")}
    t = t.mutate(**fill, unrepaired_flagged=ibis.coalesce(t.unrepaired_flagged, False))
    al: dict[str, ir.Table] = {}
    for k in key.alliance:
        r = _scored_rows(o, per, k)
        r = r.select("episode_id", "therapist_id", rated_index=r.i,
                     value=r[k].cast("float64"), is_last=r.i == r.n)
        al[k] = a = alliance.alliance_figures(r, cl.registry[k])
        t = _left(t, a.select("episode_id", **{col(k, f): a[f] for f in ALLIANCE_FIELDS}))
    outs: dict[str, ir.Table] = {}
    for k in key.outcome:
        outs[k] = x = oc.per_episode(cl, k, scores=_first_last(o, per, k))
        t = _left(t, x.select("episode_id", **{col(k, f): x[f] for f in OUTCOME_FIELDS}))
    t = _left(t, _reasons(cl, per, drops, al, outs, rup))
    fill = {reason_col(r): ibis.coalesce(t[reason_col(r)], False) for r in cases.REASONS}
    return t.mutate(**fill)


KEEP_WINDOWS = 3
"""How many windows' per-episode tables the root keeps for therapist changes within them."""


@dataclass(frozen=True)
class WindowKey:
    """The root's memo key of the per-episode table of one date window (every therapist)."""

    since: dt.date | None
    until: dt.date | None


def episode_table(cl: Caseload) -> ir.Table:
    """The per-episode table of ``cl`` (module docstring), materialised once per caseload.

    A therapist's plain scope of the root (:attr:`Caseload.scope`) whose window's table was
    already made gets the filter of that table (the same rows: tests/test_episodes.py), not
    a new pass, and the window's own scope made again gets the table itself; the root keeps
    the :data:`KEEP_WINDOWS` most recent windows' tables for that.
    """
    key = measures(cl)
    sc = cl.scope
    whole = None if sc is None else cl.root.memoised(WindowKey(sc.since, sc.until))
    if whole is not None and sc is not None:
        if sc.therapist_id is None:  # the same window again (another view, a date set back)
            return cl.memo(key, lambda: whole)
        if sample_free(cl):
            tid = sc.therapist_id
            return cl.memo(key, lambda: whole.filter(whole.therapist_id == tid))
    table = cl.memo(key, lambda: _build(cl, key))
    if sc is not None and sc.therapist_id is None:
        cl.root.memo_recent(WindowKey(sc.since, sc.until), lambda: table, keep=KEEP_WINDOWS)
    return table


__all__ = [
    "ALLIANCE_FIELDS", "OUTCOME_FIELDS", "RUPTURE_FIELDS", "EpisodeTableKey", "col",
    "episode_table", "measures", "reason_col", "sample_free",
]
