"""The sections of the quarterly review pack, built inside the report notebook's kernel.

The report notebooks (``practice.ipynb``, ``therapist.ipynb`` beside this module) call
:func:`practice_pack` or :func:`therapist_pack`, which read their parameters from the
server-fixed environment (:mod:`supervision.opening`, plus ``SUPERVISION_QUARTER``) and
display one ``text/html`` output per section.  Figures are plain plotly figures written
with ``to_html(include_plotlyjs=False)``: the driver (:mod:`supervision.report.build`)
inlines plotly.js once, so the pack works offline and stays interactive.

A therapist's pack is built from that therapist's own rows and the anonymous practice
aggregates only (:func:`supervision.opening.read_bundle` refuses a bundle holding another
therapist's rows); it never shows a per-therapist breakdown of the practice.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from supervision import figures, opening, periods, scopes
from supervision import settings as settings_module
from supervision.caseload import Caseload
from supervision.clinical import alliance, neurotype, outcomes, ruptures, termination
from supervision.comparison import (
    comparison_note,
    practice_label,
    retention_of_k,
)
from supervision.errors import ConfigError
from supervision.measures import PAIRED
from supervision.settings import settings
from supervision.views import alliance as va
from supervision.views import caseload_table as vct
from supervision.views import cases as vc
from supervision.views import measurement as vm
from supervision.views import neurotype as vn
from supervision.views import practice as vp
from supervision.views import ruptures as vr
from supervision.views import termination as vt
from supervision.views.common import PLOT_CONFIG
from supervision.views.practice_tabs import PracticeView
from supervision.views.theme import BENCHMARKS

QUARTER = settings_module.QUARTER
COVER = settings_module.COVER  # JSON: generated time, data range, checksum, source


CAUTION = (
    "These figures are <b>prompts for reflection, not verdicts</b> on a therapist or a "
    "client. Each carries its n and a 95% interval; small numbers move a lot by chance."
)


@dataclass
class Section:
    """One section of the pack: an id (the HTML anchor), a title and its HTML parts."""

    key: str
    title: str
    parts: list[str] = field(default_factory=list)
    figures: int = 0
    level: int = 2  # the cover's title is the page's <h1>

    def html(self) -> str:
        body = "\n".join(self.parts)
        h = f"h{self.level}"
        return (
            f'<section class="sv-section" id="{self.key}" data-figures="{self.figures}">'
            f"<{h}>{html.escape(self.title)}</{h}>\n{body}\n</section>"
        )


@dataclass
class Pack:
    """The whole pack: the cover and its sections, in page order."""

    sections: list[Section]

    def display(self) -> None:
        """Show each section as one ``text/html`` output (the driver assembles them)."""
        from IPython.display import HTML, display

        for s in self.sections:
            display(HTML(s.html()))


def figure_html(fig: Any) -> str:
    """A plotly figure as a ``<div>`` + script, plotly.js NOT included (the driver adds it)."""
    return str(
        fig.to_html(
            include_plotlyjs=False, full_html=False, config=PLOT_CONFIG, default_width="100%"
        )
    )


def add_figure(sec: Section, build: Callable[[], Any], empty: str) -> None:
    """Append a figure (or a plain empty-state note when it has nothing to draw)."""
    fig = build()
    if fig is None:
        sec.parts.append(f'<div class="sv-empty">{html.escape(empty)}</div>')
        return
    sec.parts.append(f'<div class="sv-figure">{figure_html(fig)}</div>')
    sec.figures += 1


def note(text: str, cls: str = "sv-note") -> str:
    """A note paragraph; ``text`` is our own, HTML-safe wording."""
    return f'<div class="{cls}">{text}</div>'


# ---------------------------------------------------------------------- parameters
def quarter() -> str:
    """The quarter the kernel was started for (``SUPERVISION_QUARTER``)."""
    q = settings().quarter
    if not q:
        raise ConfigError(f"no quarter given: the report driver sets {QUARTER}")
    return q


def cover_facts() -> dict[str, Any]:
    """Cover facts fixed by the driver (generation time, export range, checksum, source)."""
    return dict(settings().report_cover)


def cover(title: str, facts: Mapping[str, Any], q: str, min_cell: int) -> Section:
    """The cover: practice, quarter, data range, checksum, generation time, suppression rule."""
    e = html.escape
    kind = "warehouse" if facts.get("kind") == "warehouse" else "export"
    checksum_label = (
        "Export checksum (SHA-256, as recorded by supervision load)"
        if kind == "warehouse" else "Export checksum (SHA-256)"
    )
    rows = [
        (f"Practice ({kind})", e(str(facts.get("source", "")))),
        ("Quarter", e(q)),
        (f"Data in the {kind}", e(f"{facts.get('first_date')} to {facts.get('last_date')}")),
        (checksum_label, f"<code>{e(str(facts.get('checksum')))}</code>"),
        ("Generated", e(str(facts.get("generated", "")))),
        (
            "Small cells",
            f"groups of fewer than {min_cell} episodes are shown as &lt;{min_cell}, "
            "without rates, so no client can be recognised",
        ),
    ]
    demo = facts.get("demo")
    if demo:
        rows.insert(0, ("Data", f"<b>{e(str(demo))}</b>: drawn by supervision's demo "
                                "generator; no real practice, client or therapist"))
    table = "".join(f"<tr><th>{k}</th><td>{v}</td></tr>" for k, v in rows)
    sec = Section("cover", title, level=1)
    if demo:
        sec.parts.append(f'<p class="sv-demo" role="note"><b>{e(str(demo))}</b></p>')
    sec.parts += [
        f'<table class="sv-table sv-cover">{table}</table>',
        note(CAUTION, "sv-caution"),
    ]
    return sec


# ---------------------------------------------------------------------- headline
def rates(cl: Caseload, outcome_key: str | None) -> dict[str, dict[str, Any]]:
    """The benchmarked rates of ``cl`` with n and interval (domain.md §5).

    Drop-out over ended episodes; recovery over paired episodes that started in the clinical
    range; the other outcome rates over paired episodes (Wilson 95% intervals from the
    metric modules).  Same keys and shape as the practice dashboard's benchmark panel.
    """

    def fig(r: Mapping[str, Any], key: str, n_key: str, noun: str) -> dict[str, Any]:
        low, high = r.get(f"{key}_low"), r.get(f"{key}_high")
        return {"value": r.get(key), "low": low, "high": high, "n": r.get(n_key), "noun": noun}

    t = scopes.termination_row(cl) or {}
    out = {"dropout_rate": fig(t, "dropout_rate", "ended", "ended episodes")}
    if outcome_key:
        o = scopes.row(outcomes.outcome_summary(cl, outcome_key)) or {}
        for key in ("reliable_improvement_rate", "reliable_deterioration_rate",
                    "reliable_recovery_rate"):
            out[key] = fig(o, key, "paired", "paired episodes")
        out["recovery_rate"] = fig(
            o, "recovery_rate", "started_clinical", "episodes starting in the clinical range"
        )
    return out


def headline_section(
    columns: Mapping[str, Mapping[str, Any]],
    current: Mapping[str, Any],
    previous: Mapping[str, Any],
    *,
    q: str,
    prev_q: str,
) -> Section:
    """Headline figures (one column per scope), their measurement completeness and sudden
    gains (a notice beside each figure resting on a share below 80%, §12), and the benchmark
    comparison figure."""
    from supervision.views.cases import _CARDS, _value  # the dashboards' own wording

    head = "".join(f"<th>{html.escape(label)}</th>" for label in columns)
    body = ""
    for key, title, kind in _CARDS:
        cells = ""
        for figs in columns.values():
            big, sub = _value(key, kind, figs.get(key))
            cells += (f"<td><b>{big}</b><br><span class='sv-sub'>{sub}</span>"
                      f"{vm.notice_html(vm.notices_for(key, figs))}</td>")
        body += f"<tr><th>{title}</th>{cells}</tr>"
    body += measurement_rows(columns)
    sec = Section("headline", f"Headline figures, {q} against {prev_q} and published benchmarks")
    sec.parts.append(f'<table class="sv-table sv-headline"><tr><th></th>{head}</tr>{body}</table>')
    add_figure(
        sec,
        lambda: vp.benchmark_figure(
            current, previous, current_label=q, previous_label=f"{prev_q} (previous)"
        ),
        "No ended or paired episodes in this quarter or the one before.",
    )
    sources = "; ".join(sorted({f"{b.label} {b.rate:.1%}: {b.source}" for b in BENCHMARKS}))
    sec.parts.append(note(f"Benchmarks: {html.escape(sources)}."))
    return sec


def measurement_rows(columns: Mapping[str, Mapping[str, Any]]) -> str:
    """Headline-table rows of the four completeness shares with their n (§12) and of each
    measure's sudden gains and losses with theirs (§10), one cell per scope."""
    rows = ""
    for key, w in vm.WORDS.items():
        if not any(key in figs for figs in columns.values()):
            continue
        cells = ""
        for figs in columns.values():
            big, sub = vm.share_parts(key, figs.get(key))
            cells += f"<td><b>{big}</b><br><span class='sv-sub'>{sub}</span></td>"
        rows += f'<tr class="sv-share" data-share="{key}"><th>{w.title}</th>{cells}</tr>'
    for key in vm.sudden_keys_of(*columns.values()):
        name = next((str(f[key].get("measure")) for f in columns.values() if f.get(key)),
                    key.removeprefix(vm.SUDDEN_PREFIX))
        cells = "".join(
            f"<td>{vm.sudden_text(figs.get(key), measure=False)}"
            f"{vm.notice_html(vm.notices_for('sudden', figs))}</td>"
            for figs in columns.values())
        rows += f"<tr><th>Sudden gains and losses ({html.escape(name)})</th>{cells}</tr>"
    return rows


