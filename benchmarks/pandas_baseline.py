"""The plain-pandas baseline: the figures of ``supervision metrics``, written as an analyst would.

Issue 5 asks for "a plain pandas implementation of the same figures, written plainly as a data
analyst would (vectorised groupby, no per-row loops)".  This module is that: it reads the export
files with pandas, sorts the sessions once, and derives every figure of domain.md §3–§6 with
``groupby`` / ``shift`` / ``cumcount`` / boolean masks.  No DuckDB, no Ibis, no Python loop over
sessions or episodes (the only loops run over measures, therapists' *result rows* and the six
neurotype groups).

It produces the same JSON shape as :func:`supervision.metrics.compute_metrics` for the figures it
covers (``practice`` and every therapist: ``episodes``, ``sessions_attended``, ``alliance``,
``ruptures``, ``termination``, ``outcomes`` and ``neurotype.groups``), so
``tests/test_pandas_baseline.py`` can check that both give the same numbers on the demo export:
the timing comparison in ``benchmarks/RESULTS.md`` is then apples to apples.  It leaves out the
``cases`` list (§7) — that is less work for pandas, so the comparison favours the baseline.

Definitions follow domain.md and the metric modules' docstrings:

* a *rated session* is an attended session with a value on the measure; sessions are ordered by
  ``session_date`` then ``source_row`` (the data row in the sessions file, from 1);
* ``early_mean`` = mean of an episode's first three rated sessions, averaged over episodes;
  ``mean_slope`` = least-squares slope on the rated index for episodes with >= 3 rated sessions,
  ``(n Σxy - Σx Σy) / (n Σx² - (Σx)²)``, averaged; ``low_share`` = rated sessions below
  ``concern_below`` / rated sessions;
* a *flagged* rupture is an attended session whose ``rupture`` is not ``none``, repaired when
  ``repair == "resolved"`` on it or on a later session of the episode; a *drop* rupture is a rated
  session at least ``drop_threshold`` below the previous rated session, repaired when one of the
  next three rated sessions is back at the previous level; a session that is both counts once,
  as flagged (and a session that drops on two measures counts once, repaired if either repairs);
* ``dropout_rate`` = dropout / ended; ``intake_only_rate`` = ended with exactly one attended
  session / ended; outcomes from the first and last attended score of episodes with >= 2 scores;
  the PHQ-9 + GAD-7 paired rule of NHS Talking Therapies over sessions with both scores.

Run it as a command (``python benchmarks/pandas_baseline.py EXPORT_DIR [--out FILE]``); it prints
its own timings (``read_s``, ``compute_s``) as one JSON line on stderr for ``benchmarks/run.py``.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from statsmodels.stats.proportion import proportion_confint

from supervision.measures import Registry, default_registry

TERMINATION = ("completed", "client_ended", "dropout", "external", "therapist_ended", "ongoing")
GROUPS = ("shared", "other_nd", "nd_therapist", "nt_therapist", "both_nt", "unknown")
ND_TAGS = frozenset({"adhd", "autistic", "dyslexic", "dyspraxic", "tourette", "other_nd"})
COUNTS = frozenset({
    "episodes", "sessions_attended", "rated_sessions", "flagged", "drop", "count", "repaired",
    "unrepaired_at_end", "ended", "paired", "reliable_improvement", "reliable_deterioration",
    "recovered", "reliable_recovery"})
TEXT = {"client_id": "string", "therapist_id": "string", "episode_id": "string"}


# ---------------------------------------------------------------------------- reading
def _table_file(folder: Path, name: str) -> Path | None:
    for ext in (".parquet", ".csv"):
        if (folder / f"{name}{ext}").exists():
            return folder / f"{name}{ext}"
    return None


def _read(path: Path) -> pd.DataFrame:
    if path.suffix == ".parquet":
        return pd.read_parquet(path)
    return pd.read_csv(path, dtype=TEXT, encoding="utf-8-sig")


def read_export(folder: str | Path) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Read ``sessions``, ``episodes`` and ``therapists`` (CSV or Parquet) from an export folder.

    Returns the three frames with defaults filled (attendance ``attended``, rupture ``none``,
    neurotype ``unknown``, termination ``ongoing``) and ``source_row`` (1-based data row).
    """
    folder = Path(folder)
    found = {n: _table_file(folder, n) for n in ("sessions", "episodes", "therapists")}
    s = _read(found["sessions"])
    if "source_row" not in s.columns:
        s["source_row"] = np.arange(1, len(s) + 1)
    s["session_date"] = pd.to_datetime(s["session_date"])
    s["attendance"] = s.get("attendance", pd.Series("attended", index=s.index)).fillna("attended")
    s["rupture"] = s.get("rupture", pd.Series("none", index=s.index)).fillna("none")
    if "repair" not in s.columns:
        s["repair"] = pd.NA
    if "episode_id" not in s.columns:
        s["episode_id"] = s["client_id"] + "~" + s["therapist_id"]
    e = _read(found["episodes"])
    e["termination"] = e.get("termination", pd.Series("ongoing", index=e.index)).fillna("ongoing")
    e["client_neurotype"] = e.get("client_neurotype", pd.Series(index=e.index)).fillna("unknown")
    t = _read(found["therapists"]) if found["therapists"] else e[["therapist_id"]].drop_duplicates()
    t["therapist_neurotype"] = (
        t.get("therapist_neurotype", pd.Series(index=t.index)).fillna("unknown")
    )
    return s, e, t


