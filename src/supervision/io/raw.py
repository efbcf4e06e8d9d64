"""The record of one export table as found on disk (below every reader of a file format)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


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
    cr_only: bool = False

    @property
    def decimal_comma(self) -> bool:
        """``;``-delimited CSVs may write 3.5 as ``3,5`` (European locale)."""
        return self.kind == "csv" and self.delimiter == ";"


__all__ = ["RawTable"]
