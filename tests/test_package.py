"""The package's public names: every name in ``supervision.__all__`` resolves."""

from __future__ import annotations

import subprocess
import sys

import pytest

import supervision


@pytest.mark.parametrize("name", supervision.__all__)
def test_public_name_resolves(name: str) -> None:
    assert getattr(supervision, name) is not None


def test_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        supervision.nope  # noqa: B018


def test_import_does_not_load_the_engines() -> None:
    """``import supervision`` alone must not import DuckDB-backed reader or metrics modules."""
    code = ("import sys, supervision; engines = ('supervision.io', 'supervision.metrics'); "
            "print(sorted(m for m in engines if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
