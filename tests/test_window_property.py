"""Issue 21: the as-of figures of any window equal the slow reference on the export cut by hand.

For random exports (``strategies.caseload_frames``) and random windows ``(since, until,
therapist or None)``, :func:`supervision.metrics.compute_metrics` is compared with the
plain-Python reference (``tests/reference.py``) run on frames cut in pandas straight from the
definition in ``caseload.py`` (module docstring) — not from the product's code:

* episodes *active* in ``[since, until]``: started on or before ``until`` and not ended before
  ``since`` (an open end means no bound);
* read **as of** ``until``: an episode that ended after ``until`` is ``ongoing`` (no end date),
  and only its sessions on or before ``until`` are seen (sessions before ``since`` stay, so
  "early alliance" and "first score" keep their meaning).

``tests/test_perf_scopes.py::_by_hand`` cuts the sessions the same way for the rupture events;
here the episodes (their as-of termination) are cut too, since termination and cases need them.

Compared, for ``practice`` and every therapist the JSON lists: ``episodes``,
``sessions_attended``, ``alliance.<m>.{rated_sessions, early_mean, mean_slope, low_share}``,
``ruptures.{flagged, drop, count, repaired, per_100_sessions, repair_rate, repair_rate_ci,
unrepaired_at_end}``, ``termination.{ended, counts, dropout_rate, dropout_rate_ci,
intake_only_rate}``, ``outcomes.<m>.{paired, reliable_improvement, reliable_deterioration,
recovered, reliable_recovery}`` (PHQ-9, GAD-7 and the paired rule), which measures are present,
which therapists are listed, and the ``cases`` list with every reason (the reference's five,
plus ``sudden_loss`` as ``tests/test_cases.py::_with_sudden_loss`` adds it; ``not_on_track``
cannot fire with fewer than 30 ended episodes and ``risk_item`` needs PHQ-9 item 9, which the
strategy does not draw).  Neurotype groups are left out: they are suppressed (domain.md §8),
therapist-level figures are not.  Floats to 1e-9.

``compute_metrics(therapist=...)`` returns that one therapist (even with no episode in the
window) and still the whole practice; without it, every therapist with an episode in the window.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import ibis
import pandas as pd
import pytest
import reference as ref
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from strategies import START, caseload_frames
from test_cases import _with_sudden_loss

from supervision.caseload import Caseload
from supervision.measures import Registry, default_registry
from supervision.metrics import compute_metrics

CON = ibis.duckdb.connect()
Frames = tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]

ALLIANCE = ("srs", "wai_sr")
OUTCOME = ("phq9", "gad7")
PAIRED = "phq9_gad7"
TERMINATIONS = ref.TERMINATIONS
OUTCOME_KEYS = ("paired", "reliable_improvement", "reliable_deterioration", "recovered",
                "reliable_recovery")


# ----------------------------------------------------------------------------- the cut
def cut_by_hand(frames: Frames, since: dt.date | None, until: dt.date | None) -> Frames:
    """The export a window sees, from the definition (caseload.py module docstring)."""
    sessions, episodes, therapists = frames
    e = episodes.copy()
    # Timestamps, not .dt.date (as in test_perf_scopes): an all-missing column stays comparable.
    start, end = pd.to_datetime(e["start_date"]), pd.to_datetime(e["end_date"])
    keep = pd.Series(True, index=e.index)
    if until is not None:
        keep &= start <= pd.Timestamp(until)
    if since is not None:
        keep &= e["end_date"].isna() | (end >= pd.Timestamp(since))
    e = e[keep].copy()
    s = sessions[sessions["episode_id"].isin(e["episode_id"])]
    if until is not None:
        later = (pd.to_datetime(e["end_date"]) > pd.Timestamp(until)).to_numpy()
        e["termination"] = e["termination"].where(~later, "ongoing")
        e["end_date"] = e["end_date"].astype(object).where(~later, None)
        s = s[pd.to_datetime(s["session_date"]) <= pd.Timestamp(until)]
    return s.reset_index(drop=True), e.reset_index(drop=True), therapists


# ----------------------------------------------------------------------------- the reference
def _nan(x: Any) -> Any:
    """NaN -> None, as the JSON writes a figure whose denominator is 0."""
    return None if x is None or (isinstance(x, float) and math.isnan(x)) else x


def _ci(lo: float, hi: float) -> list[float] | None:
    return None if _nan(lo) is None or _nan(hi) is None else [lo, hi]


def present(sessions: pd.DataFrame) -> tuple[list[str], list[str]]:
    """Alliance and outcome keys §9 lists: measures with a value in the sessions seen."""
    def has(k: str) -> bool:
        return k in sessions and bool(sessions[k].notna().any())

    al = [k for k in ALLIANCE if has(k)]
    out = [k for k in OUTCOME if has(k)]
    return al, [*out, PAIRED] if len(out) == 2 else out


def reference_ms(cut: Frames, reg: Registry, by: str | None,
                 also: tuple[str, ...] = ()) -> dict[Any, dict[str, Any]]:
    """The reference's M (the keys compared) per scope: ``{None: M}`` for the practice
    (``by=None``) or ``{therapist_id: M}`` for every therapist with an episode in the cut and
    those in ``also`` (with none: every count 0, every rate null)."""
    s, e, t = cut
    eps = ref.episode_rows(e)
    keys: list[Any] = [None] if by is None else sorted({x["therapist_id"] for x in eps}
                                                        | set(also))
    groups = ref.group_of(e, t, by)
    al_keys, out_keys = present(s)
    term = ref.termination_summary(s, e, t, by)
    rup = ref.rupture_summary(s, e, t, reg, by=by)
    alliance = {k: ref.alliance_summary(s, e, t, reg, k, by=by) for k in al_keys}
    per_out = {k: ref.episode_phq9_gad7(s, reg) if k == PAIRED else ref.episode_outcomes(s, reg, k)
               for k in out_keys}
    outcomes = {k: ref.outcome_summary(per, groups) for k, per in per_out.items()}
    nan = math.nan
    out = {}
    for g in keys:
        tm = term.get(g, {"episodes": 0, "sessions_attended": 0, "ended": 0,
                          **dict.fromkeys(TERMINATIONS, 0), "dropout_rate": nan,
                          "dropout_rate_low": nan, "dropout_rate_high": nan,
                          "intake_only_rate": nan})
        rp = rup.get(g, {"flagged": 0, "drop": 0, "count": 0, "repaired": 0,
                         "per_100_sessions": nan, "repair_rate": nan, "repair_rate_low": nan,
                         "repair_rate_high": nan, "unrepaired_at_end": 0})
        m: dict[str, Any] = {
            "episodes": tm["episodes"], "sessions_attended": tm["sessions_attended"],
            "alliance": {}, "outcomes": {},
            "ruptures": {
                **{x: rp[x] for x in ("flagged", "drop", "count", "repaired")},
                "per_100_sessions": _nan(rp["per_100_sessions"]),
                "repair_rate": _nan(rp["repair_rate"]),
                "repair_rate_ci": _ci(rp["repair_rate_low"], rp["repair_rate_high"]),
                "unrepaired_at_end": rp["unrepaired_at_end"],
            },
            "termination": {
                "ended": tm["ended"], "counts": {x: tm[x] for x in TERMINATIONS},
                "dropout_rate": _nan(tm["dropout_rate"]),
                "dropout_rate_ci": _ci(tm["dropout_rate_low"], tm["dropout_rate_high"]),
                "intake_only_rate": _nan(tm["intake_only_rate"]),
            },
        }
        for k, summary in alliance.items():
            a = summary.get(g, {"rated_sessions": 0, "early_mean": nan, "mean_slope": nan,
                                "low_share": nan})
            m["alliance"][k] = {x: _nan(a[x]) for x in
                                ("rated_sessions", "early_mean", "mean_slope", "low_share")}
        for k, summary in outcomes.items():
            o = summary.get(g, dict.fromkeys(OUTCOME_KEYS, 0))
            m["outcomes"][k] = {x: o[x] for x in OUTCOME_KEYS}
        out[g] = m
    return out


def reference_cases(cut: Frames, reg: Registry) -> list[tuple[str, str, list[str]]]:
    """``(therapist_id, episode_id, reasons)`` of the cut: the reference's five codes plus
    ``sudden_loss`` (tests/test_cases.py)."""
    s, e, _ = cut
    return _with_sudden_loss(ref.cases_to_discuss(s, e, reg), s, e)


# ----------------------------------------------------------------------------- comparing
def assert_matches(got: Any, want: Any, path: str) -> None:
    """``want`` (the reference, JSON-shaped) against the product's JSON; floats to 1e-9."""
    if isinstance(want, dict):
        assert isinstance(got, dict), (path, got)
        for k, v in want.items():
            assert k in got, (path, k, sorted(got))
            assert_matches(got[k], v, f"{path}.{k}")
    elif isinstance(want, list):
        assert isinstance(got, list) and len(got) == len(want), (path, got, want)
        for i, (g, w) in enumerate(zip(got, want, strict=True)):
            assert_matches(g, w, f"{path}[{i}]")
    elif want is None:
        assert got is None, (path, got)
    elif isinstance(want, float) or isinstance(got, float):
        assert got is not None and not isinstance(got, bool), (path, got, want)
        assert math.isclose(got, want, rel_tol=1e-9, abs_tol=1e-9), (path, got, want)
    else:
        assert got == want and isinstance(got, bool) == isinstance(want, bool), (path, got, want)


