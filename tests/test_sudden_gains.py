"""Sudden gains and losses (domain.md §10; :mod:`supervision.clinical.sudden_gains`).

Where each expected number comes from:

* **published**: the ``suddengains`` R package's tutorial figures for its example data
  (``tests/fixtures/sgdata/README.md``): 24 gains, 4 reversals, magnitude mean 11 and SD 3.43,
  70.83% of the gains in people with more than one; and its own test suite's per-gain table
  for persons 1–18 of the same data (``tests/testthat/test-create_bysg.R``);
* **by hand**: the arithmetic in each test's docstring;
* **the reference**: :func:`slow_events` below, the rule written out as plainly as possible
  in pure Python, compared on random series.

Hand-worked series use BDI from the fixture's measure file (lower is better, reliable change
7, so criterion 1 is "at least 7 points") unless said otherwise; ``_`` is an attended session
without a score.  The critical values of criterion 3 are |qt(.025, df)|: 2.776 (df 4, all
six scores), 3.182 (df 3, one missing), 4.303 (df 2, two missing).
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
import json
import math
import statistics
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy import stats

from supervision import cli
from supervision.caseload import Caseload
from supervision.clinical import sudden_gains as sg
from supervision.errors import ConfigError
from supervision.io import load_export
from supervision.measures import Registry, load_registry

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "sgdata"
EXPORT = FIXTURE / "export"
MEASURES = FIXTURE / "measures.toml"
REG = load_registry(MEASURES)
D0 = dt.date(2024, 1, 8)
_ = None

Score = float | None


# --------------------------------------------------------------------------- helpers
def caseload(
    series: dict[str, Sequence[Score]], *, measure: str = "bdi", registry: Registry = REG,
    cancelled: dict[str, set[int]] | None = None, therapist: dict[str, str] | None = None,
) -> Caseload:
    """One episode per key, weekly sessions in order, the scores in column ``measure``.

    ``cancelled[eid]`` holds positions (from 0) of sessions that are cancelled, not attended.
    """
    cancelled = cancelled or {}
    therapist = therapist or {}
    rows = []
    for eid, xs in series.items():
        for i, x in enumerate(xs):
            rows.append({"client_id": f"C{eid}", "therapist_id": therapist.get(eid, "T1"),
                         "episode_id": eid, "session_date": D0 + dt.timedelta(days=7 * i),
                         "attendance": "cancelled" if i in cancelled.get(eid, ()) else "attended",
                         measure: x})
    sessions = pd.DataFrame(rows)
    sessions[measure] = sessions[measure].astype("float64")
    episodes = pd.DataFrame({"episode_id": list(series), "client_id": [f"C{e}" for e in series],
                             "therapist_id": [therapist.get(e, "T1") for e in series],
                             "start_date": D0})
    tids = sorted(set(episodes["therapist_id"]))
    return Caseload.from_frames(sessions, episodes, pd.DataFrame({"therapist_id": tids}),
                                registry=registry)


def events_of(cl: Caseload, **kw) -> list[dict]:
    kw.setdefault("measure", "bdi")
    return sg.sudden_events(cl, **kw).execute().to_dict(orient="records")


def one(series: Sequence[Score], **kw) -> list[tuple]:
    """``(pregain_session, pregain_score, postgain_score, magnitude, reversal)`` per event."""
    cl = caseload({"E1": series}, measure=kw.get("measure", "bdi"))
    return [(r["pregain_session"], r["pregain_score"], r["postgain_score"], r["magnitude"],
             r["reversal"]) for r in events_of(cl, **kw)]


def slow_events(xs: Sequence[Score], *, cutoff: float, better: str = "lower",
                kind: str = "gain") -> list[dict]:
    """The rule of domain.md §10 for one series, written out plainly (the reference).

    ``xs[i]`` is session i + 1.  ``sign`` +1: the event lowers the score.
    """
    sign = 1 if (better == "lower") == (kind == "gain") else -1
    found = []
    for n in range(2, len(xs)):                      # pregain session n, postgain n + 1
        a, b = xs[n - 1], xs[n]
        if a is None or b is None:
            continue
        change = sign * (a - b)
        if change < cutoff or change < 0.25 * a:
            continue
        pre = [v for v in xs[max(0, n - 3):n] if v is not None]     # sessions n-2 .. n
        post = [v for v in xs[n:n + 3] if v is not None]            # sessions n+1 .. n+3
        if len(pre) < 2 or len(post) < 2:
            continue
        t = abs(stats.t.ppf(0.025, len(pre) + len(post) - 2))
        ss = sum((v - statistics.mean(pre)) ** 2 for v in pre) + sum(
            (v - statistics.mean(post)) ** 2 for v in post)
        s_pooled = math.sqrt(ss / (len(pre) + len(post) - 2))
        if not sign * (statistics.mean(pre) - statistics.mean(post)) > t * s_pooled:
            continue
        back = b + sign * change / 2
        later = [v for v in xs[n + 1:] if v is not None]            # sessions n+2 on
        found.append({"pregain_session": n, "postgain_session": n + 1, "pregain_score": a,
                      "postgain_score": b, "magnitude": change,
                      "reversal": any(sign * (v - back) > 0 for v in later)})
    if found:
        found[0]["first"] = True
        top = max(range(len(found)), key=lambda i: (found[i]["magnitude"], -i))
        for i, e in enumerate(found):
            e.setdefault("first", False)
            e["largest"] = i == top
    return found


def _fixture_series() -> dict[str, list[Score]]:
    """The fixture's BDI series per episode, attended sessions in date order (read plainly)."""
    s = pd.read_csv(EXPORT / "sessions.csv", dtype={"bdi": "float64"})
    s = s[s["attendance"] == "attended"].sort_values(["episode_id", "session_date"], kind="stable")
    return {e: [None if math.isnan(v) else v for v in g["bdi"]]
            for e, g in s.groupby("episode_id", sort=True)}


