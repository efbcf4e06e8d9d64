"""Expected treatment response and not on track, from the practice's own history (domain.md §11).

Every feedback system (FIT, OQ-Analyst, ACORN) asks whether a client is progressing as
clients who started where they did usually progress.  Here the expectation comes from the
practice's **own** ended episodes, never a vendor norm.

Definitions (per outcome measure ``m``)
---------------------------------------
*Scores*
    An episode's attended sessions with a value on ``m``, ordered by ``session_date`` then
    ``source_row`` (as :mod:`supervision.outcomes` reads them).  The k-th of them is *scored
    session* k (from 1); the first is the *intake*, ``x``.  ``change_k = score_k − x`` in
    the measure's points; ``gain_k = change_k`` when higher is better and ``−change_k`` when
    lower is better, so that a larger gain is always better and "worse" is well defined.
*Reference*
    The episodes **ended** (``termination`` not ``ongoing``) as of the window's end
    (:attr:`Caseload.session_cut`), with at least 2 scores, from the whole practice
    (:attr:`Caseload.root`): a caseload scoped to a therapist, team or date range keeps the
    practice's history as its reference.
*Intake window and width*
    For an intake ``x`` and scored session ``k``, the reference set is the reference
    episodes with a k-th score and an intake within ``x ± w``; ``w`` is the smallest whole
    number ≥ 1 that gives at least :data:`MIN_REFERENCE` (30) of them.  ``w`` may grow up
    to a quarter of the measure's range (:func:`max_width`: PHQ-9 27/4 → 6 points); beyond
    that there is *not enough history yet*: no band and no flag.
*Band*
    The 10th, 25th, 50th, 75th and 90th percentiles of the reference set's change, where
    the *p*-th percentile is taken **in the direction of improvement**: ``p10`` is the
    change that 1 in 10 reference episodes did no better than.  For a lower-is-better
    measure (PHQ-9) ``p10`` is therefore the raw 90th percentile of ``change`` (a smaller
    drop, or a rise), for a higher-is-better one (ORS) the raw 10th.  Percentiles are
    linearly interpolated between order statistics (Hyndman & Fan 1996 type 7: numpy's
    default, DuckDB ``quantile_cont``, PostgreSQL ``percentile_cont``).
*Not on track*
    An open episode, from its 3rd score on, whose latest gain is below the band's
    ``threshold_percentile``-th percentile (default 10) of gain at its latest scored
    session: strictly worse than (at least) 9 in 10 comparable reference episodes were.
*Back-test*
    Each reference episode is judged, at each of its scored sessions from the 3rd on,
    against the reference **without itself** (leave-one-out: the count that decides the
    width needs 30 others, and the percentile is the one of the others' changes).

Computation
-----------
Everything is an Ibis expression (DuckDB here, the same code on PostgreSQL); only the bands
and the back-test's counts come into pandas.  Matching goes by **distinct intake values**,
never by pairs of episodes: scores take few distinct values, so the (target intake,
reference intake) pairs within :func:`max_width` are few, and each reference score joins
only the intake values whose window holds it.  Leave-one-out needs no query per episode: the
others' percentile is read off the full set's order statistics around the percentile's
position, shifted by one where the episode's own change sits below them (``_leave_one_out``).

A therapist's own server
------------------------
The reference is the whole practice, but a therapist-scoped server's kernel holds only that
therapist's rows (``supervision serve --therapist``).  So the server computes the bands that
kernel needs, :func:`handover_bands` — for the intake values of the therapist's open
episodes, at every scored session, as of the export's end — and hands them over beside the
practice comparison, as aggregates (each band a set of percentiles over ≥ 30 episodes ended
by the end of the gate's closed quarter, kept only when at least ``min_cell`` other
therapists' episodes from at least ``min_cell`` other therapists stand behind it, the rule
of :mod:`supervision.comparison`); the kernel puts them
on its caseload (:attr:`Caseload.handed`, :func:`handed_over`) and :func:`episode_expected`
reads them instead of its own rows.  A window ending before the export's end has no
handed-over bands there: its open episodes are ``not_enough_history`` (no flag), never
judged against one therapist's own history.

These are prompts for supervision, shown with their n, never a prediction about a person.
"""

from __future__ import annotations

import datetime as dt
import math
from fractions import Fraction
from typing import Any

import ibis
import ibis.expr.types as ir
import pandas as pd

from supervision import periods
from supervision.caseload import Caseload, HandedBands
from supervision.errors import ConfigError
from supervision.measures import Measure
from supervision.privacy import enough_others
from supervision.stats import wilson_ci

