"""Headline cards, cases to discuss (domain.md §7) and reflection questions for supervision.

Reflection questions follow the essay in ``shared/seed/therapeutic-relationship.txt``: fit and
commitment at intake, collaboration, pacing and neurotype overlap, rupture and repair, and
ending.  They are prompts for a conversation, never verdicts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import ipywidgets as widgets
import pandas as pd

from supervision.views.common import esc, html_panel, is_missing, mean_text, num, rate_text
from supervision.views.measurement import measurement_block, notice_html, notices_for

#: domain.md §7 reason codes in plain words.
REASONS: dict[str, str] = {
    "risk_item": "item 9 above 0 at the last scored session — check risk",
    "low_alliance": "the latest alliance rating was below the concern line",
    "alliance_drop": "alliance dropped sharply within the last three rated sessions",
    "unrepaired_rupture": "a flagged rupture has not (yet) been marked as repaired",
    "reliable_deterioration": "outcome scores have reliably worsened so far",
    "no_shows": "two or more no-shows in a row",
    "not_on_track": "not on track: progress so far is below what the practice's own clients "
                    "who started at the same level usually show",
    "sudden_loss": "a sudden loss (a large, stable worsening between two sessions) within the "
                   "last three scored sessions",
}

#: Prompts for supervision, one theme each (the essay's arc from intake to ending).
QUESTIONS: dict[str, tuple[str, str]] = {
    "fit": (
        "Fit and commitment at intake",
        "At intake, how did you and the client check the fit between you — and was there a "
        "clear, shared decision to continue after the first session?",
    ),
    "collaboration": (
        "Collaboration",
        "Whose goals and preferences are steering the sessions? Where could the "
        "client's expertise in their own life be used more?",
    ),
    "pacing": (
        "Pacing and neurotype overlap",
        "Does the pace and give-and-take of your conversations suit this client? Is there "
        "room for them to speak, and enough reflection from you?",
    ),
    "repair": (
        "Rupture and repair",
        "When the relationship was strained, how was it named and acknowledged? What "
        "might repair look like from the client's side?",
    ),
    "ending": (
        "Ending",
        "How is the ending being prepared or understood — what has been achieved, and "
        "does the client know how to come back if they need to?",
    ),
}

#: Which themes each reason brings to the front.
REASON_THEMES: dict[str, tuple[str, ...]] = {
    "low_alliance": ("fit", "collaboration"),
    "alliance_drop": ("repair", "pacing"),
    "unrepaired_rupture": ("repair",),
    "reliable_deterioration": ("collaboration", "ending"),
    "no_shows": ("fit", "ending"),
}


def reason_text(codes: Sequence[str]) -> str:
    """Reason codes -> one escaped sentence in plain words."""
    return "; ".join(REASONS.get(str(c), esc(c)) for c in codes)


def _details(text: object) -> str:
    """The case's own plain-words reason (not on track, §11) under the coded ones."""
    if not isinstance(text, str) or not text:
        return ""
    return f'<br><span class="sv-note">{esc(text)}</span>'


def _risk_class(codes: Sequence[str]) -> str:
    """A row with a critical item is marked (``sv-risk``): it is read first."""
    return ' class="sv-risk"' if "risk_item" in list(codes) else ""


def cases_panel(cases: pd.DataFrame, *, therapist_view: bool = False) -> widgets.HTML:
    """The open episodes worth talking about, with their reasons (``cases.cases_to_discuss``)."""
    if cases is None or cases.empty:
        who = "your open episodes" if therapist_view else "this caseload's open episodes"
        return html_panel(
            f'<div class="sv-empty">None of {who} shows any of the patterns that list a '
            "case here right now (low or dropping alliance, unrepaired rupture, reliable "
            "deterioration, repeated no-shows, not on track, a recent sudden loss).</div>",
            "sv-empty-panel",
        )
    rows = "".join(
        f"<tr{_risk_class(r.reasons)}><td>{esc(r.episode_id)}</td>"
        f"<td>{reason_text(list(r.reasons))}"
        f"{_details(getattr(r, 'details', None))}</td></tr>"
        for r in cases.itertuples(index=False)
    )
    lead = (
        "Open episodes you may want to bring to supervision"
        if therapist_view
        else "Open episodes to consider discussing"
    )
    body = (
        f"<p><b>{lead}</b> ({len(cases)}). These are prompts, not judgements: each reason is a "
        "pattern in the ratings, not a conclusion about the work.</p>"
        f'<table class="sv-table"><tr><th>episode</th><th>why it is listed</th></tr>{rows}</table>'
    )
    return html_panel(body, "sv-cases")


