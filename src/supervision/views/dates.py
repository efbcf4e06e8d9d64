"""One date range for a dashboard: From and To, presets, and one Apply button.

Each date field used to recompute the page on its own (From, then To: two full
recomputations, the first over a range nobody asked for).  Here the fields and the presets
only set the range; :attr:`DateRange.apply` recomputes once.  The presets are anchored at
the export's latest session, never at today's date (an export is read weeks after it was
taken, and the demo's dates are synthetic): "Last 4 weeks" is the 28 days up to it.

The two fields show and take dates as ``YYYY-MM-DD`` (:class:`DateField`), the form of every
message, the pack and the export; a browser's own date input would show the reader's locale
instead (09/01/2024 beside "2024-09-01" in the text).  A date that is not in that form, or not
on the calendar, is said so under its field, and Apply then recomputes nothing.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from typing import Any

import ipywidgets as widgets
import pandas as pd
import traitlets

from supervision import periods
from supervision.views.common import esc

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


ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def parse_iso_date(text: str) -> dt.date | None:
    """``"2024-09-01"`` as a date; ``""`` as None (an open end); anything else a ValueError
    whose message says what to write."""
    text = text.strip()
    if not text:
        return None
    if not ISO_DATE.fullmatch(text):
        raise ValueError(f"“{text}” is not a date in the form YYYY-MM-DD, e.g. 2024-09-01")
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{text} is not a day on the calendar") from None


class DateField(widgets.VBox):
    """A date typed as ``YYYY-MM-DD``: ``value`` is a :class:`datetime.date` (or None).

    Setting ``value`` shows it in ISO form; typed text sets ``value`` when the field is left
    or Enter is pressed, if it is a date, else ``error`` holds (and the field shows) what is
    wrong and ``value`` keeps the last good date.
    """

    value = traitlets.Any(None, allow_none=True)
    error = traitlets.Unicode("")

    def __init__(self, value: dt.date | None, description: str, width: str = "210px") -> None:
        self.text = widgets.Text(
            value="", description=description, placeholder="YYYY-MM-DD",
            continuous_update=False, layout={"width": width},
            tooltip=f"{description}: a date as YYYY-MM-DD, e.g. 2024-09-01",
        )
        self.text.add_class("sv-date-input")
        self.message = widgets.HTML(layout={"display": "none", "max_width": width})
        self.message.add_class("sv-date-error")
        super().__init__([self.text, self.message])  # as wide as its field, never clipping it
        self.add_class("sv-date")
        self._syncing = False
        self.text.observe(self._on_text, names="value")
        self.observe(self._on_value, names="value")
        self.value = value
        self._show(value)

    def _show(self, value: dt.date | None) -> None:
        self._syncing = True
        try:
            self.text.value = value.isoformat() if value is not None else ""
        finally:
            self._syncing = False
        self._set_error("")

    def _on_value(self, change: dict[str, Any]) -> None:
        self._show(change["new"])

    def _on_text(self, change: dict[str, Any]) -> None:
        if self._syncing:
            return
        try:
            new = parse_iso_date(change["new"])
        except ValueError as exc:
            self._set_error(str(exc))
            return
        self._set_error("")
        if new != self.value:
            self.value = new  # also rewrites the text in its canonical form
        else:
            self._show(new)

    def _set_error(self, text: str) -> None:
        self.error = text
        self.message.value = (f"<span class='sv-concern' role='alert'>{esc(text)}</span>"
                              if text else "")
        self.message.layout.display = None if text else "none"


class DateRange:
    """From, To, a preset and Apply: ``on_apply`` runs once per Apply click.

    ``since`` and ``until`` are the two date fields (:class:`DateField`: ``value`` a
    :class:`datetime.date`, shown and typed as ``YYYY-MM-DD``);
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
        self.since = DateField(first, "From")
        self.until = DateField(last, "To")
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
        self.apply.on_click(lambda _: self._apply(on_apply))
        self.root = widgets.HBox(
            [self.preset, self.since, self.until, self.apply, self.shown],
            layout={"flex_flow": "row wrap", "align_items": "center"},
        )
        self.root.add_class("sv-dates")
        self.mark_applied()

    def _apply(self, on_apply: Callable[..., Any]) -> None:
        """Recompute once, unless a field holds text that is not a date (then say so)."""
        wrong = [f"{w.text.description}: {w.error}" for w in (self.since, self.until)
                 if w.error]
        if wrong:
            self.shown.value = (
                f"<span class='sv-concern'>Not applied. {esc('; '.join(wrong))}.</span>")
            return
        on_apply()

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


__all__ = ["PRESETS", "DateField", "DateRange", "parse_iso_date", "period_text", "preset_range"]
