"""Measurement completeness (domain.md §12) and sudden gains (§10) in words, beside the figures.

Everything here only words what :mod:`supervision.scopes` packed into a headline dict (the
four shares as ``{"value", "k", "n", "below_floor"}``, each measure's sudden gains as
``sudden__<o>``) or into :func:`supervision.scopes.sudden_breakdown`: no figure is computed.
A share below 80% (:data:`~supervision.clinical.completeness.FLOOR`) gets a plain-words notice
beside the figures it affects (:data:`AFFECTS`); a share whose denominator is 0 reads "no
sessions yet" (or "no ended episodes yet"), never "below 80%".  The wording is a prompt, not
a verdict: incomplete measurement says the figures may not represent the caseload, nothing
about the work.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from supervision.clinical.completeness import FLOOR
from supervision.scopes import MERGED_TEAMS
from supervision.views.common import esc, is_missing

Fig = Mapping[str, object]


@dataclass(frozen=True)
class ShareWords:
    """How one share is worded: its card title, the sentence leading its notice (``{p}``:
    the percentage), the noun of its n, what it affects and what it says with n = 0."""

    title: str
    lead: str
    noun: str
    affects: str
    empty: str


WORDS: dict[str, ShareWords] = {
    "alliance_rated_share": ShareWords(
        "Alliance rated", "Alliance rated in {p} of attended sessions", "attended sessions",
        "alliance and rupture figures", "no sessions yet"),
    "outcome_scored_share": ShareWords(
        "Outcome scored", "An outcome score in {p} of attended sessions", "attended sessions",
        "outcome figures and sudden gains", "no sessions yet"),
    "intake_scored_share": ShareWords(
        "Scored at the first session", "Outcome scored at the first session of {p} of "
        "episodes", "episodes", "outcome figures (change from intake)", "no sessions yet"),
    "final_scored_share": ShareWords(
        "Scored at the last session", "Outcome scored at the last session of {p} of ended "
        "episodes", "ended episodes", "outcome figures (change by the end)",
        "no ended episodes yet"),
}

#: Headline figure -> the shares whose notice goes beside it.
AFFECTS: dict[str, tuple[str, ...]] = {
    "early_alliance": ("alliance_rated_share",),
    "repair_rate": ("alliance_rated_share",),
    "reliable_improvement_rate": ("outcome_scored_share", "intake_scored_share",
                                  "final_scored_share"),
    "sudden": ("outcome_scored_share",),
}
SUDDEN_PREFIX = "sudden__"
SUDDEN_NOTE = (
    "A sudden gain is a large, stable improvement between two sessions (Tang &amp; DeRubeis "
    "1999); clients with one tend to do better (Aderka et al. 2012). Counted per outcome "
    "measure among episodes with enough scores (4 or more) for one to be found; a reversed "
    "gain is one largely lost again later. Prompts for reflection, not a verdict."
)


def _int(v: object) -> int:
    return int(float(v))  # type: ignore[arg-type]


def _below(f: Fig) -> bool:
    return bool(f.get("below_floor")) and not is_missing(f.get("value")) and _int(
        f.get("n") or 0) > 0


def share_pct(f: Fig) -> str:
    """A share as a whole percentage; one below the floor never reads as the floor itself
    (79.6% is "79.6%", not "80%")."""
    p = float(f["value"]) * 100  # type: ignore[arg-type]
    if _below(f) and round(p) >= FLOOR * 100:
        return f"{math.floor(p * 10) / 10:.1f}%"
    return f"{p:.0f}%"


def share_parts(key: str, f: Fig | None) -> tuple[str, str]:
    """(the big value, the line under it) of one share: ``("72%", "n = 130/180 attended
    sessions")``, ``("—", "no sessions yet")`` when its denominator is 0."""
    w = WORDS[key]
    if f is None:
        return "—", ""
    if f.get("suppressed"):
        return "—", "not shown (too few other therapists' cases behind it)"
    if is_missing(f.get("value")) or not _int(f.get("n") or 0):
        return "—", w.empty
    sub = f"n = {_int(f.get('k'))}/{_int(f.get('n'))} {w.noun}"
    if _below(f):
        sub += f" — below {FLOOR:.0%}"
    return share_pct(f), sub


def notice(key: str, f: Fig | None, *, scope: str = "the caseload") -> str | None:
    """The plain-words notice of a share below 80%, or None (at or above it, or n = 0):
    "Alliance rated in 72% of attended sessions (n = 130/180): below 80%, so alliance and
    rupture figures may not represent the caseload." (HTML-safe: our own words.)"""
    if f is None or not _below(f):
        return None
    w = WORDS[key]
    return (f"{w.lead.format(p=share_pct(f))} (n = {_int(f.get('k'))}/{_int(f.get('n'))}): "
            f"below {FLOOR:.0%}, so {w.affects} may not represent {scope}.")


def notices_for(figure: str, figs: Mapping[str, Fig] | None, *,
                scope: str = "the caseload") -> list[str]:
    """The notices to show beside headline figure ``figure`` (a key of :data:`AFFECTS`)."""
    if not figs:
        return []
    found = (notice(s, figs.get(s), scope=scope) for s in AFFECTS.get(figure, ()))
    return [n for n in found if n]


def notice_html(notices: Sequence[str]) -> str:
    """The notices as caution lines (empty string for none)."""
    return "".join(f'<div class="sv-caution sv-completeness">{n}</div>' for n in notices)


def sudden_keys_of(*figs: Mapping[str, Fig] | None) -> list[str]:
    """The ``sudden__<o>`` entries of the given headline dicts, in their first order."""
    keys: list[str] = []
    for f in figs:
        keys += [k for k in (f or {}) if k.startswith(SUDDEN_PREFIX) and k not in keys]
    return keys


def _episodes(n: int) -> str:
    return f"{n} episode{'' if n == 1 else 's'}"


def _count(k: int, one: str, many: str) -> str:
    return f"{k} {one if k == 1 else many}"


def sudden_text(f: Fig | None, *, measure: bool = True) -> str:
    """"Sudden gains (PHQ-9): 5 gains, in 4 of 38 episodes with enough scores; 1 reversed.
    Sudden losses: 1 loss, in 1 of 38 episodes; 0 reversed." (no "4 in 4 of 12"); "none"
    where there are none — escaped (the measure's name is the registry's)."""
    if f is None:
        return "—"
    name = f" ({esc(f.get('measure'))})" if measure else ""
    if f.get("suppressed"):
        return f"Sudden gains{name}: not shown (too few other therapists' cases behind them)."
    n = _int(f.get("n") or 0)
    if not n:
        return f"Sudden gains{name}: no episode with enough scores (4 or more) yet."
    gains, losses = _int(f.get("value") or 0), _int(f.get("losses") or 0)
    if gains:
        text = (f"Sudden gains{name}: {_count(gains, 'gain', 'gains')}, in "
                f"{_int(f.get('episodes_with_gain') or 0)} of {_episodes(n)} with enough "
                f"scores; {_int(f.get('reversals') or 0)} reversed.")
    else:
        text = f"Sudden gains{name}: none, in {_episodes(n)} with enough scores."
    if not losses:
        return text + " Sudden losses: none."
    return text + (f" Sudden losses: {_count(losses, 'loss', 'losses')}, in "
                   f"{_int(f.get('loss_episodes') or 0)} of {_episodes(n)}; "
                   f"{_int(f.get('loss_reversals') or 0)} reversed.")


def measurement_block(own: Mapping[str, Fig], practice: Mapping[str, Fig] | None, *,
                      own_label: str, practice_label: str) -> str:
    """The headline's completeness cards and sudden-gain lines (``own_label`` and
    ``practice_label`` HTML-safe, as :func:`supervision.views.cases.headline_cards`')."""
    if not any(k in own for k in WORDS) and not sudden_keys_of(own):
        return ""  # a headline from before completeness was packed (an old prepared copy)
    cards = []
    for key, w in WORDS.items():
        big, sub = share_parts(key, own.get(key))
        p_line = ""
        if practice and practice.get(key) is not None:
            p_big, p_sub = share_parts(key, practice.get(key))
            p_line = f"{practice_label}: {p_big} ({p_sub})" if p_sub else ""
        cards.append(
            f'<div class="sv-card sv-share" data-share="{key}"><div class="sv-label">'
            f'{w.title}</div><div class="sv-value">{big}</div><div class="sv-sub">{sub}</div>'
            f'<div class="sv-practice">{p_line}</div></div>'
        )
    lines = []
    for key in sudden_keys_of(own, practice):
        line = f"<div><b>{own_label}</b>: {sudden_text(own.get(key))}</div>"
        if practice and practice.get(key) is not None:
            line += f"<div class='sv-sub'>{practice_label}: {sudden_text(practice.get(key))}</div>"
        lines.append(line + notice_html(notices_for("sudden", own)))
    sudden = (f'<div class="sv-sudden">{"".join(lines)}<div class="sv-note">{SUDDEN_NOTE}'
              "</div></div>" if lines else "")
    return (f"<div class='sv-note'>How complete the measurement behind these figures is "
            f"(below {FLOOR:.0%}, figures may not represent the caseload):</div>"
            f'<div class="sv-cards">{"".join(cards)}</div>{sudden}')


#: Why a breakdown by team has a merged row (a team is a group of colleagues).
STAFF_TEAMS = (
    "Teams of fewer than {min_cell} therapists have no row of their own: they are merged "
    "into one row, “{merged}”, which is itself hidden when fewer than {min_cell} "
    "therapists stand behind it; a team of one or two therapists would show their own "
    "clients' figures."
)


def breakdown_table(cells: Mapping[str, Sequence[Fig]], names: Mapping[str, str], *,
                    min_cell: int, by: str = "Team") -> str:
    """Sudden gains and losses per group (:func:`supervision.scopes.sudden_breakdown`), a
    table per measure; a suppressed group reads "<k" with no counts.  Group names come from
    the export: escaped."""
    parts = []
    head = (f"<tr><th>{esc(by)}</th><th>episodes with enough scores</th>"
            "<th>sudden gains</th><th>episodes with a gain</th><th>reversed</th>"
            "<th>sudden losses</th><th>episodes with a loss</th></tr>")
    for key, rows in cells.items():
        body = ""
        for r in rows:
            group = esc(r.get("group")) if r.get("group") is not None else f"(no {esc(by.lower())})"
            if r.get("suppressed"):
                body += f"<tr><td>{group}</td><td>&lt;{min_cell}</td>" + "<td>—</td>" * 5
                body += "</tr>"
                continue
            vals = [r.get(c) for c in ("episodes", "gains", "episodes_with_gain", "reversals",
                                        "losses", "loss_episodes")]
            body += f"<tr><td>{group}</td>" + "".join(
                f"<td>{'—' if is_missing(v) else _int(v)}</td>" for v in vals) + "</tr>"
        parts.append(f"<p><b>{esc(names.get(key, key))}</b></p>"
                     f'<table class="sv-table sv-sudden-table">{head}{body}</table>')
    note = (f"Groups of fewer than {min_cell} episodes with enough scores show "
            f"&lt;{min_cell} and no counts, and so does the next smallest where one alone "
            "could be worked out from the total (privacy).")
    if any(r.get("group") == MERGED_TEAMS for rows in cells.values() for r in rows):
        note += " " + esc(STAFF_TEAMS.format(min_cell=min_cell, merged=MERGED_TEAMS))
    return "".join(parts) + f'<div class="sv-note">{note}</div>'


__all__ = [
    "AFFECTS", "STAFF_TEAMS", "SUDDEN_NOTE", "WORDS", "ShareWords", "breakdown_table",
    "measurement_block",
    "notice", "notice_html", "notices_for", "share_parts", "share_pct", "sudden_keys_of",
    "sudden_text",
]
