"""The hub's sign-in parts outside JupyterHub (issue 22): the password store and enrolment
codes, the throttle, the client's address, the identity provider's settings, the roles
file's ``login`` and the ``supervision hub invite / passwd`` commands.  The same parts run in
a real hub, in Chromium, in tests/e2e/test_hub_signin.py and tests/e2e/test_hub_oidc.py."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from supervision.errors import ConfigError
from supervision.hub import config, oidc
from supervision.hub.passwords import Store, Throttle, client_address, new_code
from supervision.hub.roles import login_index, read_roles

ROOT = Path(__file__).resolve().parents[1]
GOOD = "a-long-enough-passphrase"


class Clock:
    """A clock the test moves by hand (seconds)."""

    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


# ------------------------------------------------------------------ the store
def test_a_password_is_stored_hashed_in_a_private_file(tmp_path: Path) -> None:
    store = Store(tmp_path / "state")
    store.set_password("ana", GOOD)
    assert store.verify("ana", GOOD)
    assert not store.verify("ana", GOOD + "x") and not store.verify("ben", GOOD)
    raw = store.path.read_bytes()
    assert GOOD.encode() not in raw and b"$argon2id$" in raw
    assert stat.S_IMODE(store.path.stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "state").stat().st_mode) == 0o700


@pytest.mark.parametrize("password, why", [
    ("short", "at least 10 characters"), ("ana-is-my-name", "must not contain the user name"),
    ("x" * 600, "at most 512")])
def test_a_weak_password_is_refused_with_the_reason(tmp_path: Path, password: str,
                                                    why: str) -> None:
    with pytest.raises(ConfigError, match=why):
        Store(tmp_path).set_password("ana", password)


def test_an_enrolment_code_works_once_and_only_for_its_name(tmp_path: Path) -> None:
    store = Store(tmp_path)
    code = store.issue_code("ben", hours=1)
    assert not store.has_password("ben")
    assert not store.redeem("ana", code, GOOD)  # another name
    assert not store.redeem("ben", new_code(), GOOD)  # another code
    assert store.redeem("ben", code.lower().replace("-", " "), GOOD)  # as a person types it
    assert store.verify("ben", GOOD)
    assert not store.redeem("ben", code, GOOD + "2")  # spent
    assert store.verify("ben", GOOD)


def test_an_enrolment_code_expires_and_a_new_one_replaces_the_old(tmp_path: Path) -> None:
    clock = Clock()
    store = Store(tmp_path, clock=clock)
    first = store.issue_code("ben", hours=2)
    second = store.issue_code("ben", hours=2)
    assert not store.redeem("ben", first, GOOD)
    clock.now += 2 * 3600 + 1
    assert not store.redeem("ben", second, GOOD)
    assert not store.has_password("ben")
    with pytest.raises(ConfigError, match="--hours must be more than 0"):
        store.issue_code("ben", hours=0)


def test_codes_are_random_and_easy_to_read() -> None:
    codes = {new_code() for _ in range(200)}
    assert len(codes) == 200
    assert all(len(c) == 19 and not set(c) & set("ILOU") for c in codes)


# ------------------------------------------------------------------ the throttle
def test_failures_wait_longer_then_lock_the_name_and_the_lock_is_logged() -> None:
    clock, lines = Clock(), []
    t = Throttle(lines.append, clock=clock)
    waits = []
    for _ in range(5):
        locked, wait = t.before("ana", "10.0.0.1")
        assert not locked
        waits.append(wait)
        t.failed("ana", "10.0.0.1")
    assert waits == [0.0, 0.0, 0.0, 1.0, 2.0]
    assert t.before("ana", "10.0.0.9")[0]  # locked from any address
    assert not t.before("ben", "10.0.0.1")[0]  # the address is not (yet)
    assert len(lines) == 1 and "sign-in locked: 'name ana' for 15 min after 5" in lines[0]
    clock.now += 901
    assert t.before("ana", "10.0.0.1") == (False, 0.0)


def test_many_names_from_one_address_lock_that_address() -> None:
    clock, lines = Clock(), []
    t = Throttle(lines.append, clock=clock)
    for i in range(20):
        t.failed(f"name{i}", "203.0.113.7")
    assert t.before("someone-else", "203.0.113.7")[0]
    assert not t.before("someone-else", "198.51.100.1")[0]
    assert any("'address 203.0.113.7'" in line for line in lines)


def test_a_success_forgets_the_names_failures() -> None:
    t = Throttle(lambda _: None, clock=Clock())
    for _ in range(3):
        t.failed("ana", "10.0.0.1")
    t.succeeded("ana")
    assert t.before("ana", "10.0.0.2") == (False, 0.0)


@pytest.mark.parametrize("header, peer, expected", [
    ("", "192.0.2.4", "192.0.2.4"),
    ("192.0.2.4, 127.0.0.1", "127.0.0.1", "192.0.2.4"),  # nginx on loopback, then our proxy
    ("127.0.0.1, 192.0.2.4", "127.0.0.1", "192.0.2.4"),  # a client writing loopback itself
    ("6.6.6.6, 192.0.2.4, 127.0.0.1", "127.0.0.1", "192.0.2.4"),  # a forged first hop
    ("127.0.0.1, ::1", "127.0.0.1", "127.0.0.1"),
    ("junk, 127.0.0.1", "127.0.0.1", "junk"),
])
def test_the_clients_address_is_the_last_hop_that_is_not_ours(header: str, peer: str,
                                                               expected: str) -> None:
    assert client_address(header, peer) == expected


# ------------------------------------------------------------------ settings
@pytest.mark.parametrize("issuer", ["http://idp.example", "ftp://x", "accounts.google.com",
                                    "https://idp.example/?a=1"])
def test_an_issuer_must_be_https(issuer: str) -> None:
    with pytest.raises(ConfigError, match="expected the identity provider's issuer URL"):
        oidc.check_issuer(issuer)


def test_loopback_issuers_may_be_plain_http_for_testing() -> None:
    assert oidc.check_issuer("http://localhost:9000/") == "http://localhost:9000"
    assert oidc.check_issuer("https://accounts.google.com") == "https://accounts.google.com"


def test_an_unreachable_provider_is_a_clear_error() -> None:
    with pytest.raises(ConfigError, match="cannot read the identity provider's discovery"):
        oidc.discover("http://127.0.0.1:9", timeout=2)


def test_client_credentials_come_from_a_private_file_or_the_environment(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    f = tmp_path / "client.toml"
    f.write_text('client_id = "abc"\nclient_secret = "s3cret"\n')
    f.chmod(0o644)
    with pytest.raises(ConfigError, match="others can read it; it holds a secret"):
        oidc.client_credentials(f)
    f.chmod(0o600)
    assert oidc.client_credentials(f) == ("abc", "s3cret")
    monkeypatch.delenv(oidc.ID_VAR, raising=False)
    monkeypatch.delenv(oidc.SECRET_VAR, raising=False)
    with pytest.raises(ConfigError, match="--oidc-client-file FILE"):
        oidc.client_credentials(None)
    monkeypatch.setenv(oidc.ID_VAR, "id")
    monkeypatch.setenv(oidc.SECRET_VAR, "sec")
    assert oidc.client_credentials(None) == ("id", "sec")


@pytest.mark.parametrize("url", ["http://x.example/", "https://x.example/sub/", "x.example"])
def test_a_public_url_must_be_https_at_the_root(url: str) -> None:
    with pytest.raises(ConfigError, match="expected https://HOST/"):
        config.check_public_url(url)


def test_session_hours_are_bounded() -> None:
    assert config.check_session_hours(8) == 8.0
    for bad in (0, -1, 1000):
        with pytest.raises(ConfigError, match="--session-hours"):
            config.check_session_hours(bad)


def test_logins_map_a_claim_to_the_roles_file(tmp_path: Path) -> None:
    roles = tmp_path / "roles.toml"
    roles.write_text('[users.ana]\nrole = "therapist"\ntherapist = "T01"\n'
                     'login = "Ana.Silva@Example-Practice.org"\n'
                     '[users.lee]\nrole = "lead"\n')
    assert login_index(read_roles(roles)) == {"ana.silva@example-practice.org": "ana",
                                              "lee": "lee"}
    roles.write_text('[users.ana]\nrole = "lead"\nlogin = "x@y.org"\n'
                     '[users.ben]\nrole = "lead"\nlogin = "X@Y.org"\n')
    with pytest.raises(ConfigError, match=r"\[users.ben\]: signs in with the same login"):
        read_roles(roles)


# ------------------------------------------------------------------ the commands
def _cli(*args: str, stdin: str = "") -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    return subprocess.run([sys.executable, "-m", "supervision.cli", *args], input=stdin,
                          capture_output=True, text=True, env=env, cwd=ROOT, timeout=120)


def test_invite_and_passwd_from_the_command_line(tmp_path: Path) -> None:
    state = str(tmp_path / "state")
    roles = str(ROOT / "docs" / "roles.example.toml")
    done = _cli("hub", "invite", "ben", "--state-dir", state, "--roles", roles, "--hours", "1")
    assert done.returncode == 0, done.stderr
    code = done.stdout.split("Enrolment code for ben: ")[1].split()[0]
    assert Store(Path(state)).redeem("ben", code, GOOD)
    done = _cli("hub", "passwd", "ana", "--state-dir", state, stdin=GOOD + "\n")
    assert done.returncode == 0 and Store(Path(state)).verify("ana", GOOD)
    refused = _cli("hub", "invite", "zed", "--state-dir", state, "--roles", roles)
    assert refused.returncode == 1
    assert refused.stderr.startswith("supervision hub invite: zed is not in the roles file")
    short = _cli("hub", "passwd", "ana", "--state-dir", state, stdin="short\n")
    assert short.returncode == 1 and "at least 10 characters" in short.stderr
    assert "Traceback" not in refused.stderr + short.stderr


def test_the_hub_refuses_a_bad_sign_in_setting_before_reading_the_export(
        tmp_path: Path) -> None:
    roles = str(ROOT / "docs" / "roles.example.toml")
    cases = [(["--oidc", "http://idp.example"], "expected the identity provider's issuer"),
             (["--public-url", "http://x.example/"], "expected https://HOST/"),
             (["--session-hours", "0"], "--session-hours must be more than 0"),
             (["--oidc-client-file", "c.toml"], "--oidc-client-file is for --oidc")]
    for extra, message in cases:
        done = _cli("hub", str(tmp_path / "no-export"), "--roles", roles, "--state-dir",
                    str(tmp_path / "s"), *extra)
        assert done.returncode == 1 and message in done.stderr, done.stderr
        assert "Traceback" not in done.stderr
