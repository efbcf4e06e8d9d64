"""The open caseload at a glance: every open episode of the scope, one row each (issue 25).

Drawn from :func:`supervision.figures.open_caseload` (computed there in one query, never
here): sessions so far, last seen, the latest alliance rating with its concern flag, the
latest outcome scores with their change since intake, the status against the practice's
expected response (§11), sudden gains and losses (§10) and the reasons to discuss (§7).
Rows are sortable and filterable; flagged rows come first by default, a critical item
(``risk_item``) first of all.  A click on a row's episode opens its case timeline (the app's
``open_timeline``).  Pseudonyms only; every string from the export goes through
:func:`~.common.esc`.  Rows are shown a page (:data:`PAGE` rows) at a time, sorted and
filtered over all of them; a row's widgets are built when first shown and then kept, so a
sort or a filter only reorders and picks them (a row is eight widgets with their layouts and
styles: 400 at once took 2–4 s to build, a page takes about a tenth of a second).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import ipywidgets as widgets
import pandas as pd

from supervision.measures import Measure
from supervision.views.cases import REASONS
from supervision.views.common import esc, html_panel, is_missing, num

#: Status codes (figures.CASELOAD_STATUS) in plain words.
STATUS_TEXT = {
    "below_p10": "below the 10th percentile",
    "below_p25": "below the 25th percentile",
    "on_track": "on track",
    "not_enough_history": "not enough history yet",
}
STATUS_RANK = {s: i for i, s in enumerate(STATUS_TEXT)}
SORTS = {
    "flagged": "Flagged first",
    "status": "Status (furthest below expected first)",
    "days_since_seen": "Last seen (longest ago first)",
    "sessions": "Sessions (most first)",
    "change": "Outcome change (worst first)",
    "episode_id": "Episode id",
}
FILTERS = {
    "all": "All open episodes",
    "flagged": "With a reason to discuss",
    "risk_item": "Item 9 above 0 (check risk)",
    "below_p10": "Below the 10th percentile",
    "below_p25": "Below the 25th percentile or lower",
    "on_track": "On track",
    "not_enough_history": "Not enough history yet",
}
NOTE = (
    "Every open episode in view, one row each. Status compares the latest change since "
    "intake with the practice's own ended episodes that started at the same level (at least "
    "30 of them, §11): a prompt for supervision, never a verdict on the client or the "
    "therapist. Click an episode to open its timeline."
)
#: Rows per page.
PAGE = 25
WIDTHS = (60, 90, 110, 145, 140, 70, 210)
HEADERS = ("Sessions", "Last seen", "Alliance (latest)", "Outcome (latest, change since intake)",
           "Status", "Gains / losses", "Reasons to discuss")


def _cell(i: int, html: str) -> str:
    return f'<span class="sv-cl-cell" style="width:{WIDTHS[i]}px">{html}</span>'


def _alliance(r: pd.Series, registry: Mapping[str, Measure]) -> str:
    key = r.get("alliance_measure")
    if not isinstance(key, str) or is_missing(r.get("alliance_latest")):
        return "—"
    m = registry.get(key)
    short = {"srs": "SRS", "wai_sr": "WAI-SR"}.get(key, m.name if m is not None else key)
    text = f"{num(r['alliance_latest'])} <span class='sv-note'>{esc(short)}</span>"
    concern = r.get("alliance_concern")
    if not is_missing(concern) and bool(concern) and m is not None:
        text += f" <b class='sv-concern'>below {num(m.concern_below, 0)}</b>"
    return text


def _outcomes(r: pd.Series, outs: list[str], registry: Mapping[str, Measure]) -> str:
    parts = []
    for k in outs:
        latest = r.get(f"{k}__latest")
        if is_missing(latest):
            continue
        change = r.get(f"{k}__change")
        sign = "" if is_missing(change) else ("+" if float(change) > 0 else "")
        name = esc(registry[k].name if k in registry else k)
        parts.append(f"{name} {num(latest, 0)} ({sign}{num(change, 0)})")
    return "<br>".join(parts) or "—"


def _reasons(codes: list[str]) -> str:
    out = []
    for c in codes:
        text = esc(REASONS.get(str(c), str(c)))
        out.append(f"<b class='sv-concern'>{text}</b>" if c == "risk_item" else text)
    return "; ".join(out) or "—"


def _values(r: pd.Series, outs: list[str], registry: Mapping[str, Measure]
            ) -> tuple[str, ...]:
    """The row's cells as HTML, in :data:`HEADERS` order."""
    days = r.get("days_since_seen")
    seen = "—" if is_missing(days) else (
        "today" if int(days) == 0 else f"{int(days)} day{'s' if int(days) != 1 else ''} ago")
    return (
        str(int(r["sessions"])), seen, _alliance(r, registry), _outcomes(r, outs, registry),
        esc(STATUS_TEXT.get(str(r["status"]), str(r["status"]))),
        f"{int(r['sudden_gains'])} / {int(r['sudden_losses'])}", _reasons(list(r["reasons"])),
    )


