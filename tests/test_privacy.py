"""Small-cell suppression (domain.md §8), including complementary suppression."""

from __future__ import annotations

import math

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from supervision.errors import ConfigError
from supervision.privacy import MIN_CELL, check_min_cell, funnel_hidden, suppress_groups


def test_min_cell_configurable_upward_only() -> None:
    assert MIN_CELL == 5
    assert check_min_cell(5) == 5 and check_min_cell(8) == 8
    for bad in (4, 0, -1):
        with pytest.raises(ConfigError, match="configurable upward only"):
            check_min_cell(bad)
    with pytest.raises(ConfigError, match="whole number"):
        check_min_cell(5.5)  # type: ignore[arg-type]


def test_primary_suppression_blanks_count_and_rates() -> None:
    """Cells 3 and 2 (< 5) are suppressed; 0 is shown (it describes no client); 10 and 7 shown.
    Two cells are suppressed, so no complementary suppression is needed."""
    df = pd.DataFrame({"group": list("abcde"), "episodes": [3, 10, 2, 0, 7],
                       "dropout_rate": [0.5, 0.1, 1.0, math.nan, 0.2]})
    out = suppress_groups(df).set_index("group")
    assert out["suppressed"].tolist() == [True, False, True, False, False]
    assert out.loc["a"].drop("suppressed").isna().all()
    assert out.loc["b", "episodes"] == 10 and out.loc["b", "dropout_rate"] == 0.1
    assert out.loc["d", "episodes"] == 0


def test_complementary_suppression() -> None:
    """Only cell a (3) is small; with the total (3 + 10 + 6 + 0 = 19) shown, 19 − 10 − 6 would
    give it away, so the next smallest non-empty cell, c (6), is suppressed too; the empty
    cell d is not used (suppressing a 0 would still reveal a = 19 − 10 − 6)."""
    df = pd.DataFrame({"group": list("abcd"), "episodes": [3, 10, 6, 0], "rate": [1.0] * 4})
    out = suppress_groups(df).set_index("group")
    assert out["suppressed"].tolist() == [True, False, True, False]
    assert math.isnan(out.loc["c", "rate"])


def test_complementary_falls_back_to_an_empty_cell() -> None:
    """Every other cell empty: the count cannot be hidden by subtraction, but an empty cell is
    suppressed so that it is not known *which* group holds it."""
    df = pd.DataFrame({"group": list("abc"), "episodes": [0, 4, 0]})
    assert suppress_groups(df)["suppressed"].tolist() == [True, True, False]


def test_within_each_breakdown_and_higher_threshold() -> None:
    """``within``: each therapist is a separate breakdown.  min_cell 8 (NHS: 1–7 suppressed)."""
    df = pd.DataFrame({"therapist_id": ["T1"] * 3 + ["T2"] * 3, "group": list("abcabc"),
                       "episodes": [7, 9, 20, 8, 8, 8]})
    out = suppress_groups(df, min_cell=8, within=["therapist_id"])
    assert out["suppressed"].tolist() == [True, True, False, False, False, False]
    with pytest.raises(ConfigError):
        suppress_groups(df, min_cell=3)


def test_linked_breakdowns_two_way() -> None:
    """Therapist × group, with each group's practice total also published::

            a   b   c
        T1  3  10  12      T1 row: a is small → complement T1 b (10, its smallest other)
        T2  6  11  20      column a: only T1 hidden → complement T2 a (6; T3 a is empty)
        T3  0  15   9      column b: only T1 hidden → complement T2 b (11)

    Then every row and column has 0 or 2 hidden cells: T1 a + T1 b = 13, T2 a + T2 b = 17,
    T1 a + T2 a = 9, T1 b + T2 b = 21 have rank 3 in four unknowns — T1 a is not revealed.
    One-way suppression alone would hide T1 a, T1 b only, and column a (9 − 6 − 0) would
    give T1 a = 3 away."""
    df = pd.DataFrame({"therapist_id": ["T1"] * 3 + ["T2"] * 3 + ["T3"] * 3,
                       "group": list("abc") * 3, "episodes": [3, 10, 12, 6, 11, 20, 0, 15, 9]})
    one_way = suppress_groups(df, within=["therapist_id"])
    assert one_way["suppressed"].sum() == 2
    two_way = suppress_groups(df, within=["therapist_id"], across=["group"])
    hidden = two_way.loc[two_way["suppressed"], ["therapist_id", "group"]]
    assert [tuple(x) for x in hidden.to_numpy()] == [("T1", "a"), ("T1", "b"), ("T2", "a"),
                                                      ("T2", "b")]


@settings(max_examples=200, deadline=None)
@given(counts=st.lists(st.integers(0, 30), min_size=1, max_size=8), min_cell=st.integers(5, 9))
def test_properties(counts: list[int], min_cell: int) -> None:
    """No shown cell lies in 1..min_cell−1; a breakdown never has exactly one suppressed cell
    (unless it has only one cell); shown counts are unchanged."""
    df = pd.DataFrame({"group": [f"g{i}" for i in range(len(counts))], "episodes": counts,
                       "rate": [0.5] * len(counts)})
    out = suppress_groups(df, min_cell=min_cell)
    shown = out[~out["suppressed"]]
    assert not ((shown["episodes"] > 0) & (shown["episodes"] < min_cell)).any()
    assert shown["episodes"].tolist() == [c for c, s in zip(counts, out["suppressed"],
                                                             strict=True) if not s]
    n_sup = int(out["suppressed"].sum())
    assert n_sup != 1 or len(counts) == 1
    assert out.loc[out["suppressed"], ["episodes", "rate"]].isna().all().all()


