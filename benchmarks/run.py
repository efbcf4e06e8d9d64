"""``make bench``: generate exports of 100k, 1M and 5M sessions and time supervision against
the plain-pandas baseline, DuckDB's floor and the hand-written SQL of the core figures
(``core_sql.py``, issue 21's anchor), in one run (issue 5).

Every measurement is a fresh subprocess.  The parent records its wall time (interpreter start,
imports, work, exit) and its peak resident memory (``ru_maxrss`` of exactly that child, from
``os.wait4``); the child reports its inner computation time on stderr (``benchmarks/tasks.py``,
``pandas_baseline.py``, ``floor.py``, ``core_sql.py``).  Each figure is the median of
``--repeat`` runs (default 5 at 100k, 3 at 1M and 5M); peak RSS is the maximum over the runs.

Usage::

    python benchmarks/run.py                   # 100k, 1M, 5M  (what `make bench` runs)
    python benchmarks/run.py --sizes 100k,1m   # a subset
    python benchmarks/run.py --quick           # smoke run: 10k sessions, one repeat
    python benchmarks/run.py --reuse           # keep exports already in benchmarks/out/
    python benchmarks/run.py --sizes 5m --only validate_parquet,metrics_cmd --merge

Raw samples go to ``benchmarks/out/results.json``; the table to ``benchmarks/RESULTS.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUT = HERE / "out"
BIN = Path(sys.executable).parent
PY = sys.executable
SIZES = {"10k": 1_000, "100k": 10_000, "1m": 100_000, "5m": 500_000}
REPEATS = {"10k": 1, "100k": 5, "1m": 3, "5m": 3}
SEED = 7


@dataclass
class Sample:
    """One subprocess run: wall seconds, peak RSS in MiB, inner timings, exit status."""

    wall_s: float
    rss_mib: float
    inner: dict[str, float] = field(default_factory=dict)
    rc: int = 0
    err: str = ""


def run_once(cmd: list[str], *, timeout: float = 3600) -> Sample:
    """Run ``cmd``; its wall time, its own peak RSS (``os.wait4``) and its last stderr JSON."""
    with tempfile.TemporaryFile() as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err, cwd=HERE.parent)
        deadline = t0 + timeout
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() > deadline:
                proc.kill()
            time.sleep(0.005)
        wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        err.seek(0)
        text = err.read().decode("utf-8", "replace")
    inner: dict[str, float] = {}
    for line in reversed(text.strip().splitlines()):
        if line.startswith("{"):
            try:
                inner = json.loads(line)
            except json.JSONDecodeError:
                continue
            break
    return Sample(wall, usage.ru_maxrss / 1024, inner, proc.returncode,
                  "" if proc.returncode == 0 else text[-2000:])


def measure(cmd: list[str], repeat: int) -> dict[str, object]:
    """Median wall and inner timings over ``repeat`` runs; maximum peak RSS."""
    samples = [run_once(cmd) for _ in range(repeat)]
    ok = [s for s in samples if s.rc == 0]
    if not ok:
        return {"cmd": cmd, "error": samples[-1].err, "runs": repeat}
    keys = set().union(*(s.inner for s in ok))
    inner = {k: statistics.median(s.inner[k] for s in ok if k in s.inner) for k in keys}
    return {"cmd": cmd, "runs": len(ok), "wall_s": statistics.median(s.wall_s for s in ok),
            "rss_mib": max(s.rss_mib for s in ok), **inner,
            "samples": [asdict(s) for s in ok]}


def generate(size: str, fmt: str, *, reuse: bool) -> Path:
    """``supervision demo --episodes N --format FMT`` into ``benchmarks/out/<size>-<fmt>``."""
    folder = OUT / f"{size}-{fmt}"
    if reuse and (folder / f"sessions.{fmt}").exists():
        return folder
    shutil.rmtree(folder, ignore_errors=True)
    cmd = [str(BIN / "supervision"), "demo", "--out", str(folder), "--episodes",
           str(SIZES[size]), "--seed", str(SEED), "--format", fmt]
    subprocess.run(cmd, check=True, cwd=HERE.parent, stdout=subprocess.DEVNULL)
    return folder


def plan(size: str, csv: Path, pq: Path, scratch: Path) -> dict[str, list[str]]:
    """The commands timed at one size: name -> argv."""
    sup, tasks = str(BIN / "supervision"), str(HERE / "tasks.py")
    return {
        "validate_csv": [sup, "validate", str(csv), "--quiet"],
        "validate_parquet": [sup, "validate", str(pq), "--quiet"],
        "load_csv": [PY, tasks, "load", str(csv)],
        "load_parquet": [PY, tasks, "load", str(pq)],
        "metrics_cmd": [sup, "metrics", str(pq), "--out", str(scratch / "m.json")],
        "metrics": [PY, tasks, "metrics", str(pq)],
        "filter": [PY, tasks, "filter", str(pq)],
        "since": [PY, tasks, "since", str(pq)],
        "pandas_parquet": [PY, str(HERE / "pandas_baseline.py"), str(pq),
                           "--out", str(scratch / "p.json")],
        "pandas_csv": [PY, str(HERE / "pandas_baseline.py"), str(csv),
                       "--out", str(scratch / "p.json")],
        "floor_parquet": [PY, str(HERE / "floor.py"), str(pq)],
        "core_sql": [PY, str(HERE / "core_sql.py"), str(pq), "--out", str(scratch / "c.json")],
        "floor_csv": [PY, str(HERE / "floor.py"), str(csv)],
    }


def startup_plan() -> dict[str, list[str]]:
    """Size-independent commands: bare interpreter, imports."""
    return {
        "python": [PY, "-c", "pass"],
        "import_duckdb": [PY, "-c", "import duckdb"],
        "import_pandas": [PY, "-c", "import pandas, statsmodels.stats.proportion"],
        "import_supervision": [PY, str(HERE / "tasks.py"), "import", "-"],
    }


def run_size(size: str, repeat: int, *, reuse: bool, voila: bool,
             only: set[str] | None = None) -> dict[str, object]:
    """Generate the two exports of one size and run every command of :func:`plan`."""
    t0 = time.perf_counter()
    csv, pq = generate(size, "csv", reuse=reuse), generate(size, "parquet", reuse=reuse)
    res: dict[str, object] = {"generate_s": time.perf_counter() - t0,
                              "sessions": _count_rows(pq / "sessions.parquet")}
    with tempfile.TemporaryDirectory() as scratch:
        for name, cmd in plan(size, csv, pq, Path(scratch)).items():
            if only is not None and name not in only:
                continue
            print(f"  {size} {name} ×{repeat}", flush=True)
            res[name] = measure(cmd, repeat)
    if voila and (only is None or "voila" in only):
        from voila_timing import measure_voila

        print(f"  {size} voila ×{repeat}", flush=True)
        res["voila"] = measure_voila(pq, repeat)
    return res


def _count_rows(path: Path) -> int:
    import duckdb

    return int(duckdb.sql(f"SELECT count(*) FROM read_parquet('{path}')").fetchall()[0][0])


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description="supervision benchmarks (issue 5)")
    p.add_argument("--sizes", default="100k,1m,5m", help="comma list of 100k, 1m, 5m")
    p.add_argument("--quick", action="store_true", help="smoke run: 10k sessions, one repeat")
    p.add_argument("--repeat", type=int, help="runs per figure (default 5 at 100k, else 3)")
    p.add_argument("--reuse", action="store_true", help="reuse exports in benchmarks/out/")
    p.add_argument("--no-voila", action="store_true", help="skip the browser measurement")
    p.add_argument("--merge", action="store_true",
                   help="keep the other sizes already in benchmarks/out/results.json "
                        "(with --only, also the other rows of the sizes run)")
    p.add_argument("--only", help="comma list of rows to run (e.g. metrics_cmd,voila)")
    p.add_argument("--results", default=str(HERE / "RESULTS.md"))
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmarks and write ``benchmarks/out/results.json`` and ``RESULTS.md``."""
    args = parse_args(argv)
    sizes = ["10k"] if args.quick else [s.strip().lower() for s in args.sizes.split(",")]
    unknown = [s for s in sizes if s not in SIZES]
    if unknown:
        print(f"run.py: unknown size(s) {unknown}; choose from 100k, 1m, 5m", file=sys.stderr)
        return 2
    OUT.mkdir(parents=True, exist_ok=True)
    sys.path.insert(0, str(HERE))
    results: dict[str, object] = {}
    if args.merge and (OUT / "results.json").exists():
        results = json.loads((OUT / "results.json").read_text())
    from report import git_state

    results["started"] = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    results["code"] = git_state()
    results["argv"] = sys.argv[1:] if argv is None else list(argv)
    startup_repeat = args.repeat or (1 if args.quick else 5)
    results["startup"] = {n: measure(c, startup_repeat) for n, c in startup_plan().items()}
    for size in sizes:
        print(f"size {size}", flush=True)
        repeat = args.repeat or REPEATS[size]
        only = set(args.only.split(",")) if args.only else None
        rows = run_size(size, repeat, reuse=args.reuse, voila=not args.no_voila, only=only)
        keep = results.get(size) if args.merge and only is not None else None
        results[size] = {**keep, **rows} if isinstance(keep, dict) else rows
        (OUT / "results.json").write_text(json.dumps(results, indent=1, default=str))
    from report import write_report

    write_report(results, Path(args.results), quick=args.quick)
    print(f"wrote {args.results} and {OUT / 'results.json'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
