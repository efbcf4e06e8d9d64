"""Beyond one machine: the canonical tables in PostgreSQL, the computation in PostgreSQL or Spark.

The embedded default reads an export into in-process DuckDB.  A multi-site service keeps its
records in a warehouse instead; then :func:`load_into` validates nothing itself (the export was
already read by :func:`supervision.io.load_export`, same rules, same messages) and bulk-loads the
three canonical tables into a PostgreSQL schema with ``COPY``, and :func:`connect_caseload`
builds a :class:`~supervision.caseload.Caseload` whose Ibis tables live there.  Every metric
function is a portable Ibis expression, so the same code runs in PostgreSQL (or Spark) and only
aggregates come back.

URLs
----
``postgresql://[user[:password]@]host[:port]/database[?options]`` (libpq URI; ``postgres://``
too).  Credentials are best left out of the URL: libpq reads ``PGUSER``, ``PGPASSWORD`` and
``~/.pgpass``.  A password is never printed: every message shows the URL through
:func:`mask_url`.  ``spark://host:port``, ``local`` or ``local[N]`` select a Spark master.
"""

from __future__ import annotations

import atexit
import datetime as dt
import functools
import io
import os
import re
import shutil
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlsplit, urlunsplit

import ibis.expr.types as ir

from supervision import schema as canon
from supervision.caseload import Caseload, provenance_fields
from supervision.errors import ConfigError, SupervisionError
from supervision.measures import Registry, default_registry

if TYPE_CHECKING:
    import psycopg
    import pyarrow as pa

DEFAULT_SCHEMA = "supervision"
#: Version of the warehouse layout written by :func:`load_into` (kept in ``load_info``).
LAYOUT = "supervision-warehouse/1"
_PG_TYPES = {"VARCHAR": "text", "DATE": "date", "DOUBLE": "double precision", "BIGINT": "bigint"}
_INDEXES = {
    "sessions": ("episode_id", "therapist_id"),
    "episodes": ("episode_id", "therapist_id"),
    "therapists": ("therapist_id",),
}
_IDENT = re.compile(r"^[a-z_][a-z0-9_]{0,50}$")
_SPARK = re.compile(r"^(spark://\S+|local(\[(\d+|\*)\])?)$")
_BATCH_ROWS = 200_000


class WarehouseError(ConnectionError, SupervisionError):
    """A warehouse could not be reached or used.  Its message never holds a password."""


@dataclass(frozen=True)
class LoadResult:
    """What :func:`load_into` did: rows per table, where, and how long it took."""

    rows: dict[str, int]
    target: str
    schema: str
    seconds: float

    def __str__(self) -> str:
        counts = ", ".join(f"{n:,} {t}" for t, n in self.rows.items())
        return (
            f"Loaded {counts} into schema {self.schema!r} of {self.target} "
            f"in {self.seconds:.1f} s (previous tables replaced atomically)."
        )


# ---------------------------------------------------------------------------- URLs
def mask_url(url: str) -> str:
    """The URL with any password replaced by ``***`` (safe to print or log).

    >>> mask_url("postgresql://ana:s3cret@db.example:5432/caseload")
    'postgresql://ana:***@db.example:5432/caseload'
    """
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparseable URL>"
    masked = url
    if parts.password:
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
        masked = urlunsplit(parts._replace(netloc=netloc))
    # libpq also takes the password as a query option (?password=...)
    return re.sub(r"(?i)(password=)[^&\s]*", r"\1***", masked)


def engine_of(url: str) -> Literal["postgres", "spark"]:
    """Which engine a ``--db`` URL names: ``"postgres"`` or ``"spark"``."""
    if _SPARK.match(url.strip()):
        return "spark"
    if urlsplit(url).scheme in ("postgresql", "postgres"):
        return "postgres"
    raise ConfigError(
        f"unsupported database URL {mask_url(url)!r}: expected postgresql://host/database, "
        "spark://host:port, local or local[N]"
    )


def _check_schema_name(name: str) -> str:
    if not _IDENT.match(name):
        raise ConfigError(
            f"schema name {name!r} is not a plain lower-case identifier "
            "(letters, digits and _; starting with a letter or _)"
        )
    return name


