"""The three dashboard apps: supervisor, therapist (server-scoped) and practice review.

A notebook only calls ``supervisor_app()`` / ``therapist_app()`` / ``practice_app()``
(which read the server-fixed environment through :mod:`supervision.opening`), displays
the app and calls ``app.refresh()``.  A filter change recomputes the headline and the
visible tab only; other tabs are rebuilt when opened.  The ``*App`` classes take a
caseload directly, for tests.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from typing import Any

import ipywidgets as widgets

from supervision import periods, scopes
from supervision.caseload import Caseload
from supervision.comparison import comparison_note, gate, practice_label
from supervision.errors import SupervisionError
from supervision.timeline import Bands
from supervision.views import cases as vc
from supervision.views.common import css, error_panel, esc, loading_indicator
from supervision.views.dates import DateRange, period_text
from supervision.views.practice_tabs import PRACTICE_TABS, PracticeView
from supervision.views.tabs import CASELOAD_TABS, View

log = logging.getLogger("supervision.views")

VERDICT_NOTE = (
    "These figures are prompts for reflection in supervision, never verdicts on a therapist. "
    "Every rate shows its n and a 95% interval: small numbers move a lot by chance."
)

#: The header note of a supervisor dashboard limited to some therapists.
LIMITED_NOTE = (
    "Practice figures come from the last quarter closed by the end date (named in each "
    "legend), not from these dates, and show only what at least {k} episodes of at least "
    "{k} therapists you do not supervise stand behind: so they never show one of their "
    "clients, however the dates are set."
)

Tab = tuple[str, Callable[[Any], list[widgets.Widget]]]


def controls_box(controls: list[widgets.Widget]) -> widgets.HBox:
    """The controls in a row that wraps: on a phone (390 px) each control drops to the next
    line instead of running past the viewport's right edge, where the page cannot scroll."""
    box = widgets.HBox(controls, layout={"flex_flow": "row wrap", "align_items": "center"})
    box.add_class("sv-controls")
    return box


