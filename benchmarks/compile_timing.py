"""Ibis compile time per query shape of the per-episode table (issue 21, item 2).

``python benchmarks/compile_timing.py EXPORT`` loads the export, then, in one process:

* ``build_s`` / ``build_cpu_s``: the per-episode table as of the last session date
  (:func:`supervision.episodes.episode_table` of ``scoped(until=...)``, the first pass of the
  process: every query shape compiled for the first time), then ``again_s`` / ``again_cpu_s``
  the same for an end date 30 days earlier (the same shapes over other tables and dates: what
  a compiled-SQL cache would save) and ``figures_s`` the practice's and every therapist's
  figures of that window (:func:`supervision.figures.scope_figures`);
* per query the product sent to DuckDB during the second pass (every ``to_sqlglot`` of the
  Ibis compiler: queries run and tables materialised), Ibis' compile time of that expression
  afresh (``to_sqlglot`` + ``.sql()``, CPU seconds, the best of 3): ``shapes``, ``compile_total_s``,
  ``compile_max_s``, ``compile_median_s``.

Prints one JSON object on stderr (as ``benchmarks/tasks.py``) and a per-query table on stdout.
"""

from __future__ import annotations

import datetime as dt
import json
import statistics
import sys
import time
from typing import Any


def _cpu(fn: Any) -> tuple[Any, float, float]:
    c0, t0 = time.process_time(), time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0, time.process_time() - c0


def main(argv: list[str]) -> int:
    from supervision import episodes, figures
    from supervision.io import load_export

    cl = load_export(argv[0], progress=False)
    s = cl.sessions
    last = s.aggregate(d=s.session_date.max()).execute()["d"].iloc[0]
    last = last.date() if hasattr(last, "date") else last
    _, build, build_cpu = _cpu(lambda: episodes.episode_table(cl.scoped(until=last)).count()
                               .execute())
    compiler = type(cl.con.compiler)
    seen: list[Any] = []
    own = compiler.to_sqlglot

    def record(self: Any, expr: Any, *a: Any, **k: Any) -> Any:
        seen.append(expr)
        return own(self, expr, *a, **k)

    compiler.to_sqlglot = record  # type: ignore[method-assign]
    scope = cl.scoped(until=last - dt.timedelta(days=30))
    _, again, again_cpu = _cpu(lambda: episodes.episode_table(scope).count().execute())
    compiler.to_sqlglot = own  # type: ignore[method-assign]
    _, figs, figs_cpu = _cpu(lambda: figures.scope_figures(scope))
    times = []
    for expr in seen:
        best = float("inf")
        for _ in range(3):
            t0 = time.process_time()  # one Python thread: its CPU time is the work
            cl.con.compiler.to_sqlglot(expr).sql(dialect=cl.con.dialect)
            best = min(best, time.process_time() - t0)
        times.append(best)
    for i, (t, expr) in enumerate(zip(times, seen, strict=True)):
        op = expr.op()
        cols = len(op.schema.names) if hasattr(op, "schema") else 0
        print(f"{i:3d} {t * 1000:8.1f} ms  {type(op).__name__:12s} {cols:4d} columns")
    out = {"build_s": build, "build_cpu_s": build_cpu, "again_s": again,
           "again_cpu_s": again_cpu, "figures_s": figs, "figures_cpu_s": figs_cpu,
           "shapes": len(times), "compile_total_s": sum(times),
           "compile_max_s": max(times, default=0.0),
           "compile_median_s": statistics.median(times) if times else 0.0}
    print(json.dumps(out), file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
