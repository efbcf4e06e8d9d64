"""Termination and outcome figures (domain.md §5): mix, outcome and dose by ending,
drop-out against the published benchmark, Kaplan–Meier retention."""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd
import plotly.graph_objects as go

from supervision.schema import TERMINATION
from supervision.views.common import esc, is_missing, pct, rate_point, rate_text
from supervision.views.theme import (
    BENCHMARK,
    BENCHMARK_BY_KEY,
    OKABE_ITO,
    OWN,
    PRACTICE,
    TERMINATION_COLOURS,
    TERMINATION_LABELS,
    WORDS_LINE,
    note_lines,
    rgba,
    style,
)

Row = Mapping[str, object]


def mix_figure(rows: Mapping[str, Row | None]) -> go.Figure | None:
    """The mix of endings as 100% stacked bars, one bar per scope (e.g. own, practice).

    ``rows`` maps a label (our own wording) to a ``termination.termination_summary`` row.
    Shares are of all episodes (ongoing included); hover gives counts and n.
    """
    rows = {k: v for k, v in rows.items() if v is not None and not is_missing(v.get("episodes"))}
    if not rows or all(int(v.get("episodes") or 0) == 0 for v in rows.values()):
        return None
    labels = list(rows)[::-1]
    fig = go.Figure()
    for t in TERMINATION:
        counts = [int(rows[k].get(t) or 0) for k in labels]
        totals = [int(rows[k].get("episodes") or 0) for k in labels]
        shares = [c / n if n else None for c, n in zip(counts, totals, strict=True)]
        fig.add_trace(
            go.Bar(
                y=labels,
                x=shares,
                orientation="h",
                name=TERMINATION_LABELS[t],
                marker_color=TERMINATION_COLOURS[t],
                hovertext=[
                    f"{lab}: {TERMINATION_LABELS[t]} {c} of {n} episodes ({pct(s)})"
                    for lab, c, n, s in zip(labels, counts, totals, shares, strict=True)
                ],
                hoverinfo="text",
            )
        )
    style(fig, "How episodes ended (share of all episodes)", height=230 + 45 * len(labels))
    fig.update_layout(barmode="stack")
    fig.update_xaxes(tickformat=".0%", range=[0, 1], title_text="share of episodes")
    return fig


def _small(n: pd.Series, min_cell: int) -> pd.Series:
    """Cells of 1 to ``min_cell`` − 1 episodes (domain.md §8): count "<k", no figure."""
    n = n.fillna(0)
    return (n > 0) & (n < min_cell)


def _hidden(d: pd.DataFrame, count: str, min_cell: int, flag: str = "suppressed") -> pd.Series:
    """Groups the metrics layer suppressed (``flag``) and, as a defensive check, any group of
    1 to ``min_cell`` − 1 in ``count`` that reached the view unsuppressed."""
    sup = (
        d[flag].astype("boolean").fillna(False).astype(bool)
        if flag in d
        else pd.Series(False, index=d.index)
    )
    return sup | _small(d[count], min_cell)


def _small_marks(fig: go.Figure, at: list[str], min_cell: int, *, horizontal: bool) -> None:
    """A "<k" text mark in place of each suppressed group's figure."""
    if not at:
        return
    pos = {"x": [0] * len(at), "y": at} if horizontal else {"x": at, "y": [0.03] * len(at)}
    fig.add_trace(
        go.Scatter(
            **pos,
            mode="text",
            text=[f"&lt;{min_cell}"] * len(at),
            textposition="middle right" if horizontal else "top center",
            textfont={"size": 14, "color": OKABE_ITO["black"]},
            name=f"fewer than {min_cell} episodes",
            hovertext=[f"{x}: fewer than {min_cell} episodes — not shown (privacy)" for x in at],
            hoverinfo="text",
        )
    )


