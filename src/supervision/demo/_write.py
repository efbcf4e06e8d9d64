"""Write the demo frames as files, with a README that labels them SYNTHETIC.

The folder guard: ``out`` may be new, empty, or a previous demo export (only the files this
command writes, and a ``README.md`` whose first line is the synthetic-data mark).  Anything
else is refused, so a user's real export (even one whose files are called ``sessions.csv``)
is never overwritten.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from supervision.demo._frames import DATE_COLUMNS, INTEGER_COLUMNS
from supervision.demo._readme import MARK, readme_text
from supervision.errors import ConfigError
from supervision.schema import TABLES

_FORMATS = ("csv", "parquet")
OWN_FILES = frozenset({"README.md"} | {f"{t}.{x}" for t in TABLES for x in _FORMATS})


@dataclass(frozen=True)
class DemoSummary:
    """What :func:`supervision.demo.write_demo` wrote.

    Attributes
    ----------
    out
        The folder written.
    files
        File names written, tables first, then ``README.md``.
    rows
        Rows per table: ``{"sessions": ..., "episodes": ..., "therapists": ...}``.
    teams
        Number of teams.
    first_date, last_date
        First and last session date.
    seed
        The generator's seed.
    """

    out: Path
    files: tuple[str, ...]
    rows: dict[str, int]
    teams: int
    first_date: dt.date
    last_date: dt.date
    seed: int

    def __str__(self) -> str:
        tables = ", ".join(
            f"{name} ({self.rows[name.split('.')[0]]:,} rows)" for name in self.files[:3]
        )
        return (
            f"Wrote a SYNTHETIC demo export to {self.out} (seed {self.seed}): {tables} and "
            f"README.md. {self.rows['episodes']:,} episodes of {self.rows['therapists']:,} "
            f"therapists in {self.teams} teams, sessions from {self.first_date.isoformat()} to "
            f"{self.last_date.isoformat()}. No real person is in these data."
        )


def check_target(out: Path) -> None:
    """Refuse (``ConfigError``) a folder holding anything but a previous demo export."""
    if out.exists() and not out.is_dir():
        raise ConfigError(f"{out} exists and is not a folder; give --out a new or empty folder")
    if not out.exists():
        return
    names = sorted(p.name for p in out.iterdir())
    if not names:
        return
    foreign = [n for n in names if n not in OWN_FILES]
    readme = out / "README.md"
    ours = readme.is_file() and readme.read_text(encoding="utf-8").startswith(MARK)
    if foreign or not ours:
        shown = ", ".join(foreign[:5] or names[:5]) + (" …" if len(foreign) > 5 else "")
        raise ConfigError(
            f"{out} is not empty and is not a demo export written by `supervision demo` "
            f"(it holds {shown}); nothing was written. Give --out a new or empty folder."
        )


def write_files(
    out: Path,
    frames: tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame],
    *,
    episodes: int,
    seed: int,
    fmt: str,
) -> DemoSummary:
    """Write ``frames`` as ``sessions``/``episodes``/``therapists`` files and a README."""
    check_target(out)
    out.mkdir(parents=True, exist_ok=True)
    for stale in OWN_FILES - {"README.md"}:  # a previous demo in the other format
        (out / stale).unlink(missing_ok=True)
    files = []
    for name, df in zip(TABLES, frames, strict=True):
        path = out / f"{name}.{fmt}"
        table = _arrow_table(df)
        if fmt == "csv":
            _write_csv(table, path)
        else:
            pq.write_table(table, path)
        files.append(path.name)
    sessions, _, therapists = frames
    text = readme_text(frames, episodes=episodes, seed=seed, fmt=fmt)
    (out / "README.md").write_text(text, encoding="utf-8", newline="\n")
    dates = sessions["session_date"]
    return DemoSummary(
        out=out, files=(*files, "README.md"),
        rows={t: len(f) for t, f in zip(TABLES, frames, strict=True)},
        teams=therapists["team"].nunique(),
        first_date=dates.min().date(), last_date=dates.max().date(), seed=seed,
    )


def _write_csv(table: pa.Table, path: Path) -> None:
    """UTF-8 CSV, ``,``-delimited, ``\n`` line ends, no quotes, empty cells for missing values.

    Arrow's writer is about ten times faster than pandas' on a million rows.  ``quoting_style
    ="none"`` raises rather than write a value holding a delimiter or quote (ids, categories
    and tags never do); the header is written here because Arrow always quotes it.
    """
    with path.open("wb") as fh:
        fh.write((",".join(table.column_names) + "\n").encode("utf-8"))
        pacsv.write_csv(table, fh, pacsv.WriteOptions(include_header=False, quoting_style="none"))


def _arrow_table(df: pd.DataFrame) -> pa.Table:
    """Arrow table with ``date32`` dates and ``int64`` whole-number measures."""
    table = pa.Table.from_pandas(df, preserve_index=False).replace_schema_metadata(None)
    for col in (*DATE_COLUMNS, *INTEGER_COLUMNS):
        if col in table.column_names:
            i = table.column_names.index(col)
            target = pa.date32() if col in DATE_COLUMNS else pa.int64()
            table = table.set_column(i, col, table.column(col).cast(target))
    return table
