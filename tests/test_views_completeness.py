"""Completeness (domain.md §12) and sudden gains (§10) where the figures are: the supervisor
and therapist headlines, the practice review and the report pack, on a hand-worked export.

The export (:func:`_export`)
----------------------------
Every session attended, weekly from 2024-01-01 (all in 2024Q1); SRS 38 where rated; PHQ-9
(reliable change 6 points: the sudden-gain cut-off).  Series::

    GAIN      15 14 13 6 5 6     gain 3→4: 13 → 6 is 7 ≥ 6 and ≥ 25% of 13; pre 15 14 13
                                 (mean 14, SS 2), post 6 5 6 (mean 5.667, SS 0.667),
                                 s_pooled = √(2.667/4) = 0.816, t(4) = 2.776: 8.33 > 2.27.
                                 Later 5, 6 are not worse than 6 + 7/2 = 9.5: not reversed.
    REVERSED  15 14 13 6 5 6 14  the same gain (post 6 5 6); 14 > 9.5 later: reversed.  6 → 14
                                 is no loss: one score after it (criterion 3 needs 2).
    LOSS      5 5 5 15 15        loss 3→4: 10 ≥ 6, ≥ 25% of 5; means 5 vs 15, s_pooled 0.
                                 Not reversed (15 is not better than 15 − 10/2 = 10).
    FLAT      10 10 10 10        no change: no gain, no loss (4 scores: enough to be counted).

    therapist (team)  episode: series, SRS rated in            ending
    T1 (North)        E11 GAIN, first 4 of 6 sessions          ongoing
                      E12 REVERSED, first 4 of 7               completed (last session scored)
                      E13 LOSS, first 4 of 5                   ongoing
    T2 (North)        E21 10 10 10 10 10, first 4 of 5         ongoing
                      E22 10 10 10 10 -, first 4 of 5          completed (last one unscored)
    T3 (South)        E31: one session, a no-show              ongoing
    T4 (South)        E40–E45 FLAT, E46 GAIN; all rated         ongoing
    T5 (<i>East</i>)  E51 GAIN, E52 FLAT; all rated             ongoing

Worked by hand
--------------
Completeness (k/n):

    scope     alliance rated   outcome scored   intake scored   final scored
    T1        12/18 = 66.7%    18/18            3/3             1/1
    T2        8/10 = 80%       9/10 = 90%       2/2             0/1 = 0%
    T3        0/0              0/0              0/0             0/0
    practice  60/68 = 88.2%    67/68 = 98.5%    14/14           1/2 = 50%

(practice sessions: 18 + 10 + 0 + 30 + 10 = 68; rated 12 + 8 + 30 + 10 = 60; scored 18 + 9 +
30 + 10 = 67; ended episodes E12 and E22.)  So T1's alliance figures get a notice (66.7% <
80%), T2's alliance does not (80% is not below 80%) but its final-session share does; T3 has
no denominator at all: "no sessions yet" / "no ended episodes yet", never "below 80%".

Sudden gains on PHQ-9 (episodes with enough scores: 4 or more):
T1: 3 episodes; gains 2 in 2 (E11, E12), 1 reversed (E12); losses 1 in 1 (E13), 0 reversed.
T2: 2 episodes, none.  T4: 7 episodes, 1 gain.  T5: 2 episodes, 1 gain.
Practice: 3 + 2 + 7 + 2 = 14 episodes; gains 4 in 4, 1 reversed; losses 1 in 1, 0 reversed.

By team (a breakdown below the practice, min_cell 5): a team is a staff attribute, so a team
held by fewer than 5 therapists is merged (issue 23, ``breakdown.merge_few_staff``).  Here
every team is: North (T1, T2), South (T3, T4), <i>East</i> (T5).  So one row, "other teams
(few therapists each)", of all 5 therapists: 14 episodes, gains 4 in 4 episodes, 1 reversed,
losses 1 in 1 — the practice's own figures; no team's name is shown.
"""

from __future__ import annotations

import datetime as dt
import re

import pandas as pd
import pytest

from supervision import comparison, scopes
from supervision.caseload import Caseload
from supervision.clinical import completeness
from supervision.clinical import sudden_gains as sg
from supervision.report import sections
from supervision.views import measurement as vm
from supervision.views.apps import PracticeApp, SupervisorApp, TherapistApp

