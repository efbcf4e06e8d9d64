"""Neurotype-match figures (domain.md §6): six groups with intervals, tag × tag heatmap.

Suppressed cells (fewer than ``min_cell`` episodes, privacy.suppress_groups) show "<5"
(or "<min_cell") and no rate: the views never recompute a rate the metrics withheld.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.colors import sample_colorscale

from supervision.clinical.neurotype import MERGED_TAGS
from supervision.schema import NEUROTYPE_GROUPS
from supervision.views.common import esc, is_missing, mean_text, pct, rate_text
from supervision.views.theme import GROUP_LABELS, OKABE_ITO, style, tag_label

CAUTION = (
    "These are <b>associations in a small sample, not causes</b>. Clients and therapists are "
    "not matched at random, groups are small, and a difference here may come from referral, "
    "caseload mix or chance. Use them to ask questions in supervision, not to draw conclusions. "
    "Groups with fewer than {min_cell} episodes read “&lt;{min_cell}: not shown” and have no "
    "rates (privacy)."
)

#: Under a practice's tag grid: why some therapist tags have no row of their own.
STAFF_TAGS = (
    "Therapist tags held by fewer than {min_cell} therapists have no row of their own: they "
    "are merged into one row, “{merged}”, which is itself hidden when fewer than {min_cell} "
    "therapists stand behind it. A therapist's neurotype is health information about a "
    "colleague, and a row of one or two therapists would name them and show their own "
    "clients' figures."
)

RATES = (
    ("dropout_rate", "Drop-out", OKABE_ITO["vermillion"], "ended episodes", "ended"),
    ("repair_rate", "Repair of ruptures", OKABE_ITO["bluish_green"], "episodes", "episodes"),
    (
        "reliable_improvement_rate",
        "Reliable improvement",
        OKABE_ITO["blue"],
        "episodes",
        "episodes",
    ),
)


def staff_tags_note(min_cell: int) -> str:
    """:data:`STAFF_TAGS` for ``min_cell``, HTML-safe."""
    return esc(STAFF_TAGS.format(min_cell=min_cell, merged=MERGED_TAGS))


def suppressed_label(min_cell: int) -> str:
    """The count shown in place of a suppressed cell's count."""
    return f"<{min_cell}"


def _ordered(df: pd.DataFrame) -> pd.DataFrame:
    order = {g: i for i, g in enumerate(NEUROTYPE_GROUPS)}
    return df.assign(_o=df["group"].map(order)).sort_values("_o").drop(columns="_o")


def nothing_shown(groups: pd.DataFrame | None) -> bool:
    """True when no group has a figure to show: every group is suppressed or has no episodes."""
    if groups is None or groups.empty:
        return True
    sup = groups["suppressed"].fillna(False).astype(bool)
    return bool((sup | (groups["episodes"].fillna(0) == 0)).all())


def group_state(suppressed: bool, episodes: object, min_cell: int) -> str:
    """A group's one state, the same in every figure: ``n = 12``, ``<5: not shown``, or
    ``no episodes``."""
    if suppressed:
        return f"{esc(suppressed_label(min_cell))}: not shown"
    if is_missing(episodes) or int(float(episodes)) == 0:  # type: ignore[arg-type]
        return "no episodes"
    return f"n = {int(float(episodes))}"  # type: ignore[arg-type]


def group_ticks(g: pd.DataFrame, min_cell: int) -> list[str]:
    """Each group's tick label: its name in plain words and its state on a second line.

    The state sits under the axis, never over a marker, and a group without a value says
    why (``<5: not shown`` or ``no episodes``) instead of being blank.
    """
    sup = g["suppressed"].fillna(False).astype(bool)
    return [
        f"{GROUP_LABELS.get(str(x), esc(x))}<br>{group_state(bool(s), e, min_cell)}"
        for x, s, e in zip(g["group"], sup, g["episodes"], strict=True)
    ]


FILL = ("A wider date range, or the practice review, where the whole practice is pooled, "
        "would fill it.")


