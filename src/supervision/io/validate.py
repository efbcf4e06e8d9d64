"""The validation rules of domain.md §2, as SQL over the staged tables.

Every rule reports the offending rows only (the first :data:`CAP` per rule and column,
then one "… and N more rows" line, but all are counted), as
:class:`~supervision.errors.Problem` s.  All rules run; :func:`validate` returns every
problem.  Messages name the file, row and column and never echo a text value: numbers
are echoed, and category values only when short and plainly not an identifier.

A rule that judges each row on its own (a value required, a date or number that does not
parse, a number out of range, items that do not add up, an unknown category) returns
:class:`Check` s, a condition on one row; :func:`validate` runs every check of a table in
one scan of it (:func:`run_checks`: a count and the first rows per check).  A rule that
compares rows (duplicates, order within an episode, links between tables) is its own
query, through :func:`listed`.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import duckdb

from supervision import schema
from supervision.errors import Problem
from supervision.io.mapping import CATEGORY_VALUES, TAG_COLUMNS, norm_name
from supervision.io.stage import DATE_COLUMNS, EPISODE_EXTRA, THERAPIST_EXTRA, Staged
from supervision.measures import Registry

CAP = 50
SEP = schema.default_episode_id("", "")


@dataclass
class Context:
    """What the rules need: the database, the staged tables and the options."""

    con: duckdb.DuckDBPyConnection
    tables: dict[str, Staged]
    registry: Registry
    date_format: str | None = None
    #: The mapping's ``[drop]`` names (normalised): never offered as a missing column.
    drop: frozenset[str] = frozenset()


def echo(value: Any) -> str:
    """A category value safe to show: short, letters only, else ``an unknown value``."""
    s = str(value)
    return repr(s[:20]) if re.fullmatch(r"[A-Za-z _\-]+", s) else "an unknown value"


def num(x: float) -> str:
    """A number as a person writes it (``41``, ``3.5``).  Long numbers are not echoed: a
    phone or NHS number typed into a score column must not reach a message."""
    return f"{x:g}" if abs(x) < 100_000 else "a number"


def episode_key(st: Staged) -> str:
    """SQL: a session's episode id (given, else client_id + therapist_id)."""
    default = f"client_id || '{SEP}' || therapist_id"
    return f"coalesce(episode_id, {default})" if st.has("episode_id") else default


@dataclass(frozen=True)
class Check:
    """A condition on one row of a staged table: the rows where ``where`` holds are problems.

    ``message`` gets ``(row, *values)``, as it would from :func:`listed` over
    ``SELECT _row, <values> FROM <table> WHERE <where>``.
    """

    column: str | None
    where: str
    message: Callable[[tuple[Any, ...]], str]
    values: tuple[str, ...] = ()


def run_checks(
    ctx: Context, st: Staged, checks: list[Check], source: str | None = None
) -> list[list[Problem]]:
    """The problems of each of ``checks``, in one scan of ``st`` (or of the query
    ``source`` over it): per check, how many rows fail and the first :data:`CAP` of them
    (in row order) with their ``values``."""
    if not checks:
        return []
    aggs = []
    for i, c in enumerate(checks):
        shown = ", ".join(f"'v{j}': {v}" for j, v in enumerate(("_row", *c.values)))
        aggs += [f"count(*) FILTER (WHERE {c.where}) AS n{i}",
                 f"arg_min({{{shown}}}, _row, {CAP}) FILTER (WHERE {c.where}) AS first{i}"]
    # The WHERE keeps the aggregates to the failing rows (few, in a valid export none).
    where = " OR ".join(f"({c.where})" for c in checks)
    sql = f"SELECT {', '.join(aggs)} FROM {source or st.relation} WHERE {where}"
    found = ctx.con.execute(sql).fetchone() or ()
    out = []
    for i, c in enumerate(checks):
        n, rows = found[2 * i], [tuple(r.values()) for r in found[2 * i + 1] or []]
        shown = st.name(c.column) if c.column else None
        problems = [Problem(st.file, int(r[0]), shown, c.message(r)) for r in rows]
        if n > CAP:
            problems.append(Problem(st.file, None, shown, f"… and {n - CAP} more rows like these"))
        out.append(problems)
    return out


