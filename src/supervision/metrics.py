"""``supervision metrics``: every figure of domain.md §3–§7 as one JSON-ready dict (§9).

Shape::

    {"practice": M, "therapists": {"<id>": M, ...}, "meta": {...}}

where M holds ``episodes``, ``sessions_attended``, ``alliance.<measure>``, ``ruptures``,
``termination``, ``outcomes.<measure>`` (+ ``outcomes.phq9_gad7`` when PHQ-9 and GAD-7
are both present), ``neurotype.groups.<group>`` and, per therapist, ``cases``.  A rate with
denominator 0 or a suppressed figure is ``None`` (JSON ``null``); no NaN ever leaves this
module.  Intervals are ``[low, high]``.

Speed: each concept is computed with one grouped query ``by="therapist_id"`` and one
whole-practice query, never one query per therapist.  With ``therapist=`` only that
therapist's M is returned, but every figure is computed over the whole (windowed) practice,
so a therapist's figures are the same with or without ``--therapist`` (and a Jacobson–Truax
sample SD is the practice's).
"""

from __future__ import annotations

import datetime as dt
import io
import math
import numbers
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import ibis.expr.types as ir
import pandas as pd

from supervision import alliance, cases, neurotype, ruptures
from supervision import outcomes as oc
from supervision import termination as term
from supervision.caseload import Caseload
from supervision.csvsafe import csv_writer
from supervision.errors import ScopeError
from supervision.measures import Measure
from supervision.privacy import MIN_CELL, check_min_cell
from supervision.schema import NEUROTYPE_GROUPS, TERMINATION
from supervision.stats import mean_ci_frame

Row = dict[str, Any]
NOTE = "prompts for reflection, not verdicts"
_BY = "therapist_id"


def _clean(v: Any) -> Any:
    """A JSON-safe Python scalar: NaN/NA -> None, numpy -> int/float/bool."""
    t = type(v)  # fast path: most values are already Python scalars (``to_dict``)
    if t is float:
        return None if math.isnan(v) or math.isinf(v) else v
    if t is int or t is bool or t is str:
        return v
    if v is None or v is pd.NA or v is pd.NaT:
        return None
    if hasattr(v, "item") and not isinstance(v, (list, dict, str)):
        v = v.item()
    if isinstance(v, float):
        if math.isnan(v) or math.isinf(v):
            return None
        return float(v)
    return v


def _count(v: Any) -> int | None:
    """A count that may have been suppressed (NaN) as int or None."""
    v = _clean(v)
    return None if v is None else int(v)


def _ci(row: Row, name: str) -> list[float] | None:
    low, high = _clean(row.get(f"{name}_low")), _clean(row.get(f"{name}_high"))
    return None if low is None or high is None else [low, high]


def _rows(df: pd.DataFrame, by: str | None) -> dict[str | None, dict[str, Any]]:
    """Rows as dicts of native Python values (``to_dict`` keeps each column's type)."""
    records = df.to_dict("records")
    if by is None:
        return {None: records[0]}
    return {str(r[by]): r for r in records}


def _alliance(row: Row | None) -> dict[str, Any]:
    if row is None:
        return {"rated_sessions": 0, "early_mean": None, "mean_slope": None, "low_share": None,
                "episodes": 0, "early_mean_ci": None}
    return {
        "rated_sessions": _clean(row["rated_sessions"]), "early_mean": _clean(row["early_mean"]),
        "mean_slope": _clean(row["mean_slope"]), "low_share": _clean(row["low_share"]),
        "episodes": _clean(row["episodes"]), "early_mean_ci": _ci(row, "early_mean"),
    }


def _ruptures(row: Row | None) -> dict[str, Any]:
    keys = ("flagged", "drop", "count", "repaired")
    if row is None:
        return {**dict.fromkeys(keys, 0), "per_100_sessions": None, "repair_rate": None,
                "repair_rate_ci": None, "unrepaired_at_end": 0}
    out = {k: _clean(row[k]) for k in keys}
    out |= {"per_100_sessions": _clean(row["per_100_sessions"]),
            "repair_rate": _clean(row["repair_rate"]), "repair_rate_ci": _ci(row, "repair_rate"),
            "unrepaired_at_end": _clean(row["unrepaired_at_end"])}
    return out


