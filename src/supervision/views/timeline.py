"""The case timeline (domain.md §12): one episode on one screen, drawn, never computed.

Everything drawn here comes from :func:`supervision.timeline.case_timeline`; this module
only lays it out: one plotly figure whose rows share the session axis (attendance, alliance
per measure with its concern line, ruptures with their repair, outcome per measure against
the expected-response band with sudden gains and losses), a header and the notes.  Every
string from an export (ids, measure names from a practice's measure file) goes through
:func:`~.common.esc`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import ipywidgets as widgets
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from supervision.errors import SupervisionError
from supervision.timeline import EpisodeNotFound, Timeline
from supervision.views.cases import reason_text
from supervision.views.common import (
    empty_state,
    error_panel,
    esc,
    figure_panel,
    guarded,
    html_panel,
    num,
)
from supervision.views.theme import (
    CONCERN,
    OKABE_ITO,
    OWN,
    PRACTICE,
    TERMINATION_LABELS,
    rgba,
    style,
)

log = logging.getLogger("supervision.views")

#: Brings the visible case timeline into view once it is opened (a click in the open caseload
#: switches tab and opens it below the list of cases).  Runs in the page only; sends nothing.
SCROLL_JS = """setTimeout(() => {
  const el = [...document.querySelectorAll('.sv-timeline')].find(e => e.offsetParent !== null);
  if (el) { el.scrollIntoView({block: 'start'}); }
}, 300);"""

CAPTION = (
    "A prompt for reflection in supervision, never a verdict on the client or the therapist: "
    "single ratings move by chance, and the band shows how comparable clients of this practice "
    "went, not how this one should."
)
ATTENDANCE_STYLE = {
    "attended": ("Attended", "circle", OWN),
    "cancelled": ("Cancelled", "circle-open", PRACTICE),
    "no_show": ("No-show", "x", CONCERN),
}
GAIN = OKABE_ITO["bluish_green"]
REPAIR = OKABE_ITO["bluish_green"]
BAND = OKABE_ITO["sky_blue"]
ROW_PX = {"attendance": 70, "alliance": 170, "items": 150, "ruptures": 90, "outcome": 200}
#: Plain names of the alliance items (SRS) and subscales (WAI-SR) under the total.
ITEM_LABELS = {
    "srs_relationship": "Relationship (bond)", "srs_goals": "Goals and topics",
    "srs_approach": "Approach or method (collaboration)", "srs_overall": "Overall (fit)",
    "wai_goal": "Goal", "wai_task": "Task", "wai_bond": "Bond",
}
ITEM_COLOURS = [OKABE_ITO["orange"], OKABE_ITO["bluish_green"], OKABE_ITO["reddish_purple"],
                OKABE_ITO["sky_blue"]]


def _rows(tl: Timeline) -> list[tuple[str, str | None, str]]:
    """(kind, measure, title) of each row of the figure, top to bottom."""
    m = tl.measures
    rows = [("attendance", None, "Attendance")]
    for k in tl.alliance_measures:
        line = (f"concern below {num(m[k].concern_below, 0)}" if m[k].concern_below is not None
                else "no fixed concern line: read it against the episode's own series")
        rows.append(("alliance", k, f"Alliance: {esc(m[k].name)} ({line})"))
        if (tl.items["measure"] == k).any():
            what = "items" if m[k].items else "subscales"
            rows.append(("items", k, f"{esc(m[k].name)} {what}, as the client rated them"))
    rows.append(("ruptures", None, "Ruptures flagged and alliance drops, with their repair"))
    for k in tl.outcome_measures:
        better = "lower is better" if m[k].better == "lower" else "higher is better"
        rows.append(("outcome", k, f"Outcome: {esc(m[k].name)} ({better}) against the "
                                   "practice's expected response"))
    return rows


def _hover_dates(tl: Timeline) -> dict[int, str]:
    return {int(s): str(d)[:10] for s, d in zip(tl.sessions["session"],
                                                 tl.sessions["session_date"], strict=True)}


def _attendance(fig: go.Figure, tl: Timeline, row: int) -> None:
    s = tl.sessions
    for code, (label, symbol, colour) in ATTENDANCE_STYLE.items():
        part = s[s["attendance"] == code]
        if part.empty:
            continue
        fig.add_trace(go.Scatter(
            x=part["session"], y=[label] * len(part), mode="markers", name=label,
            marker={"symbol": symbol, "size": 12, "color": colour, "line": {"width": 2}},
            customdata=[str(d)[:10] for d in part["session_date"]],
            hovertemplate=f"session %{{x}} · %{{customdata}}<br>{label}<extra></extra>",
            legendgroup="attendance",
        ), row=row, col=1)
    fig.update_yaxes(categoryorder="array", showgrid=False, row=row, col=1,
                     categoryarray=[v[0] for v in ATTENDANCE_STYLE.values()][::-1])


def _level(fig: go.Figure, tl: Timeline, y: float, label: str, colour: str, dash: str,
           row: int) -> None:
    """A horizontal reference line across the sessions, labelled at its right end."""
    n = int(tl.sessions["session"].max()) if len(tl.sessions) else 1
    fig.add_trace(go.Scatter(
        x=[0.5, n + 0.5], y=[y, y], mode="lines+text", text=["", label],
        textposition="top left", textfont={"color": colour, "size": 11},
        line={"color": colour, "dash": dash, "width": 1.5}, showlegend=False,
        hovertemplate=f"{label}<extra></extra>",
    ), row=row, col=1)


def _alliance(fig: go.Figure, tl: Timeline, key: str, row: int, first: bool) -> None:
    m = tl.measures[key]
    a = tl.alliance[tl.alliance["measure"] == key]
    fig.add_trace(go.Scatter(
        x=a["session"], y=a["value"], mode="lines+markers", name="Alliance rating",
        line={"color": OWN}, marker={"size": 7}, showlegend=first, legendgroup="alliance",
        customdata=[[str(d)[:10], int(i)] for d, i in zip(a["session_date"], a["rated_index"],
                                                           strict=True)],
        hovertemplate=(f"{esc(m.name)}: %{{y}}<br>session %{{x}} · %{{customdata[0]}} "
                       "(rated session %{customdata[1]})<extra></extra>"),
    ), row=row, col=1)
    if m.concern_below is not None:
        _level(fig, tl, float(m.concern_below), f"concern below {num(m.concern_below, 0)}",
               CONCERN, "dash", row)
    drops = tl.ruptures[(tl.ruptures["kind"] == "drop") & (tl.ruptures["measure"] == key)]
    at = a.set_index("session")["value"]
    if not drops.empty:
        fig.add_trace(go.Scatter(
            x=drops["session"], y=[at.get(s) for s in drops["session"]], mode="markers",
            name="Alliance drop", marker={"symbol": "triangle-down", "size": 13,
                                          "color": CONCERN},
            showlegend=first, legendgroup="drop",
            customdata=[num(p) for p in drops["drop_points"]],
            hovertemplate="alliance drop of %{customdata} points at session %{x}<extra></extra>",
        ), row=row, col=1)
    fig.update_yaxes(range=[m.min, m.max], row=row, col=1)


def _items(fig: go.Figure, tl: Timeline, key: str, row: int) -> None:
    """The measure's items (SRS, 0–10) or subscales (WAI-SR, 4–20) under its total."""
    m = tl.measures[key]
    it = tl.items[tl.items["measure"] == key]
    for i, (item, part) in enumerate(it.groupby("item", sort=False)):
        label = ITEM_LABELS.get(str(item), esc(item))
        fig.add_trace(go.Scatter(
            x=part["session"], y=part["value"], mode="lines+markers", name=label,
            line={"color": ITEM_COLOURS[i % len(ITEM_COLOURS)], "width": 1.5},
            marker={"size": 5}, legendgroup=f"item-{item}",
            hovertemplate=f"{label}: %{{y}}<br>session %{{x}}<extra></extra>",
        ), row=row, col=1)
    if m.item_min is not None and m.item_max is not None:
        fig.update_yaxes(range=[m.item_min, m.item_max], row=row, col=1)


