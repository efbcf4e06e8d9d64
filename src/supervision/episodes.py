"""The one-pass per-episode table: every quantity a figure needs, one row per episode.

``episode_table(cl)`` is computed in the database once per end date of a window (the facts
as of ``until``: every episode started by then, read as of then) and kept on the root
caseload; a window ``[since, until]`` or a therapist is a filter of it (the episodes active in
the window), never a new pass (:func:`episode_table`).  A caseload keeps its table
(:meth:`Caseload.memo`, under the typed key :class:`EpisodeTableKey`).  Every figure of a
scope — the practice, a therapist, a team, a neurotype group — is then a grouped aggregate
of this table (:mod:`supervision.scopes`).

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
* latest values (:func:`latest_columns`): ``last_seen_date`` (last attended session),
  ``<m>__last`` (latest value per measure), ``<o>__first`` (intake score, per outcome measure
  but the paired rule), ``<item>__latest`` (a critical item such as ``phq9_item9`` at the
  latest scored session of its measure, §7);
* completeness (§12, :mod:`supervision.clinical.completeness`): ``alliance_rated_sessions,
  outcome_scored_sessions`` (attended sessions with a value on any alliance / outcome
  measure), ``intake_scored, final_scored`` (the first / last attended session has an
  outcome score);
* sudden gains and losses (§10, :func:`supervision.clinical.sudden_gains.events` on the
  caseload's own sessions), per outcome measure ``<o>`` but the paired rule and kind ``<k>``
  (``gain``, ``loss``): ``<o>__<k>_events, <o>__<k>_multiple, <o>__<k>_reversals,
  <o>__<k>_magnitude_sum, <o>__<k>_magnitude_sumsq`` (NULL for an episode with none);
* expected response (§11, :func:`supervision.clinical.expected.episode_expected`), per
  outcome measure but the paired rule, for open episodes with a score (else NULL):
  ``<o>__expected_status, <o>__not_on_track, <o>__not_on_track_reason`` (plain words),
  ``<o>__expected_position`` (below the band's 10th / 25th percentile, on track, …);
* case reasons (§7, for open episodes): one boolean column per code of
  :data:`supervision.clinical.cases.REASONS`, prefixed ``reason__``, and
  ``not_on_track_reason`` (the plain-words reasons of the measures not on track, ``; ``-joined).

Facts once per export (issue 21): the root keeps its ordered sessions
(:func:`session_facts`: positions and running counts over the one ordering) and, per outcome
measure with a fixed criterion 1, its sudden gains and losses dated by when the sessions that
settle them are held (:func:`_sudden_facts`).  The table as of an end date filters them
(``session_date <= until``; an event's ``valid_from <= until < valid_to``, its reversal
``reversed_on <= until``) instead of sorting the sessions and running the sudden-gain rule
again; the other per-episode quantities are still computed per end date from those rows.

The expected-response reference is the practice's ended episodes as of the window's end
(:attr:`Caseload.root`, whatever the scope; in a therapist-scoped kernel, the bands the
server handed over: :attr:`supervision.caseload.Caseload.handed`), computed once per
window's table with it.  Sudden gains use the window's sessions of each episode only.

A figure that uses the caseload's own sample (a Jacobson–Truax measure without norms) is
computed over this caseload's paired episodes; :func:`sample_free` says whether a therapist's
figures filtered from a wider table equal those of the therapist's own caseload.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

import ibis
import ibis.expr.types as ir

from supervision.caseload import Caseload, Scope
from supervision.clinical import alliance, cases, pairing, ruptures
from supervision.clinical import expected as ex
from supervision.clinical import outcomes as oc
from supervision.clinical import sudden_gains as sg
from supervision.clinical import termination as term
from supervision.clinical.cases import reason_col
from supervision.measures import Measure

_SEP = "__"
ALLIANCE_FIELDS = ("rated_sessions", "early_mean", "slope", "low_sessions", "last_low")
OUTCOME_FIELDS = ("n_scores", "reliable_improvement", "reliable_deterioration", "recovered",
                  "reliable_recovery", "started_clinical")
RUPTURE_FIELDS = ("flagged", "drop", "count", "repaired", "unrepaired_flagged", "last_repaired")
#: Per outcome measure and kind (``gain``, ``loss``): what :func:`~.sudden_gains.summarise`
#: adds up (:func:`~.sudden_gains.episode_gain_stats`), ``<o>__<kind>_<field>``.
SUDDEN_FIELDS = ("events", "multiple", "reversals", "magnitude_sum", "magnitude_sumsq")
SUDDEN_KINDS = ("gain", "loss")
#: Per outcome measure: :func:`~.expected.episode_expected` of the open episodes.
EXPECTED_FIELDS = ("expected_status", "not_on_track", "not_on_track_reason",
                   "expected_position")
COMPLETENESS_FIELDS = ("alliance_rated_sessions", "outcome_scored_sessions", "intake_scored",
                       "final_scored")


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


def _scored(measure: str, s: ir.Table) -> ir.BooleanValue:
    """Whether a session counts for ``measure`` (attended with a value; both for the pair)."""
    if measure == oc.PAIRED:
        return s.attended & s.phq9.notnull() & s.gad7.notnull()
    return s.attended & s[measure].notnull()


def ordered_sessions(cl: Caseload, key: EpisodeTableKey) -> ir.Table:
    """The sessions, ordered once: every position a per-episode figure needs, from one sort.

    All windows share one partition (``episode_id``) and one order (``session_date``,
    ``source_row``), and run forward only: ``pos`` (0-based position), ``attended``,
    ``prev_attendance`` (the session before), ``attended_i`` (attended sessions up to here:
    for an attended session its 1-based number, §10) and, per measure ``<m>`` of ``key``,
    ``<m>__i`` (sessions counting for ``m`` up to here: for such a session its 1-based index).
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
    cols["attended_i"] = s.attended.cast("int64").sum().over(upto)
    return s.select(*_KEEP, *_values(key, cl), **cols)  # the order of _ordered_columns


