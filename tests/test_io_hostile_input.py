"""Hostile or unusual input (issue 12 items 7, 8, 10, 11 and the blank-line row numbers):
every case ends in a message that names the file, row or column and the cause in our own
words — never a value from the file, never "unexpected internal error", never silence."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import openpyxl
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from fixtures import io_exports as fx

from supervision import cli
from supervision.errors import ConfigError, ExportError, IdentifierError, MappingError
from supervision.io import load_export
from supervision.measures import load_registry

HEAD = "client_id,therapist_id,session_date\n"
OK = "C1,T1,2024-01-01\nC2,T1,2024-01-02\n"


def _problems(path: Path, **kw: object) -> list[str]:
    with pytest.raises(ExportError) as err:
        load_export(path, **kw)  # type: ignore[arg-type]
    return [str(p) for p in err.value.problems]


def _write(path: Path, data: bytes | str) -> Path:
    path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return path


def _validate(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = cli.main(["validate", "--quiet", *argv])
    out, err = capsys.readouterr()
    assert "unexpected internal error" not in out + err and "Traceback" not in out + err
    return code, out + err


# ---------------------------------------------------------------------- item 10: CSV shape
def test_ragged_row_is_named_with_its_field_count(tmp_path: Path) -> None:
    path = _write(tmp_path / "s.csv", HEAD + OK + "C3,T1,2024-01-03,extra\nC4,T1,2024-01-04\n")
    assert _problems(path) == [
        "s.csv:3: this row has 4 fields but the header has 3 (a missing or extra ',', or a "
        "',' inside a value that is not in double quotes); nothing was read"]


def test_ragged_row_in_a_two_row_file_is_not_read_as_the_header(tmp_path: Path) -> None:
    """DuckDB's sniffer took the ragged row for the header and read no rows at all."""
    path = _write(tmp_path / "s.csv", HEAD + "C1,T1,2024-01-01\nC2,T1,2024-01-01,x\n")
    assert _problems(path)[0].startswith("s.csv:2: this row has 4 fields")


def test_short_row_far_down_a_large_file(tmp_path: Path) -> None:
    rows = "".join(f"C{i},T1,2024-01-01\n" for i in range(5000))
    path = _write(tmp_path / "s.csv", HEAD + rows + "C9,T1\n")
    assert _problems(path)[0].startswith("s.csv:5001: this row has 2 fields but the header has 3")


def test_unterminated_quote_names_the_row_and_echoes_nothing(tmp_path: Path) -> None:
    """Issue 12 item 7: a quoted field spanning lines put a name, an address and an NHS
    number into the message.  The message now says where and why, and holds none of it."""
    leak = '"Jane Smith\n1 High Street, Leeds\n943 476 5919,T1,2024-01-02\n'
    rows = "".join(f"C{i},T1,2024-01-01\n" for i in range(3000))
    path = _write(tmp_path / "s.csv", HEAD + rows + leak + "C3,T1,2024-01-03\n")
    problems = _problems(path)
    assert problems == [
        "s.csv:3001: a value in double quotes starts in this row and is never closed (an "
        "unmatched \"); nothing was read"]
    for secret in ("Jane", "Smith", "High", "Leeds", "943", "5919"):
        assert secret not in problems[0]


def test_text_after_a_closing_quote(tmp_path: Path) -> None:
    path = _write(tmp_path / "s.csv", HEAD + OK + '"C3"x,T1,2024-01-03\n')
    problems = _problems(path)
    assert len(problems) == 1 and problems[0].startswith("s.csv:3: text follows a closing")


def test_cr_only_line_ends_are_read_with_a_notice(tmp_path: Path) -> None:
    path = _write(tmp_path / "s.csv", (HEAD + OK).replace("\n", "\r"))
    caseload = load_export(path)
    assert int(caseload.sessions.count().execute()) == 2
    assert any("carriage return only" in n for n in caseload.notices)


