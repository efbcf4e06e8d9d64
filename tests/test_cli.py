"""The command line never shows a traceback to a user."""

from __future__ import annotations

import argparse

import pytest

from supervision import cli
from supervision.errors import ExportError, Problem


def _run_with(monkeypatch, exc: BaseException, capsys) -> tuple[int, str]:
    def boom(args: argparse.Namespace) -> int:
        raise exc

    monkeypatch.setattr(cli, "cmd_demo", boom)
    code = cli.main(["demo", "--out", "unused"])
    return code, capsys.readouterr().err


def test_export_errors_print_every_problem_and_exit_1(monkeypatch, capsys) -> None:
    problems = [Problem("sessions.csv", 14, "srs", "41 is outside 0–40 (Session Rating Scale)"),
                Problem("episodes.csv", 2, "termination", "expected one of completed, …")]
    code, err = _run_with(monkeypatch, ExportError(problems), capsys)
    assert code == 1
    assert "sessions.csv:14:srs: 41 is outside 0–40" in err
    assert "episodes.csv:2:termination:" in err
    assert "Traceback" not in err


def test_unexpected_errors_exit_2_without_traceback(monkeypatch, capsys) -> None:
    code, err = _run_with(monkeypatch, KeyError("secret-value"), capsys)
    assert code == 2
    assert "Traceback" not in err and "secret-value" not in err
    assert "KeyError" in err


def test_problem_rendering() -> None:
    assert str(Problem("s.csv", 3, "srs", "x")) == "s.csv:3:srs: x"
    assert str(Problem("s.csv", None, "srs", "missing")) == "s.csv::srs: missing"
    assert str(Problem("s.csv", None, None, "empty")) == "s.csv: empty"


def test_usage_errors_are_argparse_exits(capsys) -> None:
    with pytest.raises(SystemExit) as info:
        cli.main(["metrics"])
    assert info.value.code == 2