def listed(
    ctx: Context, st: Staged, sql: str, column: str | None,
    message: Callable[[tuple[Any, ...]], str],
) -> list[Problem]:
    """Problems for the rows ``sql`` returns (``_row`` first), capped at :data:`CAP`."""
    rows = ctx.con.execute(
        f"SELECT *, count(*) OVER () AS __n FROM ({sql}) ORDER BY _row LIMIT {CAP}"
    ).fetchall()
    shown = st.name(column) if column else None
    out = [Problem(st.file, int(r[0]), shown, message(r)) for r in rows]
    if rows and rows[0][-1] > CAP:
        out.append(Problem(st.file, None, shown, f"… and {rows[0][-1] - CAP} more rows like these"))
    return out


# ---------------------------------------------------------------------- per table
def unrecognised(ctx: Context, st: Staged) -> list[str]:
    """The file's columns that map to nothing (not canonical, not mapped, not dropped)."""
    used = set(st.shown.values())
    return [h for h in st.raw.header
            if h and h not in used and norm_name(h) not in ctx.drop]


def _likeness(header: str, col: str) -> float:
    """How much an export's column name looks like canonical ``col``: the share of
    ``col``'s words (``session``, ``date``) in it, then the names' string similarity."""
    words = set(re.split(r"[^a-z0-9]+", header.casefold()))
    share = sum(w in words for w in col.split("_")) / len(col.split("_"))
    return share + difflib.SequenceMatcher(None, norm_name(header), col).ratio()


def missing_column(ctx: Context, st: Staged, col: str) -> Problem:
    """The root cause first: a required column is missing; the file's unrecognised columns
    that could be it, and the mapping line that would make the likeliest one it."""
    left = sorted(unrecognised(ctx, st), key=lambda h: -_likeness(h, col))
    msg = "required column is missing"
    if not left:
        return Problem(st.file, None, col, msg + f" (add a column named {col})")
    names = ", ".join(f'"{h}"' for h in left[:8]) + (" …" if len(left) > 8 else "")
    if _likeness(left[0], col) < 0.6:  # no shared word, no close spelling: no guess
        return Problem(st.file, None, col, (
            f"{msg}; the file's columns not recognised: {names}. Map the one that holds "
            f'{col} under [columns] in a mapping file ("Its Name" = "{col}") and validate '
            "with --mapping FILE"))
    best = left[0].replace('"', '\\"')
    return Problem(st.file, None, col, (
        f"{msg}; the file's columns not recognised: {names}. If \"{best}\" holds {col}, "
        f"add this line under [columns] in a mapping file and validate with --mapping FILE: "
        f"\"{best}\" = \"{col}\""))


def required(ctx: Context, st: Staged) -> list[Problem | Check]:
    """Required columns present, and filled in on every row."""
    out: list[Problem | Check] = []
    for col in schema.REQUIRED[st.table]:
        if not st.has(col):
            out.append(missing_column(ctx, st, col))
        else:
            out.append(Check(col, f"{col} IS NULL", lambda r: "a value is required here"))
    return out


_MONTHS = r"(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?"


def date_hint(value: object, date_format: str | None) -> str:
    """Which date format a cell that did not parse seems to be in, and the mapping line that
    reads it; the value itself is never echoed (only its shape, e.g. ``DD/MM/YYYY``)."""
    v = str(value).strip()
    fix = "add to a mapping file (--mapping FILE): [dates] format = "
    m = re.fullmatch(r"(\d{1,2})([/.\-])(\d{1,2})\2(\d{4}|\d{2})", v)
    if m:
        a, sep, b, y = int(m[1]), m[2], int(m[3]), "%Y" if len(m[4]) == 4 else "%y"
        year = "YYYY" if y == "%Y" else "YY"
        first = "DD" if a > 12 else "MM" if b > 12 else "NN"
        shape = f"{first}{sep}{'MM' if a > 12 else 'DD' if b > 12 else 'NN'}{sep}{year}"
        dmy, mdy = f"%d{sep}%m{sep}{y}", f"%m{sep}%d{sep}{y}"
        if date_format in (dmy, mdy):
            return f"; it is in the shape of {date_format} but is no real calendar date"
        if a > 12:
            return f"; seen {shape}, day first; {fix}\"{dmy}\""
        if b > 12:
            return f"; seen {shape}, month first; {fix}\"{mdy}\""
        return (f"; seen {shape}: day/month or month/day (never guessed); {fix}\"{dmy}\" "
                f"for day first, \"{mdy}\" for month first")
    if re.fullmatch(r"\d{4}-\d{1,2}-\d{1,2}", v):
        return "; ISO in shape, but no real calendar date"
    if re.fullmatch(rf"(?i)\d{{1,2}}[ \-]{_MONTHS}[ \-]\d{{4}}", v):
        return f"; seen a day, a month name and a year; {fix}\"%d %b %Y\" (or \"%d %B %Y\")"
    if re.fullmatch(rf"(?i){_MONTHS} \d{{1,2}},? \d{{4}}", v):
        comma = "," if "," in v else ""
        return (f"; seen a month name first; {fix}\"%B %d{comma} %Y\" (\"%b %d{comma} %Y\" "
                "for short month names)")
    if re.fullmatch(r"\d{5}(\.0+)?", v):
        return ("; seen a whole number, as a spreadsheet stores a date: format the column as "
                "a date (YYYY-MM-DD) before saving")
    return ""