GAIN = [15, 14, 13, 6, 5, 6]
REVERSED = [15, 14, 13, 6, 5, 6, 14]
LOSS = [5, 5, 5, 15, 15]
FLAT = [10, 10, 10, 10]
START = dt.date(2024, 1, 1)
#: episode -> therapist, ending, PHQ-9 per attended session, SRS rated in the first n (None: all)
EPISODES: dict[str, tuple[str, str, list[float | None], int | None]] = {
    "E11": ("T1", "ongoing", GAIN, 4), "E12": ("T1", "completed", REVERSED, 4),
    "E13": ("T1", "ongoing", LOSS, 4),
    "E21": ("T2", "ongoing", [10] * 5, 4),
    "E22": ("T2", "completed", [10, 10, 10, 10, None], 4),
    **{f"E4{i}": ("T4", "ongoing", FLAT, None) for i in range(6)},
    "E46": ("T4", "ongoing", GAIN, None),
    "E51": ("T5", "ongoing", GAIN, None), "E52": ("T5", "ongoing", FLAT, None),
}
EAST = "<i>East</i>"
MERGED = "other teams (few therapists each)"
TEAMS = {"T1": "North", "T2": "North", "T3": "South", "T4": "South", "T5": EAST}

T1_NOTICE = ("Alliance rated in 67% of attended sessions (n = 12/18): below 80%, so alliance "
             "and rupture figures may not represent the caseload.")
T2_NOTICE = ("Outcome scored at the last session of 0% of ended episodes (n = 0/1): below 80%, "
             "so outcome figures (change by the end) may not represent the caseload.")
PRACTICE_NOTICE = ("Outcome scored at the last session of 50% of ended episodes (n = 1/2): "
                   "below 80%, so outcome figures (change by the end) may not represent the "
                   "caseload.")
T1_SUDDEN = ("Sudden gains (PHQ-9): 2 gains, in 2 of 3 episodes with enough scores; 1 "
             "reversed. Sudden losses: 1 loss, in 1 of 3 episodes; 0 reversed.")
PRACTICE_SUDDEN = ("Sudden gains (PHQ-9): 4 gains, in 4 of 14 episodes with enough scores; 1 "
                   "reversed. Sudden losses: 1 loss, in 1 of 14 episodes; 0 reversed.")


def _export() -> Caseload:
    s, e = [], []
    for eid, (tid, term, phq, rated) in EPISODES.items():
        for i, x in enumerate(phq):
            s.append({"client_id": "c" + eid, "therapist_id": tid, "episode_id": eid,
                      "session_date": START + dt.timedelta(weeks=i), "attendance": "attended",
                      "srs": 38 if rated is None or i < rated else None, "phq9": x,
                      "rupture": "none"})
        end = None if term == "ongoing" else START + dt.timedelta(weeks=len(phq) - 1)
        e.append({"episode_id": eid, "client_id": "c" + eid, "therapist_id": tid,
                  "start_date": START, "end_date": end, "termination": term})
    s.append({"client_id": "cE31", "therapist_id": "T3", "episode_id": "E31",
              "session_date": START, "attendance": "no_show", "srs": None, "phq9": None,
              "rupture": "none"})
    e.append({"episode_id": "E31", "client_id": "cE31", "therapist_id": "T3",
              "start_date": START, "end_date": None, "termination": "ongoing"})
    t = pd.DataFrame({"therapist_id": list(TEAMS), "team": list(TEAMS.values())})
    return Caseload.from_frames(pd.DataFrame(s), pd.DataFrame(e), t)


@pytest.fixture(scope="module")
def cl() -> Caseload:
    return _export()


@pytest.fixture(scope="module")
def heads(cl: Caseload) -> dict[str, dict]:
    keys = {"alliance_key": "srs", "outcome_key": "phq9"}
    return {**scopes.headlines_by_therapist(cl, **keys),
            "practice": scopes.headline(cl, **keys)}


