"""The tabs of the practice-review dashboard (a quarter and a team)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import ipywidgets as widgets
import pandas as pd
import plotly.graph_objects as go

from supervision import periods, scopes
from supervision.caseload import Caseload
from supervision.clinical import alliance, multilevel, neurotype, outcomes, termination
from supervision.comparison import retention_of_k
from supervision.scopes import row, termination_row
from supervision.views import adjusted as vadj
from supervision.views import alliance as va
from supervision.views import neurotype as vn
from supervision.views import practice as vp
from supervision.views import termination as vt
from supervision.views.common import html_panel, recorded_panel
from supervision.views.measurement import (
    SUDDEN_NOTE,
    breakdown_table,
    notice_html,
    notices_for,
    sudden_keys_of,
    sudden_text,
)
from supervision.views.tabs import ending_panels


@dataclass
class PracticeView:
    """The practice in one quarter (``current``) and the quarter before (``previous``).

    ``year`` is the four quarters ending with the chosen one: the funnel plots use it,
    because one quarter gives most therapists too few ended episodes to place.
    """

    current: Caseload
    previous_cl: Caseload
    quarter: str
    previous: str
    alliance_key: str | None
    outcome_key: str | None
    min_cell: int = 5
    year: Caseload | None = None
    current_headline: dict[str, Any] = field(default_factory=dict)
    previous_headline: dict[str, Any] = field(default_factory=dict)
    figures: dict[str, go.Figure | None] = field(default_factory=dict)

    @classmethod
    def build(cls, cl: Caseload, quarter: str, team: str | None, *, min_cell: int) -> PracticeView:
        """Scope the caseload to ``team`` and to ``quarter`` and the quarter before it."""
        base = scopes.team_scoped(cl, team)
        prev_q = periods.previous_quarter(quarter)
        (c0, c1), (p0, p1) = periods.quarter_bounds(quarter), periods.quarter_bounds(prev_q)
        cur, prev = base.scoped(since=c0, until=c1), base.scoped(since=p0, until=p1)
        a_key, o_key = scopes.alliance_measure(base), scopes.outcome_measure(base)
        view = cls(cur, prev, quarter, prev_q, a_key, o_key, min_cell)
        year_start = periods.quarter_bounds(periods.previous_quarter(quarter, 3))[0]
        view.year = base.scoped(since=year_start, until=c1)
        view.current_headline = scopes.headline(cur, alliance_key=a_key, outcome_key=o_key)
        view.previous_headline = scopes.headline(prev, alliance_key=a_key, outcome_key=o_key)
        return view

    def panel(self, name: str, what: str, build: Callable[[], Any], empty: str) -> widgets.Widget:
        """Build one panel under ``name``, remembering its figure (``recorded_panel``)."""
        return recorded_panel(self.figures, name, what, build, empty)

    def rates(self, cl: Caseload) -> dict[str, dict[str, Any]]:
        """Rates of ``cl`` keyed as the benchmarks (domain.md §5), with n and interval."""
        t = termination_row(cl) or {}
        out = {"dropout_rate": _rate(t, "dropout_rate", "ended", "ended episodes")}
        if self.outcome_key:
            o = row(outcomes.outcome_summary(cl, self.outcome_key)) or {}
            for key in (
                "reliable_improvement_rate",
                "reliable_deterioration_rate",
                "reliable_recovery_rate",
            ):
                out[key] = _rate(o, key, "paired", "paired episodes")
            out["recovery_rate"] = _rate(
                o, "recovery_rate", "started_clinical", "episodes starting in the clinical range"
            )
        return out


def _rate(r: dict[str, Any], key: str, n_key: str, noun: str) -> dict[str, Any]:
    return {
        "value": r.get(key),
        "low": r.get(f"{key}_low"),
        "high": r.get(f"{key}_high"),
        "n": r.get(n_key),
        "noun": noun,
    }


def overview_tab(v: PracticeView) -> list[widgets.Widget]:
    """This quarter against the previous one and the published benchmarks."""
    return [
        v.panel(
            "benchmarks",
            "The benchmark comparison",
            lambda: vp.benchmark_figure(
                v.rates(v.current),
                v.rates(v.previous_cl),
                current_label=v.quarter,
                previous_label=f"{v.previous} (previous)",
            ),
            "No ended or paired episodes in this quarter.",
        )
    ]


def funnel_tab(v: PracticeView) -> list[widgets.Widget]:
    """Drop-out and reliable improvement by therapist on funnel plots (never ranked)."""
    note = html_panel(
        "<div class='sv-note'>Each dot is a therapist, placed by how many episodes the rate "
        "rests on. Dots inside the funnel differ from the practice by no more than chance "
        "would make likely; a dot outside is a prompt to look closer, not a verdict. "
        "There is deliberately no ranked list. Funnels cover the four quarters up to the "
        "chosen one, so that most therapists have enough ended episodes to place. When "
        "therapists' rates vary more than chance alone explains, the limits are widened "
        "for it (over-dispersion), as each chart says. The last chart adjusts each "
        "therapist's outcome for how ill their clients were at intake.</div>"
    )

    year = v.year or v.current
    span = f"four quarters to {v.quarter}"

    def dropout() -> go.Figure | None:
        t = termination.termination_summary(year, by="therapist_id")
        per = pd.DataFrame({"therapist_id": t["therapist_id"], "k": t["dropout"], "n": t["ended"]})
        p0 = (termination_row(year) or {}).get("dropout_rate")
        return vp.funnel_figure(
            per, p0, title=f"Drop-out, {span}", noun="ended episodes", min_cell=v.min_cell
        )

    def improvement() -> go.Figure | None:
        if v.outcome_key is None:
            return None
        o = outcomes.outcome_summary(year, v.outcome_key, by="therapist_id")
        per = pd.DataFrame(
            {"therapist_id": o["therapist_id"], "k": o["reliable_improvement"], "n": o["paired"]}
        )
        p0 = (row(outcomes.outcome_summary(year, v.outcome_key)) or {}).get(
            "reliable_improvement_rate"
        )
        return vp.funnel_figure(
            per,
            p0,
            title=f"Reliable improvement, {span}",
            noun="paired episodes",
            min_cell=v.min_cell,
        )

    return [
        note,
        v.panel(
            "funnel_dropout",
            "The drop-out funnel",
            dropout,
            "No therapist has 5 or more ended episodes in these four quarters.",
        ),
        v.panel(
            "funnel_improvement",
            "The reliable-improvement funnel",
            improvement,
            "No episodes with paired outcome scores in this quarter.",
        ),
        v.panel(
            "adjusted_outcome",
            "The intake-adjusted outcome",
            lambda: adjusted_outcome_figure(year, v.outcome_key, min_cell=v.min_cell),
            f"Too few therapists with {v.min_cell} or more paired episodes in these four "
            "quarters to adjust outcomes for intake severity.",
        ),
    ]


def adjusted_outcome_figure(cl: Caseload, outcome_key: str | None, *, min_cell: int,
                            highlight: str | None = None) -> go.Figure | None:
    """:func:`~supervision.views.adjusted.adjusted_figure` of ``cl``'s outcome measure."""
    if outcome_key is None:
        return None
    res = multilevel.intake_adjusted(cl, outcome_key, min_cell=min_cell)
    name = scopes.measure_name(cl, multilevel.modelled_measure(outcome_key))
    return vadj.adjusted_figure(res, measure_name=name, min_cell=min_cell, highlight=highlight)


