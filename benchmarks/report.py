"""Write ``benchmarks/RESULTS.md`` from the samples ``run.py`` collected.

``python benchmarks/report.py`` re-renders the table from ``benchmarks/out/results.json``
without re-running anything.
"""

from __future__ import annotations

import json
import math
import os
import platform
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
NOT_YET = "not measured yet"

ROWS: tuple[tuple[str, str, str], ...] = (
    # (key in results, label, what the inner time covers)
    ("validate_csv", "`supervision validate` CSV", ""),
    ("validate_parquet", "`supervision validate` Parquet", ""),
    ("load_csv", "validate + load, CSV (`load_export`)", "load_export"),
    ("load_parquet", "validate + load, Parquet (`load_export`)", "load_export"),
    ("metrics_cmd", "`supervision metrics` Parquet → JSON", ""),
    ("metrics", "`compute_metrics` (after load)", "compute_metrics"),
    ("pandas_parquet", "(a) pandas baseline, Parquet", "read / compute"),
    ("pandas_csv", "(a) pandas baseline, CSV", "read / compute"),
    ("floor_parquet", "(b) DuckDB floor, Parquet", "queries"),
    ("floor_csv", "(b) DuckDB floor, CSV", "queries"),
    ("core_sql", "(c) hand-written SQL of the core figures, Parquet", "statement + JSON"),
    ("filter", "filter change (therapist + date range)", "summaries / app refresh"),
)


def machine(code: str | None = None) -> list[str]:
    """CPU model, cores, RAM, OS, Python and library versions."""
    cpu = "unknown"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    ram = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    libs = ", ".join(f"{p} {_version(p)}" for p in
                     ("duckdb", "ibis-framework", "pandas", "pyarrow", "voila", "plotly"))
    return [f"- Code: {code or git_state()}",
            f"- CPU: {cpu}; {os.cpu_count()} logical cores; RAM {ram:.1f} GiB",
            f"- OS: {platform.platform()}",
            f"- Python {platform.python_version()} ({sys.executable}); {libs}"]


def git_state() -> str:
    """Commit of the tree measured, and whether src/ had uncommitted changes."""
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                              text=True, cwd=HERE, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "../src"],
                               capture_output=True, text=True, cwd=HERE, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return "unknown (no git)"
    return f"commit {head}" + (" + uncommitted changes in src/" if dirty.strip() else "")


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "absent"


def _s(v: Any) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "—"
    return f"{v:.3f}" if v < 10 else f"{v:.1f}"


def _row(label: str, r: dict[str, Any] | None) -> str:
    if not r:
        return f"| {label} | {NOT_YET} | | | |"
    if "error" in r:
        return f"| {label} | failed: {str(r['error']).strip().splitlines()[-1][:80]} | | | |"
    inner = [r.get(k) for k in ("read_s", "compute_s", "refresh_s") if r.get(k) is not None]
    if label.startswith("filter change (therapist only"):
        inner = [r.get("therapist_s")]
    inner_txt = " / ".join(_s(v) for v in inner) or "—"
    return f"| {label} | {inner_txt} | {_s(r.get('wall_s'))} | {r.get('rss_mib', 0):.0f} | " \
           f"{r.get('runs', '')} |"


def size_table(size: str, res: dict[str, Any]) -> list[str]:
    """The table of one size."""
    lines = [f"### {size} ({res.get('sessions', '?'):,} sessions)" if isinstance(
        res.get("sessions"), int) else f"### {size}", "",
        "| what | computation s (median) | whole command s (median) | peak RSS MiB | runs |",
        "|---|---|---|---|---|"]
    lines += [_row(label, res.get(key)) for key, label, _ in ROWS]
    f = res.get("filter")
    if f and f.get("therapist_s") is not None:
        lines.append(_row("filter change (therapist only, same dates)", f)
                     .replace(f"| {_s(f.get('wall_s'))} |", "| (same process) |", 1))
    if f and f.get("default_therapist_s") is not None:
        lines.append(f"| filter change (therapist only, the default dates the server prepared)"
                     f" | {_s(f['default_therapist_s'])} | (same process) | | "
                     f"{f.get('runs', '')} |")
    sc = res.get("since")
    if sc and "error" not in sc and sc.get("since_s") is not None:
        lines.append(f"| start-date change (same therapist and end date): summaries / the "
                     f"per-episode table alone (CPU {_s(sc.get('since_cpu_s'))} / "
                     f"{_s(sc.get('since_table_cpu_s'))}) | {_s(sc['since_s'])} / "
                     f"{_s(sc.get('since_table_s'))} | {_s(sc.get('wall_s'))} | "
                     f"{sc.get('rss_mib', 0):.0f} | {sc.get('runs', '')} |")
    v = res.get("voila")
    if v and "error" not in v:
        if v.get("prepare_s") is not None:
            lines.append(f"| Voilà server start: read, validate, save the kernels' copy | "
                         f"{_s(v['prepare_s'])} | | | 1 |")
        lines.append(f"| Voilà: empty notebook shown | | {_s(v['empty_s'])} | | {v['runs']} |")
        lines.append(f"| Voilà: supervisor dashboard, all {v['plots']} plots shown | | "
                     f"{_s(v['supervisor_s'])} | {v['rss_mib']:.0f} (server + kernels) | "
                     f"{v['runs']} |")
        for key, what in (("therapist_change_s", "another therapist"),
                          ("date_change_s", "another start date")):
            if v.get(key) is not None:
                lines.append(f"| Chromium: {what}, change to loading line gone | | "
                             f"{_s(v[key])} | | {v['runs']} |")
    else:
        why = v.get("error", "") if v else ""
        lines.append(f"| Voilà: supervisor dashboard vs empty notebook | {NOT_YET} {why} | | | |")
    return [*lines, ""]