def _cells(r: pd.Series, outs: list[str], registry: Mapping[str, Measure]) -> str:
    return "".join(_cell(i, v) for i, v in enumerate(_values(r, outs, registry)))


class CaseloadTable:
    """The sortable, filterable open caseload; ``open_case(episode_id)`` on a row click."""

    def __init__(self, table: pd.DataFrame, open_case: Callable[[str], None], *,
                 registry: Mapping[str, Measure] | None = None) -> None:
        self.table = table.reset_index(drop=True)
        self.open_case = open_case
        registry = self.registry = registry or {}
        outs = [c[: -len("__latest")] for c in self.table.columns if c.endswith("__latest")]
        self.outs = outs
        self.by_id = {str(e): i for i, e in enumerate(self.table["episode_id"])}
        self.rows: dict[str, widgets.HBox] = {}
        self.page = 0
        self.sort = widgets.Dropdown(options=[(v, k) for k, v in SORTS.items()],
                                     value="flagged", description="Sort")
        self.show = widgets.Dropdown(options=[(v, k) for k, v in FILTERS.items()],
                                     value="all", description="Show")
        self.search = widgets.Text(placeholder="episode id contains…", description="Find")
        for w, cls in ((self.sort, "sv-cl-sort"), (self.show, "sv-cl-filter"),
                       (self.search, "sv-cl-search")):
            w.add_class(cls)
            w.observe(lambda _: self._first_page(), names="value")
        head = "".join(_cell(i, f"<b>{h}</b>") for i, h in enumerate(HEADERS))
        header = widgets.HBox([widgets.HTML("<b>Episode</b>", layout={"width": "110px"}),
                               widgets.HTML(head)])
        header.add_class("sv-cl-header")
        self.count = widgets.HTML()
        self.body = widgets.VBox()
        self.body.add_class("sv-cl-body")
        self.prev = widgets.Button(description="Previous page", icon="arrow-left")
        self.next = widgets.Button(description="Next page", icon="arrow-right")
        self.prev.add_class("sv-cl-prev")
        self.next.add_class("sv-cl-next")
        self.prev.on_click(lambda _: self._turn(-1))
        self.next.on_click(lambda _: self._turn(1))
        self.root = widgets.VBox([
            html_panel(f"<p class='sv-note'>{esc(NOTE)}</p>", "sv-cl-note"),
            # wrapped: on a phone each control on its own line (side by side ran off a 390 px
            # screen)
            widgets.HBox([self.sort, self.show, self.search], layout={"flex_flow": "row wrap"}),
            self.count, header, self.body,
            widgets.HBox([self.prev, self.next], layout={"flex_flow": "row wrap"})])
        self.root.add_class("sv-caseload-table")
        self.redraw()

    def _row(self, eid: str) -> widgets.HBox:
        """The row of ``eid``: a button with the episode id (a click opens its timeline) and
        the cells; built on first use and kept."""
        if eid in self.rows:
            return self.rows[eid]
        r = self.table.iloc[self.by_id[eid]]
        button = widgets.Button(description=eid, tooltip=f"Open the timeline of {eid}",
                                layout={"width": "110px"})
        button.add_class("sv-cl-open")
        button.on_click(lambda _, eid=eid: self.open_case(eid))
        row = widgets.HBox([button, widgets.HTML(_cells(r, self.outs, self.registry))])
        row.add_class("sv-cl-row")
        if "risk_item" in list(r["reasons"]):
            row.add_class("sv-risk")
        elif r["flagged"]:
            row.add_class("sv-cl-flagged")
        self.rows[eid] = row
        return row

    def _first_page(self) -> None:
        self.page = 0
        self.redraw()

    def _turn(self, step: int) -> None:
        self.page += step
        self.redraw()

    # ------------------------------------------------------------------ state
    def _keep(self) -> pd.Series:
        t, show = self.table, self.show.value
        keep = pd.Series(True, index=t.index)
        if show == "flagged":
            keep &= t["flagged"].astype(bool)
        elif show == "risk_item":
            keep &= t["reasons"].map(lambda rs: "risk_item" in list(rs))
        elif show == "below_p25":
            keep &= t["status"].isin(["below_p10", "below_p25"])
        elif show != "all":
            keep &= t["status"] == show
        needle = self.search.value.strip().lower()
        if needle:
            keep &= t["episode_id"].astype(str).str.lower().str.contains(needle, regex=False)
        return keep

    def _sort_key(self) -> pd.Series | None:
        t, by = self.table, self.sort.value
        if by == "status":
            return t["status"].map(STATUS_RANK)
        if by == "days_since_seen":
            return -t["days_since_seen"].astype(float).fillna(-1)
        if by == "sessions":
            return -t["sessions"].astype(float)
        if by == "change":
            return -_worst_change(t, self.registry)
        if by == "episode_id":
            return t["episode_id"].astype(str).rank(method="first")
        return None

    def shown(self) -> list[str]:
        """Episode ids of the rows shown, in order (sort, then the default order on ties)."""
        t = self.table.assign(_default=range(len(self.table)))
        t = t[self._keep()]
        key = self._sort_key()
        if key is not None:
            t = t.assign(_key=key[t.index]).sort_values(["_key", "_default"], kind="stable")
        return [str(x) for x in t["episode_id"]]

    def redraw(self) -> None:
        """Show the current page of the sorted, filtered rows."""
        ids = self.shown()
        pages = max(1, -(-len(ids) // PAGE))
        self.page = min(max(self.page, 0), pages - 1)
        here = ids[self.page * PAGE:(self.page + 1) * PAGE]
        self.body.children = [self._row(i) for i in here]
        self.prev.disabled = self.page == 0
        self.next.disabled = self.page >= pages - 1
        where = (f" (rows {self.page * PAGE + 1}–{self.page * PAGE + len(here)}, page "
                 f"{self.page + 1} of {pages})" if pages > 1 else "")
        self.count.value = (f"<span class='sv-note'>{len(ids)} of {len(self.table)} open "
                            f"episodes shown{where}</span>")


def _worst_change(t: pd.DataFrame, registry: Mapping[str, Measure]) -> pd.Series:
    """Per row, the largest worsening since intake over the outcome measures, in points
    (a rise where lower is better, as PHQ-9; a fall where higher is better, as ORS)."""
    changes = []
    for c in t.columns:
        if c.endswith("__change"):
            m = registry.get(c[: -len("__change")])
            sign = -1.0 if m is not None and m.better == "higher" else 1.0
            changes.append(sign * t[c].astype(float))
    if not changes:
        return pd.Series(0.0, index=t.index)
    return pd.concat(changes, axis=1).max(axis=1).fillna(float("-inf"))


def caseload_html(table: pd.DataFrame, *, registry: Mapping[str, Measure] | None = None
                  ) -> str:
    """The table as static HTML (the therapist's pack): the same rows and order, no controls."""
    if table.empty:
        return '<div class="sv-empty">No open episodes at the end of this period.</div>'
    registry = registry or {}
    outs = [c[: -len("__latest")] for c in table.columns if c.endswith("__latest")]
    head = "".join(f"<th>{h}</th>" for h in ("Episode", *HEADERS))
    rows = []
    for _, r in table.iterrows():
        cells = "".join(f"<td>{v}</td>" for v in _values(r, outs, registry))
        risk = ' class="sv-risk"' if "risk_item" in list(r["reasons"]) else ""
        rows.append(f"<tr{risk}><td>{esc(r['episode_id'])}</td>{cells}</tr>")
    return (f"<p class='sv-note'>{esc(NOTE.replace(' Click an episode to open its timeline.', ''))}"
            f"</p><table class='sv-table sv-caseload'><tr>{head}</tr>{''.join(rows)}</table>")


def caseload_panel(table: pd.DataFrame, open_case: Callable[[str], None], *,
                   registry: Mapping[str, Measure] | None = None) -> widgets.Widget:
    """The table as a widget, or a plain message when no episode is open in view."""
    if table.empty:
        return html_panel('<div class="sv-empty">No open episodes in this range.</div>',
                          "sv-empty-panel")
    return CaseloadTable(table, open_case, registry=registry).root


__all__ = ["FILTERS", "PAGE", "SORTS", "STATUS_TEXT", "CaseloadTable", "caseload_html",
           "caseload_panel"]
