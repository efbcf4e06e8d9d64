"""``supervision serve``: the dashboards in Voilà on 127.0.0.1, code hidden, kernels preheated.

The export is validated here, in the server process, so a bad export fails on the command
line with the full problem list instead of in a blank page.  Kernels inherit the server's
environment (:mod:`supervision.session`); a browser cannot change it.

With ``--therapist ID`` only the therapist dashboard is served (Voilà over a private
temporary folder holding only ``therapist.ipynb``), and its kernel reads only that
therapist's rows plus anonymous practice aggregates computed here.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

from supervision import session
from supervision.errors import ConfigError, ScopeError, SupervisionError

NOTEBOOKS = ("supervisor.ipynb", "therapist.ipynb", "practice_review.ipynb")
HOST = "127.0.0.1"
READY_TIMEOUT = 60.0


def find_dashboards() -> Path:
    """The folder holding the dashboard notebooks.

    ``SUPERVISION_DASHBOARDS`` if set, else the repository's ``dashboards/`` (editable
    install or a source checkout), else the copy shipped inside the package.
    """
    here = Path(__file__).resolve().parent
    candidates = [Path(p) for p in [os.environ.get("SUPERVISION_DASHBOARDS")] if p]
    candidates += [here.parents[1] / "dashboards", here / "dashboards"]
    for c in candidates:
        if all((c / n).is_file() for n in NOTEBOOKS):
            return c
    raise ConfigError(
        "cannot find the dashboard notebooks (supervisor.ipynb, therapist.ipynb, "
        "practice_review.ipynb); set SUPERVISION_DASHBOARDS to the folder holding them"
    )


def check_port(port: int) -> None:
    """Refuse a port that is already taken on 127.0.0.1 (Voilà would silently pick another)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind((HOST, port))
        except OSError:
            raise ConfigError(f"port {port} is already in use on {HOST}; pass --port N") from None


def voila_command(root: Path, port: int) -> list[str]:
    """The Voilà command line: localhost only, sources stripped, one warm kernel per notebook."""
    return [
        sys.executable,
        "-m",
        "voila",
        str(root),
        "--no-browser",
        f"--port={port}",
        f"--Voila.ip={HOST}",
        "--Voila.port_retries=0",
        "--strip_sources=True",
        "--show_tracebacks=False",
        "--preheat_kernel=True",
        "--pool_size=1",
    ]


def prepare(
    path: str | Path,
    *,
    therapist: str | None,
    mapping: str | Path | None,
    measures: str | Path | None,
    min_cell: int,
    workdir: Path,
) -> tuple[Path, dict]:
    """Validate the export and build (root folder, environment) for Voilà."""
    from supervision.io import load_export

    session_min_cell(min_cell)
    full = load_export(path, mapping=mapping, measures=measures, progress=False)
    env = {k: v for k, v in os.environ.items() if k not in session.ALL_VARS}
    env[session.MIN_CELL] = str(min_cell)
    if measures:
        env[session.MEASURES] = str(Path(measures).resolve())
    dashboards = find_dashboards()
    if therapist is None:
        env[session.EXPORT] = str(Path(path).resolve())
        if mapping:
            env[session.MAPPING] = str(Path(mapping).resolve())
        return dashboards, env
    ids = full.therapist_ids()
    if therapist not in ids:
        shown = ", ".join(ids[:20]) + (" …" if len(ids) > 20 else "")
        raise ScopeError(
            f"unknown therapist {therapist!r}: the export has {len(ids)} therapist"
            f"{'s' if len(ids) != 1 else ''} ({shown})"
        )
    session.write_bundle(full, therapist, workdir / "data")
    site = workdir / "site"
    site.mkdir()
    shutil.copy2(dashboards / "therapist.ipynb", site / "therapist.ipynb")
    env[session.THERAPIST] = therapist
    env[session.SCOPED_DIR] = str(workdir / "data")
    return site, env


def session_min_cell(min_cell: int) -> None:
    """Refuse a small-cell threshold below 5 (domain.md §8: configurable upward only)."""
    if min_cell < 5:
        raise ConfigError(f"--min-cell {min_cell} is below 5: it is configurable upward only")


def wait_ready(port: int, proc: subprocess.Popen, timeout: float = READY_TIMEOUT) -> None:
    """Poll ``/api/status`` until the server answers (any HTTP status; starts no kernel)."""
    url = f"http://{HOST}:{port}/api/status"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SupervisionError(f"Voilà exited with code {proc.returncode} before it was ready")
        try:
            urllib.request.urlopen(url, timeout=2).close()
            return
        except urllib.error.HTTPError:
            return
        except (urllib.error.URLError, OSError):
            time.sleep(0.25)
    raise SupervisionError(f"Voilà did not answer on {url} within {timeout:.0f} s")


def serve(
    path: str | Path,
    *,
    therapist: str | None = None,
    port: int = 8866,
    mapping: str | Path | None = None,
    measures: str | Path | None = None,
    min_cell: int = 5,
) -> int:
    """Serve the dashboards until interrupted; return Voilà's exit code (0 on Ctrl+C)."""
    check_port(port)
    workdir = Path(tempfile.mkdtemp(prefix="supervision-serve-"))
    workdir.chmod(0o700)
    try:
        root, env = prepare(
            path,
            therapist=therapist,
            mapping=mapping,
            measures=measures,
            min_cell=min_cell,
            workdir=workdir,
        )
        signal.signal(signal.SIGTERM, _terminate)  # SIGTERM too must stop Voilà's group
        proc = subprocess.Popen(
            voila_command(root, port), env=env, cwd=root, start_new_session=True
        )
        try:
            wait_ready(port, proc)
            _announce(port, therapist)
            return proc.wait()
        except KeyboardInterrupt:
            return 0
        finally:
            _stop(proc)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _terminate(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _announce(port: int, therapist: str | None) -> None:
    base = f"http://{HOST}:{port}"
    if therapist is None:
        pages = [f"{base}/voila/render/{n}" for n in NOTEBOOKS if n != "therapist.ipynb"]
        lines = [
            f"Dashboards at {base}/ :",
            *(f"  {p}" for p in pages),
            "  (the therapist dashboard needs --therapist ID)",
        ]
    else:
        lines = [
            f"Therapist dashboard for {therapist} at {base}/voila/render/therapist.ipynb",
            "  (this server serves only that dashboard and only that therapist's rows)",
        ]
    print("\n".join([*lines, "Press Ctrl+C to stop."]), flush=True)


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=10)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)


__all__ = [
    "NOTEBOOKS",
    "check_port",
    "find_dashboards",
    "prepare",
    "serve",
    "voila_command",
    "wait_ready",
]