def _gains_cli(capsys, *args: str) -> list[dict]:
    assert cli.main(["gains", str(EXPORT), "--measures", str(MEASURES), *args]) == 0
    return json.loads(capsys.readouterr().out)


# --------------------------------------------------------------------------- published
def test_published_figures_through_the_gains_command(capsys) -> None:
    """Published (suddengains tutorial, ``describe_sg(bysg)``): 24 gains, 4 reversals,
    magnitude mean 11 and SD 3.43 (sample SD), 70.83% of gains in people with > 1 gain —
    from the export folder through ``supervision gains``, as any practice's export."""
    rows = _gains_cli(capsys)
    assert len(rows) == 24
    assert {r["measure"] for r in rows} == {"bdi"} and {r["kind"] for r in rows} == {"gain"}
    assert sum(r["reversal"] for r in rows) == 4
    magnitudes = [r["magnitude"] for r in rows]
    assert statistics.mean(magnitudes) == 11
    assert round(statistics.stdev(magnitudes), 2) == 3.43
    per_episode = Counter(r["episode_id"] for r in rows)
    in_multiple = sum(per_episode[r["episode_id"]] > 1 for r in rows)
    assert round(100 * in_multiple / len(rows), 2) == 70.83
    assert list(rows[0]) == list(sg.EVENT_COLUMNS)


def test_published_figures_through_the_summary() -> None:
    """The same published figures from :func:`summarise` (the §9 keys) on the loaded export:
    gains 24, reversals 4, magnitude mean 11, SD 3.43; the 70.83% is 17 of the 24 gains
    lying in the episodes with more than one (17 / 24 = 0.7083)."""
    cl = load_export(EXPORT, measures=MEASURES, progress=False)
    events = sg.sudden_events(cl, measure="bdi")
    row = sg.summarise(events).iloc[0]
    assert row["gains"] == 24 and row["reversals"] == 4
    assert row["magnitude_mean"] == pytest.approx(11)
    assert round(row["magnitude_sd"], 2) == 3.43
    st_ = sg.episode_gain_stats(events).execute()
    assert st_.loc[st_["has_multiple"], "gains"].sum() == 17
    assert row["episodes_with_gain"] == len(st_) and row["episodes_with_multiple"] == \
        st_["has_multiple"].sum()
    by = sg.summarise(sg.episode_gain_stats(events), by="therapist_id")
    assert by["therapist_id"].tolist() == ["T1"]
    assert by.drop(columns="therapist_id").iloc[0].to_dict() == row.to_dict()


#: The package's own test expectation (tests/testthat/test-create_bysg.R) for persons 1–18
#: of sgdata: (person, pregain session ``sg_session_n``, ``sg_bdi_n``, ``sg_bdi_n1``,
#: ``sg_magnitude``, ``sg_reversal``).
PACKAGE_BYSG = [
    (1, 3, 34, 23, 11, 1), (1, 7, 29, 17, 12, 0), (3, 8, 35, 26, 9, 0), (4, 3, 32, 22, 10, 1),
    (5, 3, 36, 26, 10, 0), (5, 8, 19, 6, 13, 0), (9, 3, 32, 23, 9, 0), (10, 2, 35, 25, 10, 0),
    (10, 4, 25, 17, 8, 0), (12, 3, 31, 23, 8, 1), (13, 3, 36, 23, 13, 0), (13, 8, 18, 10, 8, 0),
    (14, 2, 37, 23, 14, 0), (18, 3, 35, 24, 11, 0),
]


def test_each_gain_of_persons_1_to_18_as_the_package_tests_it(capsys) -> None:
    """Published (the package's test suite): every gain of persons 1–18, its sessions,
    scores, magnitude and reversal."""
    rows = [r for r in _gains_cli(capsys) if r["episode_id"] <= "E18"]
    got = [(int(r["episode_id"][1:]), r["pregain_session"], r["pregain_score"],
            r["postgain_score"], r["magnitude"], int(r["reversal"])) for r in rows]
    assert got == PACKAGE_BYSG
    assert all(r["postgain_session"] == r["pregain_session"] + 1 for r in rows)


