"""Hypothesis strategies: small, valid canonical exports (sessions, episodes, therapists).

``caseload_frames()`` draws a handful of therapists and episodes with random attendance,
SRS / WAI-SR totals (and WAI-SR subscales), PHQ-9 / GAD-7 scores, clinician-flagged ruptures
with repairs that obey domain.md's rule (a ``repair`` only where a rupture ≠ none sits at or
before it in the episode), terminations and neurotype tags.  Rows come in a shuffled order
with a permuted ``source_row``, and sessions can share a date, so that ordering by
``session_date`` then ``source_row`` is exercised.  Values are integers or half points (exact
in binary floating point), and may sit on non-attended sessions (which are then not rated).

Feed the frames to :meth:`supervision.caseload.Caseload.from_frames`; the slow reference
implementation in ``tests/reference.py`` reads the same frames.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd
from hypothesis import strategies as st

from supervision.schema import REPAIR, TERMINATION

START = dt.date(2024, 1, 1)
ND = ("adhd", "autistic", "dyslexic", "dyspraxic", "tourette", "other_nd")
NEUROTYPES = st.sampled_from(
    ["unknown", "neurotypical", "adhd", "autistic", "adhd;autistic", "dyslexic;other_nd",
     "tourette", "dyspraxic;adhd"]
)
#: Weighted by repetition: most sessions are attended.
ATTENDANCE = st.sampled_from(["attended"] * 6 + ["cancelled", "no_show", "no_show"])
RUPTURE = st.sampled_from(["none"] * 6 + ["withdrawal", "confrontation", "unspecified"])
SRS = st.one_of(
    st.none(),
    st.sampled_from([20.0, 27.5, 30.0, 33.0, 35.0, 35.5, 36.0, 38.0, 40.0]),
    st.integers(0, 40).map(float),
)
WAI = st.one_of(st.none(), st.sampled_from([30.0, 36.0, 41.5, 42.0, 48.0, 54.0, 60.0]))
SUBSCALE = st.integers(4, 20).map(float)
PHQ9 = st.one_of(st.none(), st.integers(0, 27).map(float))
GAD7 = st.one_of(st.none(), st.integers(0, 21).map(float))


@st.composite
def _session(draw: st.DrawFn, episode: dict[str, Any], day: int) -> dict[str, Any]:
    wai = draw(WAI)
    row = {
        "client_id": episode["client_id"], "therapist_id": episode["therapist_id"],
        "episode_id": episode["episode_id"], "session_date": START + dt.timedelta(days=day),
        "attendance": draw(ATTENDANCE), "srs": draw(SRS), "wai_sr": wai,
        "phq9": draw(PHQ9), "gad7": draw(GAD7), "rupture": draw(RUPTURE),
        "repair": draw(st.sampled_from([*REPAIR, None, None])),
    }
    for sub in ("wai_goal", "wai_task", "wai_bond"):
        row[sub] = draw(SUBSCALE) if wai is not None else None
    return row


@st.composite
def caseload_frames(
    draw: st.DrawFn, *, max_therapists: int = 3, max_episodes: int = 6, max_sessions: int = 10
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """``(sessions, episodes, therapists)`` canonical frames of a small random export."""
    n_t = draw(st.integers(1, max_therapists))
    therapists = pd.DataFrame({
        "therapist_id": [f"T{i}" for i in range(1, n_t + 1)],
        "therapist_neurotype": [draw(NEUROTYPES) for _ in range(n_t)],
        "team": [draw(st.sampled_from(["North", "South"])) for _ in range(n_t)],
    })
    episodes, rows = [], []
    for i in range(1, draw(st.integers(1, max_episodes)) + 1):
        start = draw(st.integers(0, 200))
        ep = {"episode_id": f"E{i}", "client_id": f"C{i}",
              "therapist_id": f"T{draw(st.integers(1, n_t))}",
              "start_date": START + dt.timedelta(days=start),
              "client_neurotype": draw(NEUROTYPES),
              "termination": draw(st.sampled_from(TERMINATION))}
        day = start
        for _ in range(draw(st.integers(0, max_sessions))):
            day += draw(st.sampled_from([0, 3, 7, 7, 14]))
            rows.append(draw(_session(ep, day)))
        ended = ep["termination"] != "ongoing"
        ep["end_date"] = START + dt.timedelta(days=day) if ended else None
        episodes.append(ep)
    sessions = _with_order(draw, rows)
    return sessions, pd.DataFrame(episodes), therapists


def _with_order(draw: st.DrawFn, rows: list[dict[str, Any]]) -> pd.DataFrame:
    """Permute ``source_row`` and row order; drop repairs with no rupture at or before them."""
    cols = ["source_row", "client_id", "therapist_id", "episode_id", "session_date",
            "attendance", "srs", "wai_sr", "wai_goal", "wai_task", "wai_bond", "phq9", "gad7",
            "rupture", "repair"]
    if not rows:
        return pd.DataFrame({c: pd.Series(dtype="object") for c in cols})
    perm = draw(st.permutations(range(1, len(rows) + 1)))
    for row, source_row in zip(rows, perm, strict=True):
        row["source_row"] = source_row
    seen: set[str] = set()
    for row in sorted(rows, key=lambda r: (r["episode_id"], r["session_date"], r["source_row"])):
        if row["rupture"] != "none":
            seen.add(row["episode_id"])
        if row["episode_id"] not in seen:
            row["repair"] = None
    shuffled = draw(st.permutations(rows))
    return pd.DataFrame(list(shuffled), columns=cols)


__all__ = ["caseload_frames"]