# ---------------------------------------------------------------------------- per episode
def alliance_episodes(s: pd.DataFrame, col: str, concern: float | None) -> pd.DataFrame:
    """Per episode with >= 1 rated session: rated, early_mean, slope (NaN if < 3), low."""
    r = s.loc[s["attended"] & s[col].notna(), ["episode_id", col]]
    x = r.groupby("episode_id", sort=False).cumcount().to_numpy() + 1.0
    y = r[col].to_numpy()
    parts = pd.DataFrame({"episode_id": r["episode_id"].to_numpy(), "y": y, "x": x,
                          "xy": x * y, "xx": x * x, "early": np.where(x <= 3, y, np.nan),
                          "low": (y < concern) if concern is not None else np.nan})
    g = parts.groupby("episode_id", sort=False).agg(
        rated=("y", "size"), sx=("x", "sum"), sy=("y", "sum"), sxy=("xy", "sum"),
        sxx=("xx", "sum"), early_mean=("early", "mean"), low=("low", "sum"))
    n = g["rated"]
    slope = (n * g["sxy"] - g["sx"] * g["sy"]) / (n * g["sxx"] - g["sx"] ** 2)
    g["slope"] = slope.where(n >= 3)
    if concern is None:
        g["low"] = np.nan
    return g[["rated", "early_mean", "slope", "low"]]


def drop_events(s: pd.DataFrame, col: str, threshold: float) -> pd.DataFrame:
    """Rated sessions at least ``threshold`` below the previous rated one, with ``repaired``.

    Repaired when one of the next three rated sessions is >= the level before the drop.
    """
    r = s.loc[s["attended"] & s[col].notna(), ["episode_id", "pos", col]]
    g = r.groupby("episode_id", sort=False)[col]
    prev = g.shift(1)
    nxt = pd.concat([g.shift(-k) for k in (1, 2, 3)], axis=1)
    repaired = nxt.ge(prev, axis=0).any(axis=1)
    hit = (prev - r[col]) >= threshold
    return pd.DataFrame({"episode_id": r["episode_id"][hit], "pos": r["pos"][hit],
                         "repaired": repaired[hit]})


