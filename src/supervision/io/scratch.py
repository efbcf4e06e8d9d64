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
without being faster (docs/large-exports.md).  A wide table raises the floor (DuckDB holds
buffers per column while writing a table: :func:`memory_limit`), within the same cap.

Every other reader (``metrics``, ``load``, ``report``, the server, a dashboard kernel) holds
the export in an *in-memory* DuckDB from :func:`memory_backend`: a memory limit of
:data:`MEMORY_DEFAULT_MB` (2 GB, or ``SUPERVISION_MAX_MEMORY_MB``) with a private spill
folder, so DuckDB moves table blocks and large intermediates to disk instead of growing past
it.  Without a limit DuckDB may take 80% of the machine: ``metrics`` on 5.2M sessions peaked
at 4.39 GB; with 2 GB it peaked at 2.78 GB and took the same time (45 s load, 42 s compute).
A smaller export never reaches the limit and runs exactly as before.
"""

from __future__ import annotations

import shutil
import tempfile
import weakref
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, TYPE_CHECKING

from supervision.settings import settings

if TYPE_CHECKING:
    from ibis.backends.duckdb import Backend

MIN_LIMIT = 128 * 1000**2
MAX_LIMIT = 500 * 1000**2
MEMORY_DEFAULT_MB = 2000
PER_COLUMN = 160 * 1000


def input_bytes(path: str | Path) -> int:
    """Total size of the files of an export (a file, or every file under a folder)."""
    p = Path(path)
    try:
        if p.is_dir():
            return sum(f.stat().st_size for f in p.rglob("*") if f.is_file())
        return p.stat().st_size if p.is_file() else 0
    except OSError:  # a path past the system's limit: the loader says so in its own words
        return 0


def memory_limit(size: int, columns: int = 0) -> int:
    """DuckDB's memory limit in bytes for an export of ``size`` bytes whose widest table has
    ``columns`` columns (see module doc).

    A table being written needs about 130 kB of DuckDB buffers per column whatever its row
    count (measured: 2,000 text columns fail at 200 MB and load at 300 MB; 8,000 need
    1.2 GB), so the floor rises by :data:`PER_COLUMN` a column; never past the cap.
    """
    cap = _cap_mb()
    top = cap * 1000**2 if cap else MAX_LIMIT
    floor = max(MIN_LIMIT, 64 * 1000**2 + PER_COLUMN * columns)
    return int(min(max(size // 2, floor), top))


def widest_csv(path: str | Path) -> int:
    """The most fields in the first line of any CSV of an export (a file, a folder or a
    zip): a cheap upper bound on its width (a quoted delimiter counts too)."""
    p = Path(path)
    heads: list[bytes] = []
    try:
        if p.is_dir():
            heads = [_first_line(f.open("rb")) for f in p.rglob("*.csv") if f.is_file()]
        elif p.suffix.lower() == ".csv" and p.is_file():  # never open a pipe: it may block
            heads = [_first_line(p.open("rb"))]
        elif p.suffix.lower() == ".zip" and zipfile.is_zipfile(p):
            with zipfile.ZipFile(p) as z:
                heads = [_first_line(z.open(n)) for n in z.namelist()
                         if n.lower().endswith(".csv")]
    except (OSError, zipfile.BadZipFile, zlib.error, EOFError, RuntimeError,
            NotImplementedError):  # a damaged, encrypted or exotic zip member
        return 0  # the reader reports what is wrong with the file
    return max((max(h.count(b","), h.count(b";")) + 1 for h in heads), default=0)


def _first_line(f: IO[bytes]) -> bytes:
    with f:
        return f.readline(1 << 20)


def _cap_mb() -> int | None:
    cap = settings().max_memory_mb
    return None if cap is None else max(cap, MIN_LIMIT // 1000**2)


def memory_backend() -> Backend:
    """An in-memory Ibis DuckDB backend with a memory limit and a private spill folder.

    The limit is ``SUPERVISION_MAX_MEMORY_MB`` or :data:`MEMORY_DEFAULT_MB`; the spill
    folder (mode 700, in the system's temporary directory, never next to the export:
    DuckDB's own default is ``.tmp`` in the current folder) is removed when the backend is
    garbage-collected or the process exits.
    """
    import ibis

    limit = _cap_mb() or MEMORY_DEFAULT_MB
    folder = tempfile.mkdtemp(prefix="supervision-spill-")
    Path(folder).chmod(0o700)
    con = ibis.duckdb.connect(memory_limit=f"{limit}MB", temp_directory=str(Path(folder) / "s"))
    weakref.finalize(con, shutil.rmtree, folder, True)
    return con


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

    limit = memory_limit(input_bytes(path), widest_csv(path))
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


__all__ = [
    "MAX_LIMIT", "MEMORY_DEFAULT_MB", "MIN_LIMIT", "PER_COLUMN", "input_bytes", "memory_backend",
    "memory_limit", "scratch_backend", "widest_csv",
]