def _scrub(message: str, url: str) -> str:
    """Remove a URL's password from a driver's message (drivers may echo the conninfo)."""
    password = urlsplit(url).password
    if password:
        message = message.replace(password, "***")
    return re.sub(r"(?i)(password=)\S*", r"\1***", message).strip().splitlines()[0]


def _pg_connect(url: str, *, autocommit: bool) -> psycopg.Connection:
    try:
        import psycopg
    except ImportError:
        raise ConfigError(
            "PostgreSQL support is an optional extra: pip install 'supervision[postgres]'"
        ) from None

    try:
        return psycopg.connect(url, autocommit=autocommit, connect_timeout=15)
    except psycopg.Error as exc:
        raise WarehouseError(
            f"cannot connect to {mask_url(url)}: {_scrub(str(exc), url)}. Credentials come from "
            "the URL, PGUSER/PGPASSWORD or ~/.pgpass."
        ) from None


# ---------------------------------------------------------------------------- loading
def load_into(caseload: Caseload, url: str, *, schema: str = DEFAULT_SCHEMA) -> LoadResult:
    """Bulk-load a caseload's canonical tables into a PostgreSQL schema, replacing it atomically.

    The tables are streamed out of DuckDB as Arrow batches and written with ``COPY ... FROM
    STDIN (FORMAT csv)`` into a staging schema, indexed on ``episode_id``/``therapist_id`` and
    analysed; then, in the same transaction, the old schema is dropped and the staging schema
    renamed.  Readers see either the old tables or the new ones, never a half-loaded set; a
    failed load leaves the old tables untouched.  Concurrent loads into one schema queue on an
    advisory lock.

    Parameters
    ----------
    caseload
        A validated caseload (from :func:`supervision.io.load_export`).  Its tables are
        loaded as they are: a caseload already scoped loads only that scope.
    url
        ``postgresql://`` URL of the target database (see the module docstring).
    schema
        Target schema; refused if it exists and was not made by ``supervision load``.
    """
    _check_schema_name(schema)
    if engine_of(url) != "postgres":
        raise ConfigError(
            f"`supervision load` writes to PostgreSQL; {mask_url(url)!r} is not a postgresql:// "
            "URL (Spark computes on an export directly: supervision metrics PATH --db local[2])"
        )
    start = time.perf_counter()
    staging = f"{schema}__loading"
    conn = _pg_connect(url, autocommit=False)
    import psycopg  # importable: _pg_connect succeeded

    try:
        with conn, conn.cursor() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (schema,))
            _refuse_foreign_schema(cur, schema)
            cur.execute(f"DROP SCHEMA IF EXISTS {staging} CASCADE; CREATE SCHEMA {staging}")
            rows = {
                name: _copy_table(cur, staging, name, cols, getattr(caseload, name))
                for name, cols in canon.schemas(caseload.registry).items()
            }
            _finish_schema(cur, staging, caseload)
            cur.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
            cur.execute(f"ALTER SCHEMA {staging} RENAME TO {schema}")
    except psycopg.Error as exc:
        raise WarehouseError(
            f"loading into {mask_url(url)} failed, nothing was changed: {_load_cause(exc, url)}"
        ) from None
    return LoadResult(rows, mask_url(url), schema, time.perf_counter() - start)


def _load_cause(exc: Any, url: str) -> str:
    """The server's reason for a failed load, never quoting a row of the export.

    A data exception or integrity violation (SQLSTATE classes 22 and 23) names the bad value
    in its message, and any error raised during ``COPY`` carries the row in its context, so
    only the server's primary message of other errors is shown (e.g. a full disk).
    """
    import psycopg  # importable: the load had connected

    state = exc.sqlstate or ""
    if isinstance(exc, psycopg.DataError | psycopg.IntegrityError) or state[:2] in ("22", "23"):
        return (f"PostgreSQL refused a value ({type(exc).__name__}, SQLSTATE {state or '?'}); "
                "the export's row is not shown here: validate it with `supervision validate`")
    primary = exc.diag.message_primary if exc.diag is not None else None
    lines = (primary or str(exc)).splitlines()
    return _scrub(lines[0] if lines else type(exc).__name__, url)


