"""``supervision serve``: the dashboards in Voilà on 127.0.0.1, code hidden, kernels preheated.

The export (or the warehouse behind ``--db URL``) is opened and validated here, in the server
process, so a bad export or an unreachable warehouse fails on the command line with the full
message instead of in a blank page.  Kernels inherit the server's environment
(:mod:`supervision.opening`); a browser cannot change it.

With ``--therapist ID`` only the therapist dashboard is served (Voilà over a private
temporary folder holding only ``therapist.ipynb``), and its kernel reads only that
therapist's rows plus anonymous practice aggregates computed here.  Such a kernel is given
neither the export's path nor the warehouse URL nor any libpq variable (``PG*``).

Beyond 127.0.0.1 (``--ip ADDR``) the server refuses to start unless a token is configured
(``SUPERVISION_TOKEN`` or ``--token-file FILE``); the token reaches Voilà through a private
config file (``Voila.token``), never its command line, so that it does not show in ``ps``,
and it is kept out of every kernel's environment.

Voilà runs through :mod:`supervision.voila_app`: it answers only to loopback names, the
``--ip`` address and the configured public names (``public_names`` / ``--public-name``, or
``SUPERVISION_PUBLIC_NAMES``), on every route and websocket (DNS rebinding); it refuses
cross-site renders; it caps the kernels serving pages (``SUPERVISION_MAX_KERNELS``, default
8: past it a "busy" page with 503) and shuts down a kernel left without a page for
``SUPERVISION_KERNEL_IDLE_TIMEOUT`` seconds (default 300).
"""

from __future__ import annotations

import contextlib
import errno
import ipaddress
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from supervision import opening
from supervision import settings as settings_module
from supervision.demo import DEMO_LABEL, is_demo_export
from supervision.errors import ConfigError, ScopeError, SupervisionError
from supervision.privacy import check_min_cell
from supervision.settings import PUBLIC_NAMES, settings

if TYPE_CHECKING:
    from supervision.caseload import Caseload

NOTEBOOKS = ("supervisor.ipynb", "therapist.ipynb", "practice_review.ipynb")
#: The dashboards a server over the whole export serves (the therapist's needs --therapist).
FULL_NOTEBOOKS = ("supervisor.ipynb", "practice_review.ipynb")
#: (title, what it is for) of each dashboard, as the landing page lists them.
DASHBOARDS = {
    "supervisor.ipynb": (
        "Supervision: caseload review",
        "One therapist's caseload before supervision (alliance, ruptures and repair, endings, "
        "outcomes, cases to discuss), beside the practice over the same dates."),
    "practice_review.ipynb": (
        "Practice review",
        "The practice's quarterly review by quarter and team: funnel plots and published "
        "benchmarks; therapists are compared, never ranked."),
    "therapist.ipynb": (
        "Your caseload: reflection",
        "Your own caseload for reflection, beside anonymous practice figures; nobody else's "
        "caseload is loaded."),
}
PROMPTS_NOTE = ("These figures are prompts for reflection in supervision, not verdicts on a "
                "therapist. Every rate shows its n and a 95% interval: small numbers move a lot "
                "by chance.")
HOST = "127.0.0.1"
READY_TIMEOUT = 60.0
MIN_TOKEN_CHARS = 16
#: Variables never handed to a kernel: the server's token (and Jupyter's own token variables).
MAKE_TOKEN = "python -c 'import secrets; print(secrets.token_urlsafe(32))'"
#: Extra host names the server answers to (comma- or space-separated), besides --public-name.
PUBLIC_NAMES_VAR = PUBLIC_NAMES
#: Kernels serving pages at once (the preheated pool aside); past it renders get 503.
MAX_KERNELS_VAR = settings_module.MAX_KERNELS
MAX_KERNELS = 8
#: Seconds a kernel may stay without a connected page before it is shut down.
IDLE_TIMEOUT_VAR = settings_module.IDLE_TIMEOUT
IDLE_TIMEOUT = 300
_HOST_NAME = re.compile(r"^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)"
                        r"(\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*\.?$")


class ExposureError(ConfigError):
    """``serve`` was asked to listen beyond this machine without a token (exit code 2)."""


#: What a wheel ships besides code: the dashboards, the demo export, the Voilà template.
SHARE = Path(__file__).resolve().parent / "share"
DEMO_FILES = ("sessions.csv", "episodes.csv", "therapists.csv")


