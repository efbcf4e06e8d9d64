"""Sudden gains and sudden losses on an outcome measure (domain.md §10).

A *sudden gain* is a large, stable improvement between two consecutive sessions (Tang &
DeRubeis 1999), computed exactly as the R package ``suddengains`` does (Wiedemann, Thew,
Stott & Ehlers 2020; ``identify_sg`` and ``create_bysg``).  Clients with one tend to do
better at the end of therapy and at follow-up (Aderka et al. 2012).

The series
    An episode's *attended* sessions, ordered by ``session_date`` then ``source_row`` and
    numbered 1, 2, … among themselves.  An attended session without a score on the measure
    is a missing value of the series (it still takes its place), never a gap that is closed.

The rule, for pregain session n and postgain session n + 1, both scored (lower is better
here; for a higher-is-better measure every difference is taken the other way)
    1. ``x[n] − x[n+1] ≥ cutoff``: the measure's ``sudden_gain_cutoff`` if its measure file
       gives one, else its reliable change in points (``reliable_change``, or Jacobson–Truax
       ``1.96 · S_diff`` from ``reliability`` and ``norm_sd`` / the sample's pre-treatment SD);
    2. ``x[n] − x[n+1] ≥ 0.25 · x[n]``;
    3. ``mean(x[n−2..n]) − mean(x[n+1..n+3]) > t · s_pooled`` over the scores present among
       those three before and three after, ``t = |qt(.025, n_pre + n_post − 2)|`` (the
       critical value adjusted for missing values: 2.776 with all six, 3.182 with one
       missing, 4.303 with two) and ``s_pooled = √((SS_pre + SS_post) / (n_pre + n_post −
       2))``; with fewer than 2 scores on either side the interval is not a gain.

    Intervals run from 2→3 to (last − 1)→last: session 1 has no session before it for
    criterion 3 (the package's default ``identify_sg_1to2 = FALSE``).

*Magnitude* is ``x[n] − x[n+1]`` in points.  A gain is *reversed* when any later score,
from session n + 2 on, is worse than ``x[n+1] + magnitude / 2`` (strictly: a score exactly
there is not a reversal).  ``first`` and ``largest`` mark the episode's earliest gain and
its largest (ties: the earliest), the two the package selects for person-level analyses.

Sudden losses
    The mirror in the worse direction, on every criterion: the worsening ``x[n+1] − x[n]``
    (lower-is-better) is at least the cut-off and at least 25% of the pregain score,
    criterion 3 tests the post mean being worse, and a loss is reversed when a later score is
    *better* than ``x[n+1] − magnitude / 2``.  ``magnitude`` is the size of the worsening, so
    it is positive for losses as for gains (the package's ``sg_magnitude`` is negative for a
    loss; ours is its absolute value).  One deliberate difference from the package: its
    ``identify_sl`` tests criterion 2 as ``x[n] − x[n+1] ≤ 0.25 · x[n]``, which every
    worsening on a scale from 0 meets, so in the package criterion 2 never excludes a loss.
    Here it is mirrored ("a loss of at least 25% of the pregain score"), as domain.md §10
    says ("losses mirror gains"); every loss found here is one the package finds too (same
    cut-off), not the other way round.

Reversal window
    The package's ``create_bysg`` looks for a reversal from session n + 3 when there is no
    baseline column (``identify_sg_1to2 = FALSE``: its ``rename_sg_vars(start_numbering = 0)``
    shifts the numbering by one) and from n + 2 with one; domain.md §10 fixes n + 2, the
    first session after the postgain session.  On the validation data both give the same
    4 reversals.

Everything is an Ibis expression (window functions over each episode's sessions), so it
runs unchanged in DuckDB and PostgreSQL; only :func:`summarise` comes into pandas.
"""

from __future__ import annotations

import math
from typing import Literal

import ibis
import ibis.expr.types as ir
import pandas as pd
from scipy.special import stdtrit

from supervision.caseload import Caseload
from supervision.errors import ConfigError
from supervision.measures import Measure

Kind = Literal["gain", "loss"]

