"""Colours, benchmarks and the shared figure layout of the dashboards.

The palette is Okabe & Ito (2008), "Color Universal Design": distinguishable under the
common colour-vision deficiencies.  Benchmarks are domain.md §5, each with its source.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import pandas as pd
import plotly.graph_objects as go

#: Okabe & Ito (2008) colour-blind-safe palette.
OKABE_ITO: dict[str, str] = {
    "black": "#000000",
    "orange": "#E69F00",
    "sky_blue": "#56B4E9",
    "bluish_green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "reddish_purple": "#CC79A7",
    "grey": "#999999",
}

#: The therapist (or the selection) and the practice, everywhere.
OWN = OKABE_ITO["blue"]
PRACTICE = OKABE_ITO["grey"]
CONCERN = OKABE_ITO["vermillion"]
BENCHMARK = OKABE_ITO["black"]

TERMINATION_COLOURS: dict[str, str] = {
    "completed": OKABE_ITO["bluish_green"],
    "client_ended": OKABE_ITO["sky_blue"],
    "dropout": OKABE_ITO["vermillion"],
    "external": OKABE_ITO["yellow"],
    "therapist_ended": OKABE_ITO["reddish_purple"],
    "ongoing": OKABE_ITO["grey"],
}

TERMINATION_LABELS: dict[str, str] = {
    "completed": "Completed (planned)",
    "client_ended": "Client ended, with notice",
    "dropout": "Drop-out (no notice)",
    "external": "External reasons",
    "therapist_ended": "Therapist ended / referred",
    "ongoing": "Ongoing",
}

GROUP_LABELS: dict[str, str] = {
    "shared": "Both ND, shared tag",
    "other_nd": "Both ND, no shared tag",
    "nd_therapist": "ND therapist, NT client",
    "nt_therapist": "NT therapist, ND client",
    "both_nt": "Both neurotypical",
    "unknown": "Unknown",
}

#: Neurotype tags (export values) in plain words: one table for every view and the pack.
TAG_LABELS: dict[str, str] = {
    "adhd": "ADHD",
    "autistic": "autistic",
    "dyslexic": "dyslexic",
    "dyspraxic": "dyspraxic",
    "tourette": "Tourette",
    "other_nd": "other neurodivergent",
    "neurotypical": "neurotypical",
    "unknown": "not recorded",
}


def tag_label(tag: object) -> str:
    """A neurotype tag in plain words (an unknown value as it came, HTML-escaped)."""
    import html

    return TAG_LABELS.get(str(tag), html.escape(str(tag), quote=True))


RUPTURE_TYPE_LABELS: dict[str, str] = {
    "withdrawal": "withdrawal",
    "confrontation": "confrontation",
    "unspecified": "unspecified",
    "alliance_drop": "alliance drop",
}


@dataclass(frozen=True)
class Benchmark:
    """A published figure shown beside the practice's, with its source."""

    key: str
    label: str
    rate: float
    source: str


#: domain.md §5.
BENCHMARKS: tuple[Benchmark, ...] = (
    Benchmark("dropout_rate", "Drop-out", 0.197, "Swift & Greenberg 2012 (meta-analysis)"),
    Benchmark("recovery_rate", "Recovery", 0.505, "NHS Talking Therapies, England 2024-25"),
    Benchmark(
        "reliable_improvement_rate",
        "Reliable improvement",
        0.675,
        "NHS Talking Therapies, England 2024-25",
    ),
    Benchmark(
        "reliable_recovery_rate",
        "Reliable recovery",
        0.475,
        "NHS Talking Therapies, England 2024-25",
    ),
    Benchmark(
        "reliable_deterioration_rate",
        "Deterioration",
        0.058,
        "NHS Talking Therapies, England 2024-25",
    ),
)
BENCHMARK_BY_KEY: dict[str, Benchmark] = {b.key: b for b in BENCHMARKS}

FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif"
#: Bottom margin (px) of a figure with a legend: ticks ~20, axis title ~25, legend rows ~25 each.
LEGEND_MARGIN = 125


def style(fig: go.Figure, title: str, *, height: int = 360, legend: bool = True) -> go.Figure:
    """Apply the shared layout: white background, readable title, legend below the plot.

    The legend is anchored to the figure's bottom edge (``yref="container"``), in a bottom
    margin of :data:`LEGEND_MARGIN` px that holds the tick labels, the axis title and up to
    three rows of legend (a phone's width wraps it): anchored at a fraction of the plot's
    height below it, as before, it sat on the tick labels and axis titles of short plots
    ("Outcome by ending", the Kaplan–Meier curve).  Long titles are split with ``<br>`` by
    the caller; the top margin holds two lines.
    """
    fig.update_layout(
        title={"text": title, "x": 0.0, "xanchor": "left", "font": {"size": 15}},
        template="simple_white",
        font={"family": FONT, "size": 12},
        height=height + (LEGEND_MARGIN - 50 if legend else 0),
        # a two-line title is centred in the top margin: 84 px holds it whole
        margin={"l": 60, "r": 20, "t": 84 if "<br>" in title else 50,
                "b": LEGEND_MARGIN if legend else 50},
        showlegend=legend,
        legend={"orientation": "h", "yref": "container", "yanchor": "bottom", "y": 0.0,
                "x": 0.0, "xanchor": "left"},
        hoverlabel={"font": {"family": FONT}},
        colorway=list(OKABE_ITO.values())[1:],
    )
    return fig


#: Characters per line of an 11 px chart note that fit a phone's figure (a 390 px screen
#: leaves about 320 px; a note starts at the figure's left edge): plotly does not wrap an
#: annotation, so a longer line was cut there.
NOTE_CHARS = 42


