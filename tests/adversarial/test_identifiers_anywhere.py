"""No identifier ever reaches an error message: planted anywhere, it is refused, never echoed.

Each case plants one direct identifier (e-mail, phone, NHS number, postcode, date of birth,
a name) in one cell of the hand-made export of ``tests/fixtures/io_exports.py`` — in an id
column, a category column, a free-text column (``team``), a number column, or a column the
guard does not know — in the three-table form and the flat form.  ``supervision validate``
and ``supervision metrics`` must end in exit 1 (the export is refused or invalid) and the
planted value, in any letter case, must not occur in anything they print.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from fixtures import io_exports as fx

from supervision import cli

IDENTIFIERS = {
    "email": "jane.roe@example.org",
    "phone": "+44 7700 900123",
    "uk_mobile": "07700 900123",
    "nhs_number": "943 476 5919",
    "postcode": "SW1A 1AA",
    "dob": "14/03/1987",
    "name_email": "Roe, Jane <jane.roe@example.org>",
}
#: (table, column) -> whether the column exists in the canonical table
CELLS = [("sessions", "client_id"), ("sessions", "episode_id"), ("sessions", "attendance"),
         ("sessions", "rupture"), ("sessions", "srs"), ("sessions", "session_date"),
         ("episodes", "client_neurotype"), ("episodes", "termination"),
         ("therapists", "therapist_id"), ("therapists", "team")]
#: By design (identifiers.py, domain.md §8) a postcode or a bare date is refused by its shape
#: in id columns only (a team may be named by its site's postcode; a free-text date is not
#: a birth date by its shape).  Elsewhere it may be accepted, but never echoed in an error.
SHAPE_IN_ID_ONLY = {"postcode", "dob"}
ID_COLUMNS = {"client_id", "episode_id", "therapist_id"}


def _tables() -> dict[str, tuple[list[str], list[list[str]]]]:
    return {"sessions": (fx.S_COLS, [r[:] for r in fx.SESSIONS]),
            "episodes": (fx.E_COLS, [r[:] for r in fx.EPISODES]),
            "therapists": (fx.T_COLS, [r[:] for r in fx.THERAPISTS])}


def _plant(folder: Path, table: str, column: str, value: str) -> Path:
    tables = _tables()
    cols, rows = tables[table]
    rows[1 % len(rows)][cols.index(column)] = value
    folder.mkdir(parents=True)
    for name, (c, r) in tables.items():
        fx.write_csv(folder / f"{name}.csv", c, r)
    return folder


def _extra_column(folder: Path, value: str) -> Path:
    """An unknown column ``notes`` with the identifier in one row."""
    tables = _tables()
    cols, rows = tables["sessions"]
    tables["sessions"] = ([*cols, "notes"], [[*r, value if i == 2 else ""]
                                             for i, r in enumerate(rows)])
    folder.mkdir(parents=True)
    for name, (c, r) in tables.items():
        fx.write_csv(folder / f"{name}.csv", c, r)
    return folder


def _outputs(path: Path, capsys: pytest.CaptureFixture[str]) -> list[tuple[str, int, str]]:
    results = []
    for argv in (["validate", str(path), "--quiet"], ["metrics", str(path)],
                 ["metrics", str(path), "--format", "csv"]):
        capsys.readouterr()
        code = cli.main(argv)
        out, err = capsys.readouterr()
        results.append((argv[0], code, out + err))
    return results


def _assert_not_echoed(value: str, results: list[tuple[str, int, str]], where: str, *,
                       refused: bool = True, by_guard: bool = False) -> None:
    """Exit 1 (or 0 if not ``refused``) and no echo; with ``by_guard``, refused *as an
    identifier* (the value guard's message), not by some other rule the plant happens to
    break (a changed client id also breaks the episode's links)."""
    for command, code, text in results:
        assert code == 1 or (not refused and code == 0), f"{command}: {where}: exit {code}"
        if by_guard:
            assert "identifiers must not be in the export" in text, f"{command}: {where}: {text}"
        low = text.lower()
        for piece in {value, value.replace(" ", "")} | set(value.split()):
            if len(piece) >= 5:  # whole value and its long parts (e.g. 'jane.roe@...')
                assert piece.lower() not in low, f"{command} echoed {piece!r} ({where}): {text}"


@pytest.mark.parametrize("kind", sorted(IDENTIFIERS))
def test_planted_identifier_is_refused_and_never_echoed(
    kind: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    value = IDENTIFIERS[kind]
    for table, column in CELLS:
        path = _plant(tmp_path / f"{table}-{column}", table, column, value)
        _assert_not_echoed(value, _outputs(path, capsys), f"{kind} in {table}.{column}",
                           refused=kind not in SHAPE_IN_ID_ONLY or column in ID_COLUMNS,
                           by_guard=column in ID_COLUMNS)
    path = _extra_column(tmp_path / "notes", value)
    _assert_not_echoed(value, _outputs(path, capsys), f"{kind} in an unknown column",
                       refused=kind not in SHAPE_IN_ID_ONLY,
                       by_guard=kind not in SHAPE_IN_ID_ONLY)
