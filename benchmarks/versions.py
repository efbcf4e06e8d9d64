"""Before and after in one run: the same 1M-session tasks for two checkouts, interleaved.

``python benchmarks/versions.py BEFORE_SRC AFTER_SRC EXPORT [--repeat N]`` runs, for each of
the two source trees (``…/src`` of a ``git worktree`` of each commit), the tasks of
``benchmarks/tasks.py`` *of that tree* (``metrics``: load, then ``compute_metrics`` alone;
``filter``: the dashboard's filter changes) and the whole ``supervision metrics`` command,
alternating before/after ``N`` times so that both meet the same machine load; then the
pandas baseline, DuckDB's floor and the hand-written SQL of the core figures (``core_sql.py``,
issue 21's anchor: whole ``supervision metrics`` ≤ 2× it) once each in the same run.  Each
figure is the median of the runs (wall seconds; peak RSS in MiB, the maximum).  Results go to
stdout as JSON and as a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from run import run_once  # noqa: E402

FIELDS = {
    "metrics": ("compute_s", "load_s"),
    "filter": ("therapist_s", "compute_s", "default_therapist_s", "refresh_s"),
}


def _env(src: Path) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(src)}


def _run(cmd: list[str], src: Path) -> dict[str, float]:
    old = os.environ.copy()
    os.environ.update(_env(src))
    try:
        s = run_once(cmd)
    finally:
        os.environ.clear()
        os.environ.update(old)
    if s.rc != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{s.err}")
    return {"wall_s": s.wall_s, "rss_mib": s.rss_mib, **s.inner}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("before", type=Path, help="src/ of the 'before' checkout")
    p.add_argument("after", type=Path, help="src/ of the 'after' checkout")
    p.add_argument("export", type=Path, help="a Parquet export (benchmarks/out/1m-parquet)")
    p.add_argument("--repeat", type=int, default=3)
    args = p.parse_args(argv)
    args.export = args.export.resolve()
    py = sys.executable
    runs: dict[str, dict[str, list[dict[str, float]]]] = {"before": {}, "after": {}}
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(args.repeat):
            for label in ("before", "after"):
                src = getattr(args, label).resolve()
                tasks = src.parent / "benchmarks" / "tasks.py"
                plan = {
                    "metrics": [py, str(tasks), "metrics", str(args.export)],
                    "filter": [py, str(tasks), "filter", str(args.export)],
                    "metrics_cmd": [py, "-m", "supervision.cli", "metrics", str(args.export),
                                    "--out", str(Path(tmp) / "m.json")],
                }
                for name, cmd in plan.items():
                    print(f"{label} {name}", file=sys.stderr, flush=True)
                    runs[label].setdefault(name, []).append(_run(cmd, src))
        after = args.after.resolve()
        base = {
            "pandas": _run([py, str(HERE / "pandas_baseline.py"), str(args.export), "--out",
                            str(Path(tmp) / "p.json")], after),
            "floor": _run([py, str(HERE / "floor.py"), str(args.export)], after),
            "core_sql": _run([py, str(HERE / "core_sql.py"), str(args.export), "--out",
                              str(Path(tmp) / "c.json")], after),
        }
    out: dict[str, dict[str, float]] = {}
    for label, tasks_ in runs.items():
        for name, samples in tasks_.items():
            keys = set().union(*samples)
            out[f"{label}:{name}"] = {
                k: (max if k == "rss_mib" else statistics.median)(s[k] for s in samples if k in s)
                for k in keys}
    out |= base
    print(json.dumps(out, indent=1))
    print(table(out))
    return 0


def table(r: dict[str, dict[str, float]]) -> str:
    """The before/after Markdown table of issue 13's rows."""
    pandas_c, floor_w = r["pandas"].get("compute_s"), r["floor"]["wall_s"]
    anchor_w = r["core_sql"]["wall_s"] if "core_sql" in r else None

    def row(what: str, key: str, field: str, ratio: str | None = None) -> str:
        b, a = r[f"before:{key}"].get(field), r[f"after:{key}"].get(field)
        cells = [f"{b:.2f}" if b is not None else "—", f"{a:.2f}" if a is not None else "—"]
        extra = ""
        if ratio == "pandas" and pandas_c and a:
            extra = (f"{pandas_c / b:.2f}× → {pandas_c / a:.2f}× faster than pandas "
                     f"({pandas_c:.2f} s)")
        if ratio == "floor" and a:
            extra = f"{b / floor_w:.1f}× → {a / floor_w:.1f}× the floor ({floor_w:.2f} s)"
        if ratio == "anchor" and a and anchor_w:
            extra = (f"{b / anchor_w:.1f}× → {a / anchor_w:.1f}× the hand-written SQL "
                     f"({anchor_w:.2f} s; target ≤ 2×)")
        return f"| {what} | {cells[0]} | {cells[1]} | {extra} |"

    lines = ["| 1M sessions, median s | before | after | against |", "|---|---|---|---|",
             row("`compute_metrics` (loaded caseload)", "metrics", "compute_s", "pandas"),
             row("whole `supervision metrics` command (Parquet in, JSON out)", "metrics_cmd",
                 "wall_s", "floor"),
             row("the same, against the core figures as one hand-written SQL statement",
                 "metrics_cmd", "wall_s", "anchor"),
             row("filter: another therapist and another year (summaries, no drawing)",
                 "filter", "compute_s"),
             row("filter: another therapist, dates already shown", "filter", "therapist_s"),
             row("filter: another therapist, the default dates", "filter",
                 "default_therapist_s"),
             row("filter: whole app refresh, new therapist and dates (with figures)", "filter",
                 "refresh_s"),
             f"| peak RSS of the filter task, MiB | {r['before:filter']['rss_mib']:.0f} | "
             f"{r['after:filter']['rss_mib']:.0f} | |",
             f"| peak RSS of `supervision metrics`, MiB | "
             f"{r['before:metrics_cmd']['rss_mib']:.0f} | {r['after:metrics_cmd']['rss_mib']:.0f}"
             f" | |"]
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
