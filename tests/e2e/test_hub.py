"""`supervision hub` in Chromium: logins, roles, and what never reaches a user (domain §13).

One hub on the demo export for the module, with a therapist (ana, T01), a supervisor of two
therapists (sam: T02, T03) and a lead (lee).  Their passwords are set beforehand by the
practice (``supervision hub passwd``).  Every process is found from the pid the test
started (its descendants), never by a pattern over the machine's command lines.  Times
from pressing "Sign in" to the first figure drawn, and the memory of the hub with its proxy,
the users' servers and their kernels, go to screenshots/hub.json.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from e2e_support import FIGURES_DRAWN as DRAWN
from hub_support import Hub
from processes import cmdline, descendants, environ, rss_bytes

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = Path(__file__).resolve().parent / "screenshots"
RECORD = SCREENSHOTS / "hub.json"
PASSWORD = "a-long-first-password"
ROLES = """
[users.ana]
role = "therapist"
therapist = "T01"

[users.sam]
role = "supervisor"
therapists = ["T02", "T03"]

[users.lee]
role = "lead"
"""
LINKS = """() => [...document.querySelectorAll('.sv-dashboard a')]
  .map(a => new URL(a.href).pathname)"""

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def _record(key: str, value: Any) -> None:
    SCREENSHOTS.mkdir(exist_ok=True)
    data = json.loads(RECORD.read_text()) if RECORD.exists() else {}
    data[key] = value
    RECORD.write_text(json.dumps(data, indent=2))


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory, demo_export: Path) -> Iterator[dict]:
    running = Hub(demo_export, ROLES, tmp_path_factory.mktemp("hub"),
                  passwords=dict.fromkeys(("ana", "sam", "lee"), PASSWORD))
    yield {"url": running.url, "proc": running.proc, "export": str(demo_export.resolve()),
           "hub": running}
    running.stop()


def _login(page: Any, hub: dict, name: str) -> float:
    """Sign in with the password the practice set; return the monotonic time of the click."""
    page.goto(hub["url"] + "/hub/login", timeout=60_000)
    page.fill("#username_input", name)
    page.fill("#password_input", PASSWORD)
    t0 = time.monotonic()
    page.click("#login_submit")
    return t0


def _landing(page: Any, name: str) -> list[str]:
    page.wait_for_selector(".sv-dashboard a", timeout=240_000)
    assert page.url.rstrip("/").endswith(f"/user/{name}")
    return page.evaluate(LINKS)


def _open_first_figure(page: Any, link: str, name: str, t0: float) -> None:
    page.click(f".sv-dashboard a[href$='{link}']")
    page.wait_for_function(DRAWN, timeout=240_000)
    _record(f"{name}: sign-in to first figure (s)", round(time.monotonic() - t0, 2))
    assert page.locator(".sv-error").count() == 0


def test_therapist_sees_only_their_own_figures(hub: dict, context: Any) -> None:
    page = context.new_page()
    t0 = _login(page, hub, "ana")
    assert _landing(page, "ana") == ["/user/ana/voila/render/therapist.ipynb"]
    _open_first_figure(page, "therapist.ipynb", "ana (therapist)", t0)
    text = page.inner_text(".sv-app")
    assert "T01" in text
    html = page.content()
    assert not re.search(r"\bT0[2-9]\b|\bT1[0-9]\b", html), "another therapist's id shows"
    page.screenshot(path=str(SCREENSHOTS / "hub-therapist.png"))


def test_supervisor_picks_among_exactly_their_therapists(hub: dict, context: Any) -> None:
    page = context.new_page()
    t0 = _login(page, hub, "sam")
    assert _landing(page, "sam") == ["/user/sam/voila/render/supervisor.ipynb"]
    _open_first_figure(page, "supervisor.ipynb", "sam (supervisor)", t0)
    options = page.evaluate("() => [...document.querySelectorAll('.sv-app select')][0]"
                            ".options.length ? [...[...document.querySelectorAll("
                            "'.sv-app select')][0].options].map(o => o.textContent) : []")
    assert options == ["T02", "T03"]
    assert "/voila/render/practice_review.ipynb" not in page.content()
    resp = page.goto(hub["url"] + "/user/sam/voila/render/practice_review.ipynb")
    assert resp.status == 404


def test_lead_opens_the_practice_review(hub: dict, context: Any) -> None:
    page = context.new_page()
    t0 = _login(page, hub, "lee")
    assert _landing(page, "lee") == ["/user/lee/voila/render/supervisor.ipynb",
                                     "/user/lee/voila/render/practice_review.ipynb"]
    _open_first_figure(page, "practice_review.ipynb", "lee (lead)", t0)
    assert "Practice review" in page.inner_text(".sv-app")


def test_a_name_not_in_the_roles_file_cannot_log_in(hub: dict, context: Any) -> None:
    page = context.new_page()
    _login(page, hub, "mallory")
    page.wait_for_load_state()
    assert "/hub/login" in page.url
    assert page.locator("#username_input").count() == 1
    assert "/user/mallory" not in page.url


def test_a_therapist_cannot_open_another_users_server(hub: dict, context: Any) -> None:
    page = context.new_page()
    _login(page, hub, "ana")
    _landing(page, "ana")
    for path in ("/user/lee/", "/user/lee/voila/render/practice_review.ipynb",
                 "/user/sam/voila/render/supervisor.ipynb"):
        page.goto(hub["url"] + path, timeout=60_000)
        page.wait_for_load_state()
        assert page.locator(".sv-app, .sv-dashboard").count() == 0, path
        assert "/user/ana" not in page.url or "lee" not in page.url


def _rss_mb(pids: list[int]) -> float:
    return round(rss_bytes(pids) / 2**20, 1)


def test_no_hub_token_or_export_path_reaches_a_kernel_or_page(hub: dict, context: Any) -> None:
    page = context.new_page()
    _login(page, hub, "ana")
    _landing(page, "ana")
    html_landing = page.content()
    page.click(".sv-dashboard a")
    page.wait_for_function(DRAWN, timeout=240_000)
    html = page.content() + html_landing
    [server] = hub["hub"].pids_matching("--Voila.base_url=/user/ana/")
    token = environ(server)["JUPYTERHUB_API_TOKEN"]  # what the hub gave the server at start
    kernels = [k for k in descendants(server) if "ipykernel" in cmdline(k)]
    assert kernels
    for k in kernels:
        env = environ(k)
        assert not [v for v in env if v.startswith("JUPYTERHUB_")], env.keys()
        assert token not in "\0".join(env.values())
        assert hub["export"] not in "\0".join(env.values())
        assert "SUPERVISION_EXPORT" not in env and "SUPERVISION_PREPARED" not in env
        assert env["SUPERVISION_THERAPIST"] == "T01"
    assert token not in html and hub["export"] not in html
    # memory of everything the hub runs, after the logins of this module
    hub_pids = (hub["hub"].pids_matching("jupyterhub_config.py")
                + hub["hub"].pids_matching("configurable-http-proxy"))
    servers = hub["hub"].pids_matching("--Voila.base_url=/user/")
    everything = hub_pids + servers + [k for s in servers for k in descendants(s)]
    _record("memory: hub + proxy (MB RSS)", _rss_mb(hub_pids))
    _record("memory: everything, with the servers and kernels of "
            f"{len(servers)} logins (MB RSS)", _rss_mb(everything))


def test_no_websocket_frame_carries_a_secret_and_a_forged_id_gets_nothing(
        hub: dict, context: Any, demo_export: Path) -> None:
    """Every websocket frame between ana's page and her server, both ways, while she opens
    her dashboard, goes to *Cases to discuss* and types another therapist's episode id into
    the timeline picker (the widget's value, as a forged comm message would set it): no frame
    holds the hub's API token or the export path, and the forged id gets "not in this
    caseload" and nothing of that episode — its therapist's id appears in no frame."""
    import pandas as pd

    frames: list[str] = []

    def watch(ws: Any) -> None:
        for event in ("framereceived", "framesent"):
            ws.on(event, lambda payload: frames.append(
                payload if isinstance(payload, str) else payload.decode(errors="replace")))

    page = context.new_page()
    page.on("websocket", watch)
    _login(page, hub, "ana")
    _landing(page, "ana")
    page.click(".sv-dashboard a")
    page.wait_for_function(DRAWN, timeout=240_000)
    page.locator(".lm-TabBar-tab", has_text="Cases to discuss").click()
    box = page.locator(".sv-episode-picker input")
    box.wait_for(timeout=120_000)
    eps = pd.read_csv(demo_export / "episodes.csv", dtype=str)
    theirs = eps[eps["therapist_id"] == "T02"].iloc[0]["episode_id"]
    box.fill(theirs)
    box.press("Tab")
    page.wait_for_timeout(300)
    page.locator(".sv-open-timeline").click()
    page.locator(".sv-timeline .sv-empty").wait_for(timeout=60_000)
    assert "is not in this caseload" in page.inner_text(".sv-timeline")
    assert page.locator(".sv-timeline .js-plotly-plot").count() == 0
    [server] = hub["hub"].pids_matching("--Voila.base_url=/user/ana/")
    token = environ(server)["JUPYTERHUB_API_TOKEN"]
    assert len(frames) > 10, len(frames)  # the dashboard's widgets came over the websocket
    joined = "\n".join(frames)
    assert token not in joined
    assert hub["export"] not in joined and str(demo_export) not in joined
    assert not re.search(r"\bT02\b", joined), "the other therapist's id reached the page"
