"""A slow, obviously-correct reference implementation of the metric figures, in plain Python.

Loops over episodes and sessions with dicts and lists — no DuckDB, no Ibis, no vectorised
pandas — written straight from domain.md §3, §4 and §7 and the decisions in the metric
modules' docstrings, so that the fast Ibis implementation can be checked against it on random
exports (tests/test_alliance.py, tests/test_ruptures.py, tests/test_cases.py).

Inputs are the canonical pandas frames given to ``Caseload.from_frames`` (``sessions``,
``episodes``, ``therapists``) and a measure registry.  Helper A owns the top half (alliance,
ruptures, cases); helper B appends termination / outcomes / neurotype below the marker.
"""

from __future__ import annotations

import itertools
import math
import statistics
from collections import defaultdict
from fractions import Fraction
from typing import Any

import pandas as pd
from scipy import stats as sps

from supervision.measures import Registry

Row = dict[str, Any]


# ============================================================================ common
def _missing(v: Any) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NA


def session_rows(sessions: pd.DataFrame) -> list[Row]:
    """Sessions as dicts with defaults (attended, rupture none) and 1-based ``source_row``."""
    rows = []
    for i, rec in enumerate(sessions.to_dict("records"), start=1):
        r = {k: (None if _missing(v) else v) for k, v in rec.items()}
        r.setdefault("source_row", i)
        r["source_row"] = i if r["source_row"] is None else int(r["source_row"])
        r["attendance"] = r.get("attendance") or "attended"
        r["rupture"] = r.get("rupture") or "none"
        r["session_date"] = pd.Timestamp(r["session_date"]).date()
        rows.append(r)
    return rows


def by_episode(sessions: pd.DataFrame) -> dict[str, list[Row]]:
    """Episode id -> its sessions in order (session_date, then source_row)."""
    out: dict[str, list[Row]] = defaultdict(list)
    for r in session_rows(sessions):
        out[r["episode_id"]].append(r)
    for rows in out.values():
        rows.sort(key=lambda r: (r["session_date"], r["source_row"]))
    return dict(out)


def episode_rows(episodes: pd.DataFrame) -> list[Row]:
    """Episodes as dicts (termination defaulting to ongoing)."""
    out = []
    for rec in episodes.to_dict("records"):
        r = {k: (None if _missing(v) else v) for k, v in rec.items()}
        r["termination"] = r.get("termination") or "ongoing"
        out.append(r)
    return out


def group_of(episodes: pd.DataFrame, therapists: pd.DataFrame, by: str | None) -> dict[str, Any]:
    """Episode id -> its group value (``by`` on episodes, or on the episode's therapist)."""
    out = {}
    team = {r["therapist_id"]: r for r in therapists.to_dict("records")}
    for e in episode_rows(episodes):
        if by is None:
            out[e["episode_id"]] = None
        elif by in e:
            out[e["episode_id"]] = e[by]
        else:
            out[e["episode_id"]] = team[e["therapist_id"]][by]
    return out


def rated(rows: list[Row], measure: str) -> list[Row]:
    """The rated sessions of one episode on ``measure``: attended, with a value."""
    return [r for r in rows if r["attendance"] == "attended" and r.get(measure) is not None]


def t_interval(values: list[float]) -> tuple[float, float]:
    """Student-t 95% interval of a mean; NaN with fewer than two values."""
    if len(values) < 2:
        return math.nan, math.nan
    m, sd = statistics.fmean(values), statistics.stdev(values)
    half = float(sps.t.ppf(0.975, len(values) - 1)) * sd / math.sqrt(len(values))
    return m - half, m + half