def _critical(fig: go.Figure, tl: Timeline, key: str, row: int) -> None:
    """Sessions whose critical item (PHQ-9 item 9) is above 0, marked on the measure's row."""
    c = tl.critical[(tl.critical["measure"] == key) & (tl.critical["value"].astype(float) > 0)]
    if c.empty:
        return
    o = tl.outcomes[tl.outcomes["measure"] == key].set_index("session")["score"]
    y = [o.get(x, tl.measures[key].max) for x in c["session"]]
    fig.add_trace(go.Scatter(
        x=c["session"], y=y, mode="markers", name="Item 9 above 0 (check risk)",
        marker={"symbol": "diamond-open", "size": 20, "color": CONCERN, "line": {"width": 3}},
        customdata=[num(v, 0) for v in c["value"]], legendgroup="risk",
        hovertemplate="item 9 = %{customdata} at session %{x}: check risk<extra></extra>",
    ), row=row, col=1)


def _rupture_label(r: pd.Series) -> str:
    what = ("flagged rupture: " + esc(r["rupture_type"]) if r["kind"] == "flagged"
            else f"alliance drop of {num(r['drop_points'])} points on {esc(r['measure'])}")
    if r["repaired"]:
        unit = "attended" if r["kind"] == "flagged" else "rated"
        k = int(r["sessions_to_repair"])
        return f"{what}<br>repaired {k} {unit} session{'s' if k != 1 else ''} later"
    return f"{what}<br>not repaired (yet)"


