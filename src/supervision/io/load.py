"""``load_export``: an export on disk -> a validated :class:`~supervision.caseload.Caseload`.

Steps (each a progress line with ``progress=True``):

1. find the tables (:mod:`supervision.io.sources`) and read their headers;
2. apply the mapping's ``[drop]`` and ``[columns]``, and run the identifier guard on the
   column names (:mod:`supervision.io.identifiers`) — before any data is read;
3. read each table into DuckDB (as text; a Parquet file's numbers, dates and timestamps as
   they are), and run the identifier guard on the values (also on workbook sheets that
   hold no table and cells right of a sheet's last header);
4. stage (clean, map values, type) and run every rule (:mod:`supervision.io.validate`);
   then notices for mapping entries that match no column and for ids that differ only by
   case, look-alike letters or invisible characters (:mod:`supervision.io.near_ids`);
5. build the canonical typed tables (:mod:`supervision.schema`) in SQL.

All the heavy lifting happens in DuckDB; only headers, counts and the listed problem rows
come into Python.  Nothing is written next to the user's files.
"""

from __future__ import annotations

import itertools
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from supervision import schema
from supervision.caseload import Caseload
from supervision.errors import ExportError, IdentifierError, Problem
from supervision.io import identifiers, near_ids, xlsx
from supervision.io.mapping import ExportMapping, load_mapping, norm_name
from supervision.io.progress import Progress, human_bytes
from supervision.io.raw import RawTable
from supervision.io.scratch import memory_backend
from supervision.io.sources import checksum, discover, read_header, read_raw
from supervision.io.stage import EPISODE_EXTRA, THERAPIST_EXTRA, Staged, assign_columns, stage
from supervision.io.validate import Context, episode_key, validate
from supervision.measures import Registry, load_registry

if TYPE_CHECKING:
    import duckdb
    from ibis.backends import BaseBackend

_ids = itertools.count()
_FREE_TEXT = (*identifiers.ID_COLUMNS, "team")


def load_export(
    path: str | Path,
    *,
    mapping: str | Path | None = None,
    measures: str | Path | Registry | None = None,
    progress: bool = False,
    con: BaseBackend | None = None,
) -> Caseload:
    """Read, check and load the export at ``path`` (domain.md §2, §8).

    Parameters
    ----------
    path
        A folder or ``.zip`` holding ``sessions`` / ``episodes`` / ``therapists`` files
        (``.csv``, ``.xlsx`` or ``.parquet``), an ``.xlsx`` workbook with a sheet per
        table, or a single ``.csv`` / ``.parquet`` file (a flat ``sessions`` table).
    mapping
        A TOML mapping file (format: :mod:`supervision.io.mapping`), or ``None``.
    measures
        A TOML file extending the measure registry, a :class:`Registry`, or ``None``.
    progress
        Print a line per step to standard error and, while a long statement runs, its
        progress (:mod:`supervision.io.progress`).
    con
        An Ibis DuckDB backend to load into (default: a new in-memory one with a memory
        limit and a private spill folder, :func:`~supervision.io.scratch.memory_backend`).

    Returns
    -------
    Caseload
        With ``source``, ``notices`` and ``checksum`` (SHA-256 over the export's files).

    Raises
    ------
    IdentifierError
        A column name or values look like direct identifiers (nothing further is read).
    MappingError
        The mapping file is malformed.
    ExportError
        Listing every problem found, as ``file:row:column: what was expected``.
    """
    say = Progress(progress)
    registry = measures if isinstance(measures, Registry) else load_registry(measures)
    emap = load_mapping(mapping, registry)
    con = con or memory_backend()
    db: duckdb.DuckDBPyConnection = con.con
    db.execute("SET enable_progress_bar = false")  # our own progress lines, or none
    src = Path(path)
    prefix = f"sv_io{next(_ids)}"
    with tempfile.TemporaryDirectory(prefix="supervision-") as tmpname:
        tmp = Path(tmpname)
        found = discover(src, emap, tmp)
        notices = list(found.notices)
        say(f"found {', '.join(f'{t.table} ({t.file})' for t in found.tables) or 'no tables'}")
        assigned = _headers(found.tables, emap, registry, notices)
        for t in found.tables:
            size = t.path.stat().st_size if t.kind == "csv" else None
            say(f"reading {t.file}" + (f" ({human_bytes(size)})" if size else ""))
            with say.watch(db, f"reading {t.file}", size):
                notices += read_raw(db, t, f"{prefix}_{t.table}", tmp)
        say("checking for identifiers")
        with say.watch(db, "checking for identifiers"):
            notices += _extra_sheets(db, found.extra, prefix)
            _value_guard(db, found.tables, assigned, emap.drop)
            _drop_outside(db, found.tables, assigned)
        say("validating")
        with say.watch(db, "validating (current check)"):
            staged = {t.table: stage(db, t, assigned[t.table], emap, registry)
                      for t in found.tables}
            _check(db, staged, registry, emap.date_format, emap.drop)
            notices += near_ids.notices(db, staged)
        say("building tables")
        with say.watch(db, "building tables"):
            tables = _build(db, staged, registry, prefix)
        _drop_work_tables(db, prefix, keep=set(tables.values()))
        digest = checksum(found.files)
    say("done")
    return Caseload(
        con=con, registry=registry, source=str(src), notices=tuple(notices), checksum=digest,
        **{name: con.table(rel) for name, rel in tables.items()},
    )


