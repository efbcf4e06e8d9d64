"""The identifier guard on the forms a determined tester used (issue 12, items 6 and 9).

Column names in German, French, Spanish and Dutch (and ``Mail``, ``Birth``, ``Born``);
Unicode look-alikes, full-width letters and invisible characters; e-mails with a non-ASCII
domain; phone numbers with a no-break space, an en dash or a country code without ``+``;
NHS numbers (Modulus 11) in any column; compact dates of birth inside an id.  And what must
still pass: the contract's columns, ordinary ids (``C0001``, ``T07``, ``E-2023-0042``),
numbering schemes, scores.  Last, a wide export (1,500 extra columns) validates within a
memory bound, measured as the peak RSS of the CLI in a child process.
"""

from __future__ import annotations

import csv
import os
import sys
from pathlib import Path

import pytest
from fixtures.io_exports import write_csv
from fixtures.peak_rss import run_with_peak_rss
from hypothesis import given, settings
from hypothesis import strategies as st

from supervision.errors import IdentifierError
from supervision.io import load_export, looks_like_identifier_name
from supervision.io.mapping import canonical_columns
from supervision.measures import default_registry

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "data" / "demo"

FOREIGN_NAMES = [
    # German
    "Name", "Vorname", "Nachname", "Geburtsdatum", "Anschrift", "Adresse", "Telefon",
    "Postleitzahl", "PLZ", "Straße", "Wohnort", "Handynummer", "Versichertennummer",
    # French
    "nom", "prénom", "Prénom", "adresse", "téléphone", "date de naissance", "courriel",
    "code postal", "Numéro de sécurité sociale", "ville",
    # Spanish
    "nombre", "apellido", "Apellidos", "dirección", "teléfono", "fecha de nacimiento",
    "correo", "Correo electrónico", "código postal", "DNI",
    # Dutch
    "naam", "voornaam", "achternaam", "adres", "telefoon", "geboortedatum", "postcode",
    "woonplaats", "BSN",
    # English forms the old list missed
    "Mail", "mail", "Birth", "Born", "Place of birth",
]
#: Look-alike, full-width and invisible-character forms of refused names.
DISGUISED_NAMES = [
    "N\u0430me",  # Cyrillic a
    "\u0421lient \u039d\u0430me",  # Cyrillic C, Greek N, Cyrillic a
    "\uff2e\uff41\uff4d\uff45",  # full-width Name
    "\uff25\u2010mail",  # full-width E, hyphen U+2010
    "Sur\u200bname",  # zero-width space
    "Date\u00a0of\u00a0Birth",  # no-break spaces
    "\u0440hone",  # Cyrillic er
    "Post\u00adcode",  # soft hyphen
]
ALLOWED_NAMES = [
    "Sport", "Report", "Datum", "Sitzung", "Therapeut", "notes", "Anzahl", "score_total",
    "Appt Date", "room", "Nombre de séances", "cohort", "remark", "Ortho_score",
]


@pytest.mark.parametrize("name", FOREIGN_NAMES + DISGUISED_NAMES)
def test_foreign_and_disguised_names_are_refused(name: str) -> None:
    assert looks_like_identifier_name(name)


@pytest.mark.parametrize("name", ALLOWED_NAMES)
def test_ordinary_names_pass(name: str) -> None:
    # "Nombre de séances" is French for "number of sessions": "nombre" alone is Spanish for
    # name, so it is refused; documented as the price of matching whole words.
    assert looks_like_identifier_name(name) == (name == "Nombre de séances")


#: Latin letter -> a Cyrillic or Greek look-alike.
LOOK_ALIKES = {"a": "\u0430", "e": "\u0435", "o": "\u043e", "p": "\u0440", "c": "\u0441",
               "x": "\u0445", "y": "\u0443", "i": "\u0456", "A": "\u0391", "B": "\u0392",
               "E": "\u0395", "H": "\u0397", "K": "\u039a", "M": "\u041c", "N": "\u039d",
               "O": "\u041e", "P": "\u0420", "T": "\u0422", "C": "\u0421", "X": "\u0425"}
INVISIBLE = ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad"]


@st.composite
def disguised(draw: st.DrawFn, name: str) -> str:
    """``name`` with any letters swapped for full-width or look-alike forms, invisible
    characters inserted and spaces made no-break: each a change NFKC + confusables undo."""
    out = []
    for ch in draw(st.sampled_from([name, name.upper(), name.lower()])):
        forms = [ch]
        if "!" <= ch <= "~":
            forms.append(chr(ord(ch) + 0xFEE0))  # full-width
        if ch in LOOK_ALIKES:
            forms.append(LOOK_ALIKES[ch])
        if ch == " ":
            forms += ["\u00a0", "\u202f", "\u3000"]
        out.append(draw(st.sampled_from(forms)))
        if draw(st.integers(0, 5)) == 0:
            out.append(draw(st.sampled_from(INVISIBLE)))
    return "".join(out)


