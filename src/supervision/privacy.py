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
    an empty cell, so that the count cannot be pinned to one group either way.  An empty
    cell in a line whose published total is 0 is never used: everyone reading that total
    knows it is 0, and hiding it protects nothing (issue 12).  A cell with 0 episodes is
    not suppressed on its own (it describes no client).  A line also gets a (non-empty)
    complement when its hidden cells sit at the bounds of someone who knows a primary
    cell holds 1..k-1 (hidden 1s only, or hidden k-1s only).
    Breakdowns published side by side (each therapist's groups, and the practice's groups)
    are linked: ``across`` applies the same rule down each column too, and with the
    practice's row in the same table (``across_totals=False``) a column's total is a cell
    that can be hidden itself (see :func:`suppress_groups`).  This is the standard two-way
    heuristic; ``tests/adversarial/test_small_cells_audit.py`` audits what it publishes
    with linear programming (no hidden cell may be pinned).

Funnel plots
    :func:`funnel_hidden` leaves out therapists below ``min_cell`` and the fewest others
    needed so that the practice's rate (and its K and N) minus the shown therapists pins
    none of them.
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


def _line_ids(keys: pd.DataFrame, n: int) -> np.ndarray:
    """One integer per line (rows sharing ``keys``); one line when ``keys`` has no column."""
    if not len(keys.columns):
        return np.zeros(n, dtype="int64")
    return keys.groupby(list(keys.columns), sort=False, dropna=False).ngroup().to_numpy()


def _line_total(counts: np.ndarray, line: np.ndarray) -> np.ndarray:
    """Each cell's line total (the sum of ``counts`` over the cells of its line)."""
    return np.bincount(line, weights=counts)[line]


def _complement(counts: np.ndarray, sup: np.ndarray, primary: np.ndarray, line: np.ndarray,
                usable: np.ndarray, cross: np.ndarray, min_cell: int) -> np.ndarray:
    """Cells to add so that no line's suppressed cells can be worked out from its total.

    A line *needs* a complement when exactly one of its cells is suppressed (its total minus
    the shown cells gives it), or when an attacker who knows that a primary cell holds
    1..k-1 could still pin its cells: the suppressed cells sum to their lower bounds (every
    primary is 1, every complement 0) or, with only primaries suppressed, to their upper
    bounds (every one k-1).  The complement is the line's smallest shown usable cell —
    non-empty first, then empty; for the bound cases only a non-empty cell helps.  Among
    empty cells, the one whose crossing line (``cross``: its column's total for a row, its
    row's for a column) is largest wins: an empty complement there has the most cells to be
    complemented by in turn, and in a column it is the practice's own cell.
    """
    w = pd.DataFrame({"_line": line, "_sup": sup, "_empty": counts == 0, "_count": counts,
                      "_cross": np.where(counts == 0, -cross, 0),
                      "_pos": np.arange(len(counts))})
    w["_hid"] = np.where(sup, counts, 0)
    w["_pri"] = sup & primary
    g = w.groupby("_line")
    n_sup, total = g["_sup"].transform("sum"), g["_hid"].transform("sum")
    n_pri = g["_pri"].transform("sum")
    at_bound = (n_sup >= 2) & ((total == n_pri) | ((n_pri == n_sup)
                                                   & (total == n_sup * (min_cell - 1))))
    shown = ~w["_sup"] & usable
    cand = w[((n_sup == 1) & shown) | (at_bound & shown & ~w["_empty"])]
    cand = cand.sort_values(["_line", "_empty", "_count", "_cross", "_pos"], kind="stable")
    out = sup.copy()
    out[cand.drop_duplicates("_line", keep="first")["_pos"].to_numpy()] = True
    return out


