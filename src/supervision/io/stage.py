"""Staging: an export table in DuckDB renamed, cleaned and mapped, as text where it was text.

A staged table (``Staged.relation``) has ``_row`` and one ``VARCHAR`` column per canonical
column the file carries: values trimmed (spaces, tabs, no-break spaces), empty strings as
NULL, the mapping's ``[values]`` applied, categories lower-cased and neurotype tags in
canonical form (sorted, de-duplicated, ``;``-joined).  Each number and date column also
gets a typed twin ``<column>__v`` that is NULL where the text does not parse, so every
rule is a plain SQL query and a bad cell is a reported problem, never a crash.

A number or date column that a Parquet file holds typed (an integer or double, a date or
timestamp) is staged as read (``Staged.typed``), never turned into text and parsed back:
its twin is the value that text would have parsed to (:func:`typed_number_sql`,
:func:`typed_date_sql`), so the same cells are refused with the same messages.  A column
of any other type (a string of numbers, a boolean in a score column) is staged as its text.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import duckdb

from supervision import schema
from supervision.errors import Problem
from supervision.io.mapping import CATEGORY_VALUES, TAG_COLUMNS, ExportMapping, norm_name
from supervision.io.raw import DATE_TYPES, NUMBER_TYPES, RawTable
from supervision.measures import Registry

DATE_COLUMNS = ("session_date", "start_date", "end_date")
EPISODE_EXTRA = ("start_date", "end_date", "client_neurotype", "termination")
THERAPIST_EXTRA = ("therapist_neurotype", "team")
NUMBER_RE = r"[+\-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+\-]?[0-9]+)?"
_WS = "' ' || chr(9) || chr(10) || chr(13) || chr(160)"


@dataclass
class Staged:
    """A staged table and how its canonical columns were named in the export."""

    table: str
    file: str
    relation: str
    raw: RawTable
    shown: dict[str, str] = field(default_factory=dict)
    numeric: tuple[str, ...] = ()
    #: Columns staged as read from a typed Parquet column (a number or date), not as text.
    typed: tuple[str, ...] = ()

    def has(self, column: str) -> bool:
        return column in self.shown

    def name(self, column: str) -> str:
        """The column's name as the user knows it (for messages)."""
        return self.shown.get(column, column)


def allowed_columns(table: str, registry: Registry) -> list[str]:
    """Canonical columns a file holding ``table`` may carry (sessions: the flat form too)."""
    schemas = schema.schemas(registry)
    cols = [c for c in schemas[table] if c != "source_row"]
    if table == "sessions":
        cols += [*EPISODE_EXTRA, *THERAPIST_EXTRA]
    return cols


def assign_columns(
    t: RawTable, mapping: ExportMapping, registry: Registry
) -> tuple[dict[str, int], list[str], list[Problem]]:
    """Match header names to canonical columns.

    Returns ``(canonical -> header index, export names kept but ignored, problems)``;
    dropped columns appear in neither.
    """
    allowed = allowed_columns(t.table, registry)
    known = {c for s in schema.schemas(registry).values() for c in s}
    assigned: dict[str, int] = {}
    ignored: list[str] = []
    problems: list[Problem] = []
    for i, header in enumerate(t.header):
        key = norm_name(header)
        if key in mapping.drop:
            continue
        canon = mapping.columns.get(key, key if key in known else None)
        if canon is None or canon not in allowed:
            ignored.append(header or f"(unnamed column {i + 1})")
        elif canon in assigned:
            problems.append(Problem(
                t.file, None, header, f"also maps to {canon}, like column "
                f"{t.header[assigned[canon]]!r}; keep one (or drop one in the mapping)",
            ))
        else:
            assigned[canon] = i
    return assigned, ignored, problems


def _text(col: str) -> str:
    # trim() drops spaces (also no-break ones); tabs and line ends need the slower form.
    odd = f"regexp_matches({col}, '^[\t\r\n]|[\t\r\n]$')"
    return f"NULLIF(trim(CASE WHEN {odd} THEN trim({col}, {_WS}) ELSE {col} END), '')"


def _sql_str(s: str) -> str:
    return "'" + s.replace("'", "''") + "'"


def _category(v: str, mapped: dict[str, str]) -> str:
    low = f"lower({v})"
    if not mapped:
        return low
    whens = " ".join(f"WHEN {_sql_str(k)} THEN {_sql_str(val)}" for k, val in mapped.items())
    return f"CASE {low} {whens} ELSE {low} END"


def _tags(v: str, mapped: dict[str, str]) -> str:
    each = _category("trim(x)", mapped)
    parts = (
        f"list_filter(list_transform(string_split({v}, ';'), lambda x: {each}), "
        "lambda x: x <> '')"
    )
    many = f"NULLIF(array_to_string(list_sort(list_distinct({parts})), ';'), '')"
    # A single tag (the common case) skips the list functions: same result, far faster.
    return f"CASE WHEN contains({v}, ';') THEN {many} ELSE {_category(v, mapped)} END"


def number_sql(v: str, decimal_comma: bool) -> str:
    """SQL: the number in text ``v`` as DOUBLE, or NULL (``3,5`` accepted if ``decimal_comma``).

    Plain decimal notation only (no ``nan``, ``inf``, ``0x1F`` or ``1_000``).
    """
    if decimal_comma:
        v = f"replace({v}, ',', '.')"
    return f"CASE WHEN regexp_full_match({v}, '{NUMBER_RE}') THEN TRY_CAST({v} AS DOUBLE) END"