@dataclass(frozen=True)
class FactsKey:
    """The root's memo key of its session facts (:func:`session_facts`): the measures."""

    measures: EpisodeTableKey


def session_facts(root: Caseload) -> ir.Table:
    """The root's :func:`ordered_sessions`, materialised once per export (kept on the root).

    Every column is a forward-running quantity over the one ordering (date, then row in the
    file): ``pos``, ``prev_attendance`` and the running counts ``attended_i``, ``<m>__i``
    of a session depend on the sessions up to it only.  The sessions on or before a date are
    a prefix of each episode's ordering, so the ordered sessions of ``root.scoped(until=u)``
    are these rows filtered to ``session_date <= u`` and the episodes started by ``u``
    (:func:`_ordered_as_of`): an end-date change sorts nothing again."""
    key = measures(root)
    return root.memo(FactsKey(key), lambda: ordered_sessions(root, key).cache())


def _plain_until(cl: Caseload) -> bool:
    """Whether ``cl`` is ``root.scoped(until=u)`` (all the root's episodes started by ``u``,
    read as of ``u``; materialised or not) with a ``u``."""
    sc = cl.scope
    return sc is not None and sc.therapist_id is None and sc.since is None \
        and sc.until is not None


def _ordered_as_of(cl: Caseload, key: EpisodeTableKey) -> ir.Table:
    """:func:`ordered_sessions` of the plain scope ``cl`` (:func:`_plain_until`) as a filter
    of the root's :func:`session_facts`: the sessions on or before ``until`` of the episodes
    started by then (the same rows and values as sorting ``cl``'s own sessions)."""
    f = session_facts(cl.root)
    until = ibis.literal(cl.scope.until)  # type: ignore[union-attr]
    f = f.filter(f.session_date <= until, f.episode_id.isin(cl.episodes.episode_id))
    return f.select(*_ordered_columns(cl, key))  # the root's other measures left out


def _ordered_columns(cl: Caseload, key: EpisodeTableKey) -> list[str]:
    """The columns of :func:`ordered_sessions` for ``key``, in its order."""
    return [*_KEEP, *_values(key, cl), "pos", "prev_attendance",
            *(col(k, "i") for k in (*key.alliance, *key.outcome)), "attended_i"]