def wilson(k: int, n: int, z: float = 1.959963984540054) -> tuple[float, float]:
    """Wilson (1927) score interval, closed form.

    ``(p + z²/2n ± z·√(p(1−p)/n + z²/4n²)) / (1 + z²/n)`` with ``p = k/n``.
    """
    if n == 0:
        return math.nan, math.nan
    p = k / n
    centre = p + z * z / (2 * n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return max(0.0, (centre - half) / (1 + z * z / n)), min(1.0, (centre + half) / (1 + z * z / n))


# ============================================================================ alliance (§3)
def episode_alliance(sessions: pd.DataFrame, registry: Registry, measure: str) -> dict[str, Row]:
    """Episode id -> rated_sessions, early_mean, slope, low_sessions, last_value, last_low."""
    concern = registry[measure].concern_below
    out = {}
    for eid, rows in by_episode(sessions).items():
        values = [float(r[measure]) for r in rated(rows, measure)]
        if not values:
            continue
        n = len(values)
        early = values[:3]
        slope = None
        if n >= 3:
            xs = list(range(1, n + 1))
            sx, sy = sum(xs), sum(values)
            sxy = sum(x * y for x, y in zip(xs, values, strict=True))
            sxx = sum(x * x for x in xs)
            slope = (n * sxy - sx * sy) / (n * sxx - sx * sx)
        out[eid] = {
            "therapist_id": rows[0]["therapist_id"], "rated_sessions": n,
            "early_mean": sum(early) / len(early), "slope": slope,
            "low_sessions": None if concern is None else sum(v < concern for v in values),
            "last_value": values[-1],
            "last_low": None if concern is None else values[-1] < concern,
        }
    return out


def alliance_summary(
    sessions: pd.DataFrame, episodes: pd.DataFrame, therapists: pd.DataFrame,
    registry: Registry, measure: str, *, by: str | None = None,
) -> dict[Any, Row]:
    """Group -> episodes, rated_sessions, early_mean (+ t-interval), mean_slope, low_share."""
    per = episode_alliance(sessions, registry, measure)
    groups = group_of(episodes, therapists, by)
    members: dict[Any, list[Row]] = defaultdict(list)
    for eid, row in per.items():
        members[groups[eid]].append(row)
    if by is None:
        members.setdefault(None, [])
    out = {}
    for key, eps in members.items():
        early = [e["early_mean"] for e in eps]
        slopes = [e["slope"] for e in eps if e["slope"] is not None]
        rated_n = sum(e["rated_sessions"] for e in eps)
        low = None if registry[measure].concern_below is None else sum(
            e["low_sessions"] for e in eps)
        low_share = math.nan if low is None or rated_n == 0 else low / rated_n
        lo, hi = t_interval(early)
        out[key] = {
            "episodes": len(eps), "rated_sessions": rated_n,
            "early_mean": statistics.fmean(early) if early else math.nan,
            "early_mean_low": lo, "early_mean_high": hi,
            "mean_slope": statistics.fmean(slopes) if slopes else math.nan,
            "slope_episodes": len(slopes), "low_share": low_share,
        }
    return out


def alliance_by_session(sessions: pd.DataFrame, measure: str, max_session: int = 20) -> dict:
    """Rated index -> (n, mean, sd) over all rated sessions with that index."""
    cells: dict[int, list[float]] = defaultdict(list)
    for rows in by_episode(sessions).values():
        for i, r in enumerate(rated(rows, measure), start=1):
            if i <= max_session:
                cells[i].append(float(r[measure]))
    return {i: _cell(v) for i, v in cells.items()}


def alliance_by_quarter(sessions: pd.DataFrame, measure: str) -> dict:
    """``"2024Q1"`` -> (n, mean, sd) over the rated sessions of that quarter."""
    cells: dict[str, list[float]] = defaultdict(list)
    for rows in by_episode(sessions).values():
        for r in rated(rows, measure):
            d = r["session_date"]
            cells[f"{d.year}Q{(d.month - 1) // 3 + 1}"].append(float(r[measure]))
    return {q: _cell(v) for q, v in cells.items()}


def _cell(values: list[float]) -> tuple[int, float, float]:
    sd = statistics.stdev(values) if len(values) > 1 else math.nan
    return len(values), statistics.fmean(values), sd


# ============================================================================ ruptures (§4)
def _drops_on(rows: list[Row], measure: str, points: float, drop_sd: float | None) -> list[Row]:
    """Alliance-drop sessions of one episode on one measure, with sessions_to_repair."""
    rs = rated(rows, measure)
    values = [Fraction(float(r[measure])) for r in rs]
    threshold = Fraction(points)
    if drop_sd is not None:
        if len(values) < 3:
            return []
        var = statistics.variance(values)  # exact with Fractions
    out = []
    for i in range(1, len(rs)):
        drop = values[i - 1] - values[i]
        if drop <= 0:
            continue
        big = drop >= threshold if drop_sd is None else drop * drop >= Fraction(drop_sd) ** 2 * var
        if not big:
            continue
        to_repair = None
        for k in range(1, 4):
            if i + k < len(rs) and values[i + k] >= values[i - 1]:
                to_repair = k
                break
        out.append({"row": rs[i], "measure": measure, "drop_points": float(drop),
                    "sessions_to_repair": to_repair, "rated_index": i + 1, "n_rated": len(rs)})
    return out


def rupture_events(
    sessions: pd.DataFrame, registry: Registry, *,
    drop_points: dict[str, float] | None = None, drop_sd: float | None = None,
) -> list[Row]:
    """Every rupture session (flagged or drop) with repair, as the fast ``rupture_events``."""
    points = {m.key: float(m.drop_threshold) for m in registry.alliance}
    points.update(drop_points or {})
    events = []
    for eid, rows in by_episode(sessions).items():
        attended = 0
        index = {}
        for r in rows:
            attended += r["attendance"] == "attended"
            index[r["source_row"]] = attended
        for pos, r in enumerate(rows):
            if r["attendance"] != "attended" or r["rupture"] == "none":
                continue
            later = [x for x in rows[pos:] if x.get("repair") == "resolved"]
            events.append(_event(r, eid, index, "flagged", r["rupture"], None, None,
                                 index[later[0]["source_row"]] - index[r["source_row"]]
                                 if later else None))
        drops: dict[int, list[Row]] = defaultdict(list)
        for order, key in enumerate(points):
            for d in _drops_on(rows, key, points[key], drop_sd):
                drops[d["row"]["source_row"]].append({**d, "order": order})
        for cands in drops.values():
            row = cands[0]["row"]
            if row["rupture"] != "none":
                continue  # counted once, as flagged
            best = min(cands, key=lambda d: (d["sessions_to_repair"] or 4, d["order"]))
            events.append(_event(row, eid, index, "drop", "alliance_drop", best["measure"],
                                 best["drop_points"], best["sessions_to_repair"]))
    return events


def _event(r: Row, eid: str, index: dict, kind: str, rtype: str, measure: str | None,
           drop: float | None, to_repair: int | None) -> Row:
    return {"episode_id": eid, "therapist_id": r["therapist_id"],
            "session_date": r["session_date"], "source_row": r["source_row"],
            "attended_index": index[r["source_row"]], "kind": kind, "rupture_type": rtype,
            "measure": measure, "drop_points": drop, "repaired": to_repair is not None,
            "sessions_to_repair": to_repair}


def episode_ruptures(
    sessions: pd.DataFrame, episodes: pd.DataFrame, registry: Registry, **options: Any
) -> dict[str, Row]:
    """Episode id -> attended_sessions, flagged, drop, count, repaired, unrepaired_flagged,
    last_repaired (None when the episode has no rupture)."""
    events = rupture_events(sessions, registry, **options)
    rows = by_episode(sessions)
    out = {}
    for e in episode_rows(episodes):
        eid = e["episode_id"]
        mine = sorted((x for x in events if x["episode_id"] == eid),
                      key=lambda x: (x["session_date"], x["source_row"]))
        flagged = [x for x in mine if x["kind"] == "flagged"]
        out[eid] = {
            "therapist_id": e["therapist_id"],
            "attended_sessions": sum(r["attendance"] == "attended" for r in rows.get(eid, [])),
            "flagged": len(flagged), "drop": len(mine) - len(flagged), "count": len(mine),
            "repaired": sum(x["repaired"] for x in mine),
            "unrepaired_flagged": any(not x["repaired"] for x in flagged),
            "last_repaired": mine[-1]["repaired"] if mine else None,
        }
    return out


def rupture_summary(
    sessions: pd.DataFrame, episodes: pd.DataFrame, therapists: pd.DataFrame,
    registry: Registry, *, by: str | None = None, **options: Any,
) -> dict[Any, Row]:
    """Group -> counts, per_100_sessions, repair_rate (+ Wilson), median sessions_to_repair,
    unrepaired_at_end."""
    per = episode_ruptures(sessions, episodes, registry, **options)
    events = rupture_events(sessions, registry, **options)
    groups = group_of(episodes, therapists, by)
    ended = {e["episode_id"]: e["termination"] != "ongoing" for e in episode_rows(episodes)}
    out: dict[Any, Row] = {}
    keys = sorted(set(groups.values()), key=str) if by else [None]
    for key in keys:
        eps = [eid for eid in per if groups[eid] == key]
        tot = {c: sum(per[e][c] for e in eps)
               for c in ("flagged", "drop", "count", "repaired", "attended_sessions")}
        waits = [x["sessions_to_repair"] for x in events
                 if groups[x["episode_id"]] == key and x["repaired"]]
        lo, hi = wilson(tot["repaired"], tot["count"])
        out[key] = {
            **tot,
            "per_100_sessions": 100 * tot["count"] / tot["attended_sessions"]
            if tot["attended_sessions"] else math.nan,
            "repair_rate": tot["repaired"] / tot["count"] if tot["count"] else math.nan,
            "repair_rate_low": lo, "repair_rate_high": hi,
            "sessions_to_repair": statistics.median(waits) if waits else math.nan,
            "unrepaired_at_end": sum(ended[e] and per[e]["last_repaired"] is False for e in eps),
        }
    return out


def fit_alerts(sessions: pd.DataFrame) -> list[Row]:
    """Every SRS rating at least 1 point below the previous rated one (FIT soft alert)."""
    out = []
    for eid, rows in by_episode(sessions).items():
        rs = rated(rows, "srs")
        for i in range(1, len(rs)):
            fall = float(rs[i - 1]["srs"]) - float(rs[i]["srs"])
            if fall >= 1:
                out.append({"episode_id": eid, "session_date": rs[i]["session_date"],
                            "rated_index": i + 1, "fall": fall})
    return out


# ============================================================================ cases (§7)
def _deteriorated(rows: list[Row], registry: Registry) -> bool:
    """Reliable deterioration first -> latest attended score, on any outcome measure."""
    for m in registry.outcome:
        if m.reliable_change is None:
            raise NotImplementedError("the reference handles fixed reliable_change values only")
        scores = [float(r[m.key]) for r in rows
                  if r["attendance"] == "attended" and r.get(m.key) is not None]
        if len(scores) < 2:
            continue
        worse = scores[-1] - scores[0] if m.better == "lower" else scores[0] - scores[-1]
        if worse >= m.reliable_change:
            return True
    return False


def _reasons(rows: list[Row], registry: Registry, unrepaired: bool) -> list[str]:
    reasons = []
    low = any(
        (rs := rated(rows, m.key)) and float(rs[-1][m.key]) < m.concern_below
        for m in registry.alliance if m.concern_below is not None
    )
    if low:
        reasons.append("low_alliance")
    drops = [d for m in registry.alliance
             for d in _drops_on(rows, m.key, float(m.drop_threshold), None)
             if d["rated_index"] > d["n_rated"] - 3]
    if drops:
        reasons.append("alliance_drop")
    if unrepaired:
        reasons.append("unrepaired_rupture")
    if _deteriorated(rows, registry):
        reasons.append("reliable_deterioration")
    if any(a["attendance"] == b["attendance"] == "no_show" for a, b in itertools.pairwise(rows)):
        reasons.append("no_shows")
    return reasons


def cases_to_discuss(
    sessions: pd.DataFrame, episodes: pd.DataFrame, registry: Registry
) -> list[tuple[str, str, list[str]]]:
    """``(therapist_id, episode_id, reasons)`` of open episodes with a reason, sorted."""
    rows = by_episode(sessions)
    per = episode_ruptures(sessions, episodes, registry)
    out = []
    for e in episode_rows(episodes):
        if e["termination"] != "ongoing":
            continue
        eid = e["episode_id"]
        reasons = _reasons(rows.get(eid, []), registry, per[eid]["unrepaired_flagged"])
        if reasons:
            out.append((e["therapist_id"], eid, reasons))
    return sorted(out)


# --- termination / outcomes / neurotype (helper B) ---
# Everything below is plain Python over the canonical frames, straight from domain.md §5, §6
# and §8 and the decisions in termination.py, outcomes.py, neurotype.py and privacy.py.

ND_TAGS = frozenset({"adhd", "autistic", "dyslexic", "dyspraxic", "tourette", "other_nd"})
TERMINATIONS = ("completed", "client_ended", "dropout", "external", "therapist_ended", "ongoing")
GROUPS = ("shared", "other_nd", "nd_therapist", "nt_therapist", "both_nt", "unknown")


def episode_termination(sessions: pd.DataFrame, episodes: pd.DataFrame) -> dict[str, Row]:
    """Episode id -> termination, ended, attended_sessions, intake_only, therapist_id."""
    rows = by_episode(sessions)
    out = {}
    for e in episode_rows(episodes):
        n = sum(1 for r in rows.get(e["episode_id"], []) if r["attendance"] == "attended")
        ended = e["termination"] != "ongoing"
        out[e["episode_id"]] = {"therapist_id": e["therapist_id"], "termination": e["termination"],
                                "ended": ended, "attended_sessions": n,
                                "intake_only": ended and n == 1}
    return out


def termination_summary(
    sessions: pd.DataFrame, episodes: pd.DataFrame, therapists: pd.DataFrame, by: str | None
) -> dict[Any, Row]:
    """Group -> episodes, ended, termination counts, dropout_rate (+Wilson), intake_only_rate."""
    per = episode_termination(sessions, episodes)
    groups = group_of(episodes, therapists, by)
    out: dict[Any, Row] = {}
    for eid, r in per.items():
        g = out.setdefault(groups[eid], {"episodes": 0, "ended": 0, "intake_only": 0,
                                         "sessions_attended": 0, **dict.fromkeys(TERMINATIONS, 0)})
        g["episodes"] += 1
        g["ended"] += r["ended"]
        g["intake_only"] += r["intake_only"]
        g["sessions_attended"] += r["attended_sessions"]
        g[r["termination"]] += 1
    for g in out.values():
        n = g["ended"]
        g["dropout_rate"] = g["dropout"] / n if n else math.nan
        g["dropout_rate_low"], g["dropout_rate_high"] = wilson(g["dropout"], n)
        g["intake_only_rate"] = g["intake_only"] / n if n else math.nan
    return out


def _scores(rows: list[Row], keys: tuple[str, ...]) -> list[tuple[float, ...]]:
    return [tuple(float(r[k]) for k in keys) for r in rows
            if r["attendance"] == "attended" and all(r.get(k) is not None for k in keys)]


def _change_flags(first: float, last: float, m: Any, pre: list[float]) -> tuple[Any, Any]:
    """(reliable improvement, reliable deterioration) of one pair; None when undefined."""
    gain = (last - first) if m.better == "higher" else (first - last)
    if m.reliable_change is not None:
        return gain >= m.reliable_change, -gain >= m.reliable_change
    sd = m.norm_sd if m.norm_sd is not None else (statistics.stdev(pre) if len(pre) > 1 else None)
    if sd is None:
        return None, None
    s_diff = math.sqrt(2) * sd * math.sqrt(1 - m.reliability)
    return gain > 1.96 * s_diff, -gain > 1.96 * s_diff


def _clinical(score: float, m: Any, pre: list[float]) -> Any:
    mean = statistics.fmean(pre) if pre else None
    sd = statistics.stdev(pre) if len(pre) > 1 else None
    c = m.cutoff(mean, sd)
    return None if c is None else m.is_clinical(score, c)


def episode_outcomes(sessions: pd.DataFrame, registry: Registry, measure: str) -> dict[str, Row]:
    """Episode id -> first, last, n, flags: first/last attended score of episodes with >= 2."""
    m = registry[measure]
    pairs = {}
    for eid, rows in by_episode(sessions).items():
        s = [x[0] for x in _scores(rows, (measure,))]
        if len(s) >= 2:
            pairs[eid] = (rows[0]["therapist_id"], s[0], s[-1], len(s))
    pre = [p[1] for p in pairs.values()]
    out = {}
    for eid, (tid, first, last, n) in pairs.items():
        ri, rd = _change_flags(first, last, m, pre)
        fc, lc = _clinical(first, m, pre), _clinical(last, m, pre)
        rec = None if fc is None else (fc and not lc)
        out[eid] = {"therapist_id": tid, "n_scores": n, "first_score": first, "last_score": last,
                    "change": last - first, "first_clinical": fc, "last_clinical": lc,
                    "reliable_improvement": ri, "reliable_deterioration": rd, "recovered": rec,
                    "reliable_recovery": None if rec is None or ri is None else (rec and ri),
                    "started_clinical": fc}
    return out


def episode_phq9_gad7(sessions: pd.DataFrame, registry: Registry) -> dict[str, Row]:
    """NHS Talking Therapies paired rule over sessions with both PHQ-9 and GAD-7."""
    phq, gad = registry["phq9"], registry["gad7"]
    out = {}
    for eid, rows in by_episode(sessions).items():
        s = _scores(rows, ("phq9", "gad7"))
        if len(s) < 2:
            continue
        (p0, g0), (p1, g1) = s[0], s[-1]
        pi, pd_ = _change_flags(p0, p1, phq, [])
        gi, gd = _change_flags(g0, g1, gad, [])
        case = p0 >= phq.clinical_cutoff or g0 >= gad.clinical_cutoff
        rec = case and p1 < phq.clinical_cutoff and g1 < gad.clinical_cutoff
        ri = (pi or gi) and not pd_ and not gd
        out[eid] = {"therapist_id": rows[0]["therapist_id"], "case_at_start": case,
                    "started_clinical": case, "recovered": rec, "reliable_improvement": ri,
                    "reliable_deterioration": (pd_ or gd) and not pi and not gi,
                    "reliable_recovery": rec and ri}
    return out


def outcome_summary(per: dict[str, Row], groups: dict[str, Any]) -> dict[Any, Row]:
    """Group -> paired, counts and rates (recovery over started_clinical, RI/RD over paired)."""
    out: dict[Any, Row] = {}
    keys = ("reliable_improvement", "reliable_deterioration", "recovered", "reliable_recovery",
            "started_clinical")
    for eid, r in per.items():
        g = out.setdefault(groups[eid], {"paired": 0, **dict.fromkeys(keys, 0)})
        g["paired"] += 1
        for k in keys:
            g[k] += bool(r[k])
    for g in out.values():
        for name, k, n in (("recovery_rate", "recovered", "started_clinical"),
                           ("reliable_improvement_rate", "reliable_improvement", "paired"),
                           ("reliable_deterioration_rate", "reliable_deterioration", "paired"),
                           ("reliable_recovery_rate", "reliable_recovery", "started_clinical")):
            g[name] = g[k] / g[n] if g[n] else math.nan
            g[f"{name}_low"], g[f"{name}_high"] = wilson(g[k], g[n])
    return out


def neurotype_group(client: str | None, therapist: str | None) -> str:
    """domain.md §6 group of one (client tags, therapist tags) pair, with Python sets."""
    c = set((client or "unknown").split(";"))
    t = set((therapist or "unknown").split(";"))
    if "unknown" in c or "unknown" in t:
        return "unknown"
    c_nd, t_nd = c & ND_TAGS, t & ND_TAGS
    if c_nd and t_nd:
        return "shared" if c_nd & t_nd else "other_nd"
    if t_nd:
        return "nd_therapist"
    return "nt_therapist" if c_nd else "both_nt"


def suppress(cells: dict[Any, int], min_cell: int) -> set[Any]:
    """Cells to suppress: 1..min_cell-1, then, one at a time, the next smallest (non-empty
    first) while exactly one is hidden — or while the hidden cells sit at the bounds an
    attacker who knows a primary holds 1..min_cell-1 could pin (every primary 1 and every
    complement 0, or only primaries, each min_cell-1: then only a non-empty cell helps)."""
    primary = {k for k, n in cells.items() if 0 < n < min_cell}
    hidden = set(primary)
    while hidden:
        rest = [(n == 0, n, i, k) for i, (k, n) in enumerate(cells.items()) if k not in hidden]
        total, n_pri = sum(cells[k] for k in hidden), len(hidden & primary)
        if len(hidden) == 1:
            pool = rest
        elif total == n_pri or (n_pri == len(hidden) and total == n_pri * (min_cell - 1)):
            pool = [r for r in rest if not r[0]]
        else:
            break
        if not pool:
            break
        hidden.add(min(pool)[3])
    return hidden


def group_summary(
    sessions: pd.DataFrame, episodes: pd.DataFrame, therapists: pd.DataFrame,
    registry: Registry, *, min_cell: int = 5,
) -> dict[str, Row]:
    """Neurotype group -> episodes, suppressed, dropout_rate, repair_rate, early_alliance,
    reliable_improvement_rate over the whole caseload (SRS / paired rule when present)."""
    tn = {r["therapist_id"]: r.get("therapist_neurotype") for r in therapists.to_dict("records")}
    term = episode_termination(sessions, episodes)
    rup = episode_ruptures(sessions, episodes, registry)
    present = {k for k in ("srs", "wai_sr", "phq9", "gad7")
               if k in sessions and sessions[k].notna().any()}
    a_key = "srs" if "srs" in present else ("wai_sr" if "wai_sr" in present else None)
    alli = episode_alliance(sessions, registry, a_key) if a_key else {}
    if {"phq9", "gad7"} <= present:
        outc = episode_phq9_gad7(sessions, registry)
    else:
        o_key = "phq9" if "phq9" in present else ("gad7" if "gad7" in present else None)
        outc = episode_outcomes(sessions, registry, o_key) if o_key else {}
    cells: dict[str, Row] = {g: {"episodes": 0, "ended": 0, "dropout": 0, "ruptures": 0,
                                 "repaired": 0, "early": [], "paired": 0, "ri": 0}
                             for g in GROUPS}
    for e in episode_rows(episodes):
        eid = e["episode_id"]
        c = cells[neurotype_group(e.get("client_neurotype"), tn[e["therapist_id"]])]
        c["episodes"] += 1
        c["ended"] += term[eid]["ended"]
        c["dropout"] += e["termination"] == "dropout"
        c["ruptures"] += rup[eid]["count"]
        c["repaired"] += rup[eid]["repaired"]
        if eid in alli:
            c["early"].append(alli[eid]["early_mean"])
        if eid in outc:
            c["paired"] += 1
            c["ri"] += bool(outc[eid]["reliable_improvement"])
    hidden = suppress({g: c["episodes"] for g, c in cells.items()}, min_cell)
    out = {}
    for g, c in cells.items():
        if g in hidden:
            out[g] = {"episodes": None, "suppressed": True, "dropout_rate": None,
                      "repair_rate": None, "early_alliance": None,
                      "reliable_improvement_rate": None}
            continue
        out[g] = {"episodes": c["episodes"], "suppressed": False,
                  "dropout_rate": c["dropout"] / c["ended"] if c["ended"] else None,
                  "repair_rate": c["repaired"] / c["ruptures"] if c["ruptures"] else None,
                  "early_alliance": statistics.fmean(c["early"]) if c["early"] else None,
                  "reliable_improvement_rate": c["ri"] / c["paired"] if c["paired"] else None}
    return out
