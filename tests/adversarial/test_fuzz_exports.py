"""Malformed exports: ``validate`` and ``metrics`` end in exit 0 or a clear exit 1, always.

A small valid demo export (``write_demo(episodes=12, seed=11)``, three CSV tables) is
mutated by hypothesis: truncated lines, stray quotes, other encodings, mixed delimiters,
random bytes, a 1 MB field, Excel serial dates, ``=HYPERLINK(...)`` formulas, empty files,
a 100 000-column row, and Excel workbooks with empty or missing sheets.  For every input:

* exit code 0 or 1 (2 is ``cli.main``'s "internal error", i.e. an unexpected exception);
* no ``Traceback`` in the output; an exit 1 names a file, row or column (``file:``);
* no hang: each call runs under a ``SIGALRM`` budget.

Lossless re-encodings of the valid export (BOM, ``;`` delimiter, Windows-1252, CRLF,
xlsx, zip) keep every table's row count (the counts are read from the CSVs themselves).
"""

from __future__ import annotations

import contextlib
import csv
import io
import re
import shutil
import signal
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from supervision import cli

TABLES = ("sessions", "episodes", "therapists")
BUDGET_S = 60  # one validate or metrics call on a 12-episode export takes ~1 s
FUZZED: list[str] = []  # mutation names, for the report (printed with -s)