def rupture_episodes(s: pd.DataFrame, drops: dict[str, float]) -> pd.DataFrame:
    """Per episode: flagged, drop, count, repaired, last_repaired (NaN when no rupture)."""
    resolved_later = (s["repair"] == "resolved").iloc[::-1].groupby(
        s["episode_id"].iloc[::-1], sort=False).cummax().iloc[::-1]
    fl = s["attended"] & (s["rupture"] != "none")
    flagged = pd.DataFrame({"episode_id": s["episode_id"][fl], "pos": s["pos"][fl],
                            "repaired": resolved_later[fl], "flagged": True})
    dr = pd.concat([drop_events(s, c, t) for c, t in drops.items()] or [flagged.iloc[:0]])
    dr = dr.groupby(["episode_id", "pos"], sort=False, as_index=False)["repaired"].any()
    dr = dr[~dr.set_index(["episode_id", "pos"]).index.isin(
        flagged.set_index(["episode_id", "pos"]).index)]
    ev = pd.concat([flagged, dr.assign(flagged=False)], ignore_index=True).sort_values("pos")
    ev["repaired"] = ev["repaired"].astype(bool)
    per = ev.groupby("episode_id", sort=False).agg(
        flagged=("flagged", "sum"), count=("flagged", "size"), repaired=("repaired", "sum"),
        last_repaired=("repaired", "last"))
    per["drop"] = per["count"] - per["flagged"]
    return per


def outcome_episodes(s: pd.DataFrame, m: Any) -> pd.DataFrame:
    """Per episode with >= 2 attended scores: first, last and the reliable-change flags."""
    r = s.loc[s["attended"] & s[m.key].notna(), ["episode_id", m.key]]
    g = r.groupby("episode_id", sort=False)[m.key].agg(["size", "first", "last"])
    g = g[g["size"] >= 2]
    return _classify(g["first"], g["last"], m)


def _classify(first: pd.Series, last: pd.Series, m: Any) -> pd.DataFrame:
    sign = 1.0 if m.better == "higher" else -1.0
    gain = sign * (last - first)
    if m.reliable_change is not None:  # "at least" the published reliable-change points
        ri, rd = gain >= m.reliable_change, -gain >= m.reliable_change
    else:  # Jacobson–Truax: |post - pre| > 1.96 S_diff, SD_pre from norms or the sample
        bound = 1.96 * m.s_diff(float(first.std()))
        ri, rd = gain > bound, -gain > bound
    cut = m.cutoff(float(first.mean()), float(first.std()))
    clin0 = first >= cut if m.better == "lower" else first < cut
    clin1 = last >= cut if m.better == "lower" else last < cut
    out = pd.DataFrame({"ri": ri, "rd": rd, "clin0": clin0, "clin1": clin1})
    out["rec"] = clin0 & ~clin1
    out["rr"] = out["rec"] & out["ri"]
    return out


def paired_episodes(s: pd.DataFrame, reg: Registry) -> pd.DataFrame:
    """NHS Talking Therapies paired PHQ-9 + GAD-7 rule, per episode with >= 2 paired sessions."""
    phq, gad = reg["phq9"], reg["gad7"]
    r = s.loc[s["attended"] & s["phq9"].notna() & s["gad7"].notna(),
              ["episode_id", "phq9", "gad7"]]
    g = r.groupby("episode_id", sort=False).agg(
        n=("phq9", "size"), p0=("phq9", "first"), p1=("phq9", "last"),
        g0=("gad7", "first"), g1=("gad7", "last"))
    g = g[g["n"] >= 2]
    p, q = _classify(g["p0"], g["p1"], phq), _classify(g["g0"], g["g1"], gad)
    out = pd.DataFrame(index=g.index)
    out["clin0"] = p["clin0"] | q["clin0"]
    out["rec"] = out["clin0"] & ~p["clin1"] & ~q["clin1"]
    out["ri"] = (p["ri"] | q["ri"]) & ~p["rd"] & ~q["rd"]
    out["rd"] = (p["rd"] | q["rd"]) & ~p["ri"] & ~q["ri"]
    out["rr"] = out["rec"] & out["ri"]
    return out


