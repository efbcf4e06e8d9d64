"""Small-cell suppression (domain.md §8), including complementary suppression."""

from __future__ import annotations

import math

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from supervision.errors import ConfigError
from supervision.privacy import MIN_CELL, check_min_cell, suppress_groups


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
