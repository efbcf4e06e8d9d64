"""The tabs of the supervisor and therapist dashboards: each returns a list of panels.

A tab builder takes a :class:`View` (the scoped caseload, the practice aggregates and the
wording) and returns widgets; every panel is built through :func:`~.common.guarded`, so one
failing panel shows a message and the others still draw.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import ipywidgets as widgets
import plotly.graph_objects as go

from supervision import figures, periods
from supervision.caseload import Caseload
from supervision.clinical import alliance, multilevel, neurotype, outcomes, ruptures, termination
from supervision.measures import PAIRED
from supervision.scopes import frame, measure_name, rupture_row, termination_row
from supervision.timeline import Bands, BandSource, case_timeline, episode_choices
from supervision.views import adjusted as vadj
from supervision.views import alliance as va
from supervision.views import caseload_table as vct
from supervision.views import cases as vc
from supervision.views import neurotype as vn
from supervision.views import ruptures as vr
from supervision.views import termination as vt
from supervision.views.common import empty_state, guarded, html_panel, recorded_panel
from supervision.views.timeline import TimelinePicker


@dataclass
class View:
    """What one dashboard page is looking at.

    Attributes
    ----------
    own
        The caseload in view, already scoped (one therapist and a date window).
    practice
        :func:`~supervision.scopes.practice_aggregates` of the comparison (anonymous).
    own_label, practice_label
        Wording for legends ("Therapist T01" / "Your caseload", "Practice"); HTML-safe
        (an id in it is escaped by the app that builds the view).
    therapist_view
        True on the therapist's own dashboard (wording addressed to them).
    min_cell
        Small-cell threshold for breakdowns (domain.md §8).
    show_clients
        Draw per-client alliance lines (one therapist only; capped).
    figures
        Filled by the builders: the last figure of each panel, by name (tests read it).
    timeline_bands
        Where the case timeline's expected-response bands come from
        (:func:`supervision.timeline.case_timeline`'s ``bands``): the practice's history on a
        full server, only the bands the server handed over on a therapist's
        (:class:`~supervision.timeline.Bands`; the app decides).
    timeline
        The case timeline picker of the cases tab, once built.
    open_case
        What a click on an episode of the open caseload does: the app's ``open_timeline``
        (set by the app; None: nothing).
    entitled
        The therapists a limited viewer may see (a hub supervisor's); None: every one.
        Whatever rests on other therapists' rows then passes the gate
        (:mod:`supervision.comparison`).
    period
        The dates ``own`` covers, in words ("2024-04-01 to 2024-06-30"): every headline card
        names it beside the practice's period (``practice_label``).
    """

    own: Caseload
    practice: dict[str, Any]
    own_label: str = "This caseload"
    practice_label: str = "Practice"
    therapist_view: bool = False
    min_cell: int = 5
    show_clients: bool = False
    figures: dict[str, go.Figure | None] = field(default_factory=dict)
    timeline_bands: BandSource = Bands.PRACTICE_HISTORY
    timeline: TimelinePicker | None = None
    open_case: Callable[[str], None] | None = None
    period: str = ""
    entitled: frozenset[str] | None = None

    def panel(self, name: str, what: str, build: Callable[[], Any], empty: str) -> widgets.Widget:
        """Build one panel under ``name``, remembering its figure (``recorded_panel``)."""
        return recorded_panel(self.figures, name, what, build, empty)


def alliance_tab(v: View) -> list[widgets.Widget]:
    """Mean by session number (+ practice, + clients), by quarter, WAI-SR subscales."""
    key = v.practice.get("alliance_key")
    if key is None or key not in v.own.registry:
        return [
            html_panel(
                '<div class="sv-empty">No alliance ratings in this export.</div>', "sv-empty-panel"
            )
        ]
    m = v.own.registry[key]
    empty = (f"No session number or quarter has {v.min_cell} or more {m.name} ratings in this "
             "range (a wider date range would fill it).")

    def trend() -> go.Figure | None:
        series = alliance.episode_series(v.own, key) if v.show_clients else None
        return va.alliance_trend_figure(
            alliance.alliance_by_session(v.own, key),
            m,
            practice=frame(v.practice, "alliance_by_session"),
            series=series,
            own_label=v.own_label,
            practice_label=v.practice_label,
            min_cell=v.min_cell,
        )

    def quarter() -> go.Figure | None:
        return va.alliance_quarter_figure(
            alliance.alliance_by_quarter(v.own, key),
            m,
            practice=frame(v.practice, "alliance_by_quarter"),
            own_label=v.own_label,
            practice_label=v.practice_label,
            min_cell=v.min_cell,
        )

    out = [
        v.panel("alliance_trend", "The alliance trend", trend, empty),
        v.panel("alliance_quarter", "Alliance by quarter", quarter, empty),
    ]
    for k in v.own.measures_present("alliance"):
        if v.own.registry[k].part_columns:
            out.append(guarded("The alliance items", lambda k=k: va.item_drivers_panel(
                alliance.item_drivers(v.own, k, min_cell=v.min_cell),
                frame(v.practice, f"alliance_items:{k}"), own_label=v.own_label,
                practice_label=v.practice_label)))
    if "wai_sr" in v.own.registry and "wai_sr" in v.own.measures_present("alliance"):
        out.append(
            v.panel(
                "wai_subscales",
                "WAI-SR subscales",
                lambda: va.subscale_figure(alliance.subscales_by_session(v.own, "wai_sr")),
                "No WAI-SR goal/task/bond subscales in this range.",
            )
        )
    return out


def ruptures_tab(v: View) -> list[widgets.Widget]:
    """Timeline per episode, repair rate against the practice, sessions to repair."""

    def events() -> Any:
        return ruptures.rupture_events(v.own).execute()

    ev = events()
    own = rupture_row(v.own)
    return [
        v.panel(
            "rupture_timeline",
            "The rupture timeline",
            lambda: vr.rupture_timeline_figure(ev),
            "No ruptures in this range.",
        ),
        v.panel(
            "repair_rate",
            "The repair rate",
            lambda: vr.repair_rate_figure(own, v.practice.get("ruptures"), own_label=v.own_label),
            "No ruptures in this range, so no repair rate.",
        ),
        v.panel(
            "sessions_to_repair",
            "Sessions to repair",
            lambda: vr.sessions_to_repair_figure(ev),
            "No repaired ruptures in this range.",
        ),
    ]


def neurotype_tab(v: View) -> list[widgets.Widget]:
    """The caution, rates and early alliance by group, the tag × tag heatmap."""
    caution = html_panel(
        f'<div class="sv-caution">{vn.CAUTION.format(min_cell=v.min_cell)}</div>',
        "sv-caution-panel",
    )
    groups = neurotype.group_summary(v.own, min_cell=v.min_cell)
    empty = vn.panel_empties(groups, min_cell=v.min_cell, where="this caseload and date range")
    if vn.nothing_shown(groups):
        return [caution, empty_state(empty["rates"])]
    grid = lambda: neurotype.tag_grid(v.own, min_cell=v.min_cell)  # noqa: E731
    return [caution, *vn.group_panels(v.panel, groups, grid, min_cell=v.min_cell, empty=empty)]


def termination_tab(v: View) -> list[widgets.Widget]:
    """Mix of endings, drop-out with the benchmark, outcome and dose by ending, retention."""
    own = termination_row(v.own)
    prac = v.practice.get("termination")
    o_key = v.practice.get("outcome_key")
    both = {v.own_label: own, v.practice_label: prac}
    empties = {"termination_mix": "No episodes in this range.",
               "dropout": "No ended episodes in this range, so no drop-out rate.",
               "outcome_by_ending": "No episodes with two or more outcome scores in this range.",
               "dose": "No episodes in this range."}
    return [
        *ending_panels(v.panel, v.own, both, o_key, min_cell=v.min_cell, empties=empties),
        v.panel(
            "retention",
            "Retention",
            lambda: vt.retention_figure(
                {
                    v.own_label: termination.retention(v.own),
                    v.practice_label: frame(v.practice, "retention"),
                }
            ),
            "No episodes in this range.",
        ),
        *([] if v.therapist_view else [v.panel(
            "adjusted_outcome",
            "The intake-adjusted outcome",
            lambda: vadj.own_in_practice_figure(
                v.own, o_key, measure_name=measure_name(v.own, multilevel.modelled_measure(
                    o_key or "")), min_cell=v.min_cell, entitled=v.entitled),
            f"No intake-adjusted outcome: this therapist has fewer than {v.min_cell} episodes "
            "with paired outcome scores in this range, or the practice too few therapists.",
        )]),
    ]


def ending_panels(panel: Callable[..., widgets.Widget], cl: Caseload,
                  both: dict[str, Any], outcome_key: str | None, *, min_cell: int,
                  empties: dict[str, str]) -> list[widgets.Widget]:
    """The panels the caseload's and the practice's termination tabs share, made by the view's
    ``panel``: the mix of endings and the drop-out rate of ``both`` (label -> termination
    row), outcome and sessions attended by ending of ``cl``; ``empties``: each panel's words
    when it has nothing to show."""
    single = "phq9" if outcome_key == PAIRED else outcome_key
    return [
        panel("termination_mix", "The mix of endings", lambda: vt.mix_figure(both),
              empties["termination_mix"]),
        panel("dropout", "The drop-out rate", lambda: vt.dropout_figure(both),
              empties["dropout"]),
        panel("outcome_by_ending", "Outcome by ending", lambda: None if single is None else
              vt.outcome_by_ending_figure(
                  outcomes.outcomes_by_termination(cl, single, min_cell=min_cell),
                  measure_name(cl, single), min_cell=min_cell),
              empties["outcome_by_ending"]),
        panel("dose", "Sessions attended by ending", lambda: vt.dose_figure(
            termination.dose_by_termination(cl, min_cell=min_cell), min_cell=min_cell),
              empties["dose"]),
    ]


def cases_tab(v: View) -> list[widgets.Widget]:
    """Cases to discuss (domain.md §7), each case's timeline (§12), reflection questions."""
    found: dict[str, Any] = {}

    def table() -> widgets.Widget:
        found["cases"] = figures.cases_to_discuss(v.own)
        return vc.cases_panel(found["cases"], therapist_view=v.therapist_view)

    def picker() -> widgets.Widget:
        listed = found.get("cases")
        ids = [] if listed is None else [str(x) for x in listed["episode_id"]]
        v.timeline = TimelinePicker(
            episode_choices(v.own, ids),
            lambda eid: case_timeline(v.own, eid, bands=v.timeline_bands, listed=listed),
            therapist_view=v.therapist_view,
        )
        return v.timeline.root

    return [
        guarded("Cases to discuss", table),
        guarded("The case timeline", picker),
        guarded(
            "Reflection questions",
            lambda: vc.reflection_panel(found.get("cases"), therapist_view=v.therapist_view),
        ),
    ]


def caseload_tab(v: View) -> list[widgets.Widget]:
    """Every open episode of the scope, one row each, flagged first (issue 25)."""

    def table() -> widgets.Widget:
        sc = v.own.scope
        as_of = (sc.until if sc is not None and sc.until is not None
                 else periods.date_span(v.own)[1])
        if as_of is None:
            return empty_state("No sessions in this range.")
        found = figures.open_caseload(v.own, as_of=as_of,
                                      alliance_key=v.practice.get("alliance_key"))
        return vct.caseload_panel(found, lambda eid: v.open_case(eid) if v.open_case else None,
                                  registry=v.own.registry)

    return [guarded("The open caseload", table)]


#: Tab title -> builder, in page order.
CASELOAD_TABS: tuple[tuple[str, Callable[[View], list[widgets.Widget]]], ...] = (
    ("Alliance", alliance_tab),
    ("Rupture & repair", ruptures_tab),
    ("Neurotype match", neurotype_tab),
    ("Termination", termination_tab),
    ("Cases to discuss", cases_tab),
    ("Open caseload", caseload_tab),
)

__all__ = [
    "CASELOAD_TABS",
    "View",
    "alliance_tab",
    "caseload_tab",
    "cases_tab",
    "neurotype_tab",
    "ruptures_tab",
    "termination_tab",
]