class TabbedApp:
    """Header, controls, loading line, headline and lazily built tabs."""

    def __init__(
        self, title: str, note: str, controls: list[widgets.Widget], tabs: tuple[Tab, ...]
    ) -> None:
        self.tab_specs = tabs
        self.loading = loading_indicator()
        self.loading.layout.display = "none"
        self.headline = widgets.VBox()
        self.tabs = widgets.Tab(children=[widgets.VBox() for _ in tabs])
        for box in self.tabs.children:
            box.add_class("sv-tab")
        for i, (name, _) in enumerate(tabs):
            self.tabs.set_title(i, name)
        self.tabs.observe(self._on_tab, names="selected_index")
        header = widgets.HTML(
            f"<h1>{title}</h1><div class='sv-note'>{note}</div>"
            f"<div class='sv-note'>{esc(VERDICT_NOTE)}</div>"
        )
        self.root = widgets.VBox(
            [css(), header, controls_box(controls), self.loading, self.headline, self.tabs]
        )
        self.root.add_class("sv-app")
        self.stale: set[int] = set(range(len(tabs)))
        self.figures: dict[str, Any] = {}
        self._view: Any = None

    def mark_demo(self, label: str) -> None:
        """Say at the top of the page that the data is the demo's (synthetic)."""
        banner = widgets.HTML(f'<div class="sv-demo" role="note">{esc(label)}: a synthetic '
                              "export, no real practice, client or therapist.</div>")
        banner.add_class("sv-demo-banner")
        self.root.children = (self.root.children[0], banner, *self.root.children[1:])

    # -------------------------------------------------------------- to override
    def make_view(self) -> Any:
        """The scoped view for the current controls (raise SupervisionError if invalid)."""
        raise NotImplementedError

    def make_headline(self, view: Any) -> widgets.Widget:
        """The headline cards for ``view``."""
        raise NotImplementedError

    # -------------------------------------------------------------- machinery
    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.root._repr_mimebundle_(**kwargs)

    def _busy(self, work: Callable[[], None]) -> None:
        self.loading.layout.display = None
        try:
            work()
        finally:
            self.loading.layout.display = "none"

    def refresh(self, *_: Any) -> None:
        """Recompute the headline and the visible tab; mark the other tabs stale."""
        self._busy(self._refresh)

    def _refresh(self) -> None:
        self.stale = set(range(len(self.tab_specs)))
        dates = getattr(self, "dates", None)
        if dates is not None:
            dates.mark_applied()
        try:
            self._view = self.make_view()
        except SupervisionError as exc:
            self._view = None
            self.headline.children = [error_panel("This selection", str(exc))]
            for box in self.tabs.children:
                box.children = []
            return
        if hasattr(self._view, "open_case"):  # a click in the open caseload opens a timeline
            self._view.open_case = self.open_timeline
        self.headline.children = [
            self._guard("The headline figures", lambda: self.make_headline(self._view))
        ]
        self._build(self.tabs.selected_index or 0)

    def _on_tab(self, change: dict[str, Any]) -> None:
        i = change["new"]
        if i is not None and i in self.stale and self._view is not None:
            self._busy(lambda: self._build(i))

    def _build(self, i: int) -> None:
        name, builder = self.tab_specs[i]
        box = self.tabs.children[i]
        try:
            box.children = builder(self._view)
        except SupervisionError as exc:
            box.children = [error_panel(name, str(exc))]
        except Exception as exc:  # the page must never be blank
            log.exception("tab %s failed", name)
            box.children = [error_panel(name, f"unexpected internal error ({type(exc).__name__})")]
        self.stale.discard(i)
        self.figures.update(self._view.figures)

    def open_timeline(self, episode_id: object) -> None:
        """Show ``episode_id``'s case timeline in the *Cases to discuss* tab.

        Looked up in this app's own caseload only: another therapist's id, or any id not in
        view, shows the "not in this caseload" message (:mod:`supervision.timeline`).
        """
        names = [name for name, _ in self.tab_specs]
        if "Cases to discuss" not in names:
            raise SupervisionError("this dashboard has no cases to discuss, so no case timeline")
        i = names.index("Cases to discuss")
        self.tabs.selected_index = i
        if i in self.stale and self._view is not None:
            self._busy(lambda: self._build(i))
        picker = getattr(self._view, "timeline", None)
        if picker is not None:
            self._busy(lambda: picker.open(episode_id))
            self.figures["case_timeline"] = picker.figure
            picker.scroll_into_view()

    @staticmethod
    def _guard(what: str, build: Callable[[], widgets.Widget]) -> widgets.Widget:
        try:
            return build()
        except SupervisionError as exc:
            return error_panel(what, str(exc))
        except Exception as exc:
            log.exception("%s failed", what)
            return error_panel(what, f"unexpected internal error ({type(exc).__name__})")


def _date_range(app: TabbedApp, cl: Caseload) -> DateRange:
    """The From/To pair with presets; Apply recomputes once (:mod:`supervision.views.dates`)."""
    lo, hi = periods.date_span(cl)
    return DateRange(lo, hi, app.refresh)


def reference_label(practice: dict[str, Any]) -> str:
    """The name of the period the practice figures beside a therapist's own cover.

    The therapist's server holds only the practice's aggregates over the export's whole span
    (or the window they were made for), never its rows, so it cannot recompute the practice
    for the therapist's chosen dates: every card names the practice's period instead
    ("Practice, all dates (2023Q1–2024Q4)"), so a quarter is never read against two years
    unawares.
    """
    window = practice.get("window") or [None, None]
    if any(window):
        lo, hi = (dt.date.fromisoformat(str(w)) if w else None for w in window[:2])
        return f"Practice, {period_text(lo, hi)}"
    quarters = [str(r.get("quarter")) for r in (practice.get("alliance_by_quarter") or [])]
    span = f" ({min(quarters)}–{max(quarters)})" if quarters else ""
    return f"Practice, all dates{span}"


def _window(since: dt.date | None, until: dt.date | None) -> None:
    if since is not None and until is not None and since > until:
        raise SupervisionError(
            f"the start date {since} is after the end date {until}: pick a start on or before "
            "the end"
        )