def demo_export() -> Path:
    """The export ``serve`` opens without a PATH: ``data/demo`` here, else the shipped demo.

    ``data/demo`` in the current folder (a checkout, or ``supervision demo`` run here) comes
    first; from any other folder the SYNTHETIC demo a wheel ships (``supervision/share/demo``,
    copied from the repository's ``data/demo`` when the wheel is built) is served.
    """
    for c in (Path("data/demo"), SHARE / "demo"):
        if all((c / n).is_file() for n in DEMO_FILES):
            return c
    raise ConfigError(
        "no export given and no demo export here: pass PATH, or write the SYNTHETIC demo "
        "first with `supervision demo` (it writes data/demo)"
    )


def find_dashboards() -> Path:
    """The folder holding the dashboard notebooks.

    ``SUPERVISION_DASHBOARDS`` if set, else the repository's ``dashboards/`` (editable
    install or a source checkout), else the copy a wheel ships in ``supervision/share/``
    (``setup.py`` copies ``dashboards/`` there when it builds one).
    """
    here = Path(__file__).resolve().parent
    candidates = [Path(p) for p in [settings().dashboards] if p]
    candidates += [here.parents[1] / "dashboards", SHARE / "dashboards"]
    for c in candidates:
        if all((c / n).is_file() for n in NOTEBOOKS):
            return c
    raise ConfigError(
        "cannot find the dashboard notebooks (supervisor.ipynb, therapist.ipynb, "
        "practice_review.ipynb); set SUPERVISION_DASHBOARDS to the folder holding them"
    )


def check_port(port: int, ip: str = HOST) -> None:
    """Refuse a port that is already taken on ``ip`` (Voilà would silently pick another).

    The probe sets ``SO_REUSEADDR`` as Voilà's own listening socket does, so connections of
    a server stopped a moment ago (``TIME_WAIT``) do not block a restart; a socket still
    bound or listening on the port does (the probe binds and listens).
    """
    try:
        family = socket.getaddrinfo(ip, port, type=socket.SOCK_STREAM)[0][0]
    except socket.gaierror:
        raise ConfigError(f"--ip {ip!r} is not an address of this machine") from None
    with socket.socket(family, socket.SOCK_STREAM) as s:
        if os.name == "posix":  # elsewhere SO_REUSEADDR would let the probe share a port
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((ip, port))
            s.listen(1)
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
        token = settings().token or ""
        where = opening.TOKEN_VAR
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
        f"command again. Either in the environment:\n  export {opening.TOKEN_VAR}=$({MAKE_TOKEN})\n"
        f"or in a file only you can read:\n  {MAKE_TOKEN} > ~/.supervision-token && chmod 600 "
        "~/.supervision-token\n  supervision serve ... --ip "
        f"{ip} --token-file ~/.supervision-token\nNever put the token itself on the command "
        "line (it shows in `ps`). Without --ip the server listens on 127.0.0.1 only."
    )


def public_names(names: Sequence[str] = ()) -> list[str]:
    """The host names to answer to: ``names`` (``--public-name``) and ``SUPERVISION_PUBLIC_NAMES``.

    Each must be a bare host name or address (no scheme, port or path): the ``Host`` a
    browser sends for the address people use, e.g. a reverse proxy's name.
    """
    given = [*names, *settings().public_names]
    out: list[str] = []
    for raw in given:
        name = raw.strip().lower()
        if not name:
            continue
        bare = name[1:-1] if name.startswith("[") and name.endswith("]") else name
        try:
            ipaddress.ip_address(bare)
        except ValueError:
            if not _HOST_NAME.match(name):
                raise ConfigError(
                    f"--public-name {raw.strip()!r} is not a host name: give the bare name "
                    "people use in the address, without http:// or a :port, e.g. "
                    "--public-name dashboards.example.org"
                ) from None
        if bare not in out:
            out.append(bare)
    return out


def _positive_int(value: int | None, setting: str, default: int, what: str) -> int:
    """``value``, else the :class:`~supervision.settings.Settings` field ``setting`` (its
    environment variable, read only then), else ``default``; at least 1."""
    if value is None:
        given = getattr(settings(), setting)
        return default if given is None else given
    if value < 1:
        raise ConfigError(f"{what} must be at least 1 (got {value})")
    return value


