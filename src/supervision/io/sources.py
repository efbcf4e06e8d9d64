"""Finding an export's tables and reading them into DuckDB as text (domain.md §2).

Every table is read as **all text** (``VARCHAR``) with a ``_row`` column (the data row in
its file, counted from 1 after the header) and columns named ``c0, c1, …`` in file order;
the header names are kept in Python (:attr:`RawTable.header`).  Typing happens later, in
SQL, so that a bad cell is a reported problem and never a crash.

Accepted: a ``.csv`` or ``.parquet`` file (a flat ``sessions`` table), an ``.xlsx``
workbook (one sheet per table, sheet named as the table), or a folder / ``.zip`` holding
``sessions``, ``episodes`` and ``therapists`` files (matched by file stem, case-insensitive,
or through the mapping's ``[tables]``).  The user's files are only ever opened for reading;
a zip is unpacked, and a Windows-1252 CSV transcoded, into a private temporary folder.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import hashlib
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from supervision import schema
from supervision.errors import ExportError, Problem
from supervision.io.mapping import ExportMapping, norm_name

SUFFIXES = (".csv", ".xlsx", ".parquet")


@dataclass
class RawTable:
    """One export table as found on disk, and (after :func:`read_raw`) in DuckDB."""

    table: str
    file: str
    path: Path
    kind: str
    sheet: str | None = None
    header: list[str] = field(default_factory=list)
    delimiter: str = ","
    relation: str = ""

    @property
    def decimal_comma(self) -> bool:
        """``;``-delimited CSVs may write 3.5 as ``3,5`` (European locale)."""
        return self.kind == "csv" and self.delimiter == ";"


@dataclass
class Found:
    """The tables of an export, the user's files (for the checksum) and notices."""

    tables: list[RawTable]
    files: list[Path]
    notices: list[str] = field(default_factory=list)


# ---------------------------------------------------------------------- discovery
def discover(path: Path, mapping: ExportMapping, tmp: Path) -> Found:
    """Locate the tables of the export at ``path``; a zip is unpacked into ``tmp``."""
    if not path.exists():
        raise ExportError([Problem(path.name, None, None, "no such file or folder")])
    suffix = path.suffix.lower()
    if path.is_dir():
        return _from_folder(path, path, mapping, [])
    if suffix == ".zip":
        unpacked = tmp / "zip"
        try:
            with zipfile.ZipFile(path) as zf:
                zf.extractall(unpacked)
        except zipfile.BadZipFile:
            problem = Problem(path.name, None, None, "not a readable .zip file")
            raise ExportError([problem]) from None
        return _from_folder(unpacked, path, mapping, [path])
    if suffix == ".xlsx":
        return Found(_sheets(path, path.name, mapping, None), [path])
    if suffix in (".csv", ".parquet"):
        return Found([RawTable("sessions", path.name, path, suffix[1:])], [path])
    raise ExportError([Problem(
        path.name, None, None,
        "unsupported file type; give a folder, a .zip, an .xlsx, a .csv or a .parquet file",
    )])


def _from_folder(root: Path, shown: Path, mapping: ExportMapping, files: list[Path]) -> Found:
    tables: list[RawTable] = []
    ignored: list[str] = []
    own_files = not files
    for f in sorted(p for p in root.rglob("*") if p.is_file()):
        rel = f.relative_to(root).as_posix()
        if any(part.startswith((".", "__MACOSX")) for part in f.relative_to(root).parts):
            continue
        stem = norm_name(f.stem)
        table = mapping.tables.get(stem) or (stem if stem in schema.TABLES else None)
        if f.suffix.lower() not in SUFFIXES:
            ignored.append(rel)
        elif f.suffix.lower() == ".xlsx":
            found = _sheets(f, rel, mapping, table)
            tables += found
            if not found:
                ignored.append(rel)
        elif table is not None:
            tables.append(RawTable(table, rel, f, f.suffix.lower()[1:]))
        else:
            ignored.append(rel)
        if own_files and f.suffix.lower() in SUFFIXES and rel not in ignored:
            files.append(f)
    _no_twins(tables, shown.name)
    notices = [f"ignored files that are not an export table: {', '.join(ignored)}"]
    return Found(tables, files, notices if ignored else [])