def check_window(frames: Frames, since: dt.date | None, until: dt.date | None,
                 therapist: str | None) -> None:
    """compute_metrics of the window equals the reference on the export cut by hand."""
    reg = default_registry()
    cl = Caseload.from_frames(*frames, con=CON)
    got = compute_metrics(cl, since=since, until=until, therapist=therapist)
    cut = cut_by_hand(frames, since, until)
    al_keys, out_keys = present(cut[0])
    practice = reference_ms(cut, reg, None)[None]
    active = sorted(set(cut[1]["therapist_id"]))  # therapists with an episode in the window
    listed = [therapist] if therapist is not None else active
    assert sorted(got["therapists"]) == listed
    per_t = reference_ms(cut, reg, "therapist_id", also=tuple(listed))
    want = {None: practice, **{tid: per_t[tid] for tid in listed}}
    cases = reference_cases(cut, reg)
    for tid, m in want.items():
        g = got["practice"] if tid is None else got["therapists"][tid]
        where = "practice" if tid is None else f"therapists.{tid}"
        assert sorted(g["alliance"]) == sorted(al_keys), where
        assert sorted(g["outcomes"]) == sorted(out_keys), where
        assert_matches(g, m, where)
        if tid is not None:
            mine = [(t, e, r) for t, e, r in cases if t == tid]
            assert [(tid, c["episode_id"], c["reasons"]) for c in g["cases"]] == mine, where