def _suppressed_mask(df: pd.DataFrame, count_col: str, within: list[str],
                     min_cell: int, across: list[str], across_totals: bool) -> np.ndarray:
    """Primary suppression, then complements within each breakdown (and across, if given)
    until no line needs one (:func:`_complement`).

    An empty cell in a line whose published total is 0 is never a complement: everyone who
    reads that total knows the cell is 0, so hiding it hides nothing (the subtraction attack
    of issue 12: a therapist's hidden 3 beside a hidden 0 whose column the practice showed
    as 0).  Breakdowns (``within``) always have a published total; columns (``across``) only
    with ``across_totals`` — otherwise their total is a cell of the table (the practice's
    row), which may itself be hidden.
    """
    counts = df[count_col].fillna(0).to_numpy(dtype="int64")
    primary = (counts > 0) & (counts < min_cell)
    rows = _line_ids(pd.DataFrame({c: df[c].to_numpy() for c in within}), len(counts))
    cols = (_line_ids(pd.DataFrame({c: df[c].to_numpy() for c in across}), len(counts))
            if across else None)
    row_total = _line_total(counts, rows)
    col_total = _line_total(counts, cols) if cols is not None else np.zeros(len(counts))
    usable = row_total > 0
    if cols is not None and across_totals:
        usable &= col_total > 0
    usable |= counts > 0
    sup = primary.copy()
    while True:
        new = _complement(counts, sup, primary, rows, usable, col_total, min_cell)
        if cols is not None:
            new = _complement(counts, new, primary, cols, usable, row_total, min_cell)
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
    across_totals: bool = True,
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
    across_totals
        Whether each column's total is published apart from ``df`` (True: the practice's
        groups come from another call, so an empty cell of a column of total 0 is never a
        complement).  False when ``df`` holds the totals itself as a row (the practice's
        cells, with ``within`` None): a column is then a line whose cells add up to that
        row's cell, and an empty column can be protected by hiding the practice's 0 too.
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
    # the breakdowns in a fixed order (their ids sorted; within one, the caller's order of
    # its cells, the canonical one, breaks ties between equal cells), so the same table
    # suppresses the same cells whatever order the database returned the breakdowns in
    order = out.sort_values(list(within), kind="stable").index if within else out.index
    mask = _suppressed_mask(out.loc[order].reset_index(drop=True), count_col, list(within),
                            min_cell, list(across), across_totals)
    sup = pd.Series(mask, index=order).reindex(out.index).to_numpy()
    shown = pd.Series(~sup, index=out.index)
    out[count_col] = out[count_col].astype("float64").where(shown)
    for c in cols:
        out[c] = out[c].astype("float64").where(shown) if _numeric(out[c]) else out[c].where(shown)
    out["suppressed"] = sup
    return out


def funnel_hidden(n: Sequence[int] | np.ndarray, k: Sequence[int] | np.ndarray, *,
                  min_cell: int = MIN_CELL) -> np.ndarray:
    """Which therapists a funnel plot leaves out, so that none can be worked out.

    A funnel shows each therapist's ``k`` of ``n`` (e.g. drop-outs of ended episodes) and a
    line at the practice's rate K / N, whose K and N a page often gives as well.  A
    therapist with ``n`` of 1..min_cell-1 is left out (primary), but then the practice's
    K − Σ shown k and N − Σ shown n are the hidden therapists' together: one hidden
    therapist's "3 of 3 drop-outs" would follow (issue 12).  So whenever one is left out:

    * the shown therapist with the smallest ``n`` is left out too (a complement: the hidden
      therapists' total then has at least two parts, one of them not bounded by
      min_cell-1);
    * if the hidden therapists would hold none of the practice's K (or none of its N − K),
      while the practice has some, the smallest shown therapist with some is left out too —
      otherwise "all hidden therapists had 0 drop-outs" (or only drop-outs) would follow.

    A therapist with ``n`` 0 has no point to show and protects nothing.

    Returns
    -------
    numpy.ndarray
        Boolean, True for each therapist left out (``n`` below ``min_cell`` included).
    """
    min_cell = check_min_cell(min_cell)
    n = np.asarray(n, dtype="int64")
    k = np.asarray(k, dtype="int64")
    hidden = n < min_cell
    if not ((n > 0) & hidden).any():
        return hidden

    def add(pool: np.ndarray) -> None:
        idx = np.flatnonzero(pool & ~hidden)
        if idx.size:
            hidden[idx[np.argmin(n[idx])]] = True  # first of the smallest

    add(n >= min_cell)
    if k.sum() > 0 and k[hidden].sum() == 0:
        add(k > 0)
    if (n - k).sum() > 0 and (n - k)[hidden].sum() == 0:
        add(n - k > 0)
    return hidden


def _numeric(s: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s)


__all__ = ["MIN_CELL", "check_min_cell", "funnel_hidden", "suppress_groups"]
