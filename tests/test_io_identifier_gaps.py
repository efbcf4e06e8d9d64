"""Identifier forms the guard let through (issue 23 item 6), each refused now.

A tester loaded, on main, exports whose id columns held personal names (``Jane Smith``) or
written-out dates of birth (``14 Mar 1987``, ``March 14, 1987``), any column holding a UK
National Insurance number (``QQ 12 34 56 C``), extra columns named ``Client``, ``Patient``,
``Klient`` or ``Ref`` holding names, and e-mails written ``jane(at)example(dot)com`` or
``jane @ example.com``: all loaded.  Each must now be refused with
``file:row:column: holds what looks like <kind>`` and without echoing the value.  What must
still pass: ordinary pseudonyms, team names, notes that merely use "at" and "dot", dates
in a free-text column that is not about a person.  Columns outside the data contract are
dropped right after the identifier guard: they never reach the canonical tables, and the
``validate`` summary names them.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from fixtures.io_exports import write_csv

from supervision.cli import main
from supervision.errors import IdentifierError
from supervision.io import load_export

S = ["client_id", "therapist_id", "episode_id", "session_date", "srs"]
GOOD = {
    "sessions": (S, [["C0001", "T07", "E-2023-0042", "2024-01-01", "35"],
                     ["C0001", "T07", "E-2023-0042", "2024-01-08", "36"]]),
    "episodes": (["episode_id", "client_id", "therapist_id", "start_date"],
                 [["E-2023-0042", "C0001", "T07", "2024-01-01"]]),
    "therapists": (["therapist_id", "team"], [["T07", "North"]]),
}
IDS = {"client_id": "C0001", "therapist_id": "T07", "episode_id": "E-2023-0042"}


def _write(tmp_path: Path, tables: dict) -> Path:
    folder = tmp_path / "export"
    folder.mkdir(exist_ok=True)
    for name, (cols, rows) in tables.items():
        write_csv(folder / f"{name}.csv", cols, rows)
    return folder


def with_cell(column: str, value: str) -> dict:
    """GOOD with ``value`` on sessions data row 2 of ``column`` (added when not there); an
    id is replaced in every table so that the tables stay linked."""
    if column in IDS:
        old = IDS[column]
        return {t: (cols, [[value if c == old else c for c in r] for r in rows])
                for t, (cols, rows) in GOOD.items()}
    cols, rows = GOOD["sessions"]
    rows = [list(r) for r in rows]
    if column not in cols:
        cols, rows = [*cols, column], [[*r, ""] for r in rows]
    rows[1][cols.index(column)] = value
    return {**GOOD, "sessions": (cols, rows)}


REFUSED = [
    # personal names in an id column
    ("client_id", "Jane Smith", "a personal name", 1),
    ("client_id", "Smith, Jane", "a personal name", 1),
    ("therapist_id", "Dr Amira O'Neill", "a personal name", 1),
    ("episode_id", "Mary-Jane Watson", "a personal name", 1),
    # written-out dates of birth in an id column
    ("client_id", "14 Mar 1987", "a written-out date", 1),
    ("client_id", "March 14, 1987", "a written-out date", 1),
    ("client_id", "14th of March 1987", "a written-out date", 1),
    ("client_id", "C-14Mar1987", "a written-out date", 1),
    # UK National Insurance numbers, anywhere scanned
    ("notes", "QQ 12 34 56 C", "a National Insurance number", 2),
    ("notes", "NI: QQ123456C", "a National Insurance number", 2),
    ("client_id", "AB123456D", "a National Insurance number", 1),
    # extra columns about a person holding names
    ("Client", "Jane Smith", "a personal name", 2),
    ("Patient", "Jane Smith", "a personal name", 2),
    ("Klient", "Jane Smith", "a personal name", 2),
    ("Ref", "Jane Smith", "a personal name", 2),
    ("Client Ref", "Smith, J.", "a personal name", 2),
    ("Patient", "14 March 1987", "a written-out date", 2),
    # e-mails written to dodge a filter
    ("notes", "jane(at)example(dot)com", "an e-mail address written to dodge a filter", 2),
    ("notes", "jane @ example.com", "an e-mail address written to dodge a filter", 2),
    ("notes", "jane [at] example [dot] co [dot] uk",
     "an e-mail address written to dodge a filter", 2),
    ("notes", "write to jane at example dot com",
     "an e-mail address written to dodge a filter", 2),
    ("team", "jane (at) example (dot) org", "an e-mail address written to dodge a filter", 2),
]


@pytest.mark.parametrize(("column", "value", "kind", "row"), REFUSED)
def test_identifier_form_is_refused_naming_file_row_column(
    tmp_path: Path, column: str, value: str, kind: str, row: int
) -> None:
    """``row``: the first data row holding it (an id appears from data row 1)."""
    if column == "team":  # the therapists table's team column: one data row
        cols, _ = GOOD["therapists"]
        tables = {**GOOD, "therapists": (cols, [["T07", value]])}
        where = f"therapists.csv:1:{column}"
    else:
        tables = with_cell(column, value)
        where = f"sessions.csv:{row}:{column}"
    with pytest.raises(IdentifierError) as info:
        load_export(_write(tmp_path, tables))
    msg = str(info.value)
    assert f"{where}: holds what looks like {kind}" in msg, msg
    for piece in [value, *value.replace(",", " ").split()]:
        assert len(piece) < 5 or piece not in msg, piece


PASSING = [
    ("client_id", "C0002"), ("client_id", "Client 17"), ("therapist_id", "T08"),
    ("episode_id", "E-2024-0001"), ("client_id", "CL-0042-B"),
    ("notes", "seen at home, dot points agreed"),  # "at" and "dot", no address
    ("notes", "Meet at 3. Then review"),
    ("notes", "Referral received 14 Mar 2023"),  # a date, not in a column about a person
    ("notes", "Jane Smith"),  # a name in a column that is not about a person is still
    # dropped, never loaded (see the next test); the guard reads names only where a column
    # says it is about a person or is an id
    ("team", "North Leeds"), ("Site", "Central Manchester"),
    ("Client group", "adults"), ("srs", "35"),
]


@pytest.mark.parametrize(("column", "value"), PASSING)
def test_ordinary_values_still_load(tmp_path: Path, column: str, value: str) -> None:
    if column == "team":
        cols, _ = GOOD["therapists"]
        tables = {**GOOD, "therapists": (cols, [["T07", value]])}
    else:
        tables = with_cell(column, value)
    load_export(_write(tmp_path, tables))


def test_columns_outside_the_contract_never_reach_the_tables(tmp_path: Path) -> None:
    """An extra column is read for the identifier guard only: the canonical tables hold
    exactly the contract's columns, and no value of the extra column is anywhere in them."""
    tables = with_cell("Comments", "phoned about Tuesday")
    cl = load_export(_write(tmp_path, tables))
    for table in (cl.sessions, cl.episodes, cl.therapists):
        df = table.execute()
        assert "Comments" not in df.columns and "comments" not in df.columns
        assert not df.astype(str).apply(lambda c: c.str.contains("Tuesday")).any().any()
    raw = cl.con.con.execute(
        "SELECT table_name, column_name FROM duckdb_columns() WHERE NOT internal").fetchall()
    assert all(not c.startswith("c") or not c[1:].isdigit() for _, c in raw), raw


def test_validate_summary_names_the_ignored_columns(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = _write(tmp_path, with_cell("Comments", "phoned about Tuesday"))
    assert main(["validate", str(folder)]) == 0
    out = capsys.readouterr().out
    assert "sessions.csv: ignored columns" in out and "Comments" in out
    assert "never loaded" in out
    assert "Tuesday" not in out