def _sheets(
    path: Path, shown: str, mapping: ExportMapping, file_table: str | None
) -> list[RawTable]:
    import openpyxl

    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception:  # openpyxl raises many types for a damaged workbook
        raise ExportError([Problem(shown, None, None, "not a readable .xlsx workbook")]) from None
    names = list(wb.sheetnames)
    wb.close()
    out: list[RawTable] = []
    for sheet in names:
        key = norm_name(sheet)
        table = mapping.tables.get(key) or (key if key in schema.TABLES else None)
        if file_table is not None and table not in (None, file_table):
            continue
        if file_table is not None:
            table = file_table
        if table is not None:
            out.append(RawTable(table, f"{shown}[{sheet}]", path, "xlsx", sheet))
    if file_table is not None and not out and names:
        out.append(RawTable(file_table, f"{shown}[{names[0]}]", path, "xlsx", names[0]))
    if file_table is None and not out and len(names) == 1:
        out.append(RawTable("sessions", f"{shown}[{names[0]}]", path, "xlsx", names[0]))
    _no_twins(out, shown)
    return out[:1] if file_table is not None else out


def _no_twins(tables: list[RawTable], shown: str) -> None:
    seen: dict[str, RawTable] = {}
    problems = []
    for t in tables:
        if t.table in seen:
            problems.append(Problem(
                t.file, None, None, f"holds the {t.table} table, as does {seen[t.table].file}; "
                "keep one",
            ))
        seen.setdefault(t.table, t)
    if problems:
        raise ExportError(problems)