def test_fixture_gains_and_losses_equal_the_reference(capsys) -> None:
    """The reference on the fixture's series gives the command's rows, gains and losses."""
    series = _fixture_series()
    for flag, kind in (((), "gain"), (("--losses",), "loss")):
        rows = _gains_cli(capsys, *flag)
        want = [{"episode_id": e, **x} for e, xs in series.items()
                for x in slow_events(xs, cutoff=7, kind=kind)]
        keep = ["episode_id", "pregain_session", "postgain_session", "pregain_score",
                "postgain_score", "magnitude", "reversal", "first", "largest"]
        assert [{k: r[k] for k in keep} for r in rows] == want
        assert {r["kind"] for r in rows} == {kind}


def test_critical_values_are_those_of_the_package() -> None:
    """|qt(.025, df)| for df 4, 3, 2: 2.776, 3.182, 4.303 (the package's documentation)."""
    assert {k: round(v, 3) for k, v in sg.CRITICAL_T.items()} == {4: 2.776, 3: 3.182, 2: 4.303}


# --------------------------------------------------------------------------- by hand
def test_all_six_scores_t_2_776() -> None:
    """``33 27 30 | 21 24 18`` (pregain session 3, postgain 4).

    1: 30 − 21 = 9 ≥ 7.  2: 9 ≥ 0.25 · 30 = 7.5.  3: pre 33, 27, 30: mean 30, SS 9 + 9 + 0 =
    18; post 21, 24, 18: mean 21, SS 0 + 9 + 9 = 18; s_pooled = √(36 / 4) = 3; df 4, t 2.776:
    30 − 21 = 9 > 2.776 · 3 = 8.33 → a gain (with 3.182 it would not be: 9.55).  Magnitude 9;
    reversal threshold 21 + 4.5 = 25.5, later 24, 18: not reversed.  Other intervals: 27→30,
    21→24 worsen; 24→18 is 6 < 7.
    """
    assert one([33, 27, 30, 21, 24, 18]) == [(3, 30, 21, 9, False)]


def test_one_missing_t_3_182() -> None:
    """One score missing before the gain: df 2 + 3 − 2 = 3, t = 3.182.

    ``_ 24 30 | 15 18 12``: 1: 30 − 15 = 15 ≥ 7; 2: 15 ≥ 7.5; 3: pre 24, 30: mean 27, SS 9 + 9
    = 18; post 15, 18, 12: mean 15, SS 18; s_pooled = √(36 / 3) = 3.464; 27 − 15 = 12 >
    3.182 · 3.464 = 11.02 → a gain.

    ``_ 24 30 | 17 20 14``: post mean 17, SS 18, same s_pooled; 27 − 17 = 10 < 11.02 → not a
    gain, though 10 > 2.776 · 3.464 = 9.62: the unadjusted 2.776 would have taken it.
    (In both, 20→14 and 18→12 are 6 < 7.)
    """
    assert one([_, 24, 30, 15, 18, 12]) == [(3, 30, 15, 15, False)]
    assert one([_, 24, 30, 17, 20, 14]) == []


def test_two_missing_t_4_303() -> None:
    """One score missing on each side: df 2 + 2 − 2 = 2, t = 4.303.

    ``_ 24 30 | 12 14 _``: pre 24, 30: mean 27, SS 18; post 12, 14: mean 13, SS 1 + 1 = 2;
    s_pooled = √(20 / 2) = 3.162; 27 − 13 = 14 > 4.303 · 3.162 = 13.61 → a gain
    (1: 18 ≥ 7; 2: 18 ≥ 7.5).

    ``_ 24 30 | 14 16 _``: post mean 15, SS 2, same s_pooled; 27 − 15 = 12 < 13.61 → not a
    gain, though 12 > 3.182 · 3.162 = 10.06.
    """
    assert one([_, 24, 30, 12, 14, _]) == [(3, 30, 12, 18, False)]
    assert one([_, 24, 30, 14, 16, _]) == []


def test_a_side_with_fewer_than_two_scores_is_not_a_gain() -> None:
    """``_ _ 30 | 15 14 13``: 30 → 15 meets 1 and 2 (15 ≥ 7, 15 ≥ 7.5) but only one score
    before it: not a gain.  ``30 31 30 | 15 _ _``: one score after: not a gain.  The last
    interval of a series (here 30 → 15 as 5→6) never has two scores after it."""
    assert one([_, _, 30, 15, 14, 13]) == []
    assert one([30, 31, 30, 15, _, _]) == []
    assert one([30, 31, 30, 31, 30, 15]) == []