def neurotype_group(client: pd.Series, therapist: pd.Series) -> pd.Series:
    """domain.md §6 group of each (client tags, therapist tags) pair, vectorised over episodes."""
    c = client.str.get_dummies(sep=";")
    t = therapist.str.get_dummies(sep=";").reindex(columns=c.columns.union(
        therapist.str.get_dummies(sep=";").columns), fill_value=0)
    c = c.reindex(columns=t.columns, fill_value=0)
    nd = [x for x in t.columns if x in ND_TAGS]
    c_nd, t_nd = c[nd].any(axis=1), t[nd].any(axis=1)
    shared = (c[nd].to_numpy() & t[nd].to_numpy()).any(axis=1) if nd else False
    unknown = c.get("unknown", 0).astype(bool) | t.get("unknown", 0).astype(bool)
    group = np.select(
        [unknown, c_nd & t_nd & shared, c_nd & t_nd, t_nd, c_nd],
        ["unknown", "shared", "other_nd", "nd_therapist", "nt_therapist"], default="both_nt")
    return pd.Series(group, index=client.index)


# ---------------------------------------------------------------------------- assembling
def episode_frame(s: pd.DataFrame, e: pd.DataFrame, t: pd.DataFrame,
                  reg: Registry) -> tuple[pd.DataFrame, dict[str, list[str]]]:
    """One row per episode with every per-episode figure; plus the measures present."""
    s = s.sort_values(["episode_id", "session_date", "source_row"], kind="stable",
                      ignore_index=True)
    s["pos"] = np.arange(len(s))
    s["attended"] = s["attendance"].eq("attended")
    present = {k: [m.key for m in getattr(reg, k) if m.key in s and s[m.key].notna().any()]
               for k in ("alliance", "outcome")}
    ep = e.set_index("episode_id")[["therapist_id", "termination", "client_neurotype"]]
    ep["ended"] = ep["termination"].ne("ongoing")
    ep["attended"] = s[s["attended"]].groupby("episode_id").size().reindex(ep.index, fill_value=0)
    ep["intake_only"] = ep["ended"] & ep["attended"].eq(1)
    tn = t.set_index("therapist_id")["therapist_neurotype"]
    ep["group"] = neurotype_group(ep["client_neurotype"], ep["therapist_id"].map(tn))
    parts = [ep]
    for k in present["alliance"]:
        parts.append(alliance_episodes(s, k, reg[k].concern_below).add_prefix(f"{k}:"))
    drops = {k: reg[k].drop_threshold for k in present["alliance"]
             if reg[k].drop_threshold is not None}
    parts.append(rupture_episodes(s, drops).add_prefix("r:"))
    for k in present["outcome"]:
        parts.append(outcome_episodes(s, reg[k]).add_prefix(f"{k}:"))
    if {"phq9", "gad7"} <= set(present["outcome"]):
        present["outcome"].append("phq9_gad7")
        parts.append(paired_episodes(s, reg).add_prefix("phq9_gad7:"))
    out = pd.concat(parts, axis=1, join="outer").loc[ep.index]
    return out, present


def _wilson(k: pd.Series, n: pd.Series) -> tuple[pd.Series, pd.Series]:
    ok = n > 0
    lo, hi = proportion_confint(k[ok], n[ok], method="wilson")
    return (pd.Series(lo, index=k[ok].index).reindex(k.index).clip(0, 1),
            pd.Series(hi, index=k[ok].index).reindex(k.index).clip(0, 1))


