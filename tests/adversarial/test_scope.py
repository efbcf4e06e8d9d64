"""Scope: ``supervision serve data/demo --therapist T01`` shows nothing of any other therapist.

Attacks tried, each against a real server (the e2e fixture's ``supervision serve``):

* raw HTTP on every route Voilà registers (tree, render, contents, files, static,
  templates, labextensions, themes, kernels, query, shutdown) and on Jupyter server routes
  it does not (``/api/contents``, ``/api/sessions`` ...), with path-traversal variants
  towards the export, the scoped bundle and the other dashboards;
* the kernel websocket, as a browser script or any local program could use it:
  ``execute_request`` (shell and control channels, JSON protocol), ``inspect_request``,
  ``complete_request`` and ``history_request`` that would read the export or the
  environment.  A canary file the code would create proves it never ran; a
  ``kernel_info_request`` on the same socket proves the socket was live;
* widget comm messages setting every widget's value to another therapist's id;
* ``?therapist=T02`` and friends on the dashboard URL, in Chromium.

"No leak" means: no other therapist's id (``T02``..``T12``) and none of their episode or
client ids occur in any response.  The ids are read from data/demo itself.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from _server import (
    DEMO,
    e2e_conftest,
    exchange,
    execute,
    fetch,
    message,
    render_kernel,
    replies_to,
)

pytestmark = pytest.mark.e2e

ME = "T01"
OUTPUT_TYPES = {"execute_result", "stream", "display_data", "error", "execute_reply",
                "inspect_reply", "complete_reply", "history_reply", "execute_input"}


def _others() -> tuple[set[str], re.Pattern[str]]:
    """Every other therapist's, episode's and client's id in the demo, and a matcher."""
    ep = pd.read_csv(DEMO / "episodes.csv", dtype=str)
    th = pd.read_csv(DEMO / "therapists.csv", dtype=str)
    others = ep[ep["therapist_id"] != ME]
    ids = set(th["therapist_id"]) - {ME}
    ids |= set(others["episode_id"]) | set(others["client_id"])
    ids -= set(ep.loc[ep["therapist_id"] == ME, "client_id"])  # a client seen by both
    pattern = re.compile(r"(?<![A-Za-z0-9])(" + "|".join(map(re.escape, sorted(ids))) + r")(?!\d)")
    return ids, pattern


OTHER_IDS, OTHER = _others()


def leaks(text: str) -> set[str]:
    """Other therapists', episodes' and clients' ids found in ``text``."""
    return set(OTHER.findall(text))


@pytest.fixture(scope="module")
def server() -> Iterator[Any]:
    conf = e2e_conftest()
    s = conf.Server(DEMO, "--therapist", ME)
    yield s
    s.stop()


@pytest.fixture(scope="module")
def kernel(server: Any) -> tuple[str, str]:
    """A kernel handed out for the therapist dashboard, and the rendered page."""
    return render_kernel(server.url)


def _routes(kernel_id: str) -> list[str]:
    export = str(DEMO.resolve())
    traversals = ["..%2Fdata%2Fpractice.json", "..%2Fdata%2Fsessions.parquet",
                  "..%2F..%2F..%2F..%2F..%2F..%2F" + export.lstrip("/").replace("/", "%2F")
                  + "%2Fsessions.csv",
                  export.replace("/", "%2F") + "%2Fsessions.csv",
                  "%2F" + export.lstrip("/").replace("/", "%2F") + "%2Fepisodes.csv"]
    pages = ["supervisor.ipynb", "practice_review.ipynb", "%2E%2E%2Fsupervisor.ipynb",
             str(DEMO.parents[1] / "dashboards" / "supervisor.ipynb").replace("/", "%2F")]
    routes = ["/", "/voila/tree", "/voila/tree/", "/voila/render/therapist.ipynb",
              "/voila/render/therapist.ipynb?therapist=T02",
              "/voila/api/contents", "/voila/api/contents/therapist.ipynb",
              "/voila/api/contents/..%2Fdata", "/api/contents", "/api/contents/data",
              "/api/kernels", "/api/sessions", "/api/kernelspecs", "/api/terminals",
              "/api/config/notebook", "/api/nbconvert", "/tree", "/lab", "/notebooks/x",
              f"/api/kernels/{kernel_id}", f"/voila/query/{kernel_id}",
              f"/voila/execution/{kernel_id}", "/voila/api/themes/",
              "/voila/api/shutdown/x", "/voila/static/", "/voila/labextensions/",
              "/static/", "/data/demo/sessions.csv", "/files/data/demo/sessions.csv",
              "/voila/files/data/demo/sessions.csv", "/voila/files/therapist.ipynb",
              f"/voila/files{export}/sessions.csv"]
    routes += [f"/voila/render/{p}" for p in pages + traversals]
    routes += [f"/voila/tree/{p}" for p in traversals]
    for prefix in ("/voila/files/", "/voila/static/", "/voila/templates/",
                   "/voila/labextensions/", "/voila/api/themes/", "/files/", "/static/"):
        routes += [prefix + t for t in traversals]
        routes.append(prefix + "../../../../../.." + export + "/sessions.csv")
    return routes