def _ruptures(fig: go.Figure, tl: Timeline, row: int) -> None:
    r = tl.ruptures
    labels = {"flagged": "Flagged", "drop": "Alliance drop"}
    for _, ev in r.iterrows():
        y = labels[ev["kind"]]
        if ev["repaired"] and not pd.isna(ev["repair_session"]):
            fig.add_trace(go.Scatter(
                x=[ev["session"], ev["repair_session"]], y=[y, y], mode="lines+markers",
                line={"color": REPAIR, "width": 3}, showlegend=False, hoverinfo="skip",
                marker={"symbol": ["circle", "star"], "size": [1, 13], "color": REPAIR},
            ), row=row, col=1)
    for repaired, name, colour, symbol in ((True, "Rupture, repaired", REPAIR, "diamond"),
                                           (False, "Rupture, not repaired", CONCERN, "diamond")):
        part = r[r["repaired"] == repaired]
        if part.empty:
            continue
        fig.add_trace(go.Scatter(
            x=part["session"], y=[labels[k] for k in part["kind"]], mode="markers", name=name,
            marker={"symbol": symbol, "size": 13, "color": colour}, legendgroup="rupture",
            text=[_rupture_label(x) for _, x in part.iterrows()],
            hovertemplate="session %{x}<br>%{text}<extra></extra>",
        ), row=row, col=1)
    fig.update_yaxes(categoryorder="array", categoryarray=["Alliance drop", "Flagged"],
                     range=[-0.6, 1.6], showgrid=False, row=row, col=1)
    if r.empty:  # in the middle of this row's own axes (not the first row's)
        sp = fig.get_subplot(row, 1)
        xref, yref = (a.plotly_name.replace("axis", "") + " domain"
                      for a in (sp.xaxis, sp.yaxis))
        fig.add_annotation(text="no ruptures flagged and no alliance drops", showarrow=False,
                           x=0.5, y=0.5, xref=xref, yref=yref, font={"color": "#555"})


def _band(fig: go.Figure, o: pd.DataFrame, lo: str, hi: str, name: str, alpha: float,
          row: int, first: bool) -> None:
    b = o.dropna(subset=[lo, hi])
    if b.empty:
        return
    x = list(b["session"]) + list(b["session"])[::-1]
    y = list(b[lo]) + list(b[hi])[::-1]
    fig.add_trace(go.Scatter(
        x=x, y=y, fill="toself", mode="lines", line={"width": 0}, name=name,
        fillcolor=rgba(BAND, alpha), hoverinfo="skip", showlegend=first, legendgroup=name,
    ), row=row, col=1)


def _span(r: pd.Series, lo: int, hi: int) -> str:
    """``"4.8–14.5"``: a band's two scores, low to high whichever way the measure runs."""
    a, b = sorted((float(r[f"p{lo}"]), float(r[f"p{hi}"])))
    return f"{num(a)}–{num(b)}"