@pytest.fixture(scope="module")
def valid(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from supervision.demo import write_demo

    out = tmp_path_factory.mktemp("fuzz") / "valid"
    write_demo(out, episodes=12, seed=11)
    return out


@contextlib.contextmanager
def time_limit(seconds: int) -> Iterator[None]:
    """Raise ``TimeoutError`` if the block runs longer than ``seconds`` (a hang)."""

    def on_alarm(signum: int, frame: object) -> None:
        raise TimeoutError(f"no answer within {seconds} s")

    old = signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    """``cli.main(argv)`` under the time budget; return (exit code, stdout + stderr)."""
    capsys.readouterr()
    with time_limit(BUDGET_S):
        code = cli.main(argv)
    out, err = capsys.readouterr()
    return code, out + err


def assert_clear(code: int, text: str, what: str) -> None:
    assert code in (0, 1), f"{what}: exit {code}: {text[-800:]}"
    assert "Traceback" not in text, what
    if code == 1:
        assert text.strip() and "internal error" not in text, what


# --- mutations: (name, bytes of one table, draw) -> bytes -------------------------------
def _at(data: bytes, draw: st.DrawFn) -> int:
    return draw(st.integers(0, max(0, len(data) - 1)))


def _lines(data: bytes) -> list[bytes]:
    return data.split(b"\n")


def truncate(data: bytes, draw: st.DrawFn) -> bytes:
    return data[: _at(data, draw)]


def stray_quote(data: bytes, draw: st.DrawFn) -> bytes:
    i = _at(data, draw)
    return data[:i] + b'"' + data[i:]


def random_bytes(data: bytes, draw: st.DrawFn) -> bytes:
    i = _at(data, draw)
    return data[:i] + draw(st.binary(min_size=1, max_size=40)) + data[i:]


def reencode(data: bytes, draw: st.DrawFn) -> bytes:
    enc = draw(st.sampled_from(["utf-16", "utf-32", "cp1252", "latin-1", "shift_jis"]))
    text = data.decode("utf-8", errors="replace").replace("North", "Nörth—Ωmega", 1)
    return text.encode(enc, errors="replace")


def mixed_delimiters(data: bytes, draw: st.DrawFn) -> bytes:
    lines = _lines(data)
    k = draw(st.integers(0, len(lines) - 1))
    sep = draw(st.sampled_from([b";", b"\t", b"|"]))
    lines[k] = lines[k].replace(b",", sep)
    return b"\n".join(lines)


def drop_cell(data: bytes, draw: st.DrawFn) -> bytes:
    lines = _lines(data)
    k = draw(st.integers(1, max(1, len(lines) - 2)))
    lines[k] = lines[k].rsplit(b",", draw(st.integers(1, 3)))[0]
    return b"\n".join(lines)


def _replace_cell(data: bytes, draw: st.DrawFn, value: bytes, column: int | None = None) -> bytes:
    lines = _lines(data)
    k = draw(st.integers(1, max(1, len(lines) - 2)))
    cells = lines[k].split(b",")
    j = column if column is not None else draw(st.integers(0, len(cells) - 1))
    cells[min(j, len(cells) - 1)] = value
    lines[k] = b",".join(cells)
    return b"\n".join(lines)


def huge_field(data: bytes, draw: st.DrawFn) -> bytes:
    return _replace_cell(data, draw, b"x" * 1_000_000)


def excel_serial_date(data: bytes, draw: st.DrawFn) -> bytes:
    header = _lines(data)[0].split(b",")
    dates = [i for i, h in enumerate(header) if h.endswith(b"_date")] or [0]
    serial = str(draw(st.integers(1, 60000))).encode()
    return _replace_cell(data, draw, serial, draw(st.sampled_from(dates)))


def formula(data: bytes, draw: st.DrawFn) -> bytes:
    payload = draw(st.sampled_from([b'"=HYPERLINK(""http://x.test/?"",""click"")"',
                                    b"=1+1", b"@SUM(A1)", b"+cmd|' /C calc'!A0", b"-2+3"]))
    return _replace_cell(data, draw, payload)


def empty(data: bytes, draw: st.DrawFn) -> bytes:
    return draw(st.sampled_from([b"", _lines(data)[0] + b"\n", b"\n\n\n", b"\xef\xbb\xbf"]))


def wide_row(data: bytes, draw: st.DrawFn) -> bytes:
    lines = _lines(data)
    k = draw(st.integers(0, max(0, len(lines) - 2)))
    lines[k] = lines[k] + b"," * 100_000
    return b"\n".join(lines)


MUTATIONS: dict[str, Callable[[bytes, st.DrawFn], bytes]] = {
    f.__name__: f
    for f in (truncate, stray_quote, random_bytes, reencode, mixed_delimiters, drop_cell,
              huge_field, excel_serial_date, formula, empty, wide_row)
}


@st.composite
def mutated(draw: st.DrawFn, valid: Path) -> tuple[str, dict[str, bytes]]:
    """One or two mutations applied to one or two of the three tables."""
    files = {t: (valid / f"{t}.csv").read_bytes() for t in TABLES}
    names = []
    for _ in range(draw(st.integers(1, 2))):
        table = draw(st.sampled_from(TABLES))
        name = draw(st.sampled_from(sorted(MUTATIONS)))
        files[table] = MUTATIONS[name](files[table], draw)
        names.append(f"{name}({table})")
    return " + ".join(names), files


@settings(max_examples=60, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                 HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_mutated_exports_end_cleanly(valid: Path, tmp_path: Path, data: st.DataObject,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    name, files = data.draw(mutated(valid))
    FUZZED.append(name)
    folder = tmp_path / f"case{len(FUZZED)}"
    folder.mkdir()
    for table, content in files.items():
        (folder / f"{table}.csv").write_bytes(content)
    code, text = run(["validate", str(folder), "--quiet"], capsys)
    assert_clear(code, text, f"validate {name}")
    code, text = run(["metrics", str(folder), "--format", "csv"], capsys)
    assert_clear(code, text, f"metrics {name}")
    shutil.rmtree(folder)


def _rows(valid: Path) -> dict[str, int]:
    """Data rows per table, counted by the standard library's csv reader."""
    return {t: sum(1 for _ in csv.DictReader(io.StringIO((valid / f"{t}.csv").read_text())))
            for t in TABLES}


def _semicolon(data: bytes) -> bytes:
    """The same table with ``;`` as delimiter (cells holding ``;`` tags get quoted)."""
    out = io.StringIO()
    csv.writer(out, delimiter=";", lineterminator="\n").writerows(
        csv.reader(io.StringIO(data.decode())))
    return out.getvalue().encode()


def _write_forms(valid: Path, out: Path) -> dict[str, Path]:
    import pandas as pd

    forms: dict[str, Path] = {}
    for name, fn in (("bom", lambda b: b"\xef\xbb\xbf" + b), ("crlf", lambda b: b.replace(
            b"\n", b"\r\n")), ("cp1252", lambda b: b.decode().encode("cp1252")),
            ("semicolon", _semicolon)):
        d = out / name
        d.mkdir()
        for t in TABLES:
            (d / f"{t}.csv").write_bytes(fn((valid / f"{t}.csv").read_bytes()))
        forms[name] = d
    xlsx = out / "export.xlsx"
    with pd.ExcelWriter(xlsx) as w:
        for t in TABLES:
            pd.read_csv(valid / f"{t}.csv", dtype=str, keep_default_na=False).to_excel(
                w, sheet_name=t, index=False)
    forms["xlsx"] = xlsx
    forms["zip"] = out / "export.zip"
    with zipfile.ZipFile(forms["zip"], "w") as z:
        for t in TABLES:
            z.write(valid / f"{t}.csv", f"{t}.csv")
    return forms


def test_lossless_forms_keep_every_row(valid: Path, tmp_path: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    """Six re-encodings of the valid export validate with the CSV's own row counts."""
    expected = _rows(valid)
    for form, path in _write_forms(valid, tmp_path).items():
        code, text = run(["validate", str(path), "--quiet"], capsys)
        assert code == 0, (form, text[-500:])
        for t, n in expected.items():
            assert re.search(rf"{t} {n} rows", text), (form, t, n, text[:300])


def test_excel_with_empty_or_missing_sheets(valid: Path, tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    """An empty workbook sheet, a header-only sheet, a missing sheet: clear exit 1."""
    import pandas as pd

    frames = {t: pd.read_csv(valid / f"{t}.csv", dtype=str, keep_default_na=False)
              for t in TABLES}
    cases = {"empty": {**frames, "sessions": pd.DataFrame()},
             "header_only": {**frames, "sessions": frames["sessions"].iloc[:0]},
             "missing": {t: f for t, f in frames.items() if t != "sessions"},
             "stray": {"Sheet1": pd.DataFrame()}}
    for case, sheets in cases.items():
        path = tmp_path / f"{case}.xlsx"
        with pd.ExcelWriter(path) as w:
            for t, f in sheets.items():
                f.to_excel(w, sheet_name=t, index=False)
        code, text = run(["validate", str(path), "--quiet"], capsys)
        assert code == 1, (case, text[-500:])
        assert_clear(code, text, f"xlsx {case}")
