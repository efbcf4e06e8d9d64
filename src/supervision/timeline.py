"""One episode on one screen: the case timeline (domain.md §12), computed, never drawn.

What a supervisor and a therapist look at when they open a case: session by session, the
attendance, the alliance on each measure with its concern line, the outcome scores against
the practice's expected-response band (§11), the ruptures flagged and the alliance drops
with their repair (§4), and the sudden gains and losses (§10).  Every rule comes from the
clinical module that owns it (:func:`~supervision.clinical.ruptures.rupture_events`,
:func:`~supervision.clinical.sudden_gains.sudden_events`,
:func:`~supervision.clinical.expected.expected_bands`); this module only picks one episode
out of them and lines everything up on one axis.

The axis
    ``session``: the episode's scheduled sessions (every row of ``sessions``, attended or
    not) numbered from 1 in ``session_date`` then ``source_row`` order.  Alliance ratings and
    outcome scores sit at the session they were given in; a sudden gain numbered among the
    attended sessions (§10), a band's *k*-th scored session (§11) and a repair *k* rated
    sessions after a drop (§4) are all moved onto that axis.

Scope
    The episode id is looked up **in the caseload given** and nowhere else: on a therapist's
    server, or in a caseload scoped to one therapist, another therapist's episode is
    :class:`EpisodeNotFound` ("not in this caseload") whatever id is asked for.  Only the
    pseudonymous episode and therapist ids leave this module (no client id).

Expected-response bands
    Need the practice's history.  Where they may come from is a privacy decision, taken by
    whoever builds the view and passed as ``bands`` (a :class:`Bands` member, a mapping of
    bands, or None), never a string or state found on the caseload.
    ``bands=FROM_PRACTICE_HISTORY`` computes them from the
    caseload's root as of its window's end, leaving the episode itself out of its own
    reference (§11: "an episode is never its own reference").  A therapist's server holds
    only that therapist's rows: there the bands are the ones the server handed over with the
    practice aggregates (:func:`~supervision.clinical.expected.handed_bands`), never computed
    from the rows the kernel holds.  ``bands=None`` says the band is not available.

Figures are prompts for reflection in supervision, never verdicts.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import ibis
import numpy as np
import pandas as pd

from supervision.caseload import Caseload
from supervision.clinical import expected, ruptures, sudden_gains
from supervision.errors import ConfigError, ScopeError
from supervision.figures import cases_to_discuss
from supervision.measures import Measure


class Bands(enum.Enum):
    """Where a case timeline's expected-response bands may come from (the ``bands=`` switch
    of :func:`case_timeline`; a mapping of bands or None are the other choices)."""

    #: The caseload's root as of the window's end (a full server; on a caseload that was
    #: handed bands, :attr:`~supervision.caseload.Caseload.handed`, those instead).
    PRACTICE_HISTORY = "practice history"
    #: Only the bands the server handed over, never any computed from the caseload's rows
    #: (none handed over: not available).  A therapist's own view.
    HANDED_OVER = "handed over"


FROM_PRACTICE_HISTORY = Bands.PRACTICE_HISTORY
HANDED_OVER = Bands.HANDED_OVER
NOT_ENOUGH_HISTORY = "not enough history yet"
BANDS_UNAVAILABLE = "not available on a therapist's own server yet"
#: Percentile pairs of the two bands, in the direction of improvement (expected.py).
BAND_PAIRS = ((10, 90), (25, 75))
ORDER = ("session_date", "source_row")
ATTENDANCE = ("attended", "cancelled", "no_show")

SESSION_COLUMNS = ("session", "session_date", "attendance", "attended_index")
ALLIANCE_COLUMNS = ("measure", "session", "session_date", "rated_index", "value")
OUTCOME_COLUMNS = (
    "measure", "session", "session_date", "scored_index", "score", "change",
    *(f"p{p}" for p in expected.PERCENTILES), "band_n", "band_width",
)
RUPTURE_COLUMNS = (
    "session", "session_date", "kind", "rupture_type", "measure", "drop_points", "repaired",
    "sessions_to_repair", "repair_session",
)
CRITICAL_COLUMNS = ("measure", "item", "session", "session_date", "value")
ITEM_COLUMNS = ("measure", "item", "session", "session_date", "rated_index", "value")
SUDDEN_COLUMNS = (
    "measure", "kind", "pregain_session", "postgain_session", "pregain_score",
    "postgain_score", "magnitude", "reversal",
)


class EpisodeNotFound(ScopeError):
    """The episode id is not in the caseload given (another therapist's, or none at all)."""


@dataclass(frozen=True)
class Timeline:
    """One episode's timeline: tidy frames on the shared ``session`` axis.

    Attributes
    ----------
    episode_id, therapist_id
        Pseudonyms (nothing else identifies the client).
    start_date, end_date, termination
        From ``episodes`` as of the window's end (``end_date`` None while ongoing).
    sessions
        ``session, session_date, attendance, attended_index`` (NaN when not attended).
    alliance
        ``measure, session, session_date, rated_index, value``: each rated session.
    outcomes
        ``measure, session, session_date, scored_index, score, change`` (from intake, in
        points) and the band at that scored session **as scores** (``p10`` … ``p90``:
        intake + the §11 percentile of change, percentiles in the direction of improvement,
        so ``p10`` is the score 1 in 10 comparable clients did no better than), ``band_n``
        (reference episodes, ≥ 30) and ``band_width`` (intake ± points); NaN without a band.
    band_notes
        Outcome measure -> "" when its band is shown throughout, else why not (all or part).
    ruptures
        ``session, session_date, kind`` (``flagged``/``drop``), ``rupture_type, measure,
        drop_points, repaired, sessions_to_repair`` (attended sessions for flagged, rated
        sessions for drops, §4) and ``repair_session`` (on the axis; NaN if not repaired).
    sudden
        ``measure, kind`` (``gain``/``loss``), ``pregain_session, postgain_session`` (on the
        axis), ``pregain_score, postgain_score, magnitude`` (points), ``reversal``.
    reasons
        The episode's §7 reason codes if it is a case to discuss (else empty).
    critical
        ``measure, item, session, session_date, value``: each attended session with a
        critical item score (PHQ-9 item 9, 0–3; §7 ``risk_item`` when above 0 at the latest
        scored session of its measure).
    items
        ``measure, item, session, session_date, rated_index, value``: the alliance measure's
        items (SRS) or subscales (WAI-SR) on each rated session that has them.
    measures
        Measure key -> registry entry, for every measure with a value in the episode.
    """

    episode_id: str
    therapist_id: str
    start_date: dt.date | None
    end_date: dt.date | None
    termination: str
    sessions: pd.DataFrame
    alliance: pd.DataFrame
    outcomes: pd.DataFrame
    band_notes: dict[str, str]
    ruptures: pd.DataFrame
    sudden: pd.DataFrame
    reasons: tuple[str, ...] = ()
    measures: dict[str, Measure] = field(default_factory=dict)
    critical: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(columns=list(CRITICAL_COLUMNS)))
    items: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(columns=list(ITEM_COLUMNS)))

    @property
    def risk_sessions(self) -> list[int]:
        """Sessions (on the axis) whose critical item is above 0."""
        c = self.critical
        return sorted(int(x) for x in c.loc[c["value"].astype(float) > 0, "session"])

    @property
    def alliance_measures(self) -> list[str]:
        """Alliance measures with a rating in the episode, in registry order."""
        return [k for k, m in self.measures.items() if m.kind == "alliance"]

    @property
    def outcome_measures(self) -> list[str]:
        """Outcome measures with a score in the episode, in registry order."""
        return [k for k, m in self.measures.items() if m.kind == "outcome"]


