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


def _mixed() -> pd.DataFrame:
    """Issue 24 item 4: shared 12 episodes (shown), other_nd suppressed, nd_therapist 0,
    nt_therapist 7 (shown, no ended episodes: no drop-out rate), both_nt suppressed, unknown 0."""
    g = _groups([12, None, 0, 7, None, 0], [False, True, False, False, True, False])
    g["early_alliance_low"] = g["early_alliance"] - 1
    g["early_alliance_high"] = g["early_alliance"] + 1
    g["dropout_rate"] = [0.25, None, None, None, None, None]
    g["dropout_rate_low"] = [0.1, None, None, None, None, None]
    g["dropout_rate_high"] = [0.5, None, None, None, None, None]
    g["ended"] = [8, None, 0, 0, None, 0]
    return g


def test_every_group_has_one_state_on_its_tick() -> None:
    """Each of the six groups is on the axis with exactly one state: "n = 12", "<5: not
    shown", "no episodes", "n = 7", "<5: not shown", "no episodes" (by hand from _mixed),
    the same ticks in both figures; no text trace sits on a marker and no legend entry
    reads like a "fewer than 5" marker."""
    want = ["n = 12", "&lt;5: not shown", "no episodes", "n = 7", "&lt;5: not shown",
            "no episodes"]
    for fig in (vn.group_rates_figure(_mixed(), min_cell=5),
                vn.group_alliance_figure(_mixed(), min_cell=5)):
        ticks = list(fig.layout.xaxis.categoryarray)
        assert [t.split("<br>")[1] for t in ticks] == want
        assert ticks[1].startswith("Both ND, no shared tag")
        assert all(tr.mode != "text" and "text" not in (tr.mode or "") for tr in fig.data)
        assert not any("fewer than" in (tr.name or "") for tr in fig.data)


def test_empty_reason_says_why_and_what_would_fill_it() -> None:
    g = _groups([None, None, None, 0, 0, None], [True, True, True, False, False, True])
    text = vn.empty_reason(g, min_cell=5, where="this caseload")
    assert "4 neurotype group(s)" in text and "fewer than 5" in text
    assert "wider date range" in text
    none = _groups([0] * 6, [False] * 6)
    assert vn.empty_reason(none, min_cell=5, where="this caseload").startswith("No episodes")


def test_heatmap_text_ink_follows_each_cell_and_tags_read_plainly() -> None:
    """Cividis at 0 is dark navy (white text), at 1 light yellow (black text); a suppressed
    cell is light grey (black "<5"); `other_nd` reads "other neurodivergent"."""
    grid = pd.DataFrame({
        "therapist_tag": ["adhd", "adhd", "other_nd"],
        "client_tag": ["autistic", "other_nd", "autistic"],
        "episodes": [10, 10, None], "suppressed": [False, False, True],
        "dropout_rate": [0.0, 1.0, None],
    })
    fig = vn.tag_heatmap_figure(grid, min_cell=5)
    inks = {(a.x, a.y, a.text.split("<br>")[0]): a.font.color for a in fig.layout.annotations}
    assert inks[("autistic", "ADHD", "0%")] == "#ffffff"
    assert inks[("other neurodivergent", "ADHD", "100%")] == "#000000"
    assert inks[("autistic", "other neurodivergent", "&lt;5")] == "#000000"
    assert "other_nd" not in str(fig.data[0].x) + str(fig.data[0].y)