def _band_hover(o: pd.DataFrame) -> list[str]:
    out = []
    for _, r in o.iterrows():
        if pd.isna(r["band_n"]):
            out.append("no band here")
            continue
        out.append(
            f"comparable clients (intake ± {int(r['band_width'])}, n = {int(r['band_n'])}): "
            f"middle half {_span(r, 25, 75)}, 8 in 10 {_span(r, 10, 90)}")
    return out


def _outcome(fig: go.Figure, tl: Timeline, key: str, row: int, first: bool) -> None:
    m = tl.measures[key]
    o = tl.outcomes[tl.outcomes["measure"] == key]
    _band(fig, o, "p10", "p90", "Expected 10–90%", 0.22, row, first)
    _band(fig, o, "p25", "p75", "Expected 25–75%", 0.45, row, first)
    if o["p50"].notna().any():
        fig.add_trace(go.Scatter(
            x=o["session"], y=o["p50"], mode="lines", name="Expected median",
            line={"color": BAND, "dash": "dot"}, showlegend=first, legendgroup="median",
            hoverinfo="skip"), row=row, col=1)
    fig.add_trace(go.Scatter(
        x=o["session"], y=o["score"], mode="lines+markers", name="Outcome score",
        line={"color": OKABE_ITO["black"]}, marker={"size": 7}, showlegend=first,
        legendgroup="score", text=_band_hover(o),
        customdata=[[str(d)[:10], int(k), num(c, 0)] for d, k, c in
                    zip(o["session_date"], o["scored_index"], o["change"], strict=True)],
        hovertemplate=(f"{esc(m.name)}: %{{y}} (change %{{customdata[2]}})<br>session %{{x}} · "
                       "%{customdata[0]} (scored session %{customdata[1]})<br>%{text}"
                       "<extra></extra>"),
    ), row=row, col=1)
    if m.clinical_cutoff is not None:
        _level(fig, tl, float(m.clinical_cutoff), f"clinical cut-off {num(m.clinical_cutoff, 0)}",
               PRACTICE, "dot", row)
    _sudden(fig, tl, key, row)
    _critical(fig, tl, key, row)
    fig.update_yaxes(range=[m.min, m.max], row=row, col=1)


def _sudden(fig: go.Figure, tl: Timeline, key: str, row: int) -> None:
    ev = tl.sudden[tl.sudden["measure"] == key]
    for _, e in ev.iterrows():
        gain = e["kind"] == "gain"
        colour = GAIN if gain else CONCERN
        word = "Sudden gain" if gain else "Sudden loss"
        rev = "; later reversed" if e["reversal"] else ""
        fig.add_trace(go.Scatter(
            x=[e["pregain_session"], e["postgain_session"]],
            y=[e["pregain_score"], e["postgain_score"]], mode="lines+markers",
            line={"color": colour, "width": 5}, name=word, legendgroup=word,
            marker={"symbol": ["circle", "star"], "size": [6, 15], "color": colour},
            showlegend=not any(t.name == word for t in fig.data),
            hovertemplate=(f"{word} of {num(e['magnitude'], 0)} points, sessions "
                           f"{int(e['pregain_session'])}→{int(e['postgain_session'])}{rev}"
                           "<extra></extra>"),
        ), row=row, col=1)