_KEEP = ("episode_id", "therapist_id", "session_date", "attendance", "attended", "rupture",
         "repair")


def critical_items(cl: Caseload) -> dict[str, str]:
    """Critical item column -> its measure key (``{"phq9_item9": "phq9"}``), for the items
    the sessions table has a column for (domain.md §7, ``risk_item``)."""
    have = set(cl.sessions.columns)
    return {c: m.key for c, m in cl.registry.critical_items.items()
            if c in have and m.key in have}


def _values(key: EpisodeTableKey, cl: Caseload) -> list[str]:
    out = {c for k in (*key.alliance, *key.outcome)
           for c in (("phq9", "gad7") if k == oc.PAIRED else (k,))}
    for c, m in critical_items(cl).items():
        out |= {c, m}
    return sorted(out)


def _any_value(o: ir.Table, keys: list[str]) -> ir.BooleanValue:
    out: ir.BooleanValue = ibis.literal(False)
    for k in keys:
        out = out | o[k].notnull()
    return o.attended & out


def _latest(o: ir.Table, key: EpisodeTableKey, critical: dict[str, str]
            ) -> dict[str, ir.Value]:
    """The latest values (the caseload table's, and ``risk_item``'s): ``last_seen_date``
    (the last attended session), per measure ``<m>__last`` (the value at its last session
    counting for it; the paired rule has none) and per critical item ``<item>__latest``:
    the item at the episode's latest *scored* session of its measure (an attended session
    with the total or the item), NULL when that session has no item score."""
    out: dict[str, ir.Value] = {"last_seen_date": o.session_date.max(where=o.attended)}
    for k in (*key.alliance, *key.outcome):
        if k != oc.PAIRED:
            out[col(k, "last")] = o[k].argmax(o.pos, where=_scored(k, o))
    for c, m in critical.items():
        scored = o.attended & (o[m].notnull() | o[c].notnull())
        out[col(c, "latest")] = o[c].argmax(o.pos, where=scored)
    return out


def _per_episode_sessions(o: ir.Table, key: EpisodeTableKey,
                          critical: dict[str, str]) -> ir.Table:
    """Per episode with sessions: ``attended_sessions``, ``no_shows`` (two in a row),
    ``last_resolved`` (position of the last ``resolved`` repair), ``<m>__n`` per measure and
    the completeness counts (§12, :mod:`supervision.clinical.completeness`): attended sessions
    with a value on any alliance / outcome measure, and whether the first and the last
    attended sessions have an outcome score (positions compared: no extra sort)."""
    rated = _any_value(o, list(key.alliance))
    scored = _any_value(o, [k for k in key.outcome if k != oc.PAIRED])
    first, last = o.pos.min(where=o.attended), o.pos.max(where=o.attended)
    return o.group_by("episode_id").aggregate(
        attended_sessions=o.attended.cast("int64").sum(),
        no_shows=((o.attendance == "no_show") & (o.prev_attendance == "no_show")).any(),
        last_resolved=o.pos.max(where=o.repair == "resolved"),
        alliance_rated_sessions=rated.cast("int64").sum(),
        outcome_scored_sessions=scored.cast("int64").sum(),
        intake_scored=ibis.coalesce(o.pos.min(where=scored) == first, False),
        final_scored=ibis.coalesce(o.pos.max(where=scored) == last, False),
        **{col(k, "n"): _scored(k, o).cast("int64").sum() for k in (*key.alliance, *key.outcome)},
        # the first score (intake, §11) of each measure with an expected response
        **{col(k, "first"): o[k].max(where=_scored(k, o) & (o[col(k, "i")] == 1))
           for k in sudden_measures(key)},
        **_latest(o, key, critical),
    )


def _scored_rows(o: ir.Table, per: ir.Table, k: str) -> ir.Table:
    """The sessions counting for measure ``k`` with ``i`` (1-based index) and ``n`` (count)."""
    r = o.filter(_scored(k, o))
    n = per.select(_e=per.episode_id, n=per[col(k, "n")])
    r = r.join(n, r.episode_id == n._e).drop("_e")
    return r.mutate(i=r[col(k, "i")])