def empty_reason(groups: pd.DataFrame | None, *, min_cell: int, where: str,
                 fill: str = FILL) -> str:
    """Why the neurotype tab is empty and what would fill it (our own words)."""
    if groups is None or groups.empty or (groups["episodes"].fillna(0).sum() == 0 and not (
        groups["suppressed"].fillna(False).astype(bool).any()
    )):
        return f"No episodes in {where}, so there is no neurotype comparison. {fill}"
    sup = int(groups["suppressed"].fillna(False).astype(bool).sum())
    return (
        f"Each of the {sup} neurotype group(s) with episodes in {where} has fewer than "
        f"{min_cell}, so none is shown (privacy: a rate over so few would point at "
        f"individual clients). {fill}"
    )


def group_panels(panel: Callable[[str, str, Callable[[], go.Figure | None], str], Any],
                 groups: pd.DataFrame | None, grid: Callable[[], pd.DataFrame], *,
                 min_cell: int, empty: dict[str, str]) -> list[Any]:
    """The three neurotype panels of a caseload or of the practice — rates, early alliance,
    the tag × tag grid — each made by ``panel(name, title, draw, empty text)`` (the view's
    ``panel``); ``grid()`` computes the grid's table only when it is drawn."""
    return [
        panel("neurotype_rates", "Rates by neurotype match",
              lambda: group_rates_figure(groups, min_cell=min_cell), empty["rates"]),
        panel("neurotype_alliance", "Early alliance by neurotype match",
              lambda: group_alliance_figure(groups, min_cell=min_cell), empty["alliance"]),
        panel("neurotype_grid", "The tag × tag grid",
              lambda: tag_heatmap_figure(grid(), min_cell=min_cell), empty["grid"]),
    ]


def panel_empties(groups: pd.DataFrame | None, *, min_cell: int, where: str,
                  fill: str = FILL) -> dict[str, str]:
    """What each neurotype panel says when it has nothing to draw, each for its own reason:
    ``rates`` (no group shown), ``alliance`` (shown groups, none with alliance ratings) and
    ``grid`` (every tag × tag cell below ``min_cell``)."""
    return {
        "rates": empty_reason(groups, min_cell=min_cell, where=where, fill=fill),
        "alliance": (
            empty_reason(groups, min_cell=min_cell, where=where, fill=fill)
            if nothing_shown(groups)
            else f"The groups shown have no early alliance ratings in {where}."
        ),
        "grid": (
            f"Every therapist tag × client tag cell in {where} has fewer than {min_cell} "
            "episodes, so the grid is not shown (privacy). The groups above pool the tags; "
            "a wider date range would fill the grid."
        ),
    }


def group_rates_figure(groups: pd.DataFrame, *, min_cell: int = 5) -> go.Figure | None:
    """Drop-out, repair and reliable-improvement rates per neurotype group, with intervals.

    ``groups`` is ``neurotype.group_summary``.  Every group is on the axis with its state
    (:func:`group_ticks`): a suppressed group reads "<5: not shown" and has no rate.
    """
    if groups is None or groups.empty:
        return None
    g = _ordered(groups)
    labels = group_ticks(g, min_cell)
    sup = g["suppressed"].fillna(False).astype(bool).to_numpy()
    if nothing_shown(g):
        return None
    fig = go.Figure()
    for col, name, colour, noun, ncol in RATES:
        if col not in g:
            continue
        rate = g[col].where(~sup)
        lo, hi = g.get(f"{col}_low"), g.get(f"{col}_high")
        n = g[ncol] if ncol in g else g["episodes"]
        hover = [
            f"{lab}<br>{name}: {rate_text(r, a, b, k, noun)}"
            if not s else f"{lab}<br>fewer than {min_cell} episodes: not shown (privacy)"
            for lab, r, a, b, k, s in zip(
                labels,
                rate,
                lo if lo is not None else rate,
                hi if hi is not None else rate,
                n,
                sup,
                strict=True,
            )
        ]
        fig.add_trace(
            go.Scatter(
                x=labels,
                y=rate,
                mode="markers",
                name=name,
                marker={"size": 11, "color": colour},
                error_y=None
                if lo is None
                else {
                    "type": "data",
                    "symmetric": False,
                    "color": colour,
                    "array": (hi.where(~sup) - rate).tolist(),
                    "arrayminus": (rate - lo.where(~sup)).tolist(),
                },
                hovertext=hover,
                hoverinfo="text",
            )
        )
    style(fig, "Rates by neurotype match,<br>with 95% intervals", height=420)
    fig.update_layout(scattermode="group")
    fig.update_yaxes(title_text="rate", tickformat=".0%", range=[0, 1.05])
    # every group on the axis, those without a value too (plotly drops all-empty categories)
    fig.update_xaxes(title_text="", type="category", categoryorder="array",
                     categoryarray=labels, tickangle=0, range=[-0.5, len(labels) - 0.5])
    return fig