def dates(ctx: Context, st: Staged) -> list[Problem | Check]:
    """Date cells that are not dates in the accepted format, with a hint at the format seen."""
    want = "YYYY-MM-DD" + (f" or {ctx.date_format}" if ctx.date_format else "")
    return [Check(col, f"{col} IS NOT NULL AND {col}__v IS NULL",
                  lambda r, w=want: f"expected a date as {w}{date_hint(r[1], ctx.date_format)}",
                  (col,))
            for col in DATE_COLUMNS if st.has(col)]


def _ranges(registry: Registry) -> dict[str, tuple[float, float, str]]:
    out: dict[str, tuple[float, float, str]] = {}
    for m in registry.values():
        out[m.key] = (m.min, m.max, m.name)
        if m.item_min is not None and m.item_max is not None:
            for c in m.items:
                out.setdefault(c, (m.item_min, m.item_max, f"{m.name} item"))
            for c in m.subscales:
                out.setdefault(c, (m.item_min, m.item_max, f"{m.name} subscale"))
        for c in m.critical_columns:
            out.setdefault(c, (0, m.critical_max or 0, f"{m.name} critical item"))
    return out


def numbers(ctx: Context, st: Staged) -> list[Problem | Check]:
    """Numbers that do not parse, or lie outside their measure's range (never clipped)."""
    ranges = _ranges(ctx.registry)
    out: list[Problem | Check] = []
    for col in st.numeric:
        out.append(Check(col, f"{col} IS NOT NULL AND {col}__v IS NULL",
                         lambda r: "expected a number"))
        if col in ranges:
            lo, hi, name = ranges[col]
            out.append(Check(col, f"{col}__v < {lo} OR {col}__v > {hi} OR isnan({col}__v)",
                             lambda r, lo=lo, hi=hi, n=name:
                             f"{num(r[1])} is outside {num(lo)}–{num(hi)} ({n})",
                             (f"{col}__v",)))
        if col in ctx.registry.critical_items:
            m = ctx.registry.critical_items[col]
            out.append(Check(col, f"{col}__v <> round({col}__v)",
                             lambda r, m=m: f"{num(r[1])} is not a whole number ({m.name} "
                             f"critical item, scored 0–{num(m.critical_max or 0)})",
                             (f"{col}__v",)))
    return out


def item_sums(ctx: Context, st: Staged) -> list[Problem | Check]:
    """Item columns (SRS) whose sum differs from the total by more than 0.2 (rounding)."""
    out: list[Problem | Check] = []
    for m in ctx.registry.values():
        if not m.items or not st.has(m.key) or not all(st.has(c) for c in m.items):
            continue
        total = " + ".join(f"{c}__v" for c in m.items)
        out.append(Check(m.key, f"abs(({total}) - {m.key}__v) > 0.2", lambda r, m=m: (
            f"the {m.name} items sum to {num(r[1])}, but the total is {num(r[2])} "
            "(they must agree within 0.2)"), (total, f"{m.key}__v")))
    return out


