"""Headline figures of every therapist at once, and the server's precomputed ones.

``scopes.headlines_by_therapist`` (four grouped queries) must give, for each therapist, exactly
what ``scopes.headline`` gives on that therapist's own scope (floats to 1e-9: DuckDB sums in
parallel); ``scopes.scope_headline`` must find them in a kernel's prepared copy for the
default window and compute any other scope itself.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from compare import nested_close

from supervision import opening, periods, scopes
from supervision import serve as sv
from supervision.io import load_export
from supervision.io.prepared import open_prepared
from supervision.measures import default_registry

DEMO = Path(__file__).resolve().parents[1] / "data" / "demo"


@pytest.fixture(scope="module")
def demo():
    return load_export(DEMO)


def _keys(cl, since, until) -> dict:
    p = scopes.practice_for(cl, since, until)
    return {"alliance_key": p["alliance_key"], "outcome_key": p["outcome_key"]}


@pytest.mark.parametrize("shift", [None, 0, 150])
def test_grouped_headlines_equal_each_therapists_own(demo, shift) -> None:
    """Whole export (no window), the default window, and a window cut 150 days at each end
    (episodes read as of its end: later endings become ongoing, later sessions unseen)."""
    if shift is None:
        since = until = None
    else:
        lo, hi = periods.date_span(demo)
        since, until = lo + dt.timedelta(days=shift), hi - dt.timedelta(days=shift)
    keys = _keys(demo, since, until)
    by = scopes.headlines_by_therapist(demo.scoped(since=since, until=until), **keys)
    assert len(by) >= 10
    for tid in demo.therapist_ids():
        own = scopes.headline(demo.scoped(therapist_id=tid, since=since, until=until), **keys)
        if tid in by:
            assert nested_close(by[tid], own) == [], tid
        else:  # no episode in the window: left out, and the scope itself shows none
            assert not own["episodes"]["value"], tid


def test_kernel_finds_the_default_windows_headlines(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, demo
) -> None:
    """From the server's prepared copy: the default window's headline is looked up (the query
    functions would fail if called) and equals a direct computation; another window is
    computed."""
    _root, env = sv.prepare(DEMO, therapist=None, mapping=None, measures=None, min_cell=5,
                            workdir=tmp_path)
    kernel = open_prepared(env[opening.PREPARED], registry=default_registry())
    lo, hi = periods.date_span(kernel)
    keys = _keys(kernel, lo, hi)
    tid = kernel.therapist_ids()[3]
    own = kernel.scoped(therapist_id=tid, since=lo, until=hi).materialised()
    monkeypatch.setattr(scopes, "headline", lambda *a, **k: pytest.fail("computed"))
    got = scopes.scope_headline(own, **keys)
    monkeypatch.undo()
    want = scopes.headline(demo.scoped(therapist_id=tid, since=lo, until=hi), **keys)
    assert nested_close(got, want) == []
    later = kernel.scoped(therapist_id=tid, since=lo + dt.timedelta(days=30), until=hi)
    later_keys = _keys(kernel, lo + dt.timedelta(days=30), hi)
    called = []
    real = scopes.headline
    monkeypatch.setattr(scopes, "headline", lambda *a, **k: called.append(1) or real(*a, **k))
    scopes.scope_headline(later, **later_keys)
    assert called == [1]
