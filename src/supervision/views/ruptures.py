"""Rupture and repair figures (domain.md §4): timeline per episode, rates, sessions to repair."""

from __future__ import annotations

import math
from collections.abc import Mapping

import pandas as pd
import plotly.graph_objects as go

from supervision.views.common import esc, is_missing, num, rate_point, rate_text
from supervision.views.theme import OKABE_ITO, OWN, PRACTICE, RUPTURE_TYPE_LABELS, style

#: The timeline shows at most this many episodes (those with the latest ruptures).
MAX_TIMELINE_EPISODES = 40

_MARKERS = {
    ("flagged", True): ("diamond", OKABE_ITO["bluish_green"], "Flagged, repaired"),
    ("flagged", False): ("diamond-open", OKABE_ITO["vermillion"], "Flagged, not repaired"),
    ("drop", True): ("triangle-down", OKABE_ITO["blue"], "Alliance drop, repaired"),
    ("drop", False): ("triangle-down-open", OKABE_ITO["orange"], "Alliance drop, not repaired"),
}


def _event_hover(rows: pd.DataFrame) -> list[str]:
    out = []
    for r in rows.itertuples(index=False):
        kind = "clinician-flagged" if r.kind == "flagged" else "alliance drop"
        rtype = RUPTURE_TYPE_LABELS.get(str(r.rupture_type), esc(r.rupture_type))
        repaired = (
            f"repaired after {int(r.sessions_to_repair)} session(s)"
            if bool(r.repaired) and not is_missing(r.sessions_to_repair)
            else ("repaired" if bool(r.repaired) else "not repaired (yet)")
        )
        drop = "" if is_missing(r.drop_points) else f"<br>drop of {num(r.drop_points, 0)} points"
        out.append(
            f"episode {esc(r.episode_id)}<br>session {int(r.attended_index)} "
            f"({esc(r.session_date)})<br>{kind} rupture, 3RS type: {rtype}{drop}<br>{repaired}"
        )
    return out


def rupture_timeline_figure(events: pd.DataFrame) -> go.Figure | None:
    """One row per episode: each rupture session at its attended-session number.

    ``events`` is a ``ruptures.rupture_events`` frame (one therapist).  Marker shape is the
    kind (diamond = clinician-flagged, triangle = alliance drop); filled = repaired, open =
    not repaired, so the distinction never rests on colour alone.
    """
    if events is None or events.empty:
        return None
    latest = events.groupby("episode_id")["session_date"].max().sort_values()
    keep = list(latest.index[-MAX_TIMELINE_EPISODES:])
    ev = events[events["episode_id"].isin(keep)].copy()
    ev["label"] = ev["episode_id"].map(esc)
    order = [esc(e) for e in keep]
    fig = go.Figure()
    for (kind, repaired), (symbol, colour, name) in _MARKERS.items():
        rows = ev[(ev["kind"] == kind) & (ev["repaired"].fillna(False).astype(bool) == repaired)]
        fig.add_trace(
            go.Scatter(
                x=rows["attended_index"],
                y=rows["label"],
                mode="markers",
                name=name,
                marker={
                    "symbol": symbol,
                    "size": 12,
                    "color": colour,
                    "line": {"width": 2, "color": colour},
                },
                hovertext=_event_hover(rows),
                hoverinfo="text",
                visible=True if len(rows) else "legendonly",
            )
        )
    shown = f" (the {len(keep)} with the latest ruptures)" if len(latest) > len(keep) else ""
    style(fig, f"Ruptures per episode{shown}", height=max(300, 80 + 24 * len(keep)) + 40)
    # The shared legend sits at a fraction of the plot's height below it, which on a short
    # timeline lands on the x-axis title: anchor it to the figure's bottom edge instead,
    # in a bottom margin tall enough for the tick labels, the title and the legend.
    fig.update_layout(margin={"b": 95},
                      legend={"yref": "container", "y": 0.0, "yanchor": "bottom"})
    fig.update_xaxes(title_text="attended session number", rangemode="tozero",
                     title_standoff=8)
    fig.update_yaxes(
        title_text="episode", categoryorder="array", categoryarray=order, type="category"
    )
    return fig


def repair_rate_figure(
    own: Mapping[str, object] | None,
    practice: Mapping[str, object] | None,
    *,
    own_label: str = "This caseload",
) -> go.Figure | None:
    """Repair rate (repaired / ruptures) with Wilson 95% intervals, own beside the practice.

    ``own`` and ``practice`` are rows of ``ruptures.rupture_summary`` (as mappings).
    """
    rows = [(own_label, own, OWN), ("Practice", practice, PRACTICE)]
    rows = [(n, r, c) for n, r, c in rows if r is not None]
    if not rows or all(is_missing(r.get("repair_rate")) for _, r, _ in rows):
        return None
    fig = go.Figure()
    for name, r, colour in rows:
        rate = r.get("repair_rate")
        lo, hi = r.get("repair_rate_low"), r.get("repair_rate_high")
        fig.add_trace(rate_point(
            name, rate, lo, hi, colour,
            f"{esc(name)}: repair rate {rate_text(rate, lo, hi, r.get('count'), 'ruptures')}"
            f"<br>{int(r.get('count') or 0)} ruptures in "
            f"{int(r.get('attended_sessions') or 0)} attended sessions "
            f"({num(r.get('per_100_sessions'))} per 100)",
        ))
    style(fig, "Repair rate, with 95% intervals", height=240, legend=False)
    fig.update_xaxes(title_text="share of ruptures repaired", tickformat=".0%", range=[0, 1])
    return fig


def sessions_to_repair_figure(events: pd.DataFrame) -> go.Figure | None:
    """How many rated sessions repaired ruptures took (median shown in the title)."""
    if events is None or events.empty:
        return None
    rep = events[
        events["repaired"].fillna(False).astype(bool) & events["sessions_to_repair"].notna()
    ]
    if rep.empty:
        return None
    counts = rep.groupby(["sessions_to_repair", "kind"]).size().rename("n").reset_index()
    fig = go.Figure()
    for kind, colour, name in (
        ("flagged", OKABE_ITO["bluish_green"], "clinician-flagged"),
        ("drop", OKABE_ITO["blue"], "alliance drop"),
    ):
        rows = counts[counts["kind"] == kind]
        fig.add_trace(
            go.Bar(
                x=rows["sessions_to_repair"],
                y=rows["n"],
                name=name,
                marker_color=colour,
                hovertext=[
                    f"{name}: {n} repaired after {int(k)} session(s)"
                    for k, n in zip(rows["sessions_to_repair"], rows["n"], strict=True)
                ],
                hoverinfo="text",
            )
        )
    med = float(rep["sessions_to_repair"].median())
    style(fig, f"Sessions to repair (median {med:g}, n = {len(rep)} repaired ruptures)<br>"
          "<sup>0 = repaired in the same session</sup>", height=320)
    fig.update_layout(barmode="stack")
    top_x = float(rep["sessions_to_repair"].max())
    top_y = int(counts.groupby("sessions_to_repair")["n"].sum().max())
    fig.update_xaxes(title_text="sessions from rupture to repair", dtick=1,
                     range=[-0.5, top_x + 0.5])
    # counts of ruptures: whole-number ticks only
    fig.update_yaxes(title_text="ruptures", tick0=0, dtick=max(1, math.ceil(top_y / 6)),
                     rangemode="tozero")
    return fig


__all__ = [
    "MAX_TIMELINE_EPISODES",
    "repair_rate_figure",
    "rupture_timeline_figure",
    "sessions_to_repair_figure",
]
