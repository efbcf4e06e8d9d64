"""Passwords that only the practice sets (domain §13), for a hub without an identity provider.

Nobody can claim an account by signing in first.  Whoever runs the server either stores a
password's hash (``supervision hub passwd NAME``) or issues a one-time enrolment code that
expires (``supervision hub invite NAME``): the person then sets their own password at
``/hub/enrol`` with it.  Hashes are Argon2id (``argon2-cffi``) with OWASP's minimum for
it (Password Storage Cheat Sheet: 19 MiB, 2 passes, 1 lane), so that a burst of sign-ins
cannot exhaust a small server's memory; codes are kept only as SHA-256 digests, since they are
random and short-lived.  Everything lives in ``passwords.sqlite`` in the hub's state folder
(mode 600), which the hub and the command share (SQLite locks it between processes).

:class:`Throttle` slows repeated failures and then locks the name, and separately the
address, for a while; it is what the hub consults before and after each attempt.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import ipaddress
import os
import secrets
import sqlite3
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from supervision.errors import ConfigError

FILE = "passwords.sqlite"
MIN_LENGTH = 10
MAX_LENGTH = 512
CODE_HOURS = 72.0
#: Crockford's base 32: no I, L, O or U, so a code read aloud or typed is not misread.
_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_HASHER = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
#: Verified against when a name has no password, so every failure costs the same time.
_DUMMY = _HASHER.hash(secrets.token_hex(16))
_SCHEMA = """
CREATE TABLE IF NOT EXISTS passwords (name TEXT PRIMARY KEY, hash TEXT NOT NULL,
                                      set_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS codes (name TEXT PRIMARY KEY, digest TEXT NOT NULL,
                                  expires REAL NOT NULL);
"""


def password_problem(name: str, password: str) -> str | None:
    """Why ``password`` cannot be ``name``'s password, or None when it can.

    At least :data:`MIN_LENGTH` characters (NIST SP 800-63B asks 8 at the least; longer
    passphrases are encouraged), at most :data:`MAX_LENGTH`, not containing the name.
    """
    if len(password) < MIN_LENGTH:
        return f"the password must have at least {MIN_LENGTH} characters"
    if len(password) > MAX_LENGTH:
        return f"the password must have at most {MAX_LENGTH} characters"
    if name and name.casefold() in password.casefold():
        return "the password must not contain the user name"
    return None


def new_code() -> str:
    """A fresh enrolment code: 16 characters of Crockford base 32 (80 bits), in fours."""
    raw = "".join(secrets.choice(_ALPHABET) for _ in range(16))
    return "-".join(raw[i:i + 4] for i in range(0, 16, 4))


def _code_digest(code: str) -> str:
    canonical = "".join(code.split()).replace("-", "").upper()
    return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass
class Store:
    """The password hashes and enrolment codes in ``state_dir / passwords.sqlite``."""

    state_dir: Path
    clock: Callable[[], float] = time.time

    @property
    def path(self) -> Path:
        """The SQLite file."""
        return Path(self.state_dir) / FILE

    @contextlib.contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        state = Path(self.state_dir)
        if not state.is_dir():
            state.mkdir(mode=0o700, parents=True)
        if not self.path.exists():  # created private, before SQLite opens it
            os.close(os.open(self.path, os.O_WRONLY | os.O_CREAT, 0o600))
        con = sqlite3.connect(self.path, timeout=10)
        try:
            con.executescript(_SCHEMA)
            with con:
                yield con
        finally:
            con.close()

    def set_password(self, name: str, password: str) -> None:
        """Store ``name``'s password (its Argon2id hash); refuse one that breaks the rules."""
        problem = password_problem(name, password)
        if problem:
            raise ConfigError(f"{name}: {problem}")
        digest = _HASHER.hash(password)
        with self._db() as con:
            con.execute("INSERT OR REPLACE INTO passwords VALUES (?, ?, ?)",
                        (name, digest, self.clock()))

    def has_password(self, name: str) -> bool:
        """Whether ``name`` has a password."""
        with self._db() as con:
            return con.execute("SELECT 1 FROM passwords WHERE name = ?", (name,)).fetchone() \
                is not None

    def verify(self, name: str, password: str) -> bool:
        """Whether ``password`` is ``name``'s; as slow for a name without one (no oracle)."""
        with self._db() as con:
            row = con.execute("SELECT hash FROM passwords WHERE name = ?", (name,)).fetchone()
        try:
            ok = _HASHER.verify(row[0] if row else _DUMMY, password[:MAX_LENGTH])
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False
        return bool(row) and ok

    def issue_code(self, name: str, *, hours: float = CODE_HOURS) -> str:
        """A one-time enrolment code for ``name``, valid ``hours``; replaces an earlier one."""
        if not hours > 0:
            raise ConfigError(f"--hours must be more than 0 (got {hours:g})")
        code = new_code()
        with self._db() as con:
            con.execute("INSERT OR REPLACE INTO codes VALUES (?, ?, ?)",
                        (name, _code_digest(code), self.clock() + hours * 3600))
        return code

    def redeem(self, name: str, code: str, password: str) -> bool:
        """Set ``name``'s password if ``code`` is their unexpired code, which is then spent.

        The password must already satisfy :func:`password_problem`.  False, and nothing
        changed, for a wrong, expired or spent code.
        """
        with self._db() as con:
            row = con.execute("SELECT digest, expires FROM codes WHERE name = ?",
                              (name,)).fetchone()
            good = row is not None and hmac.compare_digest(row[0], _code_digest(code))
            if not good or row[1] < self.clock():
                return False
            con.execute("DELETE FROM codes WHERE name = ?", (name,))
            con.execute("INSERT OR REPLACE INTO passwords VALUES (?, ?, ?)",
                        (name, _HASHER.hash(password), self.clock()))
        return True


# ------------------------------------------------------------------ throttling
@dataclass
class _Record:
    failures: list[float] = field(default_factory=list)
    locked_until: float = 0.0


@dataclass
class Throttle:
    """Failed sign-ins per name and per address: a growing wait, then a lock.

    The first ``free`` failures within ``window`` seconds cost nothing; each later attempt
    waits ``base * 2**(k - 1)`` seconds (k = failures past ``free``, at most ``max_wait``);
    the ``name_limit``-th failure for a name (``address_limit``-th for an address) locks it
    for ``lock`` seconds, during which even the right password is refused.  ``log`` gets one
    line per lock.  At most ``keep`` names and addresses are remembered (oldest dropped).
    """

    log: Callable[[str], None]
    free: int = 3
    name_limit: int = 5
    address_limit: int = 20
    window: float = 900.0
    lock: float = 900.0
    base: float = 1.0
    max_wait: float = 8.0
    keep: int = 10_000
    clock: Callable[[], float] = time.monotonic
    _seen: OrderedDict[str, _Record] = field(default_factory=OrderedDict)

    def _record(self, key: str) -> _Record:
        now = self.clock()
        rec = self._seen.pop(key, None) or _Record()
        rec.failures = [t for t in rec.failures if t > now - self.window]
        self._seen[key] = rec
        while len(self._seen) > self.keep:
            self._seen.popitem(last=False)
        return rec

    def before(self, name: str, address: str) -> tuple[bool, float]:
        """(locked, seconds to wait) for an attempt at ``name`` from ``address``."""
        now = self.clock()
        recs = (self._record(f"name {name}"), self._record(f"address {address}"))
        locked = any(r.locked_until > now for r in recs)
        past = max(len(recs[0].failures), len(recs[1].failures) - self.address_limit // 2)
        k = past - self.free + 1
        wait = 0.0 if k <= 0 else min(self.base * 2 ** (k - 1), self.max_wait)
        return locked, wait

    def failed(self, name: str, address: str) -> None:
        """Count a failure; lock the name or the address when it reaches its limit."""
        now = self.clock()
        for key, limit in ((f"name {name}", self.name_limit),
                           (f"address {address}", self.address_limit)):
            rec = self._record(key)
            rec.failures.append(now)
            if len(rec.failures) >= limit and rec.locked_until <= now:
                rec.locked_until = now + self.lock
                self.log(f"sign-in locked: {key!r} for {self.lock / 60:g} min after "
                         f"{len(rec.failures)} failed attempts in {self.window / 60:g} min "
                         f"(name {name!r}, address {address})")

    def succeeded(self, name: str) -> None:
        """A right password outside any lock: the name's failures are forgotten."""
        self._seen.pop(f"name {name}", None)


def client_address(forwarded_for: str, peer: str) -> str:
    """The address a request came from: the last non-loopback hop of ``X-Forwarded-For``.

    The hub's own proxy appends the address it saw, and a reverse proxy on the same machine
    does the same, so the hops at the end that are loopback are ours; anything a client
    wrote itself comes before its real address and is never taken.
    """
    hops = [h.strip() for h in forwarded_for.split(",") if h.strip()] or [peer]
    for hop in reversed(hops):
        try:
            if not ipaddress.ip_address(hop.strip("[]")).is_loopback:
                return hop
        except ValueError:
            return hop
    return hops[0]


# ------------------------------------------------------------------ the commands
def account_name(name: str, roles: dict[str, object] | None) -> str:
    """``name`` checked: a user name as the roles file writes them, and in it when given."""
    from supervision.hub.roles import NAME

    if not NAME.match(name):
        raise ConfigError(f"{name!r} is not a user name: lower-case letters, digits, '.', '_' "
                          "or '-', as in the roles file's [users.NAME]")
    if roles is not None and name not in roles:
        raise ConfigError(f"{name} is not in the roles file (it has {', '.join(sorted(roles))})")
    return name


def invite(state_dir: str | Path, name: str, *, hours: float = CODE_HOURS,
           roles: dict[str, object] | None = None) -> str:
    """Issue ``name`` a one-time enrolment code; return what to tell the person."""
    code = Store(Path(state_dir)).issue_code(account_name(name, roles), hours=hours)
    return (f"Enrolment code for {name}: {code}\n"
            f"Valid once, for {hours:g} hours. Give it to {name} in person or by a channel "
            "you trust; they open /hub/enrol on the practice server, type their user name, "
            "this code and a password of their own. A new code replaces this one.")


def set_password(state_dir: str | Path, name: str, password: str, *,
                 roles: dict[str, object] | None = None) -> str:
    """Store ``name``'s password; return a line saying so."""
    Store(Path(state_dir)).set_password(account_name(name, roles), password)
    return (f"Password stored for {name} (Argon2id hash). A running hub uses it from the next "
            "sign-in on; sessions already open last until their owner logs out, or at most "
            "--session-hours.")


__all__ = ["CODE_HOURS", "MIN_LENGTH", "Store", "Throttle", "client_address", "invite",
           "new_code", "password_problem", "set_password"]