class SupervisorApp(TabbedApp):
    """One therapist's caseload, picked from a list, with a date range, beside the practice."""

    def __init__(
        self, caseload: Caseload, *, min_cell: int = 5, therapists: tuple[str, ...] | None = None
    ) -> None:
        """``therapists``: the only ones the picker offers (a hub supervisor's); None: all."""
        self.caseload, self.min_cell = caseload, min_cell
        ids = caseload.therapist_ids()
        if therapists is not None:
            ids = [t for t in ids if t in set(therapists)]
        self.allowed = frozenset(ids)
        #: The therapists this dashboard is limited to (None: every one, the lead's).
        self.limited = None if therapists is None else frozenset(therapists)
        self.therapist = widgets.Dropdown(
            options=ids, value=ids[0] if ids else None, description="Therapist"
        )
        self.dates = _date_range(self, caseload)
        self.since, self.until = self.dates.since, self.dates.until
        self.show_clients = widgets.ToggleButton(
            value=False,
            description="Show each client's alliance line",
            icon="users",
            layout={"width": "260px"},
        )
        super().__init__(
            "Supervision: caseload review",
            "Pick a therapist and a date range, then Apply. "
            + (LIMITED_NOTE.format(k=min_cell) if self.limited is not None
               else "Practice figures cover the same dates."),
            [self.therapist, self.dates.root, self.show_clients],
            CASELOAD_TABS,
        )
        self.therapist.observe(self.refresh, names="value")
        self.show_clients.observe(self._toggle_clients, names="value")

    @property
    def scoped(self) -> bool:
        """Whether this dashboard is limited to some therapists (a hub supervisor's)."""
        return self.limited is not None

    def practice(self, since: dt.date | None, until: dt.date | None) -> dict[str, Any]:
        """Practice aggregates over the window (once per window: :func:`scopes.practice_for`);
        for a dashboard limited to some therapists, what the privacy gate lets through of the
        others (:func:`supervision.comparison.gate`: the last closed quarter by ``until``)."""
        if self.limited is not None:
            return gate(self.caseload, entitled=self.limited, min_cell=self.min_cell,
                        since=since, until=until)
        return scopes.practice_for(self.caseload, since, until)

    def make_view(self) -> View:
        if self.therapist.value is None:
            raise SupervisionError("this export has no therapists")
        if self.therapist.value not in self.allowed:  # checked here, whatever the widget says
            raise SupervisionError("that therapist is not among those this dashboard shows")
        since, until = self.since.value, self.until.value
        _window(since, until)
        own = self.caseload.scoped(therapist_id=self.therapist.value, since=since, until=until)
        own = own.materialised()
        practice = self.practice(since, until)
        return View(
            own=own,
            practice=practice,
            own_label=f"Therapist {esc(self.therapist.value)}",
            # a lead's practice is recomputed over the same dates; a limited supervisor's
            # comes through the gate, from the last closed quarter, and is named so
            practice_label=esc(practice_label(practice, "Practice, same dates")),
            period=period_text(since, until),
            min_cell=self.min_cell,
            show_clients=self.show_clients.value,
            entitled=self.limited,
        )

    def make_headline(self, view: View) -> widgets.Widget:
        return _caseload_headline(view)

    def _toggle_clients(self, change: dict[str, Any]) -> None:
        if self._view is not None:
            self._view.show_clients = bool(change["new"])
            self.stale.add(0)
            if (self.tabs.selected_index or 0) == 0:
                self._busy(lambda: self._build(0))


def _caseload_headline(view: View) -> widgets.Widget:
    own = scopes.scope_headline(
        view.own,
        alliance_key=view.practice.get("alliance_key"),
        outcome_key=view.practice.get("outcome_key"),
    )
    return vc.headline_cards(
        own,
        view.practice.get("headline"),
        own_label=view.own_label,
        practice_label=view.practice_label,
        period=view.period,
    )


class TherapistApp(TabbedApp):
    """The therapist's own caseload (fixed by the server) beside the anonymous practice."""

    def __init__(self, caseload: Caseload, practice: dict[str, Any], *, min_cell: int = 5) -> None:
        if caseload.therapist_scope is None:
            raise SupervisionError("the therapist view needs a caseload scoped to one therapist")
        self.caseload, self.practice, self.min_cell = caseload, practice, min_cell
        self.dates = _date_range(self, caseload)
        self.since, self.until = self.dates.since, self.dates.until
        super().__init__(
            "Your caseload: reflection",
            f"Therapist {esc(caseload.therapist_scope)}. Nobody else's caseload is loaded in "
            f"this view. {esc(comparison_note(practice))}",
            [self.dates.root],
            CASELOAD_TABS,
        )

    def make_view(self) -> View:
        since, until = self.since.value, self.until.value
        _window(since, until)
        own = self.caseload.scoped(since=since, until=until).materialised()
        return View(
            own=own,
            practice=self.practice,
            own_label="Your caseload",
            practice_label=esc(practice_label(self.practice, reference_label(self.practice))),
            period=period_text(since, until),
            therapist_view=True,
            min_cell=self.min_cell,
            show_clients=True,
            # only the bands the server handed over, never any from the kernel's own rows
            timeline_bands=Bands.HANDED_OVER,
        )

    def make_headline(self, view: View) -> widgets.Widget:
        return _caseload_headline(view)