def _get(res: dict[str, Any], key: str, field: str) -> float | None:
    r = res.get(key) or {}
    v = r.get(field)
    return float(v) if isinstance(v, (int, float)) else None


def _verdict(ok: bool | None, text: str) -> str:
    mark = NOT_YET if ok is None else ("**met**" if ok else "**missed**")
    return f"| {text} | {mark} |"


def targets(results: dict[str, Any]) -> list[str]:
    """Issue 5's targets at 1M sessions (and 5M for memory), met / missed / not measured."""
    r = results.get("1m") or {}
    pandas_c, ours_c = _get(r, "pandas_parquet", "compute_s"), _get(r, "metrics", "compute_s")
    cmd, floor = _get(r, "metrics_cmd", "wall_s"), _get(r, "floor_parquet", "wall_s")
    filt = _get(r, "filter", "compute_s")
    v = r.get("voila") or {}
    rows = ["| target (issue 13) | result |", "|---|---|"]
    speed = pandas_c / ours_c if pandas_c and ours_c else None
    rows.append(_verdict(None if speed is None else speed >= 10,
                         f"1M: `compute_metrics` ≥ 10× faster than pandas: "
                         f"{'—' if speed is None else f'{speed:.2f}×'} "
                         f"({_s(pandas_c)} s vs {_s(ours_c)} s)"))
    ratio = cmd / floor if cmd and floor else None
    rows.append(_verdict(None if ratio is None else ratio <= 3,
                         f"1M: whole `metrics` command ≤ 3× DuckDB floor's whole process: "
                         f"{'—' if ratio is None else f'{ratio:.1f}×'} "
                         f"({_s(cmd)} s vs {_s(floor)} s)"))
    for key, what in (("therapist_change_s", "another therapist"),
                      ("date_change_s", "another start date")):
        got = v.get(key)
        rows.append(_verdict(None if got is None else got <= 0.3,
                             f"1M, Chromium: {what} ≤ 0.3 s from the change until the loading "
                             f"line is gone: {_s(got)} s"))
    alone = _get(r, "filter", "therapist_s")
    opened = _get(r, "filter", "default_therapist_s")
    rows.append(f"| (the kernel's share, no browser: {_s(filt)} s therapist and dates; "
                f"{_s(alone)} s therapist only, same dates; {_s(opened)} s therapist only, "
                f"default dates) | |")
    vr = v.get("supervisor_s", 0) / v["empty_s"] if v.get("empty_s") else None
    rows.append(_verdict(None if vr is None else vr <= 1.5,
                         f"1M: supervisor dashboard's first tab, all plots ≤ 1.5× empty notebook: "
                         f"{'—' if vr is None else f'{vr:.1f}×'}"))
    big = results.get("5m") or {}
    peaks = [x.get("rss_mib") for x in big.values() if isinstance(x, dict) and "rss_mib" in x]
    peak = max(peaks) if peaks else None
    rows.append(_verdict(None if peak is None else peak <= 4096,
                         f"5M sessions complete within 4 GB: peak RSS "
                         f"{'—' if peak is None else f'{peak:.0f} MiB'}"))
    return rows


def startup(results: dict[str, Any]) -> list[str]:
    """Interpreter start and import times."""
    s = results.get("startup") or {}
    imp = s.get("import_supervision") or {}
    return ["| command | whole process s (median) | inner s |", "|---|---|---|",
            f"| `python -c pass` | {_s(_get(s, 'python', 'wall_s'))} | |",
            f"| `python -c 'import duckdb'` | {_s(_get(s, 'import_duckdb', 'wall_s'))} | |",
            f"| `python -c 'import pandas, statsmodels…'` | "
            f"{_s(_get(s, 'import_pandas', 'wall_s'))} | |",
            f"| `import supervision` / + `supervision.io`, `supervision.metrics` | "
            f"{_s(imp.get('wall_s'))} | {_s(imp.get('import_s'))} / "
            f"{_s(imp.get('import_all_s'))} |", ""]


def write_report(results: dict[str, Any], path: Path, *, quick: bool = False) -> None:
    """Render RESULTS.md (machine, startup, one table per size, targets)."""
    sizes = [k for k in ("10k", "100k", "1m", "5m") if k in results]
    head = (HERE / "results_head.md").read_text() if (HERE / "results_head.md").exists() else ""
    lines = ["# Benchmark results", "", head.strip(), "",
             results.get("how") or (
                 f"Last run started {results.get('started')}: `python benchmarks/run.py "
                 f"{' '.join(results.get('argv', ['--quick'] if quick else []))}`; "
                 f"sizes in this file: {', '.join(sizes)}."), "",
             "## Machine", "", *machine(results.get("code")), "",
             "## Start-up", "", *startup(results), "## Timings", ""]
    for size in sizes:
        lines += size_table(size, results[size])
    lines += ["## Targets at 1M sessions (issue 13)", "", *targets(results), ""]
    tail = (HERE / "results_tail.md")
    if tail.exists():
        lines += [tail.read_text().strip(), ""]
    path.write_text("\n".join(lines))


if __name__ == "__main__":
    data = json.loads((HERE / "out" / "results.json").read_text())
    write_report(data, HERE / "RESULTS.md")
