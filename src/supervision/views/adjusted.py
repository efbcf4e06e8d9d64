"""The intake-adjusted outcome per therapist (:mod:`supervision.clinical.multilevel`) drawn.

One dot per therapist shown, with its 95% interval and n, against the practice's line at 0
("what the practice's clients at the same intake severity improve").  Therapists are listed
by id, never by estimate; the sentence that this is a prompt for supervision, not a verdict,
is on the chart.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

import plotly.graph_objects as go

from supervision import periods
from supervision.caseload import Caseload
from supervision.clinical.multilevel import PROMPT, AdjustedOutcome, intake_adjusted
from supervision.comparison import gate_quarter
from supervision.privacy import enough_others
from supervision.views.common import esc
from supervision.views.theme import OWN, PRACTICE, style, words_under_plot
from supervision.windowcache import IntakeAdjusted


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
        IntakeAdjusted(since, until, outcome_key, min_cell),
        lambda: intake_adjusted(root.scoped(since=since, until=until), outcome_key,
                                min_cell=min_cell),
    )


def gated_model(own: Caseload, outcome_key: str, *, entitled: Iterable[str],
                min_cell: int) -> AdjustedOutcome | None:
    """The practice's model as a viewer not entitled to every therapist may see it (a hub
    supervisor limited to some therapists), or None when it cannot be shown.

    The model is fitted over every therapist, so the therapist in view's shrunken estimate
    and the words under it (paired episodes, therapists, how many are not shown) rest on the
    other therapists' clients.  It passes the gate of the practice figures beside it
    (:func:`supervision.comparison.gate`): it is the model of the last quarter closed by the
    end date (:func:`~supervision.comparison.gate_quarter`), not of the viewer's dates —
    moving the dates a day at a time, or a refreshed export, changes nothing of it — and it
    is shown only when at least ``min_cell`` paired episodes of other therapists, from at
    least ``min_cell`` other therapists, stand behind it
    (:func:`~supervision.privacy.enough_others`).  "Not shown" counts only the entitled
    therapists; the period is said in the words.
    """
    ids = frozenset(str(t) for t in entitled)
    root = own.root
    quarter = gate_quarter(root, own.window[1])
    if quarter is None:
        return None
    q0, q1 = periods.quarter_bounds(quarter)
    res = practice_model(root.scoped(since=q0, until=q1), outcome_key, min_cell=min_cell)
    others = [n for t, n in res.paired.items() if t not in ids]
    if not enough_others(sum(others), len(others), min_cell=min_cell):
        return None
    hidden = sum(1 for t, n in res.paired.items() if t in ids and n < min_cell)
    note = (f"The model is the practice's last closed quarter, {quarter}, not the dates "
            "picked: it rests on other therapists' clients too, so it does not move with the "
            "dates.")
    return replace(res, hidden=hidden, notes=[*res.notes, note])


def own_in_practice_figure(own: Caseload, outcome_key: str | None, *, measure_name: str,
                           min_cell: int = 5,
                           entitled: Iterable[str] | None = None) -> go.Figure | None:
    """The supervisor's practice context: the therapist in view only, from the practice's
    model of the same dates (no other therapist's estimate is shown).  ``entitled``: the
    therapists a limited viewer may see (None: every one, the lead); the model then
    passes the gate (:func:`gated_model`), None when it may not be shown."""
    tid = own.therapist_scope
    if outcome_key is None or tid is None:
        return None
    if entitled is None:
        res = practice_model(own, outcome_key, min_cell=min_cell)
    else:
        gated = gated_model(own, outcome_key, entitled=entitled, min_cell=min_cell)
        if gated is None:
            return None
        res = gated
    mine = res.therapists[res.therapists["therapist_id"] == str(tid)]
    return adjusted_figure(replace(res, therapists=mine.reset_index(drop=True)),
                           measure_name=measure_name, min_cell=min_cell)


__all__ = ["adjusted_figure", "adjusted_words", "gated_model", "own_in_practice_figure",
           "practice_model"]
