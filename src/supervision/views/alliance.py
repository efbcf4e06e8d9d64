"""Alliance trend figures (domain.md §3): by session number, by quarter, WAI-SR subscales."""

from __future__ import annotations

import ipywidgets as widgets
import pandas as pd
import plotly.graph_objects as go

from supervision.measures import Measure
from supervision.views.common import esc, html_panel, mean_text
from supervision.views.theme import (
    CONCERN,
    OKABE_ITO,
    OWN,
    PRACTICE,
    note_above_plot,
    note_lines,
    order_time_axis,
    rgba,
    style,
    time_order,
)

#: Per-client lines are drawn for at most this many episodes (one therapist's caseload).
MAX_CLIENT_LINES = 30

SUBSCALE_LABELS = {"wai_goal": "Goal", "wai_task": "Task", "wai_bond": "Bond"}
SUBSCALE_COLOURS = {
    "wai_goal": OKABE_ITO["orange"],
    "wai_task": OKABE_ITO["bluish_green"],
    "wai_bond": OKABE_ITO["reddish_purple"],
}


#: Below this many ratings at a point, the view says n is small there (the t-band widens
#: fast: t(.975, n−1)·sd/√n is about 1.3 sd at n = 5, 0.7 sd at n = 10).
SMALL_N = 10


def within_range(df: pd.DataFrame, lo: float, hi: float) -> pd.DataFrame:
    """``df`` with its 95% ``low``/``high`` clipped to the measure's range ``lo``–``hi``.

    A t-interval where few episodes remain can run past what the scale can hold (an SRS
    band above 40); the scale's range is where a mean can be, so the band is cut there.
    ``small`` marks the points with fewer than :data:`SMALL_N` ratings or a band that had
    to be cut: the view says n is small there.
    """
    out = df.copy()
    low, high = pd.to_numeric(out["low"]), pd.to_numeric(out["high"])
    cut = (low < lo) | (high > hi)
    out["low"], out["high"] = low.clip(lo, hi), high.clip(lo, hi)
    out["small"] = (pd.to_numeric(out["n"]) < SMALL_N) | cut
    return out


def until_few(
    df: pd.DataFrame, min_cell: int, x: str = "rated_index"
) -> tuple[pd.DataFrame, object]:
    """``df`` (sorted by ``x``) up to its first point with fewer than ``min_cell`` ratings.

    Returns the rows kept and the last ``x`` kept (None when nothing was cut).  Past that
    point a "mean" is one or two clients' own ratings: drawing it as the caseload's trend
    would read one client as the caseload (and show their ratings session by session).
    """
    d = df.sort_values(x, ignore_index=True)
    few = (pd.to_numeric(d["n"]).fillna(0) < min_cell).to_numpy()
    if not few.any():
        return d, None
    stop = int(few.argmax())
    kept = d.iloc[:stop].reset_index(drop=True)
    return kept, (kept[x].iloc[-1] if not kept.empty else None)


def _stop_note(fig: go.Figure, x: object, y: object, min_cell: int, colour: str) -> None:
    """Say at the end of a line that it stops there, and why."""
    fig.add_annotation(
        x=x, y=y, text=f"fewer than {min_cell} ratings<br>after session {esc(x)}",
        showarrow=True, arrowhead=0, ax=30, ay=-28, xanchor="left",
        font={"size": 11, "color": colour}, bgcolor="rgba(255,255,255,0.85)",
    )


def concern_line(fig: go.Figure, xs: list[object], level: float) -> None:
    """The concern level as a legend entry across ``xs``, never a label over a data point."""
    fig.add_trace(
        go.Scatter(
            x=xs, y=[level] * len(xs), mode="lines", name=f"concern below {level:g}",
            line={"color": CONCERN, "dash": "dot", "width": 2}, hoverinfo="skip",
        )
    )


def _hover(df: pd.DataFrame, x_label: str, noun: str) -> list[str]:
    small = df["small"] if "small" in df else pd.Series(False, index=df.index)
    return [
        f"{x_label} {esc(x)}<br>mean {mean_text(m, lo, hi, n, noun)}"
        + ("<br>few ratings here: the band is wide and cut at the scale's range" if sm else "")
        for x, m, lo, hi, n, sm in zip(
            df.iloc[:, 0], df["mean"], df["low"], df["high"], df["n"], small, strict=True
        )
    ]