#: Two-sided α of criterion 3 (the package's ``sg_crit3_alpha``).
ALPHA = 0.05
#: Criterion 2: the change is at least this share of the pregain score.
PCT = 0.25
#: Jacobson & Truax (1991): reliable change is 1.96 · S_diff (two-sided 95%).
RCI_CRITICAL = 1.96
#: ``|qt(α/2, df)|`` for the degrees of freedom criterion 3 can have (2 + 2 − 2 to 3 + 3 − 2):
#: 4.303, 3.182, 2.776.
CRITICAL_T: dict[int, float] = {df: float(stdtrit(df, 1 - ALPHA / 2)) for df in (2, 3, 4)}
#: The fewest scores on the measure an episode needs for a sudden gain or loss to be found:
#: criterion 3 needs two scores on each side (the pregain score and one before it, the
#: postgain score and one after it).  Episodes with fewer are not at risk of one, so they
#: are not in the n the counts are shown with (the views' "episodes with enough scores").
MIN_SCORES = 4

#: The columns of :func:`sudden_events`, in order (domain.md §10).
EVENT_COLUMNS = (
    "episode_id", "therapist_id", "measure", "kind", "pregain_session", "postgain_session",
    "pregain_score", "postgain_score", "magnitude", "reversal", "first", "largest",
)
#: The keys of :func:`summarise` (domain.md §9, ``outcomes.<measure>.sudden_gains``).
SUMMARY_KEYS = (
    "gains", "episodes_with_gain", "episodes_with_multiple", "reversals", "magnitude_mean",
    "magnitude_sd",
)

_ORDER = ["session_date", "source_row"]


def outcome_measure(cl: Caseload, measure: str) -> Measure:
    """The outcome measure ``measure`` of the caseload's registry, or a :class:`ConfigError`
    naming the outcome measures there are (and those with scores in this export)."""
    return cl.registry.of_kind(measure, "outcome", present=cl.measures_present())


def default_measure(cl: Caseload) -> str:
    """The export's only outcome measure with scores, or a :class:`ConfigError` to choose one."""
    present = cl.measures_present("outcome")
    if len(present) == 1:
        return present[0]
    if not present:
        known = ", ".join(m.key for m in cl.registry.outcome)
        raise ConfigError(f"this export has no outcome scores; the registry's outcome measures "
                          f"are {known} (a column per measure in sessions; a measure of your own "
                          "goes in a measure file, --measures FILE)")
    raise ConfigError(f"this export has scores on {len(present)} outcome measures "
                      f"({', '.join(present)}): choose one with --measure")


def _cutoff(cl: Caseload, m: Measure, cutoff: float | None) -> ir.Table | float:
    """Criterion 1's cut-off in points (see the module docstring): a number when it is
    fixed, else a one-row table ``_cut`` computed from the sample.

    Without ``sudden_gain_cutoff`` or ``reliable_change``, Jacobson–Truax reliable change:
    ``1.96 · √2 · SD_pre · √(1 − r)``, ``SD_pre`` the ``norm_sd`` or else the sample SD
    (ddof = 1) of the first scores of the caseload's episodes with ≥ 2 scores, as
    :mod:`supervision.outcomes` and the package's ``define_crit1_cutoff`` use.
    """
    fixed = cutoff if cutoff is not None else m.sudden_gain_cutoff
    if fixed is None:
        fixed = m.reliable_change
    if fixed is None and m.reliability is not None and m.norm_sd is not None:
        fixed = RCI_CRITICAL * math.sqrt(2.0) * m.norm_sd * math.sqrt(1.0 - m.reliability)
    if fixed is not None:
        if isinstance(fixed, bool) or not math.isfinite(fixed) or fixed <= 0:
            raise ConfigError(f"the sudden-gain cut-off must be a number of points above 0, "
                              f"not {fixed!r}")
        return float(fixed)
    if m.reliability is None:
        raise ConfigError(
            f"measure {m.key!r} has no sudden_gain_cutoff, reliable_change or reliability: "
            "add one of them to the measure file for criterion 1 of a sudden gain"
        )
    s = cl.sessions
    s = s.filter((s.attendance == "attended") & s[m.key].notnull())
    w = ibis.window(group_by="episode_id", order_by=_ORDER)
    s = s.mutate(_i=ibis.row_number().over(w), _n=s.episode_id.count().over(group_by="episode_id"))
    first = s.filter((s._i == 0) & (s._n >= 2))
    factor = RCI_CRITICAL * math.sqrt(2.0) * math.sqrt(1.0 - m.reliability)
    return first.aggregate(_cut=first[m.key].std(how="sample") * factor)


#: The scores around session n a series holds: ``p2, p1`` before, ``q1, q2, q3`` after.
AROUND = {"p2": -2, "p1": -1, "q1": 1, "q2": 2, "q3": 3}


