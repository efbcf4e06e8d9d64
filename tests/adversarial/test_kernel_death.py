"""A dashboard whose kernel dies says so, in words, and reloads into a working page.

Issue 6, point 6.  Voilà 0.5.13 alone shows nothing readable when a page's kernel process
dies: Jupyter Server restarts the kernel (a blank one, without the page's widgets) and every
widget merely grows a small broken-link icon.  ``supervision serve`` therefore runs Voilà
with its own template (src/supervision/share/voila/templates/supervision), whose script
watches the kernel websocket for the "restarting"/"dead" status and shows a message.

Here the kernel process of an open therapist dashboard is found (its command line names
the kernel's connection file, ``kernel-<id>.json``, with the id Voilà put in the page) and
killed with SIGKILL; the page must show the message; its Reload button must bring back a
working dashboard on a new kernel.  Screenshot: tests/e2e/screenshots/kernel-stopped.png.
"""

from __future__ import annotations

import json
import os
import signal
from typing import Any

import pytest
from _server import DEMO, e2e_conftest
from e2e_support import process_tree

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

MESSAGE = "The dashboard's computing process stopped; reload the page to start again."
BANNER = "#sv-kernel-stopped"


def kernel_pids(server: Any, kernel_id: str) -> list[int]:
    """The processes below ``server`` whose command line names ``kernel_id`` (its
    ``kernel-<id>.json`` file): only this test's own server's kernel."""
    return [pid for pid, cmd in process_tree(server.proc.pid)
            if f"kernel-{kernel_id}.json" in cmd]


def _kernel_id(page: Any) -> str:
    return str(json.loads(page.locator("#jupyter-config-data").text_content())["kernelId"])


def test_a_dead_kernel_shows_a_readable_message(browser: Any) -> None:
    conf = e2e_conftest()
    server = conf.Server(DEMO, "--therapist", "T01")
    ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        page = ctx.new_page()
        page.goto(f"{server.url}/voila/render/therapist.ipynb", wait_until="commit",
                  timeout=300_000)
        page.wait_for_selector(".sv-headline .sv-card", timeout=300_000)
        assert page.locator(BANNER).count() == 0
        first = _kernel_id(page)
        pids = kernel_pids(server, first)
        assert len(pids) == 1, pids
        os.kill(pids[0], signal.SIGKILL)
        page.wait_for_selector(BANNER, state="visible", timeout=120_000)
        banner = page.inner_text(BANNER)
        page.screenshot(path=str(conf.SCREENSHOTS / "kernel-stopped.png"))
        assert MESSAGE in banner
        assert page.get_by_role("alert").count() == 1
        page.get_by_role("button", name="Reload").click()
        page.wait_for_selector(".sv-headline .sv-card", timeout=300_000)
        assert page.locator(BANNER).count() == 0
        second = _kernel_id(page)
        assert "Therapist T01" in page.inner_text("body")
    finally:
        ctx.close()
        server.stop()
    assert second != first
