"""Practice-review figures: funnel plots (never a league table) and benchmark comparison."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from supervision.clinical.dispersion import adjusted_limits, adjustment_words, overdispersion
from supervision.privacy import funnel_hidden
from supervision.stats import funnel_limits
from supervision.views.common import esc, is_missing, pct, rate_text
from supervision.views.theme import (
    BENCHMARK,
    BENCHMARKS,
    OKABE_ITO,
    OWN,
    PRACTICE,
    note_above_plot,
    style,
    words_under_plot,
)

Fig = Mapping[str, object]


def funnel_figure(
    per_therapist: pd.DataFrame,
    p0: float | None,
    *,
    title: str,
    noun: str,
    min_cell: int = 5,
) -> go.Figure | None:
    """A funnel plot: each therapist's rate against its denominator (Spiegelhalter 2005).

    ``per_therapist`` has ``therapist_id, k, n``.  The limits are 95% and 99.8% around the
    practice rate ``p0`` (:func:`supervision.stats.funnel_limits`).  Therapists with fewer
    than ``min_cell`` in the denominator are left out, and with them the fewest others
    needed so that the practice's totals minus the shown therapists pin none of them
    (:func:`supervision.privacy.funnel_hidden`); how many are left out is said.
    Points are not ranked or sorted; the plot's message is "within the funnel or not".

    Over-dispersion (:mod:`supervision.clinical.dispersion`), estimated from the shown
    therapists only: when their rates vary more than chance (``τ² > 0`` from at least four),
    the random-effects limits are drawn and the exact ones faintly; either way the chart
    says in words what was done (``layout.meta["dispersion"]`` holds φ and τ²).
    """
    if per_therapist is None or per_therapist.empty or p0 is None or is_missing(p0):
        return None
    n = pd.to_numeric(per_therapist["n"]).fillna(0).astype("int64").to_numpy()
    k = pd.to_numeric(per_therapist["k"]).fillna(0).astype("int64").to_numpy()
    out = funnel_hidden(n, k, min_cell=min_cell)
    d = per_therapist[~out].copy()
    hidden = int(out.sum())
    if d.empty:
        return None
    n_max = int(max(d["n"].max(), min_cell)) + 2
    grid = np.arange(1, n_max + 1)
    disp = overdispersion(d["k"].to_numpy(), d["n"].to_numpy(), p0=float(p0))
    exact = funnel_limits(float(p0), grid)
    fig = go.Figure()
    if disp.adjusted:
        _limit_lines(fig, grid, exact, suffix=" without adjustment", faint=True)
        _limit_lines(fig, grid, adjusted_limits(disp, grid), suffix=", adjusted")
    else:
        _limit_lines(fig, grid, exact)
    # the practice rate as a legend entry: a label at the line's end sat on a therapist's dot
    fig.add_trace(
        go.Scatter(
            x=[grid[0], grid[-1]], y=[float(p0)] * 2, mode="lines",
            line={"color": PRACTICE, "width": 2}, name=f"practice {pct(p0, 1)}",
            hoverinfo="skip",
        )
    )
    d["rate"] = d["k"] / d["n"]
    fig.add_trace(
        go.Scatter(
            x=d["n"],
            y=d["rate"],
            mode="markers",
            name="therapists",
            marker={"size": 10, "color": OWN, "line": {"width": 1, "color": "white"}},
            hovertext=[
                f"therapist {esc(t)}: {int(k)} of {int(n)} {noun} ({pct(r)})"
                for t, k, n, r in zip(d["therapist_id"], d["k"], d["n"], d["rate"], strict=True)
            ],
            hoverinfo="text",
        )
    )
    note = (f" — {hidden} therapist(s) not shown (fewer than {min_cell} {noun}, or left out "
            "with them so that theirs cannot be worked out)" if hidden else "")
    style(fig, f"{title}: funnel plot{note}", height=420)
    # the fairness sentence under the axis, the legend under it (never one on the other)
    words_under_plot(fig, adjustment_words(disp, noun=noun))
    fig.update_layout(meta={"dispersion": disp.as_dict()})
    fig.update_xaxes(title_text=f"number of {noun}", rangemode="tozero")
    fig.update_yaxes(title_text="rate", tickformat=".0%", range=[0, 1])
    return fig


def _limit_lines(fig: go.Figure, grid: np.ndarray, lim: pd.DataFrame, *, suffix: str = "",
                 faint: bool = False) -> None:
    """The 95% and 99.8% limits of ``lim`` as step lines (faint: the unadjusted ones)."""
    for level, dash, colour in (
        ("95", "dash", OKABE_ITO["orange"]),
        ("99.8", "dot", OKABE_ITO["vermillion"]),
    ):
        for side in ("lower", "upper"):
            fig.add_trace(
                go.Scatter(
                    x=grid,
                    y=lim[f"{side}_{level}"],
                    mode="lines",
                    line={"dash": dash, "color": "#bbbbbb" if faint else colour,
                          "shape": "hv", "width": 1 if faint else 2},
                    name=f"{level}% limits{suffix}",
                    legendgroup=f"{level}{suffix}",
                    showlegend=side == "upper",
                    hoverinfo="skip",
                )
            )


def _rate_of(v: Fig) -> str:
    noun = str(v.get("noun", "episodes"))
    return rate_text(v.get("value"), v.get("low"), v.get("high"), v.get("n"), noun)


def benchmark_figure(
    current: Mapping[str, Fig],
    previous: Mapping[str, Fig] | None,
    *,
    current_label: str,
    previous_label: str,
) -> go.Figure | None:
    """The practice's rates this quarter and last, beside the published benchmarks (§5)."""
    keys = [
        b
        for b in BENCHMARKS
        if not is_missing((current.get(b.key) or {}).get("value"))
        or (previous and not is_missing((previous.get(b.key) or {}).get("value")))
    ]
    if not keys:
        return None
    labels = [b.label for b in keys]
    fig = go.Figure()
    for figs, name, colour, symbol in (
        (previous, previous_label, PRACTICE, "circle-open"),
        (current, current_label, OWN, "circle"),
    ):
        if not figs:
            continue
        vals = [figs.get(b.key) or {} for b in keys]
        y = [None if is_missing(v.get("value")) else float(v["value"]) for v in vals]  # type: ignore[arg-type]
        fig.add_trace(
            go.Scatter(
                x=labels,
                y=y,
                mode="markers",
                name=name,
                marker={
                    "size": 13,
                    "color": colour,
                    "symbol": symbol,
                    "line": {"width": 2, "color": colour},
                },
                error_y={
                    "type": "data",
                    "symmetric": False,
                    "color": colour,
                    "array": [
                        0 if yy is None or is_missing(v.get("high")) else float(v["high"]) - yy
                        for yy, v in zip(y, vals, strict=True)
                    ],
                    "arrayminus": [
                        0 if yy is None or is_missing(v.get("low")) else yy - float(v["low"])
                        for yy, v in zip(y, vals, strict=True)
                    ],
                },
                hovertext=[
                    f"{esc(name)}: {lab} {_rate_of(v)}" for lab, v in zip(labels, vals, strict=True)
                ],
                hoverinfo="text",
            )
        )
    fig.add_trace(
        go.Scatter(
            x=labels,
            y=[b.rate for b in keys],
            mode="markers",
            name="published benchmark",
            marker={"symbol": "line-ew-open", "size": 34, "line": {"width": 3, "color": BENCHMARK}},
            hovertext=[f"{b.label}: {pct(b.rate, 1)} — {b.source}" for b in keys],
            hoverinfo="text",
        )
    )
    style(fig, "Practice against the previous quarter and published benchmarks", height=400)
    fig.update_layout(scattermode="group")
    fig.update_yaxes(tickformat=".0%", range=[0, 1], title_text="rate")
    sources = sorted({b.source for b in keys})
    fig.update_layout(margin={"t": 60})
    # above the plot area, clear of the 100% tick; in lines a phone's width holds
    note_above_plot(fig, "Benchmarks: " + "; ".join(sources))
    return fig


__all__ = ["benchmark_figure", "funnel_figure"]