def test_a_missing_pregain_or_postgain_score_is_not_skipped() -> None:
    """``33 30 _ 18 17 16``: session 3 has no score, so 2→3 has no postgain score and 3→4
    none before it; 4→5 (18 → 17) is 1 point.  No gain.  Closing the gap would have made
    30 → 18 one (12 ≥ 7 and 7.5; pre 33, 30 mean 31.5, SS 4.5; post 18, 17, 16 mean 17, SS 2;
    s_pooled = √(6.5 / 3) = 1.47; 14.5 > 3.182 · 1.47 = 4.68).

    That gap-closed series is what a *cancelled* session 3 gives: not attended, it is not in
    the series at all, and 30 → 18 is the gain between attended sessions 2 and 3."""
    assert one([33, 30, _, 18, 17, 16]) == []
    cl = caseload({"E1": [33, 30, 25, 18, 17, 16]}, cancelled={"E1": {2}})
    got = [(r["pregain_session"], r["postgain_session"], r["magnitude"]) for r in events_of(cl)]
    assert got == [(2, 3, 12)]


def test_criterion_2_failing_while_1_and_3_hold() -> None:
    """``61 59 60 | 47 46 48``: 1: 60 − 47 = 13 ≥ 7; 3: pre mean 60, SS 1 + 1 + 0 = 2, post
    mean 47, SS 0 + 1 + 1 = 2, s_pooled = 1, 13 > 2.776; but 2: 13 < 0.25 · 60 = 15.  No gain.
    With pregain 52 (``53 51 52 | 39 38 40``) 13 ≥ 13 holds ("at least") and it is one."""
    assert one([61, 59, 60, 47, 46, 48]) == []
    assert one([53, 51, 52, 39, 38, 40]) == [(3, 52, 39, 13, False)]


def test_reversal_exactly_at_the_threshold_is_not_a_reversal() -> None:
    """``31 29 30 | 20 21 19 25``: the gain 30 → 20 (10 ≥ 7, ≥ 7.5; pre mean 30, SS 2; post
    mean 20, SS 2; s_pooled 1; 10 > 2.776).  Reversed when a later score is worse than
    20 + 10 / 2 = 25: session 7 scores exactly 25 — not worse, not reversed; 26 is.

    ``31 29 30 | 20 26 19``: session n + 2 = 5 already counts: 26 > 25, reversed (criterion 3:
    post 20, 26, 19 mean 21.67, SS 2.78 + 18.78 + 7.11 = 28.67; s_pooled = √(30.67 / 4) =
    2.77; 8.33 > 2.776 · 2.77 = 7.69)."""
    assert one([31, 29, 30, 20, 21, 19, 25]) == [(3, 30, 20, 10, False)]
    assert one([31, 29, 30, 20, 21, 19, 26]) == [(3, 30, 20, 10, True)]
    assert one([31, 29, 30, 20, 26, 19]) == [(3, 30, 20, 10, True)]


def test_a_loss() -> None:
    """BDI ``10 12 11 | 22 21 23 16``: worsening 22 − 11 = 11 ≥ 7 and ≥ 0.25 · 11 = 2.75;
    pre mean 11, SS 2; post mean 22, SS 2; s_pooled 1; 11 > 2.776.  A loss of magnitude 11
    (positive: points of worsening), at 3→4.  It is reversed when a later score is *better*
    than 22 − 11 / 2 = 16.5: session 7's 16 is.  As a gain search it finds nothing (23 → 16
    at 6→7 has one score after it)."""
    assert one([10, 12, 11, 22, 21, 23, 16], kind="loss") == [(3, 11, 22, 11, True)]
    assert one([10, 12, 11, 22, 21, 23, 17], kind="loss") == [(3, 11, 22, 11, False)]
    assert one([10, 12, 11, 22, 21, 23, 16]) == []


def test_a_loss_mirrors_criterion_2() -> None:
    """``40 41 40 | 48 49 47``: worsening 8 ≥ 7, criterion 3 holds (pre mean 40.33, SS 0.67;
    post mean 48, SS 2; s_pooled = √(2.67 / 4) = 0.82; 7.67 > 2.776 · 0.82 = 2.27), but 8 <
    0.25 · 40 = 10: not a loss here.  (The package's ``identify_sl`` tests ``40 − 48 ≤ 10``,
    which any worsening meets, and would report it; see the module docstring.)"""
    assert one([40, 41, 40, 48, 49, 47], kind="loss") == []
    assert one([40, 41, 40, 50, 51, 49], kind="loss") == [(3, 40, 50, 10, False)]


def test_higher_is_better_measure_gains_and_losses() -> None:
    """ORS (higher is better, reliable change 5).  Gain ``20 19 20 | 28 27 29``: +8 ≥ 5 and
    ≥ 0.25 · 20 = 5; pre mean 19.67, SS 0.67; post mean 28, SS 2; s_pooled 0.82; 8.33 >
    2.27.  Reversed when a later score is below 28 − 4 = 24.  Loss ``30 31 30 | 22 23 21``:
    −8, 8 ≥ 5 and ≥ 7.5; pre mean 30.33, SS 0.67, post mean 22, SS 2; 8.33 > 2.27."""
    assert one([20, 19, 20, 28, 27, 29], measure="ors") == [(3, 20, 28, 8, False)]
    assert one([20, 19, 20, 28, 27, 29, 23], measure="ors") == [(3, 20, 28, 8, True)]
    assert one([20, 19, 20, 28, 27, 29], measure="ors", kind="loss") == []
    assert one([30, 31, 30, 22, 23, 21], measure="ors", kind="loss") == [(3, 30, 22, 8, False)]
    assert one([30, 31, 30, 22, 23, 21], measure="ors") == []


