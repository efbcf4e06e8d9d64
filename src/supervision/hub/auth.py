"""The hub's sign-in, inside JupyterHub (imported by the generated ``jupyterhub_config.py``).

* :class:`PracticeAuthenticator` — passwords that only the practice sets
  (:mod:`supervision.hub.passwords`): ``/hub/login`` checks the stored Argon2id hash,
  ``/hub/enrol`` sets a password with a one-time enrolment code, ``/hub/password`` changes
  it after asking for the current one.  Every failed sign-in gets JupyterHub's one answer,
  "Invalid username or password"; repeated failures wait and then lock the name and the
  address (:class:`~supervision.hub.passwords.Throttle`, logged by the hub).
* :func:`oidc_authenticator_class` — the practice's own identity provider through
  ``oauthenticator``'s ``GenericOAuthenticator``; the claim's value is matched to the roles
  file (its ``login``, else the user name).

Both end sessions for real: logout and a password change give the user a new cookie id
(JupyterHub's ``User.cookie_id``, which every hub login cookie names, so every copy of an
old cookie stops working) and delete the OAuth tokens their servers' cookies hold.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from jupyterhub import orm
from jupyterhub.auth import Authenticator
from jupyterhub.handlers import BaseHandler
from jupyterhub.handlers.login import LogoutHandler
from jupyterhub.utils import new_token
from tornado import web
from traitlets import Dict, Float, Integer, Unicode

from supervision.hub.passwords import Store, Throttle, client_address, password_problem
from supervision.hub.roles import fold_login

#: The one answer to every failed sign-in (JupyterHub's own words on its login page).
FAILED = "Invalid username or password"
ENROL_FAILED = ("That did not work. Check your user name and the enrolment code (codes are "
                "used once and expire); ask whoever runs the server for a new one.")


def end_sessions(db: Any, user: Any, log: Any, why: str) -> None:
    """Every session of ``user`` ends: a new cookie id and no OAuth token of theirs left.

    The hub's login cookie holds the cookie id, so each copy of it is worthless now; a
    user's server checks its own cookie's OAuth token with the hub (JupyterHub's
    ``HubAuth``), so deleting those tokens ends the sessions on their servers too.  The
    server's own API token (``client_id`` "jupyterhub", no session) is kept.
    """
    orm_user = getattr(user, "orm_user", user)
    orm_user.cookie_id = new_token()
    tokens = db.query(orm.APIToken).filter(orm.APIToken.user_id == orm_user.id)
    gone = 0
    for token in tokens:
        if token.session_id is not None or token.client_id not in (None, "jupyterhub"):
            db.delete(token)
            gone += 1
    db.commit()
    log.info("every session of %s ended (%s): new cookie id, %d OAuth token(s) deleted",
             orm_user.name, why, gone)


class EndingLogout:
    """Mixin for a logout handler: logging out ends every session of that user."""

    async def handle_logout(self) -> None:
        """End the user's sessions, then whatever the base class does."""
        user = self.current_user  # type: ignore[attr-defined]
        if user is not None:
            end_sessions(self.db, user, self.log, "logout")  # type: ignore[attr-defined]
        await super().handle_logout()  # type: ignore[misc]


class PracticeLogoutHandler(EndingLogout, LogoutHandler):
    """``/hub/logout`` for the password sign-in."""


def _address(handler: Any) -> str:
    request = handler.request
    return client_address(request.headers.get("X-Forwarded-For", ""), request.remote_ip)


class _PasswordPage(BaseHandler):
    """A form page of ours in JupyterHub's look (``share/hub/*.html``), CSRF-checked."""

    template = ""

    async def _page(self, status: int = 200, **ns: Any) -> None:
        self.set_status(status)
        self.set_header("Cache-Control", "no-store")
        self.finish(await self.render_template(self.template, **ns))

    def _passwords(self) -> tuple[str, str | None]:
        new, again = self.get_body_argument("new", ""), self.get_body_argument("again", "")
        return new, None if new == again else "the two new passwords differ"


class EnrolHandler(_PasswordPage):
    """``/hub/enrol``: name, enrolment code and a new password (twice)."""

    template = "enrol.html"

    async def get(self) -> None:
        """The form."""
        await self._page()

    async def post(self) -> None:
        """Set the password if the code is the name's, unspent and unexpired."""
        auth: PracticeAuthenticator = self.authenticator
        name = auth.normalize_username(self.get_body_argument("username", "").strip())
        code = self.get_body_argument("code", "")
        new, differ = self._passwords()
        problem = differ or password_problem(name, new)
        if problem:
            await self._page(400, error=f"Not set: {problem}.", username=name)
            return
        address = _address(self)
        locked, wait = auth.throttle.before(name, address)
        await asyncio.sleep(wait)
        ok = not locked and name in auth.allowed_users and await asyncio.to_thread(
            auth.store.redeem, name, code, new)
        if not ok:
            auth.throttle.failed(name, address)
            self.log.warning("enrolment refused for %r from %s", name[:32], address)
            await self._page(403, error=ENROL_FAILED, username=name)
            return
        user = self.find_user(name)
        if user is not None:
            end_sessions(self.db, user, self.log, "password set with an enrolment code")
        self.log.info("password set with an enrolment code for %s", name)
        await self._page(done=True, username=name)