def _recent_drops(cl: Caseload, per: ir.Table, key: EpisodeTableKey) -> ir.Table | None:
    """The window's alliance drops (:func:`~.ruptures.drops_in_view`, the rupture rule's
    own facts, flagged or not) with ``recent``: on one of the last
    :data:`~supervision.clinical.cases.RECENT_RATED` rated sessions of its measure in the
    window (the window's count of rated sessions, ``<a>__n``)."""
    d = ruptures.drops_in_view(cl)
    if d is None or not key.alliance:
        return None
    parts = []
    for k in key.alliance:
        n = per.select(_e=per.episode_id, _n=per[col(k, "n")])
        dk = d.filter(d.measure == k)
        dk = dk.join(n, dk.episode_id == n._e)
        parts.append(dk.select("episode_id", recent=dk.rated_index > dk._n - cases.RECENT_RATED))
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


def sudden_measures(key: EpisodeTableKey) -> tuple[str, ...]:
    """The outcome measures of ``key`` with sudden gains and an expected response (every
    outcome measure but the paired rule, which is not one scale)."""
    return tuple(k for k in key.outcome if k != oc.PAIRED)


def _series(o: ir.Table, key: EpisodeTableKey, *, dated: bool = False) -> ir.Table | None:
    """The attended sessions (``session``: their number from 1, ``attended_i``) with the
    value and running scored count ``<o>__i`` of every measure of :func:`sudden_measures`
    (and ``session_date`` when ``dated``)."""
    ks = sudden_measures(key)
    if not ks:
        return None
    a = o.filter(o.attended)
    return a.select("episode_id", "therapist_id", *(("session_date",) if dated else ()),
                    *ks, *(col(k, "i") for k in ks), session=a.attended_i)


def _measure_series(cl: Caseload, series: ir.Table, k: str) -> ir.Table:
    """:func:`~.sudden_gains.series` of ``k`` from :func:`_series`, for the sessions that
    can be a pregain session only: scored, followed by a scored session that differs by
    at least criterion 1's cut-off (when fixed) and 25% of the score (criteria 1–2 of
    either kind).  The scores around each session (:data:`~.sudden_gains.AROUND`) are lag
    and lead over the episode's attended sessions, numbered 1..n without gaps, so the d-th
    neighbour is session ± d (``scored_i`` is the running count ``<k>__i``; ``n_scored`` is
    joined to the events)."""
    s = series.select("episode_id", "therapist_id", "session", x=series[k],
                      scored_i=series[col(k, "i")])
    w = ibis.window(group_by=s.episode_id, order_by=s.session)
    c = s.mutate(**sg.around(s.x, w))
    c = c.filter(c.x.notnull() & c.q1.notnull() & (c.session >= 2))
    jump = (c.x - c.q1).abs()
    cut = sg.fixed_cutoff(cl, cl.registry[k])
    keep = jump >= sg.PCT * c.x
    return c.filter(keep if cut is None else keep & (jump >= cut))


@dataclass(frozen=True)
class SuddenFactsKey:
    """The root's memo key of a measure's dated sudden gains and losses
    (:func:`_sudden_facts`)."""

    measure: str


