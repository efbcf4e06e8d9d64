"""What the dashboards show, computed from a :class:`~supervision.Caseload` (no drawing here).

Everything comes from the metric modules (``alliance``, ``ruptures``, ``termination``,
``outcomes``, ``neurotype``, ``cases``); this module only picks the measures, packs the
headline figures and turns the practice's anonymous aggregates into JSON and back (the
therapist-scoped server hands them to its kernel as a file, so that kernel never holds
another therapist's rows).
"""

from __future__ import annotations

import datetime as dt
import json
import math
from dataclasses import replace
from typing import Any

import pandas as pd

from supervision import episodes, figures
from supervision.caseload import Caseload
from supervision.clinical import alliance, breakdown, completeness, ruptures, termination
from supervision.measures import PAIRED
from supervision.privacy import suppress_groups
from supervision.schema import TERMINATION
from supervision.windowcache import PracticeAggregates, ScopeRow, TherapistHeadlines


def alliance_measure(cl: Caseload) -> str | None:
    """The alliance measure the trend views use (:meth:`Registry.default_alliance`)."""
    return cl.registry.default_alliance(cl.measures_present())


def outcome_measure(cl: Caseload) -> str | None:
    """The outcome measure of the headline (:meth:`Registry.default_outcome`)."""
    return cl.registry.default_outcome(cl.measures_present())


def measure_name(cl: Caseload, key: str | None) -> str:
    """Display name of a measure key (the paired rule has its own)."""
    if key is None:
        return "no measure"
    if key == PAIRED:
        return "PHQ-9 + GAD-7 (NHS Talking Therapies rule)"
    return cl.registry[key].name


def _clean(v: Any) -> Any:
    if v is None:
        return None
    if isinstance(v, bool):
        return v
    if isinstance(v, (list, tuple)):
        return [_clean(x) for x in v]
    if isinstance(v, (dt.date, pd.Timestamp)):
        return str(v)[:10]
    try:
        f = float(v)
    except (TypeError, ValueError):
        return v
    if math.isnan(f):
        return None
    return int(f) if float(f).is_integer() and not isinstance(v, float) else f


def row(df: pd.DataFrame | None) -> dict[str, Any] | None:
    """The first row of a one-row summary as a plain dict (NaN -> None), or None if empty."""
    if df is None or df.empty:
        return None
    return {k: _clean(v) for k, v in df.iloc[0].items()}


def _fig(value: Any, low: Any = None, high: Any = None, n: Any = None, **extra: Any) -> dict:
    return {
        "value": _clean(value),
        "low": _clean(low),
        "high": _clean(high),
        "n": _clean(n),
        **extra,
    }


_RUPTURE_KEYS = ("flagged", "drop", "count", "repaired", "per_100_sessions", "repair_rate",
                 "repair_rate_low", "repair_rate_high", "unrepaired_at_end")
_TERMINATION_KEYS = ("episodes", "ended", *TERMINATION, "dropout_rate", "dropout_rate_low",
                     "dropout_rate_high", "intake_only", "intake_only_rate",
                     "sessions_attended")


def _scope_row(cl: Caseload) -> dict[str, Any]:
    """The scope's row of :func:`supervision.figures.scope_figures` (NaN -> None), once per
    caseload object (the rupture and termination rows share it)."""
    return cl.memo(ScopeRow("figures"), lambda: row(figures.scope_figures(cl, by=None)) or {})


def rupture_row(cl: Caseload) -> dict[str, Any] | None:
    """The scope's rupture figures (§4) as a dict, once per caseload object: the row of the
    figures table (the headline's own numbers) with ``attended_sessions`` and the median
    ``sessions_to_repair`` over the window's repaired ruptures
    (:func:`~supervision.clinical.ruptures.rupture_events`)."""
    def build() -> dict[str, Any]:
        f = _scope_row(cl)
        ev = ruptures.rupture_events(cl)
        med = ev.aggregate(m=ev.sessions_to_repair.cast("float64").median(where=ev.repaired))
        return {**{k: f.get(k) for k in _RUPTURE_KEYS},
                "attended_sessions": f.get("sessions_attended"),
                "sessions_to_repair": _clean(med.to_pyarrow().to_pylist()[0]["m"])}
    return cl.memo(ScopeRow("ruptures"), build)


