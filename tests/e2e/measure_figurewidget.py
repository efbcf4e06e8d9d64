"""Measure: plotly FigureWidget (anywidget) vs a plain figure in an Output widget, in Voilà.

Not collected by pytest (run by hand):
    pip install --target /tmp/aw --no-deps anywidget psygnal
    .venv/bin/python tests/e2e/measure_figurewidget.py /tmp/aw
Serves two notebooks that each show 8 figures (3 traces x 20 points) and times, in
Debian's Chromium, navigation -> all 8 plots rendered; cold kernels and preheated ones.
Results are printed as JSON (median of the runs).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_notebook

FIGS = (
    "import plotly.graph_objects as go\nimport ipywidgets as w\n"
    "figs = [go.Figure([go.Scatter(x=list(range(20)), y=[(i * j + k) % 17 for j in range(20)])"
    " for i in range(3)]) for k in range(8)]"
)
SHOW = {
    "plain": (
        "from supervision.views.common import figure_panel\n"
        "w.VBox([figure_panel(f) for f in figs])"
    ),
    "widget": "w.VBox([go.FigureWidget(f) for f in figs])",
}
DONE = ("() => [...document.querySelectorAll('.js-plotly-plot')]"
        ".filter(p => p.querySelector('.main-svg')).length >= 8")


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _serve(folder: Path, extra: Path, preheat: bool) -> tuple[subprocess.Popen, str]:
    port = _port()
    env = dict(os.environ, PYTHONPATH=str(extra), JUPYTER_PATH=str(extra / "share" / "jupyter"))
    cmd = [sys.executable, "-m", "voila", str(folder), "--no-browser", f"--port={port}",
           "--Voila.ip=127.0.0.1", f"--preheat_kernel={preheat}", "--pool_size=1"]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            urllib.request.urlopen(url + "/api/status", timeout=1)
            break
        except urllib.error.HTTPError:
            break
        except OSError:
            time.sleep(0.2)
    return proc, url


def main(extra: Path, runs: int = 3) -> dict[str, float]:
    from playwright.sync_api import sync_playwright

    folder = Path(tempfile.mkdtemp())
    for name, show in SHOW.items():
        nb = new_notebook(cells=[new_code_cell(FIGS), new_code_cell(show)])
        nbformat.write(nb, folder / f"{name}.ipynb")
    out: dict[str, float] = {}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", headless=True,
                                    args=["--no-sandbox", "--disable-gpu"])
        for preheat in (False, True):
            proc, url = _serve(folder, extra, preheat)
            try:
                if preheat:
                    time.sleep(25)  # let the pool execute both notebooks
                for name in SHOW:
                    times = []
                    for _ in range(runs):
                        page = browser.new_page()
                        t0 = time.monotonic()
                        page.goto(f"{url}/voila/render/{name}.ipynb", wait_until="commit")
                        page.wait_for_function(DONE, timeout=120_000)
                        times.append(time.monotonic() - t0)
                        page.close()
                        if preheat:
                            time.sleep(15)  # the pool refills
                    key = f"{name} ({'preheated' if preheat else 'cold'})"
                    out[key] = round(statistics.median(times), 2)
            finally:
                os.killpg(proc.pid, signal.SIGTERM)
                proc.wait()
        browser.close()
    return out


if __name__ == "__main__":
    print(json.dumps(main(Path(sys.argv[1])), indent=2))