def _termination(row: Row) -> dict[str, Any]:
    return {
        "ended": _clean(row["ended"]),
        "counts": {t: _clean(row[t]) for t in TERMINATION},
        "dropout_rate": _clean(row["dropout_rate"]),
        "dropout_rate_ci": _ci(row, "dropout_rate"),
        "intake_only": _clean(row["intake_only"]),
        "intake_only_rate": _clean(row["intake_only_rate"]),
    }


_OUT_COUNTS = ("paired", "reliable_improvement", "reliable_deterioration", "recovered",
               "reliable_recovery", "started_clinical")
_OUT_RATES = ("recovery_rate", "reliable_improvement_rate", "reliable_deterioration_rate",
              "reliable_recovery_rate")


def _outcome(row: Row | None) -> dict[str, Any]:
    if row is None:
        return {**dict.fromkeys(_OUT_COUNTS, 0),
                **{k: v for r in _OUT_RATES for k, v in ((r, None), (f"{r}_ci", None))}}
    out = {k: _clean(row[k]) for k in _OUT_COUNTS}
    for r in _OUT_RATES:
        out[r], out[f"{r}_ci"] = _clean(row[r]), _ci(row, r)
    return out


_GROUP_RATES = ("early_alliance", "dropout_rate", "repair_rate", "reliable_improvement_rate")


