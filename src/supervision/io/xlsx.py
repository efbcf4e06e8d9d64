"""Reading ``.xlsx`` sheets into DuckDB as text, without silently losing a cell.

* A **formula cell without a saved value** (a workbook written by a program that does not
  calculate formulas: openpyxl, many report generators) would read as empty; it is an
  error naming the cell (``F4``), since the export would otherwise look valid with the
  values gone.  Formulas *with* a saved value are read as that value, as Excel shows it.
* **Cells right of the last named column** are not data of the contract: they are read as
  unnamed columns (so the identifier guard scans them) and a notice says so.
* **Sheets that hold no table** are read whole by :func:`read_whole`, so the identifier
  guard can scan them too, and a notice names them.
"""

from __future__ import annotations

import datetime as dt
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb
import pandas as pd

from supervision.errors import ExportError, Problem

if TYPE_CHECKING:
    from supervision.io.raw import RawTable

#: Formula cells listed one by one before "… and N more".
CAP = 50


def column_letter(i: int) -> str:
    """Excel's letter for the 0-based column ``i`` (0 → A, 26 → AA)."""
    out = ""
    i += 1
    while i:
        i, r = divmod(i - 1, 26)
        out = chr(65 + r) + out
    return out


def open_workbook(path: Path, shown: str, *, data_only: bool = True) -> Any:
    import openpyxl

    try:
        return openpyxl.load_workbook(path, read_only=True, data_only=data_only)
    except Exception:  # openpyxl raises many types for a damaged workbook
        raise ExportError([Problem(shown, None, None, "not a readable .xlsx workbook")]) from None


def rows(path: Path, shown: str, sheet: str | None, limit: int | None = None) -> list[tuple]:
    """The sheet's cell values (cached values for formulas), row by row."""
    wb = open_workbook(path, shown)
    try:
        ws = wb[sheet] if sheet else wb.worksheets[0]
        return [tuple(r) for r in ws.iter_rows(values_only=True, max_row=limit)]
    except ExportError:
        raise
    except Exception:  # a damaged sheet part
        raise ExportError([Problem(shown, None, None, "not a readable .xlsx sheet")]) from None
    finally:
        wb.close()


def _has_formulas(path: Path) -> bool:
    """Whether any worksheet part holds a ``<f>`` element (a quick scan of the XML)."""
    try:
        with zipfile.ZipFile(path) as zf:
            for name in zf.namelist():
                if name.startswith("xl/worksheets/") and name.endswith(".xml"):
                    with zf.open(name) as fh:
                        tail = b""
                        for chunk in iter(lambda fh=fh: fh.read(1 << 20), b""):
                            if b"<f>" in tail + chunk or b"<f " in tail + chunk:
                                return True
                            tail = chunk[-3:]
    except (zipfile.BadZipFile, OSError):
        return True  # let openpyxl say what is wrong
    return False


def formula_cells(path: Path, shown: str, sheet: str | None) -> list[tuple[int, int]]:
    """``(sheet row index from 0, column index from 0)`` of every formula cell."""
    if not _has_formulas(path):
        return []
    wb = open_workbook(path, shown, data_only=False)
    try:
        ws = wb[sheet] if sheet else wb.worksheets[0]
        return [
            (r, c) for r, row in enumerate(ws.iter_rows())
            for c, cell in enumerate(row) if getattr(cell, "data_type", None) == "f"
        ]
    finally:
        wb.close()


def cell(v: Any) -> str | None:
    """A cell value as the text a person would type."""
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


def _uncached(t: RawTable, values: list[tuple]) -> list[Problem]:
    """Formula cells whose saved value is missing, each named by its cell."""
    out: list[Problem] = []
    n = len(t.header)
    bad = [(r, c) for r, c in formula_cells(t.path, t.file, t.sheet)
           if r < len(values) and (c >= len(values[r]) or values[r][c] is None)]
    for r, c in bad[:CAP]:
        column = (t.header[c] or None) if c < n else None
        out.append(Problem(t.file, r if r else None, column, (
            f"cell {column_letter(c)}{r + 1} holds a formula with no saved value (the "
            "workbook was written by a program that does not calculate formulas), so its "
            "value is unknown; open and save the workbook in Excel or LibreOffice, or paste "
            "the values")))
    if len(bad) > CAP:
        out.append(Problem(t.file, None, None, f"… and {len(bad) - CAP} more formula cells "
                           "like these"))
    return out


def _register(con: duckdb.DuckDBPyConnection, name: str, data: list[tuple], n: int) -> None:
    frame = pd.DataFrame(data, columns=["_row", *(f"c{i}" for i in range(n))], dtype=object)
    frame["_row"] = frame["_row"].astype("int64")
    con.register(f"{name}_df", frame)
    casts = ", ".join(f"CAST(c{i} AS VARCHAR) AS c{i}" for i in range(n))
    con.execute(f"CREATE TABLE {name} AS SELECT _row{', ' if n else ''}{casts} FROM {name}_df")
    con.unregister(f"{name}_df")


def read_sheet(con: duckdb.DuckDBPyConnection, t: RawTable, name: str) -> list[str]:
    """Create ``name`` (``_row``, ``c0``…) from the sheet of ``t``; return notices.

    Cells right of the last named column become unnamed columns of ``t.header`` (so the
    identifier guard scans them); formula cells without a saved value are an error.
    """
    values = rows(t.path, t.file, t.sheet)
    problems = _uncached(t, values)
    if problems:
        raise ExportError(problems)
    body = values[1:]
    named = len(t.header)
    width = max((max((i for i, v in enumerate(r) if v is not None and str(v).strip()),
                     default=-1) + 1 for r in body), default=0)
    notices = []
    if width > named:
        t.header += [""] * (width - named)
        notices.append(f"{t.file}: cells right of the last named column (from column "
                       f"{column_letter(named)}) are not part of the data contract and were "
                       "ignored (checked for identifiers only)")
    n = len(t.header)
    data = [
        (i, *(cell(v) for v in (tuple(r) + (None,) * n)[:n]))
        for i, r in enumerate(body, start=1)
        if any(v is not None and str(v).strip() for v in r)
    ]
    _register(con, name, data, n)
    return notices


def read_whole(
    con: duckdb.DuckDBPyConnection, path: Path, shown: str, sheet: str, name: str
) -> list[str]:
    """Create ``name`` from every cell of a sheet that holds no table; return the names of
    its columns (the first row's values, else the column letter)."""
    values = rows(path, shown, sheet)
    width = max((len(r) for r in values), default=0)
    first = values[0] if values else ()
    header = [cell(first[i]) if i < len(first) and first[i] is not None else "" for i in
              range(width)]
    header = [h.strip() or f"(column {column_letter(i)})" for i, h in enumerate(header)]
    # The first row too, as row 0: a sheet of notes need not have a header.
    data = [(i, *(cell(v) for v in (tuple(r) + (None,) * width)[:width]))
            for i, r in enumerate(values)]
    _register(con, name, data, width)
    return header


__all__ = [
    "cell", "column_letter", "formula_cells", "open_workbook", "read_sheet", "read_whole", "rows",
]