def around(x: ir.Value, w: ibis.expr.builders.LegacyWindowBuilder) -> dict[str, ir.Value]:
    """The scores of :data:`AROUND` for the score ``x`` over the window ``w`` (one sort)."""
    return {name: (x.lag(-d) if d < 0 else x.lead(d)).over(w) for name, d in AROUND.items()}


def series(cl: Caseload, key: str) -> ir.Table:
    """Each attended session with its number ``session`` (from 1), its score ``x``, the
    scores around it (:data:`AROUND`; NULL where missing or beyond the series), ``scored_i``
    (sessions scored on ``key`` up to and including this one) and ``n_scored`` (the
    episode's scored sessions): the input of :func:`events`."""
    s = cl.sessions
    s = s.filter(s.attendance == "attended").select(
        "episode_id", "therapist_id", "session_date", "source_row", x=s[key]
    )
    w = ibis.window(group_by="episode_id", order_by=_ORDER)
    upto = ibis.window(group_by="episode_id", order_by=_ORDER, rows=(None, 0))
    return s.mutate(
        session=ibis.row_number().over(w) + 1, **around(s.x, w),
        scored_i=s.x.count().over(upto), n_scored=s.x.count().over(group_by="episode_id"),
    )


def _side(values: list[ir.FloatingValue]) -> tuple[ir.IntegerValue, ir.FloatingValue,
                                                   ir.FloatingValue]:
    """Count, mean and sum of squared deviations of the values present (NULLs left out;
    the mean NULL when none is: PostgreSQL raises on a division by zero)."""
    n = sum(v.notnull().cast("int64") for v in values)
    mean = sum(v.fill_null(0.0) for v in values) / n.nullif(0)
    ss = sum(ibis.ifelse(v.notnull(), (v - mean) ** 2, 0.0) for v in values)
    return n, mean, ss


def _critical_t(df: ir.IntegerValue) -> ir.FloatingValue:
    """``|qt(α/2, df)|`` for df 2–4 (:data:`CRITICAL_T`); NULL otherwise."""
    return ibis.cases(*((df == k, v) for k, v in CRITICAL_T.items()), else_=ibis.null("float64"))


def fixed_cutoff(cl: Caseload, m: Measure) -> float | None:
    """Criterion 1's cut-off in points when it does not rest on the sample, else None."""
    cut = _cutoff(cl, m, None)  # a table only when it is the sample's (not computed here)
    return cut if isinstance(cut, float) else None


def events(t: ir.Table, caseload: Caseload, m: Measure, *, kind: Kind,
           cutoff: float | None = None, scores: ir.Table | None = None,
           keep: tuple[str, ...] = (), dated: bool = False) -> ir.Table:
    """The events of kind ``kind`` on :func:`series` ``t`` of measure ``m`` (the rule of the
    module docstring), unordered and without ``first`` / ``largest``: ``episode_id,
    therapist_id, measure, kind, pregain_session, postgain_session, pregain_score,
    postgain_score, magnitude, reversal``, plus ``postgain_scored`` (the postgain session's
    index among the episode's scored sessions, from 1) and ``n_scored`` (when ``t`` has
    it).  ``t`` may hold only the candidate pregain sessions when ``scores`` (``episode_id,
    session, x``: every attended session) gives the series for the reversal.  ``caseload``
    gives criterion 1's cut-off where it rests on the sample.  ``keep``: columns of ``t``
    carried to the events as they are.  ``dated``: ``scores`` has ``session_date`` and the
    events get ``reversed_on``, the date of the first later score that reverses the event
    (NULL when none does), so that the reversal as of a date is ``reversed_on <= date``."""
    # +1: the event lowers the score (a gain on a lower-is-better measure, a loss on a
    # higher-is-better one); -1: it raises it.
    sign = 1.0 if (m.better == "lower") == (kind == "gain") else -1.0
    scores = t if scores is None else scores
    cut = _cutoff(caseload, m, cutoff)
    t = t.mutate(_cut=ibis.literal(cut)) if isinstance(cut, float) else t.cross_join(cut)
    n_pre, mean_pre, ss_pre = _side([t.p2, t.p1, t.x])
    n_post, mean_post, ss_post = _side([t.q1, t.q2, t.q3])
    dof = n_pre + n_post - 2
    s_pooled = ((ss_pre + ss_post) / dof.nullif(0)).sqrt()
    change = (t.x - t.q1) * sign
    crit3 = (n_pre >= 2) & (n_post >= 2) & ((mean_pre - mean_post) * sign > _critical_t(dof)
                                            * s_pooled)
    found = t.filter(
        (t.session >= 2) & t.x.notnull() & t.q1.notnull()
        & (change >= t._cut) & (change >= PCT * t.x) & crit3
    )
    mag = (found.x - found.q1) * sign
    ev = found.select(
        "episode_id", "therapist_id", measure=ibis.literal(m.key), kind=ibis.literal(kind),
        pregain_session=found.session, postgain_session=found.session + 1,
        pregain_score=found.x, postgain_score=found.q1, magnitude=mag,
        # the pregain session is scored, so the postgain one is the next scored session
        postgain_scored=found.scored_i + 1,
        **({"n_scored": found.n_scored} if "n_scored" in found.columns else {}),
        **{c: found[c] for c in keep},
    )
    return _with_reversal(ev, scores, sign, dated=dated)


