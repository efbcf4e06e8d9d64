"""Compiled SQL kept per expression shape: an Ibis expression is compiled once per shape.

Building the per-episode table of a small export took ~3 s, most of it Ibis compiling its
dozen queries to SQL, and every test, every window and every filter compiled the same
queries again over other tables.  :func:`install` makes a backend compile through one
process-wide cache (:data:`CACHE_SIZE` shapes, least recently used first out): the
expression's tables (database tables, cached tables, in-memory tables) are replaced by
placeholders before the lookup, so the same query over other tables of the same columns —
another window's sessions, another export, a cached intermediate of the next build — is
the SQL compiled before, with the real table names put back in.  DuckDB only: other
backends compile with Ibis (see :func:`install`).

Compiling is a pure function of the expression, so this changes no result; literal values
(dates, thresholds, a therapist's id) are part of the shape.  Scalar parameters and pretty
printing go to Ibis' own compiler.

On DuckDB, :meth:`~ibis.expr.types.Table.cache` goes through the cache too: the table is
created with the expression's schema as Ibis does it, then filled from the cached SQL.
"""

from __future__ import annotations

import datetime as _dt
import re
import secrets
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.operations as ops
import ibis.expr.types as ir
import sqlglot as sg
import sqlglot.expressions as sge

CACHE_SIZE = 1024
"""How many compiled shapes the process keeps."""

_LEAVES = (ops.DatabaseTable, ops.InMemoryTable)
_TOKEN = secrets.token_hex(6)  # placeholder names no export value or query can contain
_PLACEHOLDER = re.compile(rf"\"__sv{_TOKEN}_(\d+)\"|'__sv{_TOKEN}_v(\d+)'")
_CACHE: OrderedDict[tuple[object, ...], str] = OrderedDict()
_LOCK = threading.Lock()
_MARK = "_supervision_compiled"
STATS = {"hits": 0, "misses": 0}
"""Lookups since the process started (benchmarks and tests read them)."""


def _reference(leaf: ops.Relation, quoted: bool, dialect: str) -> str:
    """The SQL name Ibis' compiler gives ``leaf`` (``visit_DatabaseTable`` and
    ``visit_InMemoryTable``)."""
    if isinstance(leaf, ops.DatabaseTable):
        ns = leaf.namespace
        t = sg.table(leaf.name, db=ns.database, catalog=ns.catalog, quoted=quoted)
    else:
        t = sg.table(leaf.name, quoted=quoted)
    return t.sql(dialect=dialect)


def _is_value(lit: ops.Literal) -> bool:
    """Whether a literal is a value put back into the SQL after the lookup: strings (ids,
    codes), dates and zone-less timestamps (window ends) — not numbers, which shape a
    query's types, nor NULL."""
    dt = lit.dtype
    if lit.value is None:
        return False
    return dt.is_string() or dt.is_date() or (dt.is_timestamp() and dt.timezone is None)


def shape(expr: ir.Expr, *, values: bool = True) -> tuple[ops.Node, list[ops.Relation],
                                                          list[ops.Literal]]:
    """``expr``'s operation with its tables, and (``values``) its string, date and timestamp
    literals, replaced by numbered placeholders; the tables and the literals in placeholder
    order (first seen, breadth first: the same for the same shape).  A date or timestamp
    becomes the cast of a string placeholder."""
    op = expr.op()
    leaves = op.find(_LEAVES)
    lits = [lit for lit in op.find(ops.Literal) if _is_value(lit)] if values else []
    mapping: dict[ops.Node, ops.Node] = {
        leaf: ops.UnboundTable(name=f"__sv{_TOKEN}_{i}", schema=leaf.schema)
        for i, leaf in enumerate(leaves)}
    for i, lit in enumerate(lits):
        ph = ops.Literal(f"__sv{_TOKEN}_v{i}", dtype=dt.string)
        mapping[lit] = (ops.Literal(ph.value, dtype=lit.dtype) if lit.dtype.is_string()
                        else ops.Cast(ph, to=lit.dtype))
    return (op.replace(mapping) if mapping else op), leaves, lits


