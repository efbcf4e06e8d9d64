"""The mapping file: how an export's own names become the canonical ones (domain.md §2).

A mapping is a small TOML file given with ``--mapping FILE``.  Every section is optional::

    # Rename export columns to canonical columns (any table).  Export names are matched
    # case-insensitively, ignoring surrounding spaces.
    [columns]
    "Client Ref" = "client_id"
    "Clinician"  = "therapist_id"
    "Appt Date"  = "session_date"

    # Rename values of a category column, or tags of a neurotype column.  Allowed columns:
    # attendance, rupture, repair, termination, client_neurotype, therapist_neurotype.
    # Matching is case-insensitive; the target must be a canonical value (or tag).
    [values.attendance]
    "DNA" = "no_show"
    "Cancelled by client" = "cancelled"

    [values.client_neurotype]
    "ASC" = "autistic"

    # Columns removed before anything else is looked at (also before the identifier guard).
    [drop]
    columns = ["Notes", "Client Name"]

    # Dates in another format than ISO YYYY-MM-DD (a Python strptime format).  Without it
    # only ISO dates are accepted: d/m and m/d are never guessed.
    [dates]
    format = "%d/%m/%Y"

    # File stems (or .xlsx sheet names) that hold a canonical table.
    [tables]
    "appointments" = "sessions"
    "courses" = "episodes"

A malformed mapping raises :class:`~supervision.errors.MappingError` naming what is wrong
and what is allowed.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping as AbcMapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from supervision import schema
from supervision.errors import MappingError, Problem
from supervision.measures import Registry
from supervision.tomlfile import read_toml_text, toml_problem

SECTIONS = ("columns", "values", "drop", "dates", "tables")
CATEGORY_VALUES: dict[str, tuple[str, ...]] = {
    "attendance": schema.ATTENDANCE,
    "rupture": schema.RUPTURE,
    "repair": schema.REPAIR,
    "termination": schema.TERMINATION,
}
TAG_COLUMNS = ("client_neurotype", "therapist_neurotype")


def norm_name(name: str) -> str:
    """Normalise a column or file name for matching: trimmed, lower case, spaces as ``_``."""
    return re.sub(r"[\s\-]+", "_", str(name).strip().lower())


@dataclass(frozen=True)
class ExportMapping:
    """A parsed mapping file.  Keys of ``columns``, ``drop`` and ``tables`` are normalised
    with :func:`norm_name`; keys of ``values`` tables are lower-cased."""

    columns: dict[str, str] = field(default_factory=dict)
    values: dict[str, dict[str, str]] = field(default_factory=dict)
    drop: frozenset[str] = frozenset()
    date_format: str | None = None
    tables: dict[str, str] = field(default_factory=dict)
    source: str = ""


def canonical_columns(registry: Registry) -> list[str]:
    """Every canonical column of the three tables (without ``source_row``)."""
    cols: list[str] = []
    for table in schema.schemas(registry).values():
        cols += [c for c in table if c != "source_row" and c not in cols]
    return cols


def load_mapping(path: str | Path | None, registry: Registry) -> ExportMapping:
    """Parse and check the mapping file at ``path`` (``None``: the empty mapping).

    Raises
    ------
    MappingError
        The file is missing, not TOML, or names an unknown section, column, value or table.
    """
    if path is None:
        return ExportMapping()
    p = Path(path)
    data = _read_toml(p, "mapping file")
    unknown = sorted(set(data) - set(SECTIONS))
    if unknown:
        raise _error(p, f"unknown section(s) {unknown}; allowed sections: {list(SECTIONS)}")
    return ExportMapping(
        columns=_columns(p, data.get("columns", {}), canonical_columns(registry)),
        values=_values(p, data.get("values", {})),
        drop=_drop(p, data.get("drop", {})),
        date_format=_dates(p, data.get("dates", {})),
        tables=_tables(p, data.get("tables", {})),
        source=p.name,
    )


def _read_toml(p: Path, what: str) -> dict[str, Any]:
    text, why = read_toml_text(p, what)
    if text is None:
        raise _error(p, why)
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise _error(p, toml_problem(exc)) from None


def _error(p: Path, message: str) -> MappingError:
    return MappingError([Problem(p.name, None, None, message)])


def _str_table(p: Path, section: str, value: Any) -> dict[str, str]:
    if not isinstance(value, AbcMapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise _error(p, f"[{section}] must hold lines of the form \"export name\" = \"name\"")
    return dict(value)


def _columns(p: Path, value: Any, allowed: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for src, dst in _str_table(p, "columns", value).items():
        if dst not in allowed:
            raise _error(
                p, f"[columns] {src!r} maps to {dst!r}, which is not a canonical column; "
                f"allowed: {', '.join(allowed)}",
            )
        out[norm_name(src)] = dst
    return out


def _values(p: Path, value: Any) -> dict[str, dict[str, str]]:
    if not isinstance(value, AbcMapping):
        raise _error(p, "[values] must hold tables such as [values.attendance]")
    allowed_cols = (*CATEGORY_VALUES, *TAG_COLUMNS)
    out: dict[str, dict[str, str]] = {}
    for col, table in value.items():
        if col not in allowed_cols:
            raise _error(
                p, f"[values.{col}]: values can be mapped only for {', '.join(allowed_cols)}"
            )
        allowed = CATEGORY_VALUES.get(col, schema.NEUROTYPE_TAGS)
        entries = _str_table(p, f"values.{col}", table)
        for src, dst in entries.items():
            if dst not in allowed:
                raise _error(
                    p, f"[values.{col}] {src!r} maps to {dst!r}; allowed: {', '.join(allowed)}"
                )
        out[col] = {k.strip().lower(): v for k, v in entries.items()}
    return out


def _drop(p: Path, value: Any) -> frozenset[str]:
    cols = value.get("columns", []) if isinstance(value, AbcMapping) else None
    extra = set(value) - {"columns"} if isinstance(value, AbcMapping) else set()
    if cols is None or extra or not isinstance(cols, list) or not all(
        isinstance(c, str) for c in cols
    ):
        raise _error(p, '[drop] must hold only columns = ["Export column", ...]')
    return frozenset(norm_name(c) for c in cols)


def _dates(p: Path, value: Any) -> str | None:
    if not isinstance(value, AbcMapping) or set(value) - {"format"}:
        raise _error(p, '[dates] must hold only format = "%d/%m/%Y" (a strptime format)')
    fmt = value.get("format")
    if fmt is None:
        return None
    if not isinstance(fmt, str) or not re.search(r"%[dj]", fmt) or ("%Y" not in fmt and (
        "%y" not in fmt
    )):
        raise _error(
            p, "[dates] format must be a strptime format with day, month and year, "
            'such as "%d/%m/%Y"',
        )
    _check_format(p, fmt)
    return fmt


def _check_format(p: Path, fmt: str) -> None:
    """Refuse a format DuckDB's strptime cannot use (an unknown ``%`` code, a lone ``%``)."""
    import duckdb

    con = duckdb.connect()
    try:
        con.execute("SELECT try_strptime('2000-01-01', ?)", [fmt])
    except duckdb.Error:
        raise _error(p, (
            f"[dates] format {fmt!r} holds a code that is not a date format code (or a lone "
            "%); use codes such as %d (day), %m (month), %b (month name), %Y or %y (year)"
        )) from None
    finally:
        con.close()


def _tables(p: Path, value: Any) -> dict[str, str]:
    out: dict[str, str] = {}
    for src, dst in _str_table(p, "tables", value).items():
        if dst not in schema.TABLES:
            raise _error(
                p, f"[tables] {src!r} maps to {dst!r}; allowed: {', '.join(schema.TABLES)}"
            )
        out[norm_name(src)] = dst
    return out


__all__ = ["ExportMapping", "canonical_columns", "load_mapping", "norm_name"]