def test_cr_only_file_with_a_ragged_row_names_it(tmp_path: Path) -> None:
    path = _write(tmp_path / "s.csv", (HEAD + OK + "C3,T1,2024-01-03,x\n").replace("\n", "\r"))
    assert _problems(path)[0].startswith("s.csv:3: this row has 4 fields")


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be", "utf-32"])
def test_utf16_and_utf32_are_named_with_how_to_save(tmp_path: Path, encoding: str) -> None:
    path = _write(tmp_path / "s.csv", (HEAD + OK).encode(encoding))
    (msg,) = _problems(path)
    assert msg.startswith("s.csv: the file ")
    assert "UTF-16" in msg or "UTF-32" in msg
    assert 'save it as "CSV UTF-8"' in msg


def test_blank_lines_do_not_shift_later_row_numbers(tmp_path: Path) -> None:
    """Spreadsheet rows: 1 header, 2 C1, 3 blank, 4 C2, 5 blank, 6 blank, 7 the bad date:
    data row 6 (a blank line inside a quoted value is not a blank row)."""
    text = HEAD + 'C1,T1,2024-01-01\n\n"C2",T1,2024-01-02\n\n\nC3,T1,2024-02-30\n'
    path = _write(tmp_path / "s.csv", text)
    assert [p.split(";")[0] for p in _problems(path)] == [
        "s.csv:6:session_date: expected a date as YYYY-MM-DD"]
    crlf = _write(tmp_path / "w.csv", text.replace("\n", "\r\n"))
    assert [p.split(";")[0] for p in _problems(crlf)] == [
        "w.csv:6:session_date: expected a date as YYYY-MM-DD"]


def test_a_paragraph_break_inside_a_quoted_value_is_not_a_blank_row(tmp_path: Path) -> None:
    text = "client_id,therapist_id,session_date,team\nC1,T1,2024-01-01,\"North\n\nSite\"\n" \
           "C2,T1,2024-13-01,\"North\n\nSite\"\n"
    path = _write(tmp_path / "s.csv", text)
    assert [p.split(";")[0] for p in _problems(path)] == [
        "s.csv:2:session_date: expected a date as YYYY-MM-DD"]


# ---------------------------------------------------------------------- item 10: paths
def test_fifo_as_path_is_refused_not_read(tmp_path: Path) -> None:
    """In a child process with a time limit: before, reading the pipe waited for ever."""
    fifo = tmp_path / "sessions.csv"
    os.mkfifo(fifo)
    try:
        run = subprocess.run(
            [sys.executable, "-m", "supervision.cli", "validate", "--quiet", str(fifo)],
            capture_output=True, text=True, timeout=120, check=False,
        )
    except subprocess.TimeoutExpired:
        pytest.fail("supervision validate hung on a named pipe")
    assert run.returncode == 1
    assert "sessions.csv: is not a regular file (a named pipe, device or socket)" in run.stderr


def test_out_pointing_into_the_export_is_refused(tmp_path: Path, capsys) -> None:
    folder = fx.write_three_csv(tmp_path / "export")
    before = (folder / "sessions.csv").read_bytes()
    code = cli.main(["metrics", str(folder), "--out", str(folder / "sessions.csv")])
    err = capsys.readouterr().err
    assert code == 1 and "is inside the export" in err and "nothing was written" in err
    assert (folder / "sessions.csv").read_bytes() == before
    flat = fx.write_flat_csv(tmp_path / "flat.csv")
    before = flat.read_bytes()
    assert cli.main(["metrics", str(flat), "--format", "csv", "--out", str(flat)]) == 1
    assert flat.read_bytes() == before


def test_folder_nested_past_the_path_limit(tmp_path: Path, capsys) -> None:
    root = tmp_path / "export"
    fx.write_three_csv(root)
    here = Path.cwd()
    os.chdir(root)
    try:
        for _ in range(30):  # 30 × 200 characters: past Linux's 4096-byte PATH_MAX
            Path("d" * 200).mkdir()
            os.chdir("d" * 200)
        Path("notes.txt").write_text("x", encoding="utf-8")
    finally:
        os.chdir(here)
    code, text = _validate(capsys, str(root))
    assert code == 1
    assert "export: a path inside is longer than this system allows" in text


