"""Shared pieces of every dashboard: escaping, rate labels, panels, loading, errors.

Voilà hides tracebacks, so a panel that fails must say so in the page (STYLE.md,
"Notebooks"): :func:`guarded` turns any failure of a panel builder into a readable
message.  Every string that came from an export goes through :func:`esc` before it
reaches HTML, a hover label or a tick label (plotly renders a subset of HTML there).
"""

from __future__ import annotations

import html
import json
import logging
import math
from collections.abc import Callable, Iterable
from typing import Any

import ipywidgets as widgets
import plotly.graph_objects as go
import plotly.io as pio

from supervision.errors import SupervisionError

log = logging.getLogger("supervision.views")

PLOTLY_MIME = "application/vnd.plotly.v1+json"

#: The plotly config of every figure, on the dashboards and in the pack: nothing on a chart
#: leaves the machine (domain.md §8).  plotly.js 3 (bundled by plotly and by the
#: jupyterlab-plotly extension) shows a "Share chart…" button that posts the figure, hover
#: data and all, to ``plotlyServerURL`` (default Plotly Cloud) unless ``showSendToCloud``
#: is false, and a plotly logo linking to plotly.com unless ``displaylogo`` is false.  The
#: upload button is also removed by name (``sendChartToCloud`` in plotly.js 3,
#: ``sendDataToCloud`` in 2) and the server URL emptied, so a plotly.js that turned it back
#: on would have nowhere to send.  ``showLink`` and ``showEditInChartStudio`` no longer
#: exist in plotly.js 3 (plotly.py warns on them).  What stays on the modebar works
#: offline: zoom, pan, autoscale, reset and "download plot as a PNG".
PLOT_CONFIG: dict[str, Any] = {
    "displaylogo": False,
    "showSendToCloud": False,
    "plotlyServerURL": "",
    "modeBarButtonsToRemove": ["sendChartToCloud", "sendDataToCloud"],
    "responsive": True,
}

CSS = """
<style>
.sv-app { font-family: system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif;
  max-width: 1180px; }
.sv-app h1 { font-size: 1.5em; margin: 0.2em 0; }
.sv-note { color: #444; font-size: 0.92em; margin: 0.2em 0 0.6em 0; }
.sv-figure-panel .jp-OutputArea, .sv-figure-panel .jp-OutputArea-child,
.sv-figure-panel .jp-OutputArea-output { height: 100%; }
.sv-caution { border-left: 4px solid #E69F00; background: #fff8e6; padding: 0.5em 0.8em;
  margin: 0.4em 0; font-size: 0.95em; }
.sv-empty { border: 1px dashed #999; color: #444; padding: 1em; margin: 0.4em 0;
  background: #fafafa; }
.sv-error { border-left: 4px solid #D55E00; background: #fdeee6; padding: 0.6em 0.8em;
  margin: 0.4em 0; }
.sv-loading { color: #0072B2; font-weight: 600; padding: 0.3em 0; }
.sv-loading .sv-spinner { display: inline-block; width: 0.9em; height: 0.9em; margin-right: 0.4em;
  border: 2px solid #56B4E9; border-top-color: transparent; border-radius: 50%;
  animation: sv-spin 0.8s linear infinite; vertical-align: -0.1em; }
@keyframes sv-spin { to { transform: rotate(360deg); } }
.sv-cards { display: flex; flex-wrap: wrap; gap: 0.6em; margin: 0.4em 0; }
.sv-card { border: 1px solid #ddd; border-radius: 6px; padding: 0.5em 0.8em; min-width: 150px;
  flex: 1 1 150px; background: #fff; }
.sv-card div { line-height: 1.35; }
.sv-card .sv-label { color: #444; font-size: 0.85em; }
.sv-card .sv-value { font-size: 1.45em; font-weight: 600; color: #0072B2; }
.sv-card .sv-sub { color: #444; font-size: 0.82em; }
.sv-card .sv-practice { color: #555; font-size: 0.82em; border-top: 1px solid #eee;
  margin-top: 0.3em; padding-top: 0.2em; }
.sv-card .sv-caution { font-size: 0.8em; padding: 0.3em 0.5em; margin: 0.3em 0 0 0; }
.sv-sudden { margin: 0.4em 0; font-size: 0.92em; }
.sv-sudden .sv-sub { color: #555; }
.sv-table { border-collapse: collapse; font-size: 0.92em; }
.sv-table tr.sv-risk td { background: #fdeee6; font-weight: 600; }
.sv-table th, .sv-table td { border-bottom: 1px solid #ddd; padding: 0.3em 0.7em; text-align: left;
  vertical-align: top; }
.sv-cl-row, .sv-cl-header { align-items: flex-start; border-bottom: 1px solid #eee; }
.sv-cl-row.sv-risk { background: #fdeee6; }
.sv-cl-row.sv-cl-flagged { background: #fff8e6; }
.sv-cl-cell { display: inline-block; vertical-align: top; padding: 0.2em 0.4em;
  font-size: 0.9em; }
.sv-concern { color: #B24600; }
.sv-questions li { margin: 0.25em 0; }
.sv-demo { background: #fff3cd; border: 2px solid #E69F00; border-radius: 6px;
  padding: 0.3em 0.8em; margin: 0.3em 0; font-weight: 600; }
.sv-app .widget-tab > .p-TabBar .p-TabBar-tab, .sv-app .lm-TabBar-tab {
  min-width: 0; flex: 1 1 auto; white-space: normal; line-height: 1.2; height: auto; }
.sv-app .widget-tab > .p-TabBar, .sv-app .lm-TabBar { min-height: 0; height: auto; }
.sv-app .lm-TabBar-content, .sv-app .p-TabBar-content { flex-wrap: wrap; }
.sv-app .sv-table { display: block; overflow-x: auto; max-width: 100%; }
.sv-app .sv-controls .widget-inline-hbox, .sv-app .sv-controls .widget-button {
  max-width: 100%; }
@media (max-width: 600px) {
  .sv-app .sv-controls > .widget-dropdown, .sv-app .sv-dates > * { width: 100% !important; }
  .sv-app .sv-figure-panel { min-width: 0; }
}
</style>
"""