def test_several_gains_first_and_largest() -> None:
    """``38 39 38 | 28 29 28 | 16 15 16``: gains 3→4 (38 → 28: 10 ≥ 7, ≥ 9.5; pre mean
    38.33, SS 0.67; post mean 28.33, SS 0.67; s_pooled 0.58; 10 > 1.60) and 6→7 (28 → 16: 12,
    ≥ 7; same spreads).  First: 3→4; largest: 6→7 (12 > 10).  With 18 17 18 at the end both
    are 10: the tie goes to the earliest, which is then first and largest."""
    cl = caseload({"A": [38, 39, 38, 28, 29, 28, 16, 15, 16],
                   "B": [38, 39, 38, 28, 29, 28, 18, 17, 18]})
    got = [(r["episode_id"], r["pregain_session"], r["magnitude"], r["first"], r["largest"])
           for r in events_of(cl)]
    assert got == [("A", 3, 10, True, False), ("A", 6, 12, False, True),
                   ("B", 3, 10, True, True), ("B", 6, 10, False, False)]
    row = sg.summarise(sg.sudden_events(cl, measure="bdi")).iloc[0].to_dict()
    # magnitudes 10, 12, 10, 10: mean 10.5, SD √((0.25 · 3 + 2.25) / 3) = 1
    assert row == {"gains": 4, "episodes_with_gain": 2, "episodes_with_multiple": 2,
                   "reversals": 0, "magnitude_mean": 10.5, "magnitude_sd": 1.0}


# --------------------------------------------------------------------------- cut-off
def test_sudden_gain_cutoff_from_the_measure_file(tmp_path: Path, capsys) -> None:
    """``sudden_gain_cutoff = 10`` replaces the reliable change (7) in criterion 1 only: the
    gains are the 7-point run's gains of magnitude ≥ 10 (criteria 2 and 3 unchanged)."""
    base = _gains_cli(capsys)
    f = tmp_path / "m.toml"
    f.write_text(MEASURES.read_text(encoding="utf-8") + "sudden_gain_cutoff = 10\n",
                 encoding="utf-8")
    assert load_registry(f)["bdi"].sudden_gain_cutoff == 10
    assert cli.main(["gains", str(EXPORT), "--measures", str(f)]) == 0
    rows = json.loads(capsys.readouterr().out)
    key = ["episode_id", "pregain_session", "magnitude", "reversal"]
    assert [{k: r[k] for k in key} for r in rows] == [
        {k: r[k] for k in key} for r in base if r["magnitude"] >= 10]
    cl = load_export(EXPORT, measures=MEASURES, progress=False)
    assert sg.sudden_events(cl, measure="bdi", cutoff=10).count().execute() == len(rows)