#: Reference episodes needed for a band (domain.md §11).
MIN_REFERENCE = 30
#: The percentiles of a band (in the direction of improvement).
PERCENTILES = (10, 25, 50, 75, 90)
#: Default percentile below which an open episode is not on track.
DEFAULT_THRESHOLD = 10
#: An episode is judged from this scored session on.
FIRST_JUDGED = 3
#: The back-test's "flag by session 4".
BY_SESSION = 4
#: Jacobson & Truax (1991): reliable when |RCI| exceeds this (as supervision.outcomes).
RCI_CRITICAL = 1.96
#: A gain counts as below a percentile only when below it by more than this: the interpolation
#: position (n − 1)·q is a float (at the 7th percentile of 101 values, 100 · 0.07 =
#: 7.000000000000001), which must not turn a change equal to an order statistic into one
#: "below" it.  Scores have at most a few decimals.
TIE = 1e-9
#: Scored sessions are ordered like this (as supervision.outcomes and alliance).
ORDER = ("session_date", "source_row")

EPISODE_COLUMNS = (
    "episode_id", "therapist_id", "intake", "latest_session", "latest_score", "latest_change",
    "width", "n", "p10_at_latest", "p50_at_latest", "threshold_at_latest", "status",
    "not_on_track", "reason", "p25_at_latest", "position",
)
#: ``position`` values of :func:`episode_expected`: where the latest change lies in the band.
POSITIONS = ("below_p10", "below_p25", "on_track", "not_enough_history", "too_early")
BAND_COLUMNS = ("intake", "session", "p10", "p25", "p50", "p75", "p90", "n", "width")


# ============================================================================ building blocks
def outcome_measure(cl: Caseload, measure: str) -> Measure:
    """The registry's outcome measure ``measure`` (ConfigError for an unknown or alliance key)."""
    return cl.registry.of_kind(measure, "outcome", present=cl.measures_present())


def max_width(m: Measure) -> int:
    """The widest intake window, ± whole points: a quarter of the range, at least 1."""
    return max(1, math.floor((m.max - m.min) / 4))


def _sign(m: Measure) -> float:
    return 1.0 if m.better == "higher" else -1.0


def _check_threshold(threshold_percentile: float) -> float:
    if isinstance(threshold_percentile, bool) or not 0 < threshold_percentile < 100:
        raise ConfigError(f"threshold_percentile must lie between 0 and 100 (exclusive), "
                          f"not {threshold_percentile!r}; the default is {DEFAULT_THRESHOLD}")
    return float(threshold_percentile) / 100


def _at(cl: Caseload, as_of: dt.date | str | None) -> Caseload:
    return cl if as_of is None else cl.scoped(until=as_of)


def reference_caseload(cl: Caseload) -> Caseload:
    """The practice's whole caseload as of ``cl``'s window end (see the module docstring)."""
    return cl.root.scoped(until=cl.session_cut)


def scored_sessions(cl: Caseload, measure: str) -> ir.Table:
    """One row per scored session: ``episode_id, therapist_id, session`` (k, from 1),
    ``score, intake, change`` (score − intake), ``gain`` (change, signed so that larger is
    better) and ``n_scores`` (the episode's scores as of the window's end)."""
    m = outcome_measure(cl, measure)
    s = cl.sessions
    s = s.filter((s.attendance == "attended") & s[measure].notnull())
    w = ibis.window(group_by="episode_id", order_by=list(ORDER))
    s = s.select(
        "episode_id", "therapist_id", score=s[measure],
        session=ibis.row_number().over(w) + 1, intake=s[measure].first().over(w),
        n_scores=s.episode_id.count().over(group_by="episode_id"),
    )
    change = s.score - s.intake
    return s.mutate(change=change, gain=change * _sign(m))


def _with_termination(cl: Caseload, t: ir.Table) -> ir.Table:
    e = cl.episodes.select("episode_id", "termination")
    return t.join(e, "episode_id")


def reference_scores(cl: Caseload, measure: str) -> ir.Table:
    """:func:`scored_sessions` of the reference episodes (ended as of ``cl``'s window end,
    ≥ 2 scores, whole practice), from scored session 2 on (session 1's change is 0)."""
    ref = reference_caseload(cl)
    s = _with_termination(ref, scored_sessions(ref, measure))
    s = s.filter((s.termination != "ongoing") & (s.n_scores >= 2) & (s.session >= 2))
    return s.drop("termination")