def outcome_by_ending_figure(
    df: pd.DataFrame, measure_name: str, *, min_cell: int = 5
) -> go.Figure | None:
    """Reliable improvement and recovery rates by ending (``outcomes.outcomes_by_termination``).

    Draws what the metrics layer returned: a ``suppressed`` ending shows "<k" and no rates,
    and recovery is not drawn where ``recovery_suppressed`` (domain.md §8).  As a defensive
    check an ending of 1 to ``min_cell`` − 1 paired episodes (or episodes starting as cases,
    for recovery) is hidden likewise.  When every ending with episodes is hidden, the
    figure holds only the "<k" marks.
    """
    if df is None or df.empty:
        return None
    hidden = _hidden(df, "paired", min_cell)
    d = df[(df["paired"].fillna(0) > 0) | hidden].copy()
    if d.empty:
        return None
    small = _hidden(d, "paired", min_cell)
    no_rec = small
    if "started_clinical" in d:
        no_rec = small | _hidden(d, "started_clinical", min_cell, "recovery_suppressed")
    withheld = {"reliable_improvement_rate": small, "recovery_rate": no_rec}
    for col, mask in withheld.items():
        for c in (col, f"{col}_low", f"{col}_high"):
            if c in d:
                d[c] = d[c].where(~mask)
    labels = [TERMINATION_LABELS.get(str(t), esc(t)) for t in d["termination"]]
    fig = go.Figure()
    for col, name, colour, noun in (
        ("reliable_improvement_rate", "Reliable improvement", OKABE_ITO["blue"], "paired episodes"),
        ("recovery_rate", "Recovery", OKABE_ITO["bluish_green"], "episodes starting as cases"),
    ):
        if col not in d:
            continue
        lo, hi = d.get(f"{col}_low"), d.get(f"{col}_high")
        n = (
            d["started_clinical"]
            if col == "recovery_rate" and "started_clinical" in d
            else d["paired"]
        )
        fig.add_trace(
            go.Bar(
                x=labels,
                y=d[col],
                name=name,
                marker_color=colour,
                error_y=None
                if lo is None
                else {
                    "type": "data",
                    "symmetric": False,
                    "array": (hi - d[col]).tolist(),
                    "arrayminus": (d[col] - lo).tolist(),
                },
                hovertext=[
                    f"{lab}: {name.lower()} "
                    + ("not shown (privacy)" if w else rate_text(r, a, b, k, noun))
                    for lab, w, r, a, b, k in zip(
                        labels,
                        withheld[col],
                        d[col],
                        lo if lo is not None else d[col],
                        hi if hi is not None else d[col],
                        n,
                        strict=True,
                    )
                ],
                hoverinfo="text",
            )
        )
    _small_marks(
        fig, [lab for lab, sm in zip(labels, small, strict=True) if sm], min_cell, horizontal=False
    )
    title = f"Outcome by ending ({esc(measure_name)}), with 95% intervals"
    rec_only = [lab for lab, r, sm in zip(labels, no_rec, small, strict=True) if r and not sm]
    if rec_only:  # no bar would say why recovery is missing where improvement is shown
        title += (f"<br><sub>Recovery not shown (privacy: fewer than {min_cell} episodes started "
                  f"as cases, or to protect another ending): {', '.join(rec_only)}</sub>")
    style(fig, title, height=360)
    fig.update_layout(barmode="group")
    fig.update_yaxes(tickformat=".0%", range=[0, 1.05], title_text="rate")
    return fig


def dose_figure(df: pd.DataFrame, *, min_cell: int = 5) -> go.Figure | None:
    """Sessions attended by ending: median and interquartile range (``dose_by_termination``).

    A ``suppressed`` ending (and, as a defensive check, one of 1 to ``min_cell`` − 1
    episodes) shows "<k" and no median (domain.md §8); when every ending with episodes is
    hidden, the figure holds only the "<k" marks.
    """
    if df is None or df.empty:
        return None
    hidden_all = _hidden(df, "episodes", min_cell)
    d = df[(df["episodes"].fillna(0) > 0) | hidden_all]
    if d.empty:
        return None
    small = _hidden(d, "episodes", min_cell)
    hidden = [TERMINATION_LABELS.get(str(t), esc(t)) for t in d.loc[small, "termination"]]
    d = d[~small]
    labels = [TERMINATION_LABELS.get(str(t), esc(t)) for t in d["termination"]]
    colours = [TERMINATION_COLOURS.get(str(t), PRACTICE) for t in d["termination"]]
    fig = go.Figure(
        go.Scatter(
            x=d["median"],
            y=labels,
            mode="markers",
            marker={"size": 13, "color": colours},
            error_x={
                "type": "data",
                "symmetric": False,
                "array": (d["q3"] - d["median"]).tolist(),
                "arrayminus": (d["median"] - d["q1"]).tolist(),
                "color": "#555",
            },
            hovertext=[
                f"{lab}: median {m:g} sessions (IQR {a:g}–{b:g}), n = {int(n)} episodes"
                for lab, m, a, b, n in zip(
                    labels, d["median"], d["q1"], d["q3"], d["episodes"], strict=True
                )
            ],
            hoverinfo="text",
            name="median sessions",
        )
    )
    _small_marks(fig, hidden, min_cell, horizontal=True)
    style(
        fig,
        "Sessions attended by ending (median and interquartile range)",
        height=140 + 40 * (len(labels) + len(hidden)),
        legend=False,
    )
    fig.update_xaxes(title_text="attended sessions", rangemode="tozero")
    return fig


