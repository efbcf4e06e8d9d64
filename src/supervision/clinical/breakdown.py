"""Breakdowns: the one rule for attaching a grouping column to a per-episode table, and the
one grouped aggregate with its rates, that every clinical summary uses.

A breakdown ``by`` is a column of the table itself, of ``episodes`` (``termination``, …), of
``therapists`` (``team``, ``therapist_neurotype``: joined on the episode's therapist) or
``"group"``, the neurotype-match pair of :func:`supervision.clinical.pairing.episode_pairs`.
"""

from __future__ import annotations

import ibis.expr.types as ir
import pandas as pd

from supervision.caseload import Caseload
from supervision.clinical.pairing import episode_pairs
from supervision.errors import ConfigError
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


__all__ = ["add_rate", "aggregate", "with_by", "with_groups"]
