"""``supervision validate`` (domain.md §9): exit 0 with a summary, or exit 1 listing every
problem as ``file:row:column: what was expected`` — never a traceback."""

from __future__ import annotations

from pathlib import Path

from fixtures import io_exports as fx

from supervision import cli


def test_validate_a_valid_export(tmp_path: Path, capsys) -> None:
    folder = fx.write_three_csv(tmp_path / "export")
    assert cli.main(["validate", str(folder)]) == 0
    out, err = capsys.readouterr()
    assert "sessions 9 rows · episodes 4 rows · therapists 3 rows" in out
    assert "The export is valid." in out
    assert "validating" in err  # progress lines go to stderr
    assert "Traceback" not in out + err


def test_validate_quiet_prints_no_progress(tmp_path: Path, capsys) -> None:
    path = fx.write_flat_csv(tmp_path / "flat.csv")
    assert cli.main(["validate", str(path), "--quiet"]) == 0
    assert capsys.readouterr().err == ""


def test_validate_a_bad_export_lists_every_problem(tmp_path: Path, capsys) -> None:
    """Row 1 srs 41 (out of 0–40), row 2 attendance 'DNA' (unknown without a mapping)."""
    cols, rows = fx.flat_rows()
    rows[0][cols.index("srs")] = "41"
    rows[0][cols.index("srs_relationship")] = ""  # items incomplete: no sum check
    rows[1][cols.index("attendance")] = "DNA"
    path = fx.write_csv(tmp_path / "flat.csv", cols, rows)
    assert cli.main(["validate", str(path), "--quiet"]) == 1
    out, err = capsys.readouterr()
    assert "2 problems found in the export:" in err
    assert "flat.csv:1:srs: 41 is outside 0–40 (Session Rating Scale)" in err
    assert "flat.csv:2:attendance: expected one of attended, cancelled, no_show; got 'dna'" in err
    assert out == "" and "Traceback" not in err


def test_validate_with_a_mapping_fixes_the_values(tmp_path: Path, capsys) -> None:
    cols, rows = fx.flat_rows()
    rows[2][cols.index("attendance")] = "DNA"
    path = fx.write_csv(tmp_path / "flat.csv", cols, rows)
    mapping = tmp_path / "map.toml"
    mapping.write_text('[values.attendance]\n"DNA" = "no_show"\n', encoding="utf-8")
    assert cli.main(["validate", str(path), "--mapping", str(mapping), "--quiet"]) == 0


def test_validate_missing_path_and_unsupported_file(tmp_path: Path, capsys) -> None:
    assert cli.main(["validate", str(tmp_path / "nope.csv"), "--quiet"]) == 1
    assert "nope.csv: no such file or folder" in capsys.readouterr().err
    (tmp_path / "x.txt").write_text("hello", encoding="utf-8")
    assert cli.main(["validate", str(tmp_path / "x.txt"), "--quiet"]) == 1
    assert "unsupported file type" in capsys.readouterr().err
