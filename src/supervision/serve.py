"""``supervision serve``: the dashboards in Voilà on 127.0.0.1, code hidden, kernels preheated.

The export (or the warehouse behind ``--db URL``) is opened and validated here, in the server
process, so a bad export or an unreachable warehouse fails on the command line with the full
message instead of in a blank page.  Kernels inherit the server's environment
(:mod:`supervision.session`); a browser cannot change it.

With ``--therapist ID`` only the therapist dashboard is served (Voilà over a private
temporary folder holding only ``therapist.ipynb``), and its kernel reads only that
therapist's rows plus anonymous practice aggregates computed here.  Such a kernel is given
neither the export's path nor the warehouse URL nor any libpq variable (``PG*``).

Beyond 127.0.0.1 (``--ip ADDR``) the server refuses to start unless a token is configured
(``SUPERVISION_TOKEN`` or ``--token-file FILE``); the token reaches Voilà through a private
config file (``Voila.token``), never its command line, so that it does not show in ``ps``,
and it is kept out of every kernel's environment.
"""

from __future__ import annotations

import contextlib
import errno
import ipaddress
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import TYPE_CHECKING

from supervision import session
from supervision.errors import ConfigError, ScopeError, SupervisionError

if TYPE_CHECKING:
    from supervision.caseload import Caseload

NOTEBOOKS = ("supervisor.ipynb", "therapist.ipynb", "practice_review.ipynb")
HOST = "127.0.0.1"
READY_TIMEOUT = 60.0
TOKEN_VAR = "SUPERVISION_TOKEN"
MIN_TOKEN_CHARS = 16
#: Variables never handed to a kernel: the server's token (and Jupyter's own token variables).
SERVER_ONLY_VARS = (TOKEN_VAR, "JUPYTER_TOKEN", "JUPYTER_TOKEN_FILE")
MAKE_TOKEN = "python -c 'import secrets; print(secrets.token_urlsafe(32))'"


class ExposureError(ConfigError):
    """``serve`` was asked to listen beyond this machine without a token (exit code 2)."""


def find_dashboards() -> Path:
    """The folder holding the dashboard notebooks.

    ``SUPERVISION_DASHBOARDS`` if set, else the repository's ``dashboards/`` (editable
    install or a source checkout), else the copy shipped inside the package.
    """
    here = Path(__file__).resolve().parent
    candidates = [Path(p) for p in [os.environ.get("SUPERVISION_DASHBOARDS")] if p]
    candidates += [here.parents[1] / "dashboards", here / "dashboards"]
    for c in candidates:
        if all((c / n).is_file() for n in NOTEBOOKS):
            return c
    raise ConfigError(
        "cannot find the dashboard notebooks (supervisor.ipynb, therapist.ipynb, "
        "practice_review.ipynb); set SUPERVISION_DASHBOARDS to the folder holding them"
    )


def check_port(port: int, ip: str = HOST) -> None:
    """Refuse a port that is already taken on ``ip`` (Voilà would silently pick another)."""
    try:
        family = socket.getaddrinfo(ip, port, type=socket.SOCK_STREAM)[0][0]
    except socket.gaierror:
        raise ConfigError(f"--ip {ip!r} is not an address of this machine") from None
    with socket.socket(family, socket.SOCK_STREAM) as s:
        try:
            s.bind((ip, port))
        except OSError as exc:
            if exc.errno == errno.EADDRNOTAVAIL:
                raise ConfigError(f"--ip {ip} is not an address of this machine") from None
            raise ConfigError(f"port {port} is already in use on {ip}; pass --port N") from None


def is_loopback(ip: str) -> bool:
    """Whether ``ip`` reaches this machine only (127.0.0.0/8, ::1, ``localhost``).

    ``0.0.0.0``, ``::`` and the empty string mean every interface: not loopback.  A host
    name counts as loopback only if every address it resolves to is.
    """
    if ip == "localhost":
        return True
    try:
        return ipaddress.ip_address(ip).is_loopback
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(ip, None)
    except socket.gaierror:
        return False
    return bool(infos) and all(ipaddress.ip_address(i[4][0]).is_loopback for i in infos)


