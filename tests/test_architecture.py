"""The layers of README's "Architecture" hold (import-linter contracts in pyproject.toml).

The contracts fail on an import cycle anywhere in ``supervision`` (late imports count) and on
any import that points up a layer: reading importing a metric, a metric importing a screen.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_import_contracts_are_kept() -> None:
    """``lint-imports`` over ``src/supervision`` with the contracts of pyproject.toml."""
    exe = Path(sys.executable).with_name("lint-imports")
    done = subprocess.run([str(exe), "--no-cache"], cwd=ROOT, capture_output=True, text=True,
                          check=False)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert "0 broken" in done.stdout


def test_every_module_is_in_a_layer() -> None:
    """A new top-level module or package must be given a layer, or the contract says nothing
    about it: every module of ``src/supervision`` is named in the layers contract."""
    import tomllib

    conf = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    layers = conf["tool"]["importlinter"]["contracts"][0]["layers"]
    named = {m.strip().strip("()") for layer in layers for m in layer.split("|")}
    pkg = ROOT / "src" / "supervision"
    found = {p.stem for p in pkg.glob("*.py") if p.stem != "__init__"}
    found |= {p.name for p in pkg.iterdir() if (p / "__init__.py").is_file()}
    assert found - named == set(), f"not in any layer: {sorted(found - named)}"


def test_test_modules_have_unique_names() -> None:
    """Test modules are imported by their base name (``tests/`` has no packages), so two
    files of one name in different folders stop the whole run at collection: every
    ``test_*.py`` under ``tests/`` has a name of its own."""
    names: dict[str, list[str]] = {}
    for p in sorted((ROOT / "tests").rglob("test_*.py")):
        names.setdefault(p.name, []).append(str(p.relative_to(ROOT)))
    assert {n: ps for n, ps in names.items() if len(ps) > 1} == {}
