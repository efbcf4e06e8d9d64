"""Staff neurotype in the practice's tag grid (issue 23, item 4).

The demo export (data/demo) has one therapist tagged ``unknown`` (T03) and two tagged
``dyspraxic`` (T06, T07) and ``dyslexic`` (T01, T06): on main the practice review's and the
practice pack's therapist-tag × client-tag grid had a row for each, so "unknown × adhd" was
T03's own clients, and the grid told every viewer which colleagues are neurodivergent.
Now a row of the practice's grid needs at least k distinct therapists behind it; smaller
tags are merged into one row, itself hidden below k therapists, with a sentence saying why.
The therapists behind each tag are counted here in pandas from the raw frames.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest

from supervision import periods
from supervision.caseload import Caseload
from supervision.clinical.neurotype import MERGED_TAGS, tag_grid
from supervision.views.neurotype import STAFF_TAGS

K = 5
DEMO = Path(__file__).resolve().parents[1] / "data" / "demo"
QUARTER = "2024Q3"


def _tag_therapists(s: pd.DataFrame, e: pd.DataFrame, t: pd.DataFrame,
                    quarter: str) -> dict[str, set[str]]:
    """Therapist tag -> the therapists holding it who have an episode in ``quarter``'s scope
    (started by its last day, not ended before its first)."""
    q0, q1 = (pd.Timestamp(d) for d in periods.quarter_bounds(quarter))
    start, end = pd.to_datetime(e["start_date"]), pd.to_datetime(e["end_date"])
    active = set(e.loc[(start <= q1) & (end.isna() | (end >= q0)), "therapist_id"])
    out: dict[str, set[str]] = {}
    for tid, tags in zip(t["therapist_id"], t["therapist_neurotype"], strict=True):
        if tid in active:
            for tag in str(tags).split(";"):
                out.setdefault(tag, set()).add(tid)
    return out


@pytest.fixture(scope="module")
def demo_frames() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    return tuple(pd.read_csv(DEMO / f"{n}.csv", dtype=str, keep_default_na=False).replace(
        "", None) for n in ("sessions", "episodes", "therapists"))  # type: ignore[return-value]


@pytest.fixture(scope="module")
def demo() -> Caseload:
    from supervision.io import load_export

    return load_export(DEMO, progress=False)


def test_no_therapist_tag_of_fewer_than_k_therapists_has_a_row(
    demo: Caseload, demo_frames: tuple[pd.DataFrame, ...]
) -> None:
    """In each of four quarters: every row of the practice grid is a tag held by >= 5
    therapists (slow count), or the merged row; a tag of 1 or 2 therapists never shows."""
    for q in ("2023Q4", "2024Q1", "2024Q2", "2024Q3"):
        held = _tag_therapists(*demo_frames, q)
        q0, q1 = periods.quarter_bounds(q)
        grid = tag_grid(demo.scoped(since=q0, until=q1).materialised(), min_cell=K,
                        staff_rows=True)
        rows = set(grid["therapist_tag"])
        own = {tag for tag, who in held.items() if len(who) >= K}
        assert rows - {MERGED_TAGS} == own, q
        assert {"unknown", "dyspraxic", "dyslexic"} & rows == set(), q
        merged = set().union(*(who for tag, who in held.items() if len(who) < K))
        if MERGED_TAGS in rows and len(merged) < K:  # shown only as a row of hidden cells
            assert grid.loc[grid["therapist_tag"] == MERGED_TAGS, "suppressed"].all(), q


def test_a_merged_row_of_fewer_than_k_therapists_is_hidden_whole() -> None:
    """Six therapists tagged ``neurotypical`` with 10 episodes each, one tagged ``unknown``
    with 10: ``unknown`` merges into a row of one therapist, which is hidden in every cell
    although its cell holds 10 episodes (>= 5), and so is at least one other cell (its
    complement), so the hidden row cannot be had as a total minus the rest."""
    rows, eps = [], []
    therapists = [(f"T{i}", "neurotypical") for i in range(1, 7)] + [("T9", "unknown")]
    for tid, _ in therapists:
        for j in range(10):
            eid = f"{tid}E{j}"
            eps.append({"episode_id": eid, "client_id": eid, "therapist_id": tid,
                        "start_date": pd.Timestamp("2024-01-08"), "end_date": None,
                        "termination": "ongoing", "client_neurotype": "adhd"})
            rows.append({"source_row": len(rows) + 1, "client_id": eid, "therapist_id": tid,
                         "episode_id": eid, "session_date": pd.Timestamp("2024-01-08"),
                         "attendance": "attended", "srs": 35.0, "rupture": "none"})
    t = pd.DataFrame(therapists, columns=["therapist_id", "therapist_neurotype"])
    cl = Caseload.from_frames(pd.DataFrame(rows), pd.DataFrame(eps), t)
    grid = tag_grid(cl, min_cell=K, staff_rows=True).set_index("therapist_tag")
    assert "unknown" not in grid.index
    assert bool(grid.loc[MERGED_TAGS, "suppressed"]) and pd.isna(grid.loc[MERGED_TAGS, "episodes"])
    assert bool(grid.loc["neurotypical", "suppressed"])  # the complement in the only line
    # without staff_rows (one therapist's own caseload) the rows are the tags themselves
    own = tag_grid(cl, min_cell=K)
    assert "unknown" in set(own["therapist_tag"])


def test_the_practice_review_grid_merges_small_tags_and_says_why(demo: Caseload) -> None:
    from supervision.views.apps import PracticeApp

    app = PracticeApp(demo, min_cell=K)
    app.quarter.value = QUARTER
    app.refresh()
    names = [name for name, _ in app.tab_specs]
    app.tabs.selected_index = names.index("Neurotype patterns")
    fig = app.figures["neurotype_grid"]
    assert fig is not None
    ys = set(fig.data[0].y)
    assert {"unknown", "dyspraxic", "dyslexic"} & ys == set()
    assert MERGED_TAGS in ys
    box = app.tabs.children[names.index("Neurotype patterns")]
    text = " ".join(getattr(w, "value", "") for w in _leaves(box))
    assert "health information about a" in text and "colleague" in text


def _leaves(w: object) -> list:
    kids = getattr(w, "children", ())
    return [w] + [x for k in kids for x in _leaves(k)]


def test_the_practice_pack_grid_merges_small_tags_and_says_why(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from supervision import opening
    from supervision.report import build, sections

    monkeypatch.setenv(opening.EXPORT, str(DEMO))
    monkeypatch.setenv(build.QUARTER, QUARTER)
    opening.caseload.cache_clear()
    try:
        pack = sections.practice_pack()
    finally:
        opening.caseload.cache_clear()
    sec = next(s for s in pack.sections if s.key == "neurotype").html()
    heat = [tr for data in _plotly_data(sec) for tr in data if tr.get("type") == "heatmap"]
    assert heat, "the practice pack should draw the tag grid"
    ys = {y for tr in heat for y in tr["y"]}
    assert {"unknown", "dyspraxic", "dyslexic"} & ys == set()
    assert MERGED_TAGS in ys
    text = sec.replace("&#x27;", "'")
    assert STAFF_TAGS.split("{")[0] in text and "health information about a colleague" in text


def _plotly_data(html: str) -> list[list[dict]]:
    """The data array of every ``Plotly.newPlot(id, data, ...)`` call in ``html``."""
    out, dec = [], json.JSONDecoder()
    for m in re.finditer(r'Plotly\.newPlot\(\s*"[^"]*",\s*', html):
        data, _ = dec.raw_decode(html, m.end())
        out.append(data)
    return out