# ============================================================================ matching by intake
def _pairs(targets: ir.Table, ref: ir.Table, wmax: int) -> ir.Table:
    """``intake`` (a target value), ``v`` (a reference intake value) and ``w_enter``, the
    smallest whole width ≥ 1 whose window ``intake ± w`` holds ``v``; only up to ``wmax``."""
    tx = targets.select("intake").distinct()
    rv = ref.select(v=ref.intake).distinct()
    p = tx.cross_join(rv)
    # rounded before ceil so that 16.1 − 1.1 = 15.000000000000002 enters at width 15
    w_enter = ibis.greatest(1, (p.v - p.intake).abs().round(6).ceil())
    p = p.mutate(w_enter=w_enter.cast("int64"))
    return p.filter(p.w_enter <= wmax)


def _widths(targets: ir.Table, ref: ir.Table, pairs: ir.Table, need: int) -> ir.Table:
    """Per target ``(intake, session)``: the smallest ``width`` whose window holds at least
    ``need`` reference episodes with a score at that session, and that count ``n``.

    Counts per reference intake value are summed by the width at which each value enters,
    then accumulated over widths: no episode pair is ever formed.
    """
    cnt = ref.group_by([ref.intake.name("v"), "session"]).aggregate(c=ref.episode_id.count())
    t = targets.select("intake", "session").distinct()
    j = t.join(pairs, "intake").join(cnt, ["v", "session"])
    g = j.group_by(["intake", "session", "w_enter"]).aggregate(c=j.c.sum())
    cum = ibis.window(group_by=["intake", "session"], order_by="w_enter",
                      preceding=None, following=0)
    g = g.mutate(cum=g.c.sum().over(cum))
    g = g.filter(g.cum >= need)
    return g.group_by(["intake", "session"]).aggregate(width=g.w_enter.min(), n=g.cum.min())


def _band_rows(widths: ir.Table, pairs: ir.Table, ref: ir.Table) -> ir.Table:
    """The reference scores inside each target's window: ``intake, session, width, n``
    (of the target), ``episode_id, v`` (its intake) and ``gain``."""
    j = widths.join(pairs, "intake")
    j = j.filter(j.w_enter <= j.width)
    r = ref.select("episode_id", "session", "gain", v=ref.intake)
    return j.join(r, ["v", "session"]).select(
        "intake", "session", "width", "n", "episode_id", "v", "gain"
    )


def _quantile_name(q: float) -> str:
    return f"q{round(q * 1000):04d}"


def _bands(targets: ir.Table, ref: ir.Table, m: Measure, quantiles: tuple[float, ...]
           ) -> ir.Table:
    """Per target ``(intake, session)`` with enough history: ``width, n`` and each quantile
    of gain (``q0100`` for 0.1, ...), over the full reference (no one left out)."""
    pairs = _pairs(targets, ref, max_width(m))
    rows = _band_rows(_widths(targets, ref, pairs, MIN_REFERENCE), pairs, ref)
    aggs = {_quantile_name(q): rows.gain.quantile(q) for q in quantiles}
    return rows.group_by(["intake", "session", "width", "n"]).aggregate(**aggs)


# ============================================================================ public: bands
def expected_bands(caseload: Caseload, *, measure: str,
                   as_of: dt.date | str | None = None) -> pd.DataFrame:
    """The practice's expected-response bands (domain.md §11) for each intake and session.

    Parameters
    ----------
    caseload
        Any caseload; the reference is the whole practice's ended episodes as of its window's
        end (or ``as_of``).
    measure
        An outcome measure key (``"phq9"``, ``"ors"``, ...).
    as_of
        Read the practice as of this date instead of the caseload's window end.

    Returns
    -------
    pandas.DataFrame
        ``intake, session, p10, p25, p50, p75, p90, n, width``: one row per intake value seen
        (in the reference or among the caseload's open episodes) and scored session ≥ 2 with
        enough history.  ``pXX`` are changes from intake in the measure's points, percentiles
        taken in the direction of improvement (module docstring); ``n`` the reference
        episodes in the band (≥ 30), ``width`` the window ``intake ± width``.  Sessions stop
        where fewer than 30 reference episodes within a quarter of the range reached them.
    """
    cl = _at(caseload, as_of)
    m = outcome_measure(cl, measure)
    ref = reference_scores(cl, measure)
    open_ = _open_scores(cl, measure)
    intakes = ref.select("intake").union(open_.select("intake"), distinct=True)
    targets = intakes.cross_join(ref.select("session").distinct())
    t = _bands(targets, ref, m, tuple(p / 100 for p in PERCENTILES))
    sign = _sign(m)
    t = t.select("intake", "session", *(
        (t[_quantile_name(p / 100)] * sign).name(f"p{p}") for p in PERCENTILES
    ), "n", "width")
    df = t.order_by(["intake", "session"]).execute()
    df = df.astype({"session": "int64", "n": "int64", "width": "int64"})
    return df.reindex(columns=list(BAND_COLUMNS)).reset_index(drop=True)