def group_alliance_figure(groups: pd.DataFrame, *, min_cell: int = 5) -> go.Figure | None:
    """Early alliance per neurotype group (mean over episodes, t-interval); each group's n or
    "<5: not shown" under its name (:func:`group_ticks`), never over its marker."""
    if groups is None or groups.empty or "early_alliance" not in groups:
        return None
    g = _ordered(groups)
    sup = g["suppressed"].fillna(False).astype(bool).to_numpy()
    if nothing_shown(g):
        return None
    labels = group_ticks(g, min_cell)
    m = g["early_alliance"].where(~sup)
    if m.isna().all():
        return None
    lo, hi = g["early_alliance_low"].where(~sup), g["early_alliance_high"].where(~sup)
    fig = go.Figure(
        go.Scatter(
            x=labels,
            y=m,
            mode="markers",
            marker={"size": 12, "color": OKABE_ITO["blue"]},
            name="early alliance",
            error_y={
                "type": "data",
                "symmetric": False,
                "array": (hi - m).tolist(),
                "arrayminus": (m - lo).tolist(),
                "color": OKABE_ITO["blue"],
            },
            hovertext=[
                f"{lab}<br>early alliance {mean_text(v, a, b, c, 'episodes')}"
                if not s
                else f"{lab}: fewer than {min_cell} episodes — not shown (privacy)"
                for lab, v, a, b, c, s in zip(labels, m, lo, hi, g["episodes"], sup, strict=True)
            ],
            hoverinfo="text",
        )
    )
    style(
        fig,
        "Early alliance (first three rated sessions)<br>by neurotype match",
        height=380,
        legend=False,
    )
    fig.update_layout(margin={"b": 70})
    fig.update_xaxes(type="category", categoryorder="array", categoryarray=labels, tickangle=0,
                     range=[-0.5, len(labels) - 0.5])
    fig.update_yaxes(title_text="early alliance, mean over episodes")
    return fig


def _ink(colour: str) -> str:
    """Black or white text, whichever reads on ``colour`` (``rgb(r, g, b)`` or ``#rrggbb``):
    WCAG relative luminance above 0.18 takes black (the crossover of the two contrasts)."""
    if colour.startswith("#"):
        rgb = [int(colour[i : i + 2], 16) for i in (1, 3, 5)]
    else:
        rgb = [int(float(v)) for v in colour[colour.index("(") + 1 : -1].split(",")[:3]]
    lin = [(c / 255) / 12.92 if c / 255 <= 0.04045 else ((c / 255 + 0.055) / 1.055) ** 2.4
           for c in rgb]
    lum = 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]
    return "#000000" if lum > 0.18 else "#ffffff"