def sudden_section(v: PracticeView) -> Section:
    """Sudden gains and losses by team in the quarter, small cells suppressed (§8, §10)."""
    sec = Section("sudden", "Sudden gains and losses by team (small groups suppressed)")
    sec.parts.append(note(vm.SUDDEN_NOTE))
    cells = scopes.sudden_breakdown(v.current, outcome_key=v.outcome_key, min_cell=v.min_cell)
    if not cells:
        sec.parts.append(note("No outcome scores in this export, so no sudden gains.",
                              "sv-empty"))
        return sec
    names = {o: str((v.current_headline.get(f"sudden__{o}") or {}).get("measure", o))
             for o in cells}
    sec.parts.append(vm.breakdown_table(cells, names, min_cell=v.min_cell))
    return sec


# ---------------------------------------------------------------------- shared sections
def alliance_section(
    cur: Caseload, key: str | None, *, compare: Any, labels: tuple[str, str], series: Any = None,
    practice_k: int | None = None, min_cell: int = 5,
) -> Section:
    """Mean alliance by rated-session number and by quarter, with 95% bands.

    Every curve stops before its first point of fewer than k ratings and says so
    (:func:`supervision.views.alliance.until_few`); k is ``practice_k`` when ``cur`` is the
    practice's (the practice pack), else ``min_cell``: past that point a therapist's "mean"
    is one or two clients' ratings, not the caseload's trend.
    """
    sec = Section("alliance", "Alliance trends")
    if key is None:
        sec.parts.append(note("No alliance ratings in this export.", "sv-empty"))
        return sec
    m = cur.registry[key]
    own, other = labels

    k = min_cell if practice_k is None else practice_k
    add_figure(
        sec,
        lambda: va.alliance_trend_figure(
            alliance.alliance_by_session(cur, key), m, practice=compare,
            series=series, own_label=own, practice_label=other, min_cell=k,
        ),
        f"No {m.name} ratings in this quarter.",
    )
    add_figure(
        sec,
        lambda: va.alliance_quarter_figure(
            alliance.alliance_by_quarter(cur, key), m, own_label=own, min_cell=k
        ),
        f"No {m.name} ratings in this quarter.",
    )
    return sec


