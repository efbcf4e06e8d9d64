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

Refused with a message of our own (never a library's error text, which may quote the
file): a path that is not a regular file or folder (a named pipe would block for ever), a
path past the system's length limit, a zip that would unpack to more than
:data:`MAX_UNZIP_BYTES` or holds a member compressed more than :data:`MAX_ZIP_RATIO` times,
a damaged, encrypted or exotically compressed zip member, and a Parquet timestamp column in
a time zone DuckDB does not know.  Parquet timestamps with a zone are read as the wall-clock
time in that zone (their own date).  CSV details: :mod:`supervision.io.csvfile`; Excel:
:mod:`supervision.io.xlsx`.
"""

from __future__ import annotations

import csv
import errno
import hashlib
import re
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from supervision import schema
from supervision.errors import ExportError, Problem
from supervision.io import csvfile, xlsx
from supervision.io.mapping import ExportMapping, norm_name
from supervision.io.progress import human_bytes
from supervision.io.raw import DATE_TYPES, NUMBER_TYPES, RawTable
from supervision.settings import settings

SUFFIXES = (".csv", ".xlsx", ".parquet")
#: A zip may unpack to at most this many bytes (``SUPERVISION_MAX_UNZIP_MB`` changes it).
MAX_UNZIP_BYTES = 20 * 1000**3
#: No member may be compressed more than this many times (CSV exports compress ~5–20x).
MAX_ZIP_RATIO = 200
#: Members smaller than this are not held to the ratio (a tiny file can compress well).
RATIO_FLOOR = 50 * 1000**2


@dataclass
class Found:
    """The tables of an export, the user's files (for the checksum) and notices."""

    tables: list[RawTable]
    files: list[Path]
    notices: list[str] = field(default_factory=list)
    #: Sheets of the workbooks that hold no table (scanned for identifiers only).
    extra: list[RawTable] = field(default_factory=list)


# ---------------------------------------------------------------------- discovery
def discover(path: Path, mapping: ExportMapping, tmp: Path) -> Found:
    """Locate the tables of the export at ``path``; a zip is unpacked into ``tmp``."""
    try:
        return _discover(path, mapping, tmp)
    except OSError as exc:  # a path past the system's limit, a folder we may not read, …
        raise ExportError([Problem(path.name, None, None, _os_cause(exc))]) from None


def _os_cause(exc: OSError) -> str:
    """Our own words for an operating-system error while finding the files (no path text)."""
    if exc.errno == errno.ENAMETOOLONG:
        return ("a path inside is longer than this system allows (folders nested too deep, "
                "or a very long name); move the export's files into a shallower folder")
    if exc.errno in (errno.EACCES, errno.EPERM):
        return "a file or folder inside may not be read (permission denied)"
    if exc.errno == errno.ELOOP:
        return "a symbolic link inside points back into its own folder (a loop)"
    return f"could not be read ({type(exc).__name__}, error number {exc.errno})"


def _discover(path: Path, mapping: ExportMapping, tmp: Path) -> Found:
    if not path.exists():
        raise ExportError([Problem(path.name, None, None, "no such file or folder")])
    suffix = path.suffix.lower()
    if path.is_dir():
        return _from_folder(path, path, mapping, [])
    if not path.is_file():
        raise ExportError([Problem(path.name, None, None, (
            "is not a regular file (a named pipe, device or socket); give a file or a folder"))])
    if suffix == ".zip":
        unpacked = tmp / "zip"
        _unzip(path, unpacked)
        return _from_folder(unpacked, path, mapping, [path])
    if suffix == ".xlsx":
        extra: list[RawTable] = []
        return Found(_sheets(path, path.name, mapping, None, extra), [path], extra=extra)
    if suffix in (".csv", ".parquet"):
        return Found([RawTable("sessions", path.name, path, suffix[1:])], [path])
    raise ExportError([Problem(
        path.name, None, None,
        "unsupported file type; give a folder, a .zip, an .xlsx, a .csv or a .parquet file",
    )])


def _zip_limit() -> int:
    mb = settings().max_unzip_mb
    return MAX_UNZIP_BYTES if mb is None else mb * 1000**2


