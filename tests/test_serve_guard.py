"""``serve`` behind its guards: host names (DNS rebinding), cross-site renders, the kernel cap
and culling, ``/voila/query``, and a restart while the old port is in ``TIME_WAIT``.

Issue 12 items 1, 3 and the first two of 11.  The live tests start a real ``supervision
serve`` on the demo data (therapist view: one notebook, one pooled kernel) and speak raw
HTTP / websockets to it, so each fails on a server without the guards for the behaviour
itself, not for a missing import.  Kernels are counted as the server's ``ipykernel``
processes.
"""

from __future__ import annotations

import errno
import http.cookiejar
import re
import socket
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from e2e_support import e2e_conftest, process_tree

from supervision import opening
from supervision import serve as sv
from supervision.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "data" / "demo"
TOKEN = "g4rd-" + "Zq9w" * 8
PUBLIC = "dashboards.example.org"
RENDER = "/voila/render/therapist.ipynb"
KERNEL_ID = re.compile(r"kernelId[\"']?\s*[:=]\s*[\"']([0-9a-f-]{36})")
BUSY = "The dashboards are busy, try again in a minute"
EVIL = "evil.example"


# ------------------------------------------------------------------ helpers
class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def _get(url: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], str]:
    """GET without following redirects: (status, headers, body)."""
    opener = urllib.request.build_opener(_NoRedirect)
    req = urllib.request.Request(url, headers=headers or {})
    try:
        with opener.open(req, timeout=300) as r:
            return r.status, dict(r.headers), r.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read().decode("utf-8", "replace")


def _raw_get(port: int, path: str, host: str) -> tuple[int, str]:
    """A GET with an arbitrary ``Host`` header (urllib would not send a forged one)."""
    with socket.create_connection(("127.0.0.1", port), timeout=300) as s:
        s.sendall(f"GET {path} HTTP/1.0\r\nHost: {host}\r\n\r\n".encode())
        chunks = []
        while data := s.recv(65536):
            chunks.append(data)
    raw = b"".join(chunks).decode("utf-8", "replace")
    status = int(raw.split(" ", 2)[1])
    return status, raw.split("\r\n\r\n", 1)[-1]


def _ws(url: str, **kwargs: Any) -> tuple[int, str | None]:
    """(status of a websocket upgrade, first message within 3 s if accepted)."""
    import websocket

    try:
        ws = websocket.create_connection(url, timeout=30, **kwargs)
    except websocket.WebSocketBadStatusException as exc:
        return int(exc.status_code), None
    try:
        ws.settimeout(3)
        try:
            message = ws.recv()
        except (websocket.WebSocketTimeoutException, TimeoutError):
            message = None
        return 101, message if isinstance(message, str) else None
    finally:
        ws.close()


def _kernels(server: Any) -> int:
    """How many ipykernel processes run below the server."""
    return sum("ipykernel" in cmd for _, cmd in process_tree(server.proc.pid))


def _settled_kernels(server: Any, seconds: float = 6.0) -> int:
    """The kernel count once nothing has started for ``seconds`` (a pool refill waits 1 s)."""
    time.sleep(seconds)
    return _kernels(server)


