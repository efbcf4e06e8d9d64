"""The record of one export table as found on disk (below every reader of a file format)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

#: Parquet types read as they are (every other column is read as its text): numbers a
#: number column takes without a text round trip (not FLOAT, whose text is its shortest
#: decimal, nor DECIMAL), and dates and timestamps.
NUMBER_TYPES = frozenset({"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "UTINYINT", "USMALLINT",
                          "UINTEGER", "UBIGINT", "DOUBLE"})
DATE_TYPES = frozenset({"DATE", "TIMESTAMP", "TIMESTAMP_S", "TIMESTAMP_MS", "TIMESTAMP_NS"})


@dataclass
class RawTable:
    """One export table as found on disk, and (after :func:`read_raw`) in DuckDB.

    CSV and workbook columns are read as text (``VARCHAR``); a Parquet column keeps the
    type it was written with when that is a number, a date or a timestamp (``types``), and
    :meth:`text` gives the text a CSV of the same table would have held.
    """

    table: str
    file: str
    path: Path
    kind: str
    sheet: str | None = None
    header: list[str] = field(default_factory=list)
    delimiter: str = ","
    relation: str = ""
    cr_only: bool = False
    #: DuckDB type of each raw column ``c0``…; empty when every column is text.
    types: list[str] = field(default_factory=list)

    @property
    def decimal_comma(self) -> bool:
        """``;``-delimited CSVs may write 3.5 as ``3,5`` (European locale)."""
        return self.kind == "csv" and self.delimiter == ";"

    def type_of(self, i: int) -> str:
        """The DuckDB type of raw column ``c{i}`` (``VARCHAR`` for text)."""
        return self.types[i] if i < len(self.types) else "VARCHAR"

    def text(self, i: int, alias: str = "") -> str:
        """SQL: raw column ``c{i}`` (of table ``alias``, if given) as text."""
        col = f"{alias}.c{i}" if alias else f"c{i}"
        return col if self.type_of(i) == "VARCHAR" else f"CAST({col} AS VARCHAR)"


__all__ = ["DATE_TYPES", "NUMBER_TYPES", "RawTable"]