def _headers(
    tables: list[RawTable], emap: ExportMapping, registry: Registry, notices: list[str]
) -> dict[str, dict[str, int]]:
    """Read headers, assign columns, and refuse identifier-like column names."""
    assigned: dict[str, dict[str, int]] = {}
    problems: list[Problem] = []
    kept: list[tuple[str, str]] = []
    has = {t.table for t in tables}
    for t in tables:
        read_header(t)
        cols, ignored, probs = assign_columns(t, emap, registry)
        problems += probs
        assigned[t.table] = cols
        kept += [(t.file, t.header[i]) for i in cols.values()] + [(t.file, c) for c in ignored]
        unused = [c for c in cols if t.table == "sessions" and (
            (c in EPISODE_EXTRA and "episodes" in has)
            or (c in THERAPIST_EXTRA and "therapists" in has))]
        if ignored or unused:
            names = ", ".join([*ignored, *(t.header[cols[c]] for c in unused)])
            notices.append(f"{t.file}: ignored columns (not part of the data contract, or "
                           f"given in another table; checked for identifiers, then dropped and "
                           f"never loaded): {names}")
    identifiers.check_names(kept)
    if problems:
        raise ExportError(problems)
    notices += _unmatched(tables, emap)
    return assigned


def _unmatched(tables: list[RawTable], emap: ExportMapping) -> list[str]:
    """A notice for mapping entries that match no column of the export (a typo in the
    mapping silently renames nothing, and a misspelt [drop] keeps the column)."""
    if not emap.source:
        return []
    headers = {norm_name(h) for t in tables for h in t.header}
    out = []
    for section, keys in (("columns", emap.columns), ("drop", emap.drop)):
        missing = sorted(k for k in keys if k not in headers)
        if missing:
            out.append(f"{emap.source}: [{section}] entries that match no column of the export "
                       f"(names compared ignoring case and spaces): {', '.join(missing)}")
    return out


def _extra_sheets(
    db: duckdb.DuckDBPyConnection, sheets: list[RawTable], prefix: str
) -> list[str]:
    """Scan the workbook sheets that hold no table for identifiers; a notice names them."""
    problems: list[Problem] = []
    shown: dict[str, list[str]] = {}
    for i, t in enumerate(sheets):
        name = f"{prefix}_extra{i}"
        header = xlsx.read_whole(db, t.path, t.file, t.sheet or "", name)
        t.relation = name
        identifiers.check_names([(t.file, h) for h in header])
        cols = [(f"c{j}", h, False) for j, h in enumerate(header)]
        problems += identifiers.check_values(db, name, t.file, cols)
        shown.setdefault(t.file.rsplit("[", 1)[0], []).append(t.sheet or "")
    if problems:
        raise IdentifierError(problems)
    return [f"{book}: ignored sheets that hold no export table (checked for identifiers "
            f"only): {', '.join(names)}" for book, names in shown.items()]