# ============================================================================ choosing a case
def episode_choices(cl: Caseload, listed: Sequence[str] = ()) -> list[str]:
    """The episode ids a picker offers: ``listed`` (the cases to discuss) first, then the
    caseload's other episodes, open ones before ended ones, each group sorted."""
    e = cl.episodes.select("episode_id", "termination").execute()
    e = e.assign(_ended=e["termination"] != "ongoing").sort_values(["_ended", "episode_id"])
    ids = [str(x) for x in e["episode_id"]]
    first = [str(x) for x in listed if str(x) in set(ids)]
    return first + [x for x in ids if x not in set(first)]


def _episode_row(cl: Caseload, episode_id: str) -> dict[str, Any]:
    """The episode's row **of this caseload**, or :class:`EpisodeNotFound`."""
    e = cl.episodes
    df = e.filter(e.episode_id == ibis.literal(episode_id, type="string")).execute()
    if df.empty:
        raise EpisodeNotFound(
            f"episode {episode_id!r} is not in this caseload: pick one of the episodes listed "
            "here (a caseload shows only its own therapist's episodes in its date range)"
        )
    return df.iloc[0].to_dict()


def _one(cl: Caseload, episode_id: str) -> Caseload:
    """``cl`` cut down to one episode (all of its sessions in view, same root and cut)."""
    lit = ibis.literal(episode_id, type="string")
    s, e = cl.sessions, cl.episodes
    return replace(cl, sessions=s.filter(s.episode_id == lit),
                   episodes=e.filter(e.episode_id == lit))


