"""Every ``SUPERVISION_*`` variable is parsed in one place (:mod:`supervision.settings`), and
a value that cannot be read names its variable and the value."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from supervision.errors import ConfigError
from supervision.settings import VARIABLES, Settings, readme_table

ROOT = Path(__file__).resolve().parents[1]


def test_unset_or_empty_gives_the_defaults() -> None:
    assert Settings.from_env({}) == Settings()
    assert Settings.from_env({v.name: "  " for v in VARIABLES}) == Settings()
    s = Settings()
    assert (s.min_cell, s.progress_seconds, s.max_kernels, s.demo, s.debug) == (5, 5.0, None,
                                                                               False, False)


def test_each_kind_is_read() -> None:
    env = {"SUPERVISION_THERAPISTS": " T01, ,T02 ", "SUPERVISION_PUBLIC_NAMES": "a.org, b.org c",
           "SUPERVISION_MAX_KERNELS": " 3 ", "SUPERVISION_PROGRESS_SECONDS": "0.5",
           "SUPERVISION_DEMO": "1", "SUPERVISION_DEBUG": "yes", "SUPERVISION_TOKEN": " tok\n",
           "SUPERVISION_REPORT_COVER": '{"source": "x"}', "SUPERVISION_EXPORT": "/e x"}
    s = Settings.from_env(env)
    assert s.allowed == ("T01", "T02") and s.public_names == ("a.org", "b.org", "c")
    assert s.max_kernels == 3 and s.progress_seconds == 0.5 and s.demo and s.debug
    assert s.token == "tok" and s.report_cover == {"source": "x"} and s.export == "/e x"
    assert "tok" not in repr(s)  # a secret never shows in a repr or a log


@pytest.mark.parametrize(("name", "raw", "says"), [
    ("SUPERVISION_MIN_CELL", "five", "must be a whole number, not 'five'"),
    ("SUPERVISION_MAX_KERNELS", "0", "must be at least 1, not '0'"),
    ("SUPERVISION_MAX_MEMORY_MB", "2GB", "must be a whole number, not '2GB'"),
    ("SUPERVISION_MAX_UNZIP_MB", "-5", "must be at least 1, not '-5'"),
    ("SUPERVISION_PROGRESS_SECONDS", "soon", "must be a number of seconds, not 'soon'"),
    ("SUPERVISION_PROGRESS_SECONDS", "0", "more than 0 seconds, not '0'"),
    ("SUPERVISION_REPORT_COVER", "[1]", "must be a JSON object"),
    ("SUPERVISION_REPORT_COVER", "{", "is not valid JSON"),
])
def test_a_bad_value_names_the_variable_and_the_value(name: str, raw: str, says: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(f"{name} ") + ".*" + re.escape(says)):
        Settings.from_env({name: raw})


def test_every_variable_is_in_the_settings_and_the_readme() -> None:
    """Each field is filled by exactly one variable; the README carries the generated table;
    no module but settings reads a SUPERVISION_ variable from os.environ."""
    fields = [v.field for v in VARIABLES]
    assert sorted(fields) == sorted(Settings.__dataclass_fields__)
    assert readme_table() in (ROOT / "README.md").read_text(encoding="utf-8")
    for path in (ROOT / "src" / "supervision").rglob("*.py"):
        if path.name != "settings.py":
            text = path.read_text(encoding="utf-8")
            assert not re.search(r"environ(\.get)?\(\s*[\"']SUPERVISION_", text), path
            assert not re.search(r"environ\.get\((opening\.)?[A-Z_]+_VAR", text), path