def termination_row(cl: Caseload) -> dict[str, Any] | None:
    """The scope's termination figures (§5) as a dict: the row of the figures table."""
    return cl.memo(ScopeRow("termination"),
                   lambda: {k: _scope_row(cl).get(k) for k in _TERMINATION_KEYS})


def _scope_rows(df: pd.DataFrame, alliance_key: str | None,
                outcome_key: str | None) -> list[tuple[dict, dict, dict | None, dict | None]]:
    """The summary rows :func:`_headline` packs, for each row of
    :func:`supervision.figures.scope_figures` (whole columns, no per-row pandas access)."""
    def vals(c: str, zero: Any = None) -> list[Any]:
        if c not in df.columns:
            return [zero] * len(df)
        return [_clean(v) for v in df[c].tolist()]

    def pack(names: dict[str, str], zero: dict[str, Any] | None = None) -> list[dict]:
        cols = {k: vals(c, (zero or {}).get(k)) for k, c in names.items()}
        return [dict(zip(cols, v, strict=True)) for v in zip(*cols.values(), strict=True)]

    rate = ("", "_low", "_high")
    term = pack({"episodes": "episodes", "ended": "ended",
                 **{f"dropout_rate{x}": f"dropout_rate{x}" for x in rate}})
    rup = pack({"attended_sessions": "sessions_attended", "count": "count",
                **{f"repair_rate{x}": f"repair_rate{x}" for x in rate}})
    a: list[dict | None] = [None] * len(df)
    if alliance_key:
        a = pack({"episodes": episodes.col(alliance_key, "episodes"),
                  **{f"early_mean{x}": episodes.col(alliance_key, f"early_mean{x}")
                     for x in rate}}, {"episodes": 0})
    o: list[dict | None] = [None] * len(df)
    if outcome_key:
        o = pack({"paired": episodes.col(outcome_key, "paired"),
                  **{f"reliable_improvement_rate{x}":
                     episodes.col(outcome_key, f"reliable_improvement_rate{x}") for x in rate}},
                 {"paired": 0})
    return list(zip(term, rup, a, o, strict=True))


def sudden_keys(outcome_key: str | None) -> tuple[str, ...]:
    """The outcome measures whose sudden gains go with the headline's outcome measure:
    PHQ-9 and GAD-7 for the paired rule (not one scale, §10), else the measure itself."""
    if outcome_key is None:
        return ()
    return ("phq9", "gad7") if outcome_key == PAIRED else (outcome_key,)


def _name(cl: Caseload, key: str) -> str:
    return cl.registry[key].name if key in cl.registry else key


def _measurement_rows(df: pd.DataFrame, outcome_key: str | None,
                      names: dict[str, str]) -> list[dict[str, dict]]:
    """Per row of :func:`supervision.figures.scope_figures`: the headline's completeness
    shares (§12, ``k`` of ``n`` with ``below_floor``) and sudden gains and losses (§10,
    ``sudden__<o>``: ``value`` the gains, ``n`` the episodes with enough scores)."""
    def vals(c: str, zero: Any = None) -> list[Any]:
        return [_clean(v) for v in df[c].tolist()] if c in df.columns else [zero] * len(df)

    out: list[dict[str, dict]] = [{} for _ in range(len(df))]
    for share, (num, den) in completeness.SHARES.items():
        for d, v, k, n in zip(out, vals(share), vals(num, 0), vals(den, 0), strict=True):
            d[share] = _fig(v, n=n, k=k, below_floor=bool(completeness.below_floor({share: v})))
    for o in sudden_keys(outcome_key):
        g, lo = episodes.col(o, "gain"), episodes.col(o, "loss")
        cols = zip(vals(f"{g}__gains", 0), vals(episodes.col(o, "sudden_episodes"), 0),
                   vals(f"{g}__episodes_with_gain", 0), vals(f"{g}__reversals", 0),
                   vals(f"{lo}__gains", 0), vals(f"{lo}__episodes_with_gain", 0),
                   vals(f"{lo}__reversals", 0), strict=True)
        for d, (gains, n, eg, rev, losses, el, lrev) in zip(out, cols, strict=True):
            d[f"sudden__{o}"] = _fig(gains, n=n, episodes_with_gain=eg, reversals=rev,
                                     losses=losses, loss_episodes=el, loss_reversals=lrev,
                                     measure=names.get(o, o))
    return out


