"""Small-cell suppression (domain.md §8).

Any breakdown *below* a therapist's own caseload — neurotype groups, the tag × tag grid,
comparisons by team — is suppressed in the metrics layer, so that no view can leak it: a
cell with fewer than ``min_cell`` episodes (but at least one) shows its count as NULL,
``suppressed = True`` and every figure NULL.  ``min_cell`` is 5 by default and can only be
raised (NHS Digital suppresses 1–7 in published statistics: ``--min-cell 8``).

Complementary suppression
    The total of a breakdown (a therapist's or the practice's episodes) is always shown.
    When exactly one cell of a breakdown is suppressed, subtracting the shown cells from
    that total would reveal it, so the next smallest cell is suppressed as well: the
    smallest shown cell with at least one episode, or — when every other cell is empty —
    the first empty cell, so that the count cannot be pinned to one group either way.
    A cell with 0 episodes is not suppressed on its own (it describes no client).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from supervision.errors import ConfigError

#: The smallest cell that may be shown (domain.md §8).
MIN_CELL = 5


def check_min_cell(min_cell: int) -> int:
    """Return ``min_cell`` if it is a whole number of at least :data:`MIN_CELL`.

    Raises
    ------
    ConfigError
        Below 5: the threshold is configurable upward only.
    """
    if isinstance(min_cell, bool) or not isinstance(min_cell, (int, np.integer)):
        raise ConfigError(f"--min-cell must be a whole number, not {min_cell!r}")
    if min_cell < MIN_CELL:
        raise ConfigError(
            f"--min-cell {min_cell} is below {MIN_CELL}: the small-cell threshold is "
            f"configurable upward only (e.g. --min-cell 8, as NHS Digital publishes)"
        )
    return int(min_cell)


def _suppressed_mask(n: pd.Series, min_cell: int) -> pd.Series:
    """Primary and complementary suppression of one breakdown's counts ``n``."""
    counts = n.fillna(0).astype("int64")
    sup = (counts > 0) & (counts < min_cell)
    if int(sup.sum()) == 1:
        rest = counts[~sup]
        nonzero = rest[rest > 0]
        pool = nonzero if len(nonzero) else rest
        if len(pool):
            sup[pool.sort_values(kind="stable").index[0]] = True
    return sup


def suppress_groups(
    df: pd.DataFrame,
    *,
    count_col: str = "episodes",
    min_cell: int = MIN_CELL,
    keys: Sequence[str] = ("group",),
    within: Sequence[str] = (),
    rate_cols: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Suppress small cells of a breakdown, with complementary suppression.

    Parameters
    ----------
    df
        One row per cell; ``count_col`` holds its episodes.
    count_col
        The cell size.
    min_cell
        Smallest size shown (checked with :func:`check_min_cell`).
    keys
        Columns naming the cell (kept as they are).
    within
        Columns that split ``df`` into separate breakdowns (e.g. ``therapist_id``), each
        with its own total; suppression is decided within each.
    rate_cols
        Columns set to NaN in a suppressed cell; default every column other than ``keys``,
        ``within`` and ``count_col``.

    Returns
    -------
    pandas.DataFrame
        A copy with ``suppressed`` (bool) and, in suppressed cells, ``count_col`` and
        ``rate_cols`` NaN (count column as float so it can hold NaN).
    """
    min_cell = check_min_cell(min_cell)
    out = df.copy()
    fixed = {*keys, *within, count_col, "suppressed"}
    cols = list(rate_cols) if rate_cols is not None else [c for c in out if c not in fixed]
    if out.empty:
        out["suppressed"] = pd.Series(dtype=bool)
        return out
    if within:
        sup = out.groupby(list(within), sort=False, group_keys=False)[count_col].apply(
            lambda n: _suppressed_mask(n, min_cell)
        )
        sup = sup.reindex(out.index).astype(bool)
    else:
        sup = _suppressed_mask(out[count_col], min_cell)
    out[count_col] = out[count_col].astype("float64").where(~sup)
    for c in cols:
        out[c] = out[c].astype("float64").where(~sup) if _numeric(out[c]) else out[c].where(~sup)
    out["suppressed"] = sup.to_numpy(dtype=bool)
    return out


def _numeric(s: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s)


__all__ = ["MIN_CELL", "check_min_cell", "suppress_groups"]
