"""One date range for a dashboard: From and To, presets, and one Apply button.

Each date field used to recompute the page on its own (From, then To: two full
recomputations, the first over a range nobody asked for).  Here the fields and the presets
only set the range; :attr:`DateRange.apply` recomputes once.  The presets are anchored at
the export's latest session, never at today's date (an export is read weeks after it was
taken, and the demo's dates are synthetic): "Last 4 weeks" is the 28 days up to it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import ipywidgets as widgets
import pandas as pd

from supervision import periods

#: Preset key -> its label in the dropdown, in page order.
PRESETS: dict[str, str] = {
    "all": "All dates",
    "last_4_weeks": "Last 4 weeks",
    "this_quarter": "This quarter",
    "last_quarter": "Last quarter",
    "since": "Since a date",
    "custom": "Chosen dates",
}


def period_text(since: dt.date | None, until: dt.date | None) -> str:
    """``"2024-04-01 to 2024-06-30"`` (ISO dates, as every message); open ends said so."""
    if since is None and until is None:
        return "all dates"
    return f"{since.isoformat() if since else 'the start'} to " + (
        until.isoformat() if until else "the latest session"
    )


def preset_range(
    key: str, first: dt.date, last: dt.date, since: dt.date | None = None
) -> tuple[dt.date, dt.date]:
    """The (From, To) of preset ``key`` for an export whose sessions run ``first``..``last``.

    ``last`` anchors every preset ("this quarter" is the quarter of the latest session, up
    to it); ``since`` is the From that "Since a date" keeps.  Ranges never start before
    ``first``.
    """
    if key == "all":
        return first, last
    if key == "last_4_weeks":
        return max(first, last - dt.timedelta(days=27)), last
    quarter = str(pd.Period(last, "Q"))
    if key == "this_quarter":
        return max(first, periods.quarter_bounds(quarter)[0]), last
    if key == "last_quarter":
        lo, hi = periods.quarter_bounds(periods.previous_quarter(quarter))
        return max(first, lo), min(hi, last)
    if key == "since":
        return (since or first), last
    raise ValueError(f"unknown date preset {key!r}; known: {', '.join(PRESETS)}")


class DateRange:
    """From, To, a preset and Apply: ``on_apply`` runs once per Apply click.

    ``since`` and ``until`` are the two date fields (``value`` a :class:`datetime.date`);
    ``shown`` says in ISO dates which range the figures below cover.
    """

    def __init__(
        self, first: dt.date | None, last: dt.date | None, on_apply: Callable[..., Any]
    ) -> None:
        self.first, self.last = first, last
        self.preset = widgets.Dropdown(
            options=[(label, key) for key, label in PRESETS.items()], value="all",
            description="Dates", layout={"width": "220px"},
        )
        self.since = widgets.DatePicker(value=first, description="From",
                                        layout={"width": "210px"})
        self.until = widgets.DatePicker(value=last, description="To", layout={"width": "210px"})
        self.apply = widgets.Button(description="Apply", button_style="primary",
                                    tooltip="Recompute the figures for these dates",
                                    layout={"width": "90px"})
        self.apply.add_class("sv-apply")
        self.shown = widgets.HTML()
        self.shown.add_class("sv-range-shown")
        self._setting = False
        self.preset.observe(self._on_preset, names="value")
        for w in (self.since, self.until):
            w.observe(self._on_field, names="value")
        self.apply.on_click(lambda _: on_apply())
        self.root = widgets.HBox(
            [self.preset, self.since, self.until, self.apply, self.shown],
            layout={"flex_flow": "row wrap", "align_items": "center"},
        )
        self.root.add_class("sv-dates")
        self.mark_applied()

    def _on_preset(self, change: dict[str, Any]) -> None:
        key = change["new"]
        if key == "custom" or self.first is None or self.last is None:
            return
        lo, hi = preset_range(key, self.first, self.last, self.since.value)
        self._setting = True
        try:
            self.since.value, self.until.value = lo, hi
        finally:
            self._setting = False

    def _on_field(self, _: dict[str, Any]) -> None:
        """A date typed by hand makes the preset "Chosen dates" ("Since a date" keeps its
        own From); nothing is recomputed until Apply."""
        if self._setting or self.preset.value == "since":
            return
        self.preset.value = "custom"

    def mark_applied(self) -> None:
        """Say which dates the figures now cover (called after each recomputation)."""
        self.shown.value = (
            f"<span class='sv-note'>Showing {period_text(self.since.value, self.until.value)}"
            "</span>"
        )


__all__ = ["PRESETS", "DateRange", "period_text", "preset_range"]