def _sudden_facts(root: Caseload, k: str) -> ir.Table:
    """The sudden gains and losses on ``k`` of the whole export, each with the dates between
    which it is seen, computed once per export (kept on the root).

    As of a date, an event at pregain session n reads the sessions up to that date only, so
    its scores after n are those of the sessions n + 1 … n + 3 held by then.  Criterion 3
    needs two scores after n, so an event is seen from the date of session n + 2 on: with
    q3 unknown (``valid_from`` = date of n + 2, ``valid_to`` = date of n + 3, NULL when there
    is no such session) and, once session n + 3 is held, with q3 (``valid_from`` = its date,
    ``valid_to`` NULL).  Each of the two is :func:`~.sudden_gains.events` on those scores
    (the one rule), so as of ``until`` the events are the rows with ``valid_from <= until <
    valid_to``; the reversal as of ``until`` is ``reversed_on <= until`` (a later score,
    dated).  Only for a measure whose criterion 1 is a fixed number of points
    (:func:`~.sudden_gains.fixed_cutoff`): a cut-off from the sample changes with the
    window's episodes."""

    def build() -> ir.Table:
        key = measures(root)
        series = _series(session_facts(root), key, dated=True)
        assert series is not None  # k is a sudden measure of the root's
        s = series.select("episode_id", "therapist_id", "session", "session_date",
                          x=series[k], scored_i=series[col(k, "i")])
        w = ibis.window(group_by=s.episode_id, order_by=s.session)
        c = s.mutate(**sg.around(s.x, w), _d2=s.session_date.lead(2).over(w),
                     _d3=s.session_date.lead(3).over(w))
        c = c.filter(c.x.notnull() & c.q1.notnull() & (c.session >= 2) & c._d2.notnull())
        jump = (c.x - c.q1).abs()
        c = c.filter((jump >= sg.PCT * c.x) & (jump >= sg.fixed_cutoff(root, root.registry[k])))
        held = c.select(*(x for x in c.columns if x not in ("_d2", "_d3")),
                        valid_from=c._d2, valid_to=c._d3)
        before = held.mutate(q3=ibis.null("float64"))  # session n + 3 not held yet
        after = c.filter(c._d3.notnull()).select(*held.columns[:-2], valid_from=c._d3,
                                                 valid_to=ibis.null("date"))
        cand = ibis.union(before.select(*held.columns), after.select(*held.columns))
        scores = series.select("episode_id", "session", "session_date", x=series[k])
        m = root.registry[k]
        return ibis.union(*(sg.events(cand, root, m, kind=kind, scores=scores,
                                      keep=("valid_from", "valid_to"), dated=True)
                            for kind in SUDDEN_KINDS)).cache()

    return root.memo(SuddenFactsKey(k), build)


def _sudden_as_of(cl: Caseload, k: str, per: ir.Table) -> ir.Table:
    """:func:`_sudden` of the plain scope ``cl`` (:func:`_plain_until`) read from the root's
    :func:`_sudden_facts`: the events seen at ``until`` of the episodes started by then."""
    f = _sudden_facts(cl.root, k)
    until = ibis.literal(cl.scope.until)  # type: ignore[union-attr]
    f = f.filter(f.valid_from <= until, f.valid_to.isnull() | (until < f.valid_to),
                 f.episode_id.isin(cl.episodes.episode_id))
    ev = f.mutate(reversal=ibis.coalesce(f.reversed_on <= until, False))
    return _sudden_of(k, ev, per)


def _sudden(cl: Caseload, k: str, series: ir.Table, scores: ir.Table, per: ir.Table
            ) -> ir.Table:
    """Per episode with a sudden gain or loss on ``k`` (§10): :data:`SUDDEN_FIELDS` for each
    kind (NULL for a kind it has none of) and ``<k>__recent_loss`` (a loss in the last
    :data:`~.sudden_gains.RECENT_SCORED` scored sessions, §7)."""
    m = cl.registry[k]
    ev = ibis.union(*(sg.events(series, cl, m, kind=kind, scores=scores)
                      for kind in SUDDEN_KINDS))
    return _sudden_of(k, ev, per)


def _dated_sudden(cl: Caseload, k: str) -> bool:
    """Whether ``cl``'s sudden events on ``k`` are read from the root's dated facts
    (:func:`_sudden_facts`): a plain end-date scope and a fixed criterion 1."""
    return _plain_until(cl) and sg.fixed_cutoff(cl, cl.registry[k]) is not None


def _sudden_of(k: str, ev: ir.Table, per: ir.Table) -> ir.Table:
    """:func:`_sudden` from the events ``ev`` of :func:`~.sudden_gains.events`."""
    n = per.select(_e=per.episode_id, n_scored=per[col(k, "n")])
    ev = ev.join(n, ev.episode_id == n._e).drop("_e")
    ev = ev.mutate(recent=(ev.kind == "loss") & sg.recent_losses(ev))
    aggs: dict[str, ir.Value] = {col(k, "recent_loss"): ev.recent.any()}
    for kind in SUDDEN_KINDS:
        this = ev.kind == kind
        n = ev.count(where=this)
        aggs |= {
            col(k, f"{kind}_events"): n.nullif(0),
            col(k, f"{kind}_multiple"): ibis.ifelse(n > 0, n > 1, ibis.null("boolean")),
            col(k, f"{kind}_reversals"): ev.reversal.cast("int64").sum(where=this),
            col(k, f"{kind}_magnitude_sum"): ev.magnitude.sum(where=this),
            col(k, f"{kind}_magnitude_sumsq"): (ev.magnitude * ev.magnitude).sum(where=this),
        }
    return ev.group_by("episode_id").aggregate(**aggs)