def summary_frame(ep: pd.DataFrame, key: pd.Series, present: dict[str, list[str]]) -> pd.DataFrame:
    """The figures of domain.md §9 per value of ``key`` (a therapist id or one practice label)."""
    g = ep.groupby(key, sort=True)
    f = pd.DataFrame({"episodes": g.size(), "sessions_attended": g["attended"].sum()})
    for k in present["alliance"]:
        f[f"alliance.{k}.rated_sessions"] = g[f"{k}:rated"].sum()
        f[f"alliance.{k}.early_mean"] = g[f"{k}:early_mean"].mean()
        f[f"alliance.{k}.mean_slope"] = g[f"{k}:slope"].mean()
        f[f"alliance.{k}.low_share"] = (g[f"{k}:low"].sum(min_count=1)
                                        / f[f"alliance.{k}.rated_sessions"].replace(0, np.nan))
    for c in ("flagged", "drop", "count", "repaired"):
        f[f"ruptures.{c}"] = g[f"r:{c}"].sum()
    f["ruptures.per_100_sessions"] = 100 * f["ruptures.count"] / f["sessions_attended"].replace(
        0, np.nan)
    f["ruptures.repair_rate"] = f["ruptures.repaired"] / f["ruptures.count"].replace(0, np.nan)
    lo, hi = _wilson(f["ruptures.repaired"], f["ruptures.count"])
    f["ruptures.repair_rate_ci.0"], f["ruptures.repair_rate_ci.1"] = lo, hi
    f["ruptures.unrepaired_at_end"] = (ep["ended"] & ep["r:last_repaired"].eq(False)).groupby(
        key).sum()
    f["termination.ended"] = g["ended"].sum()
    counts = pd.crosstab(key, ep["termination"]).reindex(columns=list(TERMINATION), fill_value=0)
    for c in TERMINATION:
        f[f"termination.counts.{c}"] = counts[c]
    ended = f["termination.ended"].replace(0, np.nan)
    f["termination.dropout_rate"] = f["termination.counts.dropout"] / ended
    lo, hi = _wilson(f["termination.counts.dropout"], f["termination.ended"])
    f["termination.dropout_rate_ci.0"], f["termination.dropout_rate_ci.1"] = lo, hi
    f["termination.intake_only_rate"] = g["intake_only"].sum() / ended
    for k in present["outcome"]:
        f[f"outcomes.{k}.paired"] = g[f"{k}:ri"].count()
        for name, c in (("reliable_improvement", "ri"), ("reliable_deterioration", "rd"),
                        ("recovered", "rec"), ("reliable_recovery", "rr")):
            f[f"outcomes.{k}.{name}"] = g[f"{k}:{c}"].sum()
    counts = [c for c in f.columns if c.rsplit(".", 1)[-1] in COUNTS or ".counts." in c]
    f[counts] = f[counts].astype("int64")
    return f


def group_frame(ep: pd.DataFrame, key: pd.Series, present: dict[str, list[str]],
                min_cell: int) -> pd.DataFrame:
    """Neurotype groups per ``key``: episodes, early_alliance and rates, small cells suppressed."""
    g = ep.groupby([key, ep["group"]], sort=True)
    f = pd.DataFrame({"episodes": g.size()})
    alliance = present["alliance"][0] if present["alliance"] else None
    f["early_alliance"] = g[f"{alliance}:early_mean"].mean() if alliance else np.nan
    f["dropout_rate"] = ((ep["termination"] == "dropout").groupby([key, ep["group"]]).sum()
                         / g["ended"].sum().replace(0, np.nan))
    f["repair_rate"] = g["r:repaired"].sum() / g["r:count"].sum().replace(0, np.nan)
    out = "phq9_gad7" if "phq9_gad7" in present["outcome"] else (present["outcome"] or [None])[0]
    f["reliable_improvement_rate"] = (g[f"{out}:ri"].sum() / g[f"{out}:ri"].count().replace(
        0, np.nan)) if out else np.nan
    full = pd.MultiIndex.from_product([f.index.levels[0], list(GROUPS)])
    f = f.reindex(full)
    f["episodes"] = f["episodes"].fillna(0)
    f["suppressed"] = suppressed_cells(f["episodes"], min_cell)
    f.loc[f["suppressed"], f.columns.drop("suppressed")] = np.nan
    return f


