"""The practice comparison a therapist sees: practice figures that expose no other therapist.

A therapist's own view (``supervision serve --therapist ID``) and a therapist's review pack
show their figures beside the practice's.  The therapist knows their own caseload exactly,
so every practice figure, minus their own, is a figure of *the other therapists*: the
practice's alliance at session 14 minus theirs is another therapist's single long episode
when only one other episode reached session 14, and in a practice of two therapists the
practice minus their own *is* the other therapist.  So the comparison obeys the small-cell
rule (domain.md §8) on what stands behind it once the viewer's own rows are taken away:

* **Withheld whole** when fewer than ``min_cell`` other therapists, or fewer than
  ``min_cell`` other therapists' episodes, are in the window: nothing but the measure keys
  and a plain-words reason (``withheld``) is handed over.
* **Per point** — each session number of the alliance trend, each quarter, each step of the
  retention curve, each headline figure — a point is kept only when at least ``min_cell``
  other-therapist episodes *from at least* ``min_cell`` *other therapists* stand behind it
  (and the practice's own n there is at least ``min_cell``).  The trend and the retention
  curve are trimmed where that fails (their n only falls with the session number); a
  headline figure is set to ``None`` with ``suppressed: True``.
* **Breakdowns** (the mix of endings, the neurotype groups of a pack) are suppressed on the
  other therapists' counts with :func:`supervision.privacy.suppress_groups` (complementary
  suppression included); a rate that would give a hidden count back (the drop-out rate when
  the drop-out count is hidden) goes with it.

The input is :func:`supervision.scopes.practice_aggregates` of the window, which holds
no id and no row; this module only removes from it.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from supervision import periods, scopes
from supervision.caseload import Caseload
from supervision.clinical import alliance, termination
from supervision.privacy import check_min_cell, enough_others, suppress_groups
from supervision.schema import TERMINATION
from supervision.windowcache import GateFigures

#: Keys that are kept when the comparison is withheld whole (they name no figure).
_KEYS = ("alliance_key", "outcome_key", "window", "cover")
#: Fields of a headline entry that name it rather than hold a figure (kept when it is hidden).
_LABELS = ("measure",)
#: Ending counts of a termination row (a breakdown of the practice's episodes).
_ENDINGS = tuple(TERMINATION)
#: Rupture-row fields that describe the other therapists' ruptures (withheld below k).
_RUPTURE_FIGURES = ("flagged", "drop", "count", "repaired", "per_100_sessions", "repair_rate",
                    "repair_rate_low", "repair_rate_high", "sessions_to_repair",
                    "unrepaired_at_end")


@dataclass(frozen=True)
class Others:
    """What stands behind the practice figures once one therapist's own rows are removed.

    Each count is of *other therapists'* episodes (``episodes``) and of the distinct other
    therapists among them (``therapists``), overall and per point of each curve.
    """

    therapists: int
    episodes: int
    by_session: pd.DataFrame  # rated_index, episodes, therapists
    by_quarter: pd.DataFrame  # quarter, episodes, therapists
    at_risk: pd.DataFrame  # sessions, episodes, therapists (attended >= sessions)
    headline_n: dict[str, float | None]
    termination: dict[str, Any]
    rupture_count: float | None
    groups: pd.DataFrame | None  # neurotype groups of the others (suppressed), if asked


def excluding(cl: Caseload, therapist_id: str | Iterable[str]) -> Caseload:
    """``cl`` without the rows of one therapist, or of several (each remaining episode keeps
    all its sessions)."""
    ids = [therapist_id] if isinstance(therapist_id, str) else sorted(set(therapist_id))
    s, e, t = cl.sessions, cl.episodes, cl.therapists
    if not ids:
        return cl
    return replace(
        cl,
        sessions=s.filter(~s.therapist_id.isin(ids)),
        episodes=e.filter(~e.therapist_id.isin(ids)),
        therapists=t.filter(~t.therapist_id.isin(ids)),
    )


def others_behind(
    window: Caseload, therapist_id: str | Iterable[str], *, alliance_key: str | None,
    outcome_key: str | None, groups: bool = False, min_cell: int,
) -> Others:
    """Count what the other therapists contribute to each practice figure of ``window``
    (the others: every therapist but ``therapist_id``, or but each of several ids)."""
    rest = excluding(window, therapist_id).materialised()
    t = termination.episode_termination(rest)
    per = t.group_by(["therapist_id", "attended_sessions"]).aggregate(
        n=t.episode_id.count()).execute()
    n_eps = int(per["n"].sum()) if not per.empty else 0
    n_ther = int(per["therapist_id"].nunique()) if not per.empty else 0
    by_session = by_quarter = pd.DataFrame(columns=["episodes", "therapists"])
    if alliance_key is not None:
        r = alliance.rated_sessions(rest, alliance_key)
        by_session = r.group_by("rated_index").aggregate(
            episodes=r.episode_id.nunique(), therapists=r.therapist_id.nunique()).execute()
        q = r.mutate(quarter=r.session_date.year().cast("string") + "Q"
                     + r.session_date.quarter().cast("string"))
        by_quarter = q.group_by("quarter").aggregate(
            episodes=q.episode_id.nunique(), therapists=q.therapist_id.nunique()).execute()
    head = scopes.headline(rest, alliance_key=alliance_key, outcome_key=outcome_key)
    grp = _others_groups(rest, min_cell) if groups else None
    return Others(
        therapists=n_ther, episodes=n_eps, by_session=by_session, by_quarter=by_quarter,
        at_risk=_at_risk(per), headline_n={k: (f or {}).get("n") for k, f in head.items()},
        termination=scopes.termination_row(rest) or {},
        rupture_count=(scopes.rupture_row(rest) or {}).get("count"), groups=grp,
    )


def _others_groups(rest: Caseload, min_cell: int) -> pd.DataFrame:
    """The other therapists' neurotype-match groups: ``group, episodes, therapists,
    suppressed``.

    A group is a pair of a therapist tag and a client tag (``nd_therapist``: a
    neurodivergent therapist with a neurotypical client), so it is a breakdown by a staff
    attribute as well as by clients: the practice's ``nd_therapist`` minus the viewer's own
    is the clients of the other neurodivergent therapists, and when one or two colleagues
    are all of them it is their own figures (and says they are neurodivergent).  So a group
    is hidden unless the gate's rule holds for it (:func:`~supervision.privacy.
    enough_others`: at least k other episodes *from at least k other therapists*); a group
    failing only the therapist count enters the suppression as a primary cell (count 1),
    so that complements are chosen around it and the practice's total of episodes minus the
    shown groups gives no hidden one back.
    """
    from supervision.clinical.pairing import episode_pairs
    from supervision.schema import NEUROTYPE_GROUPS

    p = episode_pairs(rest)
    df = p.group_by("group").aggregate(
        episodes=p.episode_id.count(), therapists=p.therapist_id.nunique()).execute()
    df = pd.DataFrame({"group": list(NEUROTYPE_GROUPS)}).merge(df, on="group", how="left")
    df[["episodes", "therapists"]] = df[["episodes", "therapists"]].fillna(0).astype("int64")
    few = (df["episodes"] > 0) & ~enough_others(df["episodes"], df["therapists"],
                                                min_cell=min_cell)
    cells = df[["group", "episodes"]].copy()
    cells.loc[few, "episodes"] = cells.loc[few, "episodes"].clip(upper=1)
    shown = suppress_groups(cells, min_cell=min_cell)
    return df.assign(suppressed=shown["suppressed"].to_numpy(dtype=bool))


def _at_risk(per: pd.DataFrame) -> pd.DataFrame:
    """Per attended-session count s: other episodes (and therapists) with >= s sessions."""
    if per.empty:
        return pd.DataFrame({"sessions": [0.0], "episodes": [0], "therapists": [0]})
    top = int(per["attended_sessions"].max())
    s = np.arange(top + 1)
    att = per["attended_sessions"].to_numpy(dtype="int64")
    eps = np.array([per["n"].to_numpy()[att >= k].sum() for k in s], dtype="int64")
    deepest = per.groupby("therapist_id")["attended_sessions"].max().to_numpy(dtype="int64")
    ther = np.array([(deepest >= k).sum() for k in s], dtype="int64")
    return pd.DataFrame({"sessions": s.astype("float64"), "episodes": eps, "therapists": ther})


def withheld_reason(others: Others, min_cell: int) -> str | None:
    """Why the whole comparison is withheld, in plain words, or None if it is not."""
    if not enough_others(others.episodes, others.therapists, min_cell=min_cell):
        return (
            f"Practice figures are not shown: fewer than {min_cell} other therapists, or "
            f"fewer than {min_cell} of their episodes, are in these dates, so a practice "
            "figure would show another therapist's clients."
        )
    return None


def scrub(aggregates: dict[str, Any], others: Others, *, min_cell: int) -> dict[str, Any]:
    """Remove from ``aggregates`` every figure that ``others`` does not cover (module doc)."""
    k = check_min_cell(min_cell)
    reason = withheld_reason(others, k)
    if reason is not None:
        return {**{key: aggregates[key] for key in _KEYS if key in aggregates}, "withheld": reason}
    out = dict(aggregates)
    out["alliance_by_session"] = _keep_points(
        aggregates.get("alliance_by_session"), others.by_session, "rated_index", "n", k)
    out["alliance_by_quarter"] = _keep_points(
        aggregates.get("alliance_by_quarter"), others.by_quarter, "quarter", "n", k)
    out["retention"] = _trim_retention(aggregates.get("retention"), others.at_risk, k)
    term = _scrub_termination(aggregates.get("termination"), others.termination, k)
    out["termination"] = term
    out["ruptures"] = _scrub_ruptures(aggregates.get("ruptures"), others.rupture_count, k)
    out["headline"] = _scrub_headline(aggregates.get("headline"), others.headline_n, term, k)
    if "neurotype_groups" in aggregates:
        out["neurotype_groups"] = _scrub_groups(aggregates["neurotype_groups"], others.groups)
    out["min_cell"] = k
    return out


def _covered(row: pd.Series | dict, k: int) -> bool:
    return bool(enough_others(row.get("episodes") or 0, row.get("therapists") or 0,
                              min_cell=k))


def _keep_points(
    records: list[dict] | None, behind: pd.DataFrame, key: str, n: str, k: int
) -> list[dict] | None:
    """Points of a curve with >= k practice n and >= k other episodes from >= k therapists."""
    if records is None:
        return None
    cover = {str(r[key]): _covered(r, k) for r in behind.to_dict("records")}
    return [r for r in records if (r.get(n) or 0) >= k and cover.get(str(r[key]), False)]


def _trim_retention(records: list[dict] | None, at_risk: pd.DataFrame, k: int) -> list | None:
    """The retention curve up to the last step where >= k stand behind it (then cut)."""
    if records is None:
        return None
    cover = {float(r["sessions"]): _covered(r, k) for r in at_risk.to_dict("records")}
    kept = []
    for r in records:
        s = float(r["sessions"])
        if (r.get("at_risk") or 0) < k or not cover.get(s, False):
            break
        kept.append(r)
    return kept


def _scrub_termination(row: dict | None, others: dict, k: int) -> dict | None:
    """Ending counts hidden where the other therapists' count is 1..k-1 (complemented)."""
    if row is None:
        return None
    cells = pd.DataFrame({"group": list(_ENDINGS),
                          "episodes": [others.get(t) or 0 for t in _ENDINGS]})
    hidden = set(cells.loc[suppress_groups(cells, min_cell=k)["suppressed"], "group"])
    out = dict(row)
    for t in hidden:
        out[t] = None
    if "dropout" in hidden:
        out.update(dropout_rate=None, dropout_rate_low=None, dropout_rate_high=None)
    intake, ended = others.get("intake_only") or 0, others.get("ended") or 0
    if 0 < intake < k or 0 < ended - intake < k:
        out.update(intake_only=None, intake_only_rate=None)
    if 0 < ended < k:
        out.update(ended=None, dropout_rate=None, dropout_rate_low=None,
                   dropout_rate_high=None, intake_only=None, intake_only_rate=None)
    out["suppressed"] = sorted(hidden)
    return out


def _scrub_ruptures(row: dict | None, count: float | None, k: int) -> dict | None:
    if row is None or (count or 0) >= k:
        return row
    return {**row, **dict.fromkeys(_RUPTURE_FIGURES), "suppressed": True}


def _scrub_headline(head: dict | None, others_n: dict, term: dict | None, k: int) -> dict | None:
    """A headline figure is kept when >= k of the other therapists' cases stand behind it."""
    if head is None:
        return None
    out = {}
    for key, fig in head.items():
        behind = others_n.get(key)
        if key == "sessions":  # a count of sessions; shown when its episodes are covered
            behind = others_n.get("episodes")
        hide = (behind or 0) < k
        if key == "dropout_rate" and term is not None and term.get("dropout_rate") is None:
            hide = True
        # every figure of the entry goes (a share's ``k``, the sudden-gain counts), not its label
        out[key] = ({**fig, **{x: None for x in fig if x not in _LABELS}, "suppressed": True}
                    if hide and fig is not None else fig)
    return out


def _scrub_groups(records: list[dict] | None, others: pd.DataFrame | None) -> list | None:
    """Practice neurotype groups hidden where the other therapists' group is hidden."""
    if records is None or others is None:
        return records
    hidden = set(others.loc[others["suppressed"].astype(bool), "group"])
    return [
        r if r.get("group") not in hidden
        else {**{c: (None if c not in ("group", "suppressed") else v) for c, v in r.items()},
              "suppressed": True}
        for r in records
    ]


def points_of_k(df: pd.DataFrame | None, min_cell: int, *, n: str = "n") -> pd.DataFrame | None:
    """A practice curve (alliance by session number or quarter) without its points of n < k.

    For the practice's own curves in a pack or the practice review, where no viewer's own
    rows are subtracted: a point that fewer than ``min_cell`` episodes stand behind would
    show those clients' ratings session by session.
    """
    if df is None:
        return None
    return df[df[n].fillna(0) >= check_min_cell(min_cell)].reset_index(drop=True)


def retention_of_k(df: pd.DataFrame | None, min_cell: int) -> pd.DataFrame | None:
    """A retention curve cut before its first step with fewer than ``min_cell`` at risk."""
    if df is None or df.empty:
        return df
    short = (df["at_risk"].fillna(0) < check_min_cell(min_cell)).to_numpy()
    stop = int(short.argmax()) if short.any() else len(df)
    return df.iloc[:stop].reset_index(drop=True)


def comparison_note(practice: dict[str, Any]) -> str:
    """One plain sentence on what the practice figures beside a therapist's own leave out."""
    period = practice.get("period")
    when = (f" They come from {period}, the last quarter closed by the end date, so they do "
            "not change as the dates move within a quarter or the export grows."
            if period else "")
    if practice.get("withheld"):
        return str(practice["withheld"]) + when
    k = practice.get("min_cell", 5)
    return (
        "Practice figures are anonymous aggregates over the other therapists too; a point "
        f"that fewer than {k} other therapists' episodes (from at least {k} therapists) stand "
        "behind is left out, so the practice lines may stop early." + when
    )


def practice_label(practice: dict[str, Any], fallback: str = "Practice") -> str:
    """The legend of the practice figures a gate handed over: ``"Practice, 2024Q3"``
    (``fallback`` for figures that did not come through :func:`gate`)."""
    period = practice.get("period")
    return f"Practice, {period}" if period else fallback


#: The gate's period (the last quarter closed by the viewer's end date):
#: :func:`supervision.periods.gate_quarter`, re-exported here beside the gate.
gate_quarter = periods.gate_quarter


def gate(
    cl: Caseload, *, entitled: Iterable[str], min_cell: int,
    since: dt.date | None = None, until: dt.date | None = None,
    aggregates: dict[str, Any] | None = None, groups: bool = False,
) -> dict[str, Any]:
    """The one privacy gate: the practice figures a viewer not entitled to every therapist
    may see beside the therapists they are entitled to.

    Every such viewer goes through it: a supervisor whose dashboard is limited to some
    therapists (the hub's ``supervisor`` role, ``SUPERVISION_THERAPISTS``), a therapist's
    server and bundle (:func:`supervision.opening.write_bundle`), and a therapist's review
    pack (:func:`supervision.report.build.write_therapist_bundle`).  A viewer entitled to
    every therapist (the practice lead) does not need it.

    **What is shown.**  The practice's anonymous aggregates
    (:func:`supervision.scopes.practice_aggregates`) of one closed quarter, scrubbed by
    :func:`scrub` against what the *other* therapists — every therapist not in ``entitled``
    — stand behind: the whole comparison is withheld when fewer than ``min_cell`` others or
    their episodes are in it, and each point (session number, quarter, retention step,
    headline figure) is kept only when at least ``min_cell`` other-therapist episodes from at
    least ``min_cell`` other therapists stand behind it.  The viewer knows the entitled
    therapists' rows exactly, so the practice minus those is a figure of the others: the
    rule is about what is left after that subtraction.  The result carries ``period`` (the
    quarter; :func:`practice_label` makes the legend "Practice, 2024Q3").

    **Why a closed quarter, and not the viewer's dates.**  Each output may pass the
    small-cell rule and two outputs still give one client away when subtracted: a window
    one day longer, or an export one session longer, changes a practice mean by exactly one
    client's rating, and ``(n + 1)·m' − n·m`` is that rating.  So the figures of others do
    not follow the viewer's dates at all: they come from the last calendar quarter that has
    ended on or before ``until`` (capped at the export's last session;
    :func:`supervision.periods.closed_quarter`).  ``since`` is accepted for the caller's
    symmetry and deliberately not used: moving either date within a quarter, or an export
    that has grown by later sessions, gives the same figures of others, to the last digit;
    the next quarter's figures are a different, disjoint period, not a nested one.  The
    alternative, rounding each figure to the precision shown, was rejected: a mean over n
    rounded to 0.1 still pins a single rating to within ``(n + 1) × 0.05`` when n is small,
    and counts (the n in every hover) cannot be rounded without becoming wrong.  What
    closed periods do not cover, and nothing here can: a session *back-dated* into a closed
    quarter changes that quarter (a correction of the record); a quarter's pack compared
    with one built after such a correction differs by it.

    Cached per (entitled, quarter, ``min_cell``, ``groups``) on the root caseload, so a
    date change within a quarter costs nothing.  ``aggregates``: the quarter's
    :func:`~supervision.scopes.practice_aggregates` when the caller has them (a pack); used
    only when they are of the same quarter (``aggregates["window"]``), else recomputed.
    """
    k = check_min_cell(min_cell)
    ids = frozenset(str(t) for t in entitled)
    root = cl.root
    quarter = gate_quarter(root, until)
    if quarter is None:
        return {"withheld": "Practice figures are not shown: this export has no sessions.",
                "period": None, "min_cell": k}
    q0, q1 = periods.quarter_bounds(quarter)
    given = aggregates is not None and list(aggregates.get("window") or []) == [str(q0), str(q1)]

    def build() -> dict[str, Any]:
        window = root.scoped(since=q0, until=q1).materialised()
        agg = aggregates if given else scopes.practice_aggregates(window)
        if groups and "neurotype_groups" not in agg:
            from supervision.clinical import neurotype

            grp = neurotype.group_summary(window, min_cell=k)
            agg = {**agg, "neurotype_groups": json.loads(grp.to_json(orient="records"))}
        others = others_behind(
            window, ids, alliance_key=agg.get("alliance_key"),
            outcome_key=agg.get("outcome_key"), groups=groups, min_cell=k,
        )
        return {**scrub(agg, others, min_cell=k), "period": quarter, "min_cell": k}

    if given:
        return build()
    return dict(root.memo(GateFigures(ids, quarter, k, groups), build))


def practice_comparison(
    window: Caseload, therapist_id: str, *, min_cell: int,
    aggregates: dict[str, Any] | None = None, groups: bool = False,
) -> dict[str, Any]:
    """The practice figures of ``window`` that may be shown beside one therapist's own.

    ``aggregates`` is :func:`~supervision.scopes.practice_aggregates` of ``window``
    (computed if not given; a pack passes the quarter's, shared by every therapist).  With
    ``groups`` the aggregates' ``neurotype_groups`` are scrubbed too.  See the module
    docstring for the rule; the result is JSON-serialisable.
    """
    k = check_min_cell(min_cell)
    agg = scopes.practice_aggregates(window) if aggregates is None else aggregates
    others = others_behind(
        window, therapist_id, alliance_key=agg.get("alliance_key"),
        outcome_key=agg.get("outcome_key"), groups=groups and "neurotype_groups" in agg,
        min_cell=k,
    )
    return scrub(agg, others, min_cell=k)


__all__ = [
    "Others", "comparison_note", "excluding", "gate", "gate_quarter", "others_behind",
    "points_of_k", "practice_comparison", "practice_label", "retention_of_k", "scrub",
    "withheld_reason",
]