def kernel_limits(
    max_kernels: int | None = None, idle_timeout: int | None = None
) -> tuple[int, int]:
    """(kernel cap, idle timeout in seconds): given, else from the environment, else defaults."""
    return (_positive_int(max_kernels, "max_kernels", MAX_KERNELS, "kernels"),
            _positive_int(idle_timeout, "kernel_idle_timeout", IDLE_TIMEOUT, "seconds"))


def write_voila_config(folder: Path, token: str) -> Path:
    """A private ``voila.json`` setting ``Voila.token`` (mode 600 in a 700 folder)."""
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    path = folder / "voila.json"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump({"Voila": {"token": token}}, f)
    return folder


def voila_command(
    root: Path,
    port: int,
    *,
    ip: str = HOST,
    config_dir: Path | None = None,
    names: Sequence[str] = (),
    max_kernels: int = MAX_KERNELS,
    idle_timeout: int = IDLE_TIMEOUT,
    landing_file: Path | None = None,
) -> list[str]:
    """The Voilà command line: sources stripped, one warm kernel per notebook.

    Voilà runs through :mod:`supervision.voila_app` (host and origin checks, the render
    guard, at most ``max_kernels`` kernels serving pages, culling after ``idle_timeout``
    seconds without a page); ``names`` are the public host names it answers to besides
    loopback and ``ip``.  ``config_dir`` (from :func:`write_voila_config`) is searched
    first for ``voila.json``, so the token is configured without appearing on this command
    line.
    """
    cmd = [
        sys.executable,
        "-m",
        "supervision.voila_app",
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
        f"--SupervisionVoila.max_kernels={int(max_kernels)}",
        f"--SupervisionVoila.kernel_idle_timeout={int(idle_timeout)}",
    ]
    for name in names:
        cmd.append(f"--SupervisionVoila.public_names={name}")
    if landing_file is not None:  # the product's landing page at / instead of Voilà's list
        cmd.append(f"--SupervisionVoila.landing_file={landing_file}")
    if config_dir is not None:
        from jupyter_core.paths import jupyter_config_path

        for folder in [str(config_dir), *jupyter_config_path()]:
            cmd += ["--Voila.config_file_paths", folder]
    return cmd


#: Holds ``voila/templates/supervision`` (see its index.html.j2), found through JUPYTER_PATH.
TEMPLATE_ROOT = SHARE


def with_template_path(env: dict[str, str]) -> dict[str, str]:
    """``env`` with :data:`TEMPLATE_ROOT` first on ``JUPYTER_PATH`` (Voilà's template search)."""
    rest = [env["JUPYTER_PATH"]] if env.get("JUPYTER_PATH") else []
    return {**env, "JUPYTER_PATH": os.pathsep.join([str(TEMPLATE_ROOT), *rest])}


def kernel_environment(*, scoped: bool) -> dict[str, str]:
    """The server's environment minus every session variable and the token.

    For a therapist-scoped server (``scoped``) the libpq variables (``PG*``: user, password,
    password file, service) are dropped too: that kernel reads a bundle, never a database.
    """
    drop = set(opening.ALL_VARS) | set(opening.SERVER_ONLY_VARS)
    return {
        k: v
        for k, v in os.environ.items()
        if k not in drop and not (scoped and k.startswith("PG"))
    }


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
    links: Sequence[dict] = (),
) -> tuple[Path, dict]:
    """Open and validate the data and build (root folder, environment) for Voilà.

    The data is the export at ``path`` or the warehouse at ``db`` (schema ``schema``),
    exactly one.  With ``therapist`` the bundle of that therapist's rows and the practice
    aggregates is written under ``workdir`` here, in the server, from either source.  The
    root folder holds only the dashboards that draw on this server (supervisor and practice
    review; or the therapist's own); ``workdir/landing.json`` describes them for the landing
    page, with ``links`` (dashboards served elsewhere, e.g. ``make demo``'s demo therapist).
    """
    check_min_cell(min_cell)
    full = opening.open_caseload(path, db=db, schema=schema, mapping=mapping, measures=measures)
    env = kernel_environment(scoped=therapist is not None)
    env[opening.MIN_CELL] = str(min_cell)
    if measures:
        env[opening.MEASURES] = str(Path(measures).resolve())
    facts = export_facts(full, db=db, schema=schema)
    if db is None and is_demo_export(path):  # the generator's mark: every page says so
        facts["demo"] = DEMO_LABEL
        env[opening.DEMO] = "1"
    if therapist is None:
        env.update(opening.source_vars(path, db=db, schema=schema, mapping=mapping))
        if db is None:  # kernels open this validated copy instead of reading the export again
            env[opening.PREPARED] = str(_save_prepared(full, workdir / "data"))
        site = make_site(workdir / "site", FULL_NOTEBOOKS)
        write_landing(workdir / "landing.json", landing(
            facts, FULL_NOTEBOOKS, scope="Every therapist's caseload and the practice.",
            links=links))
        return site, env
    check_therapist(full, therapist)
    opening.write_bundle(full, therapist, workdir / "data", min_cell=min_cell)
    site = make_site(workdir / "site", ("therapist.ipynb",))
    write_landing(workdir / "landing.json", landing(
        facts, ("therapist.ipynb",), scope=f"Your own caseload: therapist {therapist}."))
    env[opening.THERAPIST] = therapist
    env[opening.SCOPED_DIR] = str(workdir / "data")
    return site, env


