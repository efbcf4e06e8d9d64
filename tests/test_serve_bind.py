"""``serve --ip``: nothing listens beyond 127.0.0.1 without a token; with one, Voilà enforces it.

Issue 6 point 4 (second half).  The refusal is checked on the command line (exit code 2, the
message says how to configure a token, nothing is listening afterwards); a live server with a
token is checked over raw HTTP and the kernel websocket: without the token the dashboard
redirects to the login page and the kernel routes answer 403; with it the page renders.  The
token must never appear on a process's command line (``ps``) or in a kernel's environment.
"""

from __future__ import annotations

import http.cookiejar
import os
import re
import socket
import stat
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import processes
import pytest
from e2e_support import e2e_conftest, process_tree

from supervision import opening
from supervision import serve as sv
from supervision.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "data" / "demo"
TOKEN = "t0k-" + "x7Q2" * 8  # 36 characters, fixed so a failure is reproducible
KERNEL_ID = re.compile(r"kernelId[\"']?\s*[:=]\s*[\"']([0-9a-f-]{36})")


def _free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def _listening(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex(("127.0.0.1", port)) == 0


def _can_bind_all() -> bool:
    try:
        with socket.socket() as s:
            s.bind(("0.0.0.0", 0))
        return True
    except OSError:
        return False


def _cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``supervision serve``; if it does start a server (a broken guard), stop it cleanly.

    SIGTERM, not SIGKILL: ``serve`` then stops Voilà's own process group, leaving no orphan.
    """
    cmd = [sys.executable, "-m", "supervision.cli", "serve", *args]
    with subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          cwd=ROOT, env={**os.environ, **(env or {})}) as proc:
        try:
            out, err = proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            proc.terminate()
            out, err = proc.communicate(timeout=60)
    return subprocess.CompletedProcess(cmd, proc.returncode, out, err)


# ------------------------------------------------------------------ pure checks
@pytest.mark.parametrize(
    ("ip", "loopback"),
    [("127.0.0.1", True), ("127.1.2.3", True), ("::1", True), ("localhost", True),
     ("0.0.0.0", False), ("::", False), ("", False), ("10.0.0.5", False),
     ("192.168.1.20", False)],
)
def test_which_addresses_are_loopback(ip: str, loopback: bool) -> None:
    assert sv.is_loopback(ip) is loopback


def test_loopback_needs_no_token_and_any_other_address_does() -> None:
    sv.check_exposure("127.0.0.1", None)
    sv.check_exposure("0.0.0.0", TOKEN)
    with pytest.raises(sv.ExposureError) as info:
        sv.check_exposure("0.0.0.0", None)
    msg = str(info.value)
    assert "SUPERVISION_TOKEN" in msg and "--token-file" in msg and "chmod 600" in msg
    assert "secrets.token_urlsafe" in msg and "ps" in msg


def test_token_from_environment_or_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(opening.TOKEN_VAR, raising=False)
    assert sv.read_token(None) is None
    monkeypatch.setenv(opening.TOKEN_VAR, f"  {TOKEN}\n")
    assert sv.read_token(None) == TOKEN
    f = tmp_path / "token"
    f.write_text("file-" + TOKEN + "\n")
    f.chmod(0o600)
    assert sv.read_token(f) == "file-" + TOKEN  # the file wins over the environment


@pytest.mark.parametrize(
    ("content", "mode", "message"),
    [(TOKEN, 0o644, "readable by other users"), ("", 0o600, "is empty"),
     ("short", 0o600, "too weak"), ("has a space in the middle", 0o600, "too weak")],
)
def test_bad_token_files_are_refused(tmp_path: Path, content: str, mode: int,
                                     message: str) -> None:
    f = tmp_path / "token"
    f.write_text(content)
    f.chmod(mode)
    with pytest.raises(ConfigError, match=message) as info:
        sv.read_token(f)
    assert content not in str(info.value) or not content


def test_missing_token_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read --token-file"):
        sv.read_token(tmp_path / "nope")


def test_token_reaches_voila_through_a_private_file_not_argv(tmp_path: Path) -> None:
    conf = sv.write_voila_config(tmp_path / "conf", TOKEN)
    cmd = sv.voila_command(tmp_path, 9999, ip="0.0.0.0", config_dir=conf)
    assert TOKEN not in " ".join(cmd) and "--Voila.ip=0.0.0.0" in cmd
    assert cmd[cmd.index("--Voila.config_file_paths") + 1] == str(conf)  # searched first
    assert stat.S_IMODE((conf / "voila.json").stat().st_mode) == 0o600
    assert TOKEN in (conf / "voila.json").read_text()


def test_no_kernel_inherits_the_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(opening.TOKEN_VAR, TOKEN)
    monkeypatch.setenv("JUPYTER_TOKEN", TOKEN)
    for scoped in (False, True):
        env = sv.kernel_environment(scoped=scoped)
        assert TOKEN not in env.values() and opening.TOKEN_VAR not in env


# ------------------------------------------------------------------ the command line
@pytest.mark.parametrize("ip", ["0.0.0.0", "10.1.2.3", "::"])
def test_refused_without_a_token_exit_2_nothing_listening(ip: str) -> None:
    port = _free_port()
    env = {opening.TOKEN_VAR: ""}
    done = _cli(str(DEMO), "--ip", ip, "--port", str(port), env=env)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr and done.stdout == ""
    assert done.stderr.startswith(f"supervision serve: refusing to listen on {ip}")
    assert "SUPERVISION_TOKEN" in done.stderr and "--token-file" in done.stderr
    assert not _listening(port)


def test_weak_token_is_refused_before_anything_starts() -> None:
    port = _free_port()
    done = _cli(str(DEMO), "--ip", "0.0.0.0", "--port", str(port),
                env={opening.TOKEN_VAR: "1234"})
    assert done.returncode == 1 and "too weak" in done.stderr and "1234" not in done.stderr
    assert not _listening(port)


# ------------------------------------------------------------------ live servers
class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def _get(url: str, cookie: str = "") -> tuple[int, str, str]:
    """GET without following redirects: (status, Location header, body)."""
    opener = urllib.request.build_opener(_NoRedirect)
    req = urllib.request.Request(url, headers={"Cookie": cookie} if cookie else {})
    try:
        with opener.open(req, timeout=300) as r:
            return r.status, "", r.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("Location", ""), e.read().decode("utf-8", "replace")


def _login(base: str, token: str) -> tuple[int, str]:
    """Sign in through Voilà's login form, as the server's announcement advises.

    Returns (status of the POST, the cookies to send afterwards).
    """
    status, _, page = _get(f"{base}/login")
    assert status == 200 and "password" in page
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(_NoRedirect, urllib.request.HTTPCookieProcessor(jar))
    opener.open(f"{base}/login", timeout=60).close()  # the _xsrf cookie, if the server sets one
    xsrf = next((c.value for c in jar if c.name == "_xsrf"), "")
    body = urllib.parse.urlencode({"password": token, "_xsrf": xsrf}).encode()
    try:
        with opener.open(urllib.request.Request(f"{base}/login?next=%2F", data=body),
                         timeout=60) as r:
            status = r.status
    except urllib.error.HTTPError as e:
        status = e.code
    return status, "; ".join(f"{c.name}={c.value}" for c in jar)


def _render(url: str, cookie: str = "") -> str:
    """Render a dashboard (status 200 required); return its kernel id."""
    status, _, page = _get(url, cookie)
    match = KERNEL_ID.search(page)
    assert status == 200 and match is not None, status
    return match.group(1)


def _ws_status(base: str, kernel: str, cookie: str = "") -> int:
    """The HTTP status of a websocket upgrade to the kernel's channels (101 = accepted)."""
    import websocket

    ws_url = base.replace("http://", "ws://") + f"/api/kernels/{kernel}/channels"
    try:
        ws = websocket.create_connection(ws_url, timeout=30, cookie=cookie or None)
    except websocket.WebSocketBadStatusException as exc:
        return int(exc.status_code)
    ws.close()
    return 101


def _assert_token_enforced(server: Any, notebook: str) -> None:
    page = f"{server.url}/voila/render/{notebook}"
    status, location, _ = _get(page)
    assert status == 302 and "/login" in location, (status, location)
    assert _login(server.url, "wrong-" + TOKEN)[0] == 401
    status, cookie = _login(server.url, TOKEN)
    assert status == 302 and cookie
    kernel = _render(page, cookie)
    assert _get(f"{server.url}/api/kernels/{kernel}")[0] == 403
    assert _get(f"{server.url}/api/kernels/{kernel}", cookie)[0] == 200
    assert _ws_status(server.url, kernel) == 403
    assert _ws_status(server.url, kernel, cookie) == 101
    procs = process_tree(server.proc.pid)
    assert any("voila" in cmd for _, cmd in procs)
    kernels = [pid for pid, cmd in procs if "ipykernel" in cmd]
    assert kernels
    for _, cmd in procs:
        assert TOKEN not in cmd, "the token shows in ps"
    for pid in kernels:
        environ = "\0".join(f"{k}={v}" for k, v in processes.environ(pid).items())
        assert TOKEN not in environ and opening.TOKEN_VAR not in environ
    # ?token= in the URL works too (the announcement advises the login page instead: Voilà
    # hands the request URL to the kernels it starts afterwards)
    _render(f"{page}?token={TOKEN}")


@pytest.mark.slow
def test_token_on_loopback_guards_page_kernel_and_websocket(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pytest.importorskip("websocket")
    monkeypatch.setenv(opening.TOKEN_VAR, TOKEN)
    server = e2e_conftest().Server(DEMO, notebooks=1)
    try:
        _assert_token_enforced(server, "supervisor.ipynb")
        text = server.log.read_text(errors="replace")
        assert TOKEN not in text and "$SUPERVISION_TOKEN" in text
    finally:
        server.stop()


@pytest.mark.slow
@pytest.mark.skipif(not _can_bind_all(), reason="this sandbox cannot bind 0.0.0.0")
def test_token_file_on_every_interface(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("websocket")
    monkeypatch.delenv(opening.TOKEN_VAR, raising=False)
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN + "\n")
    token_file.chmod(0o600)
    server = e2e_conftest().Server(DEMO, "--ip", "0.0.0.0", "--token-file", str(token_file),
                           "--therapist", "T01")
    try:
        _assert_token_enforced(server, "therapist.ipynb")
        text = server.log.read_text(errors="replace")
        assert TOKEN not in text and str(token_file) in text
    finally:
        server.stop()


def test_an_address_not_of_this_machine_is_a_clear_error() -> None:
    # 192.0.2.0/24 is TEST-NET-1 (RFC 5737): never assigned to a real interface
    with pytest.raises(ConfigError, match=r"192\.0\.2\.7 is not an address of this machine"):
        sv.check_port(_free_port(), "192.0.2.7")