@dataclass(frozen=True)
class ReferenceKey:
    """The root's memo key of a measure's expected-response reference as of a date."""

    measure: str
    cut: dt.date | None


def _is_reference(cl: Caseload) -> bool:
    """Whether ``cl``'s episodes are the practice's as of its window end (the root, or a
    plain window of it without ``since`` or therapist): then its sessions are the reference's
    (:func:`supervision.clinical.expected.reference_caseload`)."""
    sc = cl.scope
    return cl.root is cl or (sc is not None and sc.therapist_id is None and sc.since is None)


def _expected(cl: Caseload, k: str, o: ir.Table, per: ir.Table, tt: ir.Table,
              hold: Callable[[ir.Table], ir.Table]) -> ir.Table:
    """:func:`~.expected.episode_expected` of the open episodes on ``k`` (§11: the reference
    is the practice's ended episodes as of the window's end, or the bands handed over).

    The scored sessions come from the ordered sessions (no second sort); the reference too
    when ``cl`` holds the practice as of its window end, else it is computed from the root
    once per window end and measure (kept on the root)."""
    ep = per.join(tt.select("episode_id", "termination"), "episode_id")
    ep = ep.select(_e=ep.episode_id, n_scores=ep[col(k, "n")], intake=ep[col(k, "first")],
                   _ongoing=ep.termination == "ongoing")
    s = o.filter(_scored(k, o))
    r = s.join(ep, s.episode_id == ep._e)
    r = r.select("episode_id", "therapist_id", "intake", "n_scores", "_ongoing",
                 session=r[col(k, "i")], score=r[k])
    r = hold(ex.with_change(r, cl.registry[k]))
    last = r.filter(r._ongoing & (r.session == r.n_scores))  # only the latest is judged
    open_ = last.drop("_ongoing")
    if _is_reference(cl):
        ref = r.filter(~r._ongoing & (r.n_scores >= 2) & (r.session >= 2)).drop("_ongoing")
    else:
        ref = cl.root.memo_recent(ReferenceKey(k, cl.session_cut),
                                  lambda: ex.reference_scores(cl, k).cache(), keep=KEEP_WINDOWS)
    e = ex.episode_expected(cl, measure=k, open_scores=open_, reference=ref)
    return e.select("episode_id", **{col(k, "expected_status"): e.status,
                                     col(k, "not_on_track"): e.not_on_track,
                                     col(k, "not_on_track_reason"): e.reason,
                                     col(k, "expected_position"): e.position})


def _build(cl: Caseload, key: EpisodeTableKey) -> ir.Table:
    """The per-episode table, materialised; the ordered sessions and the other intermediate
    tables are dropped as soon as it is made (Ibis keeps a cached table's source expression,
    so without the release every window would keep a copy of its sessions)."""
    plain = _plain_until(cl)
    o = (_ordered_as_of(cl, key) if plain else ordered_sessions(cl, key)).cache()
    per = _per_episode_sessions(o, key, critical_items(cl)).cache()
    drops = _recent_drops(cl, per, key)
    series = None  # the sessions of the sudden events the root's facts do not hold
    if any(not _dated_sudden(cl, k) for k in sudden_measures(key)):
        series = _series(o, key).cache()  # type: ignore[union-attr]
    held: list[ir.Table] = []
    try:
        return _table(cl, key, o, per, drops, series, held).cache()
    finally:
        for t in (o, per, series, *held):
            if t is not None:
                t.release()


