"""What one benchmark child process does, timed from the inside (run by ``benchmarks/run.py``).

``python benchmarks/tasks.py TASK EXPORT`` runs one task in a fresh interpreter and prints, as
the last line on stderr, one JSON object of inner timings in seconds:

``import``  ``import_s``: ``import supervision`` plus the modules ``supervision metrics`` needs.
``load``    ``import_s``, ``compute_s``: :func:`supervision.io.load_export` (validate + load).
``metrics`` ``load_s``, ``compute_s``: :func:`supervision.metrics.compute_metrics` on a loaded
            caseload (the whole practice, every therapist).
``filter``  ``load_s``, ``compute_s`` (median over ``FILTER_REPEATS`` changes), ``first_s``:
            ``caseload.scoped(therapist_id=..., since=..., until=...)`` and then the summaries the
            supervisor dashboard draws (:func:`supervisor_summaries`).

The parent (``run.py``) measures the wall time and peak RSS of the whole process around this.
"""

from __future__ import annotations

import datetime as dt
import importlib
import json
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

FILTER_REPEATS = 5


def _timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


def _load(path: str) -> Any:
    from supervision.io import load_export

    return load_export(path, progress=False)


def task_import(path: str) -> dict[str, float]:
    """Import time of ``supervision`` and of the modules the ``metrics`` command imports."""
    t0 = time.perf_counter()
    importlib.import_module("supervision")
    t1 = time.perf_counter()
    importlib.import_module("supervision.io")
    importlib.import_module("supervision.metrics")
    return {"import_s": t1 - t0, "import_all_s": time.perf_counter() - t0}


def task_load(path: str) -> dict[str, float]:
    """Validate and load one export (what ``supervision validate`` does)."""
    _, imp = _timed(lambda: importlib.import_module("supervision.io"))
    _, load = _timed(lambda: _load(path))
    return {"import_s": imp, "compute_s": load}


def task_metrics(path: str) -> dict[str, float]:
    """Load, then time ``compute_metrics`` alone."""
    from supervision.metrics import compute_metrics

    cl, load = _timed(lambda: _load(path))
    _, comp = _timed(lambda: compute_metrics(cl))
    return {"load_s": load, "compute_s": comp}


def supervisor_summaries(cl: Any) -> list[Any]:
    """The summaries the supervisor dashboard draws, computed on an already-scoped caseload.

    Delegates to the dashboard's own builder when it exposes one
    (``supervision.views.supervisor.supervisor_data``); otherwise calls the metric functions
    the contract lists for that view (alliance, ruptures, termination, outcomes, cases).
    """
    from supervision import alliance, cases, outcomes, ruptures, termination

    out: list[Any] = []
    for m in cl.measures_present("alliance"):
        out += [alliance.alliance_summary(cl, m), alliance.alliance_by_session(cl, m),
                alliance.alliance_by_quarter(cl, m), alliance.episode_series(cl, m)]
    out += [ruptures.rupture_summary(cl), termination.termination_summary(cl),
            termination.dose_by_termination(cl), termination.retention(cl)]
    out += [outcomes.outcome_summary(cl, m) for m in cl.measures_present("outcome")]
    out.append(cases.cases_to_discuss(cl))
    return out


def _filters(cl: Any) -> list[tuple[str, dt.date, dt.date]]:
    """Therapist + one-year windows ending at the last session date, one per repeat."""
    s = cl.sessions
    last = s.aggregate(s.session_date.max().name("d")).execute()["d"].iloc[0]
    until = last.date() if hasattr(last, "date") else last
    since = until - dt.timedelta(days=365)
    ids = cl.therapist_ids()
    return [(ids[i % len(ids)], since, until) for i in range(FILTER_REPEATS + 1)]


def task_filter(path: str) -> dict[str, float]:
    """Time the recomputation behind one filter change (therapist + date range)."""
    cl, load = _timed(lambda: _load(path))
    times = []
    for tid, since, until in _filters(cl):
        _, s = _timed(lambda t=tid, a=since, b=until: supervisor_summaries(
            cl.scoped(therapist_id=t, since=a, until=b)))
        times.append(s)
    return {"load_s": load, "first_s": times[0], "compute_s": statistics.median(times[1:])}


TASKS: dict[str, Callable[[str], dict[str, float]]] = {
    "import": task_import, "load": task_load, "metrics": task_metrics, "filter": task_filter,
}


def main(argv: list[str] | None = None) -> int:
    """``tasks.py TASK EXPORT``: run one task, print its inner timings as JSON on stderr."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2 or args[0] not in TASKS:
        print(f"usage: tasks.py {{{'|'.join(TASKS)}}} EXPORT", file=sys.stderr)
        return 2
    result = TASKS[args[0]](args[1])
    print(json.dumps(result), file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
