"""Reading one CSV file into DuckDB, with our own words for everything that can go wrong.

* **Encoding**: UTF-8 (with or without BOM) as it is; Windows-1252 transcoded into the
  private temporary folder (a notice).  UTF-16 and UTF-32 (Excel's "Unicode Text", found
  by their byte-order mark or by the NUL byte every other byte) and files holding NUL
  bytes are refused with a message saying how to save the file.
* **Line ends**: ``\\n`` and ``\\r\\n`` as they are; a file whose lines end in ``\\r`` alone
  (classic Mac OS) is rewritten with ``\\n`` into the temporary folder (a notice): DuckDB's
  reader does not split such a file reliably (a ragged row in one read as no rows at all).
* **Malformed rows**: when DuckDB refuses the file, the file is read again with Python's
  ``csv`` module (only then, so the 2 GB path is untouched) to find the *first* bad row and
  its cause: a row with more or fewer fields than the header, a quoted value never closed,
  or text after a closing quote.  The message names the file, the row and the cause, in our
  own words: no text of DuckDB's error (which quotes the offending line) and no text of the
  file ever reaches it.
* **Blank lines**: DuckDB skips them, which shifted every later row number.  A byte scan
  finds whether the file has any; only then a ``csv`` pass records where they are, and the
  ``_row`` of every later row is moved on by the blank lines before it (an ASOF join in
  DuckDB), so that row numbers are those of the file as a spreadsheet shows it (data row
  *n* is spreadsheet row *n* + 1, blank rows counted).
"""

from __future__ import annotations

import codecs
import csv
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb

from supervision.errors import ExportError, Problem

if TYPE_CHECKING:
    from supervision.io.raw import RawTable

HEAD = 1 << 16
CHUNK = 1 << 20
_BOMS = (
    (codecs.BOM_UTF32_LE, "UTF-32"), (codecs.BOM_UTF32_BE, "UTF-32"),
    (codecs.BOM_UTF16_LE, "UTF-16"), (codecs.BOM_UTF16_BE, "UTF-16"),
)
SAVE_AS = "save it as \"CSV UTF-8\" (in Excel: File → Save As → CSV UTF-8 (Comma delimited))"


