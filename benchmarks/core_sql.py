"""The hand-written floor: the core figures of ``supervision metrics`` as ONE DuckDB statement.

Issue 21's anchor: whole ``supervision metrics`` (Parquet in, JSON out) should take at most
2× this.  It reads the sessions and episodes of a Parquet export folder (the therapists table
holds nothing these figures need), orders each episode's sessions once (``session_date``, then
the row in the file) and computes, for the practice and each therapist, exactly as
``../shared/domain.md`` §3–§5 define them:

* ``episodes``, ``sessions_attended``;
* ``alliance.<measure>.{rated_sessions, early_mean, mean_slope, low_share}`` for ``srs`` and
  ``wai_sr`` when the export has values on them;
* ``ruptures.{flagged, drop, count, repaired, per_100_sessions, repair_rate, repair_rate_ci,
  unrepaired_at_end}``;
* ``termination.{ended, counts.*, dropout_rate, dropout_rate_ci, intake_only_rate}``.

Neighbours in an episode come from ``lag``/``lead`` over that one ordering (``IGNORE NULLS``:
the previous and next *rated* sessions of each measure), never from joins on an index: one
sort of the sessions, one pass.  The Wilson intervals are computed in Python after the
statement (a few lines).  Left out: outcomes, neurotype groups, sudden gains, expected
response, completeness, cases, validation — the anchor does less than the product, never more.

Assumes a valid three-table export as ``supervision demo`` writes it (``episode_id`` on every
session; ``attendance``, ``rupture`` and ``termination`` may be empty and then take domain.md's
defaults).  The drop thresholds and the SRS concern line are domain.md's (§2, §4), written here
rather than read from the product's registry, so the two implementations stay independent.

``python benchmarks/core_sql.py EXPORT_DIR [--out FILE] [--print-sql]`` writes the JSON and,
on stderr, one line ``{"compute_s": ..., "compute_cpu_s": ...}``: the statement, the intervals
and the JSON text, after ``import duckdb`` (the convention of ``floor.py`` and ``tasks.py``;
the CPU time counts DuckDB's threads too, a steadier figure on a shared machine).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path
from statistics import NormalDist
from typing import Any

import duckdb

#: Alliance measure -> (drop threshold in points, concern line or None): domain.md §2 and §4.
ALLIANCE = {"srs": (5.0, 36.0), "wai_sr": (6.0, None)}
TERMINATION = ("completed", "client_ended", "dropout", "external", "therapist_ended", "ongoing")

SQL = """
WITH
-- Every session of the export, with domain.md's defaults; row_no is its row in the file.
-- §3: a measure's value counts (a *rated* session) only on an attended session.
sessions AS (
    SELECT episode_id, session_date, file_row_number AS row_no,
           coalesce(attendance, 'attended') = 'attended' AS attended,
           coalesce(rupture, 'none') <> 'none' AS rupture_flagged,
           coalesce(repair = 'resolved', false) AS resolved,
           {rated_values}
    FROM read_parquet({sessions}, file_row_number = true)
),
-- One ordering per episode: session date, then row in the file; pos is the place in it.
-- Per measure, over the same ordering, skipping sessions without a rating: the rated index
-- (rated sessions up to here), the previous rated value and the next three.
ordered AS (
    SELECT *,
           row_number() OVER episode AS pos,
           {neighbours}
    FROM sessions
    WINDOW episode AS (PARTITION BY episode_id ORDER BY session_date, row_no)
),
episode_sessions AS (
    SELECT episode_id, count(*) FILTER (WHERE attended) AS attended_sessions,
           max(pos) FILTER (WHERE resolved) AS last_resolved
    FROM ordered GROUP BY episode_id
),
thresholds (measure, drop_points, concern_below) AS (VALUES {thresholds}),
-- One row per rated session and measure, with its index and neighbours on that measure.
rated_series AS (
    SELECT r.*, t.drop_points, t.concern_below
    FROM ({rated_rows}) AS r JOIN thresholds AS t USING (measure)
),
-- §3 per episode and measure: early mean = mean of the first 3 rated sessions; slope =
-- least-squares slope on the rated index, only with >= 3 rated sessions; low = rated
-- sessions below the concern line (NULL for a measure without one).
episode_alliance AS (
    SELECT episode_id, measure,
           count(*) AS rated,
           avg(y) FILTER (WHERE i <= 3) AS early_mean,
           CASE WHEN count(*) >= 3 THEN regr_slope(y, i) END AS slope,
           sum(CAST(y < concern_below AS INTEGER)) AS low
    FROM rated_series
    GROUP BY episode_id, measure
),
-- §4 alliance-drop rupture: a rated session at least drop_points below the previous rated
-- session; repaired when one of the next 3 rated sessions is back at or above that previous
-- level.  A session flagged by the clinician counts as flagged, not here; a session that
-- drops on two measures is one rupture (repaired if it repairs on either).
drops AS (
    SELECT episode_id, pos,
           bool_or((next1 >= previous OR next2 >= previous OR next3 >= previous) IS TRUE)
               AS repaired
    FROM rated_series
    WHERE y < previous AND previous - y >= drop_points AND NOT rupture_flagged
    GROUP BY episode_id, pos
),
-- §4 every rupture of an episode, one row per session: flagged (an attended session whose
-- rupture is not 'none') or dropped.
ruptures AS (
    -- (a flagged rupture is repaired when 'resolved' is recorded on it or on a later session)
    SELECT episode_id, pos, true AS flagged, coalesce(last_resolved >= pos, false) AS repaired
    FROM ordered JOIN episode_sessions USING (episode_id)
    WHERE ordered.attended AND rupture_flagged
    UNION ALL
    SELECT episode_id, pos, false AS flagged, repaired FROM drops
),
episode_ruptures AS (
    SELECT episode_id,
           count(*) FILTER (WHERE flagged) AS flagged,
           count(*) FILTER (WHERE NOT flagged) AS dropped,
           count(*) AS ruptures,
           count(*) FILTER (WHERE repaired) AS repaired,
           arg_max(repaired, pos) AS last_repaired          -- of the episode's last rupture
    FROM ruptures
    GROUP BY episode_id
),
-- One row per episode of the episodes table (§5: ended = termination other than ongoing).
episodes AS (
    SELECT e.episode_id, e.therapist_id,
           coalesce(e.termination, 'ongoing') AS termination,
           coalesce(e.termination, 'ongoing') <> 'ongoing' AS ended,
           coalesce(s.attended_sessions, 0) AS attended,
           coalesce(r.flagged, 0) AS flagged, coalesce(r.dropped, 0) AS dropped,
           coalesce(r.ruptures, 0) AS ruptures, coalesce(r.repaired, 0) AS repaired,
           r.last_repaired
    FROM read_parquet({episodes}) AS e
    LEFT JOIN episode_sessions AS s USING (episode_id)
    LEFT JOIN episode_ruptures AS r USING (episode_id)
),
-- The figures of the practice (therapist_id NULL) and of each therapist.
scopes AS (
    SELECT therapist_id, grouping(therapist_id) = 1 AS practice,
           count(*) AS episodes,
           sum(attended) AS sessions_attended,
           sum(flagged) AS flagged, sum(dropped) AS "drop", sum(ruptures) AS "count",
           sum(repaired) AS repaired,
           100.0 * sum(ruptures) / nullif(sum(attended), 0) AS per_100_sessions,
           sum(repaired) / nullif(sum(ruptures), 0) AS repair_rate,
           -- §4: ended episodes whose last rupture was never repaired
           count(*) FILTER (WHERE ended AND NOT last_repaired) AS unrepaired_at_end,
           count(*) FILTER (WHERE ended) AS ended,
           {termination_counts},
           count(*) FILTER (WHERE termination = 'dropout')
               / nullif(count(*) FILTER (WHERE ended), 0) AS dropout_rate,
           -- §5: ended episodes with a single attended session / ended episodes
           count(*) FILTER (WHERE ended AND attended = 1)
               / nullif(count(*) FILTER (WHERE ended), 0) AS intake_only_rate
    FROM episodes
    GROUP BY GROUPING SETS ((), (therapist_id))
),
-- §3 per scope and measure: sums over rated sessions, means over episodes.
alliance AS (
    SELECT e.therapist_id, grouping(e.therapist_id) = 1 AS practice, a.measure,
           sum(a.rated) AS rated_sessions,
           avg(a.early_mean) AS early_mean,
           avg(a.slope) AS mean_slope,             -- over episodes with >= 3 rated sessions
           sum(a.low) / sum(a.rated) AS low_share
    FROM episode_alliance AS a JOIN episodes AS e USING (episode_id)
    GROUP BY GROUPING SETS ((a.measure), (e.therapist_id, a.measure))
),
alliance_by_scope AS (
    SELECT therapist_id, practice,
           list({{measure: measure, rated_sessions: rated_sessions, early_mean: early_mean,
                 mean_slope: mean_slope, low_share: low_share}}) AS alliance
    FROM alliance GROUP BY therapist_id, practice
),
-- Measures "present": with at least one value in the sessions table (attended or not).
present AS (
    SELECT {present} FROM read_parquet({sessions})
)
SELECT s.*, a.alliance, p.*
FROM scopes AS s
LEFT JOIN alliance_by_scope AS a
       ON a.practice = s.practice AND a.therapist_id IS NOT DISTINCT FROM s.therapist_id
