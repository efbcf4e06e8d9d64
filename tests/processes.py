"""The processes a test started, found from the pid it holds — never by a pattern over the
command lines of the whole machine, where another test's server (or another person's) would
match.  One place for every test that looks at its servers' children (Voilà kernels, the hub's
single-user servers), through psutil rather than hand-parsed ``/proc`` files.
"""

from __future__ import annotations

import psutil


def tree(root: int) -> list[int]:
    """``root`` and every live process below it, ``root`` first (an exited root: ``[]``)."""
    try:
        proc = psutil.Process(root)
        return [root, *(p.pid for p in proc.children(recursive=True))]
    except psutil.Error:
        return []


def descendants(root: int) -> list[int]:
    """Every live process below ``root`` (``root`` excluded)."""
    return tree(root)[1:]


def cmdline(pid: int) -> str:
    """The process's command line as one string ('' once it has gone)."""
    try:
        return " ".join(psutil.Process(pid).cmdline())
    except psutil.Error:
        return ""


def environ(pid: int) -> dict[str, str]:
    """The environment the process started with ({} once it has gone)."""
    try:
        return dict(psutil.Process(pid).environ())
    except psutil.Error:
        return {}


def rss_bytes(pids: list[int]) -> int:
    """Total resident memory of the processes still alive among ``pids``."""
    total = 0
    for pid in pids:
        try:
            total += psutil.Process(pid).memory_info().rss
        except psutil.Error:
            continue
    return total