def neurotype_tab(v: PracticeView) -> list[widgets.Widget]:
    """Neurotype-match patterns across the practice (suppressed below min_cell)."""
    caution = html_panel(f'<div class="sv-caution">{vn.CAUTION.format(min_cell=v.min_cell)}</div>')
    staff = html_panel(f'<div class="sv-note">{vn.staff_tags_note(v.min_cell)}</div>')
    groups = neurotype.group_summary(v.current, min_cell=v.min_cell)
    empty = vn.panel_empties(groups, min_cell=v.min_cell, where=v.quarter,
                             fill="All teams, or a busier quarter, would fill it.")
    grid = lambda: neurotype.tag_grid(v.current, min_cell=v.min_cell, staff_rows=True)  # noqa: E731
    return [caution, *vn.group_panels(v.panel, groups, grid, min_cell=v.min_cell, empty=empty),
            staff]


def termination_tab(v: PracticeView) -> list[widgets.Widget]:
    """Mix of endings, drop-out, outcome and dose by ending, retention — against last quarter."""
    both = {
        v.quarter: termination_row(v.current),
        f"{v.previous} (previous)": termination_row(v.previous_cl),
    }
    empty = "No episodes in this quarter."
    empties = {"termination_mix": empty, "dropout": "No ended episodes in this quarter.",
               "outcome_by_ending": "No episodes with two or more outcome scores in this quarter.",
               "dose": empty}
    return [
        *ending_panels(v.panel, v.current, both, v.outcome_key, min_cell=v.min_cell,
                       empties=empties),
        v.panel(
            "retention",
            "Retention",
            lambda: vt.retention_figure(
                {
                    v.quarter: retention_of_k(termination.retention(v.current), v.min_cell),
                    f"{v.previous} (previous)": retention_of_k(
                        termination.retention(v.previous_cl), v.min_cell),
                }
            ),
            empty,
        ),
    ]