def _with_reversal(ev: ir.Table, t: ir.Table, sign: float, *, dated: bool = False
                   ) -> ir.Table:
    """``ev`` with ``reversal``: a score from session n + 2 on worse than half-way back,
    ``postgain + magnitude / 2`` in the event's direction (found by joining the few events'
    episodes' later scores, not by a window over every session); ``dated``: and
    ``reversed_on``, the date of the first such score."""
    later = t.filter(t.x.notnull()).select(
        _e=t.episode_id, _s=t.session, _x=t.x, **({"_d": t.session_date} if dated else {}))
    j = ev.join(later, (ev.episode_id == later._e) & (later._s >= ev.pregain_session + 2))
    back = j.postgain_score + j.magnitude / 2 * sign  # half-way back to the pregain score
    worse = (j._x > back) if sign > 0 else (j._x < back)
    aggs = {"_rev": worse.any(), **({"_on": j._d.min(where=worse)} if dated else {})}
    r = j.group_by(["episode_id", "pregain_session"]).aggregate(**aggs)
    r = r.rename(_re="episode_id", _rp="pregain_session")
    out = ev.left_join(r, (ev.episode_id == r._re) & (ev.pregain_session == r._rp))
    out = out.mutate(reversal=out._rev.fill_null(False))
    if dated:
        out = out.rename(reversed_on="_on")
    return out.drop("_re", "_rp", "_rev")


def sudden_events(
    caseload: Caseload, *, measure: str, kind: Kind = "gain", cutoff: float | None = None,
) -> ir.Table:
    """Sudden gains (or losses) on ``measure``, one row per event (domain.md §10).

    Parameters
    ----------
    caseload
        The caseload; every episode's attended sessions are its series.
    measure
        An outcome measure key of ``caseload.registry``.
    kind
        ``"gain"`` (improvement in the measure's better direction) or ``"loss"`` (its mirror).
    cutoff
        Criterion 1 in points, overriding the measure's ``sudden_gain_cutoff`` / reliable change.

    Returns
    -------
    ir.Table
        :data:`EVENT_COLUMNS`: ``pregain_session`` n and ``postgain_session`` n + 1 (numbered
        from 1 among the episode's attended sessions), their scores, ``magnitude`` (points
        of change in the event's direction, > 0), ``reversal``, ``first``, ``largest``
        (booleans).  The formulas are in the module docstring.
    """
    if kind not in ("gain", "loss"):
        raise ConfigError(f"kind must be 'gain' or 'loss', not {kind!r}")
    m = outcome_measure(caseload, measure)
    ev = events(series(caseload, m.key), caseload, m, kind=kind, cutoff=cutoff)
    ev = ev.select(*EVENT_COLUMNS[:-2])
    by_time = ibis.window(group_by="episode_id", order_by="pregain_session")
    by_size = ibis.window(group_by="episode_id",
                          order_by=[ibis.desc("magnitude"), "pregain_session"])
    ev = ev.mutate(first=ibis.row_number().over(by_time) == 0,
                   largest=ibis.row_number().over(by_size) == 0)
    return ev.select(*EVENT_COLUMNS).order_by(["episode_id", "pregain_session"])


