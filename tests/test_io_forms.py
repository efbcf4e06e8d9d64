"""Every accepted export form loads to the same canonical tables (issue 2, item 3).

The reference is :meth:`Caseload.from_frames` fed with the hand-written rows of
``fixtures/io_exports.py`` converted in plain pandas — an independent path from the SQL
reader.  Every form (three CSVs, flat CSV, ``;`` with decimal commas, BOM, Windows-1252,
xlsx with date serials, Parquet, zip, folder) must equal it exactly.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pandas as pd
import pytest
from fixtures import io_exports as fx

from supervision.caseload import Caseload
from supervision.io import load_export, summarize


def frames(c: Caseload) -> dict[str, pd.DataFrame]:
    out = {}
    for name, key in (("sessions", "source_row"), ("episodes", "episode_id"),
                      ("therapists", "therapist_id")):
        df = getattr(c, name).execute().sort_values(key).reset_index(drop=True)
        out[name] = df
    return out


def reference() -> dict[str, pd.DataFrame]:
    """The canonical tables, built by pandas from the text rows (empty string = missing)."""
    def df(cols: list[str], rows: list[list[str]]) -> pd.DataFrame:
        return pd.DataFrame(rows, columns=cols).replace("", None)

    s = df(fx.S_COLS, fx.SESSIONS)
    e = df(fx.E_COLS, fx.EPISODES)
    e["client_neurotype"] = e["client_neurotype"].map(lambda v: v or "unknown")
    t = df(fx.T_COLS, fx.THERAPISTS)
    return frames(Caseload.from_frames(s, e, t))


@pytest.fixture(scope="module")
def expected() -> dict[str, pd.DataFrame]:
    return reference()


def assert_same(got: dict[str, pd.DataFrame], want: dict[str, pd.DataFrame]) -> None:
    for name in want:
        pd.testing.assert_frame_equal(got[name], want[name], check_dtype=True, obj=name)


def test_three_csvs_match_the_reference(tmp_path: Path, expected) -> None:
    c = load_export(fx.write_three_csv(tmp_path / "x"))
    assert_same(frames(c), expected)
    assert c.notices == ()


FORMS = {
    "flat_csv": lambda p: fx.write_flat_csv(p / "export.csv"),
    "semicolon_decimal_comma": lambda p: fx.write_semicolon_flat(p / "export.csv"),
    "bom": lambda p: fx.write_three_csv(p / "bom", encoding="utf-8-sig"),
    "windows_1252": lambda p: fx.write_three_csv(p / "w", encoding="cp1252"),
    "xlsx": lambda p: fx.write_xlsx(p / "export.xlsx"),
    "parquet_folder": lambda p: fx.write_parquet(p / "pq"),
    "zip_of_csvs": lambda p: fx.write_zip(p / "export.zip", fx.write_three_csv(p / "z")),
    "zip_of_parquet": lambda p: fx.write_zip(p / "export.zip", fx.write_parquet(p / "zp")),
    "flat_parquet": lambda p: _flat_parquet(p),
}


def _flat_parquet(p: Path) -> Path:
    cols, rows = fx.flat_rows()
    df = pd.DataFrame(rows, columns=cols).replace("", None)
    out = p / "flat.parquet"
    df.to_parquet(out)
    return out


@pytest.mark.parametrize("form", sorted(FORMS))
def test_every_form_loads_to_identical_tables(tmp_path: Path, expected, form: str) -> None:
    c = load_export(FORMS[form](tmp_path))
    assert_same(frames(c), expected)


def test_windows_1252_gives_a_notice(tmp_path: Path) -> None:
    c = load_export(fx.write_three_csv(tmp_path / "w", encoding="cp1252"))
    assert "therapists.csv was not UTF-8; read as Windows-1252" in c.notices
    assert frames(c)["therapists"]["team"][0] == "Nord–Süd"


def test_decimal_comma_only_with_semicolons(tmp_path: Path) -> None:
    """With ``,`` as delimiter a quoted "29,5" is not a number (it is not guessed)."""
    cols, rows = fx.flat_rows()
    rows[1][cols.index("srs")] = "29,5"
    from supervision.errors import ExportError

    with pytest.raises(ExportError) as info:
        load_export(fx.write_csv(tmp_path / "s.csv", cols, rows))
    assert "s.csv:2:srs: expected a number" in str(info.value)


def test_user_files_are_unchanged_and_nothing_is_written_beside_them(tmp_path: Path) -> None:
    folder = fx.write_three_csv(tmp_path / "w", encoding="cp1252")
    fx.write_zip(tmp_path / "export.zip", folder)

    def snapshot() -> dict[str, str]:
        return {p.relative_to(tmp_path).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
                for p in sorted(tmp_path.rglob("*")) if p.is_file()}

    before = snapshot()
    load_export(folder)
    load_export(tmp_path / "export.zip")
    assert snapshot() == before


def test_checksum_is_sha256_of_the_files_in_name_order(tmp_path: Path) -> None:
    folder = fx.write_three_csv(tmp_path / "x")
    h = hashlib.sha256()
    for name in ("episodes.csv", "sessions.csv", "therapists.csv"):
        h.update((folder / name).read_bytes())
    assert load_export(folder).checksum == h.hexdigest()


def test_mapping_renames_columns_values_tables_and_dates(tmp_path: Path, expected) -> None:
    """A practice's own export: other names, DNA for no_show, d/m/Y dates, a Notes column."""
    folder = tmp_path / "own"
    folder.mkdir()
    rename = {"client_id": "Client Ref", "session_date": "Appt Date", "attendance": "Status"}
    cols = [rename.get(c, c) for c in fx.S_COLS] + ["Notes"]
    rows = []
    for r in fx.SESSIONS:
        r = list(r)
        d = r[fx.S_COLS.index("session_date")]
        r[fx.S_COLS.index("session_date")] = f"{d[8:10]}/{d[5:7]}/{d[:4]}"
        a = fx.S_COLS.index("attendance")
        r[a] = "DNA" if r[a] == "no_show" else r[a]
        rows.append([*r, "rang on 07700 900123"])
    fx.write_csv(folder / "Appointments.csv", cols, rows)
    fx.write_csv(folder / "episodes.csv", fx.E_COLS, fx.EPISODES)
    fx.write_csv(folder / "therapists.csv", fx.T_COLS, fx.THERAPISTS)
    mapping = tmp_path / "mapping.toml"
    mapping.write_text(
        '[columns]\n"client ref" = "client_id"\n"Appt Date" = "session_date"\n'
        '"Status" = "attendance"\n[values.attendance]\n"dna" = "no_show"\n'
        '[drop]\ncolumns = ["Notes"]\n[dates]\nformat = "%d/%m/%Y"\n'
        '[tables]\n"appointments" = "sessions"\n', encoding="utf-8")
    assert_same(frames(load_export(folder, mapping=mapping)), expected)


def test_unknown_columns_are_ignored_with_a_notice(tmp_path: Path) -> None:
    cols, rows = fx.flat_rows()
    path = fx.write_csv(tmp_path / "s.csv", [*cols, "Room"], [[*r, "3"] for r in rows])
    c = load_export(path)
    assert any("s.csv: ignored columns" in n and "Room" in n for n in c.notices)


def test_summary_names_tables_counts_range_and_measures(tmp_path: Path) -> None:
    """Counts from fixtures/io_exports.py: 9 sessions (7 attended, 1 cancelled, 1 no-show),
    4 episodes (2 ended: completed, dropout), 3 therapists, 2024-01-08 to 2024-03-08;
    SRS on 7 sessions, PHQ-9 and GAD-7 on 6."""
    text = summarize(load_export(fx.write_three_csv(tmp_path / "x")))
    assert "sessions 9 rows · episodes 4 rows · therapists 3 rows" in text
    assert "Episodes: 4 (ended 2, ongoing 2)" in text
    assert "Sessions: 2024-01-08 to 2024-03-08" in text
    assert "srs 7 values · phq9 6 values · gad7 6 values" in text
    assert "attended 7 · cancelled 1 · no_show 1" in text