REFUSED = [*FOREIGN_NAMES, "Client Name", "first_name", "E-mail", "Mobile", "Address",
           "DOB", "NHS Number", "Policy Number", "MRN", "passport", "surname"]
CONTRACT = canonical_columns(default_registry())


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(REFUSED).flatmap(disguised))
def test_any_disguise_of_a_refused_name_is_refused(name: str) -> None:
    assert looks_like_identifier_name(name), repr(name)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(CONTRACT).flatmap(
    lambda c: st.sampled_from([c, c.replace("_", " "), c.replace("_", "-")])).flatmap(disguised))
def test_the_contract_columns_are_never_refused(name: str) -> None:
    assert not looks_like_identifier_name(name), repr(name)


S = ["client_id", "therapist_id", "episode_id", "session_date", "srs"]
GOOD = {
    "sessions": (S, [["C0001", "T07", "E-2023-0042", "2024-01-01", "35"],
                     ["C0001", "T07", "E-2023-0042", "2024-01-08", "36"]]),
    "episodes": (["episode_id", "client_id", "therapist_id", "start_date"],
                 [["E-2023-0042", "C0001", "T07", "2024-01-01"]]),
    "therapists": (["therapist_id", "team"], [["T07", "North"]]),
}


def load(tmp_path: Path, tables: dict) -> None:
    folder = tmp_path / "export"
    folder.mkdir(exist_ok=True)
    for name, (cols, rows) in tables.items():
        write_csv(folder / f"{name}.csv", cols, rows)
    load_export(folder)


def with_cell(column: str, value: str) -> dict:
    """GOOD with ``value`` on sessions row 2 of ``column`` (added when not there)."""
    cols, rows = GOOD["sessions"]
    rows = [list(r) for r in rows]
    if column not in cols:
        cols, rows = [*cols, column], [[*r, ""] for r in rows]
    rows[1][cols.index(column)] = value
    return {**GOOD, "sessions": (cols, rows)}


@pytest.mark.parametrize("name", ["Vorname", "téléphone", "fecha de nacimiento",
                                  "geboortedatum", "N\u0430me", "\uff2d\uff41\uff49\uff4c"])
def test_a_foreign_or_disguised_column_is_refused_by_name(tmp_path: Path, name: str) -> None:
    with pytest.raises(IdentifierError) as info:
        load(tmp_path, with_cell(name, "Jane Roe"))
    msg = str(info.value)
    assert f"sessions.csv::{name}: this column looks like a direct identifier" in msg
    assert "Jane" not in msg and "Roe" not in msg


VALUES = [
    ("notes", "jane@bücher.de", "an e-mail address"),
    ("notes", "write to jane@例え.jp", "an e-mail address"),
    ("notes", "\uff4a\uff41\uff4e\uff45\uff20example.org", "an e-mail address"),  # full-width
    ("notes", "+44\u00a07700\u00a0900123", "a phone number"),  # no-break spaces
    ("notes", "07700\u2013900123", "a phone number"),  # en dash
    ("notes", "\uff10\uff17\uff17\uff10\uff10 \uff19\uff10\uff10\uff11\uff12\uff13",
     "a phone number"),  # full-width digits
    ("notes", "447700900123", "a phone number"),  # country code without +
    ("notes", "call 33612345678", "a phone number"),
    ("notes", "0044 7700 900123", "a phone number"),
    ("notes", "9434765919", "an NHS number"),  # Modulus 11 valid
    ("notes", "NHS no 943-476-5919", "an NHS number"),
    ("team", "4505577104", "an NHS number"),
    ("client_id", "C-19850312", "a date of birth"),
    ("client_id", "19850312", "a date of birth"),
    ("client_id", "120385", "a date of birth"),
    ("client_id", "JS120385", "a date of birth"),
    ("episode_id", "E-03121985", "a date of birth"),
    ("client_id", "SW1\u0410 1AA", "a UK postcode"),  # Cyrillic A
]


@pytest.mark.parametrize(("column", "value", "kind"), VALUES)
def test_identifier_forms_are_refused_without_the_value(tmp_path: Path, column, value, kind):
    with pytest.raises(IdentifierError) as info:
        load(tmp_path, with_cell(column, value))
    msg = str(info.value)
    assert f"sessions.csv:2:{column}: holds what looks like {kind}" in msg
    for piece in [value, *value.split()]:
        assert len(piece) < 5 or piece not in msg


