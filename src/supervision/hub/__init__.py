"""``supervision hub``: the practice server (domain §13), on JupyterHub.

* :mod:`~supervision.hub.roles` — the roles file: who may sign in, and to what;
* :mod:`~supervision.hub.server` — preparing the export once and running JupyterHub;
* :mod:`~supervision.hub.config` — the JupyterHub configuration of one run;
* :mod:`~supervision.hub.passwords` — passwords only the practice sets, enrolment codes,
  and the throttle on failed sign-ins;
* :mod:`~supervision.hub.oidc` — the practice's identity provider (OpenID Connect);
* :mod:`~supervision.hub.auth` — the JupyterHub authenticators and pages (hub process only).
"""

from __future__ import annotations

from supervision.hub.roles import ROLES, Person, read_roles, resolve
from supervision.hub.server import find_proxy, hub, plan, spawner_class

__all__ = ["ROLES", "Person", "find_proxy", "hub", "plan", "read_roles", "resolve",
           "spawner_class"]
