"""supervision.timeline: one episode's case timeline (domain.md §12) on a hand-worked export.

The export (:func:`_export`)
----------------------------
Therapist T1, episode E1 (ongoing), eight scheduled sessions, a week apart from 2024-01-01::

    session        1    2    3        4    5          6    7           8
    attendance     att  att  no_show  att  cancelled  att  att         att
    srs            38   37   .        31   .          37   38          38
    phq9           15   14   .        13   .          6    5           6
    rupture                                               withdrawal (repair unresolved)

* attended index 1 2 . 3 . 4 5 6; scored sessions (PHQ-9) k = 1..6 at sessions 1 2 4 6 7 8.
* alliance drop at session 4: 37 → 31 is 6 ≥ 5 SRS points (§4); the next rated session
  (6) is 37 ≥ 37, so it is repaired 1 rated session later, at session 6.
* flagged rupture at session 7 (withdrawal), never resolved: not repaired.
* sudden gain (§10) on PHQ-9 from attended session 3 to 4 (axis sessions 4 → 6): 13 → 6 is
  7 ≥ 6 (reliable change) and ≥ 0.25 · 13; pre 15, 14, 13 (mean 14, SS 2), post 6, 5, 6
  (mean 5.667, SS 0.667), s_pooled = √(2.667 / 4) = 0.816, t(4) = 2.776: 14 − 5.667 =
  8.33 > 2.27.  No reversal: later scores 5, 6 are not worse than 6 + 7/2 = 9.5.  No other
  interval changes by 6 or more.  No loss.
* the case's reasons (§7): only ``unrepaired_rupture`` (the latest SRS 38 is above 36, the
  drop is not in the last three rated sessions 6, 7, 8, PHQ-9 improved, one no-show).

Therapist T2: E2 (ongoing, the "other therapist's episode") and the reference R01..R30,
ended, each two PHQ-9 scores: intake 15, then 15 − (i mod 10) for i = 0..29.  So for an intake
of 15 at width 1 there are 30 reference episodes at scored session 2 and none at 3.  Their
gains (improvement, points) are 0..9, three of each; type-7 percentiles over the 30 sorted
gains, position 29·q: q = .10 → 2.9 → 0 + 0.9·(1 − 0) = 0.9; .25 → 7.25 → 2; .50 → 14.5 →
4.5; .75 → 21.75 → 7; .90 → 26.1 → 8.1.  As PHQ-9 scores from intake 15 at session 2 (the
``p10`` end is the one 1 in 10 did no better than): p10 14.1, p25 13, p50 10.5, p75 8,
p90 6.9, n 30, width 1.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pandas as pd
import pytest

from supervision import timeline as tl
from supervision.caseload import Caseload
from supervision.clinical import expected
from supervision.views.apps import TherapistApp

E1 = [  # attendance, srs, phq9, rupture, repair
    ("attended", 38, 15, "none", None), ("attended", 37, 14, "none", None),
    ("no_show", None, None, "none", None), ("attended", 31, 13, "none", None),
    ("cancelled", None, None, "none", None), ("attended", 37, 6, "none", None),
    ("attended", 38, 5, "withdrawal", "unresolved"), ("attended", 38, 6, "none", None),
]


def _row(**values: object) -> dict[str, object]:
    return values


def _export(n_ref: int = 30, e1_termination: str = "ongoing") -> Caseload:
    start = dt.date(2024, 1, 1)
    s = [_row(client_id="C1", therapist_id="T1", episode_id="E1",
              session_date=start + dt.timedelta(weeks=i), attendance=a, srs=srs, phq9=p,
              rupture=r, repair=rep) for i, (a, srs, p, r, rep) in enumerate(E1)]
    e = [_row(episode_id="E1", client_id="C1", therapist_id="T1", start_date=start,
              end_date=None if e1_termination == "ongoing" else start + dt.timedelta(weeks=8),
              termination=e1_termination)]
    s += [_row(client_id="C2", therapist_id="T2", episode_id="E2", session_date=start,
               attendance="attended", srs=30, phq9=20, rupture="none", repair=None)]
    e += [_row(episode_id="E2", client_id="C2", therapist_id="T2", start_date=start,
               end_date=None, termination="ongoing")]
    for i in range(n_ref):
        d0 = dt.date(2023, 1, 2) + dt.timedelta(days=i)
        rid = f"R{i + 1:02d}"
        for k, score in enumerate((15, 15 - i % 10)):
            s.append(_row(client_id=f"CR{i}", therapist_id="T2", episode_id=rid,
                          session_date=d0 + dt.timedelta(weeks=k), attendance="attended",
                          srs=38, phq9=score, rupture="none", repair=None))
        e.append(_row(episode_id=rid, client_id=f"CR{i}", therapist_id="T2", start_date=d0,
                      end_date=d0 + dt.timedelta(weeks=1), termination="completed"))
    t = pd.DataFrame({"therapist_id": ["T1", "T2"]})
    return Caseload.from_frames(pd.DataFrame(s), pd.DataFrame(e), t)


@pytest.fixture(scope="module")
def full() -> Caseload:
    return _export()


@pytest.fixture(scope="module")
def e1(full: Caseload) -> tl.Timeline:
    return tl.case_timeline(full.scoped(therapist_id="T1"), "E1")


def test_sessions_and_attendance_on_one_axis(e1: tl.Timeline) -> None:
    s = e1.sessions
    assert list(s["session"]) == [1, 2, 3, 4, 5, 6, 7, 8]
    assert list(s["attendance"]) == [x[0] for x in E1]
    assert s["attended_index"].fillna(0).tolist() == [1, 2, 0, 3, 0, 4, 5, 6]
    assert (e1.episode_id, e1.therapist_id, e1.termination) == ("E1", "T1", "ongoing")
    assert e1.start_date == dt.date(2024, 1, 1) and e1.end_date is None
    assert e1.alliance_measures == ["srs"] and e1.outcome_measures == ["phq9"]
    assert e1.reasons == ("unrepaired_rupture",)


def test_alliance_series_with_its_rated_index(e1: tl.Timeline) -> None:
    a = e1.alliance
    assert list(a["session"]) == [1, 2, 4, 6, 7, 8]
    assert list(a["value"]) == [38, 37, 31, 37, 38, 38]
    assert list(a["rated_index"]) == [1, 2, 3, 4, 5, 6]
    assert e1.measures["srs"].concern_below == 36


def test_drop_repaired_and_flagged_rupture_unrepaired(e1: tl.Timeline) -> None:
    r = e1.ruptures.set_index("session")
    assert list(r.index) == [4, 7]
    drop, flag = r.loc[4], r.loc[7]
    assert (drop["kind"], drop["measure"], drop["drop_points"]) == ("drop", "srs", 6.0)
    assert bool(drop["repaired"]) and int(drop["sessions_to_repair"]) == 1
    assert drop["repair_session"] == 6
    assert (flag["kind"], flag["rupture_type"], bool(flag["repaired"])) == (
        "flagged", "withdrawal", False)
    assert pd.isna(flag["repair_session"])


def test_sudden_gain_moved_onto_the_axis(e1: tl.Timeline) -> None:
    g = e1.sudden
    assert len(g) == 1
    row = g.iloc[0]
    assert (row["measure"], row["kind"]) == ("phq9", "gain")
    assert (row["pregain_session"], row["postgain_session"]) == (4, 6)
    assert (row["pregain_score"], row["postgain_score"], row["magnitude"]) == (13, 6, 7)
    assert not row["reversal"]


def test_band_at_the_second_score_then_not_enough_history(e1: tl.Timeline) -> None:
    o = e1.outcomes.set_index("scored_index")
    assert list(o["session"]) == [1, 2, 4, 6, 7, 8]
    assert list(o["change"]) == [0, -1, -2, -9, -10, -9]
    b = o.loc[2]
    assert [b[f"p{p}"] for p in (10, 25, 50, 75, 90)] == pytest.approx(
        [14.1, 13, 10.5, 8, 6.9])
    assert (b["band_n"], b["band_width"]) == (30, 1)
    assert o.drop(index=2)["band_n"].isna().all()
    assert "band shown to scored session 2" in e1.band_notes["phq9"]
    assert tl.NOT_ENOUGH_HISTORY in e1.band_notes["phq9"]


def test_never_its_own_reference() -> None:
    """29 reference episodes and E1 itself ended with intake 15 and a 2nd score: with itself
    there would be 30 and a band; without it, not enough history at any session."""
    cl = _export(n_ref=29, e1_termination="completed")
    t = tl.case_timeline(cl.scoped(therapist_id="T1"), "E1")
    assert t.outcomes["band_n"].isna().all()
    assert t.band_notes["phq9"] == f"expected-response band: {tl.NOT_ENOUGH_HISTORY}"


def test_handed_over_bands_or_none_are_used_never_the_rows() -> None:
    """A therapist's kernel draws the bands the server handed over (Caseload.handed):
    PHQ-9 is better lower, so a gain percentile of 2 points at session 3 is the score
    15 - 2 = 13 for intake 15; with nothing handed over there is no band, whatever the
    kernel's own rows hold (30 reference episodes here: enough for a band of their own)."""
    own = _export().scoped(therapist_id="T1")
    none = tl.case_timeline(own, "E1", bands=None)
    assert none.outcomes["band_n"].isna().all()
    assert tl.BANDS_UNAVAILABLE in none.band_notes["phq9"]
    own = replace(_export(), handed=expected.handed_over({"threshold_percentile": 10, "measures": {
        "phq9": [{"intake": 15.0, "session": 3, "width": 2, "n": 40, "q0100": 0.0,
                  "q0250": 1.0, "q0500": 2.0, "q0750": 3.0, "q0900": 4.0}]}})).scoped(
        therapist_id="T1")
    t = tl.case_timeline(own, "E1")
    at3 = t.outcomes.loc[t.outcomes["scored_index"] == 3]
    assert at3[["p10", "p25", "p50", "p75", "p90"]].values.tolist() == [[15, 14, 13, 12, 11]]
    assert at3["band_n"].tolist() == [40]
    assert t.outcomes.loc[t.outcomes["scored_index"] == 2, "band_n"].isna().all()
    bare = replace(_export(), handed=expected.handed_over(None)).scoped(therapist_id="T1")
    empty = tl.case_timeline(bare, "E1")
    assert empty.outcomes["band_n"].isna().all()
    assert tl.NOT_ENOUGH_HISTORY in empty.band_notes["phq9"]


