"""Small cells in the breakdowns by ending, at the metrics layer (domain.md §8).

``outcomes.outcomes_by_termination`` and ``termination.dose_by_termination`` suppress an
ending of 1 to k−1 episodes themselves, so no caller can leak one by forgetting
``min_cell``.  Over random exports (practice and each therapist's scope, k = 5 or 8) the
returned frames are compared with a plain-Python rule built on the reference counts of
``tests/reference.py``:

* the suppressed endings are ``reference.suppress`` of the counts (paired episodes for
  outcomes, episodes for dose): the 1..k−1 ones plus, when that is exactly one, the next
  smallest (non-empty first, ties in ``TERMINATION`` order);
* outcomes: recovery is withheld by the same rule on the episodes starting as cases, each
  suppressed ending counted as a small cell of 1 (so the complements, and the bound rule of
  an attacker who knows which cells are small, see it): the suppressed endings, the shown
  ones with 1..k−1 cases, and the complements that rule adds (the practice of 6, 10, 7, 4, 4
  paired and 5, 7, 5, 4, 2 cases by ending, k = 5, hides recovery in the first four: three
  hidden 1s sit at the lower bound, so the smallest other non-empty ending, 5, goes too);
* a hidden ending has its count and every figure NaN; a shown one its reference count, 0 or
  at least k; never is exactly one ending with episodes hidden (it would be the scope total,
  published elsewhere, minus the shown endings).

Checked by hand that it fails when the masking is removed: with ``privacy.suppress_groups``
replaced by a no-op in ``outcomes`` and ``termination`` (``suppressed`` all False) both
tests fail on the first export with a small ending.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import pandas as pd
import reference as ref
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from strategies import START, caseload_frames

from supervision.caseload import Caseload
from supervision.clinical import outcomes, termination
from supervision.measures import default_registry
from supervision.schema import TERMINATION

SETTINGS = settings(max_examples=25, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
FRAMES = caseload_frames(max_therapists=3, max_episodes=40, max_sessions=4)
SCORE = st.integers(0, 27).map(float)


@st.composite
def paired_frames(draw: st.DrawFn) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Exports dense in PHQ-9 pairs, so that endings of every size around k occur (random
    exports of ``caseload_frames`` rarely reach 5 paired episodes in one ending): per
    ending 0–12 episodes, each with one to three attended PHQ-9 scores a week apart, on
    one of two therapists."""
    sessions, episodes = [], []
    for ending in TERMINATION:
        for _ in range(draw(st.integers(0, 12))):
            eid, tid = f"E{len(episodes):03d}", draw(st.sampled_from(["T1", "T2"]))
            episodes.append({"episode_id": eid, "client_id": f"C{eid}", "therapist_id": tid,
                             "start_date": START, "termination": ending})
            sessions += [{"client_id": f"C{eid}", "therapist_id": tid, "episode_id": eid,
                          "session_date": START + dt.timedelta(days=7 * i),
                          "attendance": "attended", "phq9": draw(SCORE)}
                         for i in range(draw(st.integers(1, 3)))]
    assume(episodes)
    return (pd.DataFrame(sessions), pd.DataFrame(episodes),
            pd.DataFrame({"therapist_id": ["T1", "T2"]}))


def _scopes(frames: tuple) -> list[tuple[Caseload, pd.DataFrame, pd.DataFrame]]:
    """(caseload, sessions, episodes) for the practice and each therapist's own scope."""
    s, e, t = frames
    cl = Caseload.from_frames(s, e, t, registry=default_registry())
    out = [(cl, s, e)]
    for tid in pd.unique(e["therapist_id"]):
        out.append((cl.scoped(therapist_id=str(tid)), s[s["therapist_id"] == tid],
                    e[e["therapist_id"] == tid]))
    return out


def _check_hidden(df: pd.DataFrame, flag: str, want: set[str], cols: list[str]) -> None:
    got = set(df.loc[df[flag].astype(bool), "termination"])
    assert got == want, (flag, got, want)
    assert df.loc[df[flag].astype(bool), cols].isna().all().all(), flag


@SETTINGS
@given(frames=st.one_of(paired_frames(), FRAMES), k=st.sampled_from([5, 8]))
def test_dose_never_shows_a_small_ending(frames: tuple, k: int) -> None:
    for cl, s, e in _scopes(frames):
        counts = dict.fromkeys(TERMINATION, 0)
        for r in ref.episode_termination(s, e).values():
            counts[r["termination"]] += 1
        d = termination.dose_by_termination(cl, min_cell=k)
        want = ref.suppress(counts, k)
        _check_hidden(d, "suppressed", want, ["episodes", "median", "q1", "q3", "mean"])
        shown = d[~d["suppressed"]]
        assert all(n == 0 or n >= k for n in shown["episodes"]), shown
        assert {t: int(n) for t, n in zip(shown["termination"], shown["episodes"],
                                          strict=True)} == {
            t: n for t, n in counts.items() if t not in want}
        assert d["suppressed"].sum() != 1


def _outcome_counts(s: pd.DataFrame, e: pd.DataFrame) -> tuple[dict[str, int], dict[str, int]]:
    """Paired episodes and episodes starting as PHQ-9 cases, per ending (reference)."""
    ending = dict(zip(e["episode_id"], e["termination"], strict=True))
    paired, cases = dict.fromkeys(TERMINATION, 0), dict.fromkeys(TERMINATION, 0)
    for eid, r in ref.episode_outcomes(s, default_registry(), "phq9").items():
        paired[ending[eid]] += 1
        cases[ending[eid]] += bool(r["started_clinical"])
    return paired, cases


def _shown_values(df: pd.DataFrame, mask: Any, col: str) -> dict[str, int]:
    return {t: int(n) for t, n in zip(df.loc[mask, "termination"], df.loc[mask, col],
                                      strict=True)}


@SETTINGS
@given(frames=st.one_of(paired_frames(), FRAMES), k=st.sampled_from([5, 8]))
def test_outcomes_never_show_a_small_ending(frames: tuple, k: int) -> None:
    for cl, s, e in _scopes(frames):
        paired, cases = _outcome_counts(s, e)
        b = outcomes.outcomes_by_termination(cl, "phq9", min_cell=k)
        rows = ref.suppress(paired, k)
        # the recovery level: the same rule on the cases, a hidden ending counted as 1 (a
        # small cell: hidden either way), so its bound rule sees those endings too
        recovery = ref.suppress({t: 1 if t in rows else n for t, n in cases.items()}, k)
        figures = [c for c in b if c not in ("termination", "suppressed", "recovery_suppressed")]
        _check_hidden(b, "suppressed", rows, figures)
        _check_hidden(b, "recovery_suppressed", recovery, list(outcomes.RECOVERY_COLUMNS))
        assert _shown_values(b, ~b["suppressed"], "paired") == {
            t: n for t, n in paired.items() if t not in rows}
        assert _shown_values(b, ~b["recovery_suppressed"], "started_clinical") == {
            t: n for t, n in cases.items() if t not in recovery}
        for col, cells in (("paired", paired), ("started_clinical", cases)):
            shown = b[col].dropna()
            assert all(n == 0 or n >= k for n in shown), (col, shown.tolist(), cells)
        assert b["suppressed"].sum() != 1 and b["recovery_suppressed"].sum() != 1
        rate = b["reliable_improvement_rate"].dropna()
        assert all(0 <= x <= 1 for x in rate) and not any(math.isinf(x) for x in rate)