def _unzip(path: Path, dest: Path) -> None:
    """Unpack ``path`` into ``dest``, member by member, within the size and ratio limits."""
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, EOFError, ValueError):
        raise ExportError([Problem(path.name, None, None, "not a readable .zip file")]) from None
    with zf:
        members = [m for m in zf.infolist() if not m.is_dir()]
        _zip_sizes(path.name, members)
        for m in members:
            try:
                zf.extract(m, dest)
            except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
                what = "its data is damaged (checksum or compressed data wrong)"
                if isinstance(exc, EOFError):
                    what = "the archive ends in the middle of it (truncated)"
                raise ExportError([Problem(f"{path.name}[{m.filename}]", None, None, (
                    f"could not be unpacked: {what}; make the .zip again"))]) from None
            except NotImplementedError:
                raise ExportError([Problem(f"{path.name}[{m.filename}]", None, None, (
                    "could not be unpacked: it uses a compression method this program "
                    "cannot read; make the .zip again with ordinary (deflate) compression"
                ))]) from None
            except RuntimeError:  # zipfile's error for an encrypted member
                raise ExportError([Problem(f"{path.name}[{m.filename}]", None, None, (
                    "could not be unpacked: it is encrypted (password-protected); make the "
                    ".zip again without a password"))]) from None


def _zip_sizes(shown: str, members: list[zipfile.ZipInfo]) -> None:
    """Refuse a zip that would unpack to more than the limit, or a member compressed more
    than :data:`MAX_ZIP_RATIO` times (a "zip bomb").  zipfile never writes more than a
    member's declared size (a member that does not match fails its checksum)."""
    total, limit = sum(m.file_size for m in members), _zip_limit()
    if total > limit:
        raise ExportError([Problem(shown, None, None, (
            f"would unpack to {human_bytes(total)}, more than the limit of "
            f"{human_bytes(limit)}; unpack it yourself and give the folder (or set "
            "SUPERVISION_MAX_UNZIP_MB)"))])
    for m in members:
        if m.file_size > RATIO_FLOOR and m.file_size > MAX_ZIP_RATIO * max(m.compress_size, 1):
            raise ExportError([Problem(f"{shown}[{m.filename}]", None, None, (
                f"is compressed more than {MAX_ZIP_RATIO} to 1 ({human_bytes(m.file_size)} "
                "from a few bytes), as a zip bomb is; nothing was unpacked"))])


def _from_folder(root: Path, shown: Path, mapping: ExportMapping, files: list[Path]) -> Found:
    tables: list[RawTable] = []
    extra: list[RawTable] = []
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
            found = _sheets(f, rel, mapping, table, extra)
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
    return Found(tables, files, notices if ignored else [], extra)


def _sheets(
    path: Path, shown: str, mapping: ExportMapping, file_table: str | None,
    extra: list[RawTable],
) -> list[RawTable]:
    """The tables among the workbook's sheets; the other sheets are added to ``extra``."""
    wb = xlsx.open_workbook(path, shown)
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
    used = out[:1] if file_table is not None else out
    extra += [RawTable("", f"{shown}[{s}]", path, "xlsx", s) for s in names
              if s not in {t.sheet for t in used}]
    return used


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
            head = fh.read(csvfile.HEAD)
        t.cr_only = csvfile.check_bytes(t.file, head)
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
        rows = xlsx.rows(t.path, t.file, t.sheet, limit=1)
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
        _read_parquet(con, t, name)
        return []
    return xlsx.read_sheet(con, t, name)


def _read_parquet(con: duckdb.DuckDBPyConnection, t: RawTable, name: str) -> None:
    """Create ``name`` from a Parquet file: numbers, dates and timestamps as they are
    (:data:`~supervision.io.raw.NUMBER_TYPES`, ``DATE_TYPES``), every other column as text."""
    cols, t.types = [], []
    for i, (c, typ, zone) in enumerate(_parquet_columns(con, t)):
        kept = typ in NUMBER_TYPES or typ in DATE_TYPES or zone is not None
        cols.append(f"{_parquet_value(con, t, c, zone) if kept else _cast(c)} AS c{i}")
        t.types.append(("TIMESTAMP" if zone else typ) if kept else "VARCHAR")
    try:
        con.execute(
            f"CREATE TABLE {name} AS SELECT file_row_number + 1 AS _row, {', '.join(cols)} "
            "FROM read_parquet(?, file_row_number = true)", [str(t.path)],
        )
    except (duckdb.InvalidInputException, duckdb.IOException, duckdb.ConversionException):
        raise ExportError([Problem(t.file, None, None, (
            "not a readable Parquet file (its data pages could not be decoded)"))]) from None