# ============================================================================ the session axis
def _session_rows(one: Caseload) -> pd.DataFrame:
    """The episode's scheduled sessions with every measure column, numbered on the axis."""
    have = set(one.sessions.columns)
    keys = [m.key for m in one.registry.values() if m.key in have]
    parts = [c for m in one.registry.values()
             for c in (*m.part_columns, *m.critical_columns) if c in have and c not in keys]
    cols = ["session_date", "source_row", "attendance", *keys, *dict.fromkeys(parts)]
    df = one.sessions.select(*cols).execute()
    df = df.sort_values(list(ORDER), ignore_index=True)
    df["session"] = np.arange(1, len(df) + 1)
    attended = df["attendance"] == "attended"
    df["attended_index"] = np.where(attended, attended.cumsum(), np.nan)
    return df


def _series(rows: pd.DataFrame, key: str, index: str) -> pd.DataFrame:
    """Attended sessions with a value on ``key``, numbered 1.. as ``index`` (§3 rated, §11
    scored sessions: attended, with a value, in session order)."""
    r = rows[(rows["attendance"] == "attended") & rows[key].notna()]
    r = r[["session", "session_date", key]].rename(columns={key: "value"})
    r = r.assign(measure=key, **{index: np.arange(1, len(r) + 1)})
    return r.astype({"value": "float64"}).reset_index(drop=True)


