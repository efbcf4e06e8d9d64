"""Time the audited complementary suppression on the real tables (issue 23, item 3).

``python benchmarks/suppression.py [EPISODES ...]`` (default 300 and 100000 episodes, the
demo's default export and the ~1M-session one of ``make bench``, seed 7): builds the demo
caseload, then times :func:`supervision.privacy.suppress_groups` on the tables the metrics
JSON and the practice page suppress — the therapist × neurotype-group table with the
practice's row (``group_summary(by="therapist_id", total=True)``), the practice's groups
and the tag × tag grid — by wrapping it while those functions run.  Prints one line per
call: cells, hidden cells, seconds.

Measured 2026-12-07 on the shared 2-core machine under a load average of ~14 (absolute
times inflated; main's src run the same way, ``PYTHONPATH=/work/main/src``), therapist ×
group + practice row:

=============  ======  ======================  ===========================
episodes       cells   hidden (main)           seconds (main)
=============  ======  ======================  ===========================
300 (demo)     78      26 (26)                 0.27 (0.27)
6,000          1,446   388 (388)               0.35 (0.44)
100,000 (1M)   23,988  6,688 (6,680)           3.3 (0.66)
=============  ======  ======================  ===========================

Main's heuristic left primaries the knowing attacker pins: 2 of 505 at 10,000 episodes,
18 of 5,048 at 100,000 (counted with ``_Audit._network``); these leave none.  With
``linprog`` per block instead of the min-cut (first version): 1.43 s at 300 episodes,
13.5 s at 2,000, 100,000 not done after 10 minutes.
"""

from __future__ import annotations

import sys
import time

import pandas as pd

from supervision.caseload import Caseload
from supervision.clinical import neurotype
from supervision.demo import generate_demo
from supervision.measures import default_registry
from supervision.privacy import suppress_groups

CALLS: list[tuple[int, int, float]] = []


def timed(df: pd.DataFrame, **kw: object) -> pd.DataFrame:
    """:func:`suppress_groups`, its cells, hidden cells and seconds noted in ``CALLS``."""
    t = time.perf_counter()
    out = suppress_groups(df, **kw)  # type: ignore[arg-type]
    CALLS.append((len(df), int(out["suppressed"].sum()), time.perf_counter() - t))
    return out


def one_size(n: int) -> None:
    t0 = time.perf_counter()
    cl = Caseload.from_frames(*generate_demo(episodes=n, seed=7), registry=default_registry())
    print(f"episodes {n}: caseload in {time.perf_counter() - t0:.1f} s", flush=True)
    neurotype.suppress_groups = timed  # type: ignore[assignment]
    try:
        for name, fn in (("therapist x group + practice row",
                          lambda: neurotype.group_summary(cl, by="therapist_id", total=True)),
                         ("practice groups", lambda: neurotype.group_summary(cl)),
                         ("tag x tag grid", lambda: neurotype.tag_grid(cl))):
            CALLS.clear()
            fn()
            for cells, hidden, secs in CALLS:
                print(f"  {name}: {cells} cells, {hidden} hidden, {secs:.3f} s", flush=True)
    finally:
        neurotype.suppress_groups = suppress_groups  # type: ignore[assignment]


def main(sizes: list[int]) -> None:
    for n in sizes:
        one_size(n)


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [300, 100_000])