# ----------------------------------------------------------------------------- the property
@st.composite
def exports_and_windows(
    draw: st.DrawFn,
) -> tuple[Frames, dt.date | None, dt.date | None, str | None]:
    """A small random export and a window on it: ``until`` open, on a day inside an episode
    (a session day before its last one, or the day before: cuts its sessions and, if it ended,
    its ending), or any day; ``since`` open or up to 150 days before ``until``; one therapist
    or none."""
    frames = draw(caseload_frames(max_therapists=4, max_episodes=15))
    sessions, _, therapists = frames
    day = (pd.to_datetime(sessions["session_date"]) - pd.Timestamp(START)).dt.days
    last = day.groupby(sessions["episode_id"]).transform("max")
    inner = sorted({int(d) for d in day[day < last]})
    on_a_day = (st.tuples(st.sampled_from(inner), st.sampled_from([0, -1])).map(sum) if inner
                else st.integers(0, 360))
    kind = draw(st.sampled_from(["inside"] * 3 + ["any", "open"]))
    b = draw({"inside": on_a_day, "any": st.integers(0, 360), "open": st.none()}[kind])
    back = draw(st.none() | st.integers(0, 150))
    a = None if back is None else (360 if b is None else b) - back
    until = None if b is None else START + dt.timedelta(days=b)
    since = None if a is None else START + dt.timedelta(days=a)
    therapist = draw(st.none() | st.sampled_from(sorted(therapists["therapist_id"])))
    return frames, since, until, therapist


# One Ibis build of the window per example (about 2.5 s here: ~35 s for the file), so few but
# varied examples.  A failure shrinks slowly (every step is a build): up to Hypothesis' 5 min.
@pytest.mark.slow
@settings(max_examples=12, deadline=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
@given(exports_and_windows())
def test_window_figures_equal_reference_on_the_cut(
    case: tuple[Frames, dt.date | None, dt.date | None, str | None],
) -> None:
    """Practice and therapist figures and cases of a random window equal the reference's."""
    check_window(*case)