class PasswordHandler(_PasswordPage):
    """``/hub/password``: the current password, then the new one twice."""

    template = "password.html"

    @web.authenticated
    async def get(self) -> None:
        """The form."""
        await self._page()

    @web.authenticated
    async def post(self) -> None:
        """Change it if the current password is right; then every session ends."""
        auth: PracticeAuthenticator = self.authenticator
        name = self.current_user.name
        new, differ = self._passwords()
        problem = differ or password_problem(name, new)
        if problem:
            await self._page(400, error=f"Not changed: {problem}.")
            return
        address = _address(self)
        if not await auth.check_password(name, self.get_body_argument("current", ""), address):
            await self._page(403, error="Not changed: the current password is not right.")
            return
        await asyncio.to_thread(auth.store.set_password, name, new)
        end_sessions(self.db, self.current_user, self.log, "password changed")
        self.clear_login_cookie()
        self._jupyterhub_user = None
        await self._page(done=True)


class PracticeAuthenticator(Authenticator):
    """Passwords set only by the practice: a stored hash, or one set with an enrolment code."""

    state_dir = Unicode(config=True, help="the hub's state folder (passwords.sqlite)")
    name_limit = Integer(5, config=True, help="failures that lock a name")
    address_limit = Integer(20, config=True, help="failures that lock an address")
    lock_seconds = Float(900.0, config=True, help="how long a lock lasts")

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.store = Store(Path(self.state_dir))
        self.throttle = Throttle(self.log.warning, name_limit=self.name_limit,
                                 address_limit=self.address_limit, lock=self.lock_seconds)

    def get_handlers(self, app: Any) -> list[tuple[str, type]]:
        """Our pages; ``/logout`` replaces JupyterHub's so that logging out ends sessions."""
        return [("/enrol", EnrolHandler), ("/password", PasswordHandler),
                ("/logout", PracticeLogoutHandler)]

    async def check_password(self, name: str, password: str, address: str) -> bool:
        """The right password for ``name``, outside any lock (each failure counted)."""
        locked, wait = self.throttle.before(name, address)
        await asyncio.sleep(wait)
        ok = await asyncio.to_thread(self.store.verify, name, password)
        if locked or not ok:
            self.throttle.failed(name, address)
            return False
        self.throttle.succeeded(name)
        return True

    async def authenticate(self, handler: Any, data: dict) -> str | None:
        """The name, or None (one answer for every failure) after the throttle's wait."""
        name = self.normalize_username(str(data.get("username", "")).strip())
        if await self.check_password(name, str(data.get("password", "")), _address(handler)):
            return name
        return None


def oidc_authenticator_class() -> type:
    """``GenericOAuthenticator`` matching a claim to the roles file; logout ends sessions.

    Imported inside the hub process only (oauthenticator is part of the [hub] extra).
    """
    from oauthenticator.generic import GenericOAuthenticator
    from oauthenticator.oauth2 import OAuthLogoutHandler

    class OIDCLogoutHandler(EndingLogout, OAuthLogoutHandler):
        """OAuthenticator's logout, ending every session of the user first."""

    class PracticeOIDCAuthenticator(GenericOAuthenticator):
        """The identity provider says who; the roles file says whether and as whom."""

        logout_handler = OIDCLogoutHandler
        logins = Dict(config=True, help="folded claim value -> user name (the roles file)")
        claim = Unicode("email", config=True, help="the claim matched to the roles file")

        def user_info_to_username(self, user_info: dict) -> str:
            value = user_info.get(self.claim)
            if self.claim == "email" and user_info.get("email_verified") is False:
                value = None  # an address the provider has not verified proves nothing
            name = self.logins.get(fold_login(value)) if isinstance(value, str) else None
            if name is None:
                self.log.warning("sign-in refused: the identity provider's %s %r is in no "
                                 "[users] entry of the roles file", self.claim, value)
                return "\u2205 not in the roles file"  # no roles name can look like this
            return name

    return PracticeOIDCAuthenticator


__all__ = ["FAILED", "PracticeAuthenticator", "end_sessions", "oidc_authenticator_class"]