# ============================================================================ open episodes
def _open_scores(cl: Caseload, measure: str) -> ir.Table:
    """:func:`scored_sessions` of ``cl``'s open episodes (``ongoing`` as of its window end)."""
    s = _with_termination(cl, scored_sessions(cl, measure))
    return s.filter(s.termination == "ongoing").drop("termination")


def _share_words(threshold: float) -> str:
    """``"9 in 10"`` for the 10th percentile, ``"3 in 4"`` for the 25th, else a percentage."""
    f = Fraction(round(100 - threshold * 100), 100)
    return f"{f.numerator} in {f.denominator}" if f.denominator <= 20 else f"{float(f):.0%} of"


def _points(v: ir.NumericValue) -> ir.StringValue:
    """A number of points as text: whole numbers without decimals, else one decimal."""
    r = v.round(1)
    return ibis.ifelse(r == r.round(0), r.round(0).cast("int64").cast("string"),
                       r.cast("string"))


def _reason(t: ir.Table, m: Measure, threshold: float) -> ir.StringValue:
    """The plain-words reason of a flag, built from the episode's own numbers::

        PHQ-9 is 4 points worse than at intake; 9 in 10 clients who started at 15–17 were
        better by session 6
    """
    size = _points(t.latest_change.abs())
    unit = ibis.ifelse(t.latest_change.abs().round(1) == 1, " point ", " points ")
    moved = ibis.cases(
        (t.latest_gain < 0, size.concat(unit, "worse than at intake")),
        (t.latest_gain > 0, size.concat(unit, "better than at intake")),
        else_=ibis.literal("the same as at intake"),
    )
    low = ibis.greatest(t.intake - t.width, m.min)
    high = ibis.least(t.intake + t.width, m.max)
    compared = ibis.ifelse(t.latest_gain > 0, " had improved more by session ",
                           " were better by session ")
    return ibis.literal(f"{m.name} is ").concat(
        moved, f"; {_share_words(threshold)} clients who started at ", _points(low), "–",
        _points(high), compared, t.latest_session.cast("string"),
    )


def with_change(t: ir.Table, m: Measure) -> ir.Table:
    """``t`` (``score, intake``) with ``change`` (score − intake) and ``gain`` (the change
    signed so that larger is better), as :func:`scored_sessions` gives them."""
    change = t.score - t.intake
    return t.mutate(change=change, gain=change * _sign(m))


