"""Ids never become paths (issue 22, item 6; domain §2 ids are pseudonyms).

A therapist id from the export used to name the folder of that therapist's bundle on the
hub: an absolute id wrote the bundle outside the private folder, ``../data`` pointed the
kernel at the prepared copy.  Now validation refuses such an id with file, row and column,
and the hub numbers its bundle folders whatever the ids are.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pandas as pd
import pytest
from e2e_support import write_hostile_demo

from supervision.errors import ExportError
from supervision.io import load_export

MESSAGE = "an id must not hold '/', '\\', a control character, or be '.' or '..'"


def _export(tmp_path: Path, column: str, bad: str) -> tuple[Path, str]:
    """A small demo with the first id of ``column`` replaced by ``bad``; returns the old id."""
    old: dict[str, str] = {}

    def swap(tables: Mapping[str, pd.DataFrame]) -> dict[str, dict[str, str]]:
        source = "therapists" if column == "therapist_id" else "episodes"
        old["id"] = sorted(tables[source][column])[0]
        return {column: {old["id"]: bad}}

    out = write_hostile_demo(tmp_path / "export", episodes=40, seed=5, swap=swap)
    return out, old["id"]


@pytest.mark.parametrize("bad", ["/tmp/T01-elsewhere", "../data", "a\\b", "..", "T01\x07"])
def test_a_therapist_id_that_reads_as_a_path_is_refused_with_its_row(
        tmp_path: Path, bad: str) -> None:
    export, _ = _export(tmp_path, "therapist_id", bad)
    therapists = pd.read_csv(export / "therapists.csv", dtype=str, keep_default_na=False)
    row = int(therapists.index[therapists["therapist_id"] == bad][0]) + 1  # header is row 0
    with pytest.raises(ExportError) as err:
        load_export(export, progress=False)
    found = [str(p) for p in err.value.problems if MESSAGE in p.message]
    assert f"therapists.csv:{row}:therapist_id: {MESSAGE}" in "\n".join(found), found
    assert any(p.startswith("episodes.csv:") for p in found)  # every table holding it
    assert bad not in str(err.value).replace(MESSAGE, "")  # the value is never echoed


@pytest.mark.parametrize("column", ["client_id", "episode_id"])
def test_client_and_episode_ids_with_a_separator_are_refused(tmp_path: Path,
                                                             column: str) -> None:
    export, _ = _export(tmp_path, column, "x/../../y")
    with pytest.raises(ExportError) as err:
        load_export(export, progress=False)
    assert any(p.column == column and MESSAGE in p.message and p.row
               for p in err.value.problems)


def test_ordinary_ids_with_dots_and_dashes_still_load(tmp_path: Path) -> None:
    export, _ = _export(tmp_path, "therapist_id", "T.01-a_b..c")
    assert "T.01-a_b..c" in load_export(export, progress=False).therapist_ids()


def test_the_hub_numbers_its_bundle_folders() -> None:
    from supervision.hub.roles import Person
    from supervision.hub.server import bundle_dirs

    people = {"a": Person("a", "therapist", therapist="T02"),
              "b": Person("b", "therapist", therapist="T01"),
              "c": Person("c", "therapist", therapist="T02"), "d": Person("d", "lead")}
    work = Path("/private/work")
    assert bundle_dirs(people, work) == {"T01": work / "bundles" / "0000",
                                         "T02": work / "bundles" / "0001"}
