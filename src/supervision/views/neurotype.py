"""Neurotype-match figures (domain.md §6): six groups with intervals, tag × tag heatmap.

Suppressed cells (fewer than ``min_cell`` episodes, privacy.suppress_groups) show "<5"
(or "<min_cell") and no rate: the views never recompute a rate the metrics withheld.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from supervision.clinical.neurotype import MERGED_TAGS
from supervision.schema import NEUROTYPE_GROUPS
from supervision.views.common import esc, is_missing, mean_text, pct, rate_text
from supervision.views.theme import GROUP_LABELS, OKABE_ITO, style

CAUTION = (
    "These are <b>associations in a small sample, not causes</b>. Clients and therapists are "
    "not matched at random, groups are small, and a difference here may come from referral, "
    "caseload mix or chance. Use them to ask questions in supervision, not to draw conclusions. "
    "Groups with fewer than {min_cell} episodes show “&lt;{min_cell}” and no rates (privacy)."
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


def group_rates_figure(groups: pd.DataFrame, *, min_cell: int = 5) -> go.Figure | None:
    """Drop-out, repair and reliable-improvement rates per neurotype group, with intervals.

    ``groups`` is ``neurotype.group_summary``.  A suppressed group gets a "<5" marker at 0
    and no rate.
    """
    if groups is None or groups.empty:
        return None
    g = _ordered(groups)
    labels = [GROUP_LABELS.get(str(x), esc(x)) for x in g["group"]]
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
            for lab, r, a, b, k in zip(
                labels,
                rate,
                lo if lo is not None else rate,
                hi if hi is not None else rate,
                n,
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
    _suppressed_marks(fig, labels, sup, min_cell)
    style(fig, "Rates by neurotype match, with 95% intervals", height=380)
    fig.update_layout(scattermode="group")
    fig.update_yaxes(title_text="rate", tickformat=".0%", range=[0, 1.05])
    fig.update_xaxes(title_text="therapist–client neurotype group")
    return fig


def _suppressed_marks(
    fig: go.Figure, labels: list[str], sup: np.ndarray, min_cell: int, *, y: float = 0.03
) -> None:
    if not sup.any():
        return
    xs = [lab for lab, s in zip(labels, sup, strict=True) if s]
    fig.add_trace(
        go.Scatter(
            x=xs,
            y=[y] * len(xs),
            mode="text",
            text=[esc(suppressed_label(min_cell))] * len(xs),
            textfont={"size": 14, "color": OKABE_ITO["black"]},
            name=f"fewer than {min_cell} episodes",
            hovertext=[f"{x}: fewer than {min_cell} episodes — not shown (privacy)" for x in xs],
            hoverinfo="text",
        )
    )


def group_alliance_figure(groups: pd.DataFrame, *, min_cell: int = 5) -> go.Figure | None:
    """Early alliance per neurotype group (mean over episodes, t-interval), n beside each."""
    if groups is None or groups.empty or "early_alliance" not in groups:
        return None
    g = _ordered(groups)
    sup = g["suppressed"].fillna(False).astype(bool).to_numpy()
    if nothing_shown(g):
        return None
    labels = [GROUP_LABELS.get(str(x), esc(x)) for x in g["group"]]
    m = g["early_alliance"].where(~sup)
    lo, hi = g["early_alliance_low"].where(~sup), g["early_alliance_high"].where(~sup)
    counts = [
        suppressed_label(min_cell) if s else f"{int(e)}"
        for s, e in zip(sup, g["episodes"].fillna(0), strict=True)
    ]
    fig = go.Figure(
        go.Scatter(
            x=labels,
            y=m,
            mode="markers+text",
            marker={"size": 12, "color": OKABE_ITO["blue"]},
            text=[f"n = {esc(c)}" for c in counts],
            textposition="top center",
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
    shown = lo.to_numpy(dtype=float, na_value=np.nan)
    base = float(np.nanmin(shown)) if np.isfinite(shown).any() else 0.0
    _suppressed_marks(fig, labels, sup, min_cell, y=base)
    style(
        fig,
        "Early alliance (first three rated sessions) by neurotype match",
        height=340,
        legend=False,
    )
    fig.update_yaxes(title_text="early alliance, mean over episodes")
    return fig


def tag_heatmap_figure(
    grid: pd.DataFrame, *, value: str = "dropout_rate", min_cell: int = 5
) -> go.Figure | None:
    """Therapist tag × client tag heatmap of ``value``; suppressed cells read "<5", no colour.

    ``grid`` is ``neurotype.tag_grid``.  An episode whose client has two tags counts in
    both columns, so cells do not add up to the caseload.
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
    ylab, xlab = [esc(i) for i in z.index], [esc(c) for c in z.columns]
    title = "Drop-out rate" if value == "dropout_rate" else "Early alliance"
    fig = go.Figure(
        go.Heatmap(
            z=z.to_numpy(dtype=float),
            x=xlab,
            y=ylab,
            text=txt.fillna("").to_numpy(),
            texttemplate="%{text}",
            colorscale="Cividis",
            zmin=0 if is_rate else None,
            zmax=1 if is_rate else None,
            hoverongaps=False,
            hovertemplate="therapist tag %{y} × client tag %{x}<br>%{text}<extra></extra>",
            colorbar={"title": {"text": title}, "tickformat": ".0%" if is_rate else None},
        )
    )
    grey = g.pivot(index="therapist_tag", columns="client_tag", values="grey").reindex_like(z)
    fig.add_trace(
        go.Heatmap(
            z=grey.to_numpy(dtype=float),
            x=xlab,
            y=ylab,
            text=txt.fillna("").to_numpy(),
            texttemplate="%{text}",
            colorscale=[[0, "#e6e6e6"], [1, "#e6e6e6"]],
            showscale=False,
            hoverongaps=False,
            hovertemplate="therapist tag %{y} × client tag %{x}: fewer than "
            f"{min_cell} episodes, not shown (privacy)<extra></extra>",
        )
    )
    style(
        fig,
        f"{title} by therapist tag × client tag (“&lt;{min_cell}”: suppressed)",
        height=380,
        legend=False,
    )
    fig.update_xaxes(title_text="client neurotype tag", type="category")
    fig.update_yaxes(title_text="therapist neurotype tag", type="category")
    return fig


__all__ = [
    "CAUTION",
    "STAFF_TAGS",
    "group_alliance_figure",
    "group_rates_figure",
    "staff_tags_note",
    "suppressed_label",
    "tag_heatmap_figure",
]
