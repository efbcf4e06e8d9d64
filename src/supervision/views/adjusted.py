"""The intake-adjusted outcome per therapist (:mod:`supervision.clinical.multilevel`) drawn.

One dot per therapist shown, with its 95% interval and n, against the practice's line at 0
("what the practice's clients at the same intake severity improve").  Therapists are listed
by id, never by estimate; the sentence that this is a prompt for supervision, not a verdict,
is on the chart.
"""

from __future__ import annotations

from dataclasses import replace

import plotly.graph_objects as go

from supervision.caseload import Caseload
from supervision.clinical.multilevel import PROMPT, AdjustedOutcome, intake_adjusted
from supervision.views.common import esc
from supervision.views.theme import OWN, PRACTICE, style, words_under_plot


def adjusted_words(res: AdjustedOutcome, *, min_cell: int, measure_name: str) -> str:
    """What the chart shows, in words: the adjustment, n, what is left out, the prompt."""
    parts = [
        f"Change in {measure_name} points adjusted for how ill clients were at intake "
        f"(a multilevel model of {res.episodes} paired episodes from {res.n_therapists} "
        "therapists); each estimate is pulled towards the practice, the more so the fewer "
        "episodes it rests on.  Right of 0: more improvement than the practice's clients at "
        "the same intake severity."
    ]
    if res.hidden:
        parts.append(f"{res.hidden} therapist(s) with fewer than {min_cell} paired episodes "
                     "are in the model but not shown.")
    parts += res.notes
    if res.between_sd == 0:
        parts.append("The hollow marks show each therapist's own figure before shrinkage.")
    parts.append(PROMPT)
    return " ".join(parts)


def adjusted_figure(res: AdjustedOutcome | None, *, measure_name: str, min_cell: int = 5,
                    highlight: str | None = None) -> go.Figure | None:
    """Each shown therapist's adjusted improvement with its 95% interval (None: nothing).

    ``highlight`` colours one therapist (the supervisor's pick); the others are grey.
    """
    if res is None or res.therapists.empty:
        return None
    t = res.therapists
    labels = [f"{esc(i)} (n = {int(n)})" for i, n in zip(t["therapist_id"], t["episodes"],
                                                         strict=True)]
    colours = [OWN if highlight is None or i == highlight else PRACTICE
               for i in t["therapist_id"]]
    fig = go.Figure(go.Scatter(
        x=t["unshrunk"], y=labels, mode="markers", name="own figure, before shrinkage",
        marker={"size": 9, "color": PRACTICE, "symbol": "circle-open"},
        error_x={"type": "data", "symmetric": False, "color": "#cccccc", "thickness": 1,
                 "array": t["unshrunk_high"] - t["unshrunk"],
                 "arrayminus": t["unshrunk"] - t["unshrunk_low"]},
        hovertext=[f"therapist {esc(i)} before shrinkage: {u:+.1f} points, n = {int(n)}"
                   for i, u, n in zip(t["therapist_id"], t["unshrunk"], t["episodes"],
                                      strict=True)],
        hoverinfo="text",
    ))
    fig.add_trace(go.Scatter(
        x=t["adjusted_improvement"], y=labels, mode="markers", name="adjusted estimate",
        marker={"size": 10, "color": colours},
        error_x={"type": "data", "symmetric": False, "color": PRACTICE,
                 "array": t["high"] - t["adjusted_improvement"],
                 "arrayminus": t["adjusted_improvement"] - t["low"]},
        hovertext=[
            f"therapist {esc(i)}: {e:+.1f} points (95% interval {lo:+.1f} to {hi:+.1f}; "
            f"{es:+.2f} SD of intake), n = {int(n)} paired episodes"
            for i, e, lo, hi, es, n in zip(t["therapist_id"], t["adjusted_improvement"],
                                           t["low"], t["high"], t["effect_size"],
                                           t["episodes"], strict=True)
        ],
        hoverinfo="text",
    ))
    fig.add_vline(x=0, line={"color": PRACTICE, "width": 2},
                  annotation_text="practice, same intake severity",
                  annotation_position="top")
    height = 260 + 28 * len(t)
    style(fig, f"{esc(measure_name)}: outcome adjusted for intake severity", height=height)
    fig.update_yaxes(autorange="reversed", type="category")
    fig.update_xaxes(title_text="points of improvement beyond the expected (95% interval)",
                     zeroline=False)
    words_under_plot(fig, adjusted_words(res, min_cell=min_cell,
                                         measure_name=esc(measure_name)), left=120)
    fig.update_layout(meta={"adjusted": {"episodes": res.episodes,
                                         "therapists": res.n_therapists,
                                         "hidden": res.hidden}})
    return fig


def practice_model(own: Caseload, outcome_key: str, *, min_cell: int) -> AdjustedOutcome:
    """The practice's model over ``own``'s date window, fitted once per root and window."""
    root, (since, until) = own.root, own.window
    return root.memo(
        ("intake_adjusted", since, until, outcome_key, min_cell),
        lambda: intake_adjusted(root.scoped(since=since, until=until), outcome_key,
                                min_cell=min_cell),
    )


def own_in_practice_figure(own: Caseload, outcome_key: str | None, *, measure_name: str,
                           min_cell: int = 5) -> go.Figure | None:
    """The supervisor's practice context: the therapist in view only, from the practice's
    model of the same dates (no other therapist's estimate is shown)."""
    tid = own.therapist_scope
    if outcome_key is None or tid is None:
        return None
    res = practice_model(own, outcome_key, min_cell=min_cell)
    mine = res.therapists[res.therapists["therapist_id"] == str(tid)]
    return adjusted_figure(replace(res, therapists=mine.reset_index(drop=True)),
                           measure_name=measure_name, min_cell=min_cell)


__all__ = ["adjusted_figure", "adjusted_words", "own_in_practice_figure", "practice_model"]