def headline(cl: Caseload, *, alliance_key: str | None, outcome_key: str | None) -> dict:
    """The six headline figures of a (scoped) caseload, each with its n and interval, and
    its measurement completeness and sudden gains (:func:`_measurement_rows`): one aggregate
    of its per-episode table (:func:`supervision.figures.scope_figures`)."""
    df = figures.scope_figures(cl, by=None)
    t, r, a, o = _scope_rows(df, alliance_key, outcome_key)[0]
    names = {k: _name(cl, k) for k in sudden_keys(outcome_key)}
    more = _measurement_rows(df, outcome_key, names)[0]
    return _headline(t, r, a, o, alliance_key=alliance_key, outcome_key=outcome_key) | more


def _interval_fig(r: dict, key: str, n_key: str, **extra: Any) -> dict[str, Any]:
    """:func:`_fig` of the summary row's ``key`` with its ``key_low``/``key_high`` interval
    and the n in ``n_key``."""
    return _fig(r.get(key), r.get(f"{key}_low"), r.get(f"{key}_high"), r.get(n_key), **extra)


def _headline(term: dict, rup: dict, a: dict | None, o: dict | None, *,
              alliance_key: str | None, outcome_key: str | None) -> dict:
    """Pack the summary rows of one scope into the headline figures."""
    out: dict[str, Any] = {
        "episodes": _fig(term.get("episodes"), n=term.get("episodes")),
        "sessions": _fig(rup.get("attended_sessions")),
        "repair_rate": _interval_fig(rup, "repair_rate", "count"),
        "dropout_rate": _interval_fig(term, "dropout_rate", "ended"),
    }
    if alliance_key:
        out["early_alliance"] = _interval_fig(
            a or {}, "early_mean", "episodes", measure=alliance_key.upper().replace("_", "-"))
    if outcome_key:
        out["reliable_improvement_rate"] = _interval_fig(
            o or {}, "reliable_improvement_rate", "paired",
            measure="PHQ-9 + GAD-7" if outcome_key == PAIRED else outcome_key.upper())
    return out


def headlines_by_therapist(
    cl: Caseload, *, alliance_key: str | None, outcome_key: str | None
) -> dict[str, dict]:
    """:func:`headline` of every therapist of ``cl`` at once: two aggregate queries
    (:func:`supervision.figures.scope_figures`).

    Equal to ``headline(cl.scoped(therapist_id=t))`` for each therapist ``t`` with episodes
    in ``cl`` (every figure is an aggregate of per-episode figures, which do not depend on
    the grouping; tested).  Therapists without episodes are left out.  Never handed to a
    therapist-scoped kernel: it names every therapist.
    """
    by = "therapist_id"
    df = figures.scope_figures(cl, by=by)
    ids = [str(x) for x in df[by].tolist()]
    names = {k: _name(cl, k) for k in sudden_keys(outcome_key)}
    rows = zip(ids[1:], _scope_rows(df, alliance_key, outcome_key)[1:],
               _measurement_rows(df, outcome_key, names)[1:], strict=True)
    return {
        tid: _headline(t, r, a, o, alliance_key=alliance_key, outcome_key=outcome_key) | more
        for tid, (t, r, a, o), more in rows
        if t.get("episodes")
    }


