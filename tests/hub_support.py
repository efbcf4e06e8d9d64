"""Starting ``supervision hub`` in tests, and finding exactly the processes it started.

:class:`Hub` runs the command in its own process group, with passwords stored beforehand by
``supervision hub passwd`` (the practice sets them; nobody claims a name by signing in
first).  :meth:`Hub.pids` is the hub's process and its descendants, found through the
psutil (:mod:`processes`) — never by a pattern over every command line of the machine, where
another test's hub (or another person's) would match.  :func:`sign_in` posts the login
form over plain HTTP and returns the status, the page's error and the ``Set-Cookie``
headers, for the checks a browser hides (which cookies, with which attributes).
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from processes import cmdline, descendants

ROOT = Path(__file__).resolve().parents[1]
LOGS = ROOT / "tests" / "e2e" / "screenshots"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def supervision(*args: str, stdin: str | None = None,
                env: Mapping[str, str] | None = None) -> subprocess.CompletedProcess:
    """``supervision ARGS`` as a user runs it; output captured as text."""
    return subprocess.run([sys.executable, "-m", "supervision.cli", *args], input=stdin,
                          capture_output=True, text=True, cwd=ROOT, timeout=120,
                          env=None if env is None else {**os.environ, **env})


@dataclass
class Hub:
    """A running ``supervision hub EXPORT --roles ROLES`` on a free port."""

    export: Path
    roles: str
    tmp: Path
    passwords: Mapping[str, str] = field(default_factory=dict)
    extra: Sequence[str] = ()
    env: Mapping[str, str] | None = None

    def __post_init__(self) -> None:
        self.state = self.tmp / "state"
        (self.tmp / "roles.toml").write_text(self.roles)
        for name, password in self.passwords.items():
            done = supervision("hub", "passwd", name, "--state-dir", str(self.state),
                               stdin=password + "\n")
            assert done.returncode == 0, done.stderr
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        LOGS.mkdir(exist_ok=True)
        self.log_path = LOGS / f"hub-{self.port}.log"
        self._log = self.log_path.open("wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "supervision.cli", "hub", str(self.export), "--roles",
             str(self.tmp / "roles.toml"), "--port", str(self.port), "--state-dir",
             str(self.state), *self.extra],
            cwd=ROOT, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True,
            env=None if self.env is None else {**os.environ, **self.env})
        self._wait()

    def _wait(self, timeout: float = 180) -> None:
        deadline = time.monotonic() + timeout
        while True:
            assert self.proc.poll() is None, f"supervision hub exited early:\n{self.log()}"
            try:
                urllib.request.urlopen(self.url + "/hub/api", timeout=2).close()
                return
            except (urllib.error.URLError, OSError):
                assert time.monotonic() < deadline, "the hub did not answer"
                time.sleep(0.5)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def pids(self) -> list[int]:
        """The hub command's process and every process it started, still running."""
        return [self.proc.pid, *descendants(self.proc.pid)]

    def pids_matching(self, text: str) -> list[int]:
        """Those of :meth:`pids` whose command line holds ``text``."""
        return [p for p in self.pids() if text in cmdline(p)]

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=120)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self._log.close()


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


@dataclass
class Answer:
    """One sign-in attempt: status, the page's error (or None), the cookies set, seconds."""

    status: int
    error: str | None
    cookies: list[str]
    seconds: float
    location: str | None = None


def sign_in(url: str, name: str, password: str, *,
            forwarded_for: str | None = None) -> Answer:
    """GET the login page (its ``_xsrf``), POST the form; never follow the redirect.

    The cookies of the GET go back with the POST whatever their attributes (``Secure``
    ones too): the browser is taken to reach the hub through a TLS proxy.
    """
    opener = urllib.request.build_opener(_NoRedirect)
    headers = {"X-Forwarded-For": forwarded_for} if forwarded_for else {}
    with opener.open(urllib.request.Request(url + "/hub/login", headers=headers)) as resp:
        page = resp.read().decode()
        cookies = resp.headers.get_all("Set-Cookie") or []
    xsrf = re.search(r'name="_xsrf" value="([^"]+)"', page)
    assert xsrf, page[:500]
    body = urllib.parse.urlencode({"_xsrf": xsrf.group(1), "username": name,
                                   "password": password}).encode()
    sent = {**headers, "Cookie": "; ".join(c.split(";", 1)[0] for c in cookies)}
    t0 = time.monotonic()
    try:
        resp = opener.open(urllib.request.Request(url + "/hub/login", body, sent))
    except urllib.error.HTTPError as exc:
        resp = exc
    seconds = time.monotonic() - t0
    text = resp.read().decode(errors="replace")
    error = re.search(r'class="login_error">([^<]*)<', text)
    return Answer(resp.status, error.group(1).strip() if error else None,
                  cookies + (resp.headers.get_all("Set-Cookie") or []), seconds,
                  resp.headers.get("Location"))
