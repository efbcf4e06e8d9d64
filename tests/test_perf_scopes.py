"""Issue 5 speed-ups give the same figures on scoped caseloads.

Rupture events of a scoped caseload now come from *candidates* computed once over the whole
export (``ruptures._candidates``) and filtered per scope (episodes in view, sessions on or
before the cut; a repair counts only when its session is on or before the cut).  Here they are
compared, for random exports and random windows, with the slow reference
(``tests/reference.py``) run on the scope built by hand in pandas from the definition in
``caseload.py`` (episodes active in ``[since, until]``; their sessions on or before
``until``).  Also: nested and materialised scopes, and the memo.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

import ibis
import pandas as pd
import pytest
import reference as ref
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from strategies import START, caseload_frames

from supervision.caseload import Caseload
from supervision.clinical import ruptures
from supervision.measures import default_registry

CON = ibis.duckdb.connect()


def _by_hand(frames: tuple[pd.DataFrame, ...], tid: str | None, since: dt.date,
             until: dt.date) -> pd.DataFrame:
    """The sessions a scope sees, from the definition (caseload.py module docstring)."""
    sessions, episodes, _ = frames
    e = episodes
    # Timestamps, not .dt.date: an all-missing or empty column stays datetime64 in pandas 3
    # and cannot be compared with a date (hypothesis found an export with no sessions).
    start = pd.to_datetime(e["start_date"])
    end = pd.to_datetime(e["end_date"])
    keep = (start <= pd.Timestamp(until)) & (e["end_date"].isna() | (end >= pd.Timestamp(since)))
    if tid is not None:
        keep &= e["therapist_id"] == tid
    s = sessions[sessions["episode_id"].isin(e.loc[keep, "episode_id"])]
    return s[pd.to_datetime(s["session_date"]) <= pd.Timestamp(until)]


def _rows(ev: pd.DataFrame) -> list[tuple]:
    ev = ev.copy()
    ev["session_date"] = pd.to_datetime(ev["session_date"]).dt.date
    return sorted(tuple(r) for r in ev.astype(object).where(ev.notna(), None).itertuples(
        index=False))


def _same(a: object, b: object) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-9)  # type: ignore[arg-type]
    return a == b


def _check(cl: Caseload, sessions: pd.DataFrame) -> None:
    got = _rows(ruptures.rupture_events(cl).execute())
    want = sorted(tuple(e.values()) for e in ref.rupture_events(sessions, default_registry()))
    assert len(got) == len(want), (got, want)
    for g, w in zip(got, want, strict=True):
        assert all(_same(x, y) for x, y in zip(w, g, strict=True)), (w, g)


@settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck))
@given(caseload_frames(max_therapists=3, max_episodes=14),
       st.integers(0, 300), st.integers(0, 300), st.integers(0, 2))
def test_scoped_rupture_events_equal_reference(
    frames: tuple[pd.DataFrame, ...], a: int, b: int, who: int
) -> None:
    """Scoped, materialised and nested scopes see the reference's events of their sessions."""
    since = START + dt.timedelta(days=min(a, b))
    until = START + dt.timedelta(days=max(a, b))
    cl = Caseload.from_frames(*frames, con=CON)
    ids = cl.therapist_ids()
    tid = ids[who % len(ids)]
    _check(cl.scoped(since=since, until=until), _by_hand(frames, None, since, until))
    own = cl.scoped(therapist_id=tid, since=since, until=until).materialised()
    _check(own, _by_hand(frames, tid, since, until))
    # scoped twice: the earlier (smaller) until is the cut, whatever the window says
    later = until + dt.timedelta(days=60)
    nested = cl.scoped(until=until).scoped(since=since, until=later)
    assert nested.session_cut == until
    _check(nested, _by_hand(frames, None, since, until))


def _hand_caseload() -> Caseload:
    """Two episodes of T1 (SRS; a = attended).

    E1: s1 a 40 | s2 a 30 | s3 a 41 (drop at s2, 10 ≥ 5, back to ≥ 40 one rated session
    later, on day 14) | s4 a 38 withdrawal | s5 a 38 repair resolved (day 28).
    E2: s1 a 38 unspecified, never resolved.
    """
    day = [dt.date(2024, 1, 1) + dt.timedelta(days=7 * i) for i in range(5)]
    s = pd.DataFrame({
        "source_row": range(1, 7), "client_id": ["c1"] * 5 + ["c2"],
        "therapist_id": ["T1"] * 6, "episode_id": ["E1"] * 5 + ["E2"],
        "session_date": [*day, day[0]], "attendance": ["attended"] * 6,
        "srs": [40.0, 30.0, 41.0, 38.0, 38.0, 38.0],
        "rupture": ["none", "none", "none", "withdrawal", "none", "unspecified"],
        "repair": [None, None, None, None, "resolved", None],
    })
    e = pd.DataFrame({"episode_id": ["E1", "E2"], "client_id": ["c1", "c2"],
                      "therapist_id": ["T1", "T1"], "start_date": [day[0]] * 2,
                      "termination": ["ongoing", "ongoing"]})
    t = pd.DataFrame({"therapist_id": ["T1"]})
    return Caseload.from_frames(s, e, t, con=CON)


def test_repairs_after_the_cut_are_not_seen() -> None:
    """By hand (docstring of ``_hand_caseload``): as of day 7 the drop at s2 is not yet
    repaired (its repair, s3, is on day 14); as of day 21 the flagged s4 is unrepaired (the
    resolve is on day 28); as of day 28 both are repaired, the drop in 1 rated session and
    the flag in 5 − 4 = 1 attended session."""
    cl = _hand_caseload()

    def ev(until: dt.date) -> dict[int, tuple]:
        df = ruptures.rupture_events(cl.scoped(until=until)).execute()
        return {int(r.source_row): (r.kind, bool(r.repaired),
                                    None if pd.isna(r.sessions_to_repair)
                                    else int(r.sessions_to_repair))
                for r in df.itertuples()}

    d = dt.date(2024, 1, 1)
    assert ev(d + dt.timedelta(days=7)) == {2: ("drop", False, None), 6: ("flagged", False, None)}
    assert ev(d + dt.timedelta(days=21))[2] == ("drop", True, 1)
    assert ev(d + dt.timedelta(days=21))[4] == ("flagged", False, None)
    assert ev(d + dt.timedelta(days=28))[4] == ("flagged", True, 1)


@dataclass(frozen=True)
class _Key:
    """A cache key kind of this test's own."""

    name: str


def test_memo_is_per_object() -> None:
    """``memo`` builds once per caseload object; a scope or ``replace`` starts empty but keeps
    the root; ``measures_present`` runs one query for every kind; a key must be typed."""
    cl = _hand_caseload()
    calls: list[int] = []
    assert cl.memo(_Key("k"), lambda: calls.append(1) or 7) == 7
    assert cl.memo(_Key("k"), lambda: calls.append(1) or 8) == 7
    assert calls == [1]
    sc = cl.scoped(until=dt.date(2024, 1, 10))
    assert sc.root is cl and sc.memo(_Key("k"), lambda: 9) == 9
    with pytest.raises(TypeError, match="frozen dataclass"):
        cl.memo("k", lambda: 7)
    assert sc.materialised().root is cl
    assert cl.measures_present("alliance") == ["srs"] and cl.measures_present("outcome") == []
