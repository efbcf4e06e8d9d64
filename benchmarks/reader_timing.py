"""Reading and validating an export, timed phase by phase, for one or more source trees.

``load_export`` (:mod:`supervision.io.load`) is a fixed sequence of steps; this harness wraps
each step's function where ``load.py`` looks it up and reports the seconds spent in it:

=====================  ================================================================
``find``               ``discover``: locate the tables (and unpack a zip)
``headers``            ``_headers``: read the headers, map the columns, the name guard
``read``               ``read_raw``: every table into DuckDB
``identifiers``        ``_extra_sheets`` + ``_value_guard``: the identifier value scan
``stage``              ``stage``: clean, map and type every table
``rules``              ``validate``: every validation rule
``near_ids``           ``near_ids.notices``: ids that differ only by case or look-alikes
``build``              ``_build``: the canonical typed tables
``rest``               the total less the phases above (row count, checksum, clean-up)
``total``              the whole ``load_export`` call (imports excluded)
=====================  ================================================================

Every run is a fresh interpreter; the trees run in turn within each repeat, so one
invocation compares them on the same machine state::

    git archive main src | tar -x -C /tmp/main-tree   # the code before
    python benchmarks/reader_timing.py benchmarks/out/1m-parquet \\
        --tree main=/tmp/main-tree/src --tree lean=src --repeat 3

It prints a Markdown table of medians (seconds of wall and of CPU time per phase) and,
with ``--json``, the raw samples.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

PHASES = ("find", "headers", "read", "identifiers", "stage", "rules", "near_ids", "build")
#: load.py's global name -> phase (the functions load_export calls, as load.py names them).
WRAPPED = {
    "discover": "find", "_headers": "headers", "read_raw": "read",
    "_extra_sheets": "identifiers", "_value_guard": "identifiers", "stage": "stage",
    "validate": "rules", "_build": "build",
}


def _wrap(fn: Callable[..., Any], phase: str, spent: dict[str, float]) -> Callable[..., Any]:
    def timed(*args: Any, **kwargs: Any) -> Any:
        t0, c0 = time.perf_counter(), time.process_time()
        try:
            return fn(*args, **kwargs)
        finally:
            spent[phase] = spent.get(phase, 0.0) + time.perf_counter() - t0
            spent[f"{phase} cpu"] = spent.get(f"{phase} cpu", 0.0) + time.process_time() - c0

    return timed


def child(export: str) -> dict[str, float]:
    """Load ``export`` once in this process with every phase wrapped; seconds per phase."""
    from supervision.io import load, near_ids

    spent: dict[str, float] = {}
    for name, phase in WRAPPED.items():
        setattr(load, name, _wrap(getattr(load, name), phase, spent))
    near_ids.notices = _wrap(near_ids.notices, "near_ids", spent)
    t0, c0 = time.perf_counter(), time.process_time()
    load.load_export(export)
    spent["total"], spent["total cpu"] = time.perf_counter() - t0, time.process_time() - c0
    for suffix in ("", " cpu"):
        spent[f"rest{suffix}"] = spent[f"total{suffix}"] - sum(
            spent.get(p + suffix, 0.0) for p in PHASES)
    return spent


def _run(tree: str, export: str) -> dict[str, float]:
    env = {**os.environ, "PYTHONPATH": str(Path(tree).resolve())}
    done = subprocess.run([sys.executable, __file__, "--child", export], env=env,
                          capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def table(samples: dict[str, list[dict[str, float]]]) -> str:
    """Markdown: one row per phase; per tree the median wall and CPU seconds (CPU: every
    thread of the process, so it can exceed the wall time; on a shared machine it moves
    less than the wall time)."""
    names = list(samples)
    head = " | ".join(f"{n} wall | {n} CPU" for n in names)
    lines = [f"| phase | {head} |", "|---" * (2 * len(names) + 1) + "|"]
    for phase in (*PHASES, "rest", "total"):
        cells = [f"{statistics.median(s.get(phase + k, 0.0) for s in samples[n]):.2f}"
                 for n in names for k in ("", " cpu")]
        lines.append(f"| {phase} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("export")
    p.add_argument("--tree", action="append", default=[], metavar="NAME=SRC",
                   help="a name and the src folder to import supervision from (repeatable)")
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--json", type=Path, help="write the raw samples here")
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        print(json.dumps(child(args.export)))
        return 0
    trees = dict(t.split("=", 1) for t in args.tree) or {"src": "src"}
    samples: dict[str, list[dict[str, float]]] = {n: [] for n in trees}
    for _ in range(args.repeat):
        for name, src in trees.items():
            samples[name].append(_run(src, args.export))
    if args.json:
        args.json.write_text(json.dumps(samples, indent=1), encoding="utf-8")
    print(f"{args.export}, median of {args.repeat} runs (seconds)\n")
    print(table(samples))
    return 0


if __name__ == "__main__":
    sys.exit(main())