@pytest.mark.parametrize(("column", "value"), [
    ("notes", "9434765918"),  # fails Modulus 11, no phone shape
    ("notes", "1700000000000"),  # a timestamp in milliseconds
    ("notes", "E-2023-0042"), ("notes", "35"), ("notes", "12.5"), ("notes", "20240105"),
    ("notes", "2024-01-05"), ("client_id", "C0002"), ("therapist_id", "T08"),
    ("episode_id", "E-2024-0001"), ("episode_id", "E00001"), ("client_id", "C000123"),
])
def test_ordinary_values_pass(tmp_path: Path, column: str, value: str) -> None:
    old = {"client_id": "C0001", "therapist_id": "T07", "episode_id": "E-2023-0042"}.get(column)
    if old is None:
        tables = with_cell(column, value)
    else:  # an id: replaced in every table, so the tables stay linked
        tables = {t: (cols, [[value if c == old else c for c in r] for r in rows])
                  for t, (cols, rows) in GOOD.items()}
    load(tmp_path, tables)


def test_a_numbering_scheme_is_not_a_date_of_birth(tmp_path: Path) -> None:
    """``C100001``…``C100300``: 2 in 3 read as DDMMYY dates by chance (``C100123`` =
    10/01/23), but dense in their range, unlike dates of birth."""
    ids = [f"C{n}" for n in range(100001, 100301)]
    rows = [[c, "T07", f"E{c}", "2024-01-01", "35"] for c in ids]
    eps = [[f"E{c}", c, "T07", "2024-01-01"] for c in ids]
    load(tmp_path, {**GOOD, "sessions": (S, rows), "episodes": (GOOD["episodes"][0], eps)})


def test_dates_of_birth_as_ids_are_refused_in_a_whole_column(tmp_path: Path) -> None:
    ids = [f"JS{d:02d}{m:02d}{y:02d}" for d, m, y in [(12, 3, 85), (1, 7, 62), (30, 11, 99),
                                                     (5, 5, 71), (17, 2, 90), (23, 9, 58)]]
    rows = [[c, "T07", f"E{i}", "2024-01-01", "35"] for i, c in enumerate(ids)]
    eps = [[f"E{i}", c, "T07", "2024-01-01"] for i, c in enumerate(ids)]
    with pytest.raises(IdentifierError, match=r"sessions.csv:1:client_id: holds what looks "
                       "like a date of birth"):
        load(tmp_path, {**GOOD, "sessions": (S, rows), "episodes": (GOOD["episodes"][0], eps)})


# --- a wide export (item 9) -----------------------------------------------------------------

EXTRA = 1500
#: DuckDB's memory limit for ``validate`` (scratch.MAX_LIMIT, the default cap).
CAP = 500 * 1000**2


def _validate(path: Path) -> tuple[int, str, int]:
    env = {k: v for k, v in os.environ.items() if k != "SUPERVISION_MAX_MEMORY_MB"}
    proc, rss = run_with_peak_rss(
        [sys.executable, "-m", "supervision.cli", "validate", "--quiet", str(path)],
        env=env, timeout=600,
    )
    return proc.returncode, proc.stderr.decode()[-2000:], rss


def _wide(out: Path) -> Path:
    """The demo's first 1,000 sessions with 1,500 extra one-digit columns (about 3 MB)."""
    out.mkdir()
    with (DEMO / "sessions.csv").open(encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f))
    head, body = rows[0], rows[1:1001]
    episodes = {r[2] for r in body}
    with (out / "sessions.csv").open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(head + [f"extra_{i:04d}" for i in range(EXTRA)])
        for n, r in enumerate(body):
            w.writerow(r + [str((n * 7 + i) % 10) for i in range(EXTRA)])
    with (DEMO / "episodes.csv").open(encoding="utf-8", newline="") as f:
        e_rows = list(csv.reader(f))
    with (out / "episodes.csv").open("w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows([e_rows[0], *(r for r in e_rows[1:] if r[0] in episodes)])
    (out / "therapists.csv").write_bytes((DEMO / "therapists.csv").read_bytes())
    return out


@pytest.mark.slow
def test_a_wide_export_validates_within_the_memory_cap(tmp_path: Path) -> None:
    """Peak RSS ≤ baseline (the demo's validate) + DuckDB's cap.  Measured: baseline
    ~260 MB, this export ~350 MB.  Before, 1,000 extra columns peaked at 5.7 GB in the
    identifier scan (one statement with the checks written out per column), and 2,000 ran
    out of DuckDB memory while being read (a 128 MB limit for a 4 MB file)."""
    code, err, base = _validate(DEMO)
    assert code == 0, err
    code, err, rss = _validate(_wide(tmp_path / "wide"))
    print(f"\nwide export ({EXTRA} extra columns): peak RSS {rss / 1e6:.0f} MB, "
          f"baseline {base / 1e6:.0f} MB")
    assert code == 0, err
    assert rss <= base + CAP, (rss, base)
