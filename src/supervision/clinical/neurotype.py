"""Neurotype match between therapist and client (domain.md §6).

Each episode's pair falls in one of six groups (:mod:`supervision.clinical.pairing`).

These are associations in a small sample, not causes: every figure carries its n, and
groups with fewer than ``min_cell`` episodes are suppressed (:mod:`supervision.privacy`).
Tag tests are string tests on ``";" || tags || ";"`` and the grid uses Ibis
``split``/``unnest``, both portable to PostgreSQL and Spark.
"""

from __future__ import annotations

from collections.abc import Mapping

import ibis
import ibis.expr.types as ir
import pandas as pd

from supervision.caseload import Caseload
from supervision.clinical import alliance, ruptures
from supervision.clinical import outcomes as oc
from supervision.clinical import termination as term
from supervision.clinical.breakdown import add_rate, merge_few_staff, with_by
from supervision.clinical.pairing import episode_pairs
from supervision.privacy import MIN_CELL, suppress_groups
from supervision.schema import NEUROTYPE_GROUPS, TAG_SEPARATOR
from supervision.stats import mean_ci_frame


def episode_figures(
    cl: Caseload, present: list[str] | None = None, *, tables: Mapping[str, ir.Table] | None = None
) -> ir.Table:
    """Per episode: pair, group and every figure the neurotype views average.

    ``early_mean`` is the episode's early mean on SRS if the caseload has SRS ratings, else
    WAI-SR (else the first alliance measure present); ``reliable_improvement`` follows the
    NHS paired rule when PHQ-9 and GAD-7 are both present, else the first outcome measure
    present (NULL for episodes without a pre–post pair).  ``tables`` may hold already
    computed (e.g. cached) ``termination``, ``ruptures``, ``alliance:<key>`` and
    ``outcome:<key>`` per-episode tables, which are then used instead of recomputing them.
    """
    present = cl.measures_present() if present is None else present
    tables = dict(tables or {})
    p = episode_pairs(cl)
    tt = tables.get("termination")
    tt = term.episode_termination(cl) if tt is None else tt
    r = tables.get("ruptures")
    r = ruptures.episode_ruptures(cl) if r is None else r
    t = p.join(tt.select("episode_id", "termination", "ended"), "episode_id").join(
        r.select("episode_id", "count", "repaired"), "episode_id"
    )
    a_key = cl.registry.default_alliance(present)
    if a_key is not None:
        a = tables.get(f"alliance:{a_key}")
        a = alliance.episode_alliance(cl, a_key) if a is None else a
        t = t.left_join(a.select("episode_id", "early_mean"), "episode_id").drop("episode_id_right")
    else:
        t = t.mutate(early_mean=ibis.null("float64"))
    o_key = cl.registry.default_outcome(present)
    if o_key is not None:
        o = tables.get(f"outcome:{o_key}")
        o = oc.per_episode(cl, o_key) if o is None else o
        o = o.select("episode_id", "reliable_improvement")
        t = t.left_join(o, "episode_id").drop("episode_id_right")
    else:
        t = t.mutate(reliable_improvement=ibis.null("boolean"))
    return t


def _group_aggs(t: ir.Table) -> dict[str, ir.Value]:
    c = t.episode_id.count
    return {
        "episodes": c(), "ended": c(where=t.ended), "dropout": c(where=t.termination == "dropout"),
        "ruptures": t["count"].sum(), "repaired": t.repaired.sum(),
        "alliance_episodes": t.early_mean.count(), "early_alliance": t.early_mean.mean(),
        "early_sd": t.early_mean.std(how="sample"),
        "paired": c(where=t.reliable_improvement.notnull()),
        "reliable_improvement": c(where=t.reliable_improvement),
    }


_RATE_COLS = [
    "early_alliance", "early_alliance_low", "early_alliance_high", "dropout_rate",
    "dropout_rate_low", "dropout_rate_high", "repair_rate", "repair_rate_low", "repair_rate_high",
    "reliable_improvement_rate", "reliable_improvement_rate_low", "reliable_improvement_rate_high",
]
_COUNT_COLS = ["ended", "dropout", "ruptures", "repaired", "alliance_episodes", "paired",
               "reliable_improvement"]


def _rates(df: pd.DataFrame) -> pd.DataFrame:
    for c in ("episodes", *_COUNT_COLS):
        df[c] = pd.to_numeric(df[c]).fillna(0).astype("int64")
    df["early_alliance"] = pd.to_numeric(df["early_alliance"]).astype("float64")
    df["early_sd"] = pd.to_numeric(df["early_sd"]).astype("float64")
    df["early_alliance_low"], df["early_alliance_high"] = mean_ci_frame(
        df["early_alliance"], df["early_sd"], df["alliance_episodes"]
    )
    df = add_rate(df, "dropout_rate", "dropout", "ended")
    df = add_rate(df, "repair_rate", "repaired", "ruptures")
    return add_rate(df, "reliable_improvement_rate", "reliable_improvement", "paired")