def episode_gain_stats(events: ir.Table) -> ir.Table:
    """Per episode with at least one event of :func:`sudden_events`: what a summary adds up.

    Returns
    -------
    ir.Table
        ``episode_id, therapist_id, measure, kind, gains`` (events in the episode),
        ``has_multiple`` (more than one), ``reversals`` (reversed events),
        ``magnitude_sum, magnitude_sumsq`` (Σ magnitude and Σ magnitude², points and
        points²), so that any grouping (therapist, practice) sums them.
    """
    e = events
    return e.group_by(["episode_id", "therapist_id", "measure", "kind"]).aggregate(
        gains=e.count(),
        has_multiple=e.count() > 1,
        reversals=e.reversal.cast("int64").sum(),
        magnitude_sum=e.magnitude.sum(),
        magnitude_sumsq=(e.magnitude * e.magnitude).sum(),
    )


#: A sudden loss is a case to discuss (domain.md §7) when it is "in the last 3 scored
#: sessions": its postgain session (the worse score) is one of the episode's last 3 sessions
#: scored on the measure, as an alliance drop counts on one of the last 3 rated sessions.
#: (Criterion 3 needs a score after the postgain one, so that is the 3rd- or 2nd-last.)
RECENT_SCORED = 3


def recent_losses(ev: ir.Table) -> ir.BooleanValue:
    """Whether each row of :func:`events` is in the episode's last :data:`RECENT_SCORED`
    scored sessions (meant for ``kind="loss"``; the sessions as of the window's end)."""
    return ev.postgain_scored > ev.n_scored - RECENT_SCORED


def _mean_sd(n: int, total: float, sumsq: float) -> tuple[float | None, float | None]:
    """Mean and sample SD (ddof = 1) from a count, a sum and a sum of squares."""
    if n == 0:
        return None, None
    mean = total / n
    if n < 2:
        return mean, None
    return mean, math.sqrt(max(0.0, (sumsq - total * total / n) / (n - 1)))


def summarise(events_or_stats: ir.Table, by: str | None = None) -> pd.DataFrame:
    """The §9 summary of sudden gains (or losses): ``gains, episodes_with_gain,
    episodes_with_multiple, reversals, magnitude_mean, magnitude_sd``.

    Parameters
    ----------
    events_or_stats
        The table of :func:`sudden_events` or of :func:`episode_gain_stats`.
    by
        None (one row, every episode of the table) or ``"therapist_id"`` (one row per
        therapist with at least one event; a therapist absent from the result has 0 of
        everything and null magnitudes).

    Returns
    -------
    pandas.DataFrame
        ``[therapist_id,] gains, episodes_with_gain, episodes_with_multiple, reversals``
        (counts) and ``magnitude_mean, magnitude_sd`` (points; the SD is the sample SD,
        None with fewer than 2 events, the mean None with none), as ``describe_sg`` of the
        package reports them.
    """
    if by not in (None, "therapist_id"):
        raise ConfigError(f"summarise groups by None or 'therapist_id', not {by!r}")
    st = events_or_stats
    if "pregain_session" in st.columns:
        st = episode_gain_stats(st)
    aggs = {
        "gains": st.gains.sum(), "episodes_with_gain": st.count(),
        "episodes_with_multiple": st.count(where=st.has_multiple),
        "reversals": st.reversals.sum(), "_sum": st.magnitude_sum.sum(),
        "_sumsq": st.magnitude_sumsq.sum(),
    }
    if by is None:
        df = st.aggregate(**aggs).execute()
    else:
        df = st.group_by(by).aggregate(**aggs).order_by(by).execute()
    counts = ["gains", "episodes_with_gain", "episodes_with_multiple", "reversals"]
    df[counts] = df[counts].fillna(0).astype("int64")
    stats = [_mean_sd(int(g), float(s or 0), float(q or 0))
             for g, s, q in zip(df["gains"], df["_sum"].fillna(0), df["_sumsq"].fillna(0),
                                strict=True)]
    df["magnitude_mean"] = pd.Series([a for a, _ in stats], index=df.index, dtype="object")
    df["magnitude_sd"] = pd.Series([b for _, b in stats], index=df.index, dtype="object")
    return df[[*([by] if by else []), *SUMMARY_KEYS]]


__all__ = [
    "ALPHA", "AROUND", "CRITICAL_T", "EVENT_COLUMNS", "MIN_SCORES", "PCT", "RECENT_SCORED",
    "SUMMARY_KEYS",
    "around", "default_measure", "episode_gain_stats", "events", "fixed_cutoff",
    "outcome_measure", "recent_losses",
    "series", "sudden_events", "summarise",
]
