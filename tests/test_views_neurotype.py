"""Neurotype views when every group is suppressed or empty: one message, no empty axes."""

from __future__ import annotations

import pandas as pd

from supervision.views import neurotype as vn


def _groups(episodes: list[float | None], suppressed: list[bool]) -> pd.DataFrame:
    names = ["shared", "other_nd", "nd_therapist", "nt_therapist", "both_nt", "unknown"]
    return pd.DataFrame({"group": names, "episodes": episodes, "suppressed": suppressed,
                         "early_alliance": [30.0 if not s and e else None
                                            for e, s in zip(episodes, suppressed, strict=True)]})


def test_all_suppressed_or_zero_shows_nothing() -> None:
    """A caseload of 13 episodes spread 4/4/3/0/0/2 over the groups (all below 5, two empty):
    no group has a figure, so the tab shows one message instead of empty charts."""
    g = _groups([None, None, None, 0, 0, None], [True, True, True, False, False, True])
    assert vn.nothing_shown(g)
    assert vn.group_rates_figure(g, min_cell=5) is None
    assert vn.group_alliance_figure(g, min_cell=5) is None


def test_one_shown_group_is_enough() -> None:
    g = _groups([0, 0, 0, 11, None, None], [False, False, False, False, True, True])
    assert not vn.nothing_shown(g)
    assert vn.nothing_shown(None) and vn.nothing_shown(g.iloc[0:0])