# ---------------------------------------------------------------------- text
def esc(value: object) -> str:
    """HTML-escape any value from an export (quotes too), for HTML widgets and hovers."""
    return html.escape("" if value is None else str(value), quote=True)


def is_missing(value: object) -> bool:
    """True for None and NaN (a rate whose denominator is 0, or a suppressed cell)."""
    if value is None:
        return True
    try:
        return math.isnan(float(value))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return False


def pct(value: object, digits: int = 0) -> str:
    """A 0–1 rate as a percentage (``"—"`` when missing)."""
    if is_missing(value):
        return "—"
    return f"{float(value) * 100:.{digits}f}%"  # type: ignore[arg-type]


def num(value: object, digits: int = 1) -> str:
    """A number rounded for display (``"—"`` when missing)."""
    if is_missing(value):
        return "—"
    return f"{float(value):.{digits}f}"  # type: ignore[arg-type]


def _interval_text(value: object, low: object, high: object, n: object, noun: str, *,
                   fmt: Callable[[object], str], none: str) -> str:
    n_txt = "—" if is_missing(n) else f"{int(float(n))}"  # type: ignore[arg-type]
    if is_missing(value):
        return f"{none} (n = {n_txt} {noun})"
    ci = "" if is_missing(low) else f" (95% CI {fmt(low)}–{fmt(high)})"
    return f"{fmt(value)}{ci}, n = {n_txt} {noun}"


def rate_text(rate: object, low: object, high: object, n: object, noun: str) -> str:
    """``"21% (95% CI 12–34%), n = 38 ended episodes"``; says so when n is 0."""
    return _interval_text(rate, low, high, n, noun, fmt=pct, none="no rate")


def mean_text(mean: object, low: object, high: object, n: object, noun: str) -> str:
    """``"37.2 (95% CI 36.5–37.9), n = 24 episodes"``."""
    return _interval_text(mean, low, high, n, noun, fmt=num, none="no value")


# ---------------------------------------------------------------------- widgets
def css() -> widgets.HTML:
    """The dashboards' stylesheet, as a widget placed once at the top of an app."""
    return widgets.HTML(CSS)


def html_panel(body: str, *classes: str) -> widgets.HTML:
    """An HTML widget; ``body`` must already be escaped where it holds export strings."""
    w = widgets.HTML(body)
    for c in ("sv-panel", *classes):
        w.add_class(c)
    return w


def empty_state(message: str) -> widgets.HTML:
    """A visible "nothing to show" box (``message`` is our own wording, escaped anyway)."""
    return html_panel(f'<div class="sv-empty">{esc(message)}</div>', "sv-empty-panel")


def error_panel(what: str, message: str) -> widgets.HTML:
    """A readable failure message in place of a panel (Voilà hides tracebacks)."""
    body = f'<div class="sv-error"><b>{esc(what)} could not be drawn.</b><br>{esc(message)}</div>'
    return html_panel(body, "sv-error-panel")


