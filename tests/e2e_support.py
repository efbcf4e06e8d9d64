"""Helpers shared by the browser tests (``tests/e2e``) and the server tests outside it.

* :func:`e2e_conftest` loads ``tests/e2e/conftest.py`` by path (conftest modules are not
  importable by name), so tests elsewhere start ``supervision serve`` exactly as the browser
  tests do (its ``Server``, ``CHROMIUM``, ``CHROMIUM_ARGS``, ``HOSTILE``).
* :func:`process_tree` lists the processes a test started (its server and everything below
  it), found from that server's pid, never by a pattern over the machine's processes.
* :func:`write_hostile_demo` writes a synthetic demo export and puts HTML / script payloads
  in its ids and team names, for the escaping tests.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd
from processes import cmdline, tree

ROOT = Path(__file__).resolve().parents[1]
TABLES = ("sessions", "episodes", "therapists")
#: Given the demo's tables, the id replacements: column -> {old id: new id}.
IdSwap = Callable[[Mapping[str, pd.DataFrame]], Mapping[str, Mapping[str, str]]]


def e2e_conftest() -> Any:
    """The e2e conftest module, loaded afresh (Server, CHROMIUM, CHROMIUM_ARGS, HOSTILE)."""
    spec = importlib.util.spec_from_file_location(
        "_supervision_e2e_conftest", ROOT / "tests" / "e2e" / "conftest.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def process_tree(root: int) -> list[tuple[int, str]]:
    """(pid, command line) of ``root`` and every process below it (Voilà, its kernels): only
    what the test itself started (:mod:`processes`)."""
    return [(pid, cmdline(pid)) for pid in tree(root)]


def write_hostile_demo(
    out: Path, *, episodes: int, seed: int, swap: IdSwap, teams: Sequence[str] = ()
) -> Path:
    """``write_demo(out, episodes=, seed=)``, then ids replaced in every table that has them.

    ``swap`` gets the demo's tables (read as text) and returns, per id column
    (``therapist_id``, ``episode_id``, ``client_id``), the ids to replace; ``teams``, when
    given, become the therapists' team names in turn.  Returns ``out``.
    """
    from supervision.demo import write_demo

    write_demo(out, episodes=episodes, seed=seed)
    tables = {n: pd.read_csv(out / f"{n}.csv", dtype=str, keep_default_na=False)
              for n in TABLES}
    replace = swap(tables)
    for df in tables.values():
        for column, ids in replace.items():
            if column in df:
                df.replace({column: dict(ids)}, inplace=True)
    if teams:
        n = len(tables["therapists"])
        tables["therapists"]["team"] = [teams[i % len(teams)] for i in range(n)]
    for n, df in tables.items():
        df.to_csv(out / f"{n}.csv", index=False)
    return out
