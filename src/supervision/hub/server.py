"""``supervision hub PATH --roles FILE``: one practice server with sign-in and roles (domain §13).

It runs JupyterHub, the established multi-user server for Jupyter applications; its proxy is
``configurable-http-proxy`` (npm; ``make install-hub`` puts it under ``.venv/node``).  People
sign in through the practice's identity provider (``--oidc ISSUER``, OpenID Connect), or with
a password that only the practice sets (``supervision hub passwd NAME``, or a one-time
enrolment code from ``supervision hub invite NAME``): :mod:`supervision.hub.auth`.  A name
not in the roles file cannot sign in, and no one can add an account.  Each person gets a
server of their own, a :mod:`supervision.voila_app` Voilà that holds only what their role
allows:

* ``therapist`` — the therapist dashboard over a bundle of their own rows and the anonymous
  practice aggregates (as ``serve --therapist``): the kernel is given neither the export's
  path nor the prepared copy;
* ``supervisor`` — the supervisor dashboard, its picker limited to ``therapists = [...]`` or
  the therapists of ``team = "..."`` (``SUPERVISION_THERAPISTS``, applied in the kernel:
  see :func:`supervision.opening.allowed_therapists`), beside the practice figures;
* ``lead`` — the supervisor dashboard over every therapist and the practice review.

The export is read and validated **once**, here, when the hub starts: a prepared copy for
the supervisor and lead servers and one bundle per therapist login are written into a
private temporary folder (mode 700), as ``serve`` does for one server; the bundles' folders
are numbered, never named after an id from the export.  No user's server is given the
export's path.  Idle servers are stopped by ``jupyterhub-idle-culler`` (a hub service);
each server also culls its own idle kernels.  The hub's state — its database, cookie secret
and the password store — lives in ``--state-dir`` (default ``./supervision-hub``, mode 700).

Every user's server runs as the OS user who started the hub (jupyterhub's
``SimpleLocalProcessSpawner``): fine for one trusted machine, because a Voilà page cannot
run code (Voilà accepts only widget messages), but a production deployment should give each
person a separate OS user or container (``SystemdSpawner``, ``DockerSpawner``); see
docs/hub.md.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from supervision import opening, serve
from supervision.errors import ConfigError, SupervisionError
from supervision.hub import oidc
from supervision.hub.config import (
    SESSION_HOURS,
    SignIn,
    check_public_url,
    check_session_hours,
    write_config,
)
from supervision.hub.passwords import Store
from supervision.hub.roles import Person, login_index, read_roles, resolve
from supervision.privacy import check_min_cell

if TYPE_CHECKING:
    from supervision.caseload import Caseload

#: The dashboards each role's server holds.
SITES = {"therapist": ("therapist.ipynb",), "supervisor": ("supervisor.ipynb",),
         "lead": serve.FULL_NOTEBOOKS}
CULL_TIMEOUT = 3600
PROXY = "configurable-http-proxy"
READY_TIMEOUT = 90.0


# ------------------------------------------------------------------ preparing once
def bundle_dirs(people: dict[str, Person], workdir: Path) -> dict[str, Path]:
    """Therapist id -> its bundle's folder, numbered: an id never becomes a path."""
    ids = sorted({p.therapist for p in people.values() if p.therapist})
    return {tid: workdir / "bundles" / f"{i:04d}" for i, tid in enumerate(ids)}


def _scope(p: Person) -> str:
    if p.role == "therapist":
        return f"Your own caseload: therapist {p.therapist}."
    if p.role == "supervisor":
        team = f" (team {p.team})" if p.team else ""
        return f"Supervision of {', '.join(p.therapists or ())}{team}, beside the practice figures."
    return "Every therapist's caseload and the practice (lead)."