def check_bytes(file: str, head: bytes) -> bool:
    """Refuse UTF-16/32 and binary files; return whether lines end in CR only."""
    for bom, name in _BOMS:
        if head.startswith(bom):
            raise ExportError([Problem(file, None, None, f"the file is {name} text; {SAVE_AS}")])
    if b"\x00" in head:
        even, odd = head[0::2].count(0), head[1::2].count(0)
        if max(even, odd) > 0.3 * (len(head) // 2):
            msg = f"the file looks like UTF-16 text (no byte-order mark); {SAVE_AS}"
        else:
            msg = "the file holds NUL bytes, so it is not a CSV text file (a binary file?)"
        raise ExportError([Problem(file, None, None, msg)])
    return b"\r" in head and b"\n" not in head


def cr_to_lf(src: Path, dst: Path) -> None:
    """Copy ``src`` to ``dst`` with every lone ``\\r`` line end written as ``\\n``."""
    with src.open("rb") as fin, dst.open("wb") as fout:
        carry = b""
        for chunk in iter(lambda: fin.read(CHUNK), b""):
            data = carry + chunk
            carry = b"\r" if data.endswith(b"\r") else b""
            data = data[:-1] if carry else data
            fout.write(data.replace(b"\r\n", b"\n").replace(b"\r", b"\n"))
        fout.write(carry.replace(b"\r", b"\n"))


def to_utf8(src: Path, dst: Path) -> None:
    """Transcode a Windows-1252 file to UTF-8 (the five undefined bytes become U+FFFD, so
    the row count stays right)."""
    with src.open("rb") as fin, dst.open("w", encoding="utf-8", newline="") as fout:
        reader = codecs.getreader("cp1252")(fin, errors="replace")
        for chunk in iter(lambda: reader.read(CHUNK), ""):
            fout.write(chunk)


def is_unicode_error(exc: duckdb.Error) -> bool:
    """DuckDB's error for bytes that are not UTF-8 (read only to choose what to do)."""
    text = str(exc).lower()
    return "unicode" in text or "utf-8" in text


def create_table(con: duckdb.DuckDBPyConnection, path: Path, t: RawTable, name: str) -> None:
    """``name`` as a view of ``_row`` and ``c0``… over the CSV at ``path`` (all text)."""
    names = [f"c{i}" for i in range(len(t.header))]
    con.execute(f"DROP VIEW IF EXISTS {name}")
    con.execute(f"DROP TABLE IF EXISTS {name}_src")
    con.execute(
        f"CREATE TABLE {name}_src AS SELECT * FROM read_csv(?, delim = ?, header = true, skip = 0, "
        "all_varchar = true, quote = '\"', escape = '\"', names = ?, auto_detect = true, "
        "strict_mode = true)",
        [str(path), t.delimiter, names],
    )
    # skip = 0: else the sniffer may take a ragged row for the header and skip what is above.
    # A view, not a copy: a second copy of a 2 GB table would double the time and the
    # scratch space.  rowid is the insertion order, which DuckDB keeps for a CSV scan.
    shifts = blank_shifts(path, t.delimiter) if has_blank_line(path) else []
    if not shifts:
        con.execute(f"CREATE VIEW {name} AS SELECT rowid + 1 AS _row, * FROM {name}_src")
        return
    con.execute(f"CREATE OR REPLACE TABLE {name}_blank (q BIGINT, n BIGINT)")
    con.executemany(f"INSERT INTO {name}_blank VALUES (?, ?)", shifts)
    con.execute(
        f"CREATE VIEW {name} AS SELECT s.r + coalesce(b.n, 0) AS _row, s.* EXCLUDE (r) "
        f"FROM (SELECT rowid + 1 AS r, * FROM {name}_src) s "
        f"ASOF LEFT JOIN {name}_blank b ON s.r > b.q"
    )


def has_blank_line(path: Path) -> bool:
    """Whether the file has an empty line after its header (a fast byte scan)."""
    with path.open("rb") as fh:
        tail = b""
        for chunk in iter(lambda: fh.read(CHUNK), b""):
            data = tail + chunk
            if b"\n\n" in data or b"\n\r\n" in data:
                return True
            tail = data[-2:]
    return False


def _records(path: Path, delimiter: str) -> Iterator[list[str]]:
    csv.field_size_limit(sys.maxsize)
    with path.open(encoding="utf-8-sig", errors="replace", newline="") as fh:
        reader = csv.reader(fh, delimiter=delimiter, quotechar='"', doublequote=True,
                            strict=True)
        next(reader, None)  # the header
        yield from reader


def blank_shifts(path: Path, delimiter: str) -> list[tuple[int, int]]:
    """``(q, n)``: after ``q`` data rows, ``n`` blank lines in all so far (one pair per
    distinct ``q``); a blank line inside a quoted value is not a blank row."""
    out: dict[int, int] = {}
    rows = blanks = 0
    try:
        for rec in _records(path, delimiter):
            if rec:
                rows += 1
            else:
                blanks += 1
                out[rows] = blanks
    except csv.Error:
        pass  # DuckDB read the file; the rows up to here are numbered right
    return [(q, n) for q, n in out.items() if n]


def diagnose(path: Path, t: RawTable, exc: duckdb.Error) -> Problem:
    """The first bad row of a CSV DuckDB refused, and why, in our own words."""
    n = len(t.header)
    row = 0
    try:
        for rec in _records(path, t.delimiter):
            row += 1
            if rec and len(rec) != n:
                return Problem(t.file, row, None, (
                    f"this row has {len(rec)} fields but the header has {n} (a missing or "
                    f"extra {t.delimiter!r}, or a {t.delimiter!r} inside a value that is not "
                    "in double quotes); nothing was read"))
    except csv.Error as err:
        if "end of data" in str(err):  # only chooses the message; its text is not shown
            return Problem(t.file, row + 1, None, (
                "a value in double quotes starts in this row and is never closed (an "
                "unmatched \"); nothing was read"))
        return Problem(t.file, row + 1, None, (
            "text follows a closing double quote (a \" inside a quoted value must be "
            "written twice, \"\"); nothing was read"))
    line = re.search(r"on Line: (\d+)", str(exc))  # digits only
    near = f" near line {line.group(1)} of the file" if line else ""
    return Problem(t.file, None, None, (
        f"could not be read as CSV{near} ({type(exc).__name__.removesuffix('Exception')} "
        "error in the CSV reader; check the quoting and that every row has the header's "
        "fields); nothing was read"))


__all__ = [
    "check_bytes", "cr_to_lf", "create_table", "diagnose", "has_blank_line",
    "is_unicode_error", "to_utf8",
]