def episode_expected(caseload: Caseload, *, measure: str,
                     threshold_percentile: float = DEFAULT_THRESHOLD,
                     as_of: dt.date | str | None = None, open_scores: ir.Table | None = None,
                     reference: ir.Table | None = None) -> ir.Table:
    """Each open episode's latest change against its expected-response band (Ibis table).

    Meant to be joined into per-episode tables and the cases to discuss (reason code
    ``not_on_track``, domain.md §7).  The reference holds ended episodes only and the judged
    episodes are open as of the same date, so no episode is ever its own reference here.

    Returns
    -------
    ibis.expr.types.Table
        One row per open episode with at least one score: ``episode_id, therapist_id,
        intake, latest_session`` (k of its latest score), ``latest_score, latest_change``
        (points, latest − intake), ``width, n`` (its band's window and size; NULL without
        enough history), ``p10_at_latest, p50_at_latest, threshold_at_latest`` (the band's
        10th, 50th and ``threshold_percentile``-th percentiles of change at ``latest_session``,
        in the direction of improvement), ``status`` (``too_early`` before the 3rd score,
        ``not_enough_history``, ``on_track`` or ``not_on_track``), ``not_on_track`` (boolean),
        ``reason`` (plain words when not on track, else NULL), ``p25_at_latest`` and
        ``position`` (:data:`POSITIONS`: ``below_p10`` / ``below_p25`` when the latest change
        is worse than the band's 10th / 25th percentile — the open caseload's status — else
        ``on_track``, or ``not_enough_history`` / ``too_early`` as ``status``).

    ``open_scores`` and ``reference`` may give :func:`scored_sessions` of the caseload's
    open episodes and :func:`reference_scores` already computed (the per-episode table
    reads them off its one sort of the sessions); ``as_of`` must then be None.
    """
    cl = _at(caseload, as_of)
    m = outcome_measure(cl, measure)
    q = _check_threshold(threshold_percentile)
    if as_of is not None and (open_scores is not None or reference is not None):
        raise ConfigError("give as_of or precomputed scores, not both")
    s = _open_scores(cl, measure) if open_scores is None else open_scores
    latest = s.filter(s.session == s.n_scores)
    bands = _given_bands(cl, m, q)
    if bands is None:
        targets = latest.select("intake", "session")
        ref = reference_scores(cl, measure) if reference is None else reference
        bands = _bands(targets, ref, m, (0.1, 0.25, 0.5, q))
    t = latest.left_join(bands, ["intake", "session"])
    sign, qn = _sign(m), _quantile_name(q)
    t = t.select(
        "episode_id", "therapist_id", "intake", "width", "n", latest_session=t.session,
        latest_score=t.score, latest_change=t.change, latest_gain=t.gain,
        p10_at_latest=t[_quantile_name(0.1)] * sign, p50_at_latest=t[_quantile_name(0.5)] * sign,
        threshold_at_latest=t[qn] * sign, _q=t[qn],
        p25_at_latest=t[_quantile_name(0.25)] * sign,
        _p10=t[_quantile_name(0.1)], _p25=t[_quantile_name(0.25)],
    )
    status = ibis.cases(
        (t.latest_session < FIRST_JUDGED, "too_early"),
        (t.n.isnull(), "not_enough_history"),
        (t.latest_gain < t._q - TIE, "not_on_track"),
        else_="on_track",
    )
    position = ibis.cases(
        (t.latest_session < FIRST_JUDGED, "too_early"),
        (t.n.isnull(), "not_enough_history"),
        (t.latest_gain < t._p10 - TIE, "below_p10"),
        (t.latest_gain < t._p25 - TIE, "below_p25"),
        else_="on_track",
    )
    t = t.mutate(status=status, position=position)
    flagged = t.status == "not_on_track"
    t = t.mutate(not_on_track=flagged,
                 reason=ibis.ifelse(flagged, _reason(t, m, q), ibis.null("string")))
    return t.select(*EPISODE_COLUMNS)


def not_on_track(caseload: Caseload, *, measure: str,
                 threshold_percentile: float = DEFAULT_THRESHOLD,
                 as_of: dt.date | str | None = None) -> pd.DataFrame:
    """The open episodes not on track (domain.md §7, §11), by therapist then episode.

    Returns
    -------
    pandas.DataFrame
        The columns of :func:`episode_expected`, only rows with ``not_on_track`` true.
    """
    t = episode_expected(caseload, measure=measure, threshold_percentile=threshold_percentile,
                         as_of=as_of)
    df = t.filter(t.not_on_track).order_by(["therapist_id", "episode_id"]).execute()
    return df.reset_index(drop=True)


# ============================================================================ hand-over
def _band_names(q: float) -> list[str]:
    return ["intake", "session", "width", "n", *dict.fromkeys(
        _quantile_name(x) for x in (*(p / 100 for p in PERCENTILES), q))]


def _handed_records(cl: Caseload, m: Measure, q: float | None = None
                    ) -> tuple[float, list[dict[str, Any]]] | None:
    """The threshold (``q``, else the one handed over) and band records handed over to
    ``cl``'s root for ``m`` at its window end (none for another end), or None when the bands
    come from ``cl``'s rows."""
    given = cl.root.handed
    if given is None:
        return None
    if q is None:
        q = given.threshold
    same = cl.session_cut is None and q == given.threshold  # handed over for that window
    return q, list(given.measures.get(m.key, ())) if same else []


def _given_bands(cl: Caseload, m: Measure, q: float) -> ir.Table | None:
    """The handed-over bands of ``cl``'s root for ``m`` at its window end (an empty table
    when there are none for that end), or None when the bands come from ``cl``'s rows."""
    found = _handed_records(cl, m, q)
    if found is None:
        return None
    names = _band_names(q)
    df = pd.DataFrame.from_records(found[1], columns=names)
    types = dict.fromkeys(names, "float64") | {"session": "int64", "width": "int64", "n": "int64"}
    return ibis.memtable(df.astype(types))