def _table(cl: Caseload, key: EpisodeTableKey, o: ir.Table, per: ir.Table,
           drops: ir.Table | None, series: ir.Table | None, held: list[ir.Table]) -> ir.Table:
    """The table from the ordered sessions and the other intermediate tables; ``held``
    gets the small per-measure tables materialised on the way (each read several times by
    the query; released with the rest)."""

    def hold(x: ir.Table) -> ir.Table:
        held.append(x := x.cache())
        return x

    tt = term.episode_termination(cl, attended=per)
    t = tt.select("episode_id", "therapist_id", "termination", "ended", "attended_sessions",
                  "intake_only")
    latest = latest_columns(cl, key)
    parts = [per.select("episode_id", *COMPLETENESS_FIELDS, *latest),
             pairing.episode_pairs(cl).select("episode_id", "group")]
    rup = ruptures.rupture_counts(ruptures.rupture_events(cl))
    parts.append(rup)
    al: dict[str, ir.Table] = {}
    for k in key.alliance:
        r = _scored_rows(o, per, k)
        r = r.select("episode_id", "therapist_id", rated_index=r.i,
                     value=r[k].cast("float64"), is_last=r.i == r.n)
        al[k] = a = alliance.alliance_figures(r, cl.registry[k])
        parts.append(a.select("episode_id", **{col(k, f): a[f] for f in ALLIANCE_FIELDS}))
    outs: dict[str, ir.Table] = {}
    for k in key.outcome:
        outs[k] = x = oc.per_episode(cl, k, scores=_first_last(o, per, k))
        parts.append(x.select("episode_id", **{col(k, f): x[f] for f in OUTCOME_FIELDS}))
    sudden: dict[str, ir.Table] = {}
    for k in sudden_measures(key):
        if _dated_sudden(cl, k):  # the root's dated events, as of the window's end
            sudden[k] = hold(_sudden_as_of(cl, k, per))
            continue
        assert series is not None
        scores = series.select("episode_id", "session", x=series[k])
        sudden[k] = hold(_sudden(cl, k, hold(_measure_series(cl, series, k)), scores, per))
    expected = {k: hold(_expected(cl, k, o, per, tt, hold)) for k in sudden_measures(key)}
    for k in sudden_measures(key):
        if k in sudden:
            parts.append(sudden[k].drop(col(k, "recent_loss")))
        parts.append(expected[k])
    crit = [col(c, "latest") for c in critical_items(cl)]
    risk = per.select("episode_id", risk_item=ibis.greatest(
        *(ibis.coalesce(per[c] > 0, False) for c in crit))) if len(crit) > 1 else (
        per.select("episode_id", risk_item=ibis.coalesce(per[crit[0]] > 0, False))
        if crit else None)
    parts.append(cases.episode_reasons(cl.registry, cases.ReasonInputs(
        risk=risk, alliance=al, outcomes=outs, drops=drops, ruptures=rup,
        no_shows=per.select("episode_id", "no_shows"),
        not_on_track={k: e.select("episode_id", not_on_track=e[col(k, "not_on_track")])
                      for k, e in expected.items()},
        recent_loss={k: x.select("episode_id", recent_loss=x[col(k, "recent_loss")])
                     for k, x in sudden.items()})))
    t = _left_all(t, parts)
    zero = {x: ibis.coalesce(t[x], 0) for x in ("alliance_rated_sessions",
                                                "outcome_scored_sessions", "flagged", "drop",
                                                "count", "repaired")}
    false = {x: ibis.coalesce(t[x], False) for x in (
        "intake_scored", "final_scored", "unrepaired_flagged",
        *(reason_col(r) for r in cases.REASONS))}
    texts = [t[col(k, "not_on_track_reason")] for k in sudden_measures(key)]
    why = ibis.literal("; ").join(texts).nullif("") if texts else ibis.null("string")
    return t.mutate(**zero, **false, not_on_track_reason=why)


def _left_all(t: ir.Table, parts: list[ir.Table]) -> ir.Table:
    """``t`` left-joined to each of ``parts`` on ``episode_id``, as one join chain (one
    ``SELECT`` with its joins, the parts' keys dropped): a chain of joins each wrapped in
    its own projection compiles many times slower (benchmarks/compile_timing.py)."""
    keyed = [p.rename(**{f"_e{i}": "episode_id"}) for i, p in enumerate(parts)]
    j = t
    for i, p in enumerate(keyed):
        j = j.left_join(p, t.episode_id == p[f"_e{i}"])
    return j.drop(*(f"_e{i}" for i in range(len(parts))))