def _value_guard(
    db: duckdb.DuckDBPyConnection, tables: list[RawTable], assigned: dict[str, dict[str, int]],
    drop: frozenset[str],
) -> None:
    """Scan free-text columns for identifier-shaped values.

    Number, date, category and tag columns are not scanned: every value there must parse
    or be one of a fixed list, and a value that does not is reported without echoing it
    (only short letter-only values and numbers below 100,000 are echoed).
    """
    problems: list[Problem] = []
    for t in tables:
        ids = {i for c, i in assigned[t.table].items() if c in identifiers.ID_COLUMNS}
        strict = {i for c, i in assigned[t.table].items() if c not in _FREE_TEXT}
        strict |= {i for i, h in enumerate(t.header) if norm_name(h) in drop}
        cols = [(t.text(i), h or f"(unnamed column {i + 1})", i in ids) for i, h in
                enumerate(t.header) if i not in strict and i < len(t.header)]
        problems += identifiers.check_values(db, t.relation, t.file, cols)
    if problems:
        raise IdentifierError(problems)


#: Above this many columns to drop, one copy of the kept columns beats one ALTER per column
#: (DuckDB: ~3 ms per ALTER on a wide table; a copy of a few text columns of 1M rows ~0.3 s).
_ALTER_MAX = 32


def _drop_outside(
    db: duckdb.DuckDBPyConnection, tables: list[RawTable], assigned: dict[str, dict[str, int]]
) -> None:
    """Drop every column outside the data contract from the raw tables, right after the
    identifier guard and before any rule: whatever it holds never reaches a staged or
    canonical table, a message or an output (issue 23 item 6)."""
    for t in tables:
        keep = {f"c{i}" for i in assigned[t.table].values()}
        base = f"{t.relation}_src" if t.kind == "csv" else t.relation
        cols = [c for (c,) in db.execute(
            "SELECT column_name FROM duckdb_columns() WHERE table_name = ? ORDER BY column_index",
            [base]).fetchall()]
        extra = [c for c in cols if c[:1] == "c" and c[1:].isdigit() and c not in keep]
        if not extra:
            continue
        kept = [c for c in cols if c not in set(extra)]
        if kept and len(extra) <= _ALTER_MAX:
            for c in extra:
                db.execute(f"ALTER TABLE {base} DROP COLUMN {c}")
        else:  # a table keeps at least one column: an empty one keeps the row count
            keep_sql = ", ".join(kept) or "CAST(NULL AS VARCHAR) AS _dropped"
            db.execute(f"CREATE OR REPLACE TABLE {base} AS SELECT {keep_sql} FROM {base}")


def _drop_work_tables(db: duckdb.DuckDBPyConnection, prefix: str, keep: set[str]) -> None:
    """Free the raw, staged and lookup tables and views of this load (canonical ones stay)."""
    views = db.execute("SELECT view_name FROM duckdb_views() WHERE NOT internal AND "
                       "starts_with(view_name, ?)", [prefix]).fetchall()
    for (name,) in views:
        db.execute(f"DROP VIEW IF EXISTS {name}")
    rows = db.execute("SELECT table_name, temporary FROM duckdb_tables() WHERE starts_with("
                      "table_name, ?)", [prefix]).fetchall()
    for name, _temporary in rows:
        if name not in keep:
            db.execute(f"DROP TABLE IF EXISTS {name}")


def _check(
    db: duckdb.DuckDBPyConnection, staged: dict[str, Staged], registry: Registry,
    date_format: str | None, drop: frozenset[str] = frozenset(),
) -> None:
    problems: list[Problem] = []
    s = staged.get("sessions")
    if s is None:
        problems.append(Problem("export", None, None, "the export has no sessions table "
                                "(a file or sheet named sessions, or mapped in [tables])"))
    elif (db.execute(f"SELECT count(*) FROM {s.relation}").fetchone() or (0,))[0] == 0:
        problems.append(Problem(s.file, None, None, "the export has no sessions (no data rows)"))
    if s is not None:
        problems += validate(Context(db, staged, registry, date_format, drop))
    if problems:
        raise ExportError(problems)


