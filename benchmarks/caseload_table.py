"""The open caseload table at 1M sessions (issue 25): target ≤ 0.5 s for ~400 open episodes.

``python benchmarks/caseload_table.py EXPORT [--open 400] [--repeat 5]``

EXPORT is the 1M-session export of ``benchmarks/run.py`` (``supervision demo --episodes 100000
--seed 7 --format parquet``, about 1.0M sessions).  The window is the whole export as of its
last session (what the supervisor dashboard opens on).  Its per-episode table is made first
(``table_s``: the dashboard's headline has made it before any tab opens), then the scope is
the first therapists (sorted) whose open episodes add up to about ``--open``, and the timed
work is what the *Open caseload* tab does for it:

``query_s``   :func:`supervision.figures.open_caseload` (one DuckDB query over the table, the
              rows into pandas), median of ``--repeat`` runs;
``widget_s``  :class:`supervision.views.caseload_table.CaseloadTable` of those rows (every
              row's widgets, built once), median;
``total_s``   the two together, median.

Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from typing import Any


def _median_time(fn: Any, repeat: int) -> tuple[float, Any]:
    times, out = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("export")
    p.add_argument("--open", type=int, default=400, help="open episodes in the scope")
    p.add_argument("--repeat", type=int, default=5)
    args = p.parse_args(argv)

    from supervision import periods
    from supervision.episodes import episode_table
    from supervision.figures import open_caseload
    from supervision.io import load_export
    from supervision.views.caseload_table import CaseloadTable

    t0 = time.perf_counter()
    root = load_export(args.export, progress=False)
    load_s = time.perf_counter() - t0
    sessions = int(root.sessions.count().execute())
    lo, hi = periods.date_span(root)
    cl = root.scoped(since=lo, until=hi)
    t0 = time.perf_counter()
    t = episode_table(cl)
    o = t.filter(t.termination == "ongoing")
    per = o.group_by("therapist_id").aggregate(n=o.count()).order_by("therapist_id").execute()
    table_s = time.perf_counter() - t0
    ids, total = [], 0
    for tid, n in zip(per["therapist_id"], per["n"], strict=True):
        if total >= args.open:
            break
        ids.append(str(tid))
        total += int(n)

    def query() -> Any:
        return open_caseload(cl, as_of=hi, therapist_ids=ids)

    def widget(df: Any) -> Any:
        return CaseloadTable(df, lambda _: None, registry=cl.registry)

    query()  # the first run compiles the plan
    query_s, df = _median_time(query, args.repeat)
    widget_s, _ = _median_time(lambda: widget(df), args.repeat)
    total_s, _ = _median_time(lambda: widget(query()), args.repeat)
    print(json.dumps({
        "sessions": sessions, "open_in_scope": len(df), "therapists_in_scope": len(ids),
        "load_s": round(load_s, 2), "table_s": round(table_s, 2),
        "query_s": round(query_s, 3), "widget_s": round(widget_s, 3),
        "total_s": round(total_s, 3), "target_s": 0.5, "repeat": args.repeat,
    }))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
