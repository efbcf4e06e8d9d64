"""Reading a small TOML settings file (a mapping, a measure registry, a roles file) with our
own words for every way it can fail: no message quotes the file or an OS or parser error."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path


def read_toml_text(p: Path, what: str) -> tuple[str | None, str]:
    """``(text, "")``, or ``(None, why not)`` in our own words: a folder, a pipe, a missing
    file and bytes that are not UTF-8 each get a message, never the OS's or codec's text."""
    if p.is_dir():
        return None, f"is a folder, not a {what} (give the .toml file)"
    if not p.exists():
        return None, f"{what} not found"
    if not p.is_file():
        return None, f"is not a regular file (a named pipe, device or socket); give the {what}"
    try:
        return p.read_text(encoding="utf-8"), ""
    except UnicodeDecodeError as exc:
        return None, f"is not UTF-8 text (first bad byte at position {exc.start})"
    except OSError as exc:
        return None, f"could not be read ({type(exc).__name__})"


def toml_problem(exc: tomllib.TOMLDecodeError) -> str:
    """Where a TOML file is malformed: only the line and column numbers of the parser's
    message are kept (its wording may quote the file)."""
    where = re.search(r"at line (\d+), column (\d+)", str(exc))
    at = f" at line {where.group(1)}, column {where.group(2)}" if where else ""
    if not where and "end of document" in str(exc):
        at = " at the end of the file"
    return (f"not valid TOML{at} (check quotes, = signs and [section] lines there; "
            "a name with spaces needs double quotes)")


__all__ = ["read_toml_text", "toml_problem"]
