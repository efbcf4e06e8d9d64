"""Typed errors and warnings of ``supervision``.

Every error a user can meet is a :class:`SupervisionError`; problems with an
export are :class:`ExportError`, which is also a :class:`ValueError` (as in
ibis and pandera) so that generic handlers still catch it.  An
:class:`ExportError` carries *every* problem found, each as a :class:`Problem`
that renders as ``file:row:column: what was expected``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


class SupervisionError(Exception):
    """Base class of every error ``supervision`` raises on purpose."""


@dataclass(frozen=True, order=True)
class Problem:
    """One problem in an export.

    Parameters
    ----------
    file
        File name as the user knows it (``sessions.csv``, ``export.xlsx[sessions]``).
    row
        Data row counted from 1 (the header is row 0); ``None`` for a whole-file problem.
    column
        Column name as it appears in the export; ``None`` for a whole-row problem.
    message
        What was expected.  Never echoes a value that may identify a person.
    """

    file: str
    row: int | None
    column: str | None
    message: str

    def __str__(self) -> str:
        parts = [self.file]
        if self.row is not None or self.column is not None:
            parts.append("" if self.row is None else str(self.row))
        if self.column is not None:
            parts.append(self.column)
        return ":".join(parts) + f": {self.message}"

    def spreadsheet_row(self) -> int | None:
        """The row a spreadsheet shows for :attr:`row` (the header is its row 1); ``None``
        for a whole-file problem or a Parquet file (no spreadsheet rows)."""
        if self.row is None or self.file.casefold().endswith(".parquet"):
            return None
        return self.row + 1

    def line(self) -> str:
        """``str(self)`` with the spreadsheet row a person looks for, when there is one."""
        shown = self.spreadsheet_row()
        return str(self) if shown is None else f"{self} [spreadsheet row {shown}]"


class ExportError(ValueError, SupervisionError):
    """An export that cannot be read as a caseload.  Holds every problem found."""

    def __init__(self, problems: Iterable[Problem] | str, *, max_shown: int = 200) -> None:
        if isinstance(problems, str):
            problems = [Problem("export", None, None, problems)]
        self.problems: list[Problem] = list(problems)
        self.max_shown = max_shown
        super().__init__(self.render())

    def render(self) -> str:
        n = len(self.problems)
        lines = [f"{n} problem{'s' if n != 1 else ''} found in the export:"]
        lines += [f"  {p.line()}" for p in self.problems[: self.max_shown]]
        if any(p.spreadsheet_row() is not None for p in self.problems[: self.max_shown]):
            lines.append("(file:row:column: row counts data rows from 1 after the header; "
                         "[spreadsheet row N] is the row a spreadsheet shows, header = row 1.)")
        if n > self.max_shown:
            lines.append(f"  … and {n - self.max_shown} more")
        return "\n".join(lines)


class IdentifierError(ExportError):
    """The export holds what looks like a direct identifier (domain.md §8)."""

    def render(self) -> str:
        return (
            super().render()
            + "\nNothing further was read, so the other checks (dates, numbers, duplicates, "
            "links between tables) have not run yet. Remove these columns from the export, or "
            "drop them in a mapping file ([drop] columns = [...]), and validate again."
        )


class MappingError(ExportError):
    """The mapping (TOML) file itself is malformed."""


class ConfigError(ValueError, SupervisionError):
    """A bad option or registry entry (e.g. an unknown measure, a bad quarter)."""


class ScopeError(PermissionError, SupervisionError):
    """An attempt to reach data outside a server-fixed therapist scope."""


class SupervisionWarning(UserWarning):
    """Base of warnings: computed, but interpret with care."""


class ExportNotice(SupervisionWarning):
    """Something about the export the user should know (e.g. Windows-1252 decoded, a sheet
    ignored, ids that differ only by case).  :func:`~supervision.io.load_export` keeps the
    notices in ``Caseload.notices``; ``supervision validate`` lists them in its summary and
    ``metrics`` / ``load`` issue each as this warning, shown on standard error."""


__all__ = [
    "ConfigError",
    "ExportError",
    "ExportNotice",
    "IdentifierError",
    "MappingError",
    "Problem",
    "ScopeError",
    "SupervisionError",
    "SupervisionWarning",
]
