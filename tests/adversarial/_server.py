"""Shared helpers for the adversarial server tests: the e2e server fixture and kernel probes.

``tests/e2e/conftest.py`` is loaded by path (conftest modules are not importable by name),
so these tests start ``supervision serve`` exactly as the browser tests do.
"""

from __future__ import annotations

import json
import re
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import Any

from e2e_support import e2e_conftest  # noqa: F401  (re-exported to the adversarial tests)

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "data" / "demo"
KERNEL_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def fetch(url: str, timeout: float = 120.0) -> tuple[int, str]:
    """GET ``url`` (path sent as is, redirects followed); return (status, body text)."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, r.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode("utf-8", "replace")


def render_kernel(base: str, notebook: str = "therapist.ipynb") -> tuple[str, str]:
    """Render a dashboard over HTTP (Voilà hands out a kernel); return (kernel id, page)."""
    for _ in range(3):  # a busy machine can time a first render out: try again
        try:
            status, page = fetch(f"{base}/voila/render/{notebook}", timeout=300.0)
            break
        except OSError:
            time.sleep(5)
    else:
        raise AssertionError(f"{notebook} did not render in three tries")
    assert status == 200, status
    match = re.search(r"kernelId[\"']?\s*[:=]\s*[\"']([0-9a-f-]{36})", page) or KERNEL_ID.search(
        page
    )
    assert match is not None, "no kernel id in the rendered page"
    return match.group(1), page


def message(msg_type: str, content: dict[str, Any], channel: str = "shell") -> dict[str, Any]:
    """A Jupyter protocol message as the browser sends it over the JSON websocket protocol."""
    return {
        "header": {
            "msg_id": uuid.uuid4().hex,
            "username": "browser",
            "session": uuid.uuid4().hex,
            "msg_type": msg_type,
            "version": "5.3",
            "date": "",
        },
        "parent_header": {},
        "metadata": {},
        "content": content,
        "channel": channel,
        "buffers": [],
    }


def execute(code: str, channel: str = "shell") -> dict[str, Any]:
    """An ``execute_request`` for ``code``."""
    return message(
        "execute_request",
        {"code": code, "silent": False, "store_history": True, "user_expressions": {},
         "allow_stdin": False, "stop_on_error": False},
        channel,
    )


def exchange(ws: Any, sent: list[dict[str, Any]], wait: float = 6.0) -> list[dict[str, Any]]:
    """Send ``sent`` on an open websocket; return every message received within ``wait`` s."""
    for m in sent:
        ws.send(json.dumps(m))
    got: list[dict[str, Any]] = []
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        ws.settimeout(max(0.1, deadline - time.monotonic()))
        try:
            raw = ws.recv()
        except Exception:
            break
        if isinstance(raw, bytes):
            raw = raw.decode("utf-8", "replace")
        got.append(json.loads(raw))
    return got


def replies_to(got: list[dict[str, Any]], sent: dict[str, Any]) -> list[dict[str, Any]]:
    """The received messages whose parent is ``sent``."""
    msg_id = sent["header"]["msg_id"]
    return [m for m in got if (m.get("parent_header") or {}).get("msg_id") == msg_id]