def timeline_figure(tl: Timeline) -> go.Figure:
    """One figure, rows sharing the session axis (see the module docstring)."""
    rows = _rows(tl)
    px = [ROW_PX[k] for k, _, _ in rows]
    fig = make_subplots(rows=len(rows), cols=1, shared_xaxes=True, vertical_spacing=0.045,
                        row_heights=[p / sum(px) for p in px],
                        subplot_titles=[t for _, _, t in rows])
    seen: set[str] = set()
    for i, (kind, key, _) in enumerate(rows, start=1):
        if kind == "attendance":
            _attendance(fig, tl, i)
        elif kind == "alliance":
            _alliance(fig, tl, key, i, first=kind not in seen)  # type: ignore[arg-type]
        elif kind == "items":
            _items(fig, tl, key, i)  # type: ignore[arg-type]
        elif kind == "ruptures":
            _ruptures(fig, tl, i)
        else:
            _outcome(fig, tl, key, i, first=kind not in seen)  # type: ignore[arg-type]
        seen.add(kind)
    n = int(tl.sessions["session"].max()) if len(tl.sessions) else 1
    dates = _hover_dates(tl)
    ticks = list(range(1, n + 1))
    fig.update_xaxes(range=[0.5, n + 0.5], tickmode="array", tickvals=ticks, showgrid=True,
                     gridcolor="#eee")
    fig.update_xaxes(ticktext=[f"{s}<br>{dates.get(s, '')[5:]}" for s in ticks],
                     title_text="Session (scheduled, with its date: month-day)",
                     row=len(rows), col=1)
    style(fig, f"Episode {esc(tl.episode_id)}: session by session",
          height=sum(px) + 60 * len(rows) + 140)
    fig.update_layout(legend={"y": -0.06 - 40 / (sum(px) + 60 * len(rows))},
                      margin={"t": 70, "b": 110}, hovermode="closest")
    for a in fig.layout.annotations:
        if a.text in {t for _, _, t in rows}:
            a.update(font={"size": 12}, x=0, xanchor="left")
    return fig


def _header(tl: Timeline, *, therapist_view: bool) -> widgets.HTML:
    s = tl.sessions
    counts = s["attendance"].value_counts()
    att = ", ".join(f"{int(counts.get(c, 0))} {ATTENDANCE_STYLE[c][0].lower()}"
                    for c in ATTENDANCE_STYLE)
    ending = TERMINATION_LABELS.get(tl.termination, esc(tl.termination))
    dates = f"{tl.start_date} to {tl.end_date or 'now (ongoing)'}"
    listed = (f"<p><b>Why it is listed:</b> {reason_text(tl.reasons)}.</p>" if tl.reasons
              else "<p>Not among the cases to discuss right now.</p>")
    who = "" if therapist_view else f" · therapist {esc(tl.therapist_id)}"
    risk = tl.risk_sessions
    flag = (f'<div class="sv-error sv-risk-flag"><b>Item 9 above 0</b> at session'
            f"{'s' if len(risk) > 1 else ''} {', '.join(str(x) for x in risk)}"
            f"{' (the latest scored session: check risk)' if 'risk_item' in tl.reasons else ''}"
            ".</div>" if risk else "")
    body = (f"<h3>Case timeline: episode {esc(tl.episode_id)}{who}</h3>"
            f"<p>{esc(dates)} · {esc(ending)} · {len(s)} sessions scheduled ({esc(att)})</p>"
            f"{flag}{listed}")
    return html_panel(body, "sv-timeline-header")


def _notes(tl: Timeline) -> widgets.HTML:
    items = []
    for key in tl.outcome_measures:
        m = tl.measures[key]
        o = tl.outcomes[tl.outcomes["measure"] == key]
        note = tl.band_notes.get(key, "")
        latest = o.iloc[-1]
        band = o.dropna(subset=["band_n"])
        where = ""
        if not band.empty and band.iloc[-1]["scored_index"] == latest["scored_index"]:
            b = band.iloc[-1]
            where = (f"; comparable clients at scored session {int(b['scored_index'])}: "
                     f"middle half {_span(b, 25, 75)}, 8 in 10 {_span(b, 10, 90)} "
                     f"(n = {int(b['band_n'])} ended "
                     f"episodes, intake ± {int(b['band_width'])})")
        items.append(
            f"<li><b>{esc(m.name)}</b>: intake {num(o.iloc[0]['score'], 0)}, latest "
            f"{num(latest['score'], 0)} at scored session {int(latest['scored_index'])}"
            f"{esc(where)}{'. ' + esc(note[:1].upper() + note[1:]) if note else ''}.</li>")
    gains = tl.sudden
    g = int((gains["kind"] == "gain").sum())
    lo = int((gains["kind"] == "loss").sum())
    items.append(f"<li>Sudden gains: {g}, sudden losses: {lo} (Tang &amp; DeRubeis 1999; "
                 "a large, stable change between two consecutive sessions).</li>")
    body = (f"<ul class='sv-questions'>{''.join(items)}</ul>"
            f"<div class='sv-caution'>{esc(CAPTION)}</div>")
    return html_panel(body, "sv-timeline-notes")