def compile_sql(con: Any, expr: ir.Expr, compile_: Callable[..., str],
                limit: int | str | None = None) -> str:
    """``compile_(expr, limit=limit)`` — the SQL of ``expr`` — from the cache when an
    expression of the same shape was compiled before on the same kind of backend.

    A shape whose placeholders Ibis cannot compile (a rule that needs the literal itself)
    is compiled, and kept, with its literals in place."""
    sql, leaves, lits = _lookup(con, expr, compile_, limit, values=True)
    if sql is None:
        sql, leaves, lits = _lookup(con, expr, compile_, limit, values=False)
    assert sql is not None
    quoted, dialect = con.compiler.quoted, con.dialect
    refs = [_reference(leaf, quoted, dialect) for leaf in leaves]
    vals = [_literal(con, lit) for lit in lits]
    if not refs and not vals:
        return sql
    return _PLACEHOLDER.sub(
        lambda m: refs[int(m[1])] if m[1] is not None else vals[int(m[2])], sql)


_FAILED = "\0failed"  # a shape that did not compile with its values as placeholders


def _lookup(con: Any, expr: ir.Expr, compile_: Callable[..., str], limit: int | str | None,
            *, values: bool) -> tuple[str | None, list[ops.Relation], list[ops.Literal]]:
    norm, leaves, lits = shape(expr, values=values)
    key = (con.name, norm, limit)
    with _LOCK:
        sql = _CACHE.get(key)
        if sql is not None:
            _CACHE.move_to_end(key)
            STATS["hits"] += 1
    if sql is None:
        try:
            sql = compile_(norm.to_expr(), limit=limit)
        except Exception:
            if not values:
                raise
            sql = _FAILED
        with _LOCK:
            STATS["misses"] += 1
            _CACHE[key] = sql
            while len(_CACHE) > CACHE_SIZE:
                _CACHE.popitem(last=False)
    return (None if sql == _FAILED else sql), leaves, lits


def _literal(con: Any, lit: ops.Literal) -> str:
    """The SQL of a literal put back in for its placeholder: a string as Ibis writes it; a
    date or timestamp as the string its placeholder's cast reads."""
    if lit.dtype.is_string():
        return con.compiler.visit_Literal(lit, value=lit.value, dtype=lit.dtype).sql(
            dialect=con.dialect)
    v = lit.value
    text = v.isoformat(sep=" ") if isinstance(v, _dt.datetime) else v.isoformat()
    return sge.convert(text).sql(dialect=con.dialect)


def _duckdb_cached_table(con: Any, name: str, expr: ir.Table) -> ir.Table:
    """DuckDB's ``_create_cached_table`` (``create_table(name, expr, temp=True)``) with the
    query from :func:`compile_sql`: the temporary table made with ``expr``'s column types,
    then filled."""
    schema = expr.schema()
    if schema.null_fields:  # Ibis' own message for what DuckDB cannot store
        return con.create_table(name, expr, schema=schema, temp=True)
    con._run_pre_execute_hooks(expr)
    quoted, dialect = con.compiler.quoted, con.dialect
    target = sg.table(name, catalog="temp", db="main", quoted=quoted)
    create = sge.Create(
        kind="TABLE",
        this=sge.Schema(this=target, expressions=schema.to_sqlglot_column_defs(dialect)),
        properties=sge.Properties(expressions=[sge.TemporaryProperty()]),
    ).sql(dialect)
    cols = ", ".join(sge.to_identifier(c, quoted=quoted).sql(dialect) for c in schema.names)
    con.con.execute(create)
    con.con.execute(f"INSERT INTO {target.sql(dialect)} ({cols}) {con.compile(expr)}")
    return con.table(name, database=("temp", "main"))


def install(con: Any) -> Any:
    """Make a DuckDB ``con`` compile through the cache (idempotent); returns ``con``.

    Every other backend keeps Ibis' own compiler: the placeholders are written for DuckDB's
    quoting (PySpark quotes the table placeholders with backticks, which are never put back),
    and PostgreSQL's ``strftime`` translates its format literal while compiling, so a format
    put back afterwards would reach ``to_char`` untranslated (``'%Y-%m'`` gives ``'%4-%m'``).
    """
    if con.name != "duckdb" or getattr(con, _MARK, False):
        return con
    own = con.compile

    def compile(expr: ir.Expr, /, *, limit: int | str | None = None,
                params: Any = None, pretty: bool = False, **kwargs: Any) -> str:
        if limit == "default":  # what Ibis' compiler does with it
            limit = ibis.options.sql.default_limit
        if params or pretty or kwargs:
            return own(expr, limit=limit, params=params, pretty=pretty, **kwargs)
        return compile_sql(con, expr, own, limit=limit)

    con.compile = compile
    if con.name == "duckdb":
        con._create_cached_table = lambda name, expr: _duckdb_cached_table(con, name, expr)
    setattr(con, _MARK, True)
    return con


__all__ = ["CACHE_SIZE", "STATS", "compile_sql", "install", "shape"]