def read_token(token_file: str | Path | None) -> str | None:
    """The access token: from ``token_file`` if given, else ``SUPERVISION_TOKEN``, else None.

    A token is never taken from the command line (it would show in ``ps``).  It must be at
    least 16 characters; a token file must not be readable by group or others.
    """
    if token_file is not None:
        path = Path(token_file)
        try:
            mode = path.stat().st_mode
            token = path.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ConfigError(f"cannot read --token-file {path}: {exc.strerror}") from None
        if os.name == "posix" and mode & 0o077:
            raise ConfigError(
                f"--token-file {path} is readable by other users; run: chmod 600 {path}"
            )
        where = f"--token-file {path}"
    else:
        token = os.environ.get(TOKEN_VAR, "").strip()
        where = TOKEN_VAR
    if not token:
        if token_file is not None:
            raise ConfigError(f"{where} is empty; write one into it: {MAKE_TOKEN} > {token_file}")
        return None
    if len(token) < MIN_TOKEN_CHARS or any(c.isspace() for c in token):
        raise ConfigError(
            f"the token in {where} is too weak: use at least {MIN_TOKEN_CHARS} characters "
            f"without spaces, e.g. the output of {MAKE_TOKEN}"
        )
    return token


def check_exposure(ip: str, token: str | None) -> None:
    """Refuse to listen beyond this machine without a token, and say how to configure one."""
    if token is not None or is_loopback(ip):
        return
    raise ExposureError(
        f"refusing to listen on {ip or 'every interface'} without a token: anyone who can "
        "reach this machine could open the dashboards. Configure a token, then run the same "
        f"command again. Either in the environment:\n  export {TOKEN_VAR}=$({MAKE_TOKEN})\n"
        f"or in a file only you can read:\n  {MAKE_TOKEN} > ~/.supervision-token && chmod 600 "
        "~/.supervision-token\n  supervision serve ... --ip "
        f"{ip} --token-file ~/.supervision-token\nNever put the token itself on the command "
        "line (it shows in `ps`). Without --ip the server listens on 127.0.0.1 only."
    )


def write_voila_config(folder: Path, token: str) -> Path:
    """A private ``voila.json`` setting ``Voila.token`` (mode 600 in a 700 folder)."""
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    path = folder / "voila.json"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump({"Voila": {"token": token}}, f)
    return folder


def voila_command(
    root: Path, port: int, *, ip: str = HOST, config_dir: Path | None = None
) -> list[str]:
    """The Voilà command line: sources stripped, one warm kernel per notebook.

    ``config_dir`` (from :func:`write_voila_config`) is searched first for ``voila.json``, so
    the token is configured without appearing on this command line.
    """
    cmd = [
        sys.executable,
        "-m",
        "voila",
        str(root),
        "--no-browser",
        f"--port={port}",
        f"--Voila.ip={ip}",
        "--Voila.port_retries=0",
        "--strip_sources=True",
        "--show_tracebacks=False",
        "--preheat_kernel=True",
        "--pool_size=1",
        "--template=supervision",  # lab + a readable "computing process stopped" message
    ]
    if config_dir is not None:
        from jupyter_core.paths import jupyter_config_path

        for folder in [str(config_dir), *jupyter_config_path()]:
            cmd += ["--Voila.config_file_paths", folder]
    return cmd


#: Holds ``voila/templates/supervision`` (see its index.html.j2), found through JUPYTER_PATH.
TEMPLATE_ROOT = Path(__file__).resolve().parent / "share"


def with_template_path(env: dict[str, str]) -> dict[str, str]:
    """``env`` with :data:`TEMPLATE_ROOT` first on ``JUPYTER_PATH`` (Voilà's template search)."""
    rest = [env["JUPYTER_PATH"]] if env.get("JUPYTER_PATH") else []
    return {**env, "JUPYTER_PATH": os.pathsep.join([str(TEMPLATE_ROOT), *rest])}


def kernel_environment(*, scoped: bool) -> dict[str, str]:
    """The server's environment minus every session variable and the token.

    For a therapist-scoped server (``scoped``) the libpq variables (``PG*``: user, password,
    password file, service) are dropped too: that kernel reads a bundle, never a database.
    """
    drop = set(session.ALL_VARS) | set(SERVER_ONLY_VARS)
    return {
        k: v
        for k, v in os.environ.items()
        if k not in drop and not (scoped and k.startswith("PG"))
    }


