"""Sign-in a practice can trust (issue 22), on a real hub, in Chromium where a person would.

One hub on the demo export with passwords only the practice sets: ana (therapist, T01) and
lee (lead) have one (``supervision hub passwd``), ben (therapist, T02) gets an enrolment code
(``supervision hub invite``) in the test, sam (supervisor) has neither — the name an outsider
tries to claim.  A second hub, behind a pretend TLS proxy (``--public-url https://…``),
shows which cookies carry ``Secure``.  Throttling tests give each their own client address
(``X-Forwarded-For`` from loopback, as a reverse proxy on the machine would send it), so
that their failures do not lock each other's address.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

import pytest
from hub_support import Hub, sign_in, supervision

PASSWORD = "a-long-practice-password"
ROLES = """
[users.ana]
role = "therapist"
therapist = "T01"

[users.ben]
role = "therapist"
therapist = "T02"

[users.sam]
role = "supervisor"
therapists = ["T02", "T03"]

[users.lee]
role = "lead"
"""
FAILED = "Invalid username or password"
PUBLIC = "https://dashboards.example-practice.org/"

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory, demo_export: Path) -> Iterator[Hub]:
    running = Hub(demo_export, ROLES, tmp_path_factory.mktemp("signin"),
                  passwords={"ana": PASSWORD, "lee": PASSWORD})
    yield running
    running.stop()


def _login(page: Any, hub: Hub, name: str, password: str, next_url: str = "") -> None:
    page.goto(hub.url + "/hub/login" + (f"?next={next_url}" if next_url else ""),
              timeout=60_000)
    page.fill("#username_input", name)
    page.fill("#password_input", password)
    page.click("#login_submit")
    page.wait_for_load_state()


def _signed_out(page: Any, hub: Hub, path: str) -> bool:
    """Whether ``path`` ends on the sign-in page (no dashboard, no hub home)."""
    page.goto(hub.url + path, timeout=120_000)
    page.wait_for_load_state()
    return "/hub/login" in page.url and page.locator("#username_input").count() == 1 \
        and page.locator(".sv-dashboard, .sv-app").count() == 0


def test_an_outsider_cannot_claim_a_name_that_has_no_password(hub: Hub, context: Any) -> None:
    """Before: FirstUseAuthenticator set the password at the first sign-in — the outsider
    owned sam's account, and sam's own first sign-in was refused."""
    page = context.new_page()
    for _ in range(2):  # the first attempt claims nothing, so the second gets no further
        _login(page, hub, "sam", "outsiders-own-password")
        assert "/hub/login" in page.url and "/user/sam" not in page.url
        assert page.inner_text(".login_error").strip() == FAILED
    assert _signed_out(page, hub, "/hub/home")


def test_every_failed_sign_in_gets_the_same_answer(hub: Hub) -> None:
    """No oracle of who exists or who has a password yet: the same status and words for a
    name with no password (short or long attempt), a wrong password (any case of the
    name), a name not in the roles file, and lookalikes of a real name with its right
    password (Cyrillic, full-width, zero-width)."""
    cases = [("sam", "x"), ("sam", "long-enough-password"), ("ana", "wrong-password-1"),
             ("ANA", "wrong-password-2"), ("mallory", "long-enough-password"),
             ("\u0430na", PASSWORD), ("\uff41na", PASSWORD), ("a\u200bna", PASSWORD)]
    answers = {(n, p): sign_in(hub.url, n, p, forwarded_for=f"198.51.100.{i}")
               for i, (n, p) in enumerate(cases, start=10)}
    for case, answer in answers.items():
        assert (answer.status, answer.error) == (403, FAILED), case
        assert not any(c.startswith("jupyterhub-hub-login=") for c in answer.cookies), case
    assert "Password too short" not in hub.log()


def test_repeated_failures_lock_the_name_and_the_right_password_waits(hub: Hub) -> None:
    """Before: 20 wrong passwords in 5.6 s, no slow-down, and the right one still worked."""
    address = "203.0.113.5"
    waits = [sign_in(hub.url, "lee", f"wrong-password-{i}", forwarded_for=address)
             for i in range(5)]
    assert all((a.status, a.error) == (403, FAILED) for a in waits)
    assert waits[-1].seconds >= 1.5 > waits[0].seconds  # later failures wait longer
    right = sign_in(hub.url, "lee", PASSWORD, forwarded_for="203.0.113.6")  # elsewhere too
    assert (right.status, right.error) == (403, FAILED)
    assert "sign-in locked: 'name lee' for 15 min after 5 failed attempts" in hub.log()


def test_many_names_from_one_address_lock_that_address(hub: Hub) -> None:
    address = "203.0.113.77"
    for i in range(20):
        sign_in(hub.url, f"guess{i}", "long-enough-password", forwarded_for=address)
    assert "sign-in locked: 'address 203.0.113.77'" in hub.log()
    blocked = sign_in(hub.url, "ana", PASSWORD, forwarded_for=address)
    assert (blocked.status, blocked.error) == (403, FAILED)
    assert sign_in(hub.url, "ana", PASSWORD, forwarded_for="192.0.2.50").status == 302


def test_a_login_cookie_lasts_a_working_day(hub: Hub) -> None:
    answer = sign_in(hub.url, "ana", PASSWORD, forwarded_for="192.0.2.51")
    [login] = [c for c in answer.cookies if c.startswith("jupyterhub-hub-login=")]
    expires = parsedate_to_datetime(re.search(r"expires=([^;]+)", login, re.I).group(1))
    hours = (expires.timestamp() - time.time()) / 3600
    assert 7.9 < hours <= 8.01, login
    assert "HttpOnly" in login


def test_an_old_cookie_after_logout_gets_the_sign_in_page(hub: Hub, browser: Any) -> None:
    """Before: a copied cookie kept working after logout, for 30 days.  Now logging out
    ends every session of that user, on the hub and on their own server."""
    mine = browser.new_context()
    page = mine.new_page()
    _login(page, hub, "ana", PASSWORD)
    page.wait_for_selector(".sv-dashboard a", timeout=240_000)
    copied = browser.new_context(storage_state=mine.storage_state())
    thief = copied.new_page()
    thief.goto(hub.url + "/user/ana/", timeout=120_000)
    thief.wait_for_selector(".sv-dashboard a", timeout=120_000)  # the copy works, for now
    page.goto(hub.url + "/hub/logout")
    page.wait_for_load_state()
    time.sleep(6)  # a user's server trusts the hub's answer about a token for 5 s
    for path in ("/hub/home", "/user/ana/", "/user/ana/voila/render/therapist.ipynb"):
        assert _signed_out(thief, hub, path), path
    assert "every session of ana ended (logout)" in hub.log()
    mine.close()
    copied.close()


def test_enrolment_code_sets_a_password_once(hub: Hub, context: Any) -> None:
    done = supervision("hub", "invite", "ben", "--state-dir", str(hub.state), "--hours", "1")
    assert done.returncode == 0, done.stderr
    code = re.search(r"Enrolment code for ben: (\S+)", done.stdout).group(1)
    page = context.new_page()
    page.goto(hub.url + "/hub/login")
    page.click("#enrol_link")

    def enrol(name: str, given: str, password: str) -> str:
        page.goto(hub.url + "/hub/enrol")
        for field, value in (("#username_input", name), ("#code_input", given),
                             ("#new_input", password), ("#again_input", password)):
            page.fill(field, value)
        page.click("#enrol_submit")
        page.wait_for_load_state()
        return page.inner_text("#login-main")

    assert "Check your user name and the enrolment code" in enrol("ben", "WRONG-CODE", PASSWORD)
    assert "Check your user name" in enrol("sam", code, PASSWORD)  # not sam's code
    assert "at least 10 characters" in enrol("ben", code, "short")
    assert "Your password is set, ben" in enrol("ben", code, PASSWORD)
    assert "Check your user name" in enrol("ben", code, PASSWORD + "-again")  # spent
    _login(page, hub, "ben", PASSWORD, next_url="/hub/home")
    assert page.url.endswith("/hub/home")


def test_a_password_change_asks_the_current_one_and_ends_every_session(
        hub: Hub, browser: Any) -> None:
    """Before: the change form needed no current password, and old cookies kept working."""
    mine = browser.new_context()
    page = mine.new_page()
    name, new = "ana", "a-brand-new-passphrase"
    _login(page, hub, name, PASSWORD, next_url="/hub/password")
    assert page.url.endswith("/hub/password")
    copied = browser.new_context(storage_state=mine.storage_state())
    other = copied.new_page()
    other.goto(hub.url + "/hub/home")
    assert other.url.endswith("/hub/home")

    def change(current: str) -> str:
        page.goto(hub.url + "/hub/password")
        page.fill("#current_input", current)
        page.fill("#new_input", new)
        page.fill("#again_input", new)
        page.click("#password_submit")
        page.wait_for_load_state()
        return page.inner_text("#login-main")

    assert "the current password is not right" in change("not-the-password")
    assert "Your password is changed" in change(PASSWORD)
    assert _signed_out(other, hub, "/hub/home") and _signed_out(page, hub, "/hub/home")
    assert sign_in(hub.url, name, PASSWORD, forwarded_for="192.0.2.60").error == FAILED
    assert sign_in(hub.url, name, new, forwarded_for="192.0.2.61").status == 302
    mine.close()
    copied.close()


@pytest.fixture(scope="module")
def tls_hub(tmp_path_factory: pytest.TempPathFactory, demo_export: Path) -> Iterator[Hub]:
    running = Hub(demo_export, ROLES, tmp_path_factory.mktemp("tls"),
                  passwords={"ana": PASSWORD}, extra=["--public-url", PUBLIC])
    yield running
    running.stop()


def test_behind_tls_every_login_cookie_is_secure(tls_hub: Hub) -> None:
    """Before: the proxy's ``X-Forwarded-Proto: https,http`` and no public_url left the
    login cookies without ``Secure``."""
    answer = sign_in(tls_hub.url, "ana", PASSWORD)
    assert answer.status == 302, answer
    names = {c.split("=", 1)[0] for c in answer.cookies}
    assert {"_xsrf", "jupyterhub-session-id", "jupyterhub-hub-login"} <= names
    for cookie in answer.cookies:
        assert re.search(r";\s*Secure\b", cookie, re.I), cookie


def test_the_new_forms_refuse_a_post_without_the_csrf_token(hub: Hub) -> None:
    """CSRF held on every form before; it holds on the enrolment and password forms too
    (runs last: it sets ben's password)."""
    import urllib.error
    import urllib.parse
    import urllib.request

    def post(path: str, form: dict, cookies: str = "") -> int:
        request = urllib.request.Request(hub.url + path, urllib.parse.urlencode(form).encode(),
                                         headers={"Cookie": cookies} if cookies else {})
        try:
            with urllib.request.urlopen(request) as resp:
                return resp.status
        except urllib.error.HTTPError as exc:
            return exc.code

    code = supervision("hub", "invite", "ben", "--state-dir", str(hub.state)).stdout.split()[4]
    assert post("/hub/enrol", {"username": "ben", "code": code, "new": PASSWORD,
                               "again": PASSWORD}) == 403
    own = "therapists-own-passphrase"
    done = supervision("hub", "passwd", "ben", "--state-dir", str(hub.state), stdin=own + "\n")
    assert done.returncode == 0, done.stderr
    answer = sign_in(hub.url, "ben", own, forwarded_for="192.0.2.71")
    assert answer.status == 302
    cookies = "; ".join(c.split(";", 1)[0] for c in answer.cookies)
    assert post("/hub/password", {"current": own, "new": "x" * 12, "again": "x" * 12},
                cookies) == 403
    assert sign_in(hub.url, "ben", own, forwarded_for="192.0.2.72").status == 302