def _text(html: str) -> str:
    """The page's words: tags dropped, entities of our own wording back to characters."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).replace("&amp;", "&")


def _card(html: str, label: str) -> str:
    """The headline card whose label starts with ``label`` (its HTML)."""
    cards = html.split('<div class="sv-card')
    found = [c for c in cards if f'<div class="sv-label">{label}' in c]
    assert len(found) == 1, label
    return found[0]


# ---------------------------------------------------------------------- the numbers
def test_headline_dicts_carry_the_hand_worked_shares_and_counts(heads: dict) -> None:
    def shares(h: dict) -> list[tuple]:
        return [(h[s]["k"], h[s]["n"], h[s]["below_floor"]) for s in completeness.SHARES]

    assert shares(heads["T1"]) == [(12, 18, True), (18, 18, False), (3, 3, False),
                                   (1, 1, False)]
    assert shares(heads["T2"]) == [(8, 10, False), (9, 10, False), (2, 2, False),
                                   (0, 1, True)]
    assert shares(heads["T3"]) == [(0, 0, False)] * 4
    assert all(heads["T3"][s]["value"] is None for s in completeness.SHARES)
    assert shares(heads["practice"]) == [(60, 68, False), (67, 68, False), (14, 14, False),
                                         (1, 2, True)]
    su = {t: heads[t]["sudden__phq9"] for t in ("T1", "T2", "T3", "practice")}
    fields = ("value", "episodes_with_gain", "reversals", "n", "losses", "loss_episodes",
              "loss_reversals")
    assert [su["T1"][f] for f in fields] == [2, 2, 1, 3, 1, 1, 0]
    assert [su["T2"][f] for f in fields] == [0, 0, 0, 2, 0, 0, 0]
    assert [su["T3"][f] for f in fields] == [0] * 7
    assert [su["practice"][f] for f in fields] == [4, 4, 1, 14, 1, 1, 0]
    assert su["T1"]["measure"] == "PHQ-9"


def test_headline_agrees_with_the_metric_modules(cl: Caseload, heads: dict) -> None:
    """The same counts as completeness.completeness and sudden_gains.summarise give."""
    c = completeness.completeness(cl).set_index("therapist_id", drop=False)
    for tid in ("T1", "T2", "T4"):
        for share, (num, den) in completeness.SHARES.items():
            assert (heads[tid][share]["k"], heads[tid][share]["n"]) == (
                int(c.loc[tid, num]), int(c.loc[tid, den])), (tid, share)
    for kind, (count, eps, rev) in {"gain": ("value", "episodes_with_gain", "reversals"),
                                    "loss": ("losses", "loss_episodes", "loss_reversals")
                                    }.items():
        per = sg.summarise(sg.sudden_events(cl, measure="phq9", kind=kind), by="therapist_id")
        for r in per.itertuples():
            h = heads[r.therapist_id]["sudden__phq9"]
            assert (h[count], h[eps], h[rev]) == (r.gains, r.episodes_with_gain, r.reversals)


# ---------------------------------------------------------------------- the dashboards
def _supervisor_headline(cl: Caseload, tid: str) -> str:
    app = SupervisorApp(cl)
    app.therapist.value = tid
    app.refresh()
    return app.headline.children[0].value


def test_supervisor_headline_shows_shares_n_and_the_notice_below_80(cl: Caseload) -> None:
    html = _supervisor_headline(cl, "T1")
    card = _card(html, "Alliance rated")
    assert "67%" in card and "n = 12/18 attended sessions — below 80%" in card
    assert "Practice, same dates: 88% (n = 60/68 attended sessions)" in card
    # the notice sits in the cards of the figures it affects, and only there
    assert T1_NOTICE in _card(html, "Early alliance") and T1_NOTICE in _card(html, "Repair")
    assert T1_NOTICE not in _card(html, "Drop-out") and html.count(T1_NOTICE) == 2
    assert "100%" in _card(html, "Scored at the last session")
    assert "n = 1/1 ended episodes" in _card(html, "Scored at the last session")
    assert T1_SUDDEN in _text(html) and PRACTICE_SUDDEN in _text(html)
    # the practice's own 50% is shown with its n under T1's 100%, as every practice figure is
    assert "Practice, same dates: 50% (n = 1/2 ended episodes — below 80%)" in _card(
        html, "Scored at the last session")


def test_at_80_percent_no_notice_but_below_it_one(cl: Caseload) -> None:
    html = _supervisor_headline(cl, "T2")
    card = _card(html, "Alliance rated")
    assert "80%" in card and "n = 8/10 attended sessions" in card
    assert "below 80%" not in card.split('<div class="sv-practice">')[0]
    assert "Alliance rated in" not in html  # no alliance notice anywhere
    assert T2_NOTICE in _card(html, "Reliable improvement")
    assert html.count("below 80%, so") == 1


def test_denominator_zero_reads_no_sessions_yet(cl: Caseload) -> None:
    html = _supervisor_headline(cl, "T3")
    own = {s: _card(html, w.title).split('<div class="sv-practice">')[0]
           for s, w in vm.WORDS.items()}
    for share in ("alliance_rated_share", "outcome_scored_share", "intake_scored_share"):
        assert "no sessions yet" in own[share], share
    assert "no ended episodes yet" in own["final_scored_share"]
    assert not any("below" in v for v in own.values())
    assert "below 80%, so" not in html
    assert "Sudden gains (PHQ-9): no episode with enough scores (4 or more) yet." in _text(html)


def test_therapist_headline_own_figures_without_a_withheld_practice(cl: Caseload) -> None:
    """Four other therapists < min_cell 5: the practice comparison is withheld whole, so the
    therapist sees their own shares and notices and no practice line."""
    practice = comparison.practice_comparison(cl, "T2", min_cell=5)
    assert practice.get("withheld") and "headline" not in practice
    app = TherapistApp(cl.scoped(therapist_id="T2"), practice)
    app.refresh()
    html = app.headline.children[0].value
    assert "n = 8/10 attended sessions" in _card(html, "Alliance rated")
    assert T2_NOTICE in _card(html, "Reliable improvement")
    assert "Practice:" not in html and "60/68" not in html


def test_hidden_practice_share_keeps_no_count() -> None:
    """A practice entry that too few other therapists' cases stand behind loses every figure,
    the numerator ``k`` and the sudden-gain counts too (comparison.scrub)."""
    head = {"alliance_rated_share": {"value": 0.9, "low": None, "high": None, "n": 40, "k": 36,
                                     "below_floor": False},
            "sudden__phq9": {"value": 3, "n": 20, "episodes_with_gain": 3, "reversals": 1,
                             "losses": 0, "loss_episodes": 0, "loss_reversals": 0,
                             "measure": "PHQ-9"}}
    out = comparison._scrub_headline(head, {"alliance_rated_share": 4, "sudden__phq9": 3},
                                     None, 5)
    assert out["alliance_rated_share"]["k"] is None and out["alliance_rated_share"]["suppressed"]
    su = out["sudden__phq9"]
    assert su["measure"] == "PHQ-9" and su["suppressed"]
    assert all(su[f] is None for f in ("value", "n", "episodes_with_gain", "reversals"))
    assert "not shown" in vm.sudden_text(su) and "3" not in vm.sudden_text(su)
    assert vm.share_parts("alliance_rated_share", out["alliance_rated_share"])[0] == "—"
    kept = comparison._scrub_headline(head, {"alliance_rated_share": 5, "sudden__phq9": 5},
                                      None, 5)
    assert kept == head


# ---------------------------------------------------------------------- the practice review
@pytest.fixture(scope="module")
def review(cl: Caseload) -> PracticeApp:
    app = PracticeApp(cl)
    assert app.quarter.value == "2024Q1"
    app.refresh()
    return app


def test_practice_review_headline_shows_shares_and_notice(review: PracticeApp) -> None:
    html = review.headline.children[0].value
    assert "88%" in _card(html, "Alliance rated")
    assert "n = 60/68 attended sessions" in _card(html, "Alliance rated")
    assert "n = 14/14 episodes" in _card(html, "Scored at the first session")
    assert PRACTICE_NOTICE in _card(html, "Reliable improvement")
    assert "Alliance rated in" not in html  # 88% is above the floor


def _sudden_tab(app: PracticeApp) -> str:
    names = [n for n, _ in app.tab_specs]
    app.tabs.selected_index = names.index("Sudden gains")
    box = app.tabs.children[names.index("Sudden gains")]
    return "".join(getattr(w, "value", "") for w in box.children)


def test_practice_review_sudden_gains_with_n(review: PracticeApp) -> None:
    text = _text(_sudden_tab(review))
    assert f"2024Q1 : {PRACTICE_SUDDEN}" in text
    assert "2023Q4 (previous): Sudden gains (PHQ-9): no episode with enough scores" in text


def test_team_breakdown_suppresses_small_cells(review: PracticeApp) -> None:
    html = _sudden_tab(review)
    rows = re.findall(r"<tr><td>(.*?)</td>(.*?)</tr>", html)
    cells = {team: re.findall(r"<td>(.*?)</td>", rest) for team, rest in rows}
    assert list(cells) == [MERGED]  # every team has fewer than 5 therapists
    assert cells[MERGED][:3] == ["14", "4", "4"]  # episodes, gains, episodes with a gain
    assert "East" not in html and "North" not in html and "South" not in html
    assert EAST not in html  # the export's team name only escaped


def test_breakdown_records_never_show_a_small_count(cl: Caseload) -> None:
    cells = scopes.sudden_breakdown(cl, outcome_key="phq9", min_cell=5)["phq9"]
    assert [(c["group"], c["suppressed"], c["episodes"], c["gains"]) for c in cells] == [
        (MERGED, False, 14, 4)]  # 5 therapists in the merged row: shown
    six = scopes.sudden_breakdown(cl, outcome_key="phq9", min_cell=6)["phq9"]
    assert all(c["suppressed"] and c["gains"] is None for c in six)  # 5 therapists < 6


# ---------------------------------------------------------------------- the report pack
def test_report_headline_rows_with_n_and_notices(heads: dict) -> None:
    cols = {"You, 2024Q1": heads["T1"], "Practice, 2024Q1": heads["practice"]}
    sec = sections.headline_section(cols, {}, {}, q="2024Q1", prev_q="2023Q4")
    html = sec.html()
    share_rows = dict(re.findall(r'<tr class="sv-share" data-share="(\w+)">(.*?)</tr>', html))
    assert list(share_rows) == list(completeness.SHARES)
    assert "67%" in share_rows["alliance_rated_share"]
    assert "n = 12/18 attended sessions — below 80%" in share_rows["alliance_rated_share"]
    assert "n = 60/68 attended sessions" in share_rows["alliance_rated_share"]
    early = re.search(r"<tr><th>Early alliance</th>(.*?)</tr>", html).group(1)  # type: ignore[union-attr]
    first, second = early.split("</td>")[:2]
    assert T1_NOTICE in first and "may not represent" not in second
    ri = re.search(r"<tr><th>Reliable improvement</th>(.*?)</tr>", html).group(1)  # type: ignore[union-attr]
    assert PRACTICE_NOTICE in ri.split("</td>")[1]
    sudden = re.search(r"<tr><th>Sudden gains and losses \(PHQ-9\)</th>(.*?)</tr>", html)
    assert sudden is not None
    own, prac = sudden.group(1).split("</td>")[:2]
    assert T1_SUDDEN.replace("Sudden gains (PHQ-9)", "Sudden gains") in _text(own)
    assert PRACTICE_SUDDEN.replace("Sudden gains (PHQ-9)", "Sudden gains") in _text(prac)


def test_report_practice_pack_has_the_team_breakdown(
    cl: Caseload, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sections.opening, "caseload", lambda: cl)
    monkeypatch.setenv(sections.QUARTER, "2024Q1")
    pack = sections.practice_pack()
    keys = [s.key for s in pack.sections]
    assert keys.index("headline") < keys.index("sudden") < keys.index("funnels")
    sudden = pack.sections[keys.index("sudden")].html()
    assert "East" not in sudden and "North" not in sudden  # teams of few therapists merged
    assert f"<tr><td>{MERGED}</td><td>14</td><td>4</td><td>4</td><td>1</td>" in sudden
    head = pack.sections[keys.index("headline")].html()
    assert PRACTICE_NOTICE in head and "n = 60/68 attended sessions" in head


# ---------------------------------------------------------------------- the wording
def test_every_share_has_its_words() -> None:
    assert set(vm.WORDS) == set(completeness.SHARES)
    assert {s for v in vm.AFFECTS.values() for s in v} <= set(completeness.SHARES)


def test_a_share_just_below_80_never_reads_80() -> None:
    f = {"value": 0.7996, "k": 1999, "n": 2500, "below_floor": True}
    assert vm.share_pct(f) == "79.9%"
    assert vm.notice("alliance_rated_share", f).startswith(  # type: ignore[union-attr]
        "Alliance rated in 79.9% of attended sessions (n = 1999/2500): below 80%")
    assert vm.share_pct({"value": 0.8, "k": 4, "n": 5, "below_floor": False}) == "80%"
    # a denominator of 0 is never below the floor, whatever the flag says
    assert vm.notice("final_scored_share", {"value": None, "k": 0, "n": 0,
                                            "below_floor": True}) is None


def test_measure_name_is_escaped_in_the_sudden_text() -> None:
    f = {"value": 1, "n": 5, "episodes_with_gain": 1, "reversals": 0, "losses": 0,
         "loss_episodes": 0, "loss_reversals": 0, "measure": "<b>X</b>"}
    assert "Sudden gains (&lt;b&gt;X&lt;/b&gt;): 1 gain, in 1 of 5 episodes" in vm.sudden_text(f)
    assert vm.sudden_text(f).endswith("Sudden losses: none.")
    one = {**f, "n": 1}
    assert "of 1 episode with enough scores" in vm.sudden_text(one)