def open_caseload(
    path: str | Path | None,
    *,
    db: str | None,
    schema: str,
    mapping: str | Path | None,
    measures: str | Path | None,
) -> Caseload:
    """The export at ``path`` (validated) or the warehouse tables behind ``db``: exactly one."""
    from supervision.measures import load_registry

    if (path is None) == (db is None):
        raise ConfigError("give exactly one of PATH (an export) and --db URL (a warehouse)")
    if db is None:
        from supervision.io import load_export

        return load_export(path, mapping=mapping, measures=measures, progress=False)
    if mapping:
        raise ConfigError("--mapping applies to an export; warehouse tables are canonical")
    from supervision.warehouse import connect_caseload

    return connect_caseload(db, schema=schema, registry=load_registry(measures))


def source_vars(
    path: str | Path | None, *, db: str | None, schema: str, mapping: str | Path | None
) -> dict[str, str]:
    """The session variables naming the data for a full-access kernel (never a scoped one)."""
    if db is not None:
        return {session.DB: db, session.DB_SCHEMA: schema}
    values = {session.EXPORT: str(Path(path).resolve())}  # type: ignore[arg-type]
    if mapping:
        values[session.MAPPING] = str(Path(mapping).resolve())
    return values


def prepare(
    path: str | Path | None,
    *,
    therapist: str | None,
    mapping: str | Path | None,
    measures: str | Path | None,
    min_cell: int,
    workdir: Path,
    db: str | None = None,
    schema: str = "supervision",
) -> tuple[Path, dict]:
    """Open and validate the data and build (root folder, environment) for Voilà.

    The data is the export at ``path`` or the warehouse at ``db`` (schema ``schema``),
    exactly one.  With ``therapist`` the bundle of that therapist's rows and the practice
    aggregates is written under ``workdir`` here, in the server, from either source.
    """
    session_min_cell(min_cell)
    full = open_caseload(path, db=db, schema=schema, mapping=mapping, measures=measures)
    env = kernel_environment(scoped=therapist is not None)
    env[session.MIN_CELL] = str(min_cell)
    if measures:
        env[session.MEASURES] = str(Path(measures).resolve())
    dashboards = find_dashboards()
    if therapist is None:
        env.update(source_vars(path, db=db, schema=schema, mapping=mapping))
        if db is None:  # kernels open this validated copy instead of reading the export again
            env[session.PREPARED] = str(_save_prepared(full, workdir / "data"))
        return dashboards, env
    ids = full.therapist_ids()
    if therapist not in ids:
        shown = ", ".join(ids[:20]) + (" …" if len(ids) > 20 else "")
        raise ScopeError(
            f"unknown therapist {therapist!r}: the export has {len(ids)} therapist"
            f"{'s' if len(ids) != 1 else ''} ({shown})"
        )
    session.write_bundle(full, therapist, workdir / "data", min_cell=min_cell)
    site = workdir / "site"
    site.mkdir()
    shutil.copy2(dashboards / "therapist.ipynb", site / "therapist.ipynb")
    env[session.THERAPIST] = therapist
    env[session.SCOPED_DIR] = str(workdir / "data")
    return site, env


def _save_prepared(full: Caseload, folder: Path) -> Path:
    """Save the validated caseload for the kernels, with the default window's figures.

    The dashboards open on the export's whole date range; its practice aggregates and every
    therapist's headline in it are the same for every visitor, so they are computed once
    here (:func:`gather.practice_for`, :func:`gather.headlines_by_therapist`).  Only
    full-access kernels open this file; a therapist-scoped server never writes it.
    """
    from supervision.io.prepared import save_prepared
    from supervision.views import gather

    folder.mkdir(mode=0o700, parents=True)
    lo, hi = gather.date_span(full)
    practice = gather.practice_for(full, lo, hi)
    keys = {"alliance_key": practice["alliance_key"], "outcome_key": practice["outcome_key"]}
    window = full.scoped(since=lo, until=hi).materialised()
    aggregates = {
        gather.practice_name(lo, hi): practice,
        gather.headlines_name(lo, hi, *keys.values()): gather.headlines_by_therapist(
            window, **keys),
    }
    return save_prepared(full, folder / "caseload.duckdb", aggregates=aggregates)


def session_min_cell(min_cell: int) -> None:
    """Refuse a small-cell threshold below 5 (domain.md §8: configurable upward only)."""
    if min_cell < 5:
        raise ConfigError(f"--min-cell {min_cell} is below 5: it is configurable upward only")


