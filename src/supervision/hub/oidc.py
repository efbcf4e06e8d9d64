"""``--oidc ISSUER``: the practice's own identity provider (OpenID Connect), read at start.

The provider's discovery document (``ISSUER/.well-known/openid-configuration``, OpenID
Connect Discovery 1.0) gives the authorize, token and userinfo addresses; the client id and
secret the practice registered come from ``--oidc-client-file`` (TOML: ``client_id`` and
``client_secret``, readable by its owner only) or from the environment
(``SUPERVISION_OIDC_CLIENT_ID``, ``SUPERVISION_OIDC_CLIENT_SECRET``), never from the command
line, where every user of the machine could read them.
"""

from __future__ import annotations

import ipaddress
import json
import stat
import tomllib
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from supervision.errors import ConfigError
from supervision.settings import OIDC_ID, OIDC_SECRET, settings

ID_VAR = OIDC_ID
SECRET_VAR = OIDC_SECRET
CLAIMS = ("email", "preferred_username")
SCOPES = ("openid", "email", "profile")


@dataclass(frozen=True)
class Provider:
    """What the hub's ``GenericOAuthenticator`` is given."""

    issuer: str
    authorize_url: str
    token_url: str
    userdata_url: str
    client_id: str
    client_secret: str
    claim: str


def _loopback(host: str | None) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host or "").is_loopback
    except ValueError:
        return False


def check_issuer(issuer: str) -> str:
    """``issuer`` without a trailing ``/``; https, or http on loopback only (for testing)."""
    url = urllib.parse.urlsplit(issuer)
    plain_ok = url.scheme == "http" and _loopback(url.hostname)
    if not url.hostname or (url.scheme != "https" and not plain_ok) or url.query:
        raise ConfigError(f"--oidc {issuer}: expected the identity provider's issuer URL, "
                          "https://… (e.g. https://login.microsoftonline.com/TENANT-ID/v2.0 "
                          "or https://accounts.google.com)")
    return issuer.rstrip("/")


def discover(issuer: str, *, timeout: float = 10.0) -> dict:
    """The provider's discovery document; a clear error when it cannot be had or is wrong."""
    url = f"{check_issuer(issuer)}/.well-known/openid-configuration"
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            doc = json.loads(resp.read(1_000_000))
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", None) or exc
        raise ConfigError(f"--oidc {issuer}: cannot read the identity provider's discovery "
                          f"document at {url} ({reason}); check the issuer URL and that "
                          "this machine can reach it") from None
    missing = [k for k in ("issuer", "authorization_endpoint", "token_endpoint",
                           "userinfo_endpoint") if not isinstance(doc.get(k), str)]
    if missing:
        raise ConfigError(f"--oidc {issuer}: the discovery document at {url} has no "
                          f"{', '.join(missing)}")
    if doc["issuer"].rstrip("/") != check_issuer(issuer):
        raise ConfigError(f"--oidc {issuer}: the provider calls itself {doc['issuer']!r}; "
                          "give exactly that issuer URL")
    return doc


def client_credentials(client_file: str | Path | None) -> tuple[str, str]:
    """(client id, client secret) from ``client_file`` or else the environment."""
    if client_file is None:
        conf = settings()
        cid, secret = conf.oidc_client_id or "", conf.oidc_client_secret or ""
        if not cid or not secret:
            raise ConfigError(f"--oidc needs the client id and secret registered with the "
                              f"identity provider: --oidc-client-file FILE (client_id = "
                              f'"…" and client_secret = "…"), or {ID_VAR} and {SECRET_VAR} '
                              "in the environment")
        return cid, secret
    p = Path(client_file)
    try:
        mode = p.stat().st_mode
        doc = tomllib.loads(p.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"--oidc-client-file {p}: cannot read it as TOML ({exc})") from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ConfigError(f"--oidc-client-file {p}: others can read it; it holds a secret: "
                          f"chmod 600 {p}")
    cid, secret = doc.get("client_id"), doc.get("client_secret")
    if not isinstance(cid, str) or not cid or not isinstance(secret, str) or not secret:
        raise ConfigError(f'--oidc-client-file {p}: expected client_id = "…" and '
                          'client_secret = "…"')
    return cid, secret


def provider(issuer: str, *, claim: str, client_file: str | Path | None) -> Provider:
    """Everything the hub needs to sign people in through ``issuer``."""
    if claim not in CLAIMS:
        raise ConfigError(f"--oidc-claim must be one of {', '.join(CLAIMS)} (got {claim!r})")
    check_issuer(issuer)
    cid, secret = client_credentials(client_file)
    doc = discover(issuer)
    return Provider(check_issuer(issuer), doc["authorization_endpoint"], doc["token_endpoint"],
                    doc["userinfo_endpoint"], cid, secret, claim)


__all__ = ["CLAIMS", "ID_VAR", "SCOPES", "SECRET_VAR", "Provider", "check_issuer",
           "client_credentials", "discover", "provider"]