def plan(full: Caseload, people: dict[str, Person], workdir: Path, *, min_cell: int,
         measures: str | Path | None = None, names: Sequence[str] = (),
         max_kernels: int = serve.MAX_KERNELS,
         idle_timeout: int = serve.IDLE_TIMEOUT) -> dict[str, Any]:
    """Write what every user's server opens (once) and return the spawner's spec."""
    facts = serve.export_facts(full)
    base = {opening.MIN_CELL: str(min_cell)}
    if measures:
        base[opening.MEASURES] = str(Path(measures).resolve())
    needs_full = any(p.role != "therapist" for p in people.values())
    prepared = str(serve._save_prepared(full, workdir / "data")) if needs_full else None
    sites = {role: serve.make_site(workdir / "sites" / role, nbs) for role, nbs in SITES.items()
             if any(p.role == role for p in people.values())}
    bundles = bundle_dirs(people, workdir)
    for tid, folder in bundles.items():
        opening.write_bundle(full, tid, folder, min_cell=min_cell)
    (workdir / "landing").mkdir(mode=0o700)
    users = {}
    for name, p in people.items():
        env = dict(base)
        if p.therapist:
            env.update({opening.THERAPIST: p.therapist,
                        opening.SCOPED_DIR: str(bundles[p.therapist])})
        else:
            env[opening.PREPARED] = prepared  # type: ignore[assignment]
        if p.role == "supervisor":
            env[opening.ALLOWED] = ",".join(p.therapists or ())
        landing = serve.write_landing(workdir / "landing" / f"{name}.json", serve.landing(
            facts, SITES[p.role], scope=f"Signed in as {name}. {_scope(p)}"))
        users[name] = {"root": str(sites[p.role]), "env": env, "landing": str(landing)}
    return {"users": users, "names": list(names), "max_kernels": max_kernels,
            "idle_timeout": idle_timeout, "homes": str(workdir / "homes")}


# ------------------------------------------------------------------ JupyterHub
def spawner_class() -> type:
    """The spawner: each user's server is :mod:`supervision.voila_app` with their role's spec.

    Imported by the generated ``jupyterhub_config.py`` (inside the hub process).
    """
    from jupyterhub.spawner import SimpleLocalProcessSpawner
    from traitlets import Unicode

    class SupervisionSpawner(SimpleLocalProcessSpawner):
        """SimpleLocalProcessSpawner (every server runs as the hub's OS user), our command."""

        spec_file = Unicode(config=True, help="the JSON plan written by supervision hub")

        def _spec(self) -> tuple[dict, dict]:
            spec = json.loads(Path(self.spec_file).read_text(encoding="utf-8"))
            return spec, spec["users"][self.user.name]

        def get_env(self) -> dict:
            env = super().get_env()
            for k in [*opening.ALL_VARS, *opening.SERVER_ONLY_VARS]:
                env.pop(k, None)
            env.update(self._spec()[1]["env"])
            return serve.with_template_path(env)  # supervision's Voilà template

        def get_args(self) -> list[str]:
            spec, user = self._spec()
            cmd = serve.voila_command(
                Path(user["root"]), self.port, ip=self.ip or serve.HOST, names=spec["names"],
                max_kernels=spec["max_kernels"], idle_timeout=spec["idle_timeout"],
                landing_file=Path(user["landing"]))
            return [*cmd[3:], f"--Voila.base_url={self.server.base_url}"]

    return SupervisionSpawner


def find_proxy() -> str:
    """``configurable-http-proxy``: on PATH, else under ``.venv/node`` (``make install-hub``)."""
    found = shutil.which(PROXY)
    if found:
        return found
    here = Path(__file__).resolve()
    for root in (Path(sys.prefix), here.parents[2] / ".venv", Path.cwd() / ".venv"):
        candidate = root / "node" / "node_modules" / ".bin" / PROXY
        if candidate.is_file():
            return str(candidate)
    raise ConfigError(
        f"cannot find {PROXY} (JupyterHub's proxy, from npm): run `make install-hub`, or "
        f"`npm install --prefix .venv/node {PROXY}`, or put it on PATH"
    )


def hub_environment() -> dict[str, str]:
    """The hub's environment: no session variable, no token or client secret, the proxy's
    folder on PATH."""
    env = serve.kernel_environment(scoped=True)
    for k in (oidc.ID_VAR, oidc.SECRET_VAR):
        env.pop(k, None)
    proxy_dir = str(Path(find_proxy()).parent)
    env["PATH"] = os.pathsep.join([proxy_dir, env.get("PATH", "")])
    return env


def sign_in_for(people: dict[str, Person], *, oidc_issuer: str | None, claim: str,
                client_file: str | Path | None, session_hours: float,
                public_url: str | None) -> SignIn:
    """How people sign in (the identity provider is asked for its addresses here)."""
    hours = check_session_hours(session_hours)
    url = check_public_url(public_url)
    if oidc_issuer is None:
        if client_file is not None:
            raise ConfigError("--oidc-client-file is for --oidc ISSUER (the identity "
                              "provider); without --oidc people sign in with passwords")
        return SignIn(session_hours=hours, public_url=url)
    provider = oidc.provider(oidc_issuer, claim=claim, client_file=client_file)
    return SignIn(oidc=provider, logins=login_index(people), session_hours=hours,
                  public_url=url)


def _public_host(url: str | None) -> list[str]:
    return [urllib.parse.urlsplit(url).hostname or ""] if url else []