def test_mapping_that_is_a_folder(tmp_path: Path, capsys) -> None:
    flat = fx.write_flat_csv(tmp_path / "flat.csv")
    (tmp_path / "map").mkdir()
    code, text = _validate(capsys, str(flat), "--mapping", str(tmp_path / "map"))
    assert code == 1 and "map: is a folder, not a mapping file" in text


def test_mapping_with_a_bad_date_format(tmp_path: Path, capsys) -> None:
    flat = fx.write_flat_csv(tmp_path / "flat.csv")
    mapping = _write(tmp_path / "m.toml", '[dates]\nformat = "%d/%m/%Y %Q"\n')
    code, text = _validate(capsys, str(flat), "--mapping", str(mapping))
    assert code == 1
    assert "m.toml: [dates] format '%d/%m/%Y %Q' holds a code that is not a date format" in text


def test_mapping_toml_error_keeps_only_line_and_column(tmp_path: Path) -> None:
    mapping = _write(tmp_path / "m.toml", '[columns]\n"Client Name" = Jane Smith\n')
    with pytest.raises(MappingError) as err:
        load_export(fx.write_flat_csv(tmp_path / "flat.csv"), mapping=mapping)
    assert str(err.value.problems[0]).startswith("m.toml: not valid TOML at line 2, column 17")
    assert "Jane" not in str(err.value)


@pytest.mark.parametrize(("argv", "expected"), [
    (["metrics", "--since", "2024-13-01"], "argument --since: '2024-13-01' is not a date"),
    (["metrics", "--until", "01/02/2024"], "argument --until: expected a date as YYYY-MM-DD"),
    (["serve", "--port", "99999"], "argument --port: 99999 is not a port number (1–65535)"),
    (["serve", "--port", "http"], "argument --port: expected a port number"),
])
def test_bad_options_are_usage_errors(tmp_path: Path, capsys, argv, expected) -> None:
    flat = fx.write_flat_csv(tmp_path / "flat.csv")
    with pytest.raises(SystemExit) as exit_:
        cli.main([argv[0], str(flat), *argv[1:]])
    assert exit_.value.code == 2
    assert expected in capsys.readouterr().err


# ---------------------------------------------------------------------- item 10: zips
def _zip(path: Path, folder: Path) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for f in sorted(folder.iterdir()):
            zf.write(f, f.name)
    return path


def test_corrupt_zip_member_is_named(tmp_path: Path, capsys) -> None:
    folder = fx.write_three_csv(tmp_path / "export")
    (folder / "sessions.csv").write_text((folder / "sessions.csv").read_text() * 50)
    data = bytearray(_zip(tmp_path / "e.zip", folder).read_bytes())
    at = data.find(b"sessions.csv") + 60  # inside the member's compressed data
    data[at:at + 40] = b"\x00" * 40
    bad = _write(tmp_path / "bad.zip", bytes(data))
    code, text = _validate(capsys, str(bad))
    assert code == 1
    assert "bad.zip[sessions.csv]: could not be unpacked: its data is damaged" in text


def test_zip_bomb_is_refused_before_unpacking(tmp_path: Path, capsys) -> None:
    bomb = tmp_path / "bomb.zip"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("sessions.csv", HEAD + "0" * (60 * 1000**2))
    code, text = _validate(capsys, str(bomb))
    assert code == 1
    assert "bomb.zip[sessions.csv]: is compressed more than 200 to 1" in text


def test_zip_over_the_size_limit(tmp_path: Path, capsys, monkeypatch) -> None:
    monkeypatch.setenv("SUPERVISION_MAX_UNZIP_MB", "1")
    folder = fx.write_three_csv(tmp_path / "export")
    rows = "".join(f"C{i},T1,E{i},2024-01-01\n" for i in range(80_000))
    (folder / "sessions.csv").write_text("client_id,therapist_id,episode_id,session_date\n"
                                         + rows)
    code, text = _validate(capsys, str(_zip(tmp_path / "big.zip", folder)))
    assert code == 1
    assert "big.zip: would unpack to 2.2 MB, more than the limit of 1.0 MB" in text