def group_summary(
    cl: Caseload, *, min_cell: int = MIN_CELL, by: str | None = None,
    figures: ir.Table | None = None, total: bool = False,
) -> pd.DataFrame:
    """Per neurotype group (and per ``by``, e.g. therapist): n and rates, small cells suppressed.

    All six groups are listed (in :data:`supervision.schema.NEUROTYPE_GROUPS` order) for
    each value of ``by``; one grouped query computes them all.

    Returns
    -------
    pandas.DataFrame
        ``<by>, group, episodes, suppressed, early_alliance`` (mean over episodes of the
        early mean, Student-t ``_low``/``_high``), ``dropout_rate`` (dropout / ended),
        ``repair_rate`` (repaired / ruptures), ``reliable_improvement_rate`` (/ paired
        episodes), each with Wilson 95% ``_low``/``_high``, and the counts ``ended,
        dropout, ruptures, repaired, alliance_episodes, paired, reliable_improvement``.
        A suppressed group (see :func:`supervision.privacy.suppress_groups`) has
        ``episodes`` and every other figure NaN.  With ``by``, suppression is two-way
        (within each ``by`` value and within each group across them), since the
        whole-caseload groups are published beside them.  ``figures`` may pass a precomputed
        :func:`episode_figures` table.
    total
        With ``by``: also return the whole caseload's groups (rows whose ``by`` is None),
        suppressed *together* with the ``by`` rows — the practice's cell of a group is one
        more cell of that group's column (the column's cells add up to it), so a hidden
        therapist cell can be worked out neither from a shown practice cell nor the other
        way round.  This is what one output publishing both (``supervision metrics``) must
        use; two separate calls could hide a therapist's cell with a complement whose value
        the practice row gives away.
    """
    t = episode_figures(cl) if figures is None else figures
    keys = [*([by] if by else []), "group"]
    t = with_by(cl, t, by)
    df = t.group_by(keys).aggregate(**_group_aggs(t)).execute()
    df = _complete(df, by, "group", list(NEUROTYPE_GROUPS))
    if by and total:
        whole = t.group_by("group").aggregate(**_group_aggs(t)).execute()
        whole = _complete(whole, None, "group", list(NEUROTYPE_GROUPS))
        df = pd.concat([df.astype({by: object}), whole.assign(**{by: None})],
                       ignore_index=True)
    df = _rates(df)
    cols = [*keys, "episodes", *_RATE_COLS, *_COUNT_COLS]
    df = suppress_groups(df[cols], min_cell=min_cell, keys=["group"], within=[by] if by else [],
                         across=["group"] if by else [], across_totals=not total)
    return df[[*keys, "episodes", "suppressed", *_RATE_COLS, *_COUNT_COLS]]


def _complete(df: pd.DataFrame, by: str | None, key: str, values: list[str]) -> pd.DataFrame:
    """Every ``values`` of ``key`` for each ``by`` value (missing cells: 0 episodes)."""
    full = pd.DataFrame({key: values})
    if by is not None:
        ids = pd.Series(sorted(df[by].unique()), dtype=df[by].dtype)
        full = pd.DataFrame({by: ids}).merge(full, how="cross")
    on = [*([by] if by else []), key]
    return full.merge(df, on=on, how="left")


#: The row of a practice's tag grid that therapist tags held by fewer than ``min_cell``
#: therapists are merged into (:func:`tag_grid` with ``staff_rows``).
MERGED_TAGS = "other tags (few therapists each)"


