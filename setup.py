"""Only one thing beyond pyproject.toml: the wheel's copies of the notebooks and the demo.

The dashboards (``dashboards/*.ipynb``) and the synthetic demo export (``data/demo/``) live
at the top of the repository, their one source of truth (STYLE.md's layout).  A wheel needs
them inside the package, so building one copies them to ``supervision/share/dashboards/``
and ``supervision/share/demo/`` in the build folder (never into ``src/``: nothing is
committed twice).  An editable install reads them in place (``serve.find_dashboards``).
"""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent
#: (folder in the repository, files, folder inside the package)
SHIPPED = (
    (HERE / "dashboards", "*.ipynb", Path("supervision", "share", "dashboards")),
    (HERE / "data" / "demo", "*", Path("supervision", "share", "demo")),
)


class BuildWithShare(build_py):
    """``build_py`` plus the copies of :data:`SHIPPED` (skipped for editable installs)."""

    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return
        for source, pattern, target in SHIPPED:
            files = sorted(p for p in source.glob(pattern) if p.is_file())
            if not files:
                raise SystemExit(f"cannot build the wheel: no {pattern} in {source}")
            out = Path(self.build_lib) / target
            out.mkdir(parents=True, exist_ok=True)
            for f in files:
                shutil.copy2(f, out / f.name)


setup(cmdclass={"build_py": BuildWithShare})