def loading_indicator(text: str = "Computing figures…") -> widgets.HTML:
    """A spinner line shown while figures compute (hide with ``layout.display = 'none'``)."""
    w = widgets.HTML(f'<div class="sv-loading"><span class="sv-spinner"></span>{esc(text)}</div>')
    w.add_class("sv-loading-indicator")
    return w


def figure_payload(fig: go.Figure) -> dict[str, Any]:
    """The plotly mime bundle payload (rendered by the local jupyterlab-plotly extension).

    The plotly.js bundle comes from the installed extension, never a CDN.
    """
    payload = json.loads(pio.to_json(fig, validate=False))
    payload["config"] = dict(PLOT_CONFIG)
    return payload


def figure_panel(fig: go.Figure) -> widgets.Output:
    """A plain plotly figure shown in an ``Output`` widget (see docs/dashboards.md for why)."""
    out = widgets.Output()
    out.add_class("sv-panel")
    out.add_class("sv-figure-panel")
    # The panel, not the plot, holds the height: plotly's resize takes its height from the
    # container, and a plot resized while its tab was hidden would otherwise stay 0 px high
    # when the tab is shown again.  (360 px is the renderer's default for a figure without one.)
    out.layout.height = f"{int(fig.layout.height or 360)}px"
    out.outputs = (
        {
            "output_type": "display_data",
            "data": {PLOTLY_MIME: figure_payload(fig), "text/plain": "<plotly figure>"},
            "metadata": {},
        },
    )
    out.figure = fig  # type: ignore[attr-defined]  # kept for tests and callers
    return out


Built = go.Figure | widgets.Widget | None


def as_widget(built: Built, empty: str) -> widgets.Widget:
    """A figure -> :func:`figure_panel`; ``None`` -> :func:`empty_state` (``empty``)."""
    if built is None:
        return empty_state(empty)
    if isinstance(built, go.Figure):
        return figure_panel(built)
    return built


def guarded(
    what: str, build: Callable[[], Built], *, empty: str = "Nothing to show."
) -> widgets.Widget:
    """Run one panel builder; any failure becomes a readable :func:`error_panel`."""
    try:
        return as_widget(build(), empty)
    except SupervisionError as exc:
        return error_panel(what, str(exc))
    except Exception as exc:  # last resort: the page must never be blank
        log.exception("panel %s failed", what)
        return error_panel(
            what,
            f"unexpected internal error ({type(exc).__name__}). This is a bug in supervision, "
            "not in your export; the other panels are unaffected.",
        )


def recorded_panel(figures: dict[str, go.Figure | None], name: str, what: str,
                   build: Callable[[], Built], empty: str) -> widgets.Widget:
    """:func:`guarded` ``build``, its figure remembered in ``figures[name]`` (None when it
    drew none or failed): the tests and the pack read a view's figures there."""

    def run() -> Built:
        fig = build()
        figures[name] = fig if isinstance(fig, go.Figure) else None
        return fig

    figures.pop(name, None)
    return guarded(what, run, empty=empty)


def rate_point(label: str, rate: Any, low: Any, high: Any, colour: str,
               hover: str) -> go.Scatter:
    """One rate as a dot on the row ``label`` with its 95% interval as whiskers (none where a
    bound is missing; no dot where the rate is), ``hover`` the point's text."""
    val = None if is_missing(rate) else float(rate)
    return go.Scatter(
        x=[val], y=[label], mode="markers", name=label,
        marker={"size": 14, "color": colour},
        error_x={
            "type": "data", "symmetric": False, "color": colour,
            "array": [0 if val is None or is_missing(high) else float(high) - val],
            "arrayminus": [0 if val is None or is_missing(low) else val - float(low)],
        },
        hovertext=[hover], hoverinfo="text",
    )


def section(title: str, children: Iterable[widgets.Widget], note: str = "") -> widgets.VBox:
    """A titled vertical group of panels (``title``/``note`` are our own words)."""
    head = f"<h3>{esc(title)}</h3>" + (f'<div class="sv-note">{note}</div>' if note else "")
    return widgets.VBox([widgets.HTML(head), *children])


__all__ = [
    "CSS",
    "PLOTLY_MIME",
    "PLOT_CONFIG",
    "as_widget",
    "css",
    "empty_state",
    "error_panel",
    "esc",
    "figure_panel",
    "figure_payload",
    "guarded",
    "html_panel",
    "is_missing",
    "loading_indicator",
    "mean_text",
    "num",
    "pct",
    "rate_text",
    "recorded_panel",
    "section",
]
