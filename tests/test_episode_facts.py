"""Facts once per export: an end-date change is a filter of them, never a new pass (issue 21).

The root caseload keeps its ordered sessions (:func:`supervision.episodes.session_facts`) and
its dated sudden gains and losses (seen from the date of session n + 2; reversed on the date
of the reversing score).  The per-episode table as of another end date reads them again and
recomputes neither: no new sort of the sessions, no sudden-gain rule run again.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import ibis.expr.types as ir
import pandas as pd
import pytest

from supervision import episodes
from supervision.caseload import Caseload
from supervision.clinical import sudden_gains as sg

D = dt.date(2024, 1, 1)
#: E1's weekly PHQ-9 scores, sessions 1..8 on D, D+7, …, D+49.
PHQ9 = [20.0, 21.0, 19.0, 10.0, 11.0, 9.0, 10.0, 16.0]


def _caseload() -> Caseload:
    """E1 (T1): eight weekly attended sessions with :data:`PHQ9`; E2 (T2): three, PHQ-9 15."""
    rows = [{"session_id": f"E1-{i}", "episode_id": "E1", "client_id": "C1",
             "therapist_id": "T1", "session_date": D + dt.timedelta(days=7 * i),
             "attendance": "attended", "phq9": x} for i, x in enumerate(PHQ9)]
    rows += [{"session_id": f"E2-{i}", "episode_id": "E2", "client_id": "C2",
              "therapist_id": "T2", "session_date": D + dt.timedelta(days=7 * i),
              "attendance": "attended", "phq9": 15.0} for i in range(3)]
    eps = pd.DataFrame({"episode_id": ["E1", "E2"], "client_id": ["C1", "C2"],
                        "therapist_id": ["T1", "T2"], "start_date": [D, D],
                        "end_date": [None, None], "termination": ["ongoing", "ongoing"]})
    return Caseload.from_frames(pd.DataFrame(rows), eps,
                                pd.DataFrame({"therapist_id": ["T1", "T2"]}))


def _row(t: ir.Table, episode: str) -> dict:
    df = t.to_pyarrow().to_pandas()
    return df[df["episode_id"] == episode].iloc[0].to_dict()


GAIN = ("phq9__gain_events", "phq9__gain_reversals", "phq9__gain_magnitude_sum")


def _gain(row: dict) -> tuple:
    return tuple(None if pd.isna(row[c]) else row[c] for c in GAIN)


def test_an_end_date_change_reads_the_facts_and_recomputes_none(monkeypatch) -> None:
    """By hand (PHQ-9: lower is better, reliable change 6 points = criterion 1): E1's only
    sudden gain is at pregain session 3 (19 → 10: 9 ≥ 6 and 9 ≥ 25% of 19).  Criterion 3
    needs two scores after it, so it is seen from session 5 (D+28) on:
    with 10, 11 after (mean 10.5, SS 0.5) against 20, 21, 19 (mean 20, SS 2): pooled SD
    √(2.5/3) = 0.913, t(0.975, 3) = 3.182 → 2.91 < 20 − 10.5 = 9.5; with 10, 11, 9 (mean 10,
    SS 2) from session 6: √(4/4) = 1, t(0.975, 4) = 2.776 < 10.  Magnitude 19 − 10 = 9.  It is
    reversed by a later score above 10 + 9/2 = 14.5: session 8's 16 (D+49).  (10 → 16 at
    session 7 is no loss: no two scores after it.)  As of D+21 no gain; D+28 … D+42 one gain,
    not reversed; D+49 one gain, reversed.

    The first end date makes the facts once (the ordered sessions and the dated events,
    kept on the root); every other end date builds its table with no new sort of the
    sessions and no run of the sudden-gain rule, and equals the table of the caseload cut
    at that date computed on its own (no facts)."""
    cl = _caseload()
    made: list[int] = []
    cache = ir.Table.cache
    monkeypatch.setattr(ir.Table, "cache", lambda self: made.append(1) or cache(self))
    first = episodes.episode_table(cl.scoped(until=D + dt.timedelta(days=21)))
    assert _gain(_row(first, "E1")) == (None, None, None)
    facts = {k: cl._memo.peek(k) for k in cl._memo
             if isinstance(k, episodes.FactsKey | episodes.SuddenFactsKey)}
    assert len(facts) == 2  # the ordered sessions, PHQ-9's dated events
    per_export = len(made)

    def recomputed(*_: object, **__: object) -> None:
        pytest.fail("per-export work run again for an end-date change")

    monkeypatch.setattr(episodes, "ordered_sessions", recomputed)
    monkeypatch.setattr(sg, "events", recomputed)
    monkeypatch.setattr(sg, "series", recomputed)
    want = {28: (1, 0, 9.0), 35: (1, 0, 9.0), 42: (1, 0, 9.0), 49: (1, 1, 9.0)}
    got = {}
    for days in want:
        made.clear()
        until = D + dt.timedelta(days=days)
        got[days] = _gain(_row(episodes.episode_table(cl.scoped(until=until)), "E1"))
        assert 0 < len(made) < per_export  # the per-date part only
    assert got == want
    assert {k: cl._memo.peek(k) for k in cl._memo if k in facts} == facts  # the same objects

    monkeypatch.undo()
    for days in (21, *want):
        until = D + dt.timedelta(days=days)
        alone = replace(_caseload().scoped(until=until))
        assert alone.scope is None  # not a plain scope: computed from its own sessions
        own = episodes.episode_table(alone).to_pyarrow().to_pandas()
        read = episodes.episode_table(cl.scoped(until=until)).to_pyarrow().to_pandas()
        pd.testing.assert_frame_equal(read.sort_values("episode_id", ignore_index=True),
                                      own.sort_values("episode_id", ignore_index=True))