def check_therapist(full: Caseload, therapist: str) -> None:
    """Refuse a therapist id the export does not hold, listing (some of) those it does."""
    ids = full.therapist_ids()
    if therapist not in ids:
        shown = ", ".join(ids[:20]) + (" …" if len(ids) > 20 else "")
        raise ScopeError(
            f"unknown therapist {therapist!r}: the export has {len(ids)} therapist"
            f"{'s' if len(ids) != 1 else ''} ({shown})"
        )


def make_site(folder: Path, notebooks: Sequence[str]) -> Path:
    """A folder holding only ``notebooks`` (copies): Voilà serves nothing else from it."""
    dashboards = find_dashboards()
    folder.mkdir(mode=0o700, parents=True)
    for name in notebooks:
        shutil.copy2(dashboards / name, folder / name)
    return folder


def export_facts(full: Caseload, *, db: str | None = None, schema: str = "supervision") -> dict:
    """The export's name (never where it sits), first and last session date, and checksum."""
    from supervision import periods

    lo, hi = periods.date_span(full)
    name = Path(full.source).name or full.source
    if db is not None:  # never the URL: it may carry a user name or password
        name = f"warehouse tables (schema {schema}), loaded from {name or 'an export'}"
    return {"name": name, "first_date": str(lo) if lo else "none",
            "last_date": str(hi) if hi else "none",
            "checksum": full.checksum or "not recorded"}


def landing(
    facts: dict, notebooks: Sequence[str], *, scope: str, links: Sequence[dict] = ()
) -> dict:
    """What the landing page shows: ``notebooks`` (served here), ``links`` (served elsewhere:
    title, for, url), the export's facts and this server's scope."""
    shown = [{"title": DASHBOARDS[n][0], "for": DASHBOARDS[n][1], "href": f"voila/render/{n}"}
             for n in notebooks]
    return {"export": facts, "scope": scope, "note": PROMPTS_NOTE,
            "dashboards": shown + [dict(link) for link in links]}


