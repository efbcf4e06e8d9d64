"""What one benchmark child process does, timed from the inside (run by ``benchmarks/run.py``).

``python benchmarks/tasks.py TASK EXPORT`` runs one task in a fresh interpreter and prints, as
the last line on stderr, one JSON object of inner timings in seconds:

``import``  ``import_s``: ``import supervision`` plus the modules ``supervision metrics`` needs.
``load``    ``import_s``, ``compute_s``: :func:`supervision.io.load_export` (validate + load).
``metrics`` ``load_s``, ``compute_s``: :func:`supervision.metrics.compute_metrics` on a loaded
            caseload (the whole practice, every therapist); ``compute_cpu_s`` its CPU time.
``since``   start-date changes alone (one therapist, one end date): ``since_s`` /
            ``since_cpu_s`` (summaries), ``since_table_s`` / ``since_table_cpu_s`` (the
            scope's per-episode table alone); see :func:`task_since`.
``filter``  ``load_s``; ``first_s`` (building the supervisor app and its first refresh);
            ``compute_s`` (median over ``FILTER_REPEATS`` changes of therapist and date range:
            the summaries alone, :func:`supervisor_summaries`; ``compute_cpu_s`` their CPU
            time, all threads); ``refresh_s`` (the same changes
            through ``SupervisorApp.refresh``: summaries plus figures and widgets);
            ``therapist_s`` / ``therapist_cpu_s`` (another therapist, same dates: the
            window's practice figures are then already computed, as in the dashboard);
            ``default_therapist_s`` (another therapist in the default window, whose figures
            the server prepared).  Everything runs on the caseload a dashboard kernel gets
            (the server's validated copy, ``prepare_s`` to make it).

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

FILTER_REPEATS = 2


def _timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


def _cpu(fn: Callable[[], Any]) -> tuple[float, float]:
    """Wall and CPU seconds of ``fn()`` (CPU: this process, every thread, DuckDB's too)."""
    c0, t0 = time.process_time(), time.perf_counter()
    fn()
    return time.perf_counter() - t0, time.process_time() - c0


def _load(path: str) -> Any:
    from supervision.io import load_export

    return load_export(path, progress=False)


def _kernel_caseload(path: str) -> tuple[Any, float, float]:
    """The caseload a dashboard kernel works on, made as ``supervision serve`` makes it.

    The server reads and validates the export (``load_s``) and saves the validated copy with
    the default window's figures (``prepare_s``); the kernel opens that copy read-only.
    """
    import tempfile
    from pathlib import Path

    from supervision.io.prepared import open_prepared
    from supervision.serve import _save_prepared

    full, load = _timed(lambda: _load(path))
    folder = Path(tempfile.mkdtemp(prefix="bench-prepared-"))
    prepared, prep = _timed(lambda f=full: _save_prepared(f, folder / "data"))
    del full  # as the server's copy is gone once it has started Voilà
    return open_prepared(prepared, registry=_registry()), load, prep


def _registry() -> Any:
    from supervision.measures import default_registry

    return default_registry()


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
    comp, cpu = _cpu(lambda: compute_metrics(cl))
    return {"load_s": load, "compute_s": comp, "compute_cpu_s": cpu}


def supervisor_summaries(cl: Any, therapist_id: str, since: dt.date, until: dt.date) -> None:
    """The summaries behind one supervisor-dashboard filter change, without drawing.

    What :meth:`SupervisorApp.refresh` computes for a new therapist and date range with the
    first tab (Alliance) open: ``caseload.scoped(...).materialised()``, the practice
    aggregates of the new window, the headline figures and the alliance tab's summaries.
    """
    from supervision import scopes
    from supervision.clinical import alliance

    own = cl.scoped(therapist_id=therapist_id, since=since, until=until).materialised()
    practice = scopes.practice_for(cl, since, until)  # once per window, as the dashboard
    key = practice.get("alliance_key")
    scopes.scope_headline(own, alliance_key=key, outcome_key=practice.get("outcome_key"))
    if key:
        alliance.alliance_by_session(own, key)
        alliance.alliance_by_quarter(own, key)
        if "wai_sr" in own.measures_present("alliance"):
            alliance.subscales_by_session(own, "wai_sr")


def _filters(cl: Any, shift: int = 0) -> list[tuple[str, dt.date, dt.date]]:
    """One (therapist, one-year window) per repeat; windows end a month apart (no cache hits).

    ``shift`` moves every window ``shift`` days earlier, so that two series of changes in one
    process never meet a window the other has already computed (the practice figures of a
    window are kept once computed, as in the dashboard).
    """
    s = cl.sessions
    last = s.aggregate(s.session_date.max().name("d")).execute()["d"].iloc[0]
    last = last.date() if hasattr(last, "date") else last
    ids = cl.therapist_ids()
    out = []
    for i in range(FILTER_REPEATS + 1):
        until = last - dt.timedelta(days=30 * i + shift)
        out.append((ids[(7 * i) % len(ids)], until - dt.timedelta(days=365), until))
    return out


def _app_change(app: Any, tid: str, since: dt.date, until: dt.date) -> float:
    app.therapist.value, app.since.value, app.until.value = tid, since, until
    return _timed(app.refresh)[1]


def task_filter(path: str) -> dict[str, float]:
    """Time one filter change: summaries alone, and the whole app refresh (summaries + figures)."""
    from supervision import periods
    from supervision.views.apps import SupervisorApp

    cl, load, prep = _kernel_caseload(path)
    app, build = _timed(lambda: SupervisorApp(cl))
    for w in (app.therapist, app.since, app.until):  # one refresh per change, not three
        w.unobserve(app.refresh, names="value")
    _, first = _timed(app.refresh)
    changes = _filters(cl)
    summaries = [_cpu(lambda c=c: supervisor_summaries(cl, *c)) for c in changes]
    # therapist only, in the dates just shown: the per-episode table of the window's end date
    # is held (the root keeps the most recent end dates' tables, episodes.KEEP_WINDOWS)
    _, since, until = changes[-1]
    ids = cl.therapist_ids()
    others = [(ids[(11 * i + 3) % len(ids)], since, until) for i in range(len(changes))]
    alone = [_cpu(lambda c=c: supervisor_summaries(cl, *c)) for c in others]
    refresh = [_app_change(app, *c) for c in _filters(cl, shift=15)]
    # therapist only, in the default window (the whole date range the dashboard opens on)
    lo, hi = periods.date_span(cl)
    default = [(ids[(13 * i + 5) % len(ids)], lo, hi) for i in range(len(changes))]
    opened = [_cpu(lambda c=c: supervisor_summaries(cl, *c)) for c in default]
    return {"load_s": load, "prepare_s": prep, "first_s": build + first,
            "default_therapist_s": statistics.median(w for w, _ in opened[1:]),
            "compute_s": statistics.median(w for w, _ in summaries[1:]),
            "compute_cpu_s": statistics.median(c for _, c in summaries[1:]),
            "refresh_s": statistics.median(refresh[1:]),
            "therapist_s": statistics.median(w for w, _ in alone[1:]),
            "therapist_cpu_s": statistics.median(c for _, c in alone[1:])}


def task_since(path: str) -> dict[str, float]:
    """Time start-date changes alone (issue 21: a window is a filter of its end date's facts).

    One therapist and one end date (a month before the last session, not the default window),
    a first window shown untimed (what the dashboard had on screen), then ``FILTER_REPEATS``
    + 1 other start dates a month apart: ``since_s`` / ``since_cpu_s`` the median wall / CPU
    seconds of :func:`supervisor_summaries` for one of them (the first change left out, as in
    ``filter``), and ``since_table_s`` / ``since_table_cpu_s`` of the scope's per-episode table
    alone (:func:`supervision.episodes.episode_table` of the plain scope, as the headline
    reads it)."""
    from supervision import episodes

    cl, load, prep = _kernel_caseload(path)
    tid, since, until = _filters(cl)[1]
    supervisor_summaries(cl, tid, since, until)  # the window already shown
    starts = [since - dt.timedelta(days=30 * (i + 1)) for i in range(FILTER_REPEATS + 1)]
    runs = [_cpu(lambda s=s: supervisor_summaries(cl, tid, s, until)) for s in starts]
    tables = [_cpu(lambda s=s: episodes.episode_table(
        cl.scoped(since=s + dt.timedelta(days=7), until=until)).count().execute())
        for s in starts]
    return {"load_s": load, "prepare_s": prep,
            "since_s": statistics.median(w for w, _ in runs[1:]),
            "since_cpu_s": statistics.median(c for _, c in runs[1:]),
            "since_table_s": statistics.median(w for w, _ in tables[1:]),
            "since_table_cpu_s": statistics.median(c for _, c in tables[1:])}


TASKS: dict[str, Callable[[str], dict[str, float]]] = {
    "import": task_import, "load": task_load, "metrics": task_metrics, "filter": task_filter,
    "since": task_since,
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