def _col(st: Staged | None, col: str, typ: str, default: str | None = None) -> str:
    if st is None or not st.has(col):
        value = "NULL" if default is None else f"'{default}'"
        return f"CAST({value} AS {typ}) AS {col}"
    v = f"{col}__v" if typ in ("DATE", "DOUBLE") else col
    return f"coalesce({v}, '{default}') AS {col}" if default else f"{v} AS {col}"


def _build(
    db: duckdb.DuckDBPyConnection, staged: dict[str, Staged], registry: Registry, prefix: str
) -> dict[str, str]:
    """Create the canonical tables; return canonical name -> relation."""
    s = staged["sessions"]
    cols = ["CAST(_row AS BIGINT) AS source_row", "client_id", "therapist_id",
            f"{episode_key(s)} AS episode_id"]
    for col, typ in schema.sessions_schema(registry).items():
        if col not in ("source_row", "client_id", "therapist_id", "episode_id"):
            cols.append(_col(s, col, typ, schema.DEFAULTS.get(col)))
    names = {t: f"{prefix}_{t}_final" for t in schema.TABLES}
    db.execute(f"CREATE TABLE {names['sessions']} AS SELECT {', '.join(cols)} "
               f"FROM {s.relation} ORDER BY _row")
    db.execute(f"CREATE TABLE {names['episodes']} AS {_episodes_sql(staged)}")
    db.execute(f"CREATE TABLE {names['therapists']} AS {_therapists_sql(staged, names)}")
    return names


def _first(col: str, st: Staged, default: str | None = None) -> str:
    if not st.has(col):
        return f"CAST({repr(default) if default else 'NULL'} AS VARCHAR) AS {col}"
    v = f"{col}__v" if col.endswith("_date") else col
    first = f"arg_min({v}, _row) FILTER (WHERE {v} IS NOT NULL)"
    return f"coalesce({first}, '{default}') AS {col}" if default else f"{first} AS {col}"


def _episodes_sql(staged: dict[str, Staged]) -> str:
    e = staged.get("episodes")
    if e is not None:
        cols = [_col(e, c, t, schema.DEFAULTS.get(c)) for c, t in schema.EPISODES.items()]
        return f"SELECT {', '.join(cols)} FROM {e.relation} ORDER BY episode_id"
    s = staged["sessions"]
    start = "min(session_date__v)"
    if s.has("start_date"):
        start = f"coalesce(arg_min(start_date__v, _row) FILTER (WHERE start_date__v IS NOT NULL)" \
                f", {start})"
    cols = [
        "episode_id", "arg_min(client_id, _row) AS client_id",
        "arg_min(therapist_id, _row) AS therapist_id", f"{start} AS start_date",
        _first("end_date", s).replace(" AS end_date", "::DATE AS end_date"),
        _first("client_neurotype", s, "unknown"), _first("termination", s, "ongoing"),
    ]
    return (f"SELECT {', '.join(cols)} FROM (SELECT *, {episode_key(s)} AS episode_id "
            f"FROM {s.relation}) GROUP BY episode_id ORDER BY episode_id")


def _therapists_sql(staged: dict[str, Staged], names: dict[str, str]) -> str:
    t = staged.get("therapists")
    if t is not None:
        cols = [_col(t, c, ty, schema.DEFAULTS.get(c)) for c, ty in schema.THERAPISTS.items()]
        return f"SELECT {', '.join(cols)} FROM {t.relation} ORDER BY therapist_id"
    s = staged["sessions"]
    ids = (f"SELECT therapist_id FROM {names['episodes']} UNION "
           f"SELECT therapist_id FROM {s.relation}")
    info = (f"SELECT therapist_id, {_first('therapist_neurotype', s, 'unknown')}, "
            f"{_first('team', s)} FROM {s.relation} GROUP BY therapist_id")
    return (f"SELECT i.therapist_id, coalesce(x.therapist_neurotype, 'unknown') AS "
            f"therapist_neurotype, x.team FROM ({ids}) i LEFT JOIN ({info}) x USING "
            f"(therapist_id) ORDER BY i.therapist_id")


__all__ = ["load_export"]