def categories(ctx: Context, st: Staged) -> list[Problem | Check]:
    """Unknown category values and neurotype tags; neurotypical/unknown combined with others."""
    out: list[Problem | Check] = []
    for col, allowed in CATEGORY_VALUES.items():
        if st.has(col):
            lst = ", ".join(f"'{a}'" for a in allowed)
            out.append(Check(col, f"{col} NOT IN ({lst})", lambda r, a=allowed, c=col: (
                f"expected one of {', '.join(a)}; got {echo(r[1])} "
                f"(other values can be mapped in the mapping's [values.{c}])"), (col,)))
    tags = "[" + ", ".join(f"'{a}'" for a in schema.NEUROTYPE_TAGS) + "]"
    for col in TAG_COLUMNS:
        if not st.has(col):
            continue
        # List functions are slow per row: judge each distinct value once, then join.
        split = "string_split(v, ';')"
        distinct = f"SELECT DISTINCT {col} AS v FROM {st.relation} WHERE {col} IS NOT NULL"
        bad = (f"SELECT v, list_filter({split}, lambda x: NOT list_contains({tags}, x))[1] AS b "
               f"FROM ({distinct}) WHERE NOT list_has_all({tags}, {split})")
        sql = f"SELECT _row, b FROM {st.relation} JOIN ({bad}) ON {col} = v"
        out += listed(ctx, st, sql, col, lambda r: (
            f"unknown neurotype tag {echo(r[1])}; expected tags from "
            f"{', '.join(schema.NEUROTYPE_TAGS)}, separated by ';'"))
        mixed = (f"SELECT v FROM ({distinct}) WHERE len({split}) > 1 AND "
                 f"(list_contains({split}, 'neurotypical') OR list_contains({split}, 'unknown'))")
        sql = f"SELECT _row FROM {st.relation} JOIN ({mixed}) ON {col} = v"
        out += listed(ctx, st, sql, col, lambda r: (
            "'neurotypical' and 'unknown' cannot be combined with other tags"))
    return out


#: An id that a program could take for a path: a separator, a control character (C0, DEL,
#: C1; NUL among them) or a whole id of "." or "..".  Ids are pseudonyms, never paths.
_PATHLIKE = r"regexp_matches({c}, '[/\\[:cntrl:]\x{{80}}-\x{{9f}}]') OR {c} IN ('.', '..')"


def pathlike_ids(ctx: Context, st: Staged) -> list[Problem]:
    """Ids (client, therapist, episode) holding ``/``, ``\\``, a control character, or ``..``."""
    out: list[Problem] = []
    for col in ("client_id", "therapist_id", "episode_id"):
        if st.has(col):
            sql = f"SELECT _row FROM {st.relation} WHERE {_PATHLIKE.format(c=col)}"
            out += listed(ctx, st, sql, col, lambda r: (
                "an id must not hold '/', '\\', a control character, or be '.' or '..' "
                "(it could be taken for a path); rename it in the export or the mapping"))
    return out


def duplicate_ids(ctx: Context, st: Staged) -> list[Problem]:
    """Duplicate ``episode_id`` (episodes) or ``therapist_id`` (therapists)."""
    col = {"episodes": "episode_id", "therapists": "therapist_id"}.get(st.table)
    if col is None or not st.has(col):
        return []
    sql = (f"SELECT _row, first FROM (SELECT _row, min(_row) OVER (PARTITION BY {col}) AS first "
           f"FROM {st.relation} WHERE {col} IS NOT NULL) WHERE _row > first")
    return listed(ctx, st, sql, col, lambda r, c=col: f"duplicates the {c} of row {r[1]}")


def duplicate_rows(ctx: Context, st: Staged) -> list[Problem]:
    """Sessions that repeat an earlier row exactly (in every column read)."""
    if not st.shown:
        return []
    # A number read typed from Parquet: -0.0 equals 0.0, but their texts differ.
    signs = [f"{c} = 0 AND signbit({c}::DOUBLE)" for c in st.typed if c in st.numeric]
    cols = ", ".join([*st.shown, *signs])
    # Twins agree on every column, so first the rows that share client, therapist and date
    # (a cheap hash of three columns; in most exports no row does): only those are
    # compared in full, and none at all when no three-column hash repeats.
    key = ", ".join(c for c in ("client_id", "therapist_id", "session_date") if st.has(c))
    hashes = f"SELECT hash({key or cols}) AS h FROM {st.relation}"
    twins = f"SELECT h FROM ({hashes}) GROUP BY h HAVING count(*) > 1"
    if not (ctx.con.execute(f"SELECT EXISTS ({twins})").fetchone() or (False,))[0]:
        return []
    sql = (f"SELECT _row, first FROM (SELECT _row, min(_row) OVER (PARTITION BY {cols}) AS first "
           f"FROM {st.relation} WHERE hash({key or cols}) IN ({twins})) WHERE _row > first")
    return listed(ctx, st, sql, None, lambda r: f"duplicates row {r[1]}")