@pytest.mark.parametrize("bad", ["0", "-3", '"seven"', "nan", "true"])
def test_a_bad_sudden_gain_cutoff_is_refused(tmp_path: Path, bad: str) -> None:
    f = tmp_path / "m.toml"
    f.write_text(f"[phq9]\nsudden_gain_cutoff = {bad}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="sudden_gain_cutoff"):
        load_registry(f)
    cl = caseload({"E1": [1, 2, 3]})
    with pytest.raises(ConfigError, match="above 0"):
        sg.sudden_events(cl, measure="bdi", cutoff=0)


def _jt_registry(**keys: float) -> Registry:
    return REG.extended({"hamd": {"kind": "outcome", "min": 0, "max": 52, "better": "lower",
                                  **keys}})


def test_cutoff_from_reliability_and_norm_sd() -> None:
    """Jacobson–Truax: 1.96 · √2 · 5 · √(1 − 0.8) = 6.198 points.  ``20 21 20 | 13.5 14 13``:
    6.5 ≥ 6.198 (and ≥ 5; pre mean 20.33, SS 0.67; post mean 13.5, SS 0.5; s_pooled 0.54;
    6.83 > 1.50) → a gain; ``20 21 20 | 14 14.5 13.5``: 6 < 6.198 → none."""
    reg = _jt_registry(reliability=0.8, norm_sd=5)
    cl = caseload({"A": [20, 21, 20, 13.5, 14, 13], "B": [20, 21, 20, 14, 14.5, 13.5]},
                  measure="hamd", registry=reg)
    assert [(r["episode_id"], r["magnitude"]) for r in events_of(cl, measure="hamd")] == \
        [("A", 6.5)]


def test_cutoff_from_the_sample_sd() -> None:
    """Without ``norm_sd`` the SD is the sample's: the first scores of the episodes with ≥ 2
    scores.  A ``20 12 12.5 12 | 8 8.5 7.5``, B ``24 25``, C ``28 27``, E ``60`` (one score:
    not in the sample): SD(20, 24, 28) = 4, cut-off 1.96 · √2 · 4 · √(1 − 0.9) = 3.51; A's
    12 → 8 is 4 ≥ 3.51 and ≥ 3 (pre mean 12.17, SS 0.17; post mean 8, SS 0.5; s_pooled 0.41;
    4.17 > 1.13) → a gain.  Adding D ``40 41``: SD(20, 24, 28, 40) = √(224 / 3) = 8.64,
    cut-off 7.57 > 4 → none."""
    reg = _jt_registry(reliability=0.9)
    series = {"A": [20, 12, 12.5, 12, 8, 8.5, 7.5], "B": [24, 25], "C": [28, 27], "E": [60]}
    cl = caseload(series, measure="hamd", registry=reg)
    assert [(r["episode_id"], r["pregain_session"]) for r in events_of(cl, measure="hamd")] == \
        [("A", 4)]
    cl = caseload({**series, "D": [40, 41]}, measure="hamd", registry=reg)
    assert events_of(cl, measure="hamd") == []


def test_a_measure_without_reliable_change_or_cutoff_is_a_clear_error() -> None:
    cl = caseload({"E1": [20, 21, 20, 10]}, measure="hamd", registry=_jt_registry())
    with pytest.raises(ConfigError, match="sudden_gain_cutoff, reliable_change or reliability"):
        sg.sudden_events(cl, measure="hamd")


def test_not_an_outcome_measure_or_kind() -> None:
    cl = caseload({"E1": [20, 21, 20, 10]})
    with pytest.raises(ConfigError, match=r"'srs' is an alliance measure.*bdi"):
        sg.sudden_events(cl, measure="srs")
    with pytest.raises(ConfigError, match=r"unknown measure 'nope'.*phq9"):
        sg.sudden_events(cl, measure="nope")
    with pytest.raises(ConfigError, match="kind"):
        sg.sudden_events(cl, measure="bdi", kind="gains")  # type: ignore[arg-type]


def test_summaries_without_events_and_by_therapist() -> None:
    """No events: 0 counts, null magnitudes.  By therapist: only therapists with an event;
    one event gives a mean but a null SD (a sample SD needs two)."""
    cl = caseload({"A": [38, 39, 38, 28, 29, 28], "B": [5, 5, 5, 5], "C": [33, 27, 30, 21, 24, 18]},
                  therapist={"A": "T1", "B": "T2", "C": "T3"})
    none = sg.summarise(sg.sudden_events(cl.scoped(therapist_id="T2"), measure="bdi"))
    assert none.iloc[0].to_dict() == {"gains": 0, "episodes_with_gain": 0,
                                      "episodes_with_multiple": 0, "reversals": 0,
                                      "magnitude_mean": None, "magnitude_sd": None}
    by = sg.summarise(sg.sudden_events(cl, measure="bdi"), by="therapist_id")
    assert by.to_dict(orient="records") == [
        {"therapist_id": "T1", "gains": 1, "episodes_with_gain": 1, "episodes_with_multiple": 0,
         "reversals": 0, "magnitude_mean": 10.0, "magnitude_sd": None},
        {"therapist_id": "T3", "gains": 1, "episodes_with_gain": 1, "episodes_with_multiple": 0,
         "reversals": 0, "magnitude_mean": 9.0, "magnitude_sd": None}]
    with pytest.raises(ConfigError, match="therapist_id"):
        sg.summarise(sg.sudden_events(cl, measure="bdi"), by="team")


# --------------------------------------------------------------------------- properties
@st.composite
def _series(draw: st.DrawFn, lo: int, hi: int) -> tuple[list[Score], set[int]]:
    """A series that drifts with occasional jumps (so that gains and losses occur), some
    scores missing and some sessions cancelled (cancelled ones carry a score to ignore)."""
    n = draw(st.integers(1, 14))
    level = draw(st.integers(lo, hi))
    xs: list[Score] = []
    for _i in range(n):
        if draw(st.integers(0, 3)) == 0:
            level = min(hi, max(lo, level + draw(st.integers(-20, 20))))
        x = min(hi, max(lo, level + draw(st.integers(-2, 2))))
        xs.append(None if draw(st.integers(0, 6)) == 0 else float(x))
    cancelled = {i for i in range(n) if draw(st.integers(0, 9)) == 0}
    return xs, cancelled


@st.composite
def _export(draw: st.DrawFn) -> tuple[str, str, dict, dict]:
    measure = draw(st.sampled_from(["bdi", "ors"]))
    kind = draw(st.sampled_from(["gain", "loss"]))
    hi = REG[measure].max
    drawn = draw(st.lists(_series(0, int(hi)), min_size=1, max_size=5))
    series = {f"E{i}": xs for i, (xs, _c) in enumerate(drawn)}
    cancelled = {f"E{i}": c for i, (_x, c) in enumerate(drawn)}
    return measure, kind, series, cancelled


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_export())
def test_events_meet_criteria_1_and_2_and_equal_the_reference(case) -> None:
    """Every reported event meets criteria 1 and 2 on its own two scores, and the events are
    exactly the reference's on the attended sessions (random series, both directions)."""
    measure, kind, series, cancelled = case
    m = REG[measure]
    cl = caseload(series, measure=measure, cancelled=cancelled)
    rows = events_of(cl, measure=measure, kind=kind)
    sign = 1 if (m.better == "lower") == (kind == "gain") else -1
    for r in rows:
        change = sign * (r["pregain_score"] - r["postgain_score"])
        assert change >= m.reliable_change and change >= 0.25 * r["pregain_score"]
        assert r["magnitude"] == change and r["postgain_session"] == r["pregain_session"] + 1
    want = []
    for eid, xs in series.items():
        attended = [x for i, x in enumerate(xs) if i not in cancelled[eid]]
        for e in slow_events(attended, cutoff=m.reliable_change, better=m.better, kind=kind):
            want.append({"episode_id": eid, "therapist_id": "T1", "measure": measure,
                         "kind": kind, **e})
    assert sorted(rows, key=lambda r: (r["episode_id"], r["pregain_session"])) == \
        [{k: w[k] for k in sg.EVENT_COLUMNS} for w in want]


