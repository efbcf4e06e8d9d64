"""A validated caseload kept in a DuckDB file, opened read-only by many processes at once.

``supervision serve`` reads and validates the export once, in the server process, and saves
the canonical tables here (:func:`save_prepared`); every dashboard kernel then opens that
file read-only (:func:`open_prepared`) instead of reading and validating the export again.
At 1M sessions that is about 7 s less per kernel before the first figure, and the kernels
share the operating system's page cache instead of each holding a copy of the export.

The file also holds what every kernel would otherwise compute the same way, as the caller
hands it over: memo entries of tables (the server passes the export's rupture candidates, the
most expensive per-export step) and JSON-safe aggregates (the practice aggregates and every
therapist's headline figures of the dashboards' default date range).  This module stores them
without knowing what they are: each under its typed cache key
(:data:`supervision.windowcache.SAVED_KINDS`, written as JSON), and :func:`open_prepared`
puts each back in the caseload's memo under that key, so a kernel finds it instead of
computing it.

The file is the server's private working copy (in its mode-700 temporary folder, removed
when the server stops), never written next to the user's export.  Besides the three
canonical tables it holds ``load_info`` (key, value): the export's source, checksum,
notices and measure columns, so a kernel's caseload carries the same provenance.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from supervision import schema
from supervision.caseload import Caseload, provenance_fields
from supervision.errors import ConfigError
from supervision.io.scratch import memory_backend
from supervision.windowcache import key_from_json, key_to_json

if TYPE_CHECKING:
    import ibis.expr.types as ir

    from supervision.measures import Registry

ALIAS = "prepared"
LAYOUT = "supervision-prepared-4"
#: A typed cache key of :data:`~supervision.windowcache.SAVED_KINDS` -> its tables.
MemoTables = Mapping[Any, Sequence["ir.Table | None"]]


def _quote_path(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def save_prepared(
    cl: Caseload, path: str | Path, *, tables: MemoTables | None = None,
    aggregates: Mapping[Any, Any] | None = None,
) -> Path:
    """Write ``cl``'s canonical tables, the memo entries ``tables`` and provenance to ``path``.

    ``cl`` must live in DuckDB (an export read by :func:`~supervision.io.load_export`).
    The copy runs inside DuckDB (``ATTACH`` + ``CREATE TABLE … AS``), so no rows pass
    through Python.  ``tables`` maps a cache key of
    :data:`~supervision.windowcache.SAVED_KINDS` to a tuple of tables (or None);
    ``aggregates`` maps such a key to JSON-safe results to hand to every kernel.  Returns
    ``path``.
    """
    path = Path(path)
    if path.exists():
        raise ConfigError(f"{path} already exists; a prepared caseload is written once")
    if cl.con.name != "duckdb":
        raise ConfigError("only a caseload held in DuckDB can be saved as a prepared file")
    entries, extra = [], {}
    for i, (key, group) in enumerate((tables or {}).items()):
        names = [None if t is None else f"memo_{i}_{j}" for j, t in enumerate(group)]
        entries.append([key_to_json(key), names])
        extra |= {n: t for n, t in zip(names, group, strict=True) if n is not None}
    db = cl.con.con
    db.execute(f"ATTACH {_quote_path(path)} AS {ALIAS}")
    try:
        canonical = {name: getattr(cl, name) for name in schema.TABLES}
        for name, table in {**canonical, **extra}.items():
            if table is not None:
                db.execute(f"CREATE TABLE {ALIAS}.{name} AS {cl.con.compile(table)}")
        info = {
            "layout": LAYOUT,
            **cl.provenance(),
            "tables": json.dumps(entries, allow_nan=False),
            "aggregates": json.dumps([[key_to_json(k), v] for k, v in (aggregates or {}).items()],
                                     allow_nan=False),
        }
        db.execute(f"CREATE TABLE {ALIAS}.load_info (key VARCHAR PRIMARY KEY, value VARCHAR)")
        db.executemany(f"INSERT INTO {ALIAS}.load_info VALUES (?, ?)", list(info.items()))
    finally:
        db.execute(f"DETACH {ALIAS}")
    return path


def open_prepared(path: str | Path, *, registry: Registry) -> Caseload:
    """The caseload saved at ``path``, attached read-only to a new in-memory DuckDB.

    Scopes and figures create their temporary tables in the in-memory database; the file
    itself is never written, so any number of processes may open it at once.
    """
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"the prepared caseload {path} is missing (was the server stopped?)")
    con = memory_backend()
    con.raw_sql(f"ATTACH {_quote_path(path)} AS {ALIAS} (READ_ONLY)")
    rows = con.con.execute(f"SELECT key, value FROM {ALIAS}.load_info").fetchall()
    info = dict(rows)
    if info.get("layout") != LAYOUT:
        raise ConfigError(f"{path} is not a prepared caseload of this version of supervision")
    if json.loads(info["measures"]) != registry.numeric_columns:
        raise ConfigError(
            f"{path} was prepared with other measure columns than this registry defines"
        )
    tables = {name: con.table(name, database=ALIAS) for name in schema.TABLES}
    cl = Caseload(con=con, registry=registry, **provenance_fields(info, source=str(path)),
                  **tables)
    for key, names in json.loads(info["tables"]):
        saved = tuple(None if n is None else con.table(n, database=ALIAS) for n in names)
        cl.memo(key_from_json(key), lambda saved=saved: saved)
    for key, value in json.loads(info["aggregates"]):
        cl.memo(key_from_json(key), lambda value=value: value)
    return cl


__all__ = ["open_prepared", "save_prepared"]