def alliance_tab(v: PracticeView) -> list[widgets.Widget]:
    """The practice's alliance by session number and by quarter."""
    key = v.alliance_key
    if key is None:
        return [html_panel('<div class="sv-empty">No alliance ratings in this export.</div>')]
    m = v.current.registry[key]
    empty = f"No {m.name} ratings in this quarter."
    prev_label = f"{v.previous} (previous)"
    return [
        v.panel(
            "alliance_trend",
            "The alliance trend",
            lambda: va.alliance_trend_figure(
                alliance.alliance_by_session(v.current, key),
                m,
                practice=alliance.alliance_by_session(v.previous_cl, key),
                own_label=v.quarter,
                practice_label=prev_label,
                min_cell=v.min_cell,  # each line stops before its first point of n < k
            ),
            empty,
        ),
        v.panel(
            "alliance_quarter",
            "Alliance by quarter",
            lambda: va.alliance_quarter_figure(
                alliance.alliance_by_quarter(v.current, key), m,
                own_label=v.quarter, min_cell=v.min_cell,  # quarters of n < k are not drawn
            ),
            empty,
        ),
    ]


def sudden_tab(v: PracticeView) -> list[widgets.Widget]:
    """Sudden gains and losses with their n: the practice (or team) this quarter and last,
    then by team, small cells suppressed (§8: a breakdown below the practice)."""
    cur, prev = v.current_headline, v.previous_headline
    keys = sudden_keys_of(cur, prev)
    if not keys:
        return [html_panel('<div class="sv-empty">No outcome scores in this export, so no '
                           "sudden gains.</div>", "sv-empty-panel")]
    lines = "".join(
        f"<div><b>{v.quarter}</b>: {sudden_text(cur.get(k))}</div>"
        f"<div class='sv-sub'>{v.previous} (previous): {sudden_text(prev.get(k))}</div>"
        for k in keys)
    head = html_panel(f'<div class="sv-sudden">{lines}'
                      f"{notice_html(notices_for('sudden', cur, scope='the practice'))}"
                      f'<div class="sv-note">{SUDDEN_NOTE}</div></div>', "sv-sudden-panel")

    def by_team() -> widgets.Widget:
        cells = scopes.sudden_breakdown(v.current, outcome_key=v.outcome_key,
                                        min_cell=v.min_cell)
        names = {o: str((cur.get(f"sudden__{o}") or {}).get("measure", o)) for o in cells}
        body = breakdown_table(cells, names, min_cell=v.min_cell)
        return html_panel(f"<h4>By team, {v.quarter}</h4>{body}", "sv-sudden-teams")

    return [head, v.panel("sudden_by_team", "Sudden gains by team", by_team,
                          "No teams in this quarter.")]


PRACTICE_TABS: tuple[tuple[str, Callable[[PracticeView], list[widgets.Widget]]], ...] = (
    ("Benchmarks", overview_tab),
    ("Funnel plots", funnel_tab),
    ("Neurotype patterns", neurotype_tab),
    ("Termination", termination_tab),
    ("Alliance", alliance_tab),
    ("Sudden gains", sudden_tab),
)

__all__ = ["PRACTICE_TABS", "PracticeView"]