def _mean_line(fig: go.Figure, rows: pd.DataFrame, colour: str, label: str, *, name: str,
               hover: str, width: int) -> None:
    """A series by rated session: its 95% band (:func:`_band`, named ``label``) and its mean
    as a line with markers, each point's hover giving the mean, interval and n of ratings."""
    _band(fig, rows["rated_index"], rows, colour, label)
    points = rows[["rated_index", "mean", "low", "high", "n", "small"]]
    fig.add_trace(go.Scatter(
        x=rows["rated_index"], y=rows["mean"], mode="lines+markers", name=name,
        line={"color": colour, "width": width}, hovertext=_hover(points, hover, "ratings"),
        hoverinfo="text",
    ))


def _small_note(fig: go.Figure, df: pd.DataFrame, x: str, what: str, rng: str) -> None:
    """Say above the plot from where on n is small (:func:`within_range`'s ``small``)."""
    if "small" not in df or not df["small"].any():
        return
    first = df.loc[df["small"], x].iloc[0]
    note_above_plot(fig, f"Few ratings (fewer than {SMALL_N}) from {what} {esc(first)} on: "
                    f"the band is wide there and cut at the scale's range ({rng})")


def _band(fig: go.Figure, x: pd.Series, df: pd.DataFrame, colour: str, name: str) -> None:
    """A translucent 95% band between ``low`` and ``high`` (rows with an interval only)."""
    ok = df["low"].notna() & df["high"].notna()
    if not ok.any():
        return
    xs = list(x[ok]) + list(x[ok])[::-1]
    ys = list(df.loc[ok, "high"]) + list(df.loc[ok, "low"])[::-1]
    fig.add_trace(
        go.Scatter(
            x=xs,
            y=ys,
            fill="toself",
            mode="lines",
            fillcolor=rgba(colour, 0.18),
            line={"width": 0},
            hoverinfo="skip",
            name=f"{name}: 95% band",
            showlegend=True,
        )
    )


def alliance_trend_figure(
    own: pd.DataFrame,
    measure: Measure,
    *,
    practice: pd.DataFrame | None = None,
    series: pd.DataFrame | None = None,
    own_label: str = "This caseload",
    practice_label: str = "Practice",
    min_cell: int = 5,
) -> go.Figure | None:
    """Mean alliance by rated-session number with its 95% band (t-interval over ratings).

    Parameters
    ----------
    own, practice
        ``alliance.alliance_by_session`` frames: ``rated_index, n, mean, sd, low, high``.
        Each line stops before its first session number with fewer than ``min_cell``
        ratings (:func:`until_few`), and says so at its end.
    measure
        The alliance measure; its ``concern_below`` (SRS: 36) is drawn as a line.
    series
        Optional ``alliance.episode_series`` (one therapist): one thin line per episode,
        at most :data:`MAX_CLIENT_LINES` episodes (the most recently started).
    """
    if own is None or own.empty:
        return None
    own, own_stop = until_few(own, min_cell)
    prac_stop = None
    if practice is not None and not practice.empty:
        practice, prac_stop = until_few(practice, min_cell)
        practice = within_range(practice, measure.min, measure.max) if not practice.empty else None
    if own.empty and (practice is None or practice.empty):
        return None
    fig = go.Figure()
    if own.empty:
        # not one session number with min_cell ratings: the practice alone, and say why
        fig.add_annotation(
            text=note_lines(f"{esc(own_label)}: fewer than {min_cell} ratings at its first "
                            "rated session, so no mean is drawn for it")[0],
            xref="paper", yref="paper", x=0, y=0.02, xanchor="left", yanchor="bottom",
            showarrow=False, font={"size": 11, "color": OWN},
            bgcolor="rgba(255,255,255,0.85)",
        )
    else:
        own = within_range(own, measure.min, measure.max)
        _mean_line(fig, own, OWN, own_label, name=f"{own_label}: mean", hover="Rated session",
                   width=3)
    if practice is not None and not practice.empty:
        fig.add_trace(
            go.Scatter(
                x=practice["rated_index"],
                y=practice["mean"],
                mode="lines",
                name=f"{practice_label}: mean",
                line={"color": PRACTICE, "width": 2, "dash": "dash"},
                hovertext=_hover(practice, f"{practice_label}, rated session", "ratings"),
                hoverinfo="text",
            )
        )
    if series is not None and not series.empty:
        _client_lines(fig, series)
    xs = sorted({*own["rated_index"], *([] if practice is None else practice["rated_index"])})
    if measure.concern_below is not None:
        concern_line(fig, [xs[0], xs[-1]], measure.concern_below)
    if own_stop is not None and not own.empty:
        _stop_note(fig, own_stop, own["mean"].iloc[-1], min_cell, OWN)
    if prac_stop is not None and practice is not None and not practice.empty:
        _stop_note(fig, prac_stop, practice["mean"].iloc[-1], min_cell, PRACTICE)
    style(fig, f"{esc(measure.name)}: mean by session number,<br>with 95% band", height=420)
    _small_note(fig, own, "rated_index", "rated session", f"{measure.min:g}–{measure.max:g}")
    fig.update_xaxes(title_text="rated session (1 = first rated session of the episode)", dtick=1)
    fig.update_yaxes(
        title_text=f"{esc(measure.key.upper())} ({measure.min:g}–{measure.max:g})",
        range=_y_range(measure, own, practice),
    )
    return fig