def _groups(records: list[Row]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    rows = {str(r["group"]): r for r in records}
    for g in NEUROTYPE_GROUPS:
        r = rows.get(g)
        if r is None:
            out[g] = {"episodes": 0, "suppressed": False,
                      **{k: v for x in _GROUP_RATES for k, v in ((x, None), (f"{x}_ci", None))}}
            continue
        cell = {"episodes": _count(r["episodes"]), "suppressed": bool(r["suppressed"])}
        for x in _GROUP_RATES:
            cell[x], cell[f"{x}_ci"] = _clean(r[x]), _ci(r, x)
        cell["ended"] = _count(r["ended"])
        out[g] = cell
    return out


def _zero_termination() -> Row:
    return {"ended": 0, **dict.fromkeys(TERMINATION, 0), "dropout_rate": None,
                      "intake_only": 0, "intake_only_rate": None, "episodes": 0,
                      "sessions_attended": 0}


def _assemble(key: str | None, parts: dict[str, Any]) -> dict[str, Any]:
    """The M dict of one scope (key None = practice) from the precomputed row maps."""
    t = parts["termination"].get(key)
    t = _zero_termination() if t is None else t
    m: dict[str, Any] = {"episodes": _clean(t["episodes"]),
                         "sessions_attended": _clean(t["sessions_attended"])}
    m["alliance"] = {k: _alliance(rows.get(key)) for k, rows in parts["alliance"].items()}
    m["ruptures"] = _ruptures(parts["ruptures"].get(key))
    m["termination"] = _termination(t)
    m["outcomes"] = {k: _outcome(rows.get(key)) for k, rows in parts["outcomes"].items()}
    m["neurotype"] = {"groups": _groups(parts["groups"].get(key, []))}
    return m


def _cases(df: pd.DataFrame) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for tid, ep, reasons in df[["therapist_id", "episode_id", "reasons"]].itertuples(index=False):
        out.setdefault(str(tid), []).append({"episode_id": str(ep), "reasons": list(reasons)})
    return out


def _iso(d: dt.date | None) -> str | None:
    return None if d is None else d.isoformat()


def _grouped(t: ir.Table, aggs: dict[str, ir.Value]) -> pd.DataFrame:
    """One whole-table and one by-therapist aggregate of a (cached) per-episode table;
    the practice row has ``therapist_id`` None."""
    whole = t.aggregate(**aggs).execute().assign(**{_BY: None})
    by = t.group_by(_BY).aggregate(**aggs).execute()
    return pd.concat([whole, by], ignore_index=True)


def _keyed(df: pd.DataFrame) -> dict[str | None, Row]:
    return {(None if r[_BY] is None else str(r[_BY])): r for r in df.to_dict("records")}


def _alliance_rows(ep: ir.Table) -> dict[str | None, Row]:
    """The figures of :func:`alliance.alliance_summary` from a cached ``episode_alliance``."""
    df = _grouped(ep, {
        "episodes": ep.episode_id.count(), "rated_sessions": ep.rated_sessions.sum(),
        "early_mean": ep.early_mean.mean(), "early_sd": ep.early_mean.std(how="sample"),
        "mean_slope": ep.slope.mean(), "low_sum": ep.low_sessions.sum(),
    })
    for c in ("episodes", "rated_sessions"):
        df[c] = pd.to_numeric(df[c]).fillna(0).astype("int64")
    for c in ("early_mean", "early_sd", "mean_slope", "low_sum"):
        df[c] = pd.to_numeric(df[c]).astype("float64")
    df["low_share"] = df["low_sum"] / df["rated_sessions"].where(df["rated_sessions"] > 0)
    df["early_mean_low"], df["early_mean_high"] = mean_ci_frame(
        df["early_mean"], df["early_sd"], df["episodes"])
    return _keyed(df)


def _rupture_rows(ep: ir.Table) -> dict[str | None, Row]:
    """The §9 figures of :func:`ruptures.rupture_summary` from cached ``episode_ruptures``."""
    aggs = {c: ep[c].sum() for c in ("flagged", "drop", "count", "repaired", "attended_sessions")}
    aggs["unrepaired_at_end"] = ep.episode_id.count(where=ep.ended & ~ep.last_repaired)
    df = _grouped(ep, aggs)
    for c in aggs:
        df[c] = pd.to_numeric(df[c]).fillna(0).astype("int64")
    sessions = df["attended_sessions"].where(df["attended_sessions"] > 0).astype("float64")
    df["per_100_sessions"] = 100.0 * df["count"] / sessions
    df = term.add_rate(df, "repair_rate", "repaired", "count")
    return _keyed(df)


def _needs_sample(m: Measure) -> bool:
    """Whether a measure's reliable change or cut-off depends on the caseload's own sample."""
    sd = m.reliable_change is None and m.reliability is not None and m.norm_sd is None
    c = m.clinical_cutoff is None and m.functional_mean is not None and (
        m.clinical_mean is None or m.clinical_sd is None)
    return sd or c


def _open_only(cl: Caseload) -> Caseload:
    """The open episodes and their sessions, for the cases list (§7 lists open episodes only).

    Every reason is computed from an episode's own sessions, so the restriction changes
    nothing — except for a measure whose reliable change or cut-off uses the sample's
    pre-treatment SD (a practice's Jacobson–Truax measure without norms): then the whole
    caseload is kept, so that the sample stays the same as for the outcome figures.
    """
    if any(_needs_sample(m) for m in cl.registry.outcome):
        return cl
    e = cl.episodes.filter(cl.episodes.termination == "ongoing")
    s = cl.sessions.filter(cl.sessions.episode_id.isin(e.episode_id)).cache()
    return replace(cl, sessions=s, episodes=e, _root=cl.root, _cut=cl.session_cut)


def _group_records(cl: Caseload, min_cell: int, figures: ir.Table) -> dict[str | None, list[Row]]:
    """Neurotype-group rows of the practice (key None) and of each therapist.

    One call suppresses both together (``total=True``): the JSON publishes the practice's
    groups beside every therapist's, so they are one table whose columns add up.
    """
    out: dict[str | None, list[Row]] = {None: []}
    both = neurotype.group_summary(cl, min_cell=min_cell, by=_BY, figures=figures, total=True)
    for r in both.to_dict("records"):
        key = None if pd.isna(r[_BY]) else str(r[_BY])
        out.setdefault(key, []).append(r)
    return out


def _parts(cl: Caseload, min_cell: int) -> tuple[dict[str, Any], list[str]]:
    """Every summary, practice-wide and by therapist, from per-episode tables computed once.

    Each per-episode table (termination, alliance per measure, ruptures, outcomes per
    measure) is materialised once with Ibis ``cache()`` and then aggregated twice (whole
    practice, by therapist) and joined for the neurotype groups.
    """
    present = cl.measures_present()
    al = [k for k in present if cl.registry[k].kind == "alliance"]
    outs = [k for k in present if cl.registry[k].kind == "outcome"]
    if {"phq9", "gad7"} <= set(outs):
        outs.append(oc.PAIRED)
    tt = term.episode_termination(cl).cache()
    tables: dict[str, ir.Table] = {"termination": tt}
    rup = ruptures.episode_ruptures(cl)
    rup = rup.join(tt.select("episode_id", "ended"), "episode_id").cache()
    tables["ruptures"] = rup
    for k in al:
        tables[f"alliance:{k}"] = alliance.episode_alliance(cl, k).cache()
    for k in outs:
        tables[f"outcome:{k}"] = oc.per_episode(cl, k).cache()
    figures = neurotype.episode_figures(cl, present, tables=tables).cache()
    parts: dict[str, Any] = {
        "termination": _rows(term.summarise_termination(tt, None), None)
        | _rows(term.summarise_termination(tt, _BY), _BY),
        "alliance": {k: _alliance_rows(tables[f"alliance:{k}"]) for k in al},
        "ruptures": _rupture_rows(rup),
        "outcomes": {k: _rows(oc.summarise_outcomes(tables[f"outcome:{k}"], None), None)
                     | _rows(oc.summarise_outcomes(tables[f"outcome:{k}"], _BY), _BY)
                     for k in outs},
        "groups": _group_records(cl, min_cell, figures),
        "cases": _cases(cases.cases_to_discuss(_open_only(cl), tables=tables)),
    }
    return parts, present


def compute_metrics(
    cl: Caseload,
    *,
    therapist: str | None = None,
    since: dt.date | str | None = None,
    until: dt.date | str | None = None,
    min_cell: int = MIN_CELL,
) -> dict[str, Any]:
    """All figures of domain.md §9 for the practice and each therapist.

    Parameters
    ----------
    cl
        The caseload (any backend).
    therapist
        Return only this therapist under ``"therapists"`` (``"practice"`` is still the
        whole practice).  :class:`ScopeError` when the caseload has no such therapist.
    since, until
        The window, as in :meth:`Caseload.scoped` (episodes active in it, read as of
        ``until``).
    min_cell
        Small-cell threshold for neurotype groups (≥ 5, :func:`privacy.check_min_cell`).

    Returns
    -------
    dict
        ``{"practice": M, "therapists": {id: M}, "meta": {...}}``, JSON-serialisable with
        ``allow_nan=False``.  Each therapist's M also has ``cases`` (domain.md §7).
    """
    min_cell = check_min_cell(min_cell)
    known = cl.therapist_ids()
    if therapist is not None and therapist not in known:
        raise ScopeError(f"no therapist {therapist!r} in this export ({len(known)} therapists)")
    scoped = cl.scoped(since=since, until=until)
    parts, present = _parts(scoped, min_cell)
    with_episodes = [k for k in parts["termination"] if k is not None]
    ids = [therapist] if therapist is not None else sorted(with_episodes)
    therapists: dict[str, Any] = {}
    for tid in ids:
        m = _assemble(tid, parts)
        m["cases"] = parts["cases"].get(tid, [])
        therapists[tid] = m
    reg = scoped.registry
    meta = {
        "window": {"since": _iso(scoped.window[0]), "until": _iso(scoped.window[1])},
        "min_cell": min_cell,
        "source": cl.source, "checksum": cl.checksum,
        "measures": {"alliance": [k for k in present if reg[k].kind == "alliance"],
                     "outcome": [k for k in present if reg[k].kind == "outcome"]},
        "note": NOTE,
    }
    return {"practice": _assemble(None, parts), "therapists": therapists, "meta": meta}


def _flatten(node: Any, prefix: str) -> Iterator[tuple[str, Any]]:
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _flatten(v, f"{prefix}.{k}" if prefix else str(k))
    elif isinstance(node, list) and len(node) == 2 and prefix.endswith("_ci"):
        yield f"{prefix}.low", node[0]
        yield f"{prefix}.high", node[1]
    elif isinstance(node, list) and prefix.endswith("cases"):
        for case in node:
            yield f"{prefix}.{case['episode_id']}", ";".join(case["reasons"])
    elif isinstance(node, list):
        yield prefix, ";".join(map(str, node))
    else:
        yield prefix, node


def _text(v: Any) -> Any:
    """A CSV cell: numbers stay numbers (written as Python writes them, ``repr`` for floats),
    so that :func:`~supervision.csvsafe.safe_cell` never quotes a ``-0.5``."""
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    return v if isinstance(v, numbers.Real) else str(v)


def metrics_to_json(result: dict[str, Any]) -> str:
    """The result of :func:`compute_metrics` as indented JSON (the ``--format json`` output).

    orjson, because the standard library's encoder drops to pure Python as soon as it
    indents: at 1M sessions (4,000 therapists, 30 MB of JSON) that took 6.7 s of a 21 s
    command, orjson about 0.1 s.  Same keys, order and float text (shortest round-trip);
    a NaN, which strict JSON has no literal for, is refused rather than written.
    """
    return metrics_json_bytes(result).decode("utf-8")


def metrics_json_bytes(result: dict[str, Any]) -> bytes:
    """:func:`metrics_to_json` as UTF-8 bytes ending in a newline (what the command writes)."""
    import orjson

    _no_nan(result)
    return orjson.dumps(result, option=orjson.OPT_INDENT_2 | orjson.OPT_APPEND_NEWLINE)


def _no_nan(v: Any) -> None:
    """Raise ValueError on a NaN or infinity anywhere in ``v`` (orjson would write null)."""
    stack = [v]
    while stack:
        x = stack.pop()
        if isinstance(x, float):
            if not math.isfinite(x):
                raise ValueError("metrics result holds a NaN or infinity; expected null")
        elif isinstance(x, dict):
            stack.extend(x.values())
        elif isinstance(x, list | tuple):
            stack.extend(x)


def metrics_to_csv(result: dict[str, Any]) -> str:
    """The result of :func:`compute_metrics` as long CSV: ``scope, therapist_id, key, value``.

    ``scope`` is ``practice``, ``therapist`` or ``meta``; keys are dotted paths
    (``termination.counts.dropout``); an interval gives ``<key>.low`` and ``<key>.high``;
    a case gives ``cases.<episode_id>`` with its reasons ``;``-joined; null is empty.
    A text cell a spreadsheet would run as a formula (an id beginning with ``=``, ``+``,
    ``-``, ``@``, a tab or a carriage return) is written with a leading ``'``
    (:mod:`supervision.csvsafe`, OWASP); numbers are written unchanged.
    """
    buf = io.StringIO()
    w = csv_writer(buf, lineterminator="\n")
    w.writerow(["scope", "therapist_id", "key", "value"])
    for key, v in _flatten(result.get("practice", {}), ""):
        w.writerow(["practice", "", key, _text(v)])
    for tid, m in result.get("therapists", {}).items():
        for key, v in _flatten(m, ""):
            w.writerow(["therapist", tid, key, _text(v)])
    for key, v in _flatten(result.get("meta", {}), ""):
        w.writerow(["meta", "", key, _text(v)])
    return buf.getvalue().rstrip("\n")


__all__ = ["NOTE", "compute_metrics", "metrics_json_bytes", "metrics_to_csv", "metrics_to_json"]
