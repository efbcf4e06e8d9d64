"""``compute_metrics`` on about a million sessions: DuckDB vs PostgreSQL vs Spark (issue 8).

Usage::

    .venv/bin/python benchmarks/warehouse_metrics.py [--episodes 100000] [--pg URL]
        [--spark local[2] | --spark none] [--repeat 2]

Without ``--pg`` a throwaway PostgreSQL is started on 127.0.0.1 (tests/conftest_pg.py).  The
synthetic demo (``generate_demo(episodes=100000, seed=7)``: about a million scheduled
sessions) is put in DuckDB; PostgreSQL gets it through ``load_into`` (COPY) and Spark through
``caseload_on_spark`` (Parquet + temporary views).  Each engine then computes every figure
(practice and every therapist) ``--repeat`` times (the first Spark run includes JVM/JIT
warm-up); the results are checked equal to DuckDB's within 1e-9 relative before any time is
printed.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from supervision.caseload import Caseload
from supervision.demo import generate_demo
from supervision.metrics import compute_metrics
from supervision.warehouse import caseload_on_spark, connect_caseload, load_into

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))


def _timed(func: Callable[[], Any]) -> tuple[Any, float]:
    start = time.perf_counter()
    value = func()
    return value, time.perf_counter() - start


def _differences(a: Any, b: Any, path: str = "$") -> Iterator[str]:
    """Paths where two JSON results differ beyond 1e-9 relative (1e-12 absolute)."""
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b)):
            yield from _differences(a.get(k), b.get(k), f"{path}.{k}")
    elif isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            yield from _differences(x, y, f"{path}[{i}]")
    elif (isinstance(a, int | float) and isinstance(b, int | float)
          and not isinstance(a, bool) and not isinstance(b, bool)):
        if not math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12):
            yield f"{path}: {a!r} != {b!r}"
    elif a != b:
        yield f"{path}: {a!r} != {b!r}"


@contextlib.contextmanager
def _postgres(url: str | None) -> Iterator[str]:
    if url:
        yield url
        return
    from conftest_pg import new_database, throwaway_server

    with throwaway_server() as server:
        yield new_database(server)


def _engine(name: str, caseload: Caseload, reference: Any, repeat: int) -> list[float]:
    times = []
    for _ in range(repeat):
        result, seconds = _timed(lambda: compute_metrics(caseload))
        times.append(seconds)
        diffs = list(_differences(reference, result))
        if diffs:
            raise SystemExit(f"{name} differs from DuckDB:\n  " + "\n  ".join(diffs[:20]))
    return times


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--episodes", type=int, default=100_000)
    ap.add_argument("--pg", metavar="URL", help="PostgreSQL database (default: throwaway)")
    ap.add_argument("--spark", default="local[2]", help="Spark master, or 'none'")
    ap.add_argument("--repeat", type=int, default=2)
    args = ap.parse_args(argv)

    frames = generate_demo(episodes=args.episodes, seed=7)
    duck = Caseload.from_frames(*frames, source="demo")
    n_sessions = duck.sessions.count().execute()
    reference, first = _timed(lambda: compute_metrics(duck))
    later = _engine("DuckDB", duck, reference, args.repeat - 1)
    rows = [("DuckDB (embedded)", "-", [first, *later])]
    with _postgres(args.pg) as url:
        _, load_s = _timed(lambda: load_into(duck, url))
        pg = connect_caseload(url)
        times = _engine("PostgreSQL", pg, reference, args.repeat)
        rows.append(("PostgreSQL 15", f"{load_s:.1f} s (COPY)", times))
    if args.spark != "none":
        sp, ship_s = _timed(lambda: caseload_on_spark(duck, args.spark))
        rows.append((f"Spark {args.spark}", f"{ship_s:.1f} s (Parquet)",
                     _engine("Spark", sp, reference, args.repeat)))
    print(f"compute_metrics (practice and every therapist) on {n_sessions:,} sessions, "
          f"{args.episodes:,} episodes; every engine agrees with DuckDB within 1e-9\n")
    print("| engine | data in place | metrics, 1st run | metrics, later runs |")
    print("|---|---|---|---|")
    for name, load, times in rows:
        later = ", ".join(f"{t:.1f} s" for t in times[1:]) or "-"
        print(f"| {name} | {load} | {times[0]:.1f} s | {later} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