def _y_range(measure: Measure, *frames: pd.DataFrame | None) -> list[float]:
    """The y range: the scale's top, and low enough that every drawn band shows whole.

    The bands are already cut at the scale's range (:func:`within_range`), so the axis never
    runs past it; it starts 2 points under the lowest band (or 6 under the lowest mean).
    """
    lows = []
    for df in frames:
        if df is None or df.empty:
            continue
        lows += [float(pd.to_numeric(df["mean"]).min()) - 6,
                 float(pd.to_numeric(df["low"]).min()) - 2]
    finite = [v for v in lows if v == v]
    return [max(measure.min, min(finite)) if finite else measure.min, measure.max]


def _client_lines(fig: go.Figure, series: pd.DataFrame) -> None:
    firsts = series.groupby("episode_id")["session_date"].min().sort_values()
    keep = list(firsts.index[-MAX_CLIENT_LINES:])
    sub = series[series["episode_id"].isin(keep)].sort_values(["episode_id", "rated_index"])
    for i, (episode, rows) in enumerate(sub.groupby("episode_id", sort=True)):
        label = esc(episode)
        fig.add_trace(
            go.Scatter(
                x=rows["rated_index"],
                y=rows["value"],
                mode="lines",
                name=label,
                legendgroup="clients",
                legendgrouptitle_text="Episodes" if i == 0 else None,
                line={"width": 1, "color": rgba(OKABE_ITO["sky_blue"], 0.7)},
                hovertext=[
                    f"episode {label}<br>session {k}: {v:g}"
                    for k, v in zip(rows["rated_index"], rows["value"], strict=True)
                ],
                hoverinfo="text",
                showlegend=False,
            )
        )


def alliance_quarter_figure(
    own: pd.DataFrame,
    measure: Measure,
    *,
    practice: pd.DataFrame | None = None,
    own_label: str = "This caseload",
    practice_label: str = "Practice",
    min_cell: int = 5,
) -> go.Figure | None:
    """Mean alliance by calendar quarter with 95% intervals (``alliance_by_quarter`` frames).

    The quarters run in time order whatever order the traces bring them in
    (:func:`~supervision.views.theme.order_time_axis`); a quarter with fewer than
    ``min_cell`` ratings is not drawn, and the figure names those quarters.
    """
    if own is None or own.empty:
        return None
    fig = go.Figure()
    hidden: list[str] = []
    drawn: list[pd.DataFrame] = []
    for df, colour, name in ((own, OWN, own_label), (practice, PRACTICE, practice_label)):
        if df is None or df.empty:
            continue
        few = pd.to_numeric(df["n"]).fillna(0) < min_cell
        hidden += [str(q) for q in df.loc[few, "quarter"]]
        order = {q: i for i, q in enumerate(time_order(df["quarter"]))}
        df = df[~few].assign(_o=df["quarter"].astype(str).map(order)).sort_values("_o")
        if df.empty:
            continue
        df = within_range(df.drop(columns="_o").reset_index(drop=True), measure.min, measure.max)
        drawn.append(df)
        fig.add_trace(
            go.Scatter(
                x=df["quarter"],
                y=df["mean"],
                mode="lines+markers",
                name=name,
                line={"color": colour, "width": 3 if colour == OWN else 2},
                error_y={
                    "type": "data",
                    "symmetric": False,
                    "array": (df["high"] - df["mean"]).tolist(),
                    "arrayminus": (df["mean"] - df["low"]).tolist(),
                    "color": colour,
                },
                hovertext=_hover(df, f"{name}, quarter", "ratings"),
                hoverinfo="text",
            )
        )
    if not drawn:
        return None
    quarters = time_order(q for df in drawn for q in df["quarter"])
    if measure.concern_below is not None:
        concern_line(fig, [quarters[0], quarters[-1]], measure.concern_below)
    style(fig, f"{esc(measure.name)}: mean by calendar quarter,<br>with 95% intervals", height=360)
    _small_note(fig, drawn[0], "quarter", "quarter", f"{measure.min:g}–{measure.max:g}")
    axis = "quarter of the session"
    if hidden:  # said under the axis: above the plot it met the title's second line
        axis += (f"<br>not drawn (fewer than {min_cell} ratings): "
                 + ", ".join(esc(q) for q in time_order(hidden)))
    fig.update_xaxes(title_text=axis)
    order_time_axis(fig)
    fig.update_yaxes(title_text=esc(measure.key.upper()), range=_y_range(measure, *drawn))
    return fig