#: The row of a breakdown by team that teams of fewer than ``min_cell`` therapists (and
#: therapists without a team, when fewer) are merged into (:func:`sudden_breakdown`).
MERGED_TEAMS = "other teams (few therapists each)"

#: The counts of a cell of :func:`sudden_breakdown` (its size: ``episodes``).
SUDDEN_CELL = ("episodes", "gains", "episodes_with_gain", "reversals", "losses",
               "loss_episodes", "loss_reversals")


def sudden_breakdown(cl: Caseload, *, outcome_key: str | None, min_cell: int,
                     by: str = "team") -> dict[str, list[dict[str, Any]]]:
    """Sudden gains and losses (§10) per value of ``by`` (a team): a breakdown below the
    practice, so small cells are suppressed (§8, :func:`supervision.privacy.suppress_groups`).

    One grouped aggregate of the per-episode table with ``by`` attached
    (:func:`supervision.clinical.breakdown.with_by`: episodes whose therapist has no row
    are in no group).  Per measure of :func:`sudden_keys`, one record per group, sorted:
    ``group`` (None: therapists without one), the :data:`SUDDEN_CELL` counts (``episodes``:
    those with enough scores, the cell's size) and ``suppressed``; a cell of 1 to
    ``min_cell`` − 1 episodes, and its complement, has every count None.  A team (a
    staff attribute) of fewer than ``min_cell`` therapists has no row of its own: it is in
    :data:`MERGED_TEAMS`, which is hidden whole when fewer than ``min_cell`` therapists
    stand behind it (:func:`supervision.clinical.breakdown.merge_few_staff`).
    """
    t = breakdown.with_by(cl, episodes.episode_table(cl), by)
    hide: set[str] = set()
    if by != "therapist_id" and by in cl.therapists.columns:
        # a row per value of a staff attribute is those therapists' own figures: values of
        # fewer than min_cell therapists (no team too) are merged, the merged row hidden
        # when it has fewer than min_cell therapists as well (the staff-row rule)
        t, hide = breakdown.merge_few_staff(t, by, min_cell=min_cell, label=MERGED_TEAMS,
                                            nulls=True)
    df = figures.scope_figures(cl, by=by, table=t).iloc[1:]

    def v(c: str) -> Any:
        return df[c].to_numpy() if c in df.columns else 0

    out = {}
    for o in sudden_keys(outcome_key):
        g, lo = episodes.col(o, "gain"), episodes.col(o, "loss")
        cells = pd.DataFrame({
            "group": [None if pd.isna(x) else str(x) for x in df[by].tolist()],
            "episodes": v(episodes.col(o, "sudden_episodes")), "gains": v(f"{g}__gains"),
            "episodes_with_gain": v(f"{g}__episodes_with_gain"),
            "reversals": v(f"{g}__reversals"), "losses": v(f"{lo}__gains"),
            "loss_episodes": v(f"{lo}__episodes_with_gain"),
            "loss_reversals": v(f"{lo}__reversals"),
        })
        # a merged row of too few therapists is a primary suppression whatever its count
        cells.loc[cells["group"].isin(list(hide)), "episodes"] = 1
        shown = suppress_groups(cells, min_cell=min_cell, keys=("group",))
        out[o] = [{"group": r["group"], "suppressed": bool(r["suppressed"]),
                   **{c: None if pd.isna(r[c]) else int(r[c]) for c in SUDDEN_CELL}}
                  for r in shown.to_dict("records")]
    return out


