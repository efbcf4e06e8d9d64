"""Sign-in through the practice's own identity provider (issue 22, item 1), in Chromium.

A real OpenID Connect provider runs on loopback (``oidc-provider-mock``: discovery document,
authorization-code flow, token and userinfo endpoints) with three people: ana and sam, whose
e-mail addresses the roles file names as their ``login``, and mallory, whom it does not
name.  ``supervision hub --oidc ISSUER`` reads the provider's addresses from its discovery
document; the client id and secret come from the environment, never the command line.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from e2e_support import FIGURES_DRAWN as DRAWN
from hub_support import LOGS, Hub, free_port
from processes import cmdline, environ

SECRET = "client-secret-that-must-not-leak"
ROLES = """
[users.ana]
role = "therapist"
therapist = "T01"
login = "ana@example-practice.org"

[users.sam]
role = "supervisor"
therapists = ["T02", "T03"]
login = "Sam@Example-Practice.org"
"""
OPTIONS = """() => [...document.querySelector('.sv-app select').options].map(o => o.textContent)"""

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


PEOPLE = [
    {"sub": "ana-0001", "email": "ana@example-practice.org", "email_verified": True},
    {"sub": "sam-0002", "email": "sam@example-practice.org", "email_verified": True},
    {"sub": "mallory-0003", "email": "mallory@elsewhere.example", "email_verified": True},
]


@pytest.fixture(scope="module")
def provider() -> Iterator[str]:
    """``oidc-provider-mock`` in a process of its own on loopback, stopped by its pid."""
    port = free_port()
    claims = [arg for person in PEOPLE for arg in ("--user-claims", json.dumps(person))]
    log = (LOGS / f"oidc-provider-{port}.log").open("wb")
    proc = subprocess.Popen([sys.executable, "-m", "oidc_provider_mock", "--host", "127.0.0.1",
                             "--port", str(port), *claims], stdout=log,
                            stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        assert proc.poll() is None, "the OpenID Connect provider exited early"
        try:
            urllib.request.urlopen(url + "/.well-known/openid-configuration", timeout=2).close()
            break
        except OSError:
            assert time.monotonic() < deadline, "the OpenID Connect provider did not answer"
            time.sleep(0.3)
    yield url
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    log.close()


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory, demo_export: Path,
        provider: str) -> Iterator[Hub]:
    running = Hub(demo_export, ROLES, tmp_path_factory.mktemp("oidc"),
                  extra=["--oidc", provider],
                  env={"SUPERVISION_OIDC_CLIENT_ID": "supervision-hub",
                       "SUPERVISION_OIDC_CLIENT_SECRET": SECRET})
    yield running
    running.stop()


def _through_provider(page: Any, hub: Hub, sub: str) -> None:
    """Open the hub, choose its one sign-in button, and be ``sub`` at the provider."""
    page.goto(hub.url + "/hub/login", timeout=60_000)
    page.get_by_text("Sign in with your practice's account").click()
    page.wait_for_url(re.compile(r"/oauth2/authorize"), timeout=60_000)
    page.locator(f"button[name='sub'][value='{sub}']").click()


def test_a_therapist_signs_in_through_the_provider_and_sees_only_t01(hub: Hub,
                                                                    context: Any) -> None:
    page = context.new_page()
    _through_provider(page, hub, "ana-0001")
    page.wait_for_selector(".sv-dashboard a", timeout=240_000)
    assert page.url.rstrip("/").endswith("/user/ana")
    page.click(".sv-dashboard a[href$='therapist.ipynb']")
    page.wait_for_function(DRAWN, timeout=240_000)
    assert "T01" in page.inner_text(".sv-app")
    assert not re.search(r"\bT0[2-9]\b|\bT1[0-9]\b", page.content())


def test_an_identity_not_in_the_roles_file_is_refused(hub: Hub, context: Any) -> None:
    page = context.new_page()
    _through_provider(page, hub, "mallory-0003")
    page.wait_for_load_state()
    assert "/user/" not in page.url
    assert page.locator(".sv-dashboard, .sv-app").count() == 0
    assert "403" in page.inner_text("body")
    assert "'mallory@elsewhere.example' is in no [users] entry of the roles file" in hub.log()
    page.goto(hub.url + "/hub/home")
    assert "/hub/login" in page.url


def test_a_supervisor_sees_exactly_their_therapists(hub: Hub, context: Any) -> None:
    page = context.new_page()
    _through_provider(page, hub, "sam-0002")
    page.wait_for_selector(".sv-dashboard a", timeout=240_000)
    page.click(".sv-dashboard a[href$='supervisor.ipynb']")
    page.wait_for_function(DRAWN, timeout=240_000)
    assert page.evaluate(OPTIONS) == ["T02", "T03"]


def test_the_client_secret_is_on_no_command_line_and_in_no_servers_environment(
        hub: Hub) -> None:
    assert SECRET not in cmdline(hub.proc.pid)
    for pid in hub.pids()[1:]:  # what `supervision hub` started: JupyterHub and the rest
        assert SECRET not in cmdline(pid)
        assert SECRET not in "\0".join(f"{k}={v}" for k, v in environ(pid).items()), cmdline(pid)
    assert SECRET not in hub.log()
