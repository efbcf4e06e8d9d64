"""Progress on standard error while an export is read and checked (``supervision validate``).

Two kinds of output, both on ``stderr`` and both silenced by ``--quiet``:

* a **step line** when a step starts (``[   3.1s] reading sessions.csv (2.0 GB)``);
* while a long DuckDB statement runs, its **progress**, polled from another thread with
  ``DuckDBPyConnection.query_progress()`` (DuckDB's own estimate, in percent, of the work
  done by the running statement; DuckDB's printed bar is switched off with
  ``enable_progress_bar_print = false``).  On a terminal this is a bar redrawn in place
  (``\\r``) five times a second; otherwise (a log file, a pipe) a plain line every
  :data:`LINE_SECONDS` seconds while the figure moves.  For the step that reads a CSV, the
  percentage is also given as bytes: ``percent / 100 × file size``.
"""

from __future__ import annotations

import contextlib
import sys
import threading
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, TextIO

from supervision.settings import settings

if TYPE_CHECKING:
    import duckdb

#: Seconds between plain progress lines when standard error is not a terminal.
#: None: ``SUPERVISION_PROGRESS_SECONDS`` (default 5), read when a progress display starts.
LINE_SECONDS: float | None = None
#: Seconds between redraws of the bar on a terminal.
BAR_SECONDS = 0.2
BAR_WIDTH = 24


def _line_seconds() -> float:
    return settings().progress_seconds if LINE_SECONDS is None else LINE_SECONDS


def human_bytes(n: float) -> str:
    """``n`` bytes as ``512 B``, ``3.4 MB``, ``2.0 GB`` (powers of 1000, as file managers)."""
    for unit in ("B", "kB", "MB", "GB"):
        if abs(n) < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} GB"  # pragma: no cover - the loop always returns


def progress_text(label: str, percent: float, total_bytes: int | None, *, bar: bool) -> str:
    """One progress reading: ``label [#####.....]  40%  0.8 GB of 2.0 GB`` (bar optional).

    ``percent`` is clipped to 0–100 (DuckDB's estimate can overshoot slightly).
    """
    p = min(max(percent, 0.0), 100.0)
    size = f"{human_bytes(total_bytes * p / 100)} of {human_bytes(total_bytes)}" if total_bytes \
        else ""
    if bar:
        done = round(BAR_WIDTH * p / 100)
        gauge = "[" + "#" * done + "." * (BAR_WIDTH - done) + "]"
        return "  ".join(x for x in (label, gauge, f"{p:3.0f}%", size) if x)
    return f"{label}: {p:.0f}%" + (f" ({size})" if size else "")


class Progress:
    """Step lines and per-statement progress on ``stream`` (default ``sys.stderr``).

    Parameters
    ----------
    on
        ``False`` prints nothing (``--quiet``).
    stream
        Where to write; a terminal (``isatty()``) gets a redrawn bar, anything else lines.
    """

    def __init__(self, on: bool, stream: TextIO | None = None) -> None:
        self.on, self.t0 = on, time.perf_counter()
        self.stream = stream if stream is not None else sys.stderr
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())

    def stamp(self) -> str:
        """Elapsed time since the start, as ``[  12.3s]``."""
        return f"[{time.perf_counter() - self.t0:6.1f}s]"

    def __call__(self, message: str) -> None:
        """Print a step line."""
        if self.on:
            print(f"{self.stamp()} {message}", file=self.stream, flush=True)

    @contextlib.contextmanager
    def watch(
        self, db: duckdb.DuckDBPyConnection, label: str, total_bytes: int | None = None
    ) -> Iterator[None]:
        """Report the progress of the statements ``db`` runs inside the ``with`` block."""
        if not self.on:
            yield
            return
        db.execute("SET enable_progress_bar = true")
        db.execute("SET enable_progress_bar_print = false")
        db.execute("SET progress_bar_time = 0")
        stop = threading.Event()
        worker = threading.Thread(target=self._poll, args=(db, label, total_bytes, stop),
                                  daemon=True)
        worker.start()
        try:
            yield
        finally:
            stop.set()
            worker.join()
            db.execute("SET enable_progress_bar = false")

    def _poll(
        self, db: duckdb.DuckDBPyConnection, label: str, total: int | None, stop: threading.Event
    ) -> None:
        every = BAR_SECONDS if self.tty else _line_seconds()
        shown, last = -1.0, time.perf_counter()
        drawn = False
        while not stop.wait(BAR_SECONDS):
            try:
                percent = float(db.query_progress())
            except Exception:  # no statement running, or the connection closed
                continue
            if percent < 0 or time.perf_counter() - last < every or percent == shown:
                continue
            shown, last = percent, time.perf_counter()
            text = f"{self.stamp()} {progress_text(label, percent, total, bar=self.tty)}"
            if self.tty:
                self.stream.write("\r" + text + "\x1b[K")
                drawn = True
            else:
                self.stream.write(text + "\n")
            self.stream.flush()
        if drawn:
            self.stream.write("\n")
            self.stream.flush()


__all__ = ["LINE_SECONDS", "Progress", "human_bytes", "progress_text"]