def practice_aggregates(cl: Caseload) -> dict[str, Any]:
    """Anonymous practice-wide aggregates for comparison panels (JSON-serialisable).

    Holds only counts, rates, means and their intervals over the whole caseload: no id,
    no row.  Keys: ``alliance_key``, ``outcome_key``, ``headline``, ``ruptures``,
    ``termination``, ``alliance_by_session``, ``alliance_by_quarter``, ``retention``.
    """
    a_key, o_key = alliance_measure(cl), outcome_measure(cl)
    frames: dict[str, pd.DataFrame | None] = {
        "alliance_by_session": alliance.alliance_by_session(cl, a_key) if a_key else None,
        "alliance_by_quarter": alliance.alliance_by_quarter(cl, a_key) if a_key else None,
        "retention": termination.retention(cl),
        # which SRS item / WAI-SR subscale drives a low or falling total (issue 25), k = 5
        **{f"alliance_items:{k}": alliance.item_drivers(cl, k)
           for k in cl.measures_present("alliance") if cl.registry[k].part_columns},
    }
    return {
        "alliance_key": a_key,
        "outcome_key": o_key,
        "window": [_clean(w) for w in cl.window],
        "headline": headline(cl, alliance_key=a_key, outcome_key=o_key),
        "ruptures": rupture_row(cl),
        "termination": termination_row(cl),
        **{k: _records(v) for k, v in frames.items()},
    }


def practice_for(cl: Caseload, since: dt.date | None, until: dt.date | None) -> dict[str, Any]:
    """:func:`practice_aggregates` of ``cl`` over ``[since, until]``, once per root caseload.

    Kept in the root's memo (as the JSON form, the same whether computed here or found
    there): the server's prepared copy (:mod:`supervision.io.prepared`) puts the default
    window's aggregates there, so a dashboard kernel does not compute them again.
    """
    def build() -> dict[str, Any]:
        scoped = cl.root.scoped(since=since, until=until).materialised()
        return json.loads(dumps(practice_aggregates(scoped)))

    return cl.root.memo(PracticeAggregates(since, until), build)


def scope_headline(own: Caseload, *, alliance_key: str | None, outcome_key: str | None) -> dict:
    """:func:`headline` of a therapist's scope, looked up where the server precomputed it.

    ``supervision serve`` saves :func:`headlines_by_therapist` of the dashboards' default
    window with its validated copy; a kernel then finds a therapist's headline in the root's
    memo instead of running its queries (a therapist change in that window).  Any other scope
    is computed by :func:`headline`.
    """
    key = TherapistHeadlines(*own.window, alliance_key, outcome_key)
    found = own.root.memoised(key) if own.therapist_scope is not None else None
    if isinstance(found, dict) and own.therapist_scope in found:
        return found[own.therapist_scope]
    return headline(own, alliance_key=alliance_key, outcome_key=outcome_key)


def _records(df: pd.DataFrame | None) -> list[dict[str, Any]] | None:
    if df is None:
        return None
    return [{k: _clean(v) for k, v in r.items()} for r in df.to_dict("records")]


def frame(aggregates: dict[str, Any], key: str) -> pd.DataFrame | None:
    """A frame stored in :func:`practice_aggregates` output, back as pandas (None -> NaN)."""
    recs = aggregates.get(key)
    if recs is None:
        return None
    return pd.DataFrame.from_records(recs).astype("object").infer_objects().fillna(float("nan"))


def dumps(aggregates: dict[str, Any]) -> str:
    """JSON text of the aggregates (strict JSON: no NaN)."""
    return json.dumps(aggregates, allow_nan=False)


def team_scoped(cl: Caseload, team: str | None) -> Caseload:
    """Restrict a caseload to the therapists of one team (``None``: everyone)."""
    if team is None:
        return cl
    t = cl.therapists.filter(cl.therapists.team == team)
    ids = t.therapist_id
    return replace(
        cl,
        therapists=t,
        sessions=cl.sessions.filter(cl.sessions.therapist_id.isin(ids)),
        episodes=cl.episodes.filter(cl.episodes.therapist_id.isin(ids)),
    )


__all__ = [
    "MERGED_TEAMS",
    "alliance_measure",
    "dumps",
    "frame",
    "headline",
    "headlines_by_therapist",
    "measure_name",
    "outcome_measure",
    "practice_aggregates",
    "practice_for",
    "row",
    "scope_headline",
    "sudden_breakdown",
    "sudden_keys",
    "team_scoped",
]
