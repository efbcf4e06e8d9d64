"""Voilà as ``supervision serve`` runs it: host and origin checks, a kernel cap, culling.

Run as ``python -m supervision.voila_app ROOT ...`` with Voilà's own arguments (see
:func:`supervision.serve.voila_command`).  :class:`SupervisionVoila` is ``voila.app.Voila``
with four guards that stock Voilà lacks:

* **Host names** (DNS rebinding).  Voilà accepts any ``Host`` header, so a web page whose
  name re-resolves to 127.0.0.1 could read a dashboard.  Every request, on every route and
  the kernel websockets, is refused (403) unless its ``Host`` is a loopback name
  (``localhost``, ``*.localhost``, 127.0.0.0/8, ``[::1]``), the ``--ip`` address, or a
  configured public name (:attr:`SupervisionVoila.public_names`).  On every interface
  (``0.0.0.0`` / ``::``) an IP address and this machine's own host name are accepted too: a
  browser sends an address as ``Host`` only for a page at that address, which no other site
  can serve.  A request whose ``Origin`` names any other host is refused likewise.
* **Cross-site renders.**  A render (``/voila/render/...``) starts a kernel; one asked for
  by another site (``Sec-Fetch-Site: cross-site`` / ``same-site``), as an image, script,
  style ... (``Sec-Fetch-Dest``), or with a foreign ``Origin`` / ``Referer`` is refused (403)
  before any kernel is taken.
* **A kernel cap.**  At most :attr:`SupervisionVoila.max_kernels` kernels serve pages at
  once (the preheated pool comes on top); past it a render gets 503 and a page saying the
  dashboards are busy.
* **Culling.**  A kernel without a connected page for
  :attr:`SupervisionVoila.kernel_idle_timeout` seconds is shut down (jupyter_server's culler;
  Voilà keeps its pooled kernels out of it).  The clock starts when a kernel is handed to a
  page, so a page never loses its kernel while connecting.

``/voila/query/<kernel id>`` (the request's details for a preheated kernel) needs the
token like every data route, and never carries the request's query string.

On the hub (``supervision hub``: the environment holds ``JUPYTERHUB_API_TOKEN``) a user's
server logs people in through JupyterHub's OAuth (jupyterhub's own identity provider and
authorizer: only the server's owner, or whoever the hub grants ``access:servers``, passes).
The ``JUPYTERHUB_*`` variables are read once at start and then removed from this process's
environment, so that no kernel it starts inherits the server's API token or the hub's
addresses; no page carries that token either.

With :attr:`SupervisionVoila.landing_file` (``supervision serve`` and the hub always give
one) ``/`` and ``/voila/tree`` show the product's landing page (``share/landing.html.j2``,
every value escaped) instead of Voilà's file list: the dashboards this server serves, what
each is for, the export's name, date range and checksum.

The notebooks in ROOT are the product's own dashboards, copied there by ``serve`` (or the
hub) into a folder only this server reads, so they are signed as trusted at start
(:func:`trust_notebooks`) with a notary that lives in memory: no "not trusted" warning on
every render, and no signing key or signature database written to the user's Jupyter data
folder.

**Stopping** (SIGTERM from ``serve``): a kernel that is computing at that moment (a page's
callback, or a preheated kernel still running its notebook) is stopped at once
(:func:`computing_kernels`), the others are asked to shut down.  Asked while it computes, a
kernel closes its sockets under the computation and prints a ZMQ traceback to the terminal
(``Socket operation on non-socket``); a dashboard kernel holds nothing to save.  Kernels
keep their temporary files (DuckDB's spill folders) in a private folder of this server's,
removed once every kernel has stopped, so that one stopped at once leaves nothing behind.
"""

from __future__ import annotations

import contextlib
import contextvars
import ipaddress
import json
import os
import shutil
import socket
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jinja2
import nbformat
import tornado.web
from jupyter_core.utils import run_sync
from jupyter_server._tz import utcnow
from jupyter_server.auth.decorator import ws_authenticated
from jupyter_server.base.handlers import JupyterHandler
from jupyter_server.base.websocket import WebSocketMixin
from jupyter_server.utils import url_path_join
from nbformat.sign import NotebookNotary
from tornado.log import app_log
from tornado.websocket import WebSocketHandler
from traitlets import Integer, List, Unicode
from voila.app import Voila
from voila.request_info_handler import RequestInfoSocketHandler
from voila.tornado.handler import TornadoVoilaHandler
from voila.tornado.treehandler import TornadoVoilaTreeHandler
from voila.utils import ENV_VARIABLE

