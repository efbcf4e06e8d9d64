"""``supervision hub PATH --roles FILE``: one practice server with logins and roles (domain §13).

It runs JupyterHub, the established multi-user server for Jupyter applications; its proxy is
``configurable-http-proxy`` (npm; ``make install-hub`` puts it under ``.venv/node``).  People
log in with the name the roles file gives them and a password they set at their first login
(``jupyterhub-firstuseauthenticator``, ``create_users = False``: a name not in the roles file
cannot log in, and no one can add an account).  Each person gets a server of their own, a
:mod:`supervision.voila_app` Voilà that holds only what their role allows:

* ``therapist`` — the therapist dashboard over a bundle of their own rows and the anonymous
  practice aggregates (as ``serve --therapist``): the kernel is given neither the export's
  path nor the prepared copy;
* ``supervisor`` — the supervisor dashboard, its picker limited to ``therapists = [...]`` or
  the therapists of ``team = "..."`` (``SUPERVISION_THERAPISTS``, applied in the kernel:
  see :func:`supervision.opening.allowed_therapists`), beside the practice figures;
* ``lead`` — the supervisor dashboard over every therapist and the practice review.

The export is read and validated **once**, here, when the hub starts: a prepared copy for
the supervisor and lead servers and one bundle per therapist login are written into a
private temporary folder (mode 700), as ``serve`` does for one server.  No user's server is
given the export's path.  Idle servers are stopped by ``jupyterhub-idle-culler`` (a hub
service); each server also culls its own idle kernels.  The hub's state — its database and
cookie secret, and the first-use password store — lives in ``--state-dir`` (default
``./supervision-hub``, mode 700): back it up, and keep it, or everyone sets a password again.

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
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import tomllib
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from supervision import opening, serve
from supervision.errors import ConfigError, SupervisionError
from supervision.privacy import check_min_cell
from supervision.tomlfile import read_toml_text, toml_problem

if TYPE_CHECKING:
    from supervision.caseload import Caseload

ROLES = ("therapist", "supervisor", "lead")
#: The keys each role takes in ``[users.NAME]``.
KEYS = {"therapist": ("role", "therapist"), "supervisor": ("role", "therapists", "team"),
        "lead": ("role",)}
#: The dashboards each role's server holds.
SITES = {"therapist": ("therapist.ipynb",), "supervisor": ("supervisor.ipynb",),
         "lead": serve.FULL_NOTEBOOKS}
#: JupyterHub user names: what FirstUseAuthenticator keeps as typed (lower case, no spaces).
_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
CULL_TIMEOUT = 3600
PROXY = "configurable-http-proxy"
READY_TIMEOUT = 90.0


@dataclass(frozen=True)
class Person:
    """One ``[users.NAME]`` entry; ``therapists`` resolved against the export."""

    name: str
    role: str
    therapist: str | None = None
    therapists: tuple[str, ...] | None = None
    team: str | None = None


# ------------------------------------------------------------------ the roles file
def read_roles(path: str | Path) -> dict[str, Person]:
    """Every ``[users.NAME]`` of the roles file, checked; every problem in one message."""
    p = Path(path)
    text, why = read_toml_text(p, "roles file")
    if text is None:
        raise ConfigError(f"--roles {p}: {why}")
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"--roles {p}: {toml_problem(exc)}") from None
    problems: list[str] = []
    extra = sorted(set(doc) - {"users"})
    if extra:
        problems.append(f"unknown section{'s' if len(extra) > 1 else ''} {', '.join(extra)}: "
                        "only [users.NAME] tables are read")
    users = doc.get("users")
    if not isinstance(users, dict) or not users:
        problems.append('no users: add one [users.NAME] table per person, e.g. [users.ana] '
                        'with role = "therapist" and therapist = "T01"')
        users = {}
    people = {}
    for name, entry in users.items():
        person = _person(name, entry, problems)
        if person is not None:
            people[name] = person
    if problems:
        raise ConfigError(f"--roles {p}: {len(problems)} problem{'s' if len(problems) > 1 else ''}"
                          ":\n  " + "\n  ".join(problems))
    return people


def _person(name: str, entry: Any, problems: list[str]) -> Person | None:
    where = f"[users.{name}]"
    if not _NAME.match(name):
        problems.append(f"{where}: the user name must be lower-case letters, digits, '.', '_' "
                        "or '-' (what people type to log in)")
        return None
    if not isinstance(entry, dict):
        problems.append(f"{where} must be a table with a role")
        return None
    role = entry.get("role")
    if role not in ROLES:
        problems.append(f"{where}: role must be one of {', '.join(map(repr, ROLES))} "
                        f"(got {role!r})")
        return None
    unknown = sorted(set(entry) - set(KEYS[role]))
    if unknown:
        problems.append(f"{where}: a {role} takes only {', '.join(KEYS[role])}; remove "
                        f"{', '.join(unknown)}")
    if role == "therapist":
        tid = entry.get("therapist")
        if not isinstance(tid, str) or not tid.strip():
            problems.append(f'{where}: a therapist needs therapist = "ID" (their therapist_id)')
            return None
        return Person(name, role, therapist=tid.strip())
    if role == "supervisor":
        ids, team = entry.get("therapists"), entry.get("team")
        if (ids is None) == (team is None):
            problems.append(f'{where}: a supervisor needs exactly one of therapists = ["T01", '
                            '...] and team = "NAME"')
            return None
        if ids is not None and (not isinstance(ids, list) or not ids
                                or not all(isinstance(t, str) and t.strip() for t in ids)):
            problems.append(f"{where}: therapists must be a non-empty list of therapist ids "
                            f"in quotes (got {ids!r})")
            return None
        if team is not None and (not isinstance(team, str) or not team.strip()):
            problems.append(f"{where}: team must be a team name in quotes (got {team!r})")
            return None
        return Person(name, role, therapists=tuple(t.strip() for t in ids) if ids else None,
                      team=team.strip() if team else None)
    return Person(name, role)


def resolve(people: dict[str, Person], full: Caseload, where: str) -> dict[str, Person]:
    """Check every therapist id and team against the export; a team becomes its therapists."""
    ids = set(full.therapist_ids())
    teams_df = full.therapists.select("therapist_id", "team").execute()
    teams: dict[str, list[str]] = {}
    for tid, team in zip(teams_df["therapist_id"], teams_df["team"], strict=True):
        if isinstance(team, str) and team:
            teams.setdefault(team, []).append(tid)
    problems, out = [], {}
    for name, p in people.items():
        asked = [p.therapist] if p.therapist else list(p.therapists or ())
        missing = [t for t in asked if t not in ids]
        if missing:
            problems.append(f"[users.{name}]: therapist id{'s' if len(missing) > 1 else ''} "
                            f"{', '.join(missing)} not in the export (it has "
                            f"{', '.join(sorted(ids)[:20])}{' …' if len(ids) > 20 else ''})")
        if p.team is not None and p.team not in teams:
            problems.append(f"[users.{name}]: team {p.team!r} not in the export (its teams: "
                            f"{', '.join(sorted(teams)) or 'none'})")
            continue
        if p.team is not None:
            p = Person(p.name, p.role, therapists=tuple(sorted(teams[p.team])), team=p.team)
        out[name] = p
    if problems:
        raise ConfigError(f"--roles {where}: {len(problems)} problem"
                          f"{'s' if len(problems) > 1 else ''}:\n  " + "\n  ".join(problems))
    return out


# ------------------------------------------------------------------ preparing once
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
    (workdir / "landing").mkdir(mode=0o700)
    users = {}
    for name, p in people.items():
        env = dict(base)
        if p.role == "therapist":
            bundle = workdir / "bundles" / p.therapist  # type: ignore[operator]
            if not bundle.exists():
                opening.write_bundle(full, p.therapist, bundle, min_cell=min_cell)  # type: ignore[arg-type]
            env.update({opening.THERAPIST: p.therapist, opening.SCOPED_DIR: str(bundle)})
            scope = f"Your own caseload: therapist {p.therapist}."
        else:
            env[opening.PREPARED] = prepared  # type: ignore[assignment]
            if p.role == "supervisor":
                env[opening.ALLOWED] = ",".join(p.therapists or ())
                team = f" (team {p.team})" if p.team else ""
                scope = (f"Supervision of {', '.join(p.therapists or ())}{team}, beside the "
                         "practice figures.")
            else:
                scope = "Every therapist's caseload and the practice (lead)."
        landing = serve.write_landing(workdir / "landing" / f"{name}.json", serve.landing(
            facts, SITES[p.role], scope=f"Signed in as {name}. {scope}"))
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


CONFIG = '''# Written by `supervision hub` for this run only; its private folder is removed at exit.
import json
from supervision import hub

spec = json.load(open({spec!r}, encoding="utf-8"))
c.JupyterHub.ip = {ip!r}
c.JupyterHub.port = {port}
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = {hub_port}
c.ConfigurableHTTPProxy.api_url = "http://127.0.0.1:{proxy_port}"
c.ConfigurableHTTPProxy.command = [{proxy!r}]
c.JupyterHub.db_url = {db_url!r}
c.JupyterHub.cookie_secret_file = {cookie!r}
c.JupyterHub.pid_file = ""
c.JupyterHub.authenticator_class = "firstuseauthenticator.FirstUseAuthenticator"
c.FirstUseAuthenticator.create_users = False
c.FirstUseAuthenticator.dbm_path = {dbm!r}
c.Authenticator.allowed_users = set(spec["users"])
c.Authenticator.admin_users = set()
c.Authenticator.allow_all = False
c.JupyterHub.admin_access = False
c.JupyterHub.spawner_class = hub.spawner_class()
c.SupervisionSpawner.spec_file = {spec!r}
c.SupervisionSpawner.cmd = [{python!r}, "-m", "supervision.voila_app"]
c.SupervisionSpawner.home_dir_template = spec["homes"] + "/{{username}}"
c.Spawner.ip = "127.0.0.1"
c.Spawner.start_timeout = 180
c.Spawner.http_timeout = 180
c.JupyterHub.services = [{{
    "name": "idle-culler",
    "command": [{python!r}, "-m", "jupyterhub_idle_culler", "--timeout={cull}"],
}}]
c.JupyterHub.load_roles = [{{
    "name": "idle-culler",
    "scopes": ["list:users", "read:users:activity", "read:servers", "delete:servers"],
    "services": ["idle-culler"],
}}]
'''


def write_config(workdir: Path, state: Path, spec: dict, *, ip: str, port: int,
                 cull: int) -> Path:
    """The spec JSON and ``jupyterhub_config.py`` in ``workdir`` (mode 600 each)."""
    spec_file = workdir / "spec.json"
    _private_write(spec_file, json.dumps(spec))
    conf = workdir / "jupyterhub_config.py"
    spec["proxy_port"] = _free_port()
    _private_write(conf, CONFIG.format(
        spec=str(spec_file), ip=ip, port=int(port), hub_port=_free_port(),
        proxy_port=spec["proxy_port"], proxy=find_proxy(), python=sys.executable,
        cull=int(cull),
        db_url=f"sqlite:///{state / 'jupyterhub.sqlite'}",
        cookie=str(state / "jupyterhub_cookie_secret"), dbm=str(state / "passwords.dbm")))
    return conf


def _private_write(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def hub_environment() -> dict[str, str]:
    """The hub's environment: no session variable, no token, the proxy's folder on PATH."""
    env = serve.kernel_environment(scoped=True)
    proxy_dir = str(Path(find_proxy()).parent)
    env["PATH"] = os.pathsep.join([proxy_dir, env.get("PATH", "")])
    return env


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
) -> int:
    """Run the practice server until interrupted; return JupyterHub's exit code."""
    check_min_cell(min_cell)
    people = read_roles(roles)
    names = serve.public_names(public_name)
    cap, idle = serve.kernel_limits(None, None)
    serve.check_port(port, ip)
    find_proxy()
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
        conf = write_config(workdir, state, spec, ip=ip, port=port, cull=cull_timeout)
        signal.signal(signal.SIGTERM, serve._terminate)
        proc = subprocess.Popen([sys.executable, "-m", "jupyterhub", "-f", str(conf)],
                                cwd=state, env=hub_environment(), start_new_session=True)
        try:
            _wait_ready(ip, port, proc)
            print(f"Practice server at http://{serve._url_host(ip)}:{port}/ for "
                  f"{len(people)} people ({', '.join(sorted(people))}); each sets a password "
                  f"at their first login. Hub state in {state}. Press Ctrl+C to stop.",
                  flush=True)
            return proc.wait()
        except KeyboardInterrupt:
            return 0
        finally:
            _stop_hub(proc, [str(workdir), f"--api-port {spec['proxy_port']}"])
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


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


__all__ = ["ROLES", "Person", "find_proxy", "hub", "plan", "read_roles", "resolve",
           "spawner_class"]
