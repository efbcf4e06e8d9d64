"""``validate`` on a messy export (issue 24 item 11): the root cause first, spreadsheet rows,
a date-format hint.

* Renaming ``session_date`` to "Appt Date" gave 51 problems on main, all but one "duplicates
  row N" (every session of an episode looks like the first once the date is gone).  Now:
  the missing column, the unrecognised "Appt Date" and the mapping line that fixes it, and
  one line saying the checks that compare rows did not run; the mapping line, written to a
  file, makes the export valid.
* Rows: domain.md §2 fixes ``file:row:column`` with row = the data row counted from 1;
  that stays, and each rendered line also gives the row a spreadsheet shows (header = row
  1, so data row n is spreadsheet row n + 1: checked against the CSV's own lines).
* A date that does not parse says which format it seems to be in and the ``[dates]
  format`` line that reads it, without echoing the value.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd
import pytest

from supervision.cli import main
from supervision.demo import write_demo
from supervision.errors import ExportError, IdentifierError
from supervision.io import load_export


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("messy") / "demo"
    write_demo(out, episodes=40, seed=3)
    return out


def _copy(demo: Path, dest: Path, edit=None) -> Path:  # type: ignore[no-untyped-def]
    """The demo's three CSVs in ``dest``, the sessions table passed through ``edit``."""
    dest.mkdir()
    for name in ("sessions", "episodes", "therapists"):
        df = pd.read_csv(demo / f"{name}.csv", dtype=str, keep_default_na=False)
        if name == "sessions" and edit is not None:
            df = edit(df)
        df.to_csv(dest / f"{name}.csv", index=False)
    return dest


def _validate(path: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> tuple[int, str]:
    code = main(["validate", str(path), *extra])
    got = capsys.readouterr()
    return code, got.out + got.err


def test_renamed_session_date_reports_the_root_cause_and_the_fix(
    demo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = _copy(demo, tmp_path / "x", lambda df: df.rename(
        columns={"session_date": "Appt Date"}))
    with pytest.raises(ExportError) as info:
        load_export(folder)
    lines = [str(p) for p in info.value.problems]
    assert lines[0].startswith("sessions.csv::session_date: required column is missing")
    assert '"Appt Date"' in lines[0]
    assert '"Appt Date" = "session_date"' in lines[0]
    assert not any("duplicates row" in line for line in lines), lines
    assert len(lines) <= 3, lines  # the cause, and one line on what did not run
    assert any("did not run" in line and "session_date" in line for line in lines)
    # the suggested line, in a mapping file, is the fix
    mapping = tmp_path / "mapping.toml"
    mapping.write_text('[columns]\n"Appt Date" = "session_date"\n', encoding="utf-8")
    code, out = _validate(folder, capsys, "--mapping", str(mapping))
    assert code == 0, out
    assert "The export is valid." in out


def test_missing_column_with_several_unrecognised_offers_the_likeliest(
    demo: Path, tmp_path: Path
) -> None:
    folder = _copy(demo, tmp_path / "x", lambda df: df.rename(
        columns={"session_date": "Date of appointment", "srs": "Rating"}))
    with pytest.raises(ExportError) as info:
        load_export(folder)
    first = str(info.value.problems[0])
    assert '"Date of appointment" = "session_date"' in first, first
    assert '"Rating"' in first  # listed among the unrecognised columns


def _sessions_line(folder: Path, spreadsheet_row: int) -> list[str]:
    """The CSV's own line ``spreadsheet_row`` (1 = the header), as a spreadsheet shows it."""
    with (folder / "sessions.csv").open(encoding="utf-8", newline="") as fh:
        return list(csv.reader(fh))[spreadsheet_row - 1]


def test_rows_are_data_rows_in_the_prefix_and_spreadsheet_rows_in_the_line(
    demo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """SRS 41 written on data row 20, which a spreadsheet shows as row 21 (its row 1 is
    the header): the problem reads ``sessions.csv:20:srs`` (domain.md §2) and ends
    ``[spreadsheet row 21]``; line 21 of the file is the row holding 41."""

    def edit(df: pd.DataFrame) -> pd.DataFrame:
        df.loc[19, "srs"] = "41"  # 0-based frame index 19 = data row 20
        for c in ("srs_relationship", "srs_goals", "srs_approach", "srs_overall"):
            df.loc[19, c] = ""
        return df

    folder = _copy(demo, tmp_path / "x", edit)
    header = _sessions_line(folder, 1)
    assert _sessions_line(folder, 21)[header.index("srs")] == "41"
    code, out = _validate(folder, capsys)
    assert code == 1
    line = next(x for x in out.splitlines() if ":srs:" in x)
    assert line.strip().startswith("sessions.csv:20:srs: 41 is outside 0–40"), line
    assert line.endswith("[spreadsheet row 21]"), line
    rowed = [x for x in out.splitlines() if x.startswith("  sessions.csv:") and
             not x.startswith("  sessions.csv::")]
    assert rowed and all("[spreadsheet row " in x for x in rowed)


@pytest.mark.parametrize(("value", "shape", "fmt"), [
    ("31/02/2024", "DD/MM/YYYY", '[dates] format = "%d/%m/%Y"'),
    ("02/31/2024", "MM/DD/YYYY", '[dates] format = "%m/%d/%Y"'),
    ("14 Mar 2024", "a month name", '[dates] format = "%d %b %Y"'),
    ("March 14, 2024", "a month name first", '[dates] format = "%B %d, %Y"'),
])
def test_a_date_that_does_not_parse_gets_a_format_hint(
    demo: Path, tmp_path: Path, value: str, shape: str, fmt: str
) -> None:
    def edit(df: pd.DataFrame) -> pd.DataFrame:
        df.loc[4, "session_date"] = value
        return df

    with pytest.raises(ExportError) as info:
        load_export(_copy(demo, tmp_path / "x", edit))
    msgs = [str(p) for p in info.value.problems if p.column == "session_date"]
    assert msgs and msgs[0].startswith("sessions.csv:5:session_date: expected a date as "
                                       "YYYY-MM-DD"), msgs
    assert shape in msgs[0] and fmt in msgs[0], msgs[0]
    assert value not in msgs[0]


def test_with_the_format_set_an_impossible_date_says_so(demo: Path, tmp_path: Path) -> None:
    def edit(df: pd.DataFrame) -> pd.DataFrame:
        df["session_date"] = pd.to_datetime(df["session_date"]).dt.strftime("%d/%m/%Y")
        df.loc[4, "session_date"] = "31/02/2024"
        return df

    folder = _copy(demo, tmp_path / "x", edit)
    mapping = tmp_path / "m.toml"
    mapping.write_text('[dates]\nformat = "%d/%m/%Y"\n', encoding="utf-8")
    with pytest.raises(ExportError) as info:
        load_export(folder, mapping=mapping)
    msgs = [str(p) for p in info.value.problems if p.column == "session_date"]
    assert msgs == ["sessions.csv:5:session_date: expected a date as YYYY-MM-DD or %d/%m/%Y; "
                    "it is in the shape of %d/%m/%Y but is no real calendar date"], msgs


def test_an_identifier_stop_says_the_other_checks_have_not_run(
    demo: Path, tmp_path: Path
) -> None:
    def edit(df: pd.DataFrame) -> pd.DataFrame:
        df["Client Name"] = "x"
        df.loc[2, "srs"] = "99"
        return df

    with pytest.raises(IdentifierError) as info:
        load_export(_copy(demo, tmp_path / "x", edit))
    text = str(info.value)
    assert "sessions.csv::Client Name" in text
    assert "other checks" in text and "have not run yet" in text
    assert ":srs:" not in text