@settings(max_examples=100, deadline=None)
@given(table=st.lists(st.lists(st.integers(0, 12), min_size=3, max_size=3), min_size=1,
                      max_size=5))
def test_two_way_properties(table: list[list[int]]) -> None:
    """Two-way: no row and no column of the therapist × group table has exactly one hidden
    cell — unless none of its other cells could serve (each is empty and lies in a row or
    column of total 0, so everyone knows it is 0) — and no shown cell is in 1..4."""
    df = pd.DataFrame([{"therapist_id": f"T{i}", "group": g, "episodes": n}
                       for i, row in enumerate(table) for g, n in zip("abc", row, strict=True)])
    out = suppress_groups(df, within=["therapist_id"], across=["group"])
    zero_line = ((df.groupby("therapist_id")["episodes"].transform("sum") == 0)
                 | (df.groupby("group")["episodes"].transform("sum") == 0))
    useless = (df["episodes"] == 0) & zero_line
    for key in ("therapist_id", "group"):
        for _, line in out.assign(useless=useless).groupby(key):
            hidden = line["suppressed"]
            assert hidden.sum() != 1 or (line["useless"] | hidden).all(), line
    assert not (out["suppressed"] & useless).any(), "an empty cell of a zero line was hidden"
    shown = out.loc[~out["suppressed"], "episodes"]
    assert not ((shown > 0) & (shown < 5)).any()


def test_complement_never_an_empty_cell_of_a_zero_column() -> None:
    """Issue 12::

                a   b   c        column totals published: a 3, b 0, c 12
            T1  3   0   0        T1: a is small; b is empty in a column of total 0, so
            T2  0   0  12        hiding it would leave a = 3 − 0; c (0, column 12) is used.

    Down column c, T1 c then needs a partner: T2 c (12).  T2's row then has one hidden cell
    and its only usable other is a (0, column 3): T1 a = t, T1 c = 3 − t, T2 a = 3 − t,
    T2 c = 9 + t — a free t in 0..3, b never hidden."""
    df = pd.DataFrame({"therapist_id": ["T1"] * 3 + ["T2"] * 3, "group": list("abc") * 2,
                       "episodes": [3, 0, 0, 0, 0, 12]})
    out = suppress_groups(df, within=["therapist_id"], across=["group"])
    assert out["suppressed"].tolist() == [True, False, True, True, False, True]


def test_primaries_at_their_bounds_get_a_non_empty_complement() -> None:
    """Two hidden 1s in a row of total 2 + 9: an attacker who knows a hidden cell holds
    1..4 reads 1 and 1; the 9 is hidden too (1 + 1 + 9 = 11 then splits many ways)."""
    df = pd.DataFrame({"group": list("abcd"), "episodes": [1, 1, 9, 0]})
    assert suppress_groups(df)["suppressed"].tolist() == [True, True, True, False]


def test_funnel_hidden_complements() -> None:
    """n = (3, 10, 12), k = (3, 0, 2): the primary (3 of 3) and the smallest shown, 10, are
    left out; together they hold 3 drop-outs and 10 other endings, so that is enough.
    k = (3, 10, 2): the pair would hold 13 drop-outs and 0 other endings ("every one of
    theirs dropped out"), so the 12 (10 other endings) is left out too.  n = 0 is no
    primary (nothing to hide); with every n at 5 or more nothing is hidden."""
    assert funnel_hidden([3, 10, 12], [3, 0, 2]).tolist() == [True, True, False]
    assert funnel_hidden([3, 10, 12], [3, 10, 2]).tolist() == [True, True, True]
    assert funnel_hidden([0, 10, 12], [0, 0, 2]).tolist() == [True, False, False]
    assert funnel_hidden([6, 10], [1, 2]).tolist() == [False, False]


def test_the_same_breakdowns_in_any_order_suppress_the_same_cells() -> None:
    """Ties between equal cells were broken by row position, so the order in which the
    database returned the therapists (DuckDB fixes none without ORDER BY) chose the
    complement: this table gave two different suppressions over 20 orders of its
    therapists (also hiding C's x and y in some).  By hand, with k = 5 and each therapist's
    cells in the order x, y, z: A's 2 is primary; A's line needs a complement, its smallest
    shown cell (7 and 7, a tie broken by that order: y); column x then has one hidden cell
    and needs one too: B's 6 or C's 6, a tie broken by the therapists' sorted ids (B);
    column y has A's 7 hidden alone: its smallest shown cell is B's 6.  B's line then has
    two hidden cells, and so has every column: A x, A y, B x, B y."""
    df = pd.DataFrame({"therapist_id": ["A"] * 3 + ["B"] * 3 + ["C"] * 3,
                       "group": ["x", "y", "z"] * 3, "episodes": [2, 7, 7, 6, 6, 9, 6, 9, 9]})
    seen = set()
    for seed in range(20):
        ids = pd.Series(["A", "B", "C"]).sample(frac=1, random_state=seed).tolist()
        shuffled = pd.concat([df[df["therapist_id"] == t] for t in ids])
        out = suppress_groups(shuffled, within=["therapist_id"], across=["group"])
        hidden = out.loc[out["suppressed"]]
        seen.add(tuple(sorted(hidden["therapist_id"] + hidden["group"])))
    assert seen == {("Ax", "Ay", "Bx", "By")}