def _refuse_foreign_schema(cur: psycopg.Cursor, schema: str) -> None:
    """Never drop a schema that ``supervision load`` did not make (``public``, say)."""
    cur.execute(
        "SELECT count(*), count(*) FILTER (WHERE table_name = 'load_info') "
        "FROM information_schema.tables WHERE table_schema = %s",
        (schema,),
    )
    n_tables, ours = cur.fetchone()
    if n_tables and not ours:
        raise ConfigError(
            f"schema {schema!r} already holds {n_tables} table(s) that `supervision load` did not "
            "create; choose another --schema (it would be replaced)"
        )


def _copy_table(
    cur: psycopg.Cursor, target: str, name: str, cols: dict[str, str], table: ir.Table
) -> int:
    """Create ``target.name`` and stream ``table`` into it with COPY; return the row count."""
    import pyarrow.csv as pacsv

    defs = ", ".join(f"{c} {_PG_TYPES[t]}" for c, t in cols.items())
    cur.execute(f"CREATE TABLE {target}.{name} ({defs})")
    selected = table.select(*[table[c].cast(_ibis_type(t)).name(c) for c, t in cols.items()])
    # pyarrow quotes every string and leaves NULL unquoted-empty, which COPY's csv format reads
    # back as NULL vs '' exactly; dates are ISO and doubles print shortest round-trip.
    options = pacsv.WriteOptions(include_header=False)
    n = 0
    # FREEZE: the table was created in this transaction, so rows can be written frozen and
    # the first readers need not rewrite every page to set hint bits.
    sql = f"COPY {target}.{name} ({', '.join(cols)}) FROM STDIN (FORMAT csv, FREEZE true)"
    with cur.copy(sql) as copy:
        for batch in _arrow_batches(selected):
            if batch.num_rows:
                buf = io.BytesIO()
                pacsv.write_csv(batch, buf, write_options=options)
                copy.write(buf.getbuffer())
                n += batch.num_rows
    return n


def _arrow_batches(table: ir.Table) -> Iterator[pa.RecordBatch]:
    """Stream a table out of its backend as Arrow record batches (never all rows in memory).

    DuckDB 2.0 renamed ``fetch_record_batch`` to ``to_arrow_reader`` and Ibis 12 still calls
    the old name, so a DuckDB table is streamed through the raw connection.
    """
    backend = table._find_backend()
    if backend.name != "duckdb":
        yield from table.to_pyarrow_batches(chunk_size=_BATCH_ROWS)
        return
    backend._run_pre_execute_hooks(table)
    yield from backend.con.sql(backend.compile(table)).to_arrow_reader(batch_size=_BATCH_ROWS)