def handed_bands(cl: Caseload, *, measure: str) -> pd.DataFrame | None:
    """The bands handed over to a therapist's kernel (:attr:`Caseload.handed`) for ``measure``
    in :func:`expected_bands`' columns (empty when none were handed over for it), or None
    when ``cl``'s bands are its practice's history (a full server)."""
    m = outcome_measure(cl, measure)
    found = _handed_records(cl, m)
    if found is None:
        return None
    df = pd.DataFrame.from_records(found[1], columns=_band_names(found[0]))
    sign = _sign(m)
    out = df[["intake", "session"]].astype({"intake": "float64", "session": "int64"})
    for p in PERCENTILES:
        out[f"p{p}"] = df[_quantile_name(p / 100)].astype("float64") * sign
    out["n"], out["width"] = df["n"].astype("int64"), df["width"].astype("int64")
    return out.reindex(columns=list(BAND_COLUMNS))


def handover_bands(full: Caseload, therapist_id: str, *, min_cell: int,
                   threshold_percentile: float = DEFAULT_THRESHOLD) -> dict[str, Any]:
    """The bands a therapist-scoped kernel needs (module docstring), JSON-ready.

    Computed in the server from the whole practice (``full``), for the intake values of
    ``therapist_id``'s open episodes and every scored session reached in the reference, on
    each outcome measure with scores.  The bands are figures of other therapists' clients
    handed to a viewer entitled to one therapist, so they pass the gate of the practice
    comparison (:mod:`supervision.comparison`), both halves of it:

    * **a closed period**: the reference is the episodes ended as of the end of the gate's
      quarter (:func:`supervision.periods.gate_quarter`: the last quarter closed by the
      export's last session), read as of that day — not as of the export's end.  A refresh
      a day later with one more ended episode would otherwise change a band by exactly that
      episode (its ``n`` by one), and a type-7 percentile read off the order statistics
      can then *equal* that client's change; within a quarter the handed bands are now the
      same to the last digit;
    * **enough others**: a band is kept only when at least ``min_cell`` of its episodes are
      other therapists' and they come from at least ``min_cell`` other therapists
      (:func:`supervision.privacy.enough_others`).

    Within one output, two bands differ by whole intake values entering or leaving a
    window of at least 30 episodes; what no closed period covers is a session back-dated
    into the closed quarter (a correction of the record), as for the comparison.

    Returns
    -------
    dict
        ``{"threshold_percentile", "period", "measures": {key: [{"intake", "session",
        "width", "n",
        "q0100", "q0250", "q0500", "q0750", "q0900", ...}]}}``: each band's window, size
        and percentiles of gain (signed so that larger is better, as inside
        :func:`episode_expected`).
    """
    q = _check_threshold(threshold_percentile)
    own = full.scoped(therapist_id=therapist_id)
    quarter = periods.gate_quarter(full)
    out: dict[str, list[dict[str, Any]]] = {}
    if quarter is None:
        return {"threshold_percentile": threshold_percentile, "period": None, "measures": out}
    # the reference as of the end of the gate's closed quarter, not of the export: a band
    # over the episodes ended by the export's end changes by one episode's change when an
    # export a day later has one more ended episode, and its percentiles (type 7, read
    # between two order statistics) can then equal that client's change exactly
    history = full.scoped(until=periods.quarter_bounds(quarter)[1])
    for key in full.measures_present("outcome"):
        m = outcome_measure(full, key)
        ref = reference_scores(history, key)
        opens = _open_scores(own, key).select("intake").distinct()
        targets = opens.cross_join(ref.select("session").distinct())
        pairs = _pairs(targets, ref, max_width(m))
        rows = _band_rows(_widths(targets, ref, pairs, MIN_REFERENCE), pairs, ref)
        who = ref.select(_e=ref.episode_id, _t=ref.therapist_id).distinct()
        rows = rows.join(who, rows.episode_id == who._e)
        other = rows._t != therapist_id
        aggs = {_quantile_name(x): rows.gain.quantile(x)
                for x in (*(p / 100 for p in PERCENTILES), q)}
        g = rows.group_by(["intake", "session", "width", "n"]).aggregate(
            **aggs, _others=rows.episode_id.count(where=other),
            _therapists=rows._t.nunique(where=other))
        g = g.filter(enough_others(g._others, g._therapists, min_cell=min_cell))
        df = g.select(*_band_names(q)).order_by(["intake", "session"]).execute()
        out[key] = [{k: (int(v) if k in ("session", "width", "n") else float(v))
                     for k, v in r.items()} for r in df.to_dict("records")]
    return {"threshold_percentile": threshold_percentile, "period": quarter, "measures": out}


