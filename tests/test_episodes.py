"""The one-pass per-episode table (``supervision.episodes``) and the figures built on it.

A therapist's figures are a filter of the window's table, never a recomputation, so for
random exports and random windows:

* the table's rows of one therapist equal the table of that therapist's own caseload, and
  a plain therapist scope of the root gets exactly those rows (as a filter);
* the figures ``compute_metrics`` gives a therapist (filtered from the practice's table)
  equal those computed for that therapist alone — all but the neurotype cells, whose
  small-cell suppression is two-way across therapists (domain.md §8) and so, by design,
  depends on the other therapists.

(The default registry has no Jacobson–Truax measure without norms, so no per-episode figure
depends on the sample: ``episodes.sample_free``.)
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from compare import nested_close
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from strategies import START, caseload_frames

from supervision import episodes
from supervision.caseload import Caseload
from supervision.metrics import compute_metrics

DAYS = st.one_of(st.none(), st.integers(0, 400))


def _date(day: int | None) -> dt.date | None:
    return None if day is None else START + dt.timedelta(days=day)


def _rows(cl: Caseload) -> pd.DataFrame:
    df = episodes.episode_table(cl).to_pyarrow().to_pandas()
    df = df.sort_values("episode_id", ignore_index=True)
    return df[sorted(df.columns)].astype(object).where(df.notna(), None)


@pytest.mark.slow
@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(frames=caseload_frames(max_episodes=8), since=DAYS, until=DAYS,
       pick=st.integers(0, 10))
def test_therapist_filtered_from_the_table_equals_own(frames, since, until, pick) -> None:
    s, e, t = frames
    cl = Caseload.from_frames(s, e, t)
    assert episodes.sample_free(cl)
    lo, hi = _date(since), _date(until)
    tid = sorted(t["therapist_id"])[pick % len(t)]
    practice = cl.scoped(since=lo, until=hi)
    alone = _rows(cl.scoped(therapist_id=tid).scoped(since=lo, until=hi))  # its own pass

    mine = _rows(practice)
    mine = mine[mine["therapist_id"] == tid].reset_index(drop=True)
    # the window may have measures this therapist's sessions have no value on: all NULL here
    extra = [c for c in mine.columns if c not in alone.columns]
    assert set(alone.columns) <= set(mine.columns)
    assert mine[extra].isna().all().all()
    assert mine[list(alone.columns)].to_dict("records") == alone.to_dict("records")
    # the plain scope of the root, after the window's table: a filter of that table
    filtered = _rows(cl.scoped(therapist_id=tid, since=lo, until=hi))
    assert filtered[list(alone.columns)].to_dict("records") == alone.to_dict("records")

    got = compute_metrics(cl, since=lo, until=hi)["therapists"].get(tid)
    want = compute_metrics(cl.scoped(therapist_id=tid), since=lo, until=hi)["therapists"]
    want = want.get(tid)
    assert (got is None) == (want is None)
    if got is not None:
        # the practice lists the window's measures, the therapist alone only its own
        for k in ("alliance", "outcomes"):
            assert set(want[k]) <= set(got[k])
            got = {**got, k: {m: got[k][m] for m in want[k]}}
        # neurotype cells are suppressed against the practice's; the intake-adjusted outcome
        # is a therapist's effect in the practice's model (clinical/multilevel.py), so it
        # depends on the other therapists by design and is not a figure of the therapist alone
        # likewise the alliance items' breakdown (issue 25): a therapist's kind is hidden as
        # a complement of another therapist's small one (clinical/alliance.py, item_drivers)
        skip = {"neurotype", "adjusted_outcome"}
        got, want = ({k: v for k, v in m.items() if k not in skip} for m in (got, want))
        got, want = ({**m, "alliance": {a: {k: v for k, v in f.items() if k != "item_drivers"}
                                        for a, f in m["alliance"].items()}}
                     for m in (got, want))
        assert nested_close(got, want) == []