def test_no_route_serves_another_therapist(server: Any, kernel: tuple[str, str]) -> None:
    """Every route answers without other ids; only therapist.ipynb is ever rendered."""
    kernel_id, page = kernel
    assert not leaks(page), leaks(page)
    report = {}
    for route in _routes(kernel_id):
        status, body = fetch(server.url + route)
        report[route] = status
        assert not leaks(body), (route, status, sorted(leaks(body))[:5])
        assert "supervisor_app" not in body and "practice_app" not in body, route
        if "supervisor" in route or "practice_review" in route:
            assert status >= 400 or "SupervisorApp" not in body, route
    assert len(report) >= 60
    rendered = [r for r, s in report.items() if s == 200 and r.startswith("/voila/render/")]
    assert all(r.startswith("/voila/render/therapist.ipynb") for r in rendered), rendered


def _websocket(server: Any, kernel_id: str) -> Any:
    import websocket

    url = server.url.replace("http://", "ws://") + f"/api/kernels/{kernel_id}/channels"
    return websocket.create_connection(url + "?session_id=adversarial", timeout=20)


ATTACKS = [
    "print(open({export!r}).read())",
    "import os; print(dict(os.environ)); open({canary!r}, 'w').write('ran')",
    "open({canary!r}, 'w').write('ran'); open({export!r}).read()",
]


def test_execute_request_runs_nothing(server: Any, kernel: tuple[str, str],
                                      tmp_path: Path) -> None:
    """execute/inspect/complete/history requests get no reply, no output, no side effect.

    A ``kernel_info_request`` on the same socket does get its reply, so the socket was
    live and the silence is the server's filter, not a dead connection.
    """
    canary = tmp_path / "canary"
    export = str((DEMO / "sessions.csv").resolve())
    attacks = []
    for code in ATTACKS:
        src = code.format(export=export, canary=str(canary))
        attacks += [execute(src), execute(src, channel="control")]
        attacks.append(message("inspect_request",
                               {"code": "open", "cursor_pos": 4, "detail_level": 1}))
        attacks.append(message("complete_request", {"code": "os.envi", "cursor_pos": 7}))
    attacks.append(message("history_request", {"output": True, "raw": True,
                                               "hist_access_type": "tail", "n": 100}))
    probe = message("kernel_info_request", {})
    ws = _websocket(server, kernel[0])
    try:
        got = exchange(ws, [*attacks, probe], wait=8.0)
    finally:
        ws.close()
    assert any(m["msg_type"] == "kernel_info_reply" for m in replies_to(got, probe))
    for sent in attacks:
        answered = [m["msg_type"] for m in replies_to(got, sent)]
        assert not set(answered) & OUTPUT_TYPES, (sent["header"]["msg_type"], answered)
    text = json.dumps(got)
    assert not canary.exists(), "an execute_request from the browser ran in the kernel"
    assert not leaks(text) and "SUPERVISION_SCOPED_DIR" not in text


def _widget_states(ws: Any) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Every widget's state, asked as the page asks it (``request_state`` on each comm)."""
    info = message("comm_info_request", {"target_name": "jupyter.widget"})
    got = exchange(ws, [info], wait=4.0)
    comms = next((m["content"]["comms"] for m in replies_to(got, info)
                  if m["msg_type"] == "comm_info_reply"), {})
    asks = [message("comm_msg", {"comm_id": c, "data": {"method": "request_state"}})
            for c in comms]
    got += exchange(ws, asks, wait=8.0)
    states = {}
    for m in got:
        content = m.get("content", {})
        if m["msg_type"] == "comm_msg" and content.get("data", {}).get("method") == "update":
            states.setdefault(content["comm_id"], {}).update(content["data"]["state"])
    return states, got


def test_widgets_cannot_widen_the_view(server: Any, kernel: tuple[str, str]) -> None:
    """Setting every widget's value/label/index to another therapist changes nothing."""
    ws = _websocket(server, kernel[0])
    try:
        states, got = _widget_states(ws)
        assert len(states) >= 5, "the page's widgets did not answer request_state"
        updates = []
        for comm_id, state in states.items():
            for key, forged in (("value", "T02"), ("label", "T02"), ("index", 1),
                                ("selected_index", 1), ("options", ["T02", "T03"]),
                                ("_options_labels", ["T02"]), ("description", "T02")):
                if key in state:
                    updates.append(message("comm_msg", {"comm_id": comm_id, "data": {
                        "method": "update", "state": {key: forged}, "buffer_paths": []}}))
        got += exchange(ws, updates, wait=15.0)
        after, more = _widget_states(ws)
    finally:
        ws.close()
    assert len(updates) >= 1
    # our own forged ids come back as echoes; the data (episodes, clients) must not
    data_ids = {i for i in OTHER_IDS if not i.startswith("T")}
    seen = set(OTHER.findall(json.dumps(got + more))) & data_ids
    assert not seen, sorted(seen)[:5]
    assert after


def test_url_parameters_change_nothing(server: Any, browser: Any) -> None:
    """``?therapist=T02`` (and similar) in Chromium: the page still shows only T01."""
    page = browser.new_page()
    try:
        for query in ("?therapist=T02", "?therapist_id=T02&SUPERVISION_THERAPIST=T02",
                      "?voila-template=../supervisor&therapist=T03"):
            page.goto(server.url + "/voila/render/therapist.ipynb" + query,
                      timeout=120_000)
            page.wait_for_selector(".sv-tab", timeout=120_000)
            page.wait_for_timeout(3000)
            html = page.content()
            assert ME in html, query
            assert not leaks(html), (query, sorted(leaks(html))[:5])
    finally:
        page.close()