def handed_over(payload: dict[str, Any] | None) -> HandedBands:
    """What :func:`handover_bands` wrote, as a caseload's :class:`~supervision.caseload.
    HandedBands`: its :func:`episode_expected` (and the per-episode table's) then uses them,
    never its own rows, as the reference.  ``None`` (nothing handed over) still gives a
    value, so no open episode is judged against a reference of one therapist's rows."""
    if not payload:
        return HandedBands(threshold=DEFAULT_THRESHOLD / 100)
    q = _check_threshold(payload.get("threshold_percentile", DEFAULT_THRESHOLD))
    return HandedBands(threshold=q, measures={
        key: tuple(dict(r) for r in recs)
        for key, recs in (payload.get("measures") or {}).items()})


# ============================================================================ back-test
def _leave_one_out(ref: ir.Table, m: Measure, q: float) -> ir.Table:
    """Each reference score from session 3 on, judged against the *other* reference episodes.

    For intake ``x`` and session ``k`` the width needs ``MIN_REFERENCE + 1`` episodes in the
    window, because the episode itself (intake ``x``, a k-th score) is one of them.  The
    others' type-7 percentile at ``q`` over ``n − 1`` values sits at position
    ``h = (n − 2)·q``: with ``lo = ⌊h⌋``, ``reduced[lo] + (h − lo)·(reduced[lo+1] −
    reduced[lo])``; removing the episode's own value (rank ``r`` in the full sorted set,
    from 0) makes ``reduced[j] = full[j]`` for ``j < r`` and ``full[j + 1]`` otherwise.
    Among equal values any rank gives the same reduced set.

    Returns ``episode_id, session, gain, loo_n`` (others in the band), ``loo_q`` (their
    percentile of gain) and ``flagged`` (gain below it).
    """
    targets = ref.filter(ref.session >= FIRST_JUDGED).select("intake", "session")
    pairs = _pairs(targets, ref, max_width(m))
    # + 1: the judged episode is in the count and is taken out of the percentile below
    rows = _band_rows(_widths(targets, ref, pairs, MIN_REFERENCE + 1), pairs, ref)
    grp = ["intake", "session"]
    rows = rows.mutate(pos=ibis.row_number().over(group_by=grp, order_by="gain"))
    h = (rows.n - 2) * q
    lo = (h + TIE).floor()  # 28.999999999999996 (100 · 0.29) is position 29
    rows = rows.mutate(lo=lo.cast("int64"), frac=ibis.greatest(h - lo, 0.0))
    stats = rows.group_by([*grp, "lo", "frac"]).aggregate(
        **{f"o{i}": rows.gain.max(where=rows.pos == rows.lo + i) for i in range(3)}
    )
    # the judged rows: every episode whose own intake is the target value x
    own = rows.filter(rows.v == rows.intake).select(*grp, "episode_id", "gain", "pos", "n")
    j = own.join(stats, grp)
    r0 = ibis.ifelse(j.lo < j.pos, j.o0, j.o1)
    r1 = ibis.ifelse(j.lo + 1 < j.pos, j.o1, j.o2)
    loo_q = r0 + j.frac * (r1.fill_null(r0) - r0)
    return j.select("episode_id", "session", "gain", loo_n=j.n - 1, loo_q=loo_q,
                    flagged=j.gain < loo_q - TIE)


def _improved(per_episode: ir.Table, m: Measure) -> ir.BooleanValue:
    """Reliable improvement first → last score, re-derived from the registry as
    :mod:`supervision.outcomes` defines it (that module is not imported here: the layer
    refactor moves it): a gain of at least ``reliable_change`` points, or else Jacobson &
    Truax (1991) ``gain > 1.96 · S_diff`` with the norm SD or, without one, the SD
    (ddof = 1) of the reference episodes' intakes."""
    g = per_episode.final_gain
    if m.reliable_change is not None:
        return g >= float(m.reliable_change)
    if m.reliability is None:
        raise ConfigError(
            f"measure {m.key!r} has neither reliable_change nor reliability: add one of them "
            "to the measure file to compute reliable change"
        )
    sd = (ibis.literal(float(m.norm_sd)) if m.norm_sd is not None
          else per_episode.intake.std(how="sample").over())
    return g > sd * math.sqrt(2.0) * math.sqrt(1.0 - m.reliability) * RCI_CRITICAL