def subscale_figure(df: pd.DataFrame) -> go.Figure | None:
    """WAI-SR goal / task / bond (4–20 each) by rated session, with 95% bands."""
    if df is None or df.empty:
        return None
    fig = go.Figure()
    for sub, rows in df.groupby("subscale", sort=False):
        colour = SUBSCALE_COLOURS.get(str(sub), OKABE_ITO["grey"])
        label = SUBSCALE_LABELS.get(str(sub), esc(sub))
        rows = within_range(rows.sort_values("rated_index"), 4, 20)
        _mean_line(fig, rows, colour, label, name=label, hover=f"{label}, rated session",
                   width=2)
    style(fig, "WAI-SR subscales: goal, task and bond (4–20 each)", height=360)
    fig.update_xaxes(title_text="rated session", dtick=1)
    fig.update_yaxes(title_text="subscale mean", range=[4, 20])
    return fig




#: Plain names of the SRS items and WAI-SR subscales (the essay's bond, goals, collaboration
#: and fit, as the client rated them).
PART_LABELS = {
    "srs_relationship": "Relationship (bond)", "srs_goals": "Goals and topics",
    "srs_approach": "Approach or method (collaboration)", "srs_overall": "Overall (fit)",
    **SUBSCALE_LABELS,
}
DRIVER_KINDS = {"low": "At a low total (below the concern line), the part rated lowest",
                "falling": "At a falling total (1 point or more below the last rating), the "
                           "part that fell most"}


def _driver_cells(df: pd.DataFrame | None, kind: str, item: str) -> str:
    if df is None or df.empty:
        return "<td>—</td>"
    row = df[(df["kind"] == kind) & (df["item"] == item)]
    if row.empty:
        return "<td>—</td>"
    r = row.iloc[0]
    if bool(r["suppressed"]):
        return "<td>fewer than k episodes: not shown</td>"
    if not r["of_events"]:
        return "<td>none</td>"
    return (f"<td>{int(r['events'])} of {int(r['of_events'])} "
            f"({100 * float(r['share']):.0f}%)</td>")


def _driver_n(df: pd.DataFrame | None, kind: str) -> str:
    if df is None or df.empty:
        return "not available"
    k = df[df["kind"] == kind]
    if k.empty:
        return "not available"
    if bool(k["suppressed"].iloc[0]):
        return "fewer than k episodes"
    return f"{int(k['of_events'].iloc[0])} sessions, {int(k['episodes'].iloc[0])} episodes"


def item_drivers_panel(own: pd.DataFrame, practice: pd.DataFrame | None, *,
                       own_label: str, practice_label: str = "Practice") -> widgets.HTML:
    """Which item (SRS) or subscale (WAI-SR) drives a low or a falling total, for the scope
    and the practice, each with its n (:func:`supervision.clinical.alliance.item_drivers`)."""
    if own.empty:
        return html_panel('<div class="sv-empty">No alliance items or subscales in this '
                          "range.</div>", "sv-empty-panel")
    items = list(dict.fromkeys(own["item"]))
    blocks = []
    for kind in dict.fromkeys(own["kind"]):
        head = (f"<tr><th>{esc(DRIVER_KINDS.get(kind, kind))}</th>"
                f"<th>{own_label} ({_driver_n(own, kind)})</th>"
                f"<th>{esc(practice_label)} ({_driver_n(practice, kind)})</th></tr>")
        body = "".join(
            f"<tr><td>{esc(PART_LABELS.get(i, i))}</td>{_driver_cells(own, kind, i)}"
            f"{_driver_cells(practice, kind, i)}</tr>" for i in items)
        blocks.append(f"<table class='sv-table sv-item-drivers'>{head}{body}</table>")
    note = ("<p class='sv-note'>Which part of the alliance the client rated lowest when the "
            "total was low, and which fell most when it fell, as the client rated them. A "
            "session with a tie counts for each part it ties. A prompt for supervision, never "
            "a verdict.</p>")
    return html_panel("<p><b>What drives a low or falling alliance</b></p>" + note
                      + "".join(blocks), "sv-item-drivers-panel")


__all__ = [
    "MAX_CLIENT_LINES",
    "SMALL_N",
    "alliance_quarter_figure",
    "alliance_trend_figure",
    "concern_line",
    "item_drivers_panel",
    "subscale_figure",
    "until_few",
    "within_range",
]