def _finish_schema(cur: psycopg.Cursor, target: str, caseload: Caseload) -> None:
    """Indexes, planner statistics and the ``load_info`` provenance table."""
    for table, columns in _INDEXES.items():
        for col in columns:
            cur.execute(f"CREATE INDEX ON {target}.{table} ({col})")
        cur.execute(f"ANALYZE {target}.{table}")
    cur.execute(f"CREATE TABLE {target}.load_info (key text PRIMARY KEY, value text)")
    info = {
        "layout": LAYOUT,
        **caseload.provenance(),
        "loaded_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }
    cur.executemany(f"INSERT INTO {target}.load_info VALUES (%s, %s)", list(info.items()))


def _ibis_type(sql_type: str) -> str:
    return {"VARCHAR": "string", "DATE": "date", "DOUBLE": "float64", "BIGINT": "int64"}[sql_type]


# ---------------------------------------------------------------------------- connecting
def connect_caseload(
    url: str, *, schema: str = DEFAULT_SCHEMA, registry: Registry | None = None
) -> Caseload:
    """A :class:`Caseload` whose tables live in PostgreSQL or in a Spark catalog.

    Parameters
    ----------
    url
        ``postgresql://...`` (tables written by :func:`load_into`), or a Spark master
        (``spark://host:port``, ``local[N]``) whose catalog holds ``<schema>.sessions``,
        ``<schema>.episodes`` and ``<schema>.therapists`` with the canonical columns.
    schema
        The PostgreSQL schema / Spark database holding the tables.
    registry
        The measure registry; must define exactly the measure columns the tables carry
        (pass the same ``--measures`` file as at load).  Default: the shipped registry.
    """
    _check_schema_name(schema)
    registry = registry or default_registry()
    if engine_of(url) == "spark":
        con = _spark_backend()().connect(spark_session(url))
        if schema not in con.list_databases():
            raise ConfigError(
                f"the Spark catalog of {mask_url(url)} has no database {schema!r}; to compute on "
                "an export with Spark give its PATH: supervision metrics PATH --db " + url
            )
        info: dict[str, str] = {}
    else:
        con = _postgres_backend().from_connection(_pg_connect(url, autocommit=True))
        info = _load_info(con, url, schema)
    try:
        tables = {name: con.table(name, database=schema) for name in canon.TABLES}
    except Exception as exc:  # ibis raises backend-specific errors for a missing table
        raise ConfigError(
            f"schema {schema!r} of {mask_url(url)} lacks the canonical tables "
            f"({type(exc).__name__}); load an export first: supervision load PATH --into URL"
        ) from None
    _check_columns(tables, registry, where=f"schema {schema!r} of {mask_url(url)}")
    return Caseload(con=con, registry=registry, **provenance_fields(info, source=mask_url(url)),
                    **tables)


@functools.cache
def _postgres_backend() -> type:
    """Ibis' PostgreSQL backend, with boolean -> bigint casts compiled the way PostgreSQL takes.

    Ibis 12 compiles ``flag.cast("int64")`` to ``CAST(flag AS BIGINT)``, which PostgreSQL
    rejects ("cannot cast type boolean to bigint": it casts boolean only to ``integer``).
    The metric modules count with that portable Ibis idiom, so the cast goes through
    ``integer`` here: ``CAST(CAST(flag AS INTEGER) AS BIGINT)``, same values.  DuckDB and Spark
    need no such help.
    """
    import ibis.expr.datatypes as dt
    from ibis.backends.postgres import Backend
    from ibis.backends.sql.compilers.postgres import PostgresCompiler

    class Compiler(PostgresCompiler):
        def visit_Cast(self, op: Any, *, arg: Any, to: Any) -> Any:
            if op.arg.dtype.is_boolean() and to.is_integer() and not to.is_int32():
                arg = self.cast(arg, dt.int32)
            return super().visit_Cast(op, arg=arg, to=to)

        visit_TryCast = visit_Cast

    class PortableBackend(Backend):
        compiler = Compiler()

    return PortableBackend


def _load_info(con: Any, url: str, schema: str) -> dict[str, str]:
    """The provenance rows written by :func:`load_into` (source, checksum, notices)."""
    if "load_info" not in con.list_tables(database=schema):
        raise ConfigError(
            f"schema {schema!r} of {mask_url(url)} holds no tables loaded by supervision; load an "
            "export first: supervision load PATH --into URL" + _schema_hint(schema)
        )
    df = con.table("load_info", database=schema).execute()
    info = dict(zip(df["key"], df["value"], strict=True))
    if info.get("layout") != LAYOUT:
        raise ConfigError(
            f"schema {schema!r} was written by another version ({info.get('layout')!r}, expected "
            f"{LAYOUT!r}); load the export again with this version"
        )
    return info


def _schema_hint(schema: str) -> str:
    return "" if schema == DEFAULT_SCHEMA else f" --schema {schema}"


def _check_columns(tables: dict[str, ir.Table], registry: Registry, *, where: str) -> None:
    """Refuse tables whose columns do not match the canonical schema for ``registry``."""
    for name, cols in canon.schemas(registry).items():
        have = set(tables[name].columns)
        missing = [c for c in cols if c not in have]
        extra = [c for c in have if c not in cols]
        if missing or extra:
            raise ConfigError(
                f"{where}: table {name} does not match the measure registry "
                f"(missing {missing or 'none'}, unexpected {extra or 'none'}); pass the same "
                "--measures file as when it was loaded"
            )


# ---------------------------------------------------------------------------- Spark
def spark_session(master: str) -> Any:
    """A SparkSession for ``master`` (``spark://host:port``, ``local`` or ``local[N]``).

    Binds the driver to 127.0.0.1 unless ``SPARK_LOCAL_IP`` says otherwise, disables the web
    UI, and uses few shuffle partitions (Spark's default of 200 is tuned for clusters and makes
    the many small per-episode aggregations of the metrics slow in local mode).
    """
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise ConfigError(
            "Spark support is an optional extra: pip install 'supervision[spark]' "
            "(it needs Java 17 or later)"
        ) from None
    cores = os.cpu_count() or 2
    builder = (
        SparkSession.builder.master(master)
        .appName("supervision")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", str(max(2, min(cores * 2, 64))))
        .config("spark.sql.session.timeZone", "UTC")
    )
    try:
        session = builder.getOrCreate()
    except Exception as exc:  # py4j / JVM start-up errors
        raise WarehouseError(
            f"cannot start Spark on {mask_url(master)}: {type(exc).__name__}"
        ) from None
    session.sparkContext.setLogLevel("ERROR")
    return session


@functools.cache
def _spark_backend() -> type:
    """Ibis' PySpark backend, with ``median(where=...)`` compiled the way Spark takes it.

    Ibis 12 applies the ``where`` filter to both arguments of Spark's ``percentile``:
    ``percentile(IF(c, x, NULL), IF(c, 0.5, NULL))``, which Spark refuses ("the input
    `percentage` should be a foldable DOUBLE expression").  The filter belongs on the values
    only, as Ibis already does for ``quantile``: ``percentile(IF(c, x, NULL), 0.5)``.

    A cached table (``expr.cache()``, the per-episode table's intermediates) is computed once
    into a local checkpoint, its lineage cut.  Ibis' ``DataFrame.cache()`` keeps each plan, so
    every later query re-planned all the earlier ones: the final join of the per-episode table
    ran the default 1 GB driver out of memory on a 20-episode export.  A local checkpoint lives
    on the executors (lost with one: recompute by running the command again).
    """
    import ibis
    from ibis.backends.pyspark import Backend
    from ibis.backends.sql.compilers.base import NULL
    from ibis.backends.sql.compilers.pyspark import PySparkCompiler

    _ = ibis.pyspark  # registers ibis.options.pyspark, which the compiler reads

    class Compiler(PySparkCompiler):
        def visit_Median(self, op: Any, *, arg: Any, where: Any) -> Any:
            if where is not None:
                arg = self.if_(where, arg, NULL)
            return self.f.percentile(arg, 0.5)

    class PortableBackend(Backend):
        compiler = Compiler()

        def _create_cached_table(self, name: str, expr: Any) -> Any:
            """Ibis' own, with ``localCheckpoint`` for ``cache``."""
            t = self._session.sql(self.compile(expr)).localCheckpoint(eager=True)
            t.createTempView(name)
            self._cached_dataframes[name] = t
            return self.table(name)

        def _drop_cached_table(self, name: str) -> None:
            self._session.catalog.dropTempView(name)
            self._cached_dataframes.pop(name)

    return PortableBackend


def caseload_on_spark(caseload: Caseload, master: str) -> Caseload:
    """The same caseload with its tables in Spark, so that metrics compute there.

    The canonical tables are written once to Parquet in a temporary folder (removed at exit)
    and registered as Spark temporary views; nothing is kept in a Spark catalog.
    """
    if engine_of(master) != "spark":
        raise ConfigError(f"{mask_url(master)!r} is not a Spark master URL")
    con = _spark_backend()().connect(spark_session(master))
    folder = Path(tempfile.mkdtemp(prefix="supervision-spark-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    tables = {}
    for name, cols in canon.schemas(caseload.registry).items():
        t = getattr(caseload, name)
        t = t.select(*[t[c].cast(_ibis_type(typ)).name(c) for c, typ in cols.items()])
        path = folder / f"{name}.parquet"
        t.to_parquet(path)
        tables[name] = con.read_parquet(path, table_name=f"{name}_{folder.name[-8:]}")
    return Caseload(
        con=con, registry=caseload.registry, source=caseload.source, notices=caseload.notices,
        checksum=caseload.checksum, **tables,
    )


__all__ = [
    "DEFAULT_SCHEMA",
    "LoadResult",
    "WarehouseError",
    "caseload_on_spark",
    "connect_caseload",
    "engine_of",
    "load_into",
    "mask_url",
    "spark_session",
]