def _how(sign_in: SignIn, people: dict[str, Person], state: Path) -> str:
    if sign_in.oidc is not None:
        return f"people sign in through {sign_in.oidc.issuer} ({sign_in.oidc.claim})"
    store = Store(state)
    waiting = sorted(n for n in people if not store.has_password(n))
    if not waiting:
        return "everyone has a password"
    return (f"no password yet for {', '.join(waiting)}: give each an enrolment code "
            f"(supervision hub invite NAME --state-dir {state}) or set one "
            f"(supervision hub passwd NAME --state-dir {state})")


def hub(
    path: str | Path,
    *,
    roles: str | Path,
    port: int = 8000,
    ip: str = serve.HOST,
    state_dir: str | Path = "supervision-hub",
    mapping: str | Path | None = None,
    measures: str | Path | None = None,
    min_cell: int = 5,
    public_name: Sequence[str] = (),
    cull_timeout: int = CULL_TIMEOUT,
    oidc_issuer: str | None = None,
    oidc_claim: str = "email",
    oidc_client_file: str | Path | None = None,
    session_hours: float = SESSION_HOURS,
    public_url: str | None = None,
) -> int:
    """Run the practice server until interrupted; return JupyterHub's exit code."""
    check_min_cell(min_cell)
    people = read_roles(roles)
    sign_in = sign_in_for(people, oidc_issuer=oidc_issuer, claim=oidc_claim,
                          client_file=oidc_client_file, session_hours=session_hours,
                          public_url=public_url)
    names = serve.public_names([*public_name, *_public_host(sign_in.public_url)])
    cap, idle = serve.kernel_limits(None, None)
    serve.check_port(port, ip)
    proxy = find_proxy()
    state = Path(state_dir).resolve()
    state.mkdir(mode=0o700, parents=True, exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix="supervision-hub-"))
    workdir.chmod(0o700)
    try:
        full = opening.open_caseload(path, db=None, schema="", mapping=mapping,
                                     measures=measures)
        people = resolve(people, full, str(roles))
        spec = plan(full, people, workdir, min_cell=min_cell, measures=measures, names=names,
                    max_kernels=cap, idle_timeout=idle)
        del full
        conf = write_config(workdir, state, spec, ip=ip, port=port, cull=cull_timeout,
                            proxy=proxy, sign_in=sign_in)
        where = sign_in.public_url or f"http://{serve._url_host(ip)}:{port}/"
        return _run(conf, state, spec, ip, port, f"Practice server at {where} for "
                    f"{len(people)} people ({', '.join(sorted(people))}); "
                    f"{_how(sign_in, people, state)}. Hub state in {state}. "
                    "Press Ctrl+C to stop.")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _run(conf: Path, state: Path, spec: dict, ip: str, port: int, banner: str) -> int:
    signal.signal(signal.SIGTERM, serve._terminate)
    proc = subprocess.Popen([sys.executable, "-m", "jupyterhub", "-f", str(conf)],
                            cwd=state, env=hub_environment(), start_new_session=True)
    try:
        _wait_ready(ip, port, proc)
        print(banner, flush=True)
        return proc.wait()
    except KeyboardInterrupt:
        return 0
    finally:
        _stop_hub(proc, [str(conf.parent), f"--api-port {spec['proxy_port']}"])


def _stop_hub(proc: subprocess.Popen, marks: Sequence[str]) -> None:
    """SIGTERM to JupyterHub (it stops the users' servers, the proxy and the culler), then
    whatever of ours is left: processes whose command line holds one of ``marks`` (this
    run's private folder, the proxy's API port)."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    for pid in _ours(marks):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, signal.SIGTERM)


def _ours(marks: Sequence[str]) -> list[int]:
    found = []
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            cmd = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if any(m in cmd for m in marks) and int(entry.name) != os.getpid():
            found.append(int(entry.name))
    return found


def _wait_ready(ip: str, port: int, proc: subprocess.Popen) -> None:
    url = f"http://{serve._url_host(ip)}:{port}/hub/api"
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SupervisionError(f"JupyterHub exited with code {proc.returncode} before it "
                                   "was ready")
        try:  # 200 once the proxy routes to the hub (a 404 before: the proxy alone)
            urllib.request.urlopen(url, timeout=2).close()
            return
        except (urllib.error.URLError, OSError):
            time.sleep(0.3)
    raise SupervisionError(f"JupyterHub did not answer on {url} within {READY_TIMEOUT:.0f} s")


__all__ = ["CULL_TIMEOUT", "SITES", "bundle_dirs", "find_proxy", "hub", "plan", "sign_in_for",
           "spawner_class"]
