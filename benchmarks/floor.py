"""DuckDB's floor: read every column of an export once, one aggregate per column, by therapist.

Issue 5: "the floor: DuckDB reading every column of the same file once (one aggregate per
column, grouped by therapist) — no tool that reads the whole export can be faster."  For each
table file of the export (``sessions``, ``episodes``, ``therapists``; CSV or Parquet) this runs

    SELECT therapist_id, sum(<numeric>) ..., max(<other>) ... FROM <file> GROUP BY therapist_id

and nothing else: no validation, no sort, no window, no join.  ``sum`` for numbers and ``max``
for text and dates force DuckDB to decode every value of every column.

``python benchmarks/floor.py EXPORT_DIR`` prints the row count of each result and, on stderr,
one JSON line ``{"compute_s": ...}`` (the queries alone, after ``import duckdb``).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import duckdb

TABLES = ("sessions", "episodes", "therapists")
NUMERIC = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "FLOAT", "DOUBLE", "DECIMAL")


def _source(path: Path) -> str:
    quoted = str(path).replace("'", "''")
    if path.suffix == ".parquet":
        return f"read_parquet('{quoted}')"
    return f"read_csv('{quoted}', header = true)"


def floor_query(con: duckdb.DuckDBPyConnection, path: Path) -> str:
    """The one-aggregate-per-column query for one table file (columns from DuckDB's sniffer)."""
    src = _source(path)
    cols = con.execute(f"DESCRIBE SELECT * FROM {src}").fetchall()
    aggs = []
    for name, typ, *_ in cols:
        if name == "therapist_id":
            continue
        fn = "sum" if str(typ).split("(")[0] in NUMERIC else "max"
        aggs.append(f'{fn}("{name}")')
    return f"SELECT therapist_id, {', '.join(aggs) or 'count(*)'} FROM {src} GROUP BY therapist_id"


def run_floor(folder: str | Path) -> dict[str, int]:
    """Run the floor query on every table file of ``folder``; rows returned per table."""
    folder = Path(folder)
    con = duckdb.connect()
    out = {}
    for name in TABLES:
        for ext in (".parquet", ".csv"):
            path = folder / f"{name}{ext}"
            if path.exists():
                out[name] = len(con.execute(floor_query(con, path)).fetchall())
                break
    return out


def main(argv: list[str] | None = None) -> int:
    """Command-line entry: ``floor.py EXPORT_DIR``."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: floor.py EXPORT_DIR", file=sys.stderr)
        return 2
    t0 = time.perf_counter()
    rows = run_floor(args[0])
    print(json.dumps(rows))
    print(json.dumps({"compute_s": time.perf_counter() - t0}), file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