def rupture_section(
    cur: Caseload, compare: Mapping[str, Any] | None, *, own_label: str, timeline: bool
) -> Section:
    """Repair rate against the comparison, sessions to repair (and the timeline for one)."""
    sec = Section("ruptures", "Rupture and repair")
    ev = ruptures.rupture_events(cur).execute()
    own = scopes.rupture_row(cur)
    if timeline:
        add_figure(sec, lambda: vr.rupture_timeline_figure(ev), "No ruptures in this quarter.")
    add_figure(
        sec,
        lambda: vr.repair_rate_figure(own, compare, own_label=own_label),
        "No ruptures in this quarter, so no repair rate.",
    )
    add_figure(
        sec, lambda: vr.sessions_to_repair_figure(ev), "No repaired ruptures in this quarter."
    )
    return sec


def neurotype_section(groups: Any, grid: Any, *, min_cell: int, title: str,
                      staff_rows: bool = False) -> Section:
    """Neurotype-match groups and the tag grid, small cells suppressed, with the caution;
    ``staff_rows`` (the practice's grid, rows of colleagues): the sentence on why therapist
    tags of few therapists have no row (:data:`supervision.views.neurotype.STAFF_TAGS`)."""
    sec = Section("neurotype", title)
    sec.parts.append(note(vn.CAUTION.format(min_cell=min_cell), "sv-caution"))
    empty = vn.panel_empties(groups, min_cell=min_cell, where="this quarter")
    add_figure(sec, lambda: vn.group_rates_figure(groups, min_cell=min_cell), empty["rates"])
    if vn.nothing_shown(groups):
        return sec  # one message for the section, not the same one twice
    add_figure(sec, lambda: vn.group_alliance_figure(groups, min_cell=min_cell),
               empty["alliance"])
    if grid is not None:
        add_figure(sec, lambda: vn.tag_heatmap_figure(grid, min_cell=min_cell), empty["grid"])
        if staff_rows:
            sec.parts.append(note(vn.staff_tags_note(min_cell), "sv-note"))
    return sec