def tag_heatmap_figure(
    grid: pd.DataFrame, *, value: str = "dropout_rate", min_cell: int = 5
) -> go.Figure | None:
    """Therapist tag × client tag heatmap of ``value``; suppressed cells read "<5", no colour.

    ``grid`` is ``neurotype.tag_grid``.  An episode whose client has two tags counts in
    both columns, so cells do not add up to the caseload.  Each cell's text is black or
    white by the lightness of its own colour (:func:`_ink`), tags in plain words.
    """
    if grid is None or grid.empty:
        return None
    g = grid.copy()
    sup = g["suppressed"].fillna(False).astype(bool)
    if sup.all():
        return None
    g["z"] = g[value].where(~sup)
    g["grey"] = np.where(sup, 1.0, np.nan)
    is_rate = value.endswith("_rate")
    g["txt"] = [
        esc(suppressed_label(min_cell))
        if s
        else f"{pct(v) if is_rate else ('—' if is_missing(v) else f'{v:.1f}')}<br>n={int(n)}"
        for s, v, n in zip(sup, g["z"], g["episodes"].fillna(0), strict=True)
    ]
    z = g.pivot(index="therapist_tag", columns="client_tag", values="z")
    txt = g.pivot(index="therapist_tag", columns="client_tag", values="txt").reindex_like(z)
    grey = g.pivot(index="therapist_tag", columns="client_tag", values="grey").reindex_like(z)
    ylab, xlab = [tag_label(i) for i in z.index], [tag_label(c) for c in z.columns]
    title = "Drop-out rate" if value == "dropout_rate" else "Early alliance"
    zv = z.to_numpy(dtype=float)
    lo_z = 0.0 if is_rate else float(np.nanmin(zv)) if np.isfinite(zv).any() else 0.0
    hi_z = 1.0 if is_rate else float(np.nanmax(zv)) if np.isfinite(zv).any() else 1.0
    fig = go.Figure(
        go.Heatmap(
            z=zv,
            x=xlab,
            y=ylab,
            text=txt.fillna("").to_numpy(),
            colorscale="Cividis",
            zmin=lo_z,
            zmax=hi_z,
            hoverongaps=False,
            hovertemplate="therapist tag %{y} × client tag %{x}<br>%{text}<extra></extra>",
            colorbar={"title": {"text": title}, "tickformat": ".0%" if is_rate else None},
        )
    )
    fig.add_trace(
        go.Heatmap(
            z=grey.to_numpy(dtype=float),
            x=xlab,
            y=ylab,
            colorscale=[[0, "#e6e6e6"], [1, "#e6e6e6"]],
            showscale=False,
            hoverongaps=False,
            hovertemplate="therapist tag %{y} × client tag %{x}: fewer than "
            f"{min_cell} episodes, not shown (privacy)<extra></extra>",
        )
    )
    _cell_texts(fig, zv, grey.to_numpy(dtype=float), txt.fillna("").to_numpy(), xlab, ylab,
                (lo_z, hi_z))
    style(
        fig,
        f"{title} by therapist tag × client tag<br>(“&lt;{min_cell}”: suppressed)",
        height=420,
        legend=False,
    )
    fig.update_xaxes(title_text="client neurotype tag", type="category")
    fig.update_yaxes(title_text="therapist neurotype tag", type="category")
    return fig


def _cell_texts(fig: go.Figure, z: np.ndarray, grey: np.ndarray, text: np.ndarray,
                xlab: list[str], ylab: list[str], zrange: tuple[float, float]) -> None:
    """One annotation per cell, its ink chosen against that cell's own colour."""
    lo, hi = zrange
    for i, y in enumerate(ylab):
        for j, x in enumerate(xlab):
            if not text[i, j]:
                continue
            if np.isfinite(z[i, j]):
                t = 0.0 if hi <= lo else min(max((z[i, j] - lo) / (hi - lo), 0.0), 1.0)
                colour = sample_colorscale("Cividis", [t])[0]
            elif np.isfinite(grey[i, j]):
                colour = "#e6e6e6"
            else:
                colour = "#ffffff"
            fig.add_annotation(x=x, y=y, text=str(text[i, j]), showarrow=False,
                               font={"size": 12, "color": _ink(colour)})


__all__ = [
    "CAUTION",
    "STAFF_TAGS",
    "empty_reason",
    "group_alliance_figure",
    "group_rates_figure",
    "group_state",
    "group_ticks",
    "panel_empties",
    "staff_tags_note",
    "suppressed_label",
    "tag_heatmap_figure",
]