def latest_columns(cl: Caseload, key: EpisodeTableKey) -> list[str]:
    """The per-episode table's columns of latest values (:func:`_latest`): ``last_seen_date``,
    ``<m>__last`` per measure, ``<o>__first`` (intake) per outcome measure of
    :func:`sudden_measures` and ``<item>__latest`` per critical item."""
    return ["last_seen_date",
            *(col(k, "last") for k in (*key.alliance, *key.outcome) if k != oc.PAIRED),
            *(col(k, "first") for k in sudden_measures(key)),
            *(col(c, "latest") for c in critical_items(cl))]


KEEP_WINDOWS = 3
"""How many end dates' per-episode tables the root keeps (for windows and therapists in them)."""


@dataclass(frozen=True)
class WindowKey:
    """The root's memo key of a per-episode table of every therapist: ``since`` None for the
    facts as of ``until`` (every window ending then is a filter of it); a ``since`` only for
    a window whose figures use its own sample (:func:`sample_free` false)."""

    since: dt.date | None
    until: dt.date | None


def _as_of(cl: Caseload, until: dt.date | None) -> ir.Table:
    """The per-episode table of every episode started by ``until``, read as of ``until``:
    built once per end date on the plain scope ``root.scoped(until=until)`` (``cl`` itself
    when it is that scope) and kept on the root (the :data:`KEEP_WINDOWS` most recent end
    dates)."""
    sc = cl.scope
    whole = cl if sc == Scope(None, None, until) else cl.root.scoped(until=until)

    def build() -> ir.Table:
        key = measures(whole)
        return whole.memo(key, lambda: _build(whole, key))

    return cl.root.memo_recent(WindowKey(None, until), build, keep=KEEP_WINDOWS)


def episode_table(cl: Caseload) -> ir.Table:
    """The per-episode table of ``cl`` (module docstring), once per caseload object.

    A window is a filter (issue 21).  For a plain scope of the root (:attr:`Caseload.scope`:
    a therapist and/or dates) the per-episode quantities are those of the facts as of the
    window's end, :func:`_as_of` (one pass per end date, kept on the root): an episode's
    figures depend on its own sessions up to ``until`` only, and sessions before ``since``
    of an active episode stay in the window.  The scope's table is then the rows of that
    table whose episode is in the scope (a semi-join on the scope's episodes: those active in
    ``[since, until]``, of the therapist) — a start-date or a therapist change runs no new
    pass (tests/test_episode_windows.py).  Only when a measure's figures use the caseload's
    own sample (:func:`sample_free` false) does a narrower scope compute its own table (the
    whole window's kept on the root under its ``since``, for the same window shown again).
    """
    key = measures(cl)
    sc = cl.scope
    if sc is None:
        return cl.memo(key, lambda: _build(cl, key))
    plain = sc.therapist_id is None and sc.since is None
    if plain or sample_free(cl):
        whole = _as_of(cl, sc.until)
        if plain:
            return cl.memo(key, lambda: whole)
        mine = cl.episodes.select("episode_id")
        return cl.memo(key, lambda: whole.filter(whole.episode_id.isin(mine.episode_id)))
    if sc.therapist_id is None:
        win = WindowKey(sc.since, sc.until)
        found = cl.root.memoised(win)
        table = cl.memo(key, lambda: found if found is not None else _build(cl, key))
        cl.root.memo_recent(win, lambda: table, keep=KEEP_WINDOWS)
        return table  # type: ignore[return-value]
    return cl.memo(key, lambda: _build(cl, key))


__all__ = [
    "ALLIANCE_FIELDS", "COMPLETENESS_FIELDS", "EXPECTED_FIELDS", "OUTCOME_FIELDS",
    "RUPTURE_FIELDS", "SUDDEN_FIELDS", "SUDDEN_KINDS", "EpisodeTableKey", "FactsKey", "col",
    "critical_items", "episode_table", "latest_columns", "measures", "reason_col",
    "sample_free", "session_facts", "sudden_measures",
]