def dropout_figure(rows: Mapping[str, Row | None]) -> go.Figure | None:
    """Drop-out rate (dropout / ended episodes) with Wilson 95% intervals and the 19.7% line."""
    rows = {k: v for k, v in rows.items() if v is not None}
    if not rows or all(is_missing(v.get("dropout_rate")) for v in rows.values()):
        return None
    fig = go.Figure()
    for i, (label, r) in enumerate(rows.items()):
        rate, lo, hi = r.get("dropout_rate"), r.get("dropout_rate_low"), r.get("dropout_rate_high")
        colour = OWN if i == 0 and len(rows) > 1 else PRACTICE if i else OWN
        fig.add_trace(rate_point(
            label, rate, lo, hi, colour,
            f"{label}: drop-out {rate_text(rate, lo, hi, r.get('ended'), 'ended episodes')}",
        ))
    b = BENCHMARK_BY_KEY["dropout_rate"]
    # The line carries only its figure; the source goes in a note from the figure's left
    # edge, in lines a phone holds (a label beside the line ran past a 390 px screen's edge).
    fig.add_vline(
        x=b.rate,
        line={"color": BENCHMARK, "dash": "dash", "width": 2},
        annotation_text=pct(b.rate, 1),
        annotation_position="top right",
        annotation_yshift=4,
    )
    style(fig, "Drop-out rate, with 95% intervals", height=150 + 45 * len(rows), legend=False)
    # under the title, from the figure's left edge whatever the y labels' width
    words, lines = note_lines(f"Dashed line: {pct(b.rate, 1)}, {b.source}")
    fig.update_layout(title_subtitle={"text": words, "font": {"size": 11}},
                      margin={"t": 60 + WORDS_LINE * lines},
                      height=int(fig.layout.height) + WORDS_LINE * lines)
    fig.update_xaxes(title_text="drop-outs / ended episodes", tickformat=".0%", range=[0, 1])
    return fig


def retention_figure(curves: Mapping[str, pd.DataFrame | None]) -> go.Figure | None:
    """Kaplan–Meier retention by attended sessions (ongoing episodes censored), 95% band.

    ``curves`` maps a label to a ``termination.retention`` frame
    (``sessions, retained, low, high, at_risk``).
    """
    curves = {k: v for k, v in curves.items() if v is not None and not v.empty}
    if not curves:
        return None
    fig = go.Figure()
    for i, (label, km) in enumerate(curves.items()):
        colour = OWN if i == 0 else PRACTICE
        x = km["sessions"].tolist()
        fig.add_trace(
            go.Scatter(
                x=x + x[::-1],
                y=km["high"].tolist() + km["low"].tolist()[::-1],
                fill="toself",
                mode="lines",
                fillcolor=rgba(colour, 0.15),
                line={"width": 0, "shape": "hv"},
                hoverinfo="skip",
                name=f"{label}: 95% band",
            )
        )
        fig.add_trace(
            go.Scatter(
                x=x,
                y=km["retained"],
                mode="lines",
                line={"shape": "hv", "color": colour, "width": 3},
                name=label,
                hovertext=[
                    f"{label}: {pct(r)} still in therapy after {s:g} sessions "
                    f"(95% CI {pct(a)}–{pct(b)}), {int(n)} at risk"
                    for s, r, a, b, n in zip(
                        km["sessions"],
                        km["retained"],
                        km["low"],
                        km["high"],
                        km["at_risk"],
                        strict=True,
                    )
                ],
                hoverinfo="text",
            )
        )
    style(fig, "Retention in therapy by sessions attended<br><sup>Kaplan–Meier: leaving is an "
          "ending other than a planned completion; ongoing and completed episodes censored"
          "</sup>", height=380)
    fig.update_xaxes(title_text="attended sessions", rangemode="tozero")
    fig.update_yaxes(title_text="share still in therapy", tickformat=".0%", range=[0, 1.02])
    return fig


__all__ = [
    "dose_figure",
    "dropout_figure",
    "mix_figure",
    "outcome_by_ending_figure",
    "retention_figure",
]
