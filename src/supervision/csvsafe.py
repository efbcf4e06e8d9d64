"""CSV cells that a spreadsheet will not run as formulas (CSV injection).

A cell whose text begins with ``=``, ``+``, ``-`` or ``@`` (or a tab or carriage return,
which some spreadsheets skip before looking for those) is read by Excel, LibreOffice and
Google Sheets as a formula: an id such as ``=HYPERLINK("http://…")`` in an export would
run when a supervisor opens the CSV the command wrote.  Following OWASP's "CSV Injection"
guidance, such a *text* cell is written with a leading single quote (``'=HYPERLINK…``),
which spreadsheets show as text and do not evaluate.  Numbers are never changed (``-0.5``
stays ``-0.5``): only ``str`` values are neutralised, and the callers write numbers as
numbers.

Every CSV the project writes for a person to open goes through :func:`safe_cell` (or
:func:`csv_writer`).  PostgreSQL's ``COPY`` stream in :mod:`supervision.warehouse` is not a
file a person opens, so it keeps the values exactly.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from typing import Any, Protocol

#: First characters that make a spreadsheet read a cell as a formula (OWASP).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


class _Writer(Protocol):
    def write(self, s: str, /) -> Any: ...


def safe_cell(value: Any) -> Any:
    """``value``, with a leading ``'`` if it is text a spreadsheet would run as a formula.

    >>> safe_cell("=1+1"), safe_cell("C01"), safe_cell(-0.5), safe_cell("")
    ("'=1+1", 'C01', -0.5, '')
    """
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


class SafeWriter:
    """A :func:`csv.writer` whose rows go through :func:`safe_cell` cell by cell."""

    def __init__(self, fh: _Writer, **kwargs: Any) -> None:
        self._w = csv.writer(fh, **kwargs)

    def writerow(self, row: Iterable[Any]) -> Any:
        return self._w.writerow([safe_cell(v) for v in row])

    def writerows(self, rows: Iterable[Iterable[Any]]) -> None:
        for row in rows:
            self.writerow(row)


def csv_writer(fh: _Writer, **kwargs: Any) -> SafeWriter:
    """:func:`csv.writer` (same keyword options) that neutralises formula-like text cells."""
    return SafeWriter(fh, **kwargs)


__all__ = ["FORMULA_STARTS", "SafeWriter", "csv_writer", "safe_cell"]
