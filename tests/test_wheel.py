"""A wheel that works: built from the repository, installed into a fresh virtual environment,
then `supervision serve` / `supervision demo` run from another folder, and every dashboard
draws in Chromium.

The fresh environment gets the wheel itself (``pip install --no-deps``); its dependencies come
from the project's environment through a ``.pth`` line (and its ``share/jupyter`` for Voilà's
and the widgets' static files), so the test stays offline and takes seconds, while
``supervision`` itself is imported only from the installed wheel (asserted), never from
``src/``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from e2e_support import FIGURES_DRAWN as RENDERED
from e2e_support import Server

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.slow


def _copy_source(dest: Path) -> Path:
    """The repository without build leftovers, tests or environments (a clean build)."""
    skip = shutil.ignore_patterns(".git", ".venv", "build", "dist", "*.egg-info", "__pycache__",
                                  "tests", "benchmarks", ".pytest_cache", ".ruff_cache")
    shutil.copytree(ROOT, dest, ignore=skip)
    return dest


@pytest.fixture(scope="module")
def fresh(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtual environment with the wheel installed; returns its ``bin`` folder."""
    tmp = tmp_path_factory.mktemp("wheel")
    src = _copy_source(tmp / "src")
    out = tmp / "dist"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps",
                    "--no-build-isolation", "-w", str(out), str(src)], check=True)
    [wheel] = out.glob("supervision-*.whl")
    venv = tmp / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    py = venv / "bin" / "python"
    # without PYTHONPATH: a src/ on it (the tests' own) would count as "already installed"
    subprocess.run([sys.executable, "-m", "pip", "--python", str(py), "install", "-q",
                    "--no-deps", "--no-index", "--force-reinstall", str(wheel)],
                   check=True, env=_env())
    site = Path(subprocess.run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()"
                                "['purelib'])"], capture_output=True, text=True,
                               check=True).stdout.strip())
    # appended after the fresh site-packages: the wheel's supervision wins over the editable one
    (site / "zz_project_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    (venv / "share").mkdir(exist_ok=True)
    (venv / "share" / "jupyter").symlink_to(Path(sys.prefix) / "share" / "jupyter")
    return venv / "bin"


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items()
            if k not in ("PYTHONPATH", "SUPERVISION_DASHBOARDS", "JUPYTER_PATH")}


def test_supervision_comes_from_the_wheel(fresh: Path, tmp_path: Path) -> None:
    code = ("import supervision, supervision.serve as s; print(supervision.__file__); "
            "print(s.find_dashboards()); print(s.demo_export())")
    out = subprocess.run([str(fresh / "python"), "-c", code], capture_output=True, text=True,
                         cwd=tmp_path, env=_env(), check=True).stdout.split()
    venv = str(fresh.parent)
    assert all(line.startswith(venv) for line in out), out


def test_demo_writes_an_export_from_any_folder(fresh: Path, tmp_path: Path) -> None:
    subprocess.run([str(fresh / "supervision"), "demo", "--out", "here", "--episodes", "40"],
                   cwd=tmp_path, env=_env(), check=True, capture_output=True)
    assert {p.name for p in (tmp_path / "here").iterdir()} >= {
        "sessions.csv", "episodes.csv", "therapists.csv"}


@pytest.fixture(scope="module")
def servers(fresh: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """`supervision serve` (the shipped demo, no PATH) and `--therapist T01`, elsewhere."""
    cwd = tmp_path_factory.mktemp("elsewhere")
    running: list[Server] = []
    try:
        for extra in ((), ("--therapist", "T01")):  # both start, then both are waited for
            running.append(Server(None, *extra, warm=False, command=[str(fresh / "supervision")],
                                  cwd=cwd, env=_env(), wait=False))
        for server in running:
            server.ready()
        yield {"full": running[0].url, "therapist": running[1].url}
    finally:
        for server in running:
            server.stop()


@pytest.mark.parametrize("server, notebook", [
    ("full", "supervisor.ipynb"), ("full", "practice_review.ipynb"),
    ("therapist", "therapist.ipynb")])
def test_every_dashboard_draws(servers: dict[str, str], browser: Any, server: str,
                               notebook: str) -> None:
    ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        page = ctx.new_page()
        page.goto(f"{servers[server]}/voila/render/{notebook}", wait_until="commit",
                  timeout=120_000)
        page.wait_for_function(RENDERED, timeout=150_000)
        assert page.locator(".sv-error").count() == 0
    finally:
        ctx.close()