CROSS JOIN present AS p
ORDER BY s.practice DESC, s.therapist_id
"""


def _literal(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def _measures(sessions: Path) -> list[str]:
    """The alliance measures of :data:`ALLIANCE` that are columns of the sessions file."""
    cols = duckdb.sql(f"DESCRIBE SELECT * FROM read_parquet({_literal(sessions)})").fetchall()
    names = {c[0] for c in cols}
    return [m for m in ALLIANCE if m in names]


#: Per alliance measure ``{m}``: its rated value (attended sessions only) ...
RATED = ("CASE WHEN coalesce(attendance, 'attended') = 'attended' THEN CAST({m} AS DOUBLE) END"
         " AS {m}")
#: ... its rated index and neighbours over the episode's one ordering (``ordered``) ...
NEIGHBOURS = """count({m}) OVER (episode ROWS UNBOUNDED PRECEDING) AS {m}__i,
           lag({m} IGNORE NULLS) OVER episode AS {m}__previous,
           lead({m}, 1 IGNORE NULLS) OVER episode AS {m}__next1,
           lead({m}, 2 IGNORE NULLS) OVER episode AS {m}__next2,
           lead({m}, 3 IGNORE NULLS) OVER episode AS {m}__next3"""
#: ... and its rated sessions as rows of ``rated_series``.
ROWS = """SELECT episode_id, pos, rupture_flagged, '{m}' AS measure, {m} AS y, {m}__i AS i,
               {m}__previous AS previous, {m}__next1 AS next1, {m}__next2 AS next2,
               {m}__next3 AS next3
          FROM ordered WHERE {m} IS NOT NULL"""


def core_sql(folder: str | Path) -> str:
    """The one statement for the Parquet export in ``folder`` (its alliance columns filled in)."""
    folder = Path(folder)
    sessions, episodes = folder / "sessions.parquet", folder / "episodes.parquet"
    found = _measures(sessions)
    # without an alliance column the series is empty (a NULL column keeps the SQL the same)
    ms = found or ["srs"]
    rated = [RATED.format(m=m) if m in found else f"CAST(NULL AS DOUBLE) AS {m}" for m in ms]
    present = ", ".join(f"count({m}) AS {m}__values" for m in found) or "0 AS srs__values"
    thresholds = ", ".join(
        f"('{m}', {ALLIANCE[m][0]!r}, "
        f"{'CAST(NULL AS DOUBLE)' if ALLIANCE[m][1] is None else repr(ALLIANCE[m][1])})"
        for m in ms)
    counts = ",\n           ".join(
        f"count(*) FILTER (WHERE termination = '{t}') AS \"{t}\"" for t in TERMINATION)
    return SQL.format(
        sessions=_literal(sessions), episodes=_literal(episodes),
        rated_values=",\n           ".join(rated),
        neighbours=",\n           ".join(NEIGHBOURS.format(m=m) for m in ms),
        rated_rows="\n          UNION ALL\n          ".join(ROWS.format(m=m) for m in ms),
        thresholds=thresholds, termination_counts=counts, present=present)


Z = NormalDist().inv_cdf(0.975)


def wilson(k: int, n: int) -> list[float] | None:
    """Wilson 95% score interval of ``k / n`` (Wilson 1927); None when ``n`` is 0."""
    if n <= 0:
        return None
    p, z2 = k / n, Z * Z
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = Z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / (1 + z2 / n)
    return [max(0.0, centre - half), min(1.0, centre + half)]


def _scope(row: dict[str, Any]) -> dict[str, Any]:
    """One row of the statement as the M of domain.md §9 (the keys this floor covers)."""
    present = [m for m in ALLIANCE if (row.get(f"{m}__values") or 0) > 0]
    alliance = {a["measure"]: {k: a[k] for k in ("rated_sessions", "early_mean", "mean_slope",
                                                 "low_share")}
                for a in row["alliance"] or []}
    empty = {"rated_sessions": 0, "early_mean": None, "mean_slope": None, "low_share": None}
    return {
        "episodes": row["episodes"], "sessions_attended": int(row["sessions_attended"]),
        "alliance": {m: alliance.get(m, empty) for m in present},
        "ruptures": {
            "flagged": int(row["flagged"]), "drop": int(row["drop"]),
            "count": int(row["count"]), "repaired": int(row["repaired"]),
            "per_100_sessions": row["per_100_sessions"], "repair_rate": row["repair_rate"],
            "repair_rate_ci": wilson(int(row["repaired"]), int(row["count"])),
            "unrepaired_at_end": row["unrepaired_at_end"],
        },
        "termination": {
            "ended": row["ended"], "counts": {t: row[t] for t in TERMINATION},
            "dropout_rate": row["dropout_rate"],
            "dropout_rate_ci": wilson(row["dropout"], row["ended"]),
            "intake_only_rate": row["intake_only_rate"],
        },
    }


def core_metrics(folder: str | Path, con: duckdb.DuckDBPyConnection | None = None
                 ) -> dict[str, Any]:
    """``{"practice": M, "therapists": {id: M}}`` of the export in ``folder``, by the statement."""
    con = con or duckdb.connect()
    cur = con.execute(core_sql(folder))
    names = [d[0] for d in cur.description]
    rows = [dict(zip(names, r, strict=True)) for r in cur.fetchall()]
    out: dict[str, Any] = {"practice": None, "therapists": {}}
    for row in rows:
        if row["practice"]:
            out["practice"] = _scope(row)
        else:
            out["therapists"][str(row["therapist_id"])] = _scope(row)
    return out


def main(argv: list[str] | None = None) -> int:
    """``core_sql.py EXPORT_DIR [--out FILE] [--print-sql]``: the JSON, timing on stderr."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("export", type=Path, help="a Parquet export folder")
    p.add_argument("--out", type=Path, help="write the JSON here (default: stdout)")
    p.add_argument("--print-sql", action="store_true", help="print the statement and stop")
    args = p.parse_args(argv)
    if args.print_sql:
        print(core_sql(args.export))
        return 0
    t0, c0 = time.perf_counter(), time.process_time()
    text = json.dumps(core_metrics(args.export), indent=2, allow_nan=False)
    t1, c1 = time.perf_counter(), time.process_time()
    if args.out:
        args.out.write_text(text + "\n", encoding="utf-8")
    else:
        sys.stdout.write(text + "\n")
    print(json.dumps({"compute_s": t1 - t0, "compute_cpu_s": c1 - c0}), file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