def reflection_panel(cases: pd.DataFrame | None, *, therapist_view: bool = False) -> widgets.HTML:
    """Reflection questions, the themes raised by the listed cases first."""
    raised: list[str] = []
    if cases is not None and not cases.empty:
        for codes in cases["reasons"]:
            for c in codes:
                raised += [t for t in REASON_THEMES.get(str(c), ()) if t not in raised]
    order = raised + [t for t in QUESTIONS if t not in raised]
    items = "".join(
        f"<li><b>{QUESTIONS[t][0]}</b>{' (raised by the cases above)' if t in raised else ''}: "
        f"{QUESTIONS[t][1]}</li>"
        for t in order
    )
    who = (
        "for your own reflection or supervision"
        if therapist_view
        else "for the supervision session"
    )
    body = f'<p><b>Questions {who}</b></p><ul class="sv-questions">{items}</ul>'
    return html_panel(body, "sv-reflection")


# ---------------------------------------------------------------------- headline
Fig = Mapping[str, object]

_CARDS = (
    ("episodes", "Episodes", "count"),
    ("sessions", "Sessions attended", "count"),
    ("early_alliance", "Early alliance", "mean"),
    ("repair_rate", "Repair rate", "rate"),
    ("dropout_rate", "Drop-out rate", "rate"),
    ("reliable_improvement_rate", "Reliable improvement", "rate"),
)
_NOUNS = {
    "early_alliance": "episodes",
    "repair_rate": "ruptures",
    "dropout_rate": "ended episodes",
    "reliable_improvement_rate": "paired episodes",
}


def _value(key: str, kind: str, f: Fig | None) -> tuple[str, str]:
    if f is None:
        return "—", ""
    if kind == "count":
        return ("—" if is_missing(f.get("value")) else f"{int(f['value'])}"), ""  # type: ignore[arg-type]
    noun = _NOUNS[key]
    text = (mean_text if kind == "mean" else rate_text)(
        f.get("value"), f.get("low"), f.get("high"), f.get("n"), noun
    )
    big = num(f.get("value")) if kind == "mean" else text.split(" ")[0]
    return ("—" if is_missing(f.get("value")) else big), text


def headline_cards(
    own: Mapping[str, Fig],
    practice: Mapping[str, Fig] | None,
    *,
    own_label: str,
    practice_label: str = "Practice",
    period: str = "",
) -> widgets.HTML:
    """Six headline figures, each with its n and interval, beside the practice's; then the
    measurement completeness and sudden gains (:mod:`supervision.views.measurement`), with a
    notice beside each figure that rests on a share below 80%.

    ``own_label`` and ``practice_label`` are HTML-safe (already escaped by the caller).
    ``period`` names the dates of ``own`` (our own words): each card says whose figure it
    is and over which period, and the practice line under it names the practice's period
    (``practice_label``), so a quarter is never read against two years unawares.
    """
    cards = []
    for key, title, kind in _CARDS:
        big, sub = _value(key, kind, own.get(key))
        extra = ""
        if key in ("early_alliance", "reliable_improvement_rate") and own.get(key):
            extra = f" ({esc(own[key].get('measure', ''))})"
        p_big, p_sub = _value(key, kind, practice.get(key) if practice else None)
        p_line = f"{practice_label}: {p_sub or p_big}" if practice else ""
        when = f'<div class="sv-sub sv-period">{own_label}, {esc(period)}</div>' if period else ""
        # a count has no sub-line of its own: the period line names whose it is (not twice)
        first = sub or ("" if period else own_label)
        first = f'<div class="sv-sub">{first}</div>' if first else ""
        cards.append(
            f'<div class="sv-card"><div class="sv-label">{title}{extra}</div>'
            f'<div class="sv-value">{big}</div>{first}{when}'
            f'<div class="sv-practice">{p_line}</div>{notice_html(notices_for(key, own))}</div>'
        )
    lead = f"<div class='sv-note'>Figures for <b>{own_label}</b>"
    lead += f" ({esc(period)})" if period else ""
    lead += f"; under each, {practice_label}.</div>" if practice else ".</div>"
    more = measurement_block(own, practice, own_label=own_label, practice_label=practice_label)
    return html_panel(f'{lead}<div class="sv-cards">{"".join(cards)}</div>{more}',
                      "sv-headline")


__all__ = [
    "QUESTIONS",
    "REASONS",
    "cases_panel",
    "headline_cards",
    "reason_text",
    "reflection_panel",
]