def timeline_panels(tl: Timeline, *, therapist_view: bool = False) -> list[widgets.Widget]:
    """Header, the figure and the notes of one episode's timeline."""
    fig = timeline_figure(tl)
    return [_header(tl, therapist_view=therapist_view), figure_panel(fig), _notes(tl)]


class TimelinePicker:
    """Choose an episode of the caseload in view and show its timeline underneath.

    ``load`` is the app's own ``case_timeline`` over its own caseload: whatever is typed or
    sent as the widget's value, only an episode of that caseload can be shown.
    """

    def __init__(self, choices: list[str], load: Callable[[str], Timeline], *,
                 therapist_view: bool = False) -> None:
        self.load, self.therapist_view = load, therapist_view
        self.episode = widgets.Combobox(
            options=choices, value=choices[0] if choices else "", ensure_option=False,
            placeholder="episode id", description="Episode", layout={"width": "280px"})
        self.button = widgets.Button(description="Open timeline", icon="line-chart",
                                     button_style="primary")
        self.episode.add_class("sv-episode-picker")
        self.button.add_class("sv-open-timeline")
        self.area = widgets.VBox()
        self.area.add_class("sv-timeline")
        self.timeline: Timeline | None = None
        self.figure: go.Figure | None = None
        self.button.on_click(lambda _: self.open(self.episode.value))
        # Placed after the timeline and focused once it is drawn: the browser scrolls a
        # focused element into view, so the timeline (drawn below the fold) comes up with it.
        self.back = widgets.Button(description="Back to the case list", icon="arrow-up",
                                   tooltip="Return to the episode picker above")
        self.back.add_class("sv-timeline-end")
        self.back.on_click(lambda _: self.episode.focus())
        lead = widgets.HTML("<b>Case timeline</b>: pick a case (the listed ones come first) "
                            "and open it to see the episode session by session.")
        self.scroller = widgets.Output(layout={"height": "0px", "overflow": "hidden"})
        self.scroller.add_class("sv-scroll-js")
        self.root = widgets.VBox([lead, widgets.HBox([self.episode, self.button]), self.area,
                                  self.scroller])

    def open(self, episode_id: Any) -> None:
        """Show ``episode_id``'s timeline, or a message when it is not in the caseload."""
        self.timeline, self.figure = None, None
        if isinstance(episode_id, str) and episode_id != self.episode.value:
            self.episode.value = episode_id  # the picker shows what is open
        try:
            tl = self.load(episode_id)
        except EpisodeNotFound as exc:
            self.area.children = [empty_state(str(exc))]
            return
        except SupervisionError as exc:
            self.area.children = [error_panel("The case timeline", str(exc))]
            return
        except Exception as exc:  # the page must never be blank (Voilà hides tracebacks)
            log.exception("case timeline failed")
            self.area.children = [error_panel(
                "The case timeline", f"unexpected internal error ({type(exc).__name__})")]
            return
        view = self.therapist_view
        panels = [
            guarded("The case timeline", lambda: _header(tl, therapist_view=view)),
            guarded("The case timeline figure", lambda: timeline_figure(tl)),
            guarded("The case timeline notes", lambda: _notes(tl)),
        ]
        self.timeline = tl
        self.figure = getattr(panels[1], "figure", None)
        self.area.children = [*panels, self.back]
        self.back.focus()  # "Open timeline" brings the timeline into view

    def scroll_into_view(self) -> None:
        """Ask the page to scroll the timeline into view (only inside a kernel: a script
        output of the hidden ``scroller``, run by the page, which sends nothing anywhere)."""
        from IPython import get_ipython
        from IPython.display import Javascript, display

        if get_ipython() is None:
            return
        self.scroller.clear_output()
        with self.scroller:
            display(Javascript(SCROLL_JS))


__all__ = ["CAPTION", "TimelinePicker", "timeline_figure", "timeline_panels"]