def _login(base: str, token: str) -> str:
    """Sign in through the login form; the cookies to send afterwards."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(_NoRedirect, urllib.request.HTTPCookieProcessor(jar))
    opener.open(f"{base}/login", timeout=60).close()
    xsrf = next((c.value for c in jar if c.name == "_xsrf"), "")
    body = urllib.parse.urlencode({"password": token, "_xsrf": xsrf}).encode()
    try:
        opener.open(urllib.request.Request(f"{base}/login?next=%2F", data=body), timeout=60)
    except urllib.error.HTTPError as e:
        assert e.code == 302, e.code
    return "; ".join(f"{c.name}={c.value}" for c in jar)


def _server(monkeypatch: pytest.MonkeyPatch, **env: str) -> Any:
    for name in (opening.TOKEN_VAR, "SUPERVISION_PUBLIC_NAMES", "SUPERVISION_MAX_KERNELS",
                 "SUPERVISION_KERNEL_IDLE_TIMEOUT"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return e2e_conftest().Server(DEMO, "--therapist", "T01")


@pytest.fixture(scope="module")
def open_server() -> Iterator[Any]:
    """A loopback server without a token, answering to one public name too."""
    with pytest.MonkeyPatch.context() as mp:
        server = _server(mp, SUPERVISION_PUBLIC_NAMES=PUBLIC)
    try:
        yield server
    finally:
        server.stop()


# ------------------------------------------------------------------ item 1: host names
@pytest.mark.slow
def test_a_forged_host_is_refused_on_pages_and_static_routes(open_server: Any) -> None:
    port = open_server.port
    before = _settled_kernels(open_server)
    for path in (RENDER, "/", "/voila/tree", "/voila/static/voila.js", "/api/status",
                 "/login", "/no/such/route"):
        status, body = _raw_get(port, path, f"{EVIL}:{port}")
        assert status == 403, (path, status)
        assert "kernelId" not in body and EVIL not in body and "Traceback" not in body
        assert "does not answer to that address" in body and "--public-name" in body
    for host in (f"{EVIL}.:{port}", f"127.0.0.1.{EVIL}:{port}", f"localhost.{EVIL}",
                 "attacker"):
        assert _raw_get(port, "/", host)[0] in (400, 403), host
    assert _settled_kernels(open_server) == before, "a refused render started a kernel"


@pytest.mark.slow
def test_loopback_names_and_the_public_name_are_served(open_server: Any) -> None:
    port = open_server.port
    for host in (f"localhost:{port}", f"[::1]:{port}", f"127.0.0.1:{port}", PUBLIC,
                 f"{PUBLIC.upper()}:{port}"):
        status, body = _raw_get(port, "/", host)
        assert status == 200 and "Supervision dashboards" in body, (host, status)
    status, body = _raw_get(port, RENDER, f"localhost:{port}")
    assert status == 200 and KERNEL_ID.search(body), status


@pytest.mark.slow
def test_the_kernel_websocket_refuses_a_forged_host_and_a_foreign_origin(
    open_server: Any,
) -> None:
    pytest.importorskip("websocket")
    port = open_server.port
    status, _, page = _get(open_server.url + RENDER)
    kernel = KERNEL_ID.search(page)
    assert status == 200 and kernel is not None
    url = f"ws://127.0.0.1:{port}/api/kernels/{kernel.group(1)}/channels"
    # the rebinding page: its name re-resolves to 127.0.0.1, so Origin matches Host
    assert _ws(url, host=f"{EVIL}:{port}", origin=f"http://{EVIL}:{port}")[0] == 403
    assert _ws(url, origin=f"http://{EVIL}:{port}")[0] == 403
    assert _ws(url, origin="null")[0] == 403
    assert _ws(url, origin=f"http://127.0.0.1:{port}")[0] == 101
    assert _ws(url, host=f"localhost:{port}", origin=f"http://localhost:{port}")[0] == 101


# ------------------------------------------------------------------ item 3: cross-site renders
@pytest.mark.slow
@pytest.mark.parametrize(
    "headers",
    [
        {"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Dest": "image", "Sec-Fetch-Mode": "no-cors"},
        {"Sec-Fetch-Site": "same-site", "Sec-Fetch-Dest": "document"},
        {"Sec-Fetch-Site": "same-origin", "Sec-Fetch-Dest": "script"},
        {"Referer": f"https://{EVIL}/page.html"},
        {"Origin": f"https://{EVIL}"},
    ],
    ids=["img-cross-site", "same-site-link", "script", "foreign-referer", "foreign-origin"],
)
def test_a_cross_site_render_is_refused_and_starts_no_kernel(
    open_server: Any, headers: dict[str, str]
) -> None:
    before = _settled_kernels(open_server)
    status, _, body = _get(open_server.url + RENDER, headers)
    assert status == 403, status
    assert "kernelId" not in body and EVIL not in body and "Traceback" not in body
    assert _settled_kernels(open_server) == before, "a refused render started a kernel"


@pytest.mark.slow
def test_a_direct_visit_still_renders(open_server: Any) -> None:
    for headers in ({"Sec-Fetch-Site": "none", "Sec-Fetch-Dest": "document"},
                    {"Sec-Fetch-Site": "same-origin", "Sec-Fetch-Dest": "document",
                     "Referer": f"{open_server.url}/"}):
        status, _, body = _get(open_server.url + RENDER, headers)
        assert status == 200 and KERNEL_ID.search(body), status


# ------------------------------------------------------------------ item 3: cap and culling
@pytest.mark.slow
def test_kernels_are_capped_and_the_never_connected_ones_culled(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    cap, idle, requests = 3, 15, 6
    server = _server(monkeypatch, SUPERVISION_MAX_KERNELS=str(cap),
                     SUPERVISION_KERNEL_IDLE_TIMEOUT=str(idle))
    try:
        pool = _settled_kernels(server, 0)
        assert pool == 1  # the therapist dashboard's preheated kernel
        peak, done = [pool], threading.Event()

        def sample() -> None:
            while not done.is_set():
                peak.append(_kernels(server))
                time.sleep(0.2)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        results: list[tuple[int, dict[str, str], str]] = []
        lock = threading.Lock()

        def fetch() -> None:
            answer = _get(server.url + RENDER)
            with lock:
                results.append(answer)

        threads = [threading.Thread(target=fetch) for _ in range(requests)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=600)
        statuses = sorted(r[0] for r in results)
        assert statuses == [200] * cap + [503] * (requests - cap), statuses
        for status, headers, body in results:
            if status == 503:
                assert BUSY in body and "Traceback" not in body and "kernelId" not in body
                assert headers.get("Retry-After") == "60"
            else:
                assert KERNEL_ID.search(body)
        # none of those pages ever connects: they are shut down after the idle timeout
        deadline = time.monotonic() + idle + 120
        while _kernels(server) > pool and time.monotonic() < deadline:
            time.sleep(1)
        done.set()
        sampler.join()
        assert max(peak) <= cap + pool, peak
        assert _kernels(server) == pool, "never-connected kernels were not culled"
        assert "Culling 'idle' kernel" in server.log.read_text(errors="replace")
        status, _, body = _get(server.url + RENDER)  # room again
        assert status == 200 and KERNEL_ID.search(body), status
    finally:
        server.stop()


# ------------------------------------------------------------------ item 11: /voila/query
@pytest.mark.slow
def test_voila_query_needs_the_token_and_never_echoes_the_query_string(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pytest.importorskip("websocket")
    server = _server(monkeypatch, SUPERVISION_TOKEN=TOKEN)
    try:
        status, _, page = _get(f"{server.url}{RENDER}?token={TOKEN}&marker=q1")
        kernel = KERNEL_ID.search(page)
        assert status == 200 and kernel is not None, status
        url = f"ws://127.0.0.1:{server.port}/voila/query/{kernel.group(1)}"
        status, message = _ws(url)
        assert status == 403, f"answered without the token: {message!r}"
        cookie = _login(server.url, TOKEN)
        status, message = _ws(url, cookie=cookie)
        assert status == 101
        assert message is None or (TOKEN not in message and "marker" not in message
                                   and "QUERY_STRING" not in message), message
    finally:
        server.stop()


# ------------------------------------------------------------------ item 11: restart
def _time_wait_port() -> int:
    """A port whose server side closed a connection first: it is left in TIME_WAIT."""
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as tornado does
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    port = int(listener.getsockname()[1])
    client = socket.create_connection(("127.0.0.1", port))
    conn, _ = listener.accept()
    conn.close()  # the server closes first: its end goes to TIME_WAIT
    client.recv(1)
    client.close()
    listener.close()
    return port


@pytest.mark.skipif(not Path("/proc/net/tcp").exists(), reason="needs Linux TIME_WAIT rules")
def test_a_restart_while_the_old_port_is_in_time_wait_is_accepted() -> None:
    port = _time_wait_port()
    with socket.socket() as plain:  # the precondition: a bind without SO_REUSEADDR fails
        with pytest.raises(OSError) as info:
            plain.bind(("127.0.0.1", port))
        assert info.value.errno == errno.EADDRINUSE
    sv.check_port(port)


def test_a_port_really_in_use_is_still_refused() -> None:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # a Voilà still running
        s.bind(("127.0.0.1", 0))
        s.listen()
        with pytest.raises(ConfigError, match="already in use"):
            sv.check_port(s.getsockname()[1])


# ------------------------------------------------------------------ the pieces
def test_voila_runs_through_the_guarded_launcher() -> None:
    cmd = sv.voila_command(Path("/x"), 9999, names=[PUBLIC], max_kernels=4, idle_timeout=60)
    assert cmd[1:3] == ["-m", "supervision.voila_app"]
    assert "--SupervisionVoila.max_kernels=4" in cmd
    assert "--SupervisionVoila.kernel_idle_timeout=60" in cmd
    assert f"--SupervisionVoila.public_names={PUBLIC}" in cmd


def test_the_launcher_reads_every_option() -> None:
    from supervision.voila_app import SupervisionVoila

    cmd = sv.voila_command(Path("/x"), 9999, names=[PUBLIC, "b.example.org"], max_kernels=3,
                           idle_timeout=45)
    app = SupervisionVoila()
    app.parse_command_line([a for a in cmd if a.startswith("--SupervisionVoila.")])
    assert app.public_names == [PUBLIC, "b.example.org"]
    assert (app.max_kernels, app.kernel_idle_timeout) == (3, 45)


def test_public_names_are_validated(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SUPERVISION_PUBLIC_NAMES", "b.example.org, [2001:db8::1]")
    assert sv.public_names(["A.Example.org", "b.example.org"]) == [
        "a.example.org", "b.example.org", "2001:db8::1"]
    for bad in ("https://a.example.org", "a.example.org:443", "a/b", "a b", "-a.org"):
        monkeypatch.delenv("SUPERVISION_PUBLIC_NAMES", raising=False)
        with pytest.raises(ConfigError, match="is not a host name"):
            sv.public_names([bad])


def test_kernel_limits_from_options_or_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SUPERVISION_MAX_KERNELS", raising=False)
    monkeypatch.delenv("SUPERVISION_KERNEL_IDLE_TIMEOUT", raising=False)
    assert sv.kernel_limits() == (8, 300)
    assert sv.kernel_limits(2, 30) == (2, 30)
    monkeypatch.setenv("SUPERVISION_MAX_KERNELS", "5")
    monkeypatch.setenv("SUPERVISION_KERNEL_IDLE_TIMEOUT", "90")
    assert sv.kernel_limits() == (5, 90)
    monkeypatch.setenv("SUPERVISION_MAX_KERNELS", "lots")
    with pytest.raises(ConfigError, match="SUPERVISION_MAX_KERNELS must be a whole number"):
        sv.kernel_limits()
    with pytest.raises(ConfigError, match="at least 1"):
        sv.kernel_limits(0, 30)


@pytest.mark.parametrize(
    ("ip", "host", "allowed"),
    [
        ("127.0.0.1", "127.0.0.1:8866", True),
        ("127.0.0.1", "localhost:8866", True),
        ("127.0.0.1", "LocalHost.", True),
        ("127.0.0.1", "app.localhost:8866", True),
        ("127.0.0.1", "127.9.9.9", True),
        ("127.0.0.1", "[::1]:8866", True),
        ("127.0.0.1", "[::ffff:127.0.0.1]:8866", True),
        ("127.0.0.1", PUBLIC, True),
        ("127.0.0.1", f"{EVIL}:8866", False),
        ("127.0.0.1", f"localhost.{EVIL}", False),
        ("127.0.0.1", f"127.0.0.1.{EVIL}", False),
        ("127.0.0.1", "10.0.0.5:8866", False),
        ("127.0.0.1", "", False),
        ("10.0.0.5", "10.0.0.5:8866", True),
        ("10.0.0.5", "10.0.0.6:8866", False),
        ("10.0.0.5", f"{EVIL}:8866", False),
        ("0.0.0.0", "192.168.1.20:8866", True),
        ("0.0.0.0", f"{EVIL}:8866", False),
        ("::", "[fe80::1]:8866", True),
    ],
)
def test_host_policy(ip: str, host: str, allowed: bool) -> None:
    from supervision.voila_app import HostPolicy

    assert HostPolicy(ip, [PUBLIC]).allows_host(host) is allowed


def test_origins_and_render_headers() -> None:
    from supervision.voila_app import HostPolicy, render_refusal

    policy = HostPolicy("127.0.0.1", [PUBLIC])
    assert policy.allows_origin("http://127.0.0.1:8866")
    assert policy.allows_origin(f"https://{PUBLIC}")
    for origin in ("null", f"http://{EVIL}", "file://", "chrome-extension://abc",
                   f"http://127.0.0.1@{EVIL}", "http://[::1"):
        assert not policy.allows_origin(origin), origin
    assert not render_refusal({}, policy)
    assert not render_refusal({"Sec-Fetch-Site": "none", "Sec-Fetch-Dest": "document"}, policy)
    assert not render_refusal({"Sec-Fetch-Site": "same-origin", "Sec-Fetch-Dest": "iframe",
                               "Referer": "http://localhost:8866/"}, policy)
    for headers in ({"Sec-Fetch-Site": "cross-site"}, {"Sec-Fetch-Site": "same-site"},
                    {"Sec-Fetch-Dest": "image"}, {"Sec-Fetch-Dest": "style"},
                    {"Sec-Fetch-Dest": "object"}, {"Referer": f"http://{EVIL}/"},
                    {"Origin": "null"}):
        assert render_refusal(headers, policy), headers
