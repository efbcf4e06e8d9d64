"""``supervision metrics``: every figure of domain.md §3–§7 as one JSON-ready dict (§9).

Shape::

    {"practice": M, "therapists": {"<id>": M, ...}, "meta": {...}}

where M holds ``episodes``, ``sessions_attended``, ``alliance.<measure>``, ``ruptures``,
``termination``, ``outcomes.<measure>`` (+ ``outcomes.phq9_gad7`` when PHQ-9 and GAD-7
are both present; each measure but the pair with ``sudden_gains`` and ``sudden_losses``,
§10), ``completeness`` (§12), ``neurotype.groups.<group>`` and, per therapist, ``cases``
(``{"episode_id", "reasons"}`` as §9 fixes it; the plain-words reason of ``not_on_track`` is
the per-episode table's ``not_on_track_reason`` and ``cases.not_on_track_reasons``).
Beyond §9 (README, "Fair comparisons"): the practice's ``funnels`` (over-dispersion,
:mod:`supervision.clinical.dispersion`) and ``adjusted_outcome`` for the practice and each
therapist (:mod:`supervision.clinical.multilevel`); and (README, "Open caseload", "Alliance
items") each therapist's ``open_caseload`` (the rows of :func:`supervision.figures.open_caseload`,
the dashboards' and the pack's table) and ``alliance.<measure>.item_drivers`` for the practice
and each therapist (:func:`supervision.clinical.alliance.item_drivers`, the alliance tab's).
Sudden gains and completeness are counts of the therapist's own caseload, not a breakdown
below it, so they are not suppressed (domain.md §8, issue 15).  A rate with
denominator 0 or a suppressed figure is ``None`` (JSON ``null``); no NaN ever leaves this
module.  Intervals are ``[low, high]``.

Who it is for: whoever holds the export.  ``supervision metrics PATH`` (or ``--db URL``)
reads every therapist's rows, so whoever runs it is entitled to every therapist — the
practice lead, or whoever administers the export for them — and the JSON is theirs:
``practice`` is M of the whole practice over the dates given (domain.md §9), which *is*
the other therapists' figures once a therapist's own are subtracted.  ``--therapist ID``
selects which therapist's M is printed; it does not make the output a therapist's.  A
therapist (and a supervisor limited to some therapists) never gets this JSON: their
outputs are ``serve --therapist`` and the hub (the therapist bundle,
:func:`supervision.opening.write_bundle`) and ``report --therapist``, whose figures of
others all pass the one gate (:func:`supervision.comparison.gate`: ≥ k episodes of ≥ k
other therapists behind every point, from a closed quarter).  ``meta.audience`` says so in
the JSON itself (:data:`AUDIENCE`), and the command says it on standard error with
``--therapist``.

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
from typing import Any

import pandas as pd

from supervision import periods
from supervision.caseload import Caseload
from supervision.clinical.alliance import item_drivers
from supervision.clinical.completeness import SHARES
from supervision.clinical.dispersion import overdispersion
from supervision.clinical.multilevel import PROMPT, intake_adjusted
from supervision.clinical.sudden_gains import SUMMARY_KEYS
from supervision.csvsafe import csv_writer
from supervision.episodes import EpisodeTableKey, col, measures, sudden_measures
from supervision.errors import ScopeError
from supervision.figures import (
    OUTCOME_COUNTS,
    cases_to_discuss,
    group_figures,
    open_caseload,
    scope_figures,
)
from supervision.measures import PAIRED
from supervision.privacy import MIN_CELL, check_min_cell, funnel_hidden
from supervision.schema import NEUROTYPE_GROUPS, TERMINATION

Row = dict[str, Any]
NOTE = "prompts for reflection, not verdicts"
#: ``meta.audience``: who may read this JSON (module docstring, "Who it is for").
AUDIENCE = ("whoever holds the export (every therapist's rows; the practice lead): the "
            "practice block is the whole practice over the dates given, so it is not for a "
            "therapist or a supervisor limited to some therapists, whose outputs (serve "
            "--therapist, the hub, report --therapist) pass the privacy gate")
_BY = "therapist_id"
_INF = (math.inf, -math.inf)


def _values(s: pd.Series) -> list[Any]:
    """A column as JSON-safe Python scalars: NaN/NA/infinity -> None (whole column at once)."""
    if s.dtype.kind in "iub":
        return s.tolist()
    vals = s.astype("float64").tolist() if s.dtype.kind == "f" else s.tolist()
    return [None if v is None or v != v or v in _INF else v for v in vals]


def _counts(s: pd.Series) -> list[int | None]:
    """A count column that may hold suppressed (NaN) cells: int or None."""
    return [None if v is None else int(v) for v in _values(s)]


def _pairs(low: list[Any], high: list[Any]) -> list[list[float] | None]:
    return [None if a is None or b is None else [a, b] for a, b in zip(low, high, strict=True)]


def _records(columns: dict[str, list[Any]]) -> list[dict[str, Any]]:
    """Column lists -> one dict per row, keys in the order given."""
    names = list(columns)
    return [dict(zip(names, vals, strict=True)) for vals in zip(*columns.values(), strict=True)]


#: Kind -> key of ``outcomes.<measure>`` (domain.md §9).
_SUDDEN = {"gain": "sudden_gains", "loss": "sudden_losses"}
_OUT_RATES = ("recovery_rate", "reliable_improvement_rate", "reliable_deterioration_rate",
              "reliable_recovery_rate")
_GROUP_RATES = ("early_alliance", "dropout_rate", "repair_rate", "reliable_improvement_rate")


def _scopes(df: pd.DataFrame, key: EpisodeTableKey) -> list[dict[str, Any]]:
    """The M dict (without ``neurotype`` and ``cases``) of each row of :func:`scope_figures`."""
    def v(c: str) -> list[Any]:
        return _values(df[c])

    def ci(c: str) -> list[Any]:
        return _pairs(v(f"{c}_low"), v(f"{c}_high"))

    alliance = {k: _records({
        "rated_sessions": v(col(k, "rated_sessions")), "early_mean": v(col(k, "early_mean")),
        "mean_slope": v(col(k, "mean_slope")), "low_share": v(col(k, "low_share")),
        "episodes": v(col(k, "episodes")), "early_mean_ci": ci(col(k, "early_mean")),
    }) for k in key.alliance}
    rup = _records({
        **{x: v(x) for x in ("flagged", "drop", "count", "repaired")},
        "per_100_sessions": v("per_100_sessions"), "repair_rate": v("repair_rate"),
        "repair_rate_ci": ci("repair_rate"), "unrepaired_at_end": v("unrepaired_at_end"),
    })
    counts = _records({x: v(x) for x in TERMINATION})
    termination = _records({
        "ended": v("ended"), "counts": counts, "dropout_rate": v("dropout_rate"),
        "dropout_rate_ci": ci("dropout_rate"), "intake_only": v("intake_only"),
        "intake_only_rate": v("intake_only_rate"),
    })
    outcomes = {}
    for k in key.outcome:
        cols = {x: v(col(k, x)) for x in OUTCOME_COUNTS}
        for r in _OUT_RATES:
            cols[r], cols[f"{r}_ci"] = v(col(k, r)), ci(col(k, r))
        if k in sudden_measures(key):
            for kind, name in _SUDDEN.items():
                cols[name] = _records({x: v(f"{col(k, kind)}__{x}") for x in SUMMARY_KEYS})
        outcomes[k] = _records(cols)
    complete = _records({x: v(x) for x in SHARES})
    episodes, sessions = v("episodes"), v("sessions_attended")
    return [
        {"episodes": episodes[i], "sessions_attended": sessions[i],
         "alliance": {k: rows[i] for k, rows in alliance.items()}, "ruptures": rup[i],
         "termination": termination[i],
         "outcomes": {k: rows[i] for k, rows in outcomes.items()},
         "completeness": complete[i]}
        for i in range(len(df))
    ]


def _empty_group() -> dict[str, Any]:
    return {"episodes": 0, "suppressed": False,
            **{k: v for x in _GROUP_RATES for k, v in ((x, None), (f"{x}_ci", None))}}


def _groups(df: pd.DataFrame, by: str | None) -> dict[str | None, dict[str, dict[str, Any]]]:
    """The ``neurotype.groups`` dict of each scope, from :func:`group_figures` rows."""
    cols: dict[str, list[Any]] = {"episodes": _counts(df["episodes"]),
                                  "suppressed": [bool(x) for x in df["suppressed"].tolist()]}
    for x in _GROUP_RATES:
        cols[x], cols[f"{x}_ci"] = _values(df[x]), _pairs(_values(df[f"{x}_low"]),
                                                            _values(df[f"{x}_high"]))
    cols["ended"] = _counts(df["ended"])
    cells = _records(cols)
    keys = [None] * len(df) if by is None else [
        None if pd.isna(x) else str(x) for x in df[by].tolist()]
    found: dict[str | None, dict[str, dict[str, Any]]] = {}
    for k, g, cell in zip(keys, df["group"].tolist(), cells, strict=True):
        found.setdefault(k, {})[str(g)] = cell
    return {k: {g: cells.get(g) or _empty_group() for g in NEUROTYPE_GROUPS}
            for k, cells in found.items()}


def _cases(cl: Caseload) -> dict[str, list[dict[str, Any]]]:
    """Open episodes with at least one §7 reason, by therapist then episode (domain.md §7):
    §9's ``{"episode_id", "reasons"}`` and the plain-words reason of ``not_on_track`` (§11,
    issue 14: "PHQ-9 is 4 points worse than at intake; …"), null for any other case."""
    df = cases_to_discuss(cl)
    out: dict[str, list[dict[str, Any]]] = {}
    for tid, ep, reasons, text in zip(df["therapist_id"], df["episode_id"], df["reasons"],
                                      df["details"], strict=True):
        out.setdefault(tid, []).append({"episode_id": ep, "reasons": reasons, "details": text})
    return out


def _iso(d: dt.date | None) -> str | None:
    return None if d is None else d.isoformat()


def _as_of(scoped: Caseload) -> dt.date | None:
    """The date the open caseload is read at: the window's end, else the export's last
    session date (of the root caseload: the same for a therapist's scope or the practice)."""
    until = scoped.window[1]
    return until if until is not None else periods.date_span(scoped.root)[1]


def _int(v: Any) -> int | None:
    return None if v is None or v != v else int(v)


def _open_caseload(scoped: Caseload, as_of: dt.date | None, only: str | None
                   ) -> dict[str, list[dict[str, Any]]]:
    """Each therapist's open episodes, the rows of :func:`supervision.figures.open_caseload`
    in its order (``risk_item`` first, then the other flagged ones): the episode's pseudonym
    and the table's columns, nested as M is (``alliance``, ``outcomes.<measure>``); the
    last-seen *date* is left out (days since it are there)."""
    if as_of is None:
        return {}
    df = open_caseload(scoped, as_of=as_of, therapist_ids=None if only is None else [only])
    outs = [c[: -len("__latest")] for c in df.columns if c.endswith("__latest")]
    measure = df["alliance_measure"].tolist()
    alliance = [None if not isinstance(m, str) else a for m, a in zip(measure, _records({
        "measure": measure, "latest": _values(df["alliance_latest"]),
        "concern": [None if c is None else bool(c) for c in _values(df["alliance_concern"])],
    }), strict=True)]
    outcomes = {o: _records({
        "intake": _values(df[col(o, "intake")]), "latest": _values(df[col(o, "latest")]),
        "change": _values(df[col(o, "change")]), "position": _values(df[col(o, "position")]),
    }) for o in outs}
    rows = _records({
        "episode_id": df["episode_id"].tolist(), "sessions": [int(x) for x in df["sessions"]],
        "days_since_seen": [_int(x) for x in _values(df["days_since_seen"])],
        "alliance": alliance,
        "outcomes": [{o: recs[i] for o, recs in outcomes.items()} for i in range(len(df))],
        "status": df["status"].tolist(),
        "sudden_gains": [int(x) for x in df["sudden_gains"]],
        "sudden_losses": [int(x) for x in df["sudden_losses"]],
        "flagged": [bool(x) for x in df["flagged"]],
        "reasons": [list(r) for r in df["reasons"]],
    })
    out: dict[str, list[dict[str, Any]]] = {}
    for tid, row in zip(df["therapist_id"].tolist(), rows, strict=True):
        out.setdefault(str(tid), []).append(row)
    return out


def _drivers(recs: list[dict[str, Any]]) -> dict[str, Any]:
    """:func:`item_drivers` rows of one scope as ``{kind: {sessions, episodes, suppressed,
    items: {part: {sessions, share}}}}`` (``sessions`` of a kind: its sessions; of a part:
    those it drives)."""
    out: dict[str, Any] = {}
    for r in recs:
        kind = out.setdefault(str(r["kind"]), {
            "sessions": _int(r["of_events"]), "episodes": _int(r["episodes"]),
            "suppressed": bool(r["suppressed"]), "items": {}})
        share = r["share"]
        kind["items"][str(r["item"])] = {
            "sessions": _int(r["events"]),
            "share": None if share is None or share != share else float(share)}
    return out


def _add_items(scoped: Caseload, by_id: dict[str | None, dict[str, Any]], *,
               min_cell: int) -> None:
    """``alliance.<measure>.item_drivers`` of the practice and each therapist: null when the
    export carries none of the measure's items (or the therapist has no episode here)."""
    for k in list(by_id[None]["alliance"]):
        if not scoped.registry[k].part_columns:
            for m in by_id.values():
                m["alliance"][k]["item_drivers"] = None
            continue
        whole = item_drivers(scoped, k, min_cell=min_cell)
        per = item_drivers(scoped, k, min_cell=min_cell, by=_BY)
        groups: dict[str, list[dict[str, Any]]] = {}
        for r in per.to_dict("records"):
            groups.setdefault(str(r[_BY]), []).append(r)
        for tid, m in by_id.items():
            recs = whole.to_dict("records") if tid is None else groups.get(str(tid), [])
            m["alliance"][k]["item_drivers"] = _drivers(recs) if recs else None


def compute_metrics(
    cl: Caseload,
    *,
    therapist: str | None = None,
    since: dt.date | str | None = None,
    until: dt.date | str | None = None,
    min_cell: int = MIN_CELL,
) -> dict[str, Any]:
    """All figures of domain.md §9 for the practice and each therapist.

    Every figure is a grouped aggregate of the window's one-pass per-episode table
    (:func:`supervision.episodes.episode_table`, :mod:`supervision.figures`): one query for the
    practice, one by therapist, two for the neurotype groups, one for the cases, one for the
    open caseload; and per alliance measure with items, :func:`item_drivers` for the practice
    and by therapist.

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
        ``allow_nan=False``.  Each therapist's M also has ``cases`` (domain.md §7) and
        ``open_caseload``; ``meta.as_of`` is the date the open caseload is read at.
    """
    min_cell = check_min_cell(min_cell)
    known = cl.therapist_ids()
    if therapist is not None and therapist not in known:
        raise ScopeError(f"no therapist {therapist!r} in this export ({len(known)} therapists)")
    scoped = cl.scoped(since=since, until=until)
    key = measures(scoped)
    df = scope_figures(scoped, by=_BY, keys=[therapist] if therapist is not None else None)
    ms = _scopes(df, key)
    ids = [None, *(str(x) for x in df[_BY].tolist()[1:])]
    by_id = dict(zip(ids, ms, strict=True))
    # One table: the practice's groups are published beside every therapist's, so they
    # are suppressed together (``total=True``) and no hidden cell comes back by subtraction.
    groups = _groups(group_figures(scoped, min_cell=min_cell, by=_BY, total=True), _BY)
    cases = _cases(scoped)
    as_of = _as_of(scoped)
    caseload = _open_caseload(scoped, as_of, therapist)
    empty = {g: _empty_group() for g in NEUROTYPE_GROUPS}
    for k, m in by_id.items():
        m["neurotype"] = {"groups": groups.get(k, empty)}
        if k is not None:
            m["cases"] = cases.get(k, [])
            m["open_caseload"] = caseload.get(k, [])
    _add_items(scoped, by_id, min_cell=min_cell)
    _add_fair(scoped, df, key, by_id, min_cell=min_cell)
    with_episodes = [k for k, m in by_id.items() if k is not None and m["episodes"]]
    ids_out = [therapist] if therapist is not None else sorted(with_episodes)
    therapists = {tid: by_id[tid] for tid in ids_out}
    present = scoped.measures_present()
    reg = scoped.registry
    meta = {
        "window": {"since": _iso(scoped.window[0]), "until": _iso(scoped.window[1])},
        "as_of": _iso(as_of),
        "min_cell": min_cell,
        "source": cl.source, "checksum": cl.checksum,
        "measures": {"alliance": [k for k in present if reg[k].kind == "alliance"],
                     "outcome": [k for k in present if reg[k].kind == "outcome"]},
        "note": NOTE,
        "audience": AUDIENCE,
    }
    return {"practice": by_id[None], "therapists": therapists, "meta": meta}



def _dispersion(df: pd.DataFrame, k_col: str, n_col: str, rate_col: str,
                min_cell: int) -> dict[str, Any] | None:
    """Over-dispersion of the therapists a funnel of ``k_col`` of ``n_col`` would show."""
    if k_col not in df or n_col not in df:
        return None
    per = df.iloc[1:]
    k = pd.to_numeric(per[k_col]).fillna(0).astype("int64").to_numpy()
    n = pd.to_numeric(per[n_col]).fillna(0).astype("int64").to_numpy()
    p0 = df[rate_col].iloc[0]
    if pd.isna(p0):
        return None
    shown = ~funnel_hidden(n, k, min_cell=min_cell)
    return overdispersion(k[shown], n[shown], p0=float(p0)).as_dict()


def _num(x: Any) -> float | None:
    return None if x is None or pd.isna(x) else float(x)


def _add_fair(scoped: Caseload, df: pd.DataFrame, key: EpisodeTableKey,
              by_id: dict[str | None, dict[str, Any]], *, min_cell: int) -> None:
    """``funnels`` (practice) and ``adjusted_outcome`` (practice and each therapist), README."""
    funnels: dict[str, Any] = {
        "dropout": _dispersion(df, "dropout", "ended", "dropout_rate", min_cell)}
    funnels["reliable_improvement"] = {
        o: _dispersion(df, col(o, "reliable_improvement"), col(o, "paired"),
                       col(o, "reliable_improvement_rate"), min_cell) for o in key.outcome}
    by_id[None]["funnels"] = funnels
    for m in by_id.values():
        m["adjusted_outcome"] = {}
    for o in key.outcome:
        if o == PAIRED:  # the rule's change is PHQ-9's, under outcomes.phq9
            continue
        res = intake_adjusted(scoped, o, min_cell=min_cell)
        by_id[None]["adjusted_outcome"][o] = {
            "episodes": res.episodes, "therapists": res.n_therapists, "hidden": res.hidden,
            "slope": _num(res.slope), "between_sd": _num(res.between_sd),
            "residual_sd": _num(res.residual_sd), "intake_sd": _num(res.intake_sd),
            "converged": res.converged, "notes": list(res.notes), "note": PROMPT}
        rows = {str(r.therapist_id): r for r in res.therapists.itertuples(index=False)}
        for tid, m in by_id.items():
            r = rows.get(str(tid)) if tid is not None else None
            if tid is not None:
                m["adjusted_outcome"][o] = None if r is None else {
                    "episodes": int(r.episodes), "estimate": _num(r.adjusted_improvement),
                    "estimate_ci": [_num(r.low), _num(r.high)],
                    "effect_size": _num(r.effect_size),
                    "effect_size_ci": [_num(r.effect_size_low), _num(r.effect_size_high)],
                    "shrinkage": _num(r.shrinkage)}


def _flatten(node: Any, prefix: str) -> Iterator[tuple[str, Any]]:
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _flatten(v, f"{prefix}.{k}" if prefix else str(k))
    elif isinstance(node, list) and len(node) == 2 and prefix.endswith("_ci"):
        yield f"{prefix}.low", node[0]
        yield f"{prefix}.high", node[1]
    elif isinstance(node, list) and node and all(isinstance(x, dict) for x in node):
        for i, record in enumerate(node):  # a list of records: one key path per field
            yield from _flatten(record, f"{prefix}.{i}")
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
    a list of records (``cases``, ``open_caseload``) gives each record's fields under its
    0-based position in the list, in the JSON's order (``open_caseload.3.sessions``,
    ``cases.0.episode_id``); any other list is one cell, ``;``-joined (``reasons``; an empty
    list, such as no cases, is one empty cell); null is empty.
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


__all__ = ["AUDIENCE", "NOTE", "compute_metrics", "metrics_json_bytes", "metrics_to_csv",
           "metrics_to_json"]