def date_sql(v: str, fmt: str | None, excel: bool) -> str:
    """SQL: the date in text ``v``, or NULL.

    ISO ``YYYY-MM-DD`` (a time part, as Parquet timestamps have, is ignored); else the
    mapping's strptime format; in an .xlsx also an Excel serial day number (days since
    1899-12-30, the 1900 date system as Excel writes it).
    """
    iso = (
        f"CASE WHEN regexp_full_match({v}, '[0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}}([ T][0-9:.+]*)?') "
        f"THEN TRY_CAST(left({v}, 10) AS DATE) END"
    )
    parts = [iso]
    if fmt is not None:
        parts.append(f"CAST(try_strptime({v}, {_sql_str(fmt)}) AS DATE)")
    if excel:
        parts.append(
            f"CASE WHEN regexp_full_match({v}, '[1-9][0-9]{{4}}(\\.0+)?') "
            f"THEN DATE '1899-12-30' + CAST(CAST({v} AS DOUBLE) AS INTEGER) END"
        )
    return f"coalesce({', '.join(parts)})"


def typed_number_sql(v: str, typ: str) -> str:
    """SQL: the number in column ``v`` of Parquet type ``typ`` (``NUMBER_TYPES``) as DOUBLE,
    or NULL: the value :func:`number_sql` gives for its text, without the text.

    An integer's text always parses, to the same double; a finite double's text is its
    shortest round-trip form, so it reads back as itself; NaN and infinity (``nan``,
    ``inf``, not plain decimals) take the text path and are refused as before.
    """
    if typ != "DOUBLE":
        return f"CAST({v} AS DOUBLE)"
    text = number_sql(f"CAST({v} AS VARCHAR)", False)
    return f"CASE WHEN isfinite({v}) THEN {v} ELSE {text} END"


def typed_date_sql(v: str, fmt: str | None) -> str:
    """SQL: the date of column ``v`` (a Parquet date or timestamp, ``DATE_TYPES``), or NULL:
    the value :func:`date_sql` gives for its text, without the text.

    In years 1–9999 that text starts ``YYYY-MM-DD``, the date; any other value (before
    Christ, ``infinity``) takes the text path and is refused as before.
    """
    text = date_sql(f"CAST({v} AS VARCHAR)", fmt, False)
    return f"CASE WHEN year({v}) BETWEEN 1 AND 9999 THEN CAST({v} AS DATE) ELSE {text} END"


def _kept_typed(t: RawTable, canon: str, i: int, numeric: tuple[str, ...]) -> bool:
    """Whether canonical column ``canon`` (raw ``c{i}``) is staged as read, not as text."""
    typ = t.type_of(i)
    return (canon in numeric and typ in NUMBER_TYPES) or (
        canon in DATE_COLUMNS and typ in DATE_TYPES)


def _staged_text(
    con: duckdb.DuckDBPyConnection, t: RawTable, canon: str, i: int, mapping: ExportMapping
) -> tuple[str, str]:
    """SQL of a column staged as text (cleaned, mapped) and the join it needs, if any."""
    v = _text(t.text(i, "r"))
    if canon in CATEGORY_VALUES:
        return _category(v, mapping.values.get(canon, {})), ""
    if canon in TAG_COLUMNS:
        # List functions are slow per row: normalise each distinct value once, then join.
        lk = f"{t.relation}_lk{i}"
        con.execute(f"CREATE OR REPLACE TEMP TABLE {lk} AS SELECT k, "
                    f"{_tags(_text('k'), mapping.values.get(canon, {}))} AS v "
                    f"FROM (SELECT DISTINCT {t.text(i)} AS k FROM {t.relation})")
        return f"{lk}.v", f"LEFT JOIN {lk} ON {t.text(i, 'r')} = {lk}.k"
    return v, ""


def _twin(t: RawTable, col: str, i: int, typed: bool, fmt: str | None) -> str:
    """SQL: the typed twin of number or date column ``col`` (raw ``c{i}``)."""
    if col in DATE_COLUMNS:
        return typed_date_sql(col, fmt) if typed else date_sql(col, fmt, t.kind == "xlsx")
    return typed_number_sql(col, t.type_of(i)) if typed else number_sql(col, t.decimal_comma)


def stage(
    con: duckdb.DuckDBPyConnection,
    t: RawTable,
    assigned: dict[str, int],
    mapping: ExportMapping,
    registry: Registry,
) -> Staged:
    """Create the staged table for ``t`` (see module docstring)."""
    numeric = tuple(c for c in registry.numeric_columns if c in assigned)
    exprs, joins, typed = ["r._row"], [], []
    for canon, i in assigned.items():
        if _kept_typed(t, canon, i, numeric):
            exprs.append(f"r.c{i} AS {canon}")
            typed.append(canon)
            continue
        v, join = _staged_text(con, t, canon, i, mapping)
        exprs.append(f"{v} AS {canon}")
        joins += [join] if join else []
    parsed = [f"{_twin(t, c, assigned[c], c in typed, mapping.date_format)} AS {c}__v"
              for c in (*numeric, *(d for d in DATE_COLUMNS if d in assigned))]
    rel = f"{t.relation}_stg"
    inner = f"SELECT {', '.join(exprs)} FROM {t.relation} r {' '.join(joins)}"
    con.execute(f"CREATE TABLE {rel} AS SELECT *{''.join(', ' + x for x in parsed)} FROM ({inner})")
    shown = {canon: t.header[i] for canon, i in assigned.items()}
    return Staged(t.table, t.file, rel, t, shown, numeric, tuple(typed))


__all__ = [
    "Staged", "allowed_columns", "assign_columns", "date_sql", "number_sql", "stage",
    "typed_date_sql", "typed_number_sql",
]