def repairs(ctx: Context, st: Staged) -> list[Problem]:
    """A ``repair`` with no rupture (≠ none) at or before it in the episode."""
    if not st.has("repair") or not st.has("client_id") or not st.has("therapist_id"):
        return []
    flagged = "rupture IS NOT NULL AND rupture <> 'none'" if st.has("rupture") else "false"
    if not st.has("session_date"):
        return []
    # Sessions in order of (date, row): a repair before its episode's first rupture (or in
    # an episode without one) fails.  An episode with an unreadable date has no known
    # order: its date error is reported.  (A missing id is one episode, as a window has it.)
    rows = (f"SELECT _row, repair, session_date__v AS d, {flagged} AS flagged, "
            f"{episode_key(st)} AS k FROM {st.relation}")
    episodes = ("SELECT k, bool_or(d IS NULL) AS undated, "
                "min((d, _row)) FILTER (WHERE flagged) AS first_rupture FROM s GROUP BY k")
    sql = (f"WITH s AS ({rows}), e AS ({episodes}) SELECT s._row FROM s JOIN e "
           "ON s.k IS NOT DISTINCT FROM e.k WHERE s.repair IS NOT NULL AND NOT e.undated "
           "AND (e.first_rupture IS NULL OR (s.d, s._row) < e.first_rupture)")
    return listed(ctx, st, sql, "repair", lambda r: (
        "repair is set, but the episode has no rupture (other than none) at or before "
        "this session"))


# ---------------------------------------------------------------------- across tables
def _agree(ctx: Context, st: Staged, col: str, key: str, what: str) -> list[Problem]:
    v = f"{col}__v" if col in DATE_COLUMNS else col
    rows = f"SELECT _row, {key} AS k, {v} AS v FROM {st.relation}"
    sql = (f"WITH s AS ({rows}), f AS (SELECT k, arg_min(v, _row) AS v0, min(_row) AS r0 "
           f"FROM s WHERE v IS NOT NULL GROUP BY k) "
           f"SELECT s._row, f.r0 FROM s JOIN f USING (k) WHERE s.v IS NOT NULL AND s.v <> f.v0")
    return listed(ctx, st, sql, col, lambda r: (
        f"differs from row {r[1]} of the same {what} ({st.name(col)} must be the same on "
        f"every row of one {what})"))


def flat_agreement(ctx: Context, st: Staged) -> list[Problem]:
    """Flat form: episode (therapist) values repeated on every row must agree."""
    if not st.has("client_id") or not st.has("therapist_id"):
        return []
    out: list[Problem] = []
    if "episodes" not in ctx.tables:
        cols = [c for c in EPISODE_EXTRA if st.has(c)]
        if st.has("episode_id"):
            cols = ["client_id", "therapist_id", *cols]
        for col in cols:
            out += _agree(ctx, st, col, episode_key(st), "episode")
    if "therapists" not in ctx.tables:
        for col in THERAPIST_EXTRA:
            if st.has(col):
                out += _agree(ctx, st, col, "therapist_id", "therapist")
    return out


def flat_end_dates(ctx: Context, st: Staged) -> list[Problem]:
    """Flat form: an end_date before the episode's start (start_date, else first session)."""
    if "episodes" in ctx.tables or not st.has("end_date") or not st.has("client_id") or (
        not st.has("therapist_id")
    ):
        return []
    start = "min(session_date__v) OVER w" if st.has("session_date") else "NULL"
    if st.has("start_date"):
        start = f"coalesce(min(start_date__v) OVER w, {start})"
    sql = (f"SELECT _row FROM (SELECT _row, end_date__v, {start} AS st FROM {st.relation} "
           f"WINDOW w AS (PARTITION BY {episode_key(st)})) WHERE end_date__v < st")
    return listed(ctx, st, sql, "end_date", lambda r: (
        "end_date is before the episode's start (its start_date, or else its first session)"))