def termination_section(
    cur: Caseload, both: Mapping[str, Any], curves: Mapping[str, Any], o_key: str | None,
    *, min_cell: int,
) -> Section:
    """Mix of endings, drop-out, outcome and dose by ending, retention."""
    sec = Section("termination", "Termination mix and outcomes")
    single = "phq9" if o_key == PAIRED else o_key
    empty = "No episodes in this quarter."
    add_figure(sec, lambda: vt.mix_figure(both), empty)
    add_figure(sec, lambda: vt.dropout_figure(both), "No ended episodes in this quarter.")
    add_figure(
        sec,
        lambda: (
            None
            if single is None
            else vt.outcome_by_ending_figure(
                outcomes.outcomes_by_termination(cur, single, min_cell=min_cell),
                scopes.measure_name(cur, single),
                min_cell=min_cell,
            )
        ),
        "No episodes with two or more outcome scores in this quarter.",
    )
    add_figure(
        sec,
        lambda: vt.dose_figure(
            termination.dose_by_termination(cur, min_cell=min_cell), min_cell=min_cell
        ),
        empty,
    )
    add_figure(sec, lambda: vt.retention_figure(curves), empty)
    return sec


def reflection_section(found: Any, *, therapist_view: bool) -> Section:
    """Reflection questions (the themes raised by listed cases first)."""
    sec = Section("reflection", "Questions for reflection")
    sec.parts.append(vc.reflection_panel(found, therapist_view=therapist_view).value)
    return sec


def references_section() -> Section:
    """Sources of the benchmarks and methods, as plain text (no link leaves the page)."""
    refs = [
        "Swift, J. K. & Greenberg, R. P. (2012). Premature discontinuation in adult "
        "psychotherapy: a meta-analysis. J Consult Clin Psychol 80(4), 547-559.",
        "NHS England (2025). NHS Talking Therapies, for anxiety and depression, annual "
        "reports, 2024-25. https://digital.nhs.uk/data-and-information/publications/"
        "statistical/nhs-talking-therapies-for-anxiety-and-depression-annual-reports",
        "Spiegelhalter, D. J. (2005). Funnel plots for comparing institutional performance. "
        "Stat Med 24(8), 1185-1202.",
        "Jacobson, N. S. & Truax, P. (1991). Clinical significance: a statistical approach "
        "to defining meaningful change. J Consult Clin Psychol 59(1), 12-19.",
        "Eubanks, C. F., Muran, J. C. & Safran, J. D. (2018). Alliance rupture repair: a "
        "meta-analysis. Psychotherapy 55(4), 508-519.",
        "Flückiger, C. et al. (2018). The alliance in adult psychotherapy: a meta-analytic "
        "synthesis. Psychotherapy 55(4), 316-340.",
    ]
    sec = Section("references", "References")
    items = "".join(f"<li>{html.escape(r)}</li>" for r in refs)
    sec.parts.append(f'<ol class="sv-refs">{items}</ol>')
    return sec