def _alliance(rows: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    parts = [_series(rows, k, "rated_index") for k in keys]
    df = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
    return df.reindex(columns=list(ALLIANCE_COLUMNS))


def _critical(rows: pd.DataFrame, one: Caseload) -> pd.DataFrame:
    """Attended sessions with a critical item score (PHQ-9 item 9), on the axis."""
    att = rows[rows["attendance"] == "attended"]
    parts = [att.loc[att[c].notna(), ["session", "session_date", c]]
             .rename(columns={c: "value"}).assign(measure=m.key, item=c)
             for c, m in one.registry.critical_items.items() if c in rows.columns]
    parts = [p for p in parts if not p.empty]
    if not parts:
        return pd.DataFrame(columns=list(CRITICAL_COLUMNS))
    df = pd.concat(parts, ignore_index=True).astype({"value": "float64"})
    return df.reindex(columns=list(CRITICAL_COLUMNS))


def _items(rows: pd.DataFrame, alliance: pd.DataFrame, measures: dict[str, Measure]
           ) -> pd.DataFrame:
    """The items or subscales of each alliance measure on its rated sessions, long form."""
    parts = []
    for k, m in measures.items():
        if m.kind != "alliance":
            continue
        rated = alliance[alliance["measure"] == k][["session", "rated_index"]]
        r = rows.merge(rated, on="session")
        for c in m.part_columns:
            if c in r.columns and r[c].notna().any():
                one = r.loc[r[c].notna(), ["session", "session_date", "rated_index", c]]
                parts.append(one.rename(columns={c: "value"}).assign(measure=k, item=c))
    if not parts:
        return pd.DataFrame(columns=list(ITEM_COLUMNS))
    df = pd.concat(parts, ignore_index=True).astype({"value": "float64"})
    return df.reindex(columns=list(ITEM_COLUMNS))


# ============================================================================ ruptures
def _repair_session(ev: pd.Series, rows: pd.DataFrame, alliance: pd.DataFrame) -> float:
    """Where a repaired rupture's repair is on the axis: ``sessions_to_repair`` attended
    sessions on (flagged) or rated sessions on its measure (drop), §4."""
    k = ev["sessions_to_repair"]
    if not ev["repaired"] or pd.isna(k):
        return np.nan
    if ev["kind"] == "flagged":
        at = rows.loc[rows["attended_index"] == ev["_attended"] + k, "session"]
    else:
        a = alliance[alliance["measure"] == ev["measure"]]
        here = a.loc[a["session"] == ev["session"], "rated_index"]
        at = a.loc[a["rated_index"] == (here.iloc[0] + k if len(here) else -1), "session"]
    return float(at.iloc[0]) if len(at) else np.nan


def _ruptures(one: Caseload, rows: pd.DataFrame, alliance: pd.DataFrame) -> pd.DataFrame:
    ev = ruptures.rupture_events(one).execute()
    if ev.empty:
        return pd.DataFrame(columns=list(RUPTURE_COLUMNS))
    ev = ev.merge(rows[["source_row", "session"]], on="source_row", how="inner")
    ev = ev.rename(columns={"attended_index": "_attended"}).sort_values("session")
    ev["repair_session"] = [_repair_session(r, rows, alliance) for _, r in ev.iterrows()]
    ev["repaired"] = ev["repaired"].astype(bool)
    return ev.reindex(columns=list(RUPTURE_COLUMNS)).reset_index(drop=True)


# ============================================================================ sudden gains
def _sudden(cl: Caseload, episode_id: str, keys: list[str], rows: pd.DataFrame
            ) -> tuple[pd.DataFrame, dict[str, str]]:
    """§10 gains and losses of the episode on each outcome measure (computed over ``cl``, the
    scope, then filtered to the episode; one query), moved onto the axis; notes for measures
    whose cut-off cannot be set."""
    parts, notes = [], {}
    for key in keys:
        for kind in ("gain", "loss"):
            try:
                parts.append(sudden_gains.sudden_events(cl, measure=key, kind=kind))
            except ConfigError as exc:
                notes[key] = str(exc)
    if not parts:
        return pd.DataFrame(columns=list(SUDDEN_COLUMNS)), notes
    t = ibis.union(*parts) if len(parts) > 1 else parts[0]
    df = t.filter(t.episode_id == ibis.literal(episode_id, type="string")).execute()
    if df.empty:
        return pd.DataFrame(columns=list(SUDDEN_COLUMNS)), notes
    axis = rows.dropna(subset=["attended_index"]).set_index("attended_index")["session"]
    for c in ("pregain_session", "postgain_session"):
        df[c] = df[c].astype(float).map(axis)
    df["reversal"] = df["reversal"].astype(bool)
    df = df.sort_values(["measure", "pregain_session", "kind"])
    return df.reindex(columns=list(SUDDEN_COLUMNS)).reset_index(drop=True), notes


# ============================================================================ expected bands
BandSource = Bands | Mapping[str, pd.DataFrame] | None


def _check_bands(bands: object) -> None:
    if bands is None or isinstance(bands, Bands | Mapping):
        return
    raise TypeError(f"bands={bands!r}: give a timeline.Bands member (PRACTICE_HISTORY or "
                    "HANDED_OVER), a mapping measure -> bands, or None")


def _history_bands(cl: Caseload, one: Caseload, episode_id: str, key: str) -> pd.DataFrame:
    """§11 bands from the practice's history as of the window's end, the episode left out of
    its own reference: the root without it is the reference, the episode the one judged."""
    root, lit = cl.root, ibis.literal(episode_id, type="string")
    others = replace(root, sessions=root.sessions.filter(root.sessions.episode_id != lit),
                     episodes=root.episodes.filter(root.episodes.episode_id != lit), _root=None)
    judged = replace(one, episodes=one.episodes.mutate(termination=ibis.literal("ongoing")),
                     _root=others)
    return expected.expected_bands(judged, measure=key)


def _band_for(series: pd.DataFrame, bands: pd.DataFrame | None) -> pd.DataFrame:
    """The band rows of the episode's intake, as scores, on its scored sessions."""
    cols = [f"p{p}" for p in expected.PERCENTILES]
    out = series.assign(**dict.fromkeys([*cols, "band_n", "band_width"], np.nan))
    if bands is None or bands.empty or series.empty:
        return out
    x = float(series["value"].iloc[0])
    b = bands[np.isclose(bands["intake"].astype(float), x)].set_index("session")
    for c in cols:
        out[c] = out["scored_index"].map(b[c].astype(float)) + x
    out["band_n"] = out["scored_index"].map(b["n"].astype(float))
    out["band_width"] = out["scored_index"].map(b["width"].astype(float))
    return out


def _band_note(out: pd.DataFrame, available: bool) -> str:
    if not available:
        return f"expected-response band {BANDS_UNAVAILABLE}"
    if len(out) < 2:
        return "only the intake score so far: the band starts at the second score"
    has = out.loc[out["scored_index"] >= 2, "band_n"].notna()
    if not has.any():
        return f"expected-response band: {NOT_ENOUGH_HISTORY}"
    if not has.all():
        last = int(out.loc[out["band_n"].notna(), "scored_index"].max())
        return (f"band shown to scored session {last}; after it, fewer than "
                f"{expected.MIN_REFERENCE} comparable episodes: {NOT_ENOUGH_HISTORY}")
    return ""


def _outcomes(cl: Caseload, one: Caseload, episode_id: str, rows: pd.DataFrame,
              keys: list[str], bands: BandSource) -> tuple[pd.DataFrame, dict[str, str]]:
    parts, notes = [], {}
    for key in keys:
        series = _series(rows, key, "scored_index")
        found: pd.DataFrame | None = None
        if isinstance(bands, Bands):
            found = expected.handed_bands(cl, measure=key)
            if found is None and bands is Bands.PRACTICE_HISTORY:  # a full server
                found = _history_bands(cl, one, episode_id, key)
        elif isinstance(bands, Mapping):
            found = bands.get(key)
        out = _band_for(series, found).rename(columns={"value": "score"})
        out["change"] = out["score"] - out["score"].iloc[0]
        notes[key] = _band_note(out, found is not None)
        parts.append(out)
    df = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
    return df.reindex(columns=list(OUTCOME_COLUMNS)), notes


# ============================================================================ the timeline
def _present(rows: pd.DataFrame, one: Caseload) -> dict[str, Measure]:
    attended = rows["attendance"] == "attended"
    return {m.key: m for m in one.registry.values()
            if m.key in rows.columns and rows.loc[attended, m.key].notna().any()}


def _date(v: object) -> dt.date | None:
    return None if v is None or pd.isna(v) else pd.Timestamp(v).date()


def case_timeline(caseload: Caseload, episode_id: object, *,
                  bands: BandSource = FROM_PRACTICE_HISTORY,
                  listed: pd.DataFrame | None = None) -> Timeline:
    """The timeline of one episode **of** ``caseload`` (see the module docstring).

    Parameters
    ----------
    caseload
        The caseload in view (a therapist and a window): the episode must be one of its own.
    episode_id
        The pseudonymous episode id, as typed or picked (any other value is not found).
    bands
        :attr:`Bands.PRACTICE_HISTORY` (the root's history, or on a therapist's server the
        bands handed over), :attr:`Bands.HANDED_OVER` (those only), bands given as a mapping
        measure -> :func:`~supervision.clinical.expected.expected_bands` frame, or None (not
        available).  Anything else (a string): ``TypeError``.
    listed
        :func:`~supervision.figures.cases_to_discuss` of ``caseload`` if already computed (the
        episode's reasons are read from it), else read from ``caseload``'s per-episode table.

    Raises
    ------
    EpisodeNotFound
        The id is not an episode of ``caseload`` (a :class:`~supervision.errors.ScopeError`).
    """
    _check_bands(bands)
    eid = episode_id.strip() if isinstance(episode_id, str) else ""
    if not eid:
        raise EpisodeNotFound("no episode chosen: pick an episode id from the list")
    row = _episode_row(caseload, eid)
    one = _one(caseload, eid)
    rows = _session_rows(one)
    measures = _present(rows, one)
    a_keys = [k for k, m in measures.items() if m.kind == "alliance"]
    o_keys = [k for k, m in measures.items() if m.kind == "outcome"]
    alliance = _alliance(rows, a_keys)
    outcomes, notes = _outcomes(caseload, one, eid, rows, o_keys, bands)
    sudden, sudden_notes = _sudden(caseload, eid, o_keys, rows)
    for k, v in sudden_notes.items():
        notes[k] = "; ".join(x for x in (notes.get(k), f"sudden gains: {v}") if x)
    listed = cases_to_discuss(caseload) if listed is None else listed
    listed = listed[listed["episode_id"].astype(str) == eid]
    return Timeline(
        episode_id=eid, therapist_id=str(row["therapist_id"]),
        start_date=_date(row.get("start_date")), end_date=_date(row.get("end_date")),
        termination=str(row.get("termination") or "ongoing"),
        sessions=rows.reindex(columns=list(SESSION_COLUMNS)),
        alliance=alliance, outcomes=outcomes, band_notes=notes,
        ruptures=_ruptures(one, rows, alliance), sudden=sudden,
        reasons=tuple(listed["reasons"].iloc[0]) if len(listed) else (),
        measures=measures, critical=_critical(rows, one),
        items=_items(rows, alliance, measures),
    )


__all__ = [
    "BANDS_UNAVAILABLE", "FROM_PRACTICE_HISTORY", "HANDED_OVER", "NOT_ENOUGH_HISTORY", "Bands",
    "EpisodeNotFound", "Timeline", "case_timeline", "episode_choices",
]