def wait_ready(
    port: int, proc: subprocess.Popen, timeout: float = READY_TIMEOUT, *, host: str = HOST
) -> None:
    """Poll ``/api/status`` until the server answers (any HTTP status; starts no kernel)."""
    url = f"http://{_url_host(host)}:{port}/api/status"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SupervisionError(f"Voilà exited with code {proc.returncode} before it was ready")
        try:
            urllib.request.urlopen(url, timeout=2).close()
            return
        except urllib.error.HTTPError:
            return
        except (urllib.error.URLError, OSError):
            time.sleep(0.25)
    raise SupervisionError(f"Voilà did not answer on {url} within {timeout:.0f} s")


def _url_host(ip: str) -> str:
    """Where this machine reaches a server listening on ``ip`` (every interface: loopback)."""
    if ip in ("", "0.0.0.0"):
        return HOST
    if ip == "::":
        return "[::1]"
    return f"[{ip}]" if ":" in ip else ip


def serve(
    path: str | Path | None = None,
    *,
    therapist: str | None = None,
    port: int = 8866,
    mapping: str | Path | None = None,
    measures: str | Path | None = None,
    min_cell: int = 5,
    db: str | None = None,
    schema: str = "supervision",
    ip: str = HOST,
    token_file: str | Path | None = None,
) -> int:
    """Serve the dashboards until interrupted; return Voilà's exit code (0 on Ctrl+C).

    The data is the export at ``path`` or the warehouse at ``db`` (exactly one).  Listening
    on a non-loopback ``ip`` needs a token (:func:`read_token`); otherwise
    :class:`ExposureError` is raised before anything is opened or bound.
    """
    token = read_token(token_file)
    check_exposure(ip, token)
    check_port(port, ip)
    workdir = Path(tempfile.mkdtemp(prefix="supervision-serve-"))
    workdir.chmod(0o700)
    try:
        root, env = prepare(
            path, therapist=therapist, mapping=mapping, measures=measures,
            min_cell=min_cell, workdir=workdir, db=db, schema=schema,
        )
        conf = write_voila_config(workdir / "conf", token) if token else None
        cmd = voila_command(root, port, ip=ip, config_dir=conf)
        signal.signal(signal.SIGTERM, _terminate)  # SIGTERM too must stop Voilà's group
        proc = subprocess.Popen(cmd, env=with_template_path(env), cwd=root, start_new_session=True)
        try:
            wait_ready(port, proc, host=ip)
            _announce(ip, port, therapist, _token_hint(token, token_file))
            return proc.wait()
        except KeyboardInterrupt:
            return 0
        finally:
            _stop(proc)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _terminate(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _token_hint(token: str | None, token_file: str | Path | None) -> str | None:
    if token is None:
        return None
    where = f"the file {token_file}" if token_file is not None else f"${TOKEN_VAR}"
    # Not ?token= in the URL: it stays in the browser's history, and Voilà hands the request
    # URL to the kernels it starts afterwards.
    return f"the page asks for it: paste the token from {where}"


def _announce(ip: str, port: int, therapist: str | None, token_hint: str | None) -> None:
    shown = socket.gethostname() if ip in ("", "0.0.0.0", "::") else _url_host(ip)
    base = f"http://{shown}:{port}"
    if therapist is None:
        pages = [f"{base}/voila/render/{n}" for n in NOTEBOOKS if n != "therapist.ipynb"]
        lines = [
            f"Dashboards at {base}/ :",
            *(f"  {p}" for p in pages),
            "  (the therapist dashboard needs --therapist ID)",
        ]
    else:
        lines = [
            f"Therapist dashboard for {therapist} at {base}/voila/render/therapist.ipynb",
            "  (this server serves only that dashboard and only that therapist's rows)",
        ]
    if token_hint:
        lines.append(f"  Access needs the token: {token_hint} (a cookie keeps you signed in).")
    print("\n".join([*lines, "Press Ctrl+C to stop."]), flush=True)


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=10)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)


__all__ = [
    "NOTEBOOKS",
    "TOKEN_VAR",
    "ExposureError",
    "check_exposure",
    "check_port",
    "find_dashboards",
    "is_loopback",
    "kernel_environment",
    "open_caseload",
    "prepare",
    "read_token",
    "serve",
    "source_vars",
    "voila_command",
    "wait_ready",
    "write_voila_config",
]