def suppressed_cells(n: pd.Series, min_cell: int) -> pd.Series:
    """Small cells (1 to ``min_cell - 1`` episodes) plus complementary suppression (§8).

    ``n`` is indexed by (key, group) with all six groups per key.  Where a key has exactly
    one small cell, its smallest other non-empty cell is suppressed too (the first empty
    cell, in group order, when all others are empty), so ``total - shown`` reveals nothing.
    """
    primary = (n > 0) & (n < min_cell)
    key = n.index.get_level_values(0)
    lone = primary.groupby(key).transform("sum").eq(1)
    cand = pd.DataFrame({"key": key, "zero": n.eq(0).to_numpy(), "n": n.to_numpy(),
                         "order": np.tile(np.arange(len(GROUPS)), len(n) // len(GROUPS))},
                        index=n.index)[(~primary & lone).to_numpy()]
    first = cand.sort_values(["key", "zero", "n", "order"], kind="stable").drop_duplicates("key")
    out = primary.copy()
    out[first.index] = True
    return out


def _clean(v: Any) -> Any:
    if v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NA:
        return None
    if isinstance(v, (np.bool_, bool)):
        return bool(v)
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (np.floating,)):
        return None if math.isnan(v) else float(v)
    return v


def _nest(row: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for path, v in row.items():
        *head, last = str(path).split(".")
        node = out
        for h in head:
            node = node.setdefault(h, {})
        node[last] = _clean(v)
    for sect, name in (("ruptures", "repair_rate_ci"), ("termination", "dropout_rate_ci")):
        ci = out[sect].pop(name)
        out[sect][name] = None if ci["0"] is None else [ci["0"], ci["1"]]
    return out


def _groups(gf: pd.DataFrame) -> dict[str, dict[str, Any]]:
    """``{key: {group: {figure: value}}}`` with every one of the six groups present."""
    cells = gf.to_dict("index")
    out: dict[str, dict[str, Any]] = {}
    for key in gf.index.get_level_values(0).unique():
        out[str(key)] = {
            grp: {c: int(v) if c == "episodes" and v == v else _clean(v)
                  for c, v in cells[(key, grp)].items()} if (key, grp) in cells
            else {"episodes": 0, "suppressed": False}
            for grp in GROUPS}
    return out


def baseline_metrics(folder: str | Path, *, min_cell: int = 5,
                     registry: Registry | None = None) -> dict[str, Any]:
    """The ``{"practice": M, "therapists": {id: M}}`` figures of an export folder, in pandas."""
    s, e, t = read_export(folder)
    return metrics_from_frames(s, e, t, min_cell=min_cell, registry=registry)


def metrics_from_frames(s: pd.DataFrame, e: pd.DataFrame, t: pd.DataFrame, *, min_cell: int = 5,
                        registry: Registry | None = None) -> dict[str, Any]:
    """:func:`baseline_metrics` from frames already read (the part timed as "compute")."""
    reg = registry or default_registry()
    ep, present = episode_frame(s, e, t, reg)
    practice = pd.Series("practice", index=ep.index)
    fp, ft = summary_frame(ep, practice, present), summary_frame(ep, ep["therapist_id"], present)
    gp = group_frame(ep, practice, present, min_cell)
    gt = group_frame(ep, ep["therapist_id"], present, min_cell)
    result: dict[str, Any] = {"practice": _nest(fp.to_dict("index")["practice"]),
                              "therapists": {}}
    result["practice"]["neurotype"] = {"groups": _groups(gp)["practice"]}
    groups = _groups(gt)
    for tid, row in ft.to_dict("index").items():  # output formatting, not computing
        m = _nest(row)
        m["neurotype"] = {"groups": groups[str(tid)]}
        result["therapists"][str(tid)] = m
    return result


def main(argv: list[str] | None = None) -> int:
    """``python benchmarks/pandas_baseline.py EXPORT [--out FILE]``: timings on stderr."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("path")
    p.add_argument("--out")
    p.add_argument("--min-cell", type=int, default=5)
    args = p.parse_args(argv)
    t0 = time.perf_counter()
    s, e, t = read_export(args.path)
    t1 = time.perf_counter()
    result = metrics_from_frames(s, e, t, min_cell=args.min_cell)
    t2 = time.perf_counter()
    text = json.dumps(result, indent=2)
    if args.out:
        Path(args.out).write_text(text + "\n", encoding="utf-8")
    else:
        sys.stdout.write(text + "\n")
    print(json.dumps({"read_s": t1 - t0, "compute_s": t2 - t1}), file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