# ---------------------------------------------------------------------- the two packs
def materialised(cl: Caseload) -> Caseload:
    """``cl`` with its (scoped) tables computed once into DuckDB temporary tables.

    A scoped caseload is a chain of filters and semi-joins; every metric would compile and
    run that chain again.  Caching it once makes each later figure a query over a small
    table (the same figures, a fraction of the compile time).
    """
    return replace(
        cl,
        sessions=cl.sessions.cache(),
        episodes=cl.episodes.cache(),
        therapists=cl.therapists.cache(),
    )


def practice_view(cl: Caseload, q: str, *, min_cell: int) -> PracticeView:
    """The practice dashboard's view of ``q`` (as ``PracticeView.build``), tables cached."""
    prev_q = periods.previous_quarter(q)
    (c0, c1), (p0, _p1) = periods.quarter_bounds(q), periods.quarter_bounds(prev_q)
    year_start = periods.quarter_bounds(periods.previous_quarter(q, 3))[0]
    a_key, o_key = scopes.alliance_measure(cl), scopes.outcome_measure(cl)
    cur = materialised(cl.scoped(since=c0, until=c1))
    prev = materialised(cl.scoped(since=p0, until=_p1))
    v = PracticeView(cur, prev, q, prev_q, a_key, o_key, min_cell)
    v.year = materialised(cl.scoped(since=year_start, until=c1))
    v.current_headline = scopes.headline(cur, alliance_key=a_key, outcome_key=o_key)
    v.previous_headline = scopes.headline(prev, alliance_key=a_key, outcome_key=o_key)
    return v


def practice_pack() -> Pack:
    """The practice-review pack for ``SUPERVISION_QUARTER`` over ``SUPERVISION_EXPORT``."""
    min_cell, q = opening.min_cell(), quarter()
    v = practice_view(opening.caseload(), q, min_cell=min_cell)
    prev_label = f"{v.previous} (previous)"
    cur_t = scopes.termination_row(v.current)
    prev_t = scopes.termination_row(v.previous_cl)
    sections = [
        cover(f"Practice review, {q}", cover_facts(), q, min_cell),
        headline_section(
            {q: v.current_headline, prev_label: v.previous_headline},
            rates(v.current, v.outcome_key), rates(v.previous_cl, v.outcome_key),
            q=q, prev_q=v.previous,
        ),
        alliance_section(
            v.current, v.alliance_key,
            compare=alliance.alliance_by_session(v.previous_cl, v.alliance_key)
            if v.alliance_key else None,
            labels=(q, prev_label), practice_k=min_cell,
        ),
        rupture_section(
            v.current, scopes.rupture_row(v.previous_cl),
            own_label=q, timeline=False,
        ),
        neurotype_section(
            neurotype.group_summary(v.current, min_cell=min_cell),
            neurotype.tag_grid(v.current, min_cell=min_cell, staff_rows=True),
            min_cell=min_cell, title="Neurotype patterns (small groups suppressed)",
            staff_rows=True,
        ),
        termination_section(
            v.current, {q: cur_t, prev_label: prev_t},
            {q: retention_of_k(termination.retention(v.current), min_cell),
             prev_label: retention_of_k(termination.retention(v.previous_cl), min_cell)},
            v.outcome_key, min_cell=min_cell,
        ),
        sudden_section(v),
        funnel_section(v),
        reflection_section(None, therapist_view=False),
        references_section(),
    ]
    return Pack(sections)