def _cast(col: str) -> str:
    return f'CAST("{col}" AS VARCHAR)'


def _parquet_columns(
    con: duckdb.DuckDBPyConnection, t: RawTable
) -> list[tuple[str, str, str | None]]:
    """``(quoted name, DuckDB type, time zone or None)`` per column; the zone of a timestamp
    column comes from the file's schema (DuckDB reads only the instant)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        rows = con.execute("DESCRIBE SELECT * FROM read_parquet(?)", [str(t.path)]).fetchall()
        arrow = pq.read_schema(t.path)
    except Exception:  # pyarrow raises ArrowInvalid/OSError, DuckDB its own, for a damaged file
        raise ExportError([Problem(t.file, None, None, "not a readable Parquet file")]) from None
    zones: list[str | None] = [
        f.type.tz if pa.types.is_timestamp(f.type) and f.type.tz else None for f in arrow
    ]
    if len(zones) != len(rows):
        zones = [None] * len(rows)
    return [(r[0].replace('"', '""'), r[1], z) for r, z in zip(rows, zones, strict=True)]


def _parquet_value(
    con: duckdb.DuckDBPyConnection, t: RawTable, col: str, zone: str | None
) -> str:
    """SQL: column ``col`` as read; a timestamp with a time zone as the wall-clock time in
    *its own* zone (a session at 00:30 in Berlin is on its Berlin date, not the UTC one)."""
    if zone is None:
        return f'"{col}"'
    offset = re.fullmatch(r"([+-])([0-9]{2}):?([0-9]{2})", zone)
    if offset:
        sign = -1 if offset.group(1) == "-" else 1
        minutes = sign * (int(offset.group(2)) * 60 + int(offset.group(3)))
        return f"timezone('UTC', \"{col}\") + INTERVAL ({minutes}) MINUTE"
    try:
        con.execute("SELECT timezone(?, TIMESTAMPTZ '2000-01-01 00:00:00+00')", [zone])
    except duckdb.Error:
        shown = repr(zone) if re.fullmatch(r"[A-Za-z_/+\-0-9]{1,40}", zone) else "a zone"
        raise ExportError([Problem(t.file, None, col.replace('""', '"'), (
            f"timestamps carry the time zone {shown}, which this program does not know, so "
            "their dates cannot be read safely; write the dates as dates (or as timestamps "
            "in a named zone such as Europe/London)"))]) from None
    zone_sql = zone.replace("'", "''")
    return f"timezone('{zone_sql}', \"{col}\")"


def _read_csv(con: duckdb.DuckDBPyConnection, t: RawTable, name: str, tmp: Path) -> list[str]:
    notices: list[str] = []
    path = t.path
    if t.cr_only:
        path = tmp / f"{name}_lf.csv"
        csvfile.cr_to_lf(t.path, path)
        notices.append(f"{t.file}: lines end in a carriage return only (classic Mac OS); "
                       "read with those as line ends")
    try:
        csvfile.create_table(con, path, t, name)
        return notices
    except (duckdb.InvalidInputException, duckdb.ConversionException) as exc:
        if not csvfile.is_unicode_error(exc):
            raise ExportError([csvfile.diagnose(path, t, exc)]) from None
    utf8 = tmp / f"{name}.csv"
    csvfile.to_utf8(path, utf8)
    try:
        csvfile.create_table(con, utf8, t, name)
    except (duckdb.InvalidInputException, duckdb.ConversionException) as exc:
        raise ExportError([csvfile.diagnose(utf8, t, exc)]) from None
    return [*notices, f"{t.file} was not UTF-8; read as Windows-1252"]


__all__ = ["Found", "checksum", "discover", "read_header", "read_raw"]
