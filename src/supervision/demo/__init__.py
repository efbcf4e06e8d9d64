"""The synthetic demo export (``supervision demo``; domain.md §9).

Every row is SYNTHETIC: drawn from a seeded random generator, about no real person.  The
data have the structure that makes the dashboards worth looking at (README written beside
the files, and ``data/demo/README.md``): about 25 episodes per therapist (at least 12
therapists, some neurodivergent), two teams, about 10 scheduled sessions per episode over
2023-01-01 .. 2024-12-31, flagged ruptures in about a third of episodes (most repaired),
V-shaped alliance dips, a termination mix near published rates (drop-out about 20% of
ended episodes, Swift & Greenberg 2012) and outcomes near NHS Talking Therapies figures.
Associations (alliance with outcome, unrepaired rupture with drop-out, shared neurotype
with alliance) are built in and deliberately modest.

Generation is vectorised with NumPy: 100,000 episodes (about a million sessions) take
seconds; the same seed gives byte-identical files.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from supervision.demo._frames import build_frames
from supervision.demo._write import DemoSummary, write_files
from supervision.errors import ConfigError


def generate_demo(
    *, episodes: int = 300, seed: int = 7
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Draw a synthetic caseload as canonical frames.

    Parameters
    ----------
    episodes
        Number of episodes (courses of therapy), at least 1.  Sessions come to about ten
        per episode; therapists to one per 25 episodes, at least 12.
    seed
        Seed of :func:`numpy.random.default_rng`; the same seed gives identical frames.

    Returns
    -------
    sessions, episodes, therapists
        Frames with the column names of :mod:`supervision.schema` (no ``source_row``).
        Dates are ``datetime64`` (``end_date`` NaT for ongoing episodes); measures are
        floats, NaN where not rated; ``repair`` is missing where empty.
    """
    if episodes < 1:
        raise ConfigError(f"--episodes must be at least 1 (got {episodes})")
    if seed < 0:
        raise ConfigError(f"--seed must be 0 or more (got {seed})")
    return build_frames(episodes, seed)


def write_demo(
    out: Path, *, episodes: int = 300, seed: int = 7, fmt: str = "csv"
) -> DemoSummary:
    """Write a synthetic export (three tables and a README) into the folder ``out``.

    Parameters
    ----------
    out
        Folder to write; created if missing.  A folder that holds anything other than a
        previous demo export (recognised by its README's first line) is refused, so a real
        export is never overwritten.
    episodes, seed
        See :func:`generate_demo`.
    fmt
        ``"csv"`` (UTF-8, ``,``-delimited, ISO dates) or ``"parquet"``.

    Returns
    -------
    DemoSummary
        What was written; ``str()`` gives a one-paragraph summary.

    Raises
    ------
    ConfigError
        Bad ``episodes``, ``seed`` or ``fmt``, or ``out`` holds files this command did
        not write.
    """
    if fmt not in ("csv", "parquet"):
        raise ConfigError(f"--format must be csv or parquet (got {fmt!r})")
    frames = generate_demo(episodes=episodes, seed=seed)
    return write_files(Path(out), frames, episodes=episodes, seed=seed, fmt=fmt)


#: What every page over the demo export says (dashboards, landing page, pack, each printed page).
DEMO_LABEL = "Demo data (synthetic)"


def is_demo_export(path: str | Path | None) -> bool:
    """True when ``path`` is a folder the demo generator wrote: its ``README.md`` starts with
    the synthetic-data mark the generator writes (:data:`supervision.demo._readme.MARK`)."""
    from supervision.demo._readme import MARK

    if not path:
        return False
    readme = Path(path) / "README.md"
    try:
        with readme.open(encoding="utf-8") as f:
            return f.readline().startswith(MARK)
    except OSError:  # not a folder, no README, unreadable: not the demo's
        return False


__all__ = ["DEMO_LABEL", "DemoSummary", "generate_demo", "is_demo_export", "write_demo"]
