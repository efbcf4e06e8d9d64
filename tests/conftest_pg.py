"""A throwaway PostgreSQL server on 127.0.0.1 for the warehouse tests (session-scoped).

Debian's ``postgresql`` package provides ``/usr/lib/postgresql/<version>/bin/initdb``
(``make install-test`` installs it).  The cluster is created in a temporary folder with a random
superuser password (so the tests exercise password authentication and its masking), started on
a free port with ``pg_ctl`` as the ``postgres`` user (PostgreSQL refuses to run as root), and
stopped and removed at teardown.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest


@dataclass(frozen=True)
class PgServer:
    """A running throwaway server: ``url`` carries the password; ``url_no_password`` does not."""

    host: str
    port: int
    user: str
    password: str

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{self.user}:{self.password}@{self.host}:{self.port}/{database}"

    def url_no_password(self, database: str = "postgres") -> str:
        return f"postgresql://{self.user}@{self.host}:{self.port}/{database}"


def _bindir() -> Path | None:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), reverse=True)
    return found[0].parent if found else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _as_postgres(cmd: list[str]) -> list[str]:
    """Run as the ``postgres`` system user when we are root (postgres will not run as root)."""
    if os.geteuid() != 0:
        return cmd
    return ["runuser", "-u", "postgres", "--", *cmd]


@contextlib.contextmanager
def throwaway_server() -> Iterator[PgServer]:
    """Start PostgreSQL in a temporary folder on a free port; stop it and remove it at the end.

    Also used by ``benchmarks/warehouse_metrics.py``.  Raises ``FileNotFoundError`` if
    PostgreSQL's server binaries are not installed.
    """
    bindir = _bindir()
    if bindir is None:
        raise FileNotFoundError("/usr/lib/postgresql/*/bin/initdb")
    root = Path(tempfile.mkdtemp(prefix="supervision-pg-"))
    password = secrets.token_urlsafe(16)
    (root / "pw").write_text(password + "\n", encoding="utf-8")
    if os.geteuid() == 0:
        shutil.chown(root, "postgres")
        shutil.chown(root / "pw", "postgres")
    port = _free_port()
    data = root / "data"
    pg_ctl = [str(bindir / "pg_ctl"), "-D", str(data), "-l", str(root / "log")]
    try:
        subprocess.run(
            _as_postgres([str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "-E", "UTF8",
                          "--auth=scram-sha-256", f"--pwfile={root / 'pw'}", "--no-sync"]),
            check=True, capture_output=True,
        )
        opts = f"-h 127.0.0.1 -p {port} -k {root} -F -c fsync=off -c synchronous_commit=off"
        subprocess.run(_as_postgres([*pg_ctl, "-o", opts, "-w", "-t", "60", "start"]),
                       check=True, capture_output=True)
        yield PgServer("127.0.0.1", port, "postgres", password)
    finally:
        subprocess.run(_as_postgres([*pg_ctl, "-m", "immediate", "stop"]), capture_output=True)
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    """The throwaway server for the whole test session."""
    if _bindir() is None:
        pytest.skip("PostgreSQL is not installed (make install-test installs Debian's postgresql)")
    with throwaway_server() as server:
        yield server


def new_database(server: PgServer) -> str:
    """Create a fresh database on the throwaway server; return its URL (with the password)."""
    import psycopg

    name = f"t_{secrets.token_hex(4)}"
    with psycopg.connect(server.url(), autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    return server.url(name)


@pytest.fixture
def pg_database(pg_server: PgServer) -> str:
    """A fresh database on the throwaway server, as a URL with the password."""
    return new_database(pg_server)
