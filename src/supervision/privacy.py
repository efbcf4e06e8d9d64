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
    Breakdowns published side by side (each therapist's groups, and the practice's groups)
    are linked: ``across`` applies the same rule down each column too (see
    :func:`suppress_groups`).  This is the standard two-way heuristic, not a full audit of
    every linear combination.
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


def _complement(counts: np.ndarray, sup: np.ndarray, keys: pd.DataFrame) -> np.ndarray:
    """Cells to add so that no breakdown (rows sharing ``keys``) has exactly one suppressed.

    The complement of such a breakdown is, among its shown cells, the smallest non-empty
    one (then the smallest empty one), ties broken by the order of the rows.
    """
    w = pd.DataFrame({"_key": keys.groupby(list(keys.columns), sort=False).ngroup()
                      if len(keys.columns) else np.zeros(len(counts), dtype="int64")})
    w["_sup"], w["_empty"], w["_count"] = sup, counts == 0, counts
    w["_pos"] = np.arange(len(w))
    n_sup = w.groupby("_key")["_sup"].transform("sum")
    cand = w[(n_sup == 1) & ~w["_sup"]]
    cand = cand.sort_values(["_key", "_empty", "_count", "_pos"], kind="stable")
    out = sup.copy()
    out[cand.drop_duplicates("_key", keep="first")["_pos"].to_numpy()] = True
    return out


def _suppressed_mask(df: pd.DataFrame, count_col: str, within: list[str],
                     min_cell: int, across: list[str]) -> np.ndarray:
    """Primary suppression, then complements within each breakdown (and across, if given)
    until no breakdown has exactly one suppressed cell."""
    counts = df[count_col].fillna(0).to_numpy(dtype="int64")
    sup = (counts > 0) & (counts < min_cell)
    rows = pd.DataFrame({c: df[c].to_numpy() for c in within})
    cols = pd.DataFrame({c: df[c].to_numpy() for c in across})
    while True:
        new = _complement(counts, sup, rows)
        if across:
            new = _complement(counts, new, cols)
        if (new == sup).all():
            return sup
        sup = new


def suppress_groups(
    df: pd.DataFrame,
    *,
    count_col: str = "episodes",
    min_cell: int = MIN_CELL,
    keys: Sequence[str] = ("group",),
    within: Sequence[str] = (),
    across: Sequence[str] = (),
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
    across
        For a two-way table (e.g. therapist × group, where each group's practice total is
        also shown): the columns naming a cell's column (``group``).  Complementary
        suppression is then applied within each row breakdown *and* within each column,
        repeatedly, until neither has exactly one suppressed cell — so a therapist's hidden
        cell cannot be recovered as the practice's group total minus the other therapists'.
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
    fixed = {*keys, *within, *across, count_col, "suppressed"}
    cols = list(rate_cols) if rate_cols is not None else [c for c in out if c not in fixed]
    if out.empty:
        out["suppressed"] = pd.Series(dtype=bool)
        return out
    sup = _suppressed_mask(out, count_col, list(within), min_cell, list(across))
    shown = pd.Series(~sup, index=out.index)
    out[count_col] = out[count_col].astype("float64").where(shown)
    for c in cols:
        out[c] = out[c].astype("float64").where(shown) if _numeric(out[c]) else out[c].where(shown)
    out["suppressed"] = sup
    return out


def _numeric(s: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s)


__all__ = ["MIN_CELL", "check_min_cell", "suppress_groups"]