def test_many_random_episodes_equal_the_reference() -> None:
    """500 seeded random BDI series (a plain pseudo-random walk), gains and losses."""
    import random

    rng = random.Random(15)
    series: dict[str, list[Score]] = {}
    for i in range(500):
        level, xs = rng.randint(5, 55), []
        for _j in range(rng.randint(1, 20)):
            level = min(63, max(0, level + (rng.randint(-15, 15) if rng.random() < .2 else 0)))
            xs.append(None if rng.random() < .15 else float(min(63, max(0, level
                                                                        + rng.randint(-3, 3)))))
        series[f"E{i:03d}"] = xs
    cl = caseload(series)
    for kind in ("gain", "loss"):
        got = [(r["episode_id"], r["pregain_session"], r["magnitude"], r["reversal"],
                r["first"], r["largest"]) for r in events_of(cl, kind=kind)]
        want = [(e, x["pregain_session"], x["magnitude"], x["reversal"], x["first"],
                 x["largest"]) for e, xs in series.items()
                for x in slow_events(xs, cutoff=7, kind=kind)]
        assert got == want
        assert len(want) > 20  # the walk does produce events to compare


def test_the_same_events_in_postgresql(pg_database: str) -> None:
    """The fixture loaded into PostgreSQL (``supervision load``): the same 24 gains and the
    same losses as in DuckDB, with a fixed cut-off and with one from the sample's SD."""
    from supervision.warehouse import connect_caseload, load_into

    cl = load_export(EXPORT, measures=MEASURES, progress=False)
    load_into(cl, pg_database)
    pg = connect_caseload(pg_database, registry=REG)
    for kind in ("gain", "loss"):
        duck = sg.sudden_events(cl, measure="bdi", kind=kind).execute()
        pd.testing.assert_frame_equal(sg.sudden_events(pg, measure="bdi", kind=kind).execute(),
                                      duck)
    assert len(sg.sudden_events(pg, measure="bdi").execute()) == 24
    # bdi without reliable_change: the Jacobson–Truax cut-off from the sample SD, in the database
    bdi = dataclasses.replace(REG["bdi"], reliable_change=None, reliability=0.9)
    no_rc = Registry({**REG.measures, "bdi": bdi})
    duck_cl = dataclasses.replace(cl, registry=no_rc)
    pg_cl = connect_caseload(pg_database, registry=no_rc)
    duck = sg.sudden_events(duck_cl, measure="bdi").execute()
    pd.testing.assert_frame_equal(sg.sudden_events(pg_cl, measure="bdi").execute(), duck)
    assert len(duck) > 0
    # the edge cases: sides with 0 or 1 score (no division by zero in PostgreSQL), gaps, ties
    hand = caseload({"A": [_, _, 30, 15, _, _], "B": [30, _, _, 15, _, 14], "C": [_, _, _],
                     "D": [38, 39, 38, 28, 29, 28, 18, 17, 18], "E": [31, 29, 30, 20, 26, 19],
                     "F": [10, 12, 11, 22, 21, 23, 16], "G": [5]})
    load_into(hand, pg_database, schema="hand")
    pg_hand = connect_caseload(pg_database, schema="hand", registry=REG)
    for kind in ("gain", "loss"):
        pd.testing.assert_frame_equal(sg.sudden_events(pg_hand, measure="bdi", kind=kind)
                                      .execute(), sg.sudden_events(hand, measure="bdi",
                                                                   kind=kind).execute())


