"""The ``jupyterhub_config.py`` that ``supervision hub`` writes for one run (mode 600).

What it sets beyond the spawner and the proxy: how people sign in (the practice's passwords,
:class:`~supervision.hub.auth.PracticeAuthenticator`, or its identity provider through
``GenericOAuthenticator``), how long a session lasts (the hub's login cookie and the OAuth
tokens the users' servers keep in theirs: ``--session-hours``, a working day by default),
and, behind TLS, the public URL that makes every login cookie ``Secure``.
"""

from __future__ import annotations

import json
import os
import socket
import sys
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

from supervision.errors import ConfigError
from supervision.hub.oidc import SCOPES, Provider

SESSION_HOURS = 8.0
#: Our pages in JupyterHub's look: the enrolment and password forms, the login page's link.
TEMPLATES = Path(__file__).resolve().parents[1] / "share" / "hub"
#: The longest session ``--session-hours`` allows (a week).
MAX_SESSION_HOURS = 168.0


@dataclass(frozen=True)
class SignIn:
    """How people sign in and for how long; ``oidc`` None: the practice's passwords."""

    oidc: Provider | None = None
    logins: dict[str, str] | None = None
    session_hours: float = SESSION_HOURS
    public_url: str | None = None


def check_session_hours(hours: float) -> float:
    """``hours`` if it is a sensible session length, else a clear error."""
    if not 0 < hours <= MAX_SESSION_HOURS:
        raise ConfigError(f"--session-hours must be more than 0 and at most "
                          f"{MAX_SESSION_HOURS:g} (got {hours:g})")
    return float(hours)


def check_public_url(url: str | None) -> str | None:
    """``https://HOST[:PORT]/`` (what people type, behind TLS), normalised; else an error."""
    if url is None:
        return None
    parts = urllib.parse.urlsplit(url)
    if parts.scheme != "https" or not parts.hostname or parts.path not in ("", "/") or (
            parts.query or parts.fragment or parts.username):
        raise ConfigError(f"--public-url {url}: expected https://HOST/ (the address people "
                          "use, served by your TLS reverse proxy: docs/hub.md)")
    return f"https://{parts.netloc}/"


CONFIG = '''# Written by `supervision hub` for this run only; its private folder is removed at exit.
import json
from supervision.hub import server

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
c.Authenticator.allowed_users = set(spec["users"])
c.Authenticator.admin_users = set()
c.Authenticator.allow_all = False
c.Authenticator.allow_existing_users = False
c.JupyterHub.admin_access = False
c.JupyterHub.spawner_class = server.spawner_class()
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
# sessions: a login lasts --session-hours, on the hub and on the users' servers
c.JupyterHub.cookie_max_age_days = {days!r}
c.JupyterHub.oauth_token_expires_in = {seconds}
c.JupyterHub.tornado_settings = {{"cookie_options": {cookie_options!r}}}
'''

PASSWORDS = '''# sign-in: passwords only the practice sets (supervision hub passwd / invite)
c.JupyterHub.authenticator_class = "supervision.hub.auth.PracticeAuthenticator"
c.PracticeAuthenticator.state_dir = {state!r}
c.JupyterHub.template_paths = [{templates!r}]
'''

OIDC = '''# sign-in: the practice's identity provider (OpenID Connect), matched to the roles file
from supervision.hub import auth

oidc = json.load(open({oidc_file!r}, encoding="utf-8"))
c.JupyterHub.authenticator_class = auth.oidc_authenticator_class()
c.GenericOAuthenticator.client_id = oidc["client_id"]
c.GenericOAuthenticator.client_secret = oidc["client_secret"]
c.GenericOAuthenticator.authorize_url = oidc["authorize_url"]
c.GenericOAuthenticator.token_url = oidc["token_url"]
c.GenericOAuthenticator.userdata_url = oidc["userdata_url"]
c.GenericOAuthenticator.scope = {scopes!r}
c.GenericOAuthenticator.login_service = "your practice's account"
c.GenericOAuthenticator.enable_auth_state = False
c.PracticeOIDCAuthenticator.claim = oidc["claim"]
c.PracticeOIDCAuthenticator.logins = oidc["logins"]
'''

TLS = '''# behind TLS: every login cookie gets Secure (the hub's, its _xsrf, the users' servers')
c.JupyterHub.public_url = {url!r}
c.Spawner.environment = {{"JUPYTERHUB_COOKIE_OPTIONS": json.dumps({{"secure": True}})}}
'''


def free_port() -> int:
    """A free TCP port on loopback."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def private_write(path: Path, text: str) -> None:
    """Write ``text`` to a new file only its owner can read."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)


def sign_in_config(workdir: Path, state: Path, sign_in: SignIn) -> str:
    """The configuration's sign-in and TLS parts (the client secret in a file of mode 600)."""
    if sign_in.oidc is None:
        text = PASSWORDS.format(state=str(state), templates=str(TEMPLATES))
    else:
        p = sign_in.oidc
        oidc_file = workdir / "oidc.json"
        private_write(oidc_file, json.dumps({
            "client_id": p.client_id, "client_secret": p.client_secret,
            "authorize_url": p.authorize_url, "token_url": p.token_url,
            "userdata_url": p.userdata_url, "claim": p.claim, "logins": sign_in.logins or {}}))
        text = OIDC.format(oidc_file=str(oidc_file), scopes=list(SCOPES))
        if sign_in.public_url:
            text += (f"c.GenericOAuthenticator.oauth_callback_url = "
                     f"{sign_in.public_url + 'hub/oauth_callback'!r}\n")
    if sign_in.public_url:
        text += TLS.format(url=sign_in.public_url)
    return text


def write_config(workdir: Path, state: Path, spec: dict, *, ip: str, port: int, cull: int,
                 proxy: str, sign_in: SignIn) -> Path:
    """The spec JSON and ``jupyterhub_config.py`` in ``workdir`` (mode 600 each)."""
    spec_file = workdir / "spec.json"
    private_write(spec_file, json.dumps(spec))
    conf = workdir / "jupyterhub_config.py"
    spec["proxy_port"] = free_port()
    days = sign_in.session_hours / 24
    # the hub's cookies (and its _xsrf, which JupyterHub derives from these) expire with the
    # session; behind TLS they are Secure (public_url alone leaves _xsrf without it)
    cookie_options: dict = {"expires_days": days}
    if sign_in.public_url:
        cookie_options["secure"] = True
    private_write(conf, CONFIG.format(
        spec=str(spec_file), ip=ip, port=int(port), hub_port=free_port(),
        proxy_port=spec["proxy_port"], proxy=proxy, python=sys.executable, cull=int(cull),
        db_url=f"sqlite:///{state / 'jupyterhub.sqlite'}",
        cookie=str(state / "jupyterhub_cookie_secret"), days=days, cookie_options=cookie_options,
        seconds=int(sign_in.session_hours * 3600)) + sign_in_config(workdir, state, sign_in))
    return conf


__all__ = ["SESSION_HOURS", "SignIn", "check_public_url", "check_session_hours", "free_port",
           "private_write", "write_config"]