def checksum(files: list[Path]) -> str:
    """SHA-256 over the bytes of ``files`` in sorted name order."""
    h = hashlib.sha256()
    for f in sorted(files, key=lambda p: p.as_posix()):
        with f.open("rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                h.update(chunk)
    return h.hexdigest()


# ---------------------------------------------------------------------- headers
def read_header(t: RawTable) -> None:
    """Fill ``t.header`` (and ``t.delimiter`` for a CSV) without reading the data."""
    if t.kind == "csv":
        with t.path.open("rb") as fh:
            head = fh.read(1 << 16)
        text = _decode(head).lstrip("\ufeff")
        first = text.splitlines()[0] if text.strip() else ""
        if not first.strip():
            raise ExportError([Problem(t.file, None, None, "the file is empty (no header line)")])
        t.delimiter = ";" if first.count(";") > first.count(",") else ","
        t.header = [h.strip() for h in next(csv.reader([first], delimiter=t.delimiter))]
    elif t.kind == "parquet":
        import pyarrow.parquet as pq

        try:
            t.header = [str(n).strip() for n in pq.read_schema(t.path).names]
        except Exception:  # pyarrow raises ArrowInvalid/OSError for a damaged file
            problem = Problem(t.file, None, None, "not a readable Parquet file")
            raise ExportError([problem]) from None
    else:
        rows = _xlsx_rows(t, limit=1)
        t.header = [("" if v is None else str(v)).strip() for v in (rows[0] if rows else [])]
        while t.header and not t.header[-1]:
            t.header.pop()


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start > len(data) - 4:  # a multi-byte character cut by the read limit
            return data[: exc.start].decode("utf-8")
        return data.decode("cp1252", errors="replace")


# ---------------------------------------------------------------------- data
def read_raw(con: duckdb.DuckDBPyConnection, t: RawTable, name: str, tmp: Path) -> list[str]:
    """Create DuckDB table ``name`` (``_row``, ``c0``…) from ``t``; return notices."""
    t.relation = name
    if t.kind == "csv":
        return _read_csv(con, t, name, tmp)
    if t.kind == "parquet":
        cols = ", ".join(
            f'CAST("{c}" AS VARCHAR) AS c{i}'
            for i, c in enumerate(_parquet_names(con, t.path))
        )
        con.execute(
            f"CREATE TABLE {name} AS SELECT file_row_number + 1 AS _row, {cols} "
            "FROM read_parquet(?, file_row_number = true)", [str(t.path)],
        )
        return []
    _read_xlsx(con, t, name)
    return []


def _parquet_names(con: duckdb.DuckDBPyConnection, path: Path) -> list[str]:
    rows = con.execute("DESCRIBE SELECT * FROM read_parquet(?)", [str(path)]).fetchall()
    return [r[0].replace('"', '""') for r in rows]


def _read_csv(con: duckdb.DuckDBPyConnection, t: RawTable, name: str, tmp: Path) -> list[str]:
    try:
        _csv_table(con, t.path, t, name)
        return []
    except duckdb.InvalidInputException as exc:
        if "unicode" not in str(exc).lower() and "utf-8" not in str(exc).lower():
            raise ExportError([_csv_problem(t, exc)]) from None
    utf8 = tmp / f"{name}.csv"
    # cp1252 leaves five bytes undefined; "replace" keeps the row count right regardless.
    with t.path.open("rb") as src, utf8.open("w", encoding="utf-8", newline="") as dst:
        reader = codecs.getreader("cp1252")(src, errors="replace")
        for chunk in iter(lambda: reader.read(1 << 20), ""):
            dst.write(chunk)
    try:
        _csv_table(con, utf8, t, name)
    except duckdb.InvalidInputException as exc:
        raise ExportError([_csv_problem(t, exc)]) from None
    return [f"{t.file} was not UTF-8; read as Windows-1252"]


def _csv_table(con: duckdb.DuckDBPyConnection, path: Path, t: RawTable, name: str) -> None:
    names = [f"c{i}" for i in range(len(t.header))]
    con.execute(f"DROP TABLE IF EXISTS {name}_src")
    con.execute(
        f"CREATE TABLE {name}_src AS SELECT * FROM read_csv(?, delim = ?, header = true, "
        "all_varchar = true, quote = '\"', escape = '\"', names = ?, auto_detect = true, "
        "strict_mode = true)",
        [str(path), t.delimiter, names],
    )
    # A view, not a copy: a second copy of a 2 GB table would double the time and the
    # scratch space.  rowid is the insertion order, which DuckDB keeps for a CSV scan.
    con.execute(f"CREATE VIEW {name} AS SELECT rowid + 1 AS _row, * FROM {name}_src")


def _csv_problem(t: RawTable, exc: Exception) -> Problem:
    """DuckDB's CSV errors quote the offending line: keep only what is safe to show."""
    msg = str(exc)
    line = re.search(r"on Line: (\d+)", msg)
    what = ""
    lines = msg.splitlines()
    for i, ln in enumerate(lines):
        if ln.startswith("Original Line") and i + 2 < len(lines):
            what = lines[i + 2].strip()
            break
    what = re.sub(r"['\"].*?['\"]", "…", what) or "malformed CSV"
    row = int(line.group(1)) - 1 if line else None
    return Problem(t.file, row if row and row > 0 else None, None, f"could not be read: {what}")


def _xlsx_rows(t: RawTable, limit: int | None = None) -> list[tuple[Any, ...]]:
    import openpyxl

    wb = openpyxl.load_workbook(t.path, read_only=True, data_only=True)
    try:
        ws = wb[t.sheet] if t.sheet else wb.worksheets[0]
        return list(ws.iter_rows(values_only=True, max_row=limit))
    finally:
        wb.close()


def _cell(v: Any) -> str | None:
    if v is None:
        return None
    if isinstance(v, dt.datetime):
        return v.date().isoformat() if v.time() == dt.time() else v.isoformat(sep=" ")
    if isinstance(v, dt.date):
        return v.isoformat()
    if isinstance(v, bool):
        return str(v).lower()
    if isinstance(v, float):
        return str(int(v)) if v.is_integer() and abs(v) < 1e15 else repr(v)
    return str(v)


def _read_xlsx(con: duckdb.DuckDBPyConnection, t: RawTable, name: str) -> None:
    rows = _xlsx_rows(t)[1:]
    n = len(t.header)
    data = [
        (i, *(_cell(v) for v in (tuple(r) + (None,) * n)[:n]))
        for i, r in enumerate(rows, start=1)
        if any(v is not None and str(v).strip() for v in r)
    ]
    frame = pd.DataFrame(data, columns=["_row", *(f"c{i}" for i in range(n))], dtype=object)
    frame["_row"] = frame["_row"].astype("int64")
    con.register(f"{name}_df", frame)
    casts = ", ".join(f"CAST(c{i} AS VARCHAR) AS c{i}" for i in range(n))
    con.execute(f"CREATE TABLE {name} AS SELECT _row{', ' if n else ''}{casts} FROM {name}_df")
    con.unregister(f"{name}_df")


__all__ = ["Found", "RawTable", "checksum", "discover", "read_header", "read_raw"]
