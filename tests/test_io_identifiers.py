"""The identifier guard (domain.md §8; issue 2, item 7).

Refused: columns *named* like direct identifiers, and values *shaped* like e-mail
addresses or phone numbers (any column) or postcodes / NHS numbers (id columns), in every
table and in mapped columns.  Never refused: the canonical columns.  The error names the
file, column and first row, and never contains the value.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from fixtures.io_exports import write_csv

from supervision.errors import IdentifierError
from supervision.io import load_export, looks_like_identifier_name
from supervision.io.mapping import canonical_columns
from supervision.measures import default_registry

S = ["client_id", "therapist_id", "episode_id", "session_date", "srs"]
E = ["episode_id", "client_id", "therapist_id", "start_date"]
T = ["therapist_id", "team"]
GOOD = {
    "sessions": (S, [["C1", "T1", "E1", "2024-01-01", "35"],
                     ["C1", "T1", "E1", "2024-01-08", "36"]]),
    "episodes": (E, [["E1", "C1", "T1", "2024-01-01"]]),
    "therapists": (T, [["T1", "North"]]),
}

IDENTIFIER_NAMES = [
    "Name", "Client Name", "client_name", "FirstName", "first_name", "Last Name", "surname",
    "Surname", "full_name", "given-name", "family name", "Forename", "username", "E-mail",
    "email", "Email Address", "phone", "Mobile", "telephone", "Tel", "tel_no", "Address",
    "street", "City", "postcode", "Post Code", "zip", "ZipCode", "DOB", "date_of_birth",
    "birth_date", "BirthDate", "NHS", "NHS Number", "nhs_no", "insurance_number",
    "Policy Number", "MRN", "medical_record_number", "record_number", "patient_number", "SSN",
    "social_security", "passport", "PassportNo",
]
ALLOWED_NAMES = [
    "session_date", "start_date", "end_date", "srs_relationship", "team", "termination",
    "rename", "hotel", "attendance", "Room", "source_row", "therapist_neurotype", "Appt Date",
    "cityscape_score", "telemetry",
]


@pytest.mark.parametrize("name", IDENTIFIER_NAMES)
def test_identifier_names_are_recognised(name: str) -> None:
    assert looks_like_identifier_name(name)


@pytest.mark.parametrize("name", ALLOWED_NAMES + canonical_columns(default_registry()))
def test_false_positives_pass(name: str) -> None:
    assert not looks_like_identifier_name(name)


def load(tmp_path: Path, tables: dict, **kw) -> None:
    folder = tmp_path / "export"
    folder.mkdir(exist_ok=True)
    for name, (cols, rows) in tables.items():
        write_csv(folder / f"{name}.csv", cols, rows)
    load_export(folder, **kw)


def add_column(table: str, name: str, values: list[str]) -> dict:
    tables = dict(GOOD)
    cols, rows = tables[table]
    cells = values * len(rows)
    tables[table] = ([*cols, name], [[*r, v] for r, v in zip(rows, cells, strict=False)])
    return tables


@pytest.mark.parametrize("table", ["sessions", "episodes", "therapists"])
@pytest.mark.parametrize("name", ["Client Name", "E-mail", "Mobile", "Address", "Postcode",
                                  "DOB", "NHS Number", "Policy Number", "MRN", "passport"])
def test_identifier_column_is_refused_in_every_table(tmp_path: Path, table: str, name: str):
    with pytest.raises(IdentifierError) as info:
        load(tmp_path, add_column(table, name, ["Ann Smith"]))
    msg = str(info.value)
    assert f"{table}.csv::{name}: this column looks like a direct identifier" in msg
    assert "Ann Smith" not in msg
    assert "drop them in a mapping file" in msg


def test_a_dropped_identifier_column_passes(tmp_path: Path) -> None:
    mapping = tmp_path / "m.toml"
    mapping.write_text('[drop]\ncolumns = ["client name"]\n', encoding="utf-8")
    load(tmp_path, add_column("sessions", "Client Name", ["Ann Smith"]), mapping=mapping)


def test_a_mapping_cannot_launder_an_identifier_column(tmp_path: Path) -> None:
    """Mapping "Client Name" onto client_id still refuses it: the export name is checked."""
    mapping = tmp_path / "m.toml"
    mapping.write_text('[columns]\n"Client Name" = "client_id"\n', encoding="utf-8")
    tables = dict(GOOD)
    cols, rows = tables["sessions"]
    tables["sessions"] = (["Client Name", *cols[1:]], rows)
    with pytest.raises(IdentifierError, match=r"sessions.csv::Client Name: this column looks"):
        load(tmp_path, tables, mapping=mapping)


VALUES = [
    ("ann.smith@example.org", "an e-mail address"),
    ("write to a.b@nhs.net please", "an e-mail address"),
    ("+44 7700 900123", "a phone number"),
    ("07700 900123", "a phone number"),
    ("07700900123", "a phone number"),
    ("(555) 123-4567", "a phone number"),
    ("555-123-4567", "a phone number"),
    ("+1 555 123 4567", "a phone number"),
]


@pytest.mark.parametrize("table", ["sessions", "episodes", "therapists"])
@pytest.mark.parametrize(("value", "kind"), VALUES)
def test_identifier_values_are_refused_in_every_table(tmp_path: Path, table, value, kind):
    # sessions has two rows: the identifier is on row 2; the other tables have one row
    values, row = (["ok", value], 2) if table == "sessions" else ([value], 1)
    with pytest.raises(IdentifierError) as info:
        load(tmp_path, add_column(table, "contact", values))
    msg = str(info.value)
    assert f"{table}.csv:{row}:contact: holds what looks like {kind}" in msg
    assert value not in msg


@pytest.mark.parametrize(("col", "value", "kind"), [
    ("client_id", "SW1A 1AA", "a UK postcode"),
    ("client_id", "sw1a1aa", "a UK postcode"),
    ("therapist_id", "943 476 5919", "an NHS number"),
    ("episode_id", "9434765919", "an NHS number"),
    ("client_id", "14/03/1987", "a date of birth"),
    ("episode_id", "1987-03-14", "a date of birth"),
    ("team", "jo@clinic.org", "an e-mail address"),
])
def test_identifier_values_in_canonical_columns(tmp_path: Path, col, value, kind) -> None:
    tables = dict(GOOD)
    cols, rows = tables["sessions"]
    if col not in cols:
        cols = [*cols, col]
        rows = [[*r, ""] for r in rows]
    rows = [list(r) for r in rows]
    rows[1][cols.index(col)] = value
    tables["sessions"] = (cols, rows)
    with pytest.raises(IdentifierError) as info:
        load(tmp_path, tables)
    assert f"sessions.csv:2:{col}: holds what looks like {kind}" in str(info.value)
    assert value not in str(info.value)


def test_identifier_values_in_a_mapped_column(tmp_path: Path) -> None:
    """An export column mapped to team is still scanned, and reported by its export name."""
    mapping = tmp_path / "m.toml"
    mapping.write_text('[columns]\n"Site" = "team"\n', encoding="utf-8")
    tables = {**GOOD, "therapists": (["therapist_id", "Site"], [["T1", "07700 900123"]])}
    with pytest.raises(IdentifierError, match=r"therapists.csv:1:Site: holds what looks like a "
                       "phone number"):
        load(tmp_path, tables, mapping=mapping)


@pytest.mark.parametrize("value", ["2024-01-05", "20240105", "35", "12.5", "C000123", "T-17",
                                   "45292", "1234567", "client 12", "05/01/2024"])
def test_ordinary_values_pass(tmp_path: Path, value: str) -> None:
    """Dates, scores, short numbers and pseudonyms do not look like identifiers."""
    load(tmp_path, add_column("sessions", "ref", [value]))


def test_every_offending_column_is_listed(tmp_path: Path) -> None:
    tables = add_column("sessions", "Surname", ["x"])
    tables = {**tables, "therapists": (["therapist_id", "Email"], [["T1", "a@b.co"]])}
    with pytest.raises(IdentifierError) as info:
        load(tmp_path, tables)
    assert len(info.value.problems) == 2


def test_cli_refuses_without_a_traceback(tmp_path: Path, capsys) -> None:
    from supervision import cli

    folder = tmp_path / "export"
    folder.mkdir()
    write_csv(folder / "sessions.csv", [*S, "notes"],
              [["C1", "T1", "E1", "2024-01-01", "35", "call 07700 900123"]])
    assert cli.main(["validate", str(folder), "--quiet"]) == 1
    err = capsys.readouterr().err
    assert "sessions.csv:1:notes: holds what looks like a phone number" in err
    assert "07700" not in err and "Traceback" not in err