def tag_grid(
    cl: Caseload, *, min_cell: int = MIN_CELL, staff_rows: bool = False
) -> pd.DataFrame:
    """Therapist tag × client tag: episodes, drop-out and early alliance per cell.

    ``staff_rows`` (every view of the practice, where the rows are colleagues): a therapist
    tag held by fewer than ``min_cell`` distinct therapists with episodes here never has a
    row of its own — a therapist's neurotype is health information about a colleague, and a
    row of one or two therapists names them and shows their own clients' figures.  Such
    tags are merged into one row, :data:`MERGED_TAGS` (an episode counted once in it,
    whatever number of merged tags its therapist has), and that row too is hidden, every
    cell, when fewer than ``min_cell`` distinct therapists stand behind it (its cells are
    then primary suppressions, so the grid's complements protect them as any small cell).
    Without ``staff_rows`` (one therapist's own caseload) the rows are that therapist's tags.

    An episode whose client (or therapist) has several tags counts in each of its cells,
    so cells do not add up to the caseload.  Every combination of the tags present on each
    side is listed (empty cells: 0 episodes).  Small cells are suppressed over the whole
    grid with :func:`supervision.privacy.suppress_groups`, except the (neurotypical,
    neurotypical) cell, which is the both_nt group itself and is hidden exactly when
    :func:`group_summary` of the same caseload hides both_nt (:func:`_suppress_grid`).

    Returns
    -------
    pandas.DataFrame
        ``therapist_tag, client_tag, episodes, suppressed, dropout_rate`` (+ Wilson
        ``_low``/``_high``), ``early_alliance`` (+ t ``_low``/``_high``), ``ended``.
    """
    t0 = t = episode_figures(cl)
    t = t.mutate(
        therapist_tag=t.therapist_neurotype.split(TAG_SEPARATOR).unnest()
    )
    hide_rows: set[str] = set()
    if staff_rows:
        t, hide_rows = _merge_small_tags(t, min_cell)
    t = t.mutate(client_tag=t.client_neurotype.split(TAG_SEPARATOR).unnest())
    keys = ["therapist_tag", "client_tag"]
    df = t.group_by(keys).aggregate(**_group_aggs(t)).execute()
    cols = [*keys, "episodes", "dropout_rate", "dropout_rate_low", "dropout_rate_high",
            "early_alliance", "early_alliance_low", "early_alliance_high", "ended"]
    if df.empty:
        return pd.DataFrame({c: pd.Series(dtype="float64") for c in cols}).assign(
            therapist_tag=pd.Series(dtype="object"), client_tag=pd.Series(dtype="object"),
            suppressed=pd.Series(dtype=bool))[[*keys, "episodes", "suppressed", *cols[3:]]]
    th = sorted(df["therapist_tag"].unique())
    ct = sorted(df["client_tag"].unique())
    full = pd.DataFrame({"therapist_tag": th}).merge(pd.DataFrame({"client_tag": ct}), how="cross")
    df = _rates(full.merge(df, on=keys, how="left"))
    return _suppress_grid(df[cols], _both_nt_hidden(t0, min_cell), min_cell=min_cell,
                          hide_rows=hide_rows)[[*keys, "episodes", "suppressed", *cols[3:]]]


def _merge_small_tags(t: ir.Table, min_cell: int) -> tuple[ir.Table, set[str]]:
    """``t`` (one row per episode and therapist tag) with every tag held by fewer than
    ``min_cell`` distinct therapists renamed :data:`MERGED_TAGS` (one row per episode in
    it), and the rows to hide whole: the staff-row rule,
    :func:`supervision.clinical.breakdown.merge_few_staff`."""
    return merge_few_staff(t, "therapist_tag", min_cell=min_cell, label=MERGED_TAGS,
                           dedupe=True)


#: The grid cell that is a neurotype group as well: both sides carry only "neurotypical"
#: (the tag cannot be combined with another), so its episodes are exactly both_nt's.
_LINKED = ("neurotypical", "neurotypical")


def _both_nt_hidden(figures: ir.Table, min_cell: int) -> bool:
    """Whether :func:`group_summary` of the same caseload hides both_nt (counts only)."""
    df = figures.group_by("group").aggregate(episodes=figures.episode_id.count()).execute()
    df = _complete(df, None, "group", list(NEUROTYPE_GROUPS))
    df["episodes"] = pd.to_numeric(df["episodes"]).fillna(0).astype("int64")
    sup = suppress_groups(df, min_cell=min_cell, keys=["group"])
    return bool(sup.loc[sup["group"] == "both_nt", "suppressed"].any())


def _suppress_grid(df: pd.DataFrame, linked_hidden: bool, *, min_cell: int,
                   hide_rows: set[str] | frozenset[str] = frozenset()) -> pd.DataFrame:
    """Suppress the grid; its (neurotypical, neurotypical) cell follows the both_nt group.

    That cell *is* the both_nt group, which every page showing the grid shows too: if the
    groups hid it (as a complement) while the grid showed it, the groups' hidden cell would
    follow by subtraction — and the other way round.  So it is never a complement of the
    grid, and hidden exactly when both_nt is (primary suppression agrees: same count).

    The cells of ``hide_rows`` (therapist tags with too few therapists behind them) are
    primary suppressions whatever their count: they enter the suppression as a count of 1,
    so complements are chosen around them as around any small cell, and come back hidden.
    """
    keys = ["therapist_tag", "client_tag"]
    df = df.copy()
    df.loc[df["therapist_tag"].isin(list(hide_rows)), "episodes"] = 1
    linked = (df["therapist_tag"] == _LINKED[0]) & (df["client_tag"] == _LINKED[1])
    rest = suppress_groups(df[~linked], min_cell=min_cell, keys=keys)
    cell = df[linked].astype({c: "float64" for c in df.columns if c not in keys})
    if linked_hidden:
        cell.loc[:, [c for c in cell.columns if c not in keys]] = float("nan")
    cell["suppressed"] = linked_hidden
    return pd.concat([rest, cell]).loc[df.index]


__all__ = [
    "MERGED_TAGS", "episode_figures", "group_summary", "tag_grid",
]