def episode_backtest(caseload: Caseload, *, measure: str,
                     threshold_percentile: float = DEFAULT_THRESHOLD,
                     by_session: int = BY_SESSION,
                     as_of: dt.date | str | None = None) -> ir.Table:
    """Per reference episode: how it would have been flagged, judged against the others.

    Returns
    -------
    ibis.expr.types.Table
        ``episode_id, therapist_id, intake, n_scores, final_change, reliable_improvement``
        (first → last, as :mod:`supervision.outcomes`), ``judged`` (a band at one of its
        sessions from the 3rd on), ``ever_flagged``, ``judged_by`` / ``flagged_by`` (the
        same, at sessions 3 to ``by_session``) and ``first_flag_session`` (NULL if never).
    """
    cl = _at(caseload, as_of)
    m = outcome_measure(cl, measure)
    q = _check_threshold(threshold_percentile)
    ref = reference_scores(cl, measure)
    last = ref.filter(ref.session == ref.n_scores)
    per = last.select("episode_id", "therapist_id", "intake", "n_scores",
                      final_change=last.change, final_gain=last.gain)
    per = per.mutate(reliable_improvement=_improved(per, m))
    loo = _leave_one_out(ref, m, q)
    early = loo.session <= by_session
    flags = loo.group_by("episode_id").aggregate(
        judged=loo.episode_id.count() > 0, ever_flagged=loo.flagged.any(),
        judged_by=early.any(), flagged_by=(loo.flagged & early).any(),
        first_flag_session=loo.session.min(where=loo.flagged),
    )
    t = per.left_join(flags, "episode_id")
    return t.select(
        "episode_id", "therapist_id", "intake", "n_scores", "final_change",
        "reliable_improvement", *(t[c].fill_null(False).name(c) for c in (
            "judged", "ever_flagged", "judged_by", "flagged_by")), "first_flag_session",
    )


def _rate(flagged: int, n: int) -> dict[str, object]:
    return {"flagged": flagged, "n": n, "rate": flagged / n if n else None,
            "ci": wilson_ci(flagged, n)}


def backtest(caseload: Caseload, *, measure: str,
             threshold_percentile: float = DEFAULT_THRESHOLD,
             by_session: int = BY_SESSION,
             as_of: dt.date | str | None = None) -> dict[str, object]:
    """The back-test of the not-on-track flag on the practice's reference (domain.md §11).

    Each reference episode is judged at each scored session from the 3rd on against the
    other reference episodes (:func:`episode_backtest`; never against itself).

    Returns
    -------
    dict
        ``reference_episodes``; ``not_enough_history`` (episodes with ≥ 3 scores never
        judged); ``ever_flagged`` over the episodes judged at least once; and, over the
        episodes judged by ``by_session`` that went on to a later score (so that the flag
        *preceded* the ending), ``sensitivity`` (flagged by ``by_session`` among endings
        without reliable improvement) and ``false_alarm`` (flagged among endings with one).
        Each figure is ``{"flagged", "n", "rate", "ci"}``: ``rate`` in 0–1 (None when
        ``n`` is 0) with a Wilson 95% interval ``[low, high]`` (Wilson 1927; equal to
        statsmodels' ``proportion_confint(method="wilson")``).
    """
    t = episode_backtest(caseload, measure=measure, threshold_percentile=threshold_percentile,
                         by_session=by_session, as_of=as_of)
    c = t.episode_id.count
    later = t.judged_by & (t.n_scores > by_session)
    agg = t.aggregate(
        reference=c(), judged=c(where=t.judged), ever=c(where=t.ever_flagged),
        too_little=c(where=~t.judged & (t.n_scores >= FIRST_JUDGED)),
        worse_n=c(where=later & ~t.reliable_improvement),
        worse_k=c(where=later & ~t.reliable_improvement & t.flagged_by),
        better_n=c(where=later & t.reliable_improvement),
        better_k=c(where=later & t.reliable_improvement & t.flagged_by),
    ).execute().iloc[0]
    v = {k: int(agg[k]) for k in agg.index}
    return {
        "measure": measure, "threshold_percentile": threshold_percentile,
        "by_session": by_session, "reference_episodes": v["reference"],
        "not_enough_history": v["too_little"],
        "ever_flagged": _rate(v["ever"], v["judged"]),
        "sensitivity": _rate(v["worse_k"], v["worse_n"]),
        "false_alarm": _rate(v["better_k"], v["better_n"]),
    }


__all__ = [
    "BAND_COLUMNS",
    "BY_SESSION",
    "DEFAULT_THRESHOLD",
    "EPISODE_COLUMNS",
    "FIRST_JUDGED",
    "MIN_REFERENCE",
    "PERCENTILES",
    "TIE",
    "backtest",
    "episode_backtest",
    "episode_expected",
    "expected_bands",
    "handed_bands",
    "handed_over",
    "handover_bands",
    "max_width",
    "not_on_track",
    "outcome_measure",
    "reference_caseload",
    "reference_scores",
    "scored_sessions",
    "with_change",
]