class PracticeApp(TabbedApp):
    """The quarterly practice review: a quarter and a team, against last quarter and benchmarks."""

    def __init__(self, caseload: Caseload, *, min_cell: int = 5) -> None:
        self.caseload, self.min_cell = caseload, min_cell
        qs = periods.quarters(caseload)
        self.quarter = widgets.Dropdown(
            options=qs[::-1], value=qs[-1] if qs else None, description="Quarter"
        )
        teams = sorted(caseload.therapists.select("team").distinct().execute()["team"].dropna())
        self.team = widgets.Dropdown(
            options=[("All teams", "")] + [(t, t) for t in teams if t], value="", description="Team"
        )
        super().__init__(
            "Practice review",
            "Episodes active in the quarter, read as of its last day. Therapists are compared "
            "on funnel plots, never ranked. Breakdowns hide groups of fewer than "
            f"{min_cell} episodes.",
            [self.quarter, self.team],
            PRACTICE_TABS,
        )
        for w in (self.quarter, self.team):
            w.observe(self.refresh, names="value")

    def make_view(self) -> PracticeView:
        if self.quarter.value is None:
            raise SupervisionError("this export has no sessions, so there is no quarter to review")
        return PracticeView.build(
            self.caseload, self.quarter.value, self.team.value or None, min_cell=self.min_cell
        )

    def make_headline(self, view: PracticeView) -> widgets.Widget:
        return vc.headline_cards(
            view.current_headline,
            view.previous_headline,
            own_label=view.quarter,
            practice_label=f"{view.previous} (previous)",  # both labels name their period
        )


class Unavailable:
    """What a dashboard shows when it cannot be built: a readable message, never a traceback."""

    def __init__(self, what: str, message: str) -> None:
        self.root = widgets.VBox([css(), error_panel(what, message)])
        self.root.add_class("sv-app")

    def refresh(self) -> None:
        """Nothing to recompute."""

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.root._repr_mimebundle_(**kwargs)


def _build(what: str, make: Callable[[], TabbedApp]) -> TabbedApp | Unavailable:
    from supervision import opening
    from supervision.demo import DEMO_LABEL

    try:
        app = make()
        if opening.settings().demo:
            app.mark_demo(DEMO_LABEL)
        return app
    except SupervisionError as exc:
        return Unavailable(what, str(exc))
    except Exception as exc:  # Voilà hides tracebacks: say something readable
        log.exception("%s failed", what)
        return Unavailable(what, f"unexpected internal error ({type(exc).__name__})")


def supervisor_app() -> SupervisorApp | Unavailable:
    """The supervisor dashboard over the export the server was started with."""
    from supervision import opening

    return _build(
        "This dashboard",
        lambda: SupervisorApp(opening.caseload(), min_cell=opening.min_cell(),
                              therapists=opening.allowed_therapists()),
    )


def therapist_app() -> TherapistApp | Unavailable:
    """The therapist dashboard, fixed by the server to one therapist (``--therapist``)."""
    from supervision import opening

    def make() -> TherapistApp:
        cl, practice = opening.therapist_context()
        return TherapistApp(cl, practice, min_cell=opening.min_cell())

    return _build("This dashboard", make)


def practice_app() -> PracticeApp | Unavailable:
    """The practice-review dashboard over the export the server was started with."""
    from supervision import opening

    return _build(
        "This dashboard", lambda: PracticeApp(opening.caseload(), min_cell=opening.min_cell())
    )


__all__ = [
    "PracticeApp",
    "SupervisorApp",
    "TabbedApp",
    "TherapistApp",
    "Unavailable",
    "practice_app",
    "supervisor_app",
    "therapist_app",
]