#: Defaults of :attr:`SupervisionVoila.max_kernels` and ``kernel_idle_timeout`` (seconds).
MAX_KERNELS = 8
KERNEL_IDLE_TIMEOUT = 300
#: ``Sec-Fetch-Dest`` values a render may have (absent: not a browser, or an old one).
RENDER_DESTS = frozenset({"document", "iframe", "frame", "empty"})
#: ``Sec-Fetch-Site`` values a render may have (``none``: typed, bookmarked).
RENDER_SITES = frozenset({"same-origin", "none"})
WILDCARDS = ("", "0.0.0.0", "::")

_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>body{{font-family:system-ui,sans-serif;max-width:40em;margin:4em auto;padding:0 1em;
line-height:1.5;color:#222}}h1{{font-size:1.4em}}</style></head>
<body><h1>{title}</h1>{body}</body></html>
"""


def page(title: str, *paragraphs: str) -> str:
    """A small fixed HTML page (callers pass constant text only, never request data)."""
    return _PAGE.format(title=title, body="".join(f"<p>{p}</p>" for p in paragraphs))


def host_refused_page(port: int) -> str:
    return page(
        "This server does not answer to that address",
        "Open the dashboards at the address <code>supervision serve</code> printed when it "
        f"started (on the machine itself: <code>http://127.0.0.1:{int(port)}/</code>).",
        "If the server is meant to be reached under this name, whoever runs it can add the "
        "name with <code>--public-name NAME</code>.",
    )


ORIGIN_REFUSED = page(
    "Refused: the request came from another site",
    "The dashboards answer only to pages of their own address. Open them directly, at the "
    "address <code>supervision serve</code> printed.",
)
CROSS_SITE_REFUSED = page(
    "Open the dashboard from its own address",
    "A dashboard starts a computing process, so it opens only when you go to it directly: "
    "type or paste its address into the address bar, or choose it from "
    '<a href="/">the list of dashboards</a>. Links and embeds from other sites are refused.',
)


def busy_page(max_kernels: int, idle_timeout: int) -> str:
    minutes = max(1, round(idle_timeout / 60))
    return page(
        "The dashboards are busy, try again in a minute",
        f"All {max_kernels} computing processes this server allows are in use by open "
        "dashboards.",
        "Closing a dashboard tab frees its process at once; one left without an open page "
        f"frees itself within about {minutes} minute{'s' if minutes != 1 else ''}. Then "
        "reload this page.",
    )


# ------------------------------------------------------------------ names
def host_name(host: str) -> str:
    """The name in a ``Host`` value: port, IPv6 brackets and one trailing dot removed, lower."""
    host = host.strip().lower()
    if host.startswith("["):
        name = host[1:].split("]", 1)[0]
    else:
        try:
            ipaddress.ip_address(host)  # a bare IPv6 address: every colon is its own
            name = host
        except ValueError:
            name = host.rsplit(":", 1)[0] if ":" in host else host
    return name[:-1] if name.endswith(".") else name


def _address(name: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        addr = ipaddress.ip_address(name)
    except ValueError:
        return None
    mapped = getattr(addr, "ipv4_mapped", None)
    return mapped or addr


def is_loopback_name(name: str) -> bool:
    """``localhost``, ``*.localhost`` (browsers resolve those themselves) or a loopback address."""
    if name == "localhost" or name.endswith(".localhost"):
        return True
    addr = _address(name)
    return addr is not None and addr.is_loopback


class HostPolicy:
    """Which ``Host`` / ``Origin`` names a server listening on ``ip`` answers to."""

    def __init__(self, ip: str, public_names: Iterable[str] = ()) -> None:
        self.wildcard = ip.strip() in WILDCARDS
        names = {host_name(n) for n in public_names if n.strip()}
        own = _address(host_name(ip)) if not self.wildcard else None
        if not self.wildcard and own is None:
            names.add(host_name(ip))  # --ip given as a name
        if self.wildcard:  # the name serve announces on every interface
            for name in (socket.gethostname(), socket.getfqdn()):
                if name:
                    names.add(host_name(name))
        self.names = frozenset(names)
        self.address = own

    def allows(self, name: str) -> bool:
        """Whether ``name`` (from :func:`host_name`) is one this server answers to."""
        if not name:
            return False
        if is_loopback_name(name) or name in self.names:
            return True
        addr = _address(name)
        if addr is None:
            return False
        return self.wildcard or addr == self.address

    def allows_host(self, host: str) -> bool:
        return self.allows(host_name(host))

    def allows_origin(self, origin: str) -> bool:
        """An ``Origin`` (or ``Referer``) value: http(s) and an allowed host (``null``: no)."""
        try:
            parts = urlsplit(origin.strip())
            netloc = parts.netloc
        except ValueError:
            return False
        if parts.scheme not in ("http", "https") or not netloc or "@" in netloc:
            return False
        return self.allows_host(netloc)


def render_refusal(headers: Mapping[str, str], policy: HostPolicy) -> bool:
    """Whether a render request must be refused as cross-site (it would start a kernel)."""
    site = headers.get("Sec-Fetch-Site")
    if site is not None and site.strip().lower() not in RENDER_SITES:
        return True
    dest = headers.get("Sec-Fetch-Dest")
    if dest is not None and dest.strip().lower() not in RENDER_DESTS:
        return True
    for name in ("Origin", "Referer"):
        value = headers.get(name)
        if value is not None and not policy.allows_origin(value):
            return True
    return False


# ------------------------------------------------------------------ kernels
@dataclass(eq=False)
class _Slot:
    """One render in flight; ``kernel_id`` once a kernel is handed to it."""

    kernel_id: str | None = None


_SLOT: contextvars.ContextVar[_Slot | None] = contextvars.ContextVar("slot", default=None)


class KernelCap:
    """Counts the kernels serving pages (the preheated pool aside) and renders in flight."""

    def __init__(self, kernel_manager: Any, max_kernels: int) -> None:
        self.km = kernel_manager
        self.max_kernels = max_kernels
        self.handed: set[str] = set()
        self.slots: set[_Slot] = set()
        self._instrument()

    def _instrument(self) -> None:
        """Note every kernel handed to a page (pooled or started for it) and restart its clock."""
        km = self.km
        take = getattr(km, "get_rendered_notebook", None)
        start = km.start_kernel

        def handed(kernel_id: str) -> None:
            self.handed.add(kernel_id)
            slot = _SLOT.get()
            if slot is not None:
                slot.kernel_id = kernel_id
            # the culler's clock starts now, not when the pool executed the notebook
            with contextlib.suppress(KeyError):
                km.get_kernel(kernel_id).last_activity = utcnow()

        async def start_kernel(*args: Any, **kwargs: Any) -> str:
            kernel_id = await start(*args, **kwargs)
            handed(kernel_id)
            return kernel_id

        km.start_kernel = start_kernel  # the handler's own starts; the pool's bypass this
        if take is not None:
            async def get_rendered_notebook(*args: Any, **kwargs: Any) -> Any:
                result = await take(*args, **kwargs)
                handed(result[2])
                return result

            km.get_rendered_notebook = get_rendered_notebook

    def in_use(self) -> int:
        self.handed &= set(self.km.list_kernel_ids())
        return len(self.handed) + sum(1 for s in self.slots if s.kernel_id is None)

    def reserve(self) -> _Slot | None:
        if self.in_use() >= self.max_kernels:
            return None
        slot = _Slot()
        self.slots.add(slot)
        return slot

    def release(self, slot: _Slot) -> None:
        self.slots.discard(slot)


# ------------------------------------------------------------------ handlers
class RefusedHandler(tornado.web.RequestHandler):
    """Answers any method with a fixed page and status (nothing of the request in it)."""

    def initialize(self, status: int, body: str) -> None:
        self.status, self.body = status, body

    def prepare(self) -> None:
        self.set_status(self.status)
        self.set_header("Content-Type", "text/html; charset=utf-8")
        self.set_header("Cache-Control", "no-store")
        self.finish(None if self.request.method == "HEAD" else self.body)


class GuardedRenderHandler(TornadoVoilaHandler):
    """A render refused when cross-site (403) or past the kernel cap (503)."""

    def _refuse(self, status: int, body: str) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "text/html; charset=utf-8")
        self.set_header("Cache-Control", "no-store")
        if status == 503:
            self.set_header("Retry-After", "60")
        self.finish(body)

    @tornado.web.authenticated
    async def get(self, path: str | None = None) -> None:
        guard: Guard = self.settings["supervision_guard"]
        if render_refusal(self.request.headers, guard.policy):
            self.log.warning("Refused a cross-site render request (no kernel started)")
            return self._refuse(403, CROSS_SITE_REFUSED)
        slot = guard.cap.reserve()
        if slot is None:
            self.log.warning("Refused a render: %d kernels in use (the cap)", guard.cap.max_kernels)
            return self._refuse(503, guard.busy)
        token = _SLOT.set(slot)
        try:
            await super().get(path)
        finally:
            _SLOT.reset(token)
            guard.cap.release(slot)


def _sanitised(payload: Mapping[str, str]) -> dict[str, str]:
    """The request details a preheated kernel may learn: never the query string (tokens)."""
    return {k: v for k, v in payload.items() if k != ENV_VARIABLE.QUERY_STRING}


_CACHE_LIMIT = 64


def _send_updates(cls: type, msg: Mapping[str, Any]) -> None:
    """Replaces ``RequestInfoSocketHandler.send_updates``: no query string, a bounded cache."""
    kernel_id, payload = msg["kernel_id"], _sanitised(msg["payload"])
    waiter = RequestInfoSocketHandler._waiters.get(kernel_id)
    if waiter is not None:
        try:
            waiter.write_message(payload)
        except Exception:  # a closed socket: the page is gone
            waiter.log.warning("Could not send the request details to kernel %s", kernel_id)
        return
    cache = RequestInfoSocketHandler._cache
    cache[kernel_id] = payload
    while len(cache) > _CACHE_LIMIT:
        cache.pop(next(iter(cache)))


class GuardedQueryHandler(WebSocketMixin, WebSocketHandler, JupyterHandler):
    """``/voila/query/<kernel id>``, authenticated like the kernel websocket, no query string."""

    def set_default_headers(self) -> None:
        """No JupyterHandler headers on a websocket (as jupyter_server's kernel socket)."""

    @ws_authenticated
    async def get(self, kernel_id: str) -> None:  # type: ignore[override]
        await super().get(kernel_id=kernel_id)

    def open(self, kernel_id: str) -> None:  # type: ignore[override]
        super().open()
        self._kernel_id = kernel_id
        RequestInfoSocketHandler._waiters[kernel_id] = self
        cached = RequestInfoSocketHandler._cache.pop(kernel_id, None)
        if cached is not None:
            self.write_message(_sanitised(cached))

    def on_message(self, message: str | bytes) -> None:
        """Nothing is read from the client."""

    def on_close(self) -> None:
        kernel_id = getattr(self, "_kernel_id", None)
        if RequestInfoSocketHandler._waiters.get(kernel_id) is self:
            del RequestInfoSocketHandler._waiters[kernel_id]


# ------------------------------------------------------------------ the landing page
LANDING_TEMPLATE = "landing.html.j2"
_LANDING_ENV = jinja2.Environment(
    loader=jinja2.FileSystemLoader(str(Path(__file__).resolve().parent / "share")),
    autoescape=True,  # every value: export names and ids come from a file someone wrote
    undefined=jinja2.StrictUndefined,
)


def render_landing(data: Mapping[str, Any], base_url: str) -> str:
    """The landing page for ``data`` (:func:`supervision.serve.landing`), links under
    ``base_url``."""
    base = base_url if base_url.endswith("/") else base_url + "/"
    shown = [d for d in data["dashboards"]  # a link elsewhere: http(s) only, never javascript:
             if "url" not in d or str(d["url"]).startswith(("http://", "https://"))]
    return _LANDING_ENV.get_template(LANDING_TEMPLATE).render(
        data={**data, "dashboards": shown}, base=base)


class LandingHandler(JupyterHandler):
    """``/`` and ``/voila/tree``: the product's landing page (authenticated like the rest)."""

    def initialize(self, **_: Any) -> None:
        """Voilà's tree handler arguments are not needed."""

    @tornado.web.authenticated
    def get(self, path: str | None = None) -> None:
        if path not in (None, "", "/"):
            raise tornado.web.HTTPError(404)
        self.set_header("Content-Type", "text/html; charset=utf-8")
        self.set_header("Cache-Control", "no-store")
        self.finish(render_landing(self.settings["supervision_landing"], self.base_url))


# ------------------------------------------------------------------ trust
def private_notary(parent: Any = None) -> NotebookNotary:
    """A notary with a fresh random key and an in-memory signature store: nothing on disk."""
    return NotebookNotary(parent=parent, db_file=":memory:", secret=os.urandom(32))


def trust_notebooks(notary: NotebookNotary, root: Path) -> list[str]:
    """Sign every notebook directly in ``root`` with ``notary``; their names, sorted.

    Read as the contents manager reads them (nbformat 4), so the signature it checks on
    each render matches.
    """
    signed = []
    for path in sorted(root.glob("*.ipynb")):
        notary.sign(nbformat.read(path, as_version=4))
        signed.append(path.name)
    return signed


# ------------------------------------------------------------------ stopping
def computing_kernels(km: Any) -> set[str]:
    """The kernels of ``km`` computing now: busy by their last status, or preheated ones
    whose notebook is still running (Voilà's pools)."""
    out = set()
    for kid in km.list_kernel_ids():
        with contextlib.suppress(KeyError):
            if getattr(km.get_kernel(kid), "execution_state", None) == "busy":
                out.add(kid)
    for pool in getattr(km, "_pools", {}).values():
        for started in pool:
            if not started.done() or started.cancelled() or started.exception() is not None:
                continue
            result = started.result()
            task = result.get("task") if isinstance(result, Mapping) else None
            if task is not None and not task.done():
                out.add(result["kernel_id"])
    return out


# ------------------------------------------------------------------ the hub's login
#: Seconds a user's server trusts the hub's word on a cookie's OAuth token.
HUB_AUTH_CACHE = 5


def _is_hub_var(name: str) -> bool:
    return name.startswith("JUPYTERHUB_") or name == "JPY_API_TOKEN"


def take_hub_environment() -> dict[str, str]:
    """Remove the hub's variables from this process's environment and return them."""
    return {k: os.environ.pop(k) for k in list(os.environ) if _is_hub_var(k)}


def hub_identity_classes() -> tuple[type, type]:
    """(identity provider, authorizer) checking the hub's OAuth cookie and access scopes.

    Call while the hub's variables are in the environment: the OAuth client reads them
    here, once (some at import), so that they can be removed before any kernel starts."""
    from jupyterhub.services.auth import HubOAuth
    from jupyterhub.singleuser.extension import JupyterHubAuthorizer, JupyterHubIdentityProvider
    from traitlets import default

    # reads the JUPYTERHUB_* variables: every default evaluated now.  The hub's answer about
    # a cookie's token is kept HUB_AUTH_CACHE seconds, not HubAuth's default five minutes, so
    # that a logout or a password change (which delete the token) ends this server's
    # sessions at once.
    auth = HubOAuth(cache_max_age=HUB_AUTH_CACHE)
    for name in auth.trait_names():
        with contextlib.suppress(Exception):
            getattr(auth, name)

    class HubIdentity(JupyterHubIdentityProvider):
        """JupyterHub's identity provider, never handing out the server's API token."""

        @default("hub_auth")
        def _default_hub_auth(self) -> HubOAuth:
            return auth

        def __init__(self, **kwargs: Any) -> None:
            kwargs.pop("token", None)  # Voilà passes its own (none): the hub's cookie rules
            super().__init__(**kwargs)

        @property
        def token(self) -> str:  # what Voilà would print or put in a URL: nothing
            return ""

        def page_config_hook(self, handler: Any, page_config: dict) -> dict:
            return page_config  # no token in any page

    return HubIdentity, JupyterHubAuthorizer


# ------------------------------------------------------------------ the application
class Guard:
    """What the application consults: the host policy, the kernel cap and the busy page."""

    def __init__(self, policy: HostPolicy, cap: KernelCap, idle_timeout: int, port: int) -> None:
        self.policy, self.cap = policy, cap
        self.busy = busy_page(cap.max_kernels, idle_timeout)
        self.host_refused = host_refused_page(port)

    def refusal(self, request: Any) -> tuple[int, str] | None:
        """(status, page) for a request on a foreign host or from a foreign origin, else None."""
        if not self.policy.allows_host(request.host or ""):
            return 403, self.host_refused
        origin = request.headers.get("Origin")
        if origin is not None and not self.policy.allows_origin(origin):
            return 403, ORIGIN_REFUSED
        return None


class GuardedApplication(tornado.web.Application):
    """Every request (each route, each websocket upgrade) passes :meth:`Guard.refusal` first."""

    def find_handler(self, request: Any, **kwargs: Any) -> Any:
        guard: Guard | None = self.settings.get("supervision_guard")
        refused = guard.refusal(request) if guard is not None else (403, ORIGIN_REFUSED)
        if refused is not None:
            status, body = refused
            app_log.warning(
                "Refused a request (Host %.80r, Origin %.80r): not a name this server "
                "answers to", request.host, request.headers.get("Origin"))
            return self.get_handler_delegate(
                request, RefusedHandler, {"status": status, "body": body})
        return super().find_handler(request, **kwargs)


class SupervisionVoila(Voila):
    """Voilà with the host check, the render guard, the kernel cap and culling."""

    public_names = List(
        Unicode(), config=True,
        help="Host names (besides loopback and --ip) this server answers to, e.g. a proxy's.",
    )
    max_kernels = Integer(
        MAX_KERNELS, config=True,
        help="Kernels serving pages at once (the preheated pool aside); past it a render "
        "gets 503 and a busy page.",
    )
    kernel_idle_timeout = Integer(
        KERNEL_IDLE_TIMEOUT, config=True,
        help="Seconds a kernel may stay without a connected page before it is shut down.",
    )
    landing_file = Unicode(
        "", config=True,
        help="JSON describing the landing page (supervision.serve.landing); empty: Voilà's "
        "own file list at /.",
    )

    def initialize(self, argv: Any = None) -> None:
        if os.environ.get("JUPYTERHUB_API_TOKEN"):
            self.identity_provider_class, self.authorizer_class = hub_identity_classes()
        take_hub_environment()  # before anything could start a kernel (it copies os.environ)
        # the kernels' temporary files (DuckDB spill folders) in a folder of this server's
        self.kernel_tmp = tempfile.mkdtemp(prefix="supervision-kernels-")
        os.environ["TMPDIR"] = self.kernel_tmp
        super().initialize(argv)

    def init_settings(self) -> dict:
        settings = super().init_settings()
        # the dashboards serve placed in ROOT: trusted, with a key and store in memory only
        self.contents_manager.notary = private_notary(self.contents_manager)
        trust_notebooks(self.contents_manager.notary, Path(self.contents_manager.root_dir))
        km = self.kernel_manager
        km.cull_idle_timeout = max(1, self.kernel_idle_timeout)
        km.cull_interval = max(1, min(60, self.kernel_idle_timeout // 5))
        km.cull_connected = False  # an open page keeps its kernel; the cap bounds them
        km.cull_busy = False
        policy = HostPolicy(self.ip, self.public_names)
        settings["supervision_guard"] = Guard(
            policy, KernelCap(km, max(1, self.max_kernels)), self.kernel_idle_timeout, self.port)
        if self.landing_file:
            settings["supervision_landing"] = json.loads(
                Path(self.landing_file).read_text(encoding="utf-8"))
        return settings

    def init_handlers(self) -> list:
        swap = {TornadoVoilaHandler: GuardedRenderHandler,
                RequestInfoSocketHandler: GuardedQueryHandler}
        if self.landing_file:
            swap[TornadoVoilaTreeHandler] = LandingHandler
        # the identity provider's routes (/login, /logout, the hub's /oauth_callback) come
        # unprefixed; Voilà serves every other route under its base URL
        own = {path for path, *_ in self.identity_provider.get_handlers()}
        return [(url_path_join(self.server_url, h[0]) if h[0] in own else h[0],
                 swap.get(h[1], h[1]), *h[2:]) for h in super().init_handlers()]

    def start(self) -> None:
        """``Voila.start`` with :class:`GuardedApplication` in place of tornado's."""
        self.connection_dir = tempfile.mkdtemp(prefix="voila_", dir=self.connection_dir_root)
        self.log.info("Storing connection files in %s.", self.connection_dir)
        settings = self.init_settings()
        self.app = GuardedApplication(**settings)
        self.app.settings.update(self.tornado_settings)
        self.app.add_handlers(".*$", self.init_handlers())
        self.listen()

    def stop(self) -> None:
        """Stop computing kernels at once and the rest cleanly (no ZMQ traceback), then
        remove the connection files and the kernels' temporary folder."""
        shutil.rmtree(self.connection_dir, ignore_errors=True)
        run_sync(self._shutdown_kernels)()
        shutil.rmtree(getattr(self, "kernel_tmp", ""), ignore_errors=True)

    async def _shutdown_kernels(self) -> None:
        km = self.kernel_manager
        for kid in computing_kernels(km):
            with contextlib.suppress(Exception):  # gone meanwhile
                await km.shutdown_kernel(kid, now=True)
        await km.shutdown_all()


RequestInfoSocketHandler.send_updates = classmethod(_send_updates)  # type: ignore[assignment]

main = SupervisionVoila.launch_instance

if __name__ == "__main__":
    main()