# ---------------------------------------------------------------------- item 10: measures
@pytest.mark.parametrize(("line", "expected"), [
    ("reliable_change = -6", "m.toml: [phq9]: reliable_change must be above 0, not -6"),
    ("reliable_change = nan", "m.toml: [phq9]: reliable_change must be a number, not nan"),
    ("clinical_cutoff = \"ten\"", "m.toml: [phq9]: clinical_cutoff must be a number, not 'ten'"),
    ("norm_sd = inf", "m.toml: [phq9]: norm_sd must be a number, not inf"),
    ("clinical_cutoff = 99", "m.toml: [phq9]: clinical_cutoff (99) must lie within the "
     "measure's range 0–27"),
    ("max = true", "m.toml: [phq9]: max must be a number, not True"),
])
def test_measures_file_with_a_bad_number_is_refused(tmp_path: Path, line, expected) -> None:
    path = _write(tmp_path / "m.toml", f"[phq9]\n{line}\n")
    with pytest.raises(ConfigError) as err:
        load_registry(path)
    assert str(err.value) == expected


def test_measures_file_that_is_a_folder(tmp_path: Path) -> None:
    (tmp_path / "m.toml").mkdir()
    with pytest.raises(ConfigError, match="is a folder, not a measure file"):
        load_registry(tmp_path / "m.toml")


# ---------------------------------------------------------------------- item 8: Parquet
def _tz_parquet(path: Path, zone: str) -> Path:
    """Sessions at 00:30 and 23:30 Berlin time (stored, as Parquet does, as UTC instants)."""
    local = pd.to_datetime(["2024-03-01 00:30", "2024-03-02 23:30"]).tz_localize(zone)
    pd.DataFrame({"client_id": ["C1", "C1"], "therapist_id": ["T1", "T1"],
                  "session_date": local}).to_parquet(path)
    return path


@pytest.mark.parametrize("zone", ["Europe/Berlin", "Pacific/Auckland", "America/New_York"])
def test_parquet_timestamps_keep_their_own_date(tmp_path: Path, zone: str) -> None:
    caseload = load_export(_tz_parquet(tmp_path / "s.parquet", zone))
    dates = [d.date() for d in caseload.sessions.session_date.execute()]
    assert dates == [dt.date(2024, 3, 1), dt.date(2024, 3, 2)]


def test_parquet_timestamps_with_a_fixed_offset(tmp_path: Path) -> None:
    instants = [dt.datetime(2024, 2, 29, 23, 30, tzinfo=dt.UTC)]  # 00:30 at +01:00
    table = pa.table({"client_id": ["C1"], "therapist_id": ["T1"],
                      "session_date": pa.array(instants, pa.timestamp("us", tz="+01:00"))})
    pq.write_table(table, tmp_path / "s.parquet")
    caseload = load_export(tmp_path / "s.parquet")
    assert caseload.sessions.session_date.execute()[0].date() == dt.date(2024, 3, 1)


# ---------------------------------------------------------------------- item 8: Excel
def _book(path: Path) -> openpyxl.Workbook:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "sessions"
    ws.append(["client_id", "therapist_id", "session_date", "srs"])
    ws.append(["C1", "T1", "2024-01-01", 30])
    ws.append(["C1", "T1", "2024-01-08", 31])
    return wb


def test_formula_without_a_saved_value_is_an_error_naming_the_cell(tmp_path: Path) -> None:
    wb = _book(tmp_path / "e.xlsx")
    wb["sessions"]["D3"] = "=D2+1"  # openpyxl writes no cached value
    wb.save(tmp_path / "e.xlsx")
    (msg,) = _problems(tmp_path / "e.xlsx")
    assert msg.startswith("e.xlsx[sessions]:2:srs: cell D3 holds a formula with no saved value")


def test_extra_sheet_is_named_in_a_notice(tmp_path: Path) -> None:
    wb = _book(tmp_path / "e.xlsx")
    wb.create_sheet("Notes").append(["remarks", "seen"])
    wb.save(tmp_path / "e.xlsx")
    caseload = load_export(tmp_path / "e.xlsx")
    assert ("e.xlsx: ignored sheets that hold no export table (checked for identifiers "
            "only): Notes") in caseload.notices