@pytest.mark.parametrize("switch", ["handed over", "practice history", True])
def test_where_bands_come_from_is_a_typed_switch_never_a_string(switch: object) -> None:
    """The privacy switch is a ``timeline.Bands`` member (or bands, or None): the old magic
    strings, or anything else, are refused before anything is read."""
    own = _export().scoped(therapist_id="T1")
    with pytest.raises(TypeError, match="Bands member"):
        tl.case_timeline(own, "E1", bands=switch)  # type: ignore[arg-type]


@pytest.mark.parametrize("forged", ["E2", "R01", " E2 ", "", None, 7, "E1' OR 1=1 --"])
def test_an_episode_not_in_the_caseload_is_refused(full: Caseload, forged: object) -> None:
    own = full.scoped(therapist_id="T1")
    with pytest.raises(tl.EpisodeNotFound):
        tl.case_timeline(own, forged)
    assert tl.case_timeline(full, "E2").therapist_id == "T2"  # it exists in the root


def test_therapist_app_shows_only_its_own_episodes(full: Caseload) -> None:
    own = full.scoped(therapist_id="T1")
    app = TherapistApp(own, {"alliance_key": "srs", "outcome_key": "phq9"})
    app.refresh()
    app.open_timeline("E2")  # another therapist's id, as a forged widget value would send
    picker = app._view.timeline
    assert picker.timeline is None and picker.figure is None
    text = picker.area.children[0].value
    assert "not in this caseload" in text and "T2" not in text
    assert picker.episode.options == ("E1",)
    app.open_timeline("E1")
    assert picker.timeline.episode_id == "E1"
    assert tl.BANDS_UNAVAILABLE in picker.timeline.band_notes["phq9"]
    fig = app.figures["case_timeline"]
    names = {t.name for t in fig.data}
    assert {"Attended", "No-show", "Cancelled", "Alliance rating", "Alliance drop",
            "Rupture, repaired", "Rupture, not repaired", "Outcome score",
            "Sudden gain"} <= names
    assert "Expected 10–90%" not in names  # no band on a therapist's own server


def test_figure_draws_the_band_and_escapes_ids(e1: tl.Timeline) -> None:
    import json
    from dataclasses import replace

    from supervision.views.timeline import timeline_figure, timeline_panels

    fig = timeline_figure(e1)
    names = {t.name for t in fig.data}
    assert {"Expected 10–90%", "Expected 25–75%", "Expected median"} <= names
    hostile = "<img src=x onerror=window.__xss=1>"
    bad = replace(e1, episode_id=hostile, therapist_id=hostile)
    header, panel, notes = timeline_panels(bad)
    text = header.value + json.dumps(panel.figure.to_plotly_json(), default=str) + notes.value
    assert hostile not in text and "&lt;img" in text
    assert "never a verdict" in notes.value