def episode_links(ctx: Context) -> list[Problem]:
    """Sessions whose episode is missing, or whose client/therapist differ from it."""
    s, e = ctx.tables.get("sessions"), ctx.tables.get("episodes")
    need = ("episode_id", "client_id", "therapist_id")
    if s is None or e is None or not all(e.has(c) for c in need) or not (
        s.has("client_id") and s.has("therapist_id")
    ):
        return []
    eps = (f"SELECT episode_id, min(_row) AS er, arg_min(client_id, _row) AS ec, "
           f"arg_min(therapist_id, _row) AS et FROM {e.relation} GROUP BY episode_id")
    base = (f"SELECT s._row, er, s.client_id IS DISTINCT FROM ec AS cd, "
            f"s.therapist_id IS DISTINCT FROM et AS td FROM (SELECT *, {episode_key(s)} AS k "
            f"FROM {s.relation}) s LEFT JOIN ({eps}) e ON s.k = e.episode_id "
            "WHERE s.client_id IS NOT NULL AND s.therapist_id IS NOT NULL")
    col = "episode_id" if s.has("episode_id") else "client_id"
    how = "" if s.has("episode_id") else (
        " (a session without episode_id belongs to the episode of its client and therapist)")
    checks = [Check(col, "er IS NULL", lambda r: f"no such episode in {e.file}{how}")]
    checks += [Check(c, f"er IS NOT NULL AND {flag}", lambda r, c=c: (
        f"differs from the {c} of its episode ({e.file} row {r[1]})"), ("er",))
        for c, flag in (("client_id", "cd"), ("therapist_id", "td"))]
    return [p for found in run_checks(ctx, s, checks, f"({base})") for p in found]


def therapist_links(ctx: Context) -> list[Problem]:
    """Episodes (or, without an episodes table, sessions) whose therapist is not listed."""
    t = ctx.tables.get("therapists")
    src = ctx.tables.get("episodes") or ctx.tables.get("sessions")
    if t is None or src is None or not t.has("therapist_id") or not src.has("therapist_id"):
        return []
    sql = (f"SELECT _row FROM {src.relation} WHERE therapist_id IS NOT NULL AND therapist_id "
           f"NOT IN (SELECT therapist_id FROM {t.relation} WHERE therapist_id IS NOT NULL)")
    return listed(ctx, src, sql, "therapist_id", lambda r: f"therapist not found in {t.file}")


def episode_dates(ctx: Context) -> list[Problem]:
    """Episodes table: end_date before start_date."""
    e = ctx.tables.get("episodes")
    if e is None or not e.has("end_date") or not e.has("start_date"):
        return []
    sql = f"SELECT _row FROM {e.relation} WHERE end_date__v < start_date__v"
    return listed(ctx, e, sql, "end_date", lambda r: "end_date is before start_date")


PER_TABLE = (required, dates, numbers, item_sums, categories, pathlike_ids, duplicate_ids)
SESSION_RULES = (duplicate_rows, repairs, flat_agreement, flat_end_dates)
ACROSS = (episode_links, therapist_links, episode_dates)


def _table_rules(ctx: Context, st: Staged) -> list[Problem]:
    """Every rule of one table, its :class:`Check` s run in one scan, in the rules' order."""
    found: list[Problem | Check] = []
    for rule in PER_TABLE:
        found += rule(ctx, st)
    missing = [c for c in schema.REQUIRED[st.table] if not st.has(c)]
    if st.table == "sessions" and missing:
        # Without a required column, rows that differ only there look alike (every session
        # of an episode "duplicates" the first when session_date is missing): the rules that
        # compare rows would report dozens of consequences of the one cause.
        found.append(Problem(st.file, None, None, (
            f"the checks that compare sessions (exact duplicates, repairs, agreement within "
            f"an episode) did not run: they need {', '.join(missing)}; add "
            f"{'it' if len(missing) == 1 else 'them'} and validate again")))
    elif st.table == "sessions":
        for srule in SESSION_RULES:
            found += srule(ctx, st)
    checks = [f for f in found if isinstance(f, Check)]
    results = iter(run_checks(ctx, st, checks))
    out: list[Problem] = []
    for f in found:
        out += next(results) if isinstance(f, Check) else [f]
    return out


def validate(ctx: Context) -> list[Problem]:
    """Run every rule; return every problem (empty when the export is valid)."""
    out: list[Problem] = []
    for st in ctx.tables.values():
        out += _table_rules(ctx, st)
    for across in ACROSS:
        out += across(ctx)
    return out


__all__ = ["CAP", "Check", "Context", "echo", "episode_key", "run_checks", "validate"]
