"""Alliance figures per measure (domain.md §3): early alliance, trend slope, low ratings.

Every figure is per alliance measure of the registry (``srs``, ``wai_sr`` or a practice's own).
A *rated session* is an attended session with a value on that measure; sessions of an episode
are ordered by ``session_date`` then ``source_row``, and the *rated index* is the 1-based
position of a rated session among the episode's rated sessions on that measure.

Everything here is an Ibis expression (window functions, no raw SQL) so that it runs on DuckDB,
PostgreSQL and Spark alike; only the small summary tables come back as pandas.

Sources: the alliance–outcome link (Flückiger et al. 2018); the SRS and its clinical cut-off of
36 (Miller, Duncan et al. 2003; Duncan & Miller's FIT manuals); the WAI-SR (Hatcher &
Gillaspy 2006), whose goal, task and bond subscales follow Bordin (1979).
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir
import pandas as pd

from supervision.caseload import Caseload
from supervision.clinical.breakdown import with_groups
from supervision.measures import Measure
from supervision.stats import mean_ci_frame

#: Sessions of an episode are ordered by date, then by the data row of the sessions file.
ORDER = ("session_date", "source_row")


def alliance_measure(cl: Caseload, measure: str) -> Measure:
    """The registry entry of an alliance ``measure``; :class:`ConfigError` if it is not one."""
    return cl.registry.of_kind(measure, "alliance")


def ordered_sessions(cl: Caseload) -> ir.Table:
    """All sessions with ``attended`` (bool) and ``attended_upto``.

    ``attended_upto`` is the number of attended sessions of the episode up to and including
    this one (in session order), so for an attended session it is its *attended index*.
    """
    s = cl.sessions
    w = ibis.window(group_by=s.episode_id, order_by=[s[c] for c in ORDER], rows=(None, 0))
    attended = s.attendance == "attended"
    return s.mutate(attended=attended, attended_upto=attended.cast("int64").sum().over(w))


def rated_sessions(cl: Caseload, measure: str) -> ir.Table:
    """The rated sessions of ``measure``: attended, with a value (domain.md §3).

    Returns
    -------
    ir.Table
        ``episode_id, therapist_id, session_date, source_row, rated_index, value`` —
        ``rated_index`` is 1-based within the episode, ``value`` the total on the measure.
    """
    alliance_measure(cl, measure)
    s = cl.sessions
    r = s.filter((s.attendance == "attended") & s[measure].notnull())
    w = ibis.window(group_by=r.episode_id, order_by=[r[c] for c in ORDER])
    return r.select(
        "episode_id", "therapist_id", "session_date", "source_row",
        rated_index=ibis.row_number().over(w) + 1,
        value=r[measure].cast("float64"),
    )


def episode_alliance(cl: Caseload, measure: str) -> ir.Table:
    """Per episode with at least one rated session: the episode's alliance figures.

    Columns ``episode_id, therapist_id, rated_sessions, early_mean, slope, low_sessions,
    last_value, last_low``:

    * ``early_mean`` = mean of the first three rated sessions (fewer if it has fewer);
    * ``slope`` = least-squares slope of value *y* on rated index *x*, points per session,
      ``(nΣxy − ΣxΣy) / (nΣx² − (Σx)²)``; NULL with fewer than 3 rated sessions;
    * ``low_sessions`` = rated sessions below the measure's ``concern_below`` (SRS: 36,
      Miller & Duncan); NULL when the measure has no concern threshold (WAI-SR);
    * ``last_value`` / ``last_low`` = the latest rating and whether it is below the threshold.
    """
    m = alliance_measure(cl, measure)
    r = rated_sessions(cl, measure)
    r = r.mutate(n_rated=r.value.count().over(ibis.window(group_by=r.episode_id)))
    return alliance_figures(r.mutate(is_last=r.rated_index == r.n_rated), m)


def alliance_figures(r: ir.Table, m: Measure) -> ir.Table:
    """The columns of :func:`episode_alliance` from an episode's rated sessions of ``m``.

    ``r``: ``episode_id, therapist_id, rated_index`` (1-based), ``value`` and ``is_last``
    (the episode's last rated session), one row per rated session, however these were
    computed (:func:`episode_alliance`, or :mod:`supervision.episodes` from one ordering).
    """
    x, y = r.rated_index.cast("float64"), r.value
    concern = None if m.concern_below is None else ibis.literal(float(m.concern_below))
    g = r.group_by(["episode_id", "therapist_id"]).aggregate(
        rated_sessions=r.value.count(),
        early_mean=y.mean(where=r.rated_index <= 3),
        sx=x.sum(), sy=y.sum(), sxy=(x * y).sum(), sxx=(x * x).sum(),
        low_sessions=(y < (concern if concern is not None else -1.0)).cast("int64").sum(),
        last_value=y.max(where=r.is_last),
    )
    n = g.rated_sessions.cast("float64")
    slope = (n * g.sxy - g.sx * g.sy) / (n * g.sxx - g.sx * g.sx)
    no_threshold = concern is None
    return g.select(
        "episode_id", "therapist_id", "rated_sessions", "early_mean",
        slope=ibis.ifelse(g.rated_sessions >= 3, slope, ibis.null("float64")),
        low_sessions=ibis.null("int64") if no_threshold else g.low_sessions,
        last_value=g.last_value,
        last_low=ibis.null("boolean") if no_threshold else g.last_value < concern,
    )


def alliance_summary(cl: Caseload, measure: str, *, by: str | None = None) -> pd.DataFrame:
    """Alliance figures per group (or for the whole caseload when ``by`` is None).

    Columns ``<by>, episodes, rated_sessions, early_mean, early_mean_low, early_mean_high,
    mean_slope, slope_episodes, low_share``:

    * ``episodes``: episodes with at least one rated session; ``rated_sessions``: their sum;
    * ``early_mean``: mean over episodes of the episode's early mean (domain.md §3), with a
      Student-t 95% interval over episodes (``mean ± t(.975, k−1)·sd/√k``, k = episodes);
    * ``mean_slope``: mean of the per-episode slopes over the ``slope_episodes`` episodes
      with ≥ 3 rated sessions;
    * ``low_share``: rated sessions below the concern threshold / rated sessions, 0–1;
      NaN when the measure has no threshold or there are no rated sessions.

    With ``by=None`` there is always exactly one row (zero episodes: counts 0, figures NaN).
    """
    ep, keys = with_groups(cl, episode_alliance(cl, measure), by)
    agg = {
        "episodes": ep.episode_id.count(),
        "rated_sessions": ep.rated_sessions.sum(),
        "early_mean": ep.early_mean.mean(),
        "early_sd": ep.early_mean.std(),
        "mean_slope": ep.slope.mean(),
        "slope_episodes": ep.slope.count(),
        "low_sum": ep.low_sessions.sum(),
    }
    q = ep.group_by(keys).aggregate(**agg) if keys else ep.aggregate(**agg)
    df = q.execute()
    if keys:
        df = df.sort_values(keys, ignore_index=True)
    for c in ("episodes", "rated_sessions", "slope_episodes"):
        df[c] = df[c].fillna(0).astype("int64")
    for c in ("early_mean", "early_sd", "mean_slope", "low_sum"):
        df[c] = df[c].astype("float64")
    df["early_mean_low"], df["early_mean_high"] = mean_ci_frame(
        df["early_mean"], df["early_sd"], df["episodes"]
    )
    rated = df["rated_sessions"].where(df["rated_sessions"] > 0).astype("float64")
    df["low_share"] = df["low_sum"] / rated
    cols = ["episodes", "rated_sessions", "early_mean", "early_mean_low", "early_mean_high",
            "mean_slope", "slope_episodes", "low_share"]
    return df[[*keys, *cols]]


def _band(df: pd.DataFrame) -> pd.DataFrame:
    df = df.copy()
    df["n"] = df["n"].astype("int64")
    df["mean"] = df["mean"].astype("float64")
    df["sd"] = df["sd"].astype("float64")
    df["low"], df["high"] = mean_ci_frame(df["mean"], df["sd"], df["n"])
    return df


def alliance_by_session(cl: Caseload, measure: str, *, max_session: int = 20) -> pd.DataFrame:
    """Mean rating by rated-session number 1..``max_session``, with a 95% t-interval.

    Columns ``rated_index, n, mean, sd, low, high``: over all rated sessions with that index
    (one per episode); ``low``/``high`` = ``mean ± t(.975, n−1)·sd/√n``, NaN when n < 2.
    """
    r = rated_sessions(cl, measure)
    r = r.filter(r.rated_index <= max_session)
    q = r.group_by("rated_index").aggregate(
        n=r.value.count(), mean=r.value.mean(), sd=r.value.std()
    )
    df = q.execute().sort_values("rated_index", ignore_index=True)
    df["rated_index"] = df["rated_index"].astype("int64")
    return _band(df)[["rated_index", "n", "mean", "sd", "low", "high"]]


def alliance_by_quarter(cl: Caseload, measure: str) -> pd.DataFrame:
    """Mean rating by calendar quarter of the session (``"2024Q1"``), with a 95% t-interval.

    Columns ``quarter, n, mean, sd, low, high`` over all rated sessions in the quarter,
    oldest quarter first.
    """
    r = rated_sessions(cl, measure)
    r = r.mutate(year=r.session_date.year(), qtr=r.session_date.quarter())
    q = r.group_by(["year", "qtr"]).aggregate(
        n=r.value.count(), mean=r.value.mean(), sd=r.value.std()
    )
    df = q.execute().sort_values(["year", "qtr"], ignore_index=True)
    df["quarter"] = [f"{int(y)}Q{int(k)}" for y, k in zip(df["year"], df["qtr"], strict=True)]
    return _band(df)[["quarter", "n", "mean", "sd", "low", "high"]]


def subscales_by_session(
    cl: Caseload, measure: str = "wai_sr", *, max_session: int = 20
) -> pd.DataFrame:
    """Mean of each subscale (or item) of ``measure`` by rated-session number, 95% t-interval.

    For the WAI-SR: goal, task and bond (4–20 each; Hatcher & Gillaspy 2006, after Bordin
    1979); for the SRS its four items.  A session counts for a subscale when it is a rated
    session of ``measure`` and has a value on that subscale.  Columns ``subscale,
    rated_index, n, mean, low, high`` (``subscale`` is the column name, e.g. ``wai_goal``).
    """
    m = alliance_measure(cl, measure)
    cols = ["subscale", "rated_index", "n", "mean", "low", "high"]
    if not m.part_columns:
        return pd.DataFrame(columns=cols)
    s = cl.sessions
    r = s.filter((s.attendance == "attended") & s[measure].notnull())
    w = ibis.window(group_by=r.episode_id, order_by=[r[c] for c in ORDER])
    r = r.mutate(rated_index=ibis.row_number().over(w) + 1)
    r = r.filter(r.rated_index <= max_session)
    parts = [
        r.filter(r[c].notnull()).group_by("rated_index").aggregate(
            subscale=ibis.literal(c), n=r[c].count(), mean=r[c].cast("float64").mean(),
            sd=r[c].cast("float64").std(),
        )
        for c in m.part_columns
    ]
    df = ibis.union(*parts).execute() if len(parts) > 1 else parts[0].execute()
    order = {c: i for i, c in enumerate(m.part_columns)}
    df = df.assign(_o=df["subscale"].map(order)).sort_values(["_o", "rated_index"])
    df["rated_index"] = df["rated_index"].astype("int64")
    return _band(df.reset_index(drop=True))[cols]


def episode_series(cl: Caseload, measure: str) -> pd.DataFrame:
    """Every rated session of ``measure``: ``episode_id, rated_index, session_date, value``.

    For per-client lines; callers scope the caseload to one therapist first.
    """
    r = rated_sessions(cl, measure)
    df = r.select("episode_id", "rated_index", "session_date", "value").execute()
    df = df.sort_values(["episode_id", "rated_index"], ignore_index=True)
    df["rated_index"] = df["rated_index"].astype("int64")
    return df


#: A fall of at least this many points between two rated sessions is a *falling* total: FIT's
#: soft alert on the SRS (any fall of 1 point or more, domain.md §4), used for WAI-SR too.
FALL_POINTS = 1.0
DRIVER_COLUMNS = ("measure", "kind", "item", "events", "of_events", "episodes", "share",
                  "suppressed")


def _item_rows(cl: Caseload, m: Measure, by: str | None = None) -> ir.Table | None:
    """One row per (rated session with every part, part): ``episode_id, _sid, total,
    prev_total, item, rel`` (the part's score as a share of its range, 0–1) and ``fall``
    (the part's points below the previous such session of the episode; NULL at the first);
    with ``by`` (a sessions column, e.g. ``therapist_id``) that column too, as text."""
    parts = [c for c in m.part_columns if c in cl.sessions.columns]
    if not parts or m.item_min is None or m.item_max is None:
        return None
    s = cl.sessions
    ok = (s.attendance == "attended") & s[m.key].notnull()
    for c in parts:
        ok &= s[c].notnull()
    r = s.filter(ok)
    w = ibis.window(group_by=r.episode_id, order_by=[r[c] for c in ORDER])
    r = r.mutate(_prev_total=r[m.key].lag().over(w),
                 **{f"_prev_{c}": r[c].lag().over(w) for c in parts},
                 _sid=ibis.row_number().over(ibis.window(order_by=[r.episode_id, *ORDER])))
    span = float(m.item_max - m.item_min)
    keep = {"_by": r[by].cast("string")} if by is not None else {}
    return ibis.union(*(r.select(
        "episode_id", "_sid", **keep, total=r[m.key].cast("float64"),
        prev_total=r._prev_total.cast("float64"), item=ibis.literal(c),
        rel=(r[c] - m.item_min) / span, fall=(r[f"_prev_{c}"] - r[c]).cast("float64"),
    ) for c in parts))


def _drivers(long: ir.Table, kind: str, value: str, pick_max: bool) -> ir.Table:
    """Per event session, the part(s) with the extreme ``value`` (ties: each of them)."""
    by = ibis.window(group_by=long._sid)
    x = long.mutate(_best=(long[value].max() if pick_max else long[value].min()).over(by))
    x = x.filter(x[value] == x._best)
    extra = ["_by"] if "_by" in long.columns else []
    return x.select("episode_id", "_sid", *extra, "item", kind=ibis.literal(kind))


def item_drivers(cl: Caseload, measure: str, *, min_cell: int = 5,
                 by: str | None = None) -> pd.DataFrame:
    """Which item drives a low or a falling total (issue 25), over ``cl``'s rated sessions
    that carry every item (SRS: relationship, goals, approach, overall) or subscale (WAI-SR:
    goal, task, bond) of ``measure``.

    * ``low``: a session whose total is below the measure's concern threshold (SRS < 36;
      none for WAI-SR); its driver is the part with the lowest score as a share of the part's
      range (0–10 for SRS items, 4–20 for WAI-SR subscales);
    * ``falling``: a session whose total is at least :data:`FALL_POINTS` below the episode's
      previous such session; its driver is the part that fell most (by at least a point
      above 0).

    A session with tied parts counts for each of them.  Returns :data:`DRIVER_COLUMNS`:
    per kind and part, ``events`` (sessions it drives), ``of_events`` (sessions of that kind),
    ``episodes`` (episodes with a session of that kind), ``share`` = events / of_events; a
    kind seen in fewer than ``min_cell`` episodes is ``suppressed`` (counts and share None:
    domain.md §8).  Empty when the export has no parts for ``measure``.

    ``by`` (a column of sessions and episodes: ``therapist_id``): the same figures for each
    of its values among ``cl``'s episodes, in the same two grouped queries (a first column
    ``by``, values as text, sorted; a value without an event has its rows with counts 0).  The
    groups' counts of a kind add up to the whole's, which is published beside them (the
    ``metrics`` JSON), so with a group hidden the groups of that kind also get complementary
    suppression (:func:`supervision.privacy.suppress_groups` over the kind's episodes):
    no hidden group's count is the whole's minus the shown ones'.
    """
    m = alliance_measure(cl, measure)
    long = _item_rows(cl, m, by)
    if long is None or int(long.count().execute()) == 0:  # no rated session has every part
        return pd.DataFrame(columns=[*([by] if by else []), *DRIVER_COLUMNS])
    events = []
    if m.concern_below is not None:
        events.append(_drivers(long.filter(long.total < m.concern_below), "low", "rel", False))
    falling = long.filter((long.prev_total - long.total) >= FALL_POINTS)
    events.append(_drivers(falling.filter(falling.fall > 0), "falling", "fall", True))
    ev = ibis.union(*events) if len(events) > 1 else events[0]
    g = ["_by"] if by is not None else []
    per = ev.group_by([*g, "kind", "item"]).aggregate(events=ev._sid.nunique()).execute()
    tot = ev.group_by([*g, "kind"]).aggregate(of_events=ev._sid.nunique(),
                                              episodes=ev.episode_id.nunique()).execute()
    if by is None:
        return _driver_frame(m, per, tot, min_cell)
    return _grouped_frame(cl, m, by, per, tot, min_cell)


def _grouped_frame(cl: Caseload, m: Measure, by: str, per: pd.DataFrame, tot: pd.DataFrame,
                   min_cell: int) -> pd.DataFrame:
    """:func:`_driver_frame` of every ``by`` group of ``cl``'s episodes, then each kind
    suppressed across the groups with complements (the whole's count of the kind is the
    published total of that line, :func:`supervision.privacy.suppress_groups`)."""
    from supervision.privacy import check_min_cell, suppress_groups

    min_cell = check_min_cell(min_cell)
    known = cl.episodes.select(by).distinct().execute()[by]
    groups = sorted({str(x) for x in known.tolist() if not pd.isna(x)}
                    | {str(x) for x in tot["_by"].tolist()})
    # raw counts (no group hidden yet: k = 1), then the kind's cells suppressed together
    out = _driver_frame(m, per, tot, 1, groups=groups).rename(columns={"_by": by})
    cells = out.drop_duplicates([by, "kind"])[[by, "kind", "episodes"]]
    shown = suppress_groups(cells.astype({"episodes": "int64"}), count_col="episodes",
                            min_cell=min_cell, keys=(by,), within=("kind",), rate_cols=[])
    hidden = pd.MultiIndex.from_frame(shown.loc[shown["suppressed"].astype(bool), [by, "kind"]])
    mask = pd.MultiIndex.from_frame(out[[by, "kind"]]).isin(hidden)
    out.loc[mask, ["events", "of_events", "episodes", "share"]] = None
    out["suppressed"] = mask
    return out


def _driver_frame(m: Measure, per: pd.DataFrame, tot: pd.DataFrame, min_cell: int, *,
                  groups: list[str] | None = None) -> pd.DataFrame:
    """Every (kind, part) of ``m`` with its counts (0 where none), suppressed below k
    (a kind seen in 1..k-1 episodes); with ``groups``, every (group, kind, part), the group
    in a first column ``_by`` matched against ``per`` and ``tot``'s ``_by``."""
    kinds = (["low"] if m.concern_below is not None else []) + ["falling"]
    keys = ["_by"] if groups is not None else []
    levels = [*([groups] if groups is not None else []), kinds, list(m.part_columns)]
    grid = pd.MultiIndex.from_product(levels, names=[*keys, "kind", "item"]).to_frame(
        index=False)
    per = per.astype(dict.fromkeys(keys, str))[[*keys, "kind", "item", "events"]]
    tot = tot.astype(dict.fromkeys(keys, str))[[*keys, "kind", "of_events", "episodes"]]
    d = grid.merge(per, how="left", on=[*keys, "kind", "item"]).merge(
        tot, how="left", on=[*keys, "kind"])
    n = {c: d[c].fillna(0).astype("int64") for c in ("events", "of_events", "episodes")}
    hidden = (n["episodes"] > 0) & (n["episodes"] < min_cell)
    share = n["events"] / n["of_events"].where(n["of_events"] > 0)

    def shown(s: pd.Series) -> pd.Series:
        return s.astype(object).where(~hidden & s.notna(), None)

    return pd.DataFrame({
        **{k: d[k] for k in keys}, "measure": m.key, "kind": d["kind"], "item": d["item"],
        **{c: shown(v) for c, v in n.items()}, "share": shown(share),
        "suppressed": hidden.astype(bool)}, columns=[*keys, *DRIVER_COLUMNS])


__all__ = [
    "DRIVER_COLUMNS",
    "FALL_POINTS",
    "ORDER",
    "alliance_by_quarter",
    "alliance_by_session",
    "alliance_figures",
    "alliance_measure",
    "alliance_summary",
    "episode_alliance",
    "episode_series",
    "item_drivers",
    "ordered_sessions",
    "rated_sessions",
    "subscales_by_session",
]
