"""Caseload: canonical tables in DuckDB, and the as-of window of ``scoped``."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from supervision.caseload import Caseload
from supervision.errors import ScopeError


@pytest.fixture
def caseload() -> Caseload:
    """Three episodes of two therapists.

    E1 (T1): 2024-01-01 .. 2024-03-01, completed.  E2 (T1): from 2024-02-15, ongoing.
    E3 (T2): 2023-06-01 .. 2023-09-01, dropout.
    """
    sessions = pd.DataFrame(
        {
            "client_id": ["C1", "C1", "C1", "C2", "C2", "C3"],
            "therapist_id": ["T1", "T1", "T1", "T1", "T1", "T2"],
            "episode_id": ["E1", "E1", "E1", "E2", "E2", "E3"],
            "session_date": ["2024-01-01", "2024-02-01", "2024-03-01",
                             "2024-02-15", "2024-04-01", "2023-06-01"],
            "srs": [30, 34, 38, 36, 37, 20],
        }
    )
    episodes = pd.DataFrame(
        {
            "episode_id": ["E1", "E2", "E3"],
            "client_id": ["C1", "C2", "C3"],
            "therapist_id": ["T1", "T1", "T2"],
            "start_date": ["2024-01-01", "2024-02-15", "2023-06-01"],
            "end_date": ["2024-03-01", None, "2023-09-01"],
            "termination": ["completed", None, "dropout"],
        }
    )
    therapists = pd.DataFrame({"therapist_id": ["T1", "T2"], "team": ["North", "South"]})
    return Caseload.from_frames(sessions, episodes, therapists)


def test_defaults_and_types(caseload: Caseload) -> None:
    e = caseload.episodes.execute().set_index("episode_id")
    assert e.loc["E2", "termination"] == "ongoing"
    assert e.loc["E1", "client_neurotype"] == "unknown"
    s = caseload.sessions.execute()
    assert set(s["attendance"]) == {"attended"} and set(s["rupture"]) == {"none"}
    assert s["source_row"].tolist() == [1, 2, 3, 4, 5, 6]
    assert caseload.measures_present() == ["srs"]
    assert caseload.therapist_ids() == ["T1", "T2"]


def test_until_reads_as_of_that_date(caseload: Caseload) -> None:
    """until=2024-02-20: E1 ended later (03-01) so it is ongoing as of then; E3 ended before
    and is kept (no since); E2 keeps only its 02-15 session."""
    c = caseload.scoped(until="2024-02-20")
    e = c.episodes.execute().set_index("episode_id")
    assert sorted(e.index) == ["E1", "E2", "E3"]
    assert e.loc["E1", "termination"] == "ongoing" and pd.isna(e.loc["E1", "end_date"])
    assert e.loc["E3", "termination"] == "dropout"
    s = c.sessions.execute()
    assert sorted(s["session_date"].astype(str)) == [
        "2023-06-01", "2024-01-01", "2024-02-01", "2024-02-15"]


def test_since_keeps_active_episodes_with_their_early_sessions(caseload: Caseload) -> None:
    """since=2024-02-10: E3 ended 2023-09-01, before the window: out.  E1 is active (ends
    03-01) and keeps its January session, so its early alliance keeps its meaning."""
    c = caseload.scoped(since=dt.date(2024, 2, 10))
    assert sorted(c.episodes.execute()["episode_id"]) == ["E1", "E2"]
    s = c.sessions.execute()
    assert len(s) == 5 and "2024-01-01" in s["session_date"].astype(str).tolist()
    assert c.window == (dt.date(2024, 2, 10), None)


def test_therapist_scope_cannot_be_widened(caseload: Caseload) -> None:
    c = caseload.scoped(therapist_id="T1")
    assert set(c.sessions.execute()["therapist_id"]) == {"T1"}
    assert c.therapist_ids() == ["T1"]
    assert c.scoped(since="2024-01-01").therapist_scope == "T1"
    with pytest.raises(ScopeError):
        c.scoped(therapist_id="T2")