def note_lines(text: str, width: int = NOTE_CHARS) -> tuple[str, int]:
    """``text`` broken with ``<br>`` into lines of at most ``width`` characters (a long
    word alone on its line), and the number of lines."""
    import textwrap

    lines = textwrap.wrap(text, width, break_long_words=False, break_on_hyphens=False) or [""]
    return "<br>".join(lines), len(lines)


def note_above_plot(fig: go.Figure, text: str) -> go.Figure:
    """A note just above the plot area (clear of the top tick label), under the title, from
    the figure's left edge; the top margin grows by its lines."""
    words, lines = note_lines(text)
    fig.add_annotation(text=words, xref="paper", yref="paper", x=0, y=1.0, yshift=10,
                       xshift=-((fig.layout.margin.l or 60) - 8), yanchor="bottom",
                       xanchor="left", align="left", showarrow=False, font={"size": 11})
    top = fig.layout.margin.t if fig.layout.margin.t is not None else 50
    fig.update_layout(margin={"t": top + WORDS_LINE * lines},
                      height=int(fig.layout.height or 360) + WORDS_LINE * lines)
    return fig


#: Pixels below the plot area taken by the x tick labels and the x axis title.
AXIS_BELOW = 52
#: Pixels a line of 11 px annotation text takes; pixels kept for the legend (three rows, as
#: a phone's width wraps it).
WORDS_LINE = 16
LEGEND_ROWS = 75
#: Pixels one row of the legend takes (measured: 29 px a row at a phone's width).
LEGEND_ROW = 30


def words_under_plot(fig: go.Figure, text: str, *, left: int | None = None) -> go.Figure:
    """Put ``text`` (11 px, broken into lines that fit a phone: :func:`note_lines`) right
    under the x axis title, from the figure's left edge, and the legend under it at the
    figure's foot, growing the figure by the words' height.

    A legend anchored at the foot grows upwards as it wraps into rows; the margin keeps
    room for a row per legend entry (at least three rows) between the words and the foot,
    so neither sits on the other (the funnel's legend sat on its fairness sentence).
    """
    words, lines = note_lines(text)
    # a phone's width can put each legend entry on a row of its own: room for every entry
    entries = sum(1 for t in fig.data if t.name and t.showlegend is not False)
    below = AXIS_BELOW + WORDS_LINE * lines + max(LEGEND_ROWS, LEGEND_ROW * entries + 10)
    old_bottom = fig.layout.margin.b if fig.layout.margin.b is not None else 50
    l_margin = left if left is not None else (fig.layout.margin.l or 60)
    fig.add_annotation(text=words, xref="paper", yref="paper", x=0, y=0, yshift=-AXIS_BELOW,
                       xshift=-(l_margin - 8), yanchor="top", xanchor="left",
                       showarrow=False, align="left", font={"size": 11})
    margin = {"b": below} if left is None else {"b": below, "l": left}
    fig.update_layout(
        height=int(fig.layout.height or 360) + below - old_bottom, margin=margin,
        legend={"yref": "container", "y": 0, "yanchor": "bottom"},
    )
    return fig


def _time_key(label: object) -> tuple[int, pd.Timestamp | str]:
    """Sort key of a period label: ``"2024Q1"``, ``"2024-03"``, ``"2024-03-05"``, a date.

    A label that is not a period sorts after every period, by its text.
    """
    try:
        return (0, pd.Period(str(label)).start_time)
    except (ValueError, TypeError):
        return (1, str(label))


def time_order(labels: Iterable[object]) -> list[str]:
    """The distinct period labels in time order (``2023Q3`` before ``2023Q4`` before ``2024Q1``).

    Plotly orders a categorical axis by first appearance across traces, so a trace that starts
    later (a therapist's narrowed dates) drawn before one that starts earlier (the practice's)
    would put 2024Q1 before 2023Q3; every categorical time axis takes its order from here.
    """
    seen = {str(x) for x in labels if x is not None and not (isinstance(x, float) and x != x)}
    return sorted(seen, key=_time_key)


def order_time_axis(fig: go.Figure, axis: str = "x") -> go.Figure:
    """Put ``fig``'s categorical ``axis`` (``"x"`` or ``"y"``) in time order over all traces."""
    labels: list[object] = []
    for trace in fig.data:
        values = getattr(trace, axis, None)
        if values is not None:
            labels.extend(values)
    update = fig.update_xaxes if axis == "x" else fig.update_yaxes
    update(type="category", categoryorder="array", categoryarray=time_order(labels))
    return fig


def rgba(hex_colour: str, alpha: float) -> str:
    """``#RRGGBB`` -> ``rgba(r,g,b,alpha)`` for translucent bands."""
    h = hex_colour.lstrip("#")
    r, g, b = (int(h[i : i + 2], 16) for i in (0, 2, 4))
    return f"rgba({r},{g},{b},{alpha})"


__all__ = [
    "BENCHMARK",
    "BENCHMARKS",
    "BENCHMARK_BY_KEY",
    "CONCERN",
    "GROUP_LABELS",
    "OKABE_ITO",
    "OWN",
    "PRACTICE",
    "RUPTURE_TYPE_LABELS",
    "TAG_LABELS",
    "TERMINATION_COLOURS",
    "TERMINATION_LABELS",
    "Benchmark",
    "note_above_plot",
    "note_lines",
    "order_time_axis",
    "rgba",
    "style",
    "tag_label",
    "time_order",
    "words_under_plot",
]
