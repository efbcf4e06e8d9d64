"""Measurement completeness (domain.md §12): how much of the work the figures rest on.

Figures resting on incomplete measurement mislead (FIT's own guidance: rate every session),
so each view says so beside the figures a share below :data:`FLOOR` (80%) affects.  Per
therapist and for the practice, over attended sessions and the episodes they belong to:

``alliance_rated_share``
    attended sessions with a rating on any alliance measure of the registry / attended
    sessions (``sessions_attended``);
``outcome_scored_share``
    attended sessions with a score on any outcome measure / attended sessions;
``intake_scored_share``
    episodes whose first attended session has an outcome score / episodes with an attended
    session (``episodes_started``);
``final_scored_share``
    ended episodes (``termination`` not ``ongoing`` as of the window's end) whose last
    attended session has an outcome score / ended episodes with an attended session
    (``episodes_ended``).

A share whose denominator is 0 is NaN (shown as null), never "below 80%".  Counts are
computed in the database per therapist; the practice row is their sum.
"""

from __future__ import annotations

from collections.abc import Mapping

import ibis
import ibis.expr.types as ir
import pandas as pd

from supervision.caseload import Caseload

#: Below this share a view says the figures rest on incomplete measurement.
FLOOR = 0.80
#: share -> (numerator, denominator) column.
SHARES: dict[str, tuple[str, str]] = {
    "alliance_rated_share": ("alliance_rated", "sessions_attended"),
    "outcome_scored_share": ("outcome_scored", "sessions_attended"),
    "intake_scored_share": ("intake_scored", "episodes_started"),
    "final_scored_share": ("final_scored", "episodes_ended"),
}
_COUNTS = ("sessions_attended", "alliance_rated", "outcome_scored", "episodes_started",
           "intake_scored", "episodes_ended", "final_scored")
_ORDER = ("session_date", "source_row")


def _any_value(s: ir.Table, keys: list[str]) -> ir.BooleanValue:
    if not keys:
        return ibis.literal(False)
    out = s[keys[0]].notnull()
    for k in keys[1:]:
        out |= s[k].notnull()
    return out


def _attended(cl: Caseload) -> ir.Table:
    """Attended sessions with ``rated`` (any alliance value), ``scored`` (any outcome value),
    ``first`` / ``last`` (the episode's first / last attended session) and ``ended``."""
    s = cl.sessions
    s = s.filter(s.attendance == "attended")
    w = ibis.window(group_by="episode_id", order_by=list(_ORDER))
    i = ibis.row_number().over(w)
    s = s.select(
        "episode_id", "therapist_id",
        rated=_any_value(s, [m.key for m in cl.registry.alliance]),
        scored=_any_value(s, [m.key for m in cl.registry.outcome]),
        first=i == 0, last=i == s.episode_id.count().over(group_by="episode_id") - 1,
    )
    e = cl.episodes.select("episode_id", ended=cl.episodes.termination != "ongoing")
    return s.join(e, "episode_id")


def completeness_counts(cl: Caseload) -> ir.Table:
    """Per therapist with attended sessions: the numerators and denominators of
    :data:`SHARES` (Ibis table: ``therapist_id`` and the count columns)."""
    s = _attended(cl)
    c = s.episode_id.count
    return s.group_by("therapist_id").aggregate(
        sessions_attended=c(), alliance_rated=c(where=s.rated), outcome_scored=c(where=s.scored),
        episodes_started=c(where=s.first), intake_scored=c(where=s.first & s.scored),
        episodes_ended=c(where=s.last & s.ended),
        final_scored=c(where=s.last & s.ended & s.scored),
    )


def completeness(caseload: Caseload) -> pd.DataFrame:
    """The four completeness shares per therapist and for the practice (domain.md §12).

    Returns
    -------
    pandas.DataFrame
        One row per therapist of the caseload (sorted; zeros and NaN shares for one without
        attended sessions), then the practice row (``scope`` ``practice``, ``therapist_id``
        None).  Columns ``scope, therapist_id``, the counts ``sessions_attended,
        alliance_rated, outcome_scored, episodes_started, intake_scored, episodes_ended,
        final_scored`` and the shares of :data:`SHARES`, in 0–1.
    """
    counts = completeness_counts(caseload).execute()
    ids = pd.DataFrame({"therapist_id": caseload.therapist_ids()})
    per = ids.merge(counts, on="therapist_id", how="outer").sort_values("therapist_id")
    per[list(_COUNTS)] = per[list(_COUNTS)].fillna(0).astype("int64")
    per.insert(0, "scope", "therapist")
    practice = pd.DataFrame([{"scope": "practice", "therapist_id": None,
                              **{k: int(per[k].sum()) for k in _COUNTS}}])
    out = pd.concat([per, practice], ignore_index=True)
    for share, (num, den) in SHARES.items():
        out[share] = (out[num] / out[den].where(out[den] > 0)).astype("float64")
    return out


def below_floor(row: Mapping[str, object], *, floor: float = FLOOR) -> list[str]:
    """The shares of one row of :func:`completeness` that are below ``floor`` (default 0.80),
    in :data:`SHARES` order; a share that is NaN or None (denominator 0) is never below."""
    out = []
    for share in SHARES:
        v = row.get(share)
        if v is not None and not pd.isna(v) and float(v) < floor:
            out.append(share)
    return out


__all__ = ["FLOOR", "SHARES", "below_floor", "completeness", "completeness_counts"]