def write_landing(path: Path, data: dict) -> Path:
    """The landing page's JSON for :mod:`supervision.voila_app` (mode 600)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(data, f)
    return path


def _save_prepared(full: Caseload, folder: Path) -> Path:
    """Save the validated caseload for the kernels, with the default window's figures.

    The dashboards open on the export's whole date range; its practice aggregates and every
    therapist's headline in it are the same for every visitor, so they are computed once
    here (:func:`scopes.practice_for`, :func:`scopes.headlines_by_therapist`).  Only
    full-access kernels open this file; a therapist-scoped server never writes it.
    """
    from supervision import periods, scopes
    from supervision.clinical import ruptures
    from supervision.io.prepared import save_prepared
    from supervision.windowcache import PracticeAggregates, TherapistHeadlines

    folder.mkdir(mode=0o700, parents=True)
    lo, hi = periods.date_span(full)
    practice = scopes.practice_for(full, lo, hi)
    keys = {"alliance_key": practice["alliance_key"], "outcome_key": practice["outcome_key"]}
    window = full.scoped(since=lo, until=hi).materialised()
    aggregates = {
        PracticeAggregates(lo, hi): practice,
        TherapistHeadlines(lo, hi, *keys.values()): scopes.headlines_by_therapist(
            window, **keys),
    }
    tables = {ruptures.candidate_key(full): ruptures.candidate_tables(full)}
    return save_prepared(full, folder / "caseload.duckdb", tables=tables, aggregates=aggregates)


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
    public_name: Sequence[str] = (),
    max_kernels: int | None = None,
    kernel_idle_timeout: int | None = None,
    links: Sequence[dict] = (),
) -> int:
    """Serve the dashboards until interrupted; return Voilà's exit code (0 on Ctrl+C).

    The data is the export at ``path`` or the warehouse at ``db`` (exactly one).  Listening
    on a non-loopback ``ip`` needs a token (:func:`read_token`); otherwise
    :class:`ExposureError` is raised before anything is opened or bound.  The server answers
    only to loopback names, ``ip`` and ``public_name`` (plus ``SUPERVISION_PUBLIC_NAMES``);
    ``max_kernels`` and ``kernel_idle_timeout`` default to ``SUPERVISION_MAX_KERNELS`` /
    ``SUPERVISION_KERNEL_IDLE_TIMEOUT``, else 8 kernels and 300 seconds.
    """
    token = read_token(token_file)
    check_exposure(ip, token)
    names = public_names(public_name)
    cap, idle = kernel_limits(max_kernels, kernel_idle_timeout)
    check_port(port, ip)
    workdir = Path(tempfile.mkdtemp(prefix="supervision-serve-"))
    workdir.chmod(0o700)
    try:
        root, env = prepare(
            path, therapist=therapist, mapping=mapping, measures=measures,
            min_cell=min_cell, workdir=workdir, db=db, schema=schema, links=links,
        )
        conf = write_voila_config(workdir / "conf", token) if token else None
        cmd = voila_command(root, port, ip=ip, config_dir=conf, names=names,
                            max_kernels=cap, idle_timeout=idle,
                            landing_file=workdir / "landing.json")
        signal.signal(signal.SIGTERM, _terminate)  # SIGTERM too must stop Voilà's group
        proc = subprocess.Popen(cmd, env=with_template_path(env), cwd=root, start_new_session=True)
        try:
            wait_ready(port, proc, host=ip)
            _announce(ip, port, therapist, _token_hint(token, token_file), names, links)
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
    where = f"the file {token_file}" if token_file is not None else f"${opening.TOKEN_VAR}"
    # Not ?token= in the URL: it stays in the browser's history, and Voilà hands the request
    # URL to the kernels it starts afterwards.
    return f"the page asks for it: paste the token from {where}"


def _announce(ip: str, port: int, therapist: str | None, token_hint: str | None,
              names: Sequence[str] = (), links: Sequence[dict] = ()) -> None:
    shown = socket.gethostname() if ip in ("", "0.0.0.0", "::") else _url_host(ip)
    base = f"http://{shown}:{port}"
    if therapist is None:
        pages = [f"{base}/voila/render/{n}" for n in FULL_NOTEBOOKS]
        # with a linked therapist server (make demo's), say where it is, not that one is needed
        elsewhere = [f"  {link.get('title', 'therapist dashboard')}: {link.get('url')}"
                     for link in links]
        lines = [
            f"Dashboards at {base}/ :",
            *(f"  {p}" for p in pages),
            *(elsewhere or ["  (a therapist's own dashboard runs on a server of its own: "
                            "--therapist ID)"]),
        ]
    else:
        lines = [
            f"Therapist dashboard for {therapist} at {base}/voila/render/therapist.ipynb",
            "  (this server serves only that dashboard and only that therapist's rows)",
        ]
    if names:
        lines.append(f"  Also answers to: {', '.join(names)} (--public-name).")
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
    "DASHBOARDS",
    "FULL_NOTEBOOKS",
    "NOTEBOOKS",
    "ExposureError",
    "check_exposure",
    "check_port",
    "check_therapist",
    "demo_export",
    "export_facts",
    "find_dashboards",
    "is_loopback",
    "kernel_environment",
    "kernel_limits",
    "landing",
    "make_site",
    "prepare",
    "public_names",
    "read_token",
    "serve",
    "voila_command",
    "wait_ready",
    "write_landing",
    "write_voila_config",
]
