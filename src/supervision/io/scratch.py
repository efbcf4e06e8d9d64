"""A DuckDB database on disk, in a private temporary folder, for checking large exports.

An in-memory DuckDB keeps every table it creates in RAM: checking a 200 MB CSV that way
peaked at 2.3 GB (the raw text table, the staged table, the typed tables and the rule
queries' intermediates).  :func:`scratch_backend` instead opens a database *file* in a
temporary folder with a memory limit, so DuckDB writes table blocks to that file and spills
large joins, sorts, windows and aggregates to its temporary directory: the process's peak
memory then follows the limit, not the export's size.  The folder is deleted on exit.

The limit is ``clamp(input bytes / 2, MIN_LIMIT, cap)``: a small export runs in memory as
before; a large one never asks for more than the cap, :data:`MAX_LIMIT` (500 MB) unless the
environment sets ``SUPERVISION_MAX_MEMORY_MB`` (e.g. ``2000`` on a large machine, or ``256``
on a small one).  On a 2.33 GB export, 500 MB gave a 0.79 GB peak and 1 GB a 1.37 GB peak,
without being faster (docs/large-exports.md).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ibis.backends.duckdb import Backend

MIN_LIMIT = 128 * 1000**2
MAX_LIMIT = 500 * 1000**2


def input_bytes(path: str | Path) -> int:
    """Total size of the files of an export (a file, or every file under a folder)."""
    p = Path(path)
    if p.is_dir():
        return sum(f.stat().st_size for f in p.rglob("*") if f.is_file())
    return p.stat().st_size if p.exists() else 0


def memory_limit(size: int) -> int:
    """DuckDB's memory limit in bytes for an export of ``size`` bytes (see module doc)."""
    cap = os.environ.get("SUPERVISION_MAX_MEMORY_MB", "").strip()
    top = max(int(cap) * 1000**2, MIN_LIMIT) if cap.isdigit() else MAX_LIMIT
    return int(min(max(size // 2, MIN_LIMIT), top))


@contextmanager
def scratch_backend(path: str | Path, *, threads: int | None = None) -> Iterator[Backend]:
    """An Ibis DuckDB backend over a database file in a private temporary folder.

    Parameters
    ----------
    path
        The export about to be read (its size sets the memory limit).
    threads
        DuckDB worker threads (default: DuckDB's, one per core).

    Yields
    ------
    ibis.backends.duckdb.Backend
        Closed, and its folder deleted, when the ``with`` block ends.
    """
    import ibis

    limit = memory_limit(input_bytes(path))
    with tempfile.TemporaryDirectory(prefix="supervision-scratch-") as tmp:
        Path(tmp).chmod(0o700)
        options: dict[str, object] = {
            "memory_limit": f"{limit // 1000**2}MB",
            "temp_directory": str(Path(tmp) / "spill"),
            "preserve_insertion_order": True,
        }
        if threads:
            options["threads"] = threads
        con = ibis.duckdb.connect(str(Path(tmp) / "scratch.duckdb"), **options)
        try:
            yield con
        finally:
            con.disconnect()


__all__ = ["MAX_LIMIT", "MIN_LIMIT", "input_bytes", "memory_limit", "scratch_backend"]
