"""``make demo``'s terminal (issue 24, item 10): what a new user sees, and how it stops.

The recipe is run as a terminal runs it (its own process group, SIGINT not ignored), with
this environment's ``bin/`` and free ports.  Once both servers have announced themselves and
a dashboard has been rendered, it is stopped the two ways people stop it: Ctrl+C (SIGINT to
the whole foreground group) and ``kill`` (SIGTERM to make alone).  Either way make must exit
within a minute, every process it started (servers, Voilà, kernels) must be gone, and its
output must hold no traceback, no "not trusted" notebook warning, and no advice to start a
therapist server that make already started.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import processes
import pytest

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def _free_pair() -> int:
    """A port p with p and p + 1 both free (make demo serves the therapist on PORT + 1)."""
    for _ in range(50):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = int(s.getsockname()[1])
        with socket.socket() as t:
            try:
                t.bind(("127.0.0.1", port + 1))
            except OSError:
                continue
        return port
    raise RuntimeError("no two consecutive free ports")


def _default_sigint() -> None:  # a terminal's job: Ctrl+C delivered, not ignored
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("make") is None or not (BIN / "supervision").exists(),
                    reason="needs make and the installed `supervision` command")
@pytest.mark.parametrize("how", ["ctrl-c", "sigterm"])
def test_make_demo_announces_both_servers_and_stops_quietly(tmp_path: Path, how: str) -> None:
    port = _free_pair()
    stamp = tmp_path / "installed"  # newer than pyproject.toml: make installs nothing
    stamp.touch()
    out, err = tmp_path / "stdout", tmp_path / "stderr"
    cmd = ["make", "-s", "demo", f"BIN={BIN}", f"STAMP={stamp}", f"PORT={port}"]
    with out.open("wb") as o, err.open("wb") as e:
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=o, stderr=e, stdin=subprocess.DEVNULL,
                                start_new_session=True, preexec_fn=_default_sigint)
    started: set[int] = set()
    try:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and proc.poll() is None:
            started.update(processes.tree(proc.pid))
            if (out.read_text(errors="replace").count("Press Ctrl+C to stop.") == 2
                    and err.read_text(errors="replace").count("Kernel pool of") >= 3):
                break
            time.sleep(1)
        assert proc.poll() is None, err.read_text(errors="replace")[-3000:]
        assert err.read_text(errors="replace").count("Kernel pool of") >= 3, "not ready in 300 s"
        for url in (f"http://127.0.0.1:{port}/voila/render/supervisor.ipynb",
                    f"http://127.0.0.1:{port + 1}/voila/render/therapist.ipynb"):
            with urllib.request.urlopen(url, timeout=240) as r:
                assert r.status == 200
        time.sleep(2)  # the replacement pool kernels start
        started.update(processes.tree(proc.pid))
        kernels = [p for p in started if "ipykernel" in processes.cmdline(p)]
        assert len(kernels) >= 3  # one pooled per dashboard, plus those handed to the pages
        if how == "ctrl-c":
            os.killpg(proc.pid, signal.SIGINT)
        else:
            proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:  # a hang: stop what it started, then fail below
            for pid in processes.tree(proc.pid)[::-1]:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            proc.wait(timeout=30)
    time.sleep(2)
    left = [p for p in started if processes.cmdline(p)]
    assert left == [], [processes.cmdline(p) for p in left]
    shown = out.read_text(errors="replace")
    logged = err.read_text(errors="replace")
    assert f"http://127.0.0.1:{port + 1}/" in shown  # the landing links the therapist's server
    assert "server of its own" not in shown
    assert "Traceback" not in logged and "Traceback" not in shown, logged[-3000:]
    assert "not trusted" not in logged
    assert "Kernel shutdown" in logged  # Voilà stopped its kernels itself, not killed

