"""Small-cell suppression (domain.md §8).

Any breakdown *below* a therapist's own caseload — neurotype groups, the tag × tag grid,
comparisons by team — is suppressed in the metrics layer, so that no view can leak it: a
cell with fewer than ``min_cell`` episodes (but at least one) shows its count as NULL,
``suppressed = True`` and every figure NULL.  ``min_cell`` is 5 by default and can only be
raised (NHS Digital suppresses 1–7 in published statistics: ``--min-cell 8``).

Complementary suppression
    The total of a breakdown (a therapist's or the practice's episodes) is always shown, so
    more cells are hidden (complements) until what is published pins no hidden one.  First
    the standard two-way heuristic: a line (a breakdown, or with ``across`` a column) with
    exactly one hidden cell gets its smallest shown cell hidden too — non-empty first, then
    an empty one (so that a count cannot be pinned to one group either way), never an empty
    cell of a line whose published total is 0 (everyone knows it is 0: hiding it protects
    nothing, issue 12) — and a line whose hidden cells sit at the bounds of someone who
    knows a primary cell holds 1..k-1 gets a non-empty one.  Then the audit below decides:
    while a hidden cell is not safe, the smallest shown cell of one of its lines (else of a
    line of its block) is hidden as well, and the heuristic runs again.

Safe (what the audit proves, per published table)
    The attacker reads every shown cell and every published total of the table: each
    breakdown's total, each column's total (published elsewhere with ``across_totals``, or
    the practice's cell of the same table, a line Σ therapists − practice = 0), and solves
    the linear relaxation (``scipy.optimize.linprog``, HiGHS) for every hidden cell's
    feasible interval [lo, hi].  These systems are network matrices (totally unimodular),
    so the bounds are whole numbers and the integer intervals are the same.  Hidden cells
    are audited one connected block at a time (two hidden cells are connected when a
    published line holds both); the table is *safe* when:

    1. **no hidden cell is pinned** for the realistic attacker, who knows only that counts
       are ≥ 0: lo < hi for every hidden cell;
    2. **no primary cell is pinned for the knowing attacker**, who also knows which hidden
       cells are primary — as the views tell everyone, showing a primary cell as "<5" —
       so each primary is bound to 1..k-1 (its upper bound below k, its lower above 0)
       and every other hidden cell to ≥ 0: lo < hi for every primary cell, unless a
       published total pins it whatever is hidden (its line's total leaves each primary
       only 1, or the line is primaries only, each at k-1).

    That is the protection-interval rule of Hundepool et al., *Statistical Disclosure
    Control* (ch. 4; τ-ARGUS's audit) with a sliding protection range of one count, for
    the attacker who knows the suppression rule: the interval that attacker can compute
    for a primary cell always holds at least two counts.

    When a block fails and none of its lines has a shown cell left to hide (other than
    empty cells everyone knows are 0), its intervals are those with every cell of the table
    hidden: what the published totals themselves give away, which no suppression can help.
    ``tests/adversarial/test_small_cells_audit.py`` audits the outputs (JSON, practice
    page, funnel) with its own linear programs, and ``tests/test_privacy_lp.py`` checks
    random two-way tables against a plain whole-table reference.

Funnel plots
    :func:`funnel_hidden` leaves out therapists below ``min_cell`` and the fewest others
    needed so that the practice's rate (and its K and N) minus the shown therapists pins
    none of them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    import scipy.sparse as sp

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
    def per_line(values: np.ndarray) -> np.ndarray:
        return np.bincount(line, weights=values.astype("float64"))[line]

    n_sup, n_pri = per_line(sup), per_line(sup & primary)
    total = per_line(np.where(sup, counts, 0))
    at_bound = (n_sup >= 2) & ((total == n_pri) | ((n_pri == n_sup)
                                                   & (total == n_sup * (min_cell - 1))))
    empty = counts == 0
    shown = ~sup & usable
    idx = np.flatnonzero(((n_sup == 1) & shown) | (at_bound & shown & ~empty))
    out = sup.copy()
    if idx.size:
        # per line, the first by (empty, count, −cross for an empty cell, position)
        cross_key = np.where(empty, -cross, 0)[idx]
        idx = idx[np.lexsort((idx, cross_key, counts[idx], empty[idx], line[idx]))]
        out[idx[np.unique(line[idx], return_index=True)[1]]] = True
    return out


# ------------------------------------------------------------------ the attacker's LP audit
@dataclass(frozen=True)
class _Line:
    """One published equality: Σ coef·cell over ``cells`` is known to whoever reads the output.

    ``fixed``: the right-hand side is a published number (a breakdown's total, a column's
    total published elsewhere) — then every coefficient is 1 and the total bounds each of
    its cells.  Otherwise the line is a balance (a column whose total is a cell of the same
    table: the therapists' cells minus the practice's cell = 0).
    """

    cells: np.ndarray
    coefs: np.ndarray
    fixed: bool


def _published_lines(df: pd.DataFrame, within: list[str], across: list[str],
                     across_totals: bool) -> list[_Line]:
    """Every equality an output of ``df`` publishes (see :func:`suppress_groups`)."""
    n = len(df)
    out = []
    rows = _line_ids(pd.DataFrame({c: df[c].to_numpy() for c in within}), n)
    for idx in pd.Series(np.arange(n)).groupby(rows).indices.values():
        out.append(_Line(np.asarray(idx), np.ones(len(idx)), True))
    if not across:
        return out
    cols = _line_ids(pd.DataFrame({c: df[c].to_numpy() for c in across}), n)
    total_row = (df[within].isna().all(axis=1).to_numpy() if within and not across_totals
                 else np.zeros(n, dtype=bool))
    balance = bool(total_row.any())
    for idx in pd.Series(np.arange(n)).groupby(cols).indices.values():
        idx = np.asarray(idx)
        out.append(_Line(idx, np.where(total_row[idx], -1.0, 1.0), not balance))
    return out


class _Audit:
    """The attacker's linear programs over one table (module docstring, "Safe").

    Cells are numbered as ``counts``; ``lines`` are the published equalities.  :meth:`check`
    gives, for one set of hidden cells, the hidden cells whose protection fails, one
    connected block of hidden cells at a time (two hidden cells are connected when a line
    holds both: a block's intervals depend on no other hidden cell), each block's verdict
    cached by its cells, since suppression grows a block at a time.
    """

    def __init__(self, counts: np.ndarray, lines: list[_Line], primary: np.ndarray,
                 min_cell: int, net: dict | None = None) -> None:
        self.counts, self.lines, self.primary, self.k = counts, lines, primary, min_cell
        self.net = net
        self.cell_lines: list[list[int]] = [[] for _ in range(len(counts))]
        for j, ln in enumerate(lines):
            for c in ln.cells:
                self.cell_lines[c].append(j)
        # a primary is pinned for the knowing attacker even with every cell hidden when a
        # published total leaves it no room: total − (other primaries, ≥ 1 each) ≤ 1, or
        # a line of primaries only whose total is every one at k − 1
        self.knowing_inherent = np.zeros(len(counts), dtype=bool)
        for ln in lines:
            if not ln.fixed:
                continue
            total = int(counts[ln.cells].sum())
            p = int(primary[ln.cells].sum())
            if p and (total - (p - 1) <= 1
                      or (p == len(ln.cells) and total == p * (min_cell - 1))):
                self.knowing_inherent[ln.cells[primary[ln.cells]]] = True
        self.cache: dict[tuple[int, ...], list[int]] = {}

    def blocks(self, hidden: np.ndarray) -> list[np.ndarray]:
        """The connected blocks of hidden cells (union–find over the lines)."""
        parent = np.arange(len(hidden))

        def find(a: int) -> int:
            while parent[a] != a:
                parent[a] = parent[parent[a]]
                a = parent[a]
            return a

        for ln in self.lines:
            h = ln.cells[hidden[ln.cells]]
            for c in h[1:]:
                ra, rb = find(int(h[0])), find(int(c))
                if ra != rb:
                    parent[rb] = ra
        idx = np.flatnonzero(hidden)
        roots = np.array([find(int(c)) for c in idx])
        return [idx[roots == r] for r in np.unique(roots)]

    def check(self, hidden: np.ndarray) -> list[int]:
        """The hidden cells whose protection fails: by min-cut on the network when the
        table is one (:meth:`_network`), else by linear programs per block."""
        if self.net is not None:
            return self._check_network(hidden)
        return sorted(c for block in self.blocks(hidden) for c in self._cached(block))

    def check_lp(self, hidden: np.ndarray) -> list[int]:
        """:meth:`check` by linear programs only (the reference the network must match)."""
        return sorted(c for block in self.blocks(hidden) for c in self._cached(block))

    def _cached(self, block: np.ndarray) -> list[int]:
        key = tuple(int(c) for c in block)
        if key not in self.cache:
            self.cache[key] = self._check_block(block)
        return self.cache[key]

    # ------------------------------------------------------------ the network shortcut
    def _network(self, hidden: np.ndarray, knowing: bool) -> tuple[np.ndarray, np.ndarray]:
        """How far each hidden cell can move up and down (max-flow = min-cut, exact).

        Every table here is a network: each published line is a node, each cell an arc
        between its row (a breakdown) and its column (an ``across`` line; a single sink
        when there is none), directed row → column — or column → row for the practice's
        cell of a balance column, whose coefficient there is −1.  A feasible change of the
        hidden cells is a circulation in the residual graph of the true table (an arc can
        rise by ``up`` = its upper bound − value and fall by ``down`` = value − its lower
        bound), so a cell rises by at most the maximum flow from its head to its tail
        without it, and falls by the flow from tail to head (Ahuja, Magnanti & Orlin,
        *Network Flows*, ch. 9).  Each row node touches only columns, and there are few
        columns (at most :data:`_NETWORK_COLUMNS`), so a minimum cut is found by trying
        every set ``S`` of columns on the source side: each other row then sits on the
        side that costs least, min(Σ arcs out to columns not in S, Σ arcs in from S) —
        one matrix product for all cells at once.  Shown cells are arcs of capacity 0.
        """
        net = self.net
        rows, cols, orient, m = net["rows"], net["cols"], net["orient"], net["m"]
        x = self.counts.astype("float64")
        big = 1e12
        prim = self.primary & knowing
        up = np.where(prim, self.k - 1.0 - x, big)
        down = np.where(prim, x - 1.0, x)
        up, down = np.where(hidden, up, 0.0), np.where(hidden, down, 0.0)
        # residual capacity of each cell's arcs row → column (out) and column → row (in)
        out_c = np.where(orient > 0, up, down)
        in_c = np.where(orient > 0, down, up)
        n_rows = int(rows.max()) + 1
        out_cap = np.zeros((n_rows, m))
        in_cap = np.zeros((n_rows, m))
        np.add.at(out_cap, (rows, cols), out_c)
        np.add.at(in_cap, (rows, cols), in_c)
        sets = net["sets"]  # (2^m, m): column a on the source side of set s
        inside, outside = sets.T.astype("float64"), (~sets).T.astype("float64")  # BLAS
        cost = np.minimum(out_cap @ outside, in_cap @ inside)  # each row's cheapest side
        total = cost.sum(axis=0)
        h = np.flatnonzero(hidden)
        t, g = rows[h], cols[h]
        own_in, own_out = in_cap[t].copy(), out_cap[t].copy()
        own_in[np.arange(len(h)), g] -= in_c[h]
        own_out[np.arange(len(h)), g] -= out_c[h]
        base = total[None, :] - cost[t]
        has_g = sets[:, g].T  # (cells, 2^m)
        # column g → row t: g on the source side, t a sink fed from the columns in S
        to_row = np.where(has_g, base + own_in @ inside, np.inf).min(axis=1)
        # row t → column g: t a source feeding the columns outside S, g outside S
        to_col = np.where(~has_g, base + own_out @ outside, np.inf).min(axis=1)
        fwd = orient[h] > 0
        rise = np.minimum(np.where(fwd, to_row, to_col), up[h])
        fall = np.minimum(np.where(fwd, to_col, to_row), down[h])
        return np.round(rise), np.round(fall)

    def _check_network(self, hidden: np.ndarray) -> list[int]:
        h = np.flatnonzero(hidden)
        prim = self.primary[h]
        rise, fall = self._network(hidden, knowing=False)
        bad = (rise < 1) & (fall < 1)
        if prim.any():
            rise_k, fall_k = self._network(hidden, knowing=True)
            bad |= prim & ~self.knowing_inherent[h] & (rise_k < 1) & (fall_k < 1)
        return [int(c) for c in h[bad]]

    def _system(self, block: np.ndarray) -> tuple[sp.csr_matrix, np.ndarray]:
        import scipy.sparse as sp  # only the linear programs need SciPy (import time)

        pos = {int(c): i for i, c in enumerate(block)}
        touched = sorted({j for c in block for j in self.cell_lines[c]})
        r, col, val = [], [], []
        for i, j in enumerate(touched):
            ln = self.lines[j]
            for c, a in zip(ln.cells, ln.coefs, strict=True):
                if int(c) in pos:
                    r.append(i)
                    col.append(pos[int(c)])
                    val.append(a)
        a_eq = sp.csr_matrix((val, (r, col)), shape=(len(touched), len(block)))
        # what the hidden cells of a line add up to: its total minus its shown cells,
        # i.e. the hidden cells' own true values
        return a_eq, a_eq @ self.counts[block].astype("float64")

    def _check_block(self, block: np.ndarray) -> list[int]:
        a_eq, b_eq = self._system(block)
        fails = self._attack(block, a_eq, b_eq, knowing=False)
        if self.primary[block].any():
            fails |= self._attack(block, a_eq, b_eq, knowing=True)
        return sorted(fails)

    def _attack(self, block: np.ndarray, a_eq: sp.csr_matrix, b_eq: np.ndarray, *,
                knowing: bool) -> set[int]:
        """The cells of ``block`` that fail conditions 1–2 (the realistic attacker) or 3
        (``knowing``) of the module docstring.

        Each linear program's solution is a whole table the attacker cannot rule out, so
        every cell's lowest and highest value seen so far is kept: a condition those already
        meet needs no program of its own (most cells of a block need none).
        """
        from scipy.optimize import linprog

        truth = self.counts[block].astype("float64")
        prim = self.primary[block]
        n = len(block)
        bounds = ([(1.0, self.k - 1.0) if p else (0.0, None) for p in prim] if knowing
                  else [(0.0, None)] * n)
        seen_lo, seen_hi = truth.copy(), truth.copy()

        def solve(i: int, sign: float) -> float:
            obj = np.zeros(n)
            obj[i] = sign
            res = linprog(obj, A_eq=a_eq, b_eq=b_eq, bounds=bounds, method="highs")
            if res.status == 3:  # unbounded above
                return math.inf
            if res.status != 0:  # pragma: no cover - the true table is a solution
                raise RuntimeError(f"suppression audit: {res.message}")
            np.minimum(seen_lo, res.x, out=seen_lo)
            np.maximum(seen_hi, res.x, out=seen_hi)
            return float(res.x[i])

        fails = set()
        for i, c in enumerate(int(c) for c in block):
            if knowing and (not prim[i] or self.knowing_inherent[c]):
                continue
            # not pinned: two different values are possible
            if seen_hi[i] - seen_lo[i] > 0.5:
                continue
            if solve(i, -1.0) - truth[i] > 0.5 or truth[i] - solve(i, 1.0) > 0.5:
                continue
            fails.add(c)
        return fails


def _suppressed_mask(df: pd.DataFrame, count_col: str, within: list[str],
                     min_cell: int, across: list[str], across_totals: bool) -> np.ndarray:
    """Primary suppression, the two-way heuristic (:func:`_closure`), then the audit's
    complements (:func:`_audited`) until every hidden cell is safe.

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

    def closure(sup: np.ndarray) -> np.ndarray:
        while True:
            new = _complement(counts, sup, primary, rows, usable, col_total, min_cell)
            if cols is not None:
                new = _complement(counts, new, primary, cols, usable, row_total, min_cell)
            if (new == sup).all():
                return sup
            sup = new

    sup = closure(primary.copy())
    if not sup.any():
        return sup
    audit = _Audit(counts, _published_lines(df, within, across, across_totals), primary,
                   min_cell, _network_shape(df, within, across, across_totals, rows, cols))
    return _audited(sup, audit, usable, closure)


def _audited(sup: np.ndarray, audit: _Audit, usable: np.ndarray, closure) -> np.ndarray:
    """Add complements until :class:`_Audit` finds no unsafe hidden cell.

    For each unsafe cell one more cell is hidden (:func:`_pick`): the smallest shown usable
    cell (non-empty first) in a line of that cell, else in a line touching its block; then
    the two-way heuristic runs again.  A block none of whose lines has a shown usable cell
    left is protected as far as its published totals allow (its intervals are those with
    every cell hidden), so it stops there.
    """
    while True:
        failing = audit.check(sup)
        picks = {p for p in (_pick(c, sup, audit, usable) for c in failing) if p is not None}
        if not picks:
            return sup
        sup = sup.copy()
        sup[sorted(picks)] = True
        sup = closure(sup)


def _pick(cell: int, sup: np.ndarray, audit: _Audit, usable: np.ndarray) -> int | None:
    """The complement for an unsafe hidden ``cell`` (:func:`_audited`): from its line whose
    hidden cells hold least first (the tightest; taking the smallest cell of any of its
    lines instead hid 60% more cells on the 10k-episode demo, cascading down columns)."""
    counts = audit.counts

    def best(cells: np.ndarray) -> int | None:
        cand = cells[~sup[cells] & usable[cells]]
        if not cand.size:
            return None
        return int(cand[np.lexsort((cand, counts[cand], counts[cand] == 0))[0]])

    def held(j: int) -> int:
        ln = audit.lines[j]
        return int(counts[ln.cells[sup[ln.cells] & (ln.coefs > 0)]].sum())

    for j in sorted(audit.cell_lines[cell], key=held):
        got = best(audit.lines[j].cells)
        if got is not None:
            return got
    block = next(b for b in audit.blocks(sup) if cell in b)
    touched = sorted({j for c in block for j in audit.cell_lines[int(c)]})
    return best(np.unique(np.concatenate([audit.lines[j].cells for j in touched])))


#: The most columns (``across`` values) for which :meth:`_Audit._network` tries every
#: set of them (2^m cuts); beyond, linear programs audit the table.
_NETWORK_COLUMNS = 10


def _network_shape(df: pd.DataFrame, within: list[str], across: list[str],
                   across_totals: bool, rows: np.ndarray, cols: np.ndarray | None) -> dict | None:
    """Rows, columns and arc directions of the table's network (:meth:`_Audit._network`)."""
    n = len(df)
    if cols is None:
        cols, m = np.zeros(n, dtype="int64"), 1  # one sink: every breakdown's total
    else:
        m = int(cols.max()) + 1
    if m > _NETWORK_COLUMNS:
        return None
    total_row = (df[within].isna().all(axis=1).to_numpy() if within and across
                 and not across_totals else np.zeros(n, dtype=bool))
    sets = ((np.arange(2 ** m)[:, None] >> np.arange(m)[None, :]) & 1).astype(bool)
    return {"rows": np.asarray(rows), "cols": np.asarray(cols), "m": m, "sets": sets,
            "orient": np.where(total_row, -1, 1)}


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


def enough_others(episodes: Any, therapists: Any, *, min_cell: int) -> Any:
    """The gate's rule for a figure of other therapists (domain.md §8, issue 23): at least
    ``min_cell`` of their episodes *from at least* ``min_cell`` *of them* stand behind it.

    The one predicate every gated output uses — the practice comparison
    (:mod:`supervision.comparison`), the expected-response bands handed to a therapist
    (:func:`supervision.clinical.expected.handover_bands`), the intake-adjusted outcome
    beside a limited supervisor's therapist, the neurotype groups of a therapist's pack.
    Element-wise on numbers, numpy arrays and Ibis columns alike (``&`` of two
    comparisons), so a database filter and a pandas check are the same rule.
    """
    k = check_min_cell(min_cell)
    return (episodes >= k) & (therapists >= k)


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


__all__ = ["MIN_CELL", "check_min_cell", "enough_others", "funnel_hidden", "suppress_groups"]
