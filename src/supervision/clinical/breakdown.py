"""Breakdowns: the one rule for attaching a grouping column to a per-episode table, and the
one grouped aggregate with its rates, that every clinical summary uses.

A breakdown ``by`` is a column of the table itself, of ``episodes`` (``termination``, …), of
``therapists`` (``team``, ``therapist_neurotype``: joined on the episode's therapist) or
``"group"``, the neurotype-match pair of :func:`supervision.clinical.pairing.episode_pairs`.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir
import pandas as pd

from supervision.caseload import Caseload
from supervision.clinical.pairing import episode_pairs
from supervision.errors import ConfigError
from supervision.privacy import check_min_cell
from supervision.stats import rate_columns


def with_by(cl: Caseload, t: ir.Table, by: str | None) -> ir.Table:
    """``t`` (a per-episode table with ``episode_id``) with the grouping column ``by``.

    Raises
    ------
    ConfigError
        ``by`` names no column of the table, the episodes, the therapists, nor ``group``.
    """
    if by is None or by in t.columns:
        return t
    if by == "group":
        return t.join(episode_pairs(cl).select("episode_id", "group"), "episode_id")
    e, th = cl.episodes, cl.therapists
    if by in e.columns:
        return t.join(e.select("episode_id", by), "episode_id")
    if by in th.columns:
        if "therapist_id" in t.columns:
            return t.join(th.select("therapist_id", by), "therapist_id")
        j = e.select("episode_id", "therapist_id").join(th.select("therapist_id", by),
                                                        "therapist_id")
        return t.join(j.select("episode_id", by), "episode_id")
    known = sorted({*e.columns, *th.columns, "group"})
    raise ConfigError(f"cannot break figures down by {by!r}; choose one of: {', '.join(known)}")


def with_groups(cl: Caseload, t: ir.Table, by: str | None) -> tuple[ir.Table, list[str]]:
    """:func:`with_by` and the group keys to aggregate by (``[]`` for the whole table)."""
    return with_by(cl, t, by), ([] if by is None else [by])


def merge_few_staff(t: ir.Table, column: str, *, min_cell: int, label: str,
                    nulls: bool = False, dedupe: bool = False) -> tuple[ir.Table, set[str]]:
    """Rows of a therapist attribute (a neurotype tag, a team) that each have at least
    ``min_cell`` therapists behind them (domain.md §8, issue 23).

    A breakdown of the practice by an attribute of its *staff* shows, per value, the
    clients of the therapists who hold it: a value held by one or two therapists is their
    own figures under another name (and a neurotype tag is health information about them).
    So every value of ``column`` held by fewer than ``min_cell`` distinct therapists of
    ``t`` (which needs ``therapist_id``) is renamed ``label`` — one merged row — and that
    row is returned to be hidden whole (as a primary suppression) when fewer than
    ``min_cell`` therapists stand behind it too.  ``nulls``: therapists without a value
    (no team) are such a value as well.  ``dedupe``: ``t`` has a row per value of a
    multi-valued attribute (tags), so an episode would count twice in the merged row;
    keep one.  Only the per-value counts of therapists come back from the database.

    The one rule for staff rows: the practice's tag × tag grid
    (:func:`supervision.clinical.neurotype.tag_grid`) and its sudden gains by team
    (:func:`supervision.scopes.sudden_breakdown`) both call it.
    """
    k = check_min_cell(min_cell)
    held = t.group_by(column).aggregate(therapists=t.therapist_id.nunique()).execute()
    few = held[held["therapists"] < k]
    small = sorted(str(x) for x in few[column].dropna())
    few_null = bool(nulls and few[column].isna().any())
    if not small and not few_null:
        return t, set()
    c = t[column]
    pick = c.isin(small) if small else ibis.literal(False)
    if few_null:
        pick = pick | c.isnull()
    t = t.mutate(**{column: ibis.ifelse(pick, ibis.literal(label), c)})
    if dedupe:
        t = t.distinct()
    merged = t.filter(t[column] == label)
    behind = int(merged.aggregate(n=merged.therapist_id.nunique()).execute()["n"].iloc[0])
    return t, ({label} if behind < k else set())


def add_rate(df: pd.DataFrame, name: str, k: str, n: str) -> pd.DataFrame:
    """Add ``name = df[k] / df[n]`` (NaN where ``n == 0``) with Wilson ``_low`` / ``_high``."""
    for c, v in rate_columns(name, df[k], df[n]).items():
        df[c] = v
    return df


def aggregate(t: ir.Table, by: str | None, aggs: dict[str, ir.Value]) -> pd.DataFrame:
    """Run one grouped (or whole-table) aggregate; NULL sums of an empty table become 0."""
    q = t.aggregate(**aggs) if by is None else t.group_by(by).aggregate(**aggs).order_by(by)
    df = q.execute()
    for c in aggs:
        if df[c].dtype == object or df[c].isna().any():
            df[c] = pd.to_numeric(df[c])
    return df


__all__ = ["add_rate", "aggregate", "merge_few_staff", "with_by", "with_groups"]