def test_extra_sheet_is_scanned_by_the_identifier_guard(tmp_path: Path) -> None:
    wb = _book(tmp_path / "e.xlsx")
    notes = wb.create_sheet("Notes")
    notes.append(["remarks"])
    notes.append(["please ring jane.doe@example.com"])
    wb.save(tmp_path / "e.xlsx")
    with pytest.raises(IdentifierError) as err:
        load_export(tmp_path / "e.xlsx")
    (p,) = err.value.problems
    assert (p.file, p.row, p.column) == ("e.xlsx[Notes]", 1, "remarks")
    assert "jane" not in str(err.value)


def test_cells_right_of_the_last_header_get_a_notice_and_the_guard(tmp_path: Path) -> None:
    wb = _book(tmp_path / "e.xlsx")
    wb["sessions"]["F3"] = "stray note"
    wb.save(tmp_path / "e.xlsx")
    caseload = load_export(tmp_path / "e.xlsx")
    assert any("e.xlsx[sessions]: cells right of the last named column (from column E)" in n
               for n in caseload.notices)
    wb["sessions"]["F3"] = "+44 7700 900123"
    wb.save(tmp_path / "e.xlsx")
    with pytest.raises(IdentifierError) as err:
        load_export(tmp_path / "e.xlsx")
    (p,) = err.value.problems
    assert (p.file, p.row, p.column) == ("e.xlsx[sessions]", 2, "(unnamed column 6)")


# ---------------------------------------------------------------------- item 11: notices
def test_mapping_entries_that_match_no_column_get_a_notice(tmp_path: Path) -> None:
    flat = fx.write_flat_csv(tmp_path / "flat.csv")
    mapping = _write(tmp_path / "m.toml",
                     '[columns]\n"Client Ref" = "client_id"\n[drop]\ncolumns = ["Notes"]\n')
    notices = load_export(flat, mapping=mapping).notices
    assert ("m.toml: [columns] entries that match no column of the export (names compared "
            "ignoring case and spaces): client_ref") in notices
    assert ("m.toml: [drop] entries that match no column of the export (names compared "
            "ignoring case and spaces): notes") in notices


# case; a zero-width space; a Cyrillic Т and a full-width 1
@pytest.mark.parametrize("twin", ["t1", "T\u200b1", "\u0422\uff11"])
def test_ids_that_differ_only_by_case_or_lookalikes_get_a_notice(tmp_path: Path, twin) -> None:
    path = _write(tmp_path / "flat.csv", HEAD + f"C1,T1,2024-01-01\nC2,{twin},2024-01-02\n"
                  "C3,T2,2024-01-03\n")
    notices = load_export(path).notices
    assert ("flat.csv: therapist_id: 1 group of ids differ only by upper/lower case, "
            "look-alike letters or invisible characters (first: rows 1 and 2); they count as "
            "different therapists — check that they are not the same") in notices


def test_distinct_ids_get_no_such_notice(tmp_path: Path) -> None:
    path = _write(tmp_path / "flat.csv", HEAD + "C1,T1,2024-01-01\nC2,T2,2024-01-02\n")
    assert not any("differ only by" in n for n in load_export(path).notices)


def test_reversed_since_until_gets_a_notice(tmp_path: Path, capsys) -> None:
    flat = fx.write_flat_csv(tmp_path / "flat.csv")
    out = tmp_path / "m.json"
    argv = ["metrics", str(flat), "--since", "2024-06-01", "--until", "2024-01-01"]
    assert cli.main([*argv, "--out", str(out)]) == 0
    assert ("supervision metrics: notice: --since 2024-06-01 is after --until 2024-01-01: the "
            "window is empty") in capsys.readouterr().err


def test_metrics_shows_the_export_notices(tmp_path: Path, capsys) -> None:
    """They reached only ``validate`` before; ``metrics`` dropped them."""
    cols, rows = fx.flat_rows()
    path = fx.write_csv(tmp_path / "flat.csv", [*cols, "Extra"], [[*r, "x"] for r in rows])
    assert cli.main(["metrics", str(path), "--out", str(tmp_path / "m.json")]) == 0
    assert "supervision metrics: notice: flat.csv: ignored columns" in capsys.readouterr().err