# --------------------------------------------------------------------------- the command
def _two_therapist_export(tmp_path: Path, *, phq9: bool = False) -> Path:
    """T1's E1 ``33 27 30 21 24 18`` (a gain at 3→4) and ``=T2``'s E2 ``10 12 11 22 21 23``
    (a loss at 3→4, worked in :func:`test_a_loss`) — the id written as text a spreadsheet
    would run, to check the CSV writer.  ``phq9``: also one PHQ-9 score."""
    folder = tmp_path / "export"
    folder.mkdir()
    rows = ["client_id,therapist_id,episode_id,session_date,attendance,bdi"
            + (",phq9" if phq9 else "")]
    for eid, tid, xs in (("E1", "T1", [33, 27, 30, 21, 24, 18]),
                         ("E2", "=T2", [10, 12, 11, 22, 21, 23])):
        rows += [f"C{eid},{tid},{eid},{D0 + dt.timedelta(days=7 * i)},attended,{x}"
                 + ("," if phq9 else "") for i, x in enumerate(xs)]
    if phq9:
        rows[1] += "12"
    (folder / "sessions.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    (folder / "episodes.csv").write_text(
        f"episode_id,client_id,therapist_id,start_date\nE1,CE1,T1,{D0}\nE2,CE2,=T2,{D0}\n",
        encoding="utf-8")
    (folder / "therapists.csv").write_text("therapist_id\nT1\n=T2\n", encoding="utf-8")
    return folder


def test_cli_csv(tmp_path: Path, capsys) -> None:
    """CSV: the §10 header, one row per event, booleans as true/false, numbers unchanged and
    a formula-like id written with a leading ``'``."""
    path = _two_therapist_export(tmp_path)
    args = ["gains", str(path), "--measures", str(MEASURES), "--format", "csv"]
    assert cli.main(args) == 0
    rows = list(csv.reader(io.StringIO(capsys.readouterr().out)))
    assert rows == [list(sg.EVENT_COLUMNS),
                    ["E1", "T1", "bdi", "gain", "3", "4", "30.0", "21.0", "9.0", "false", "true",
                     "true"]]
    assert cli.main([*args, "--losses"]) == 0
    rows = list(csv.reader(io.StringIO(capsys.readouterr().out)))
    assert rows[1:] == [["E2", "'=T2", "bdi", "loss", "3", "4", "11.0", "22.0", "11.0", "false",
                         "true", "true"]]


def test_cli_fixture_csv_has_the_published_count(capsys) -> None:
    assert cli.main(["gains", str(EXPORT), "--measures", str(MEASURES), "--format", "csv"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert len(rows) == 24 and sum(r["reversal"] == "true" for r in rows) == 4


def test_cli_losses_and_therapist(tmp_path: Path, capsys) -> None:
    """``--losses`` lists losses; ``--therapist`` keeps that therapist's rows only."""
    path = _two_therapist_export(tmp_path)
    base = ["gains", str(path), "--measures", str(MEASURES)]
    assert cli.main([*base, "--losses"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [(r["episode_id"], r["kind"], r["magnitude"]) for r in rows] == [("E2", "loss", 11)]
    assert cli.main([*base, "--therapist", "T1"]) == 0
    assert [r["episode_id"] for r in json.loads(capsys.readouterr().out)] == ["E1"]
    assert cli.main([*base, "--therapist", "=T2"]) == 0
    assert json.loads(capsys.readouterr().out) == []
    assert cli.main([*base, "--therapist", "=T2", "--losses"]) == 0
    assert [r["therapist_id"] for r in json.loads(capsys.readouterr().out)] == ["=T2"]
    assert cli.main([*base, "--therapist", "T9"]) == 1
    err = capsys.readouterr().err
    assert "no therapist 'T9' in this export (2 therapists)" in err and "Traceback" not in err


def test_cli_unknown_measure_lists_what_exists(capsys) -> None:
    assert cli.main(["gains", str(EXPORT), "--measures", str(MEASURES), "--measure", "bdii"]) == 1
    out, err = capsys.readouterr()
    assert out == "" and "Traceback" not in err
    assert "unknown measure 'bdii'" in err
    assert "ors, phq9, gad7, core10, oq45, bdi" in err and "with scores in this export: bdi" in err


def test_cli_measure_choice_errors(tmp_path: Path, capsys) -> None:
    """Without ``--measure``: the export's only outcome measure (bdi in the fixture); an
    export without BDI in its registry has none; a measure without scores is an error."""
    assert cli.main(["gains", str(EXPORT), "--measures", str(MEASURES), "--measure",
                     "phq9"]) == 1
    assert "no phq9 scores in this export; outcome measures with scores: bdi" in \
        capsys.readouterr().err
    assert cli.main(["gains", str(EXPORT)]) == 1  # without the measure file, bdi is ignored
    err = capsys.readouterr().err
    assert "this export has no outcome scores" in err and "--measures FILE" in err
    path = _two_therapist_export(tmp_path, phq9=True)
    assert cli.main(["gains", str(path), "--measures", str(MEASURES)]) == 1
    assert "scores on 2 outcome measures (phq9, bdi): choose one with --measure" in \
        capsys.readouterr().err