def funnel_section(v: PracticeView) -> Section:
    """Drop-out and reliable improvement by therapist on funnel plots (never a league table)."""
    from supervision.views.practice_tabs import funnel_tab

    sec = Section("funnels", "Therapists on funnel plots (four quarters)")
    sec.parts.append(
        note(
            "Each dot is a therapist, placed by how many episodes the rate rests on. Dots "
            "inside the funnel differ from the practice by no more than chance would make "
            "likely; a dot outside is a prompt to look closer, not a verdict. There is "
            "deliberately no ranked list. Therapists with fewer than "
            f"{v.min_cell} episodes in the denominator are not shown."
        )
    )
    funnel_tab(v)  # fills v.figures["funnel_dropout"], ["funnel_improvement"], ["adjusted_outcome"]
    for name, empty in (
        ("funnel_dropout", "No therapist has enough ended episodes to place."),
        ("funnel_improvement", "No therapist has enough paired outcome scores to place."),
        ("adjusted_outcome", "Too few therapists with enough paired outcome scores to adjust "
         "outcomes for intake severity."),
    ):
        add_figure(sec, lambda name=name: v.figures.get(name), empty)
    return sec


def therapist_pack() -> Pack:
    """A therapist's pack: their own quarter against their previous one and the practice.

    Reads the bundle the driver wrote (:func:`supervision.opening.therapist_context`): the
    therapist's rows from the start of the previous quarter to the end of this one, and
    ``practice.json`` holding only anonymous practice aggregates of this quarter.
    """
    min_cell, q = opening.min_cell(), quarter()
    own_all, practice = opening.therapist_context()
    tid = str(own_all.therapist_scope)
    prev_q = periods.previous_quarter(q)
    (c0, c1), (p0, p1) = periods.quarter_bounds(q), periods.quarter_bounds(prev_q)
    cur = materialised(own_all.scoped(since=c0, until=c1))
    prev = materialised(own_all.scoped(since=p0, until=p1))
    a_key, o_key = practice.get("alliance_key"), practice.get("outcome_key")
    # the practice's figures are of the last closed quarter (comparison.gate): named so
    you = f"You, {q}"
    prac = practice_label(practice, f"Practice, {q}")
    found = figures.cases_to_discuss(cur)
    front = cover(f"Review pack for therapist {tid}, {q}", practice.get("cover", {}), q, min_cell)
    front.parts.append(f'<p class="sv-note">{html.escape(comparison_note(practice))}</p>')
    sections = [
        front,
        headline_section(
            {
                you: scopes.headline(cur, alliance_key=a_key, outcome_key=o_key),
                f"You, {prev_q}": scopes.headline(prev, alliance_key=a_key, outcome_key=o_key),
                prac: practice.get("headline") or {},
            },
            rates(cur, o_key), rates(prev, o_key), q=q, prev_q=prev_q,
        ),
        alliance_section(
            cur, a_key if a_key in cur.registry else None,
            compare=scopes.frame(practice, "alliance_by_session"), labels=(you, prac),
            series=alliance.episode_series(cur, a_key) if a_key in cur.registry else None,
            min_cell=min_cell,
        ),
        rupture_section(cur, practice.get("ruptures"), own_label=you, timeline=True),
        neurotype_section(
            neurotype.group_summary(cur, min_cell=min_cell),
            neurotype.tag_grid(cur, min_cell=min_cell),
            min_cell=min_cell,
            title="Neurotype patterns in your caseload (small groups suppressed)",
        ),
        termination_section(
            cur,
            {you: scopes.termination_row(cur),
             prac: practice.get("termination")},
            {you: termination.retention(cur), prac: scopes.frame(practice, "retention")},
            o_key, min_cell=min_cell,
        ),
        caseload_section(cur, as_of=c1, alliance_key=a_key),
        cases_section(found),
        reflection_section(found, therapist_view=True),
        references_section(),
    ]
    return Pack(sections)


def caseload_section(cur: Any, *, as_of: Any, alliance_key: str | None) -> Section:
    """Every open episode at the quarter's end, one row each, flagged first (issue 25)."""
    sec = Section("caseload", "Your open caseload")
    table = figures.open_caseload(cur, as_of=as_of, alliance_key=alliance_key)
    sec.parts.append(vct.caseload_html(table, registry=cur.registry))
    return sec


def cases_section(found: Any) -> Section:
    """Open episodes to bring to supervision (domain.md §7), by episode pseudonym."""
    sec = Section("cases", "Cases to discuss")
    sec.parts.append(vc.cases_panel(found, therapist_view=True).value)
    return sec


__all__ = ["COVER", "QUARTER", "Pack", "Section", "practice_pack", "rates", "therapist_pack"]
