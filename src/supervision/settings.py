"""Every ``SUPERVISION_*`` environment variable, parsed in one place: :class:`Settings`.

``Settings.from_env()`` reads each variable once per call and checks it: a value that cannot
be read is a :class:`~supervision.errors.ConfigError` naming the variable and the value
(never the value of a secret).  An empty variable counts as unset.  Readers call
:func:`settings` where they need a value (the environment of a process may be set by the
server that started it, or by a test), never ``os.environ`` themselves.  The table of
:data:`VARIABLES` is the README's ("Settings").
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from supervision.errors import ConfigError

# ---------------------------------------------------------------- names (set by the server)
EXPORT = "SUPERVISION_EXPORT"
PREPARED = "SUPERVISION_PREPARED"
MAPPING = "SUPERVISION_MAPPING"
MEASURES = "SUPERVISION_MEASURES"
MIN_CELL = "SUPERVISION_MIN_CELL"
THERAPIST = "SUPERVISION_THERAPIST"
SCOPED_DIR = "SUPERVISION_SCOPED_DIR"
DB = "SUPERVISION_DB"
DB_SCHEMA = "SUPERVISION_DB_SCHEMA"
ALLOWED = "SUPERVISION_THERAPISTS"
DEMO = "SUPERVISION_DEMO"
#: What ``supervision serve`` tells a dashboard kernel (never inherited from a user's shell).
KERNEL_VARS = (EXPORT, PREPARED, MAPPING, MEASURES, MIN_CELL, THERAPIST, SCOPED_DIR, DB,
               DB_SCHEMA, ALLOWED, DEMO)
QUARTER = "SUPERVISION_QUARTER"
COVER = "SUPERVISION_REPORT_COVER"
TOKEN = "SUPERVISION_TOKEN"
PUBLIC_NAMES = "SUPERVISION_PUBLIC_NAMES"
MAX_KERNELS = "SUPERVISION_MAX_KERNELS"
IDLE_TIMEOUT = "SUPERVISION_KERNEL_IDLE_TIMEOUT"
DASHBOARDS = "SUPERVISION_DASHBOARDS"
OIDC_ID = "SUPERVISION_OIDC_CLIENT_ID"
OIDC_SECRET = "SUPERVISION_OIDC_CLIENT_SECRET"
MAX_MEMORY_MB = "SUPERVISION_MAX_MEMORY_MB"
MAX_UNZIP_MB = "SUPERVISION_MAX_UNZIP_MB"
PROGRESS_SECONDS = "SUPERVISION_PROGRESS_SECONDS"
DEBUG = "SUPERVISION_DEBUG"


# ---------------------------------------------------------------- parsers
def _text(name: str, raw: str) -> str:
    return raw


def _secret(name: str, raw: str) -> str:
    return raw.strip()


def _whole(name: str, raw: str) -> int:
    try:
        return int(raw.strip())
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, not {raw!r}") from None


def _positive(name: str, raw: str) -> int:
    value = _whole(name, raw)
    if value < 1:
        raise ConfigError(f"{name} must be at least 1, not {raw!r}")
    return value


def _seconds(name: str, raw: str) -> float:
    try:
        value = float(raw.strip())
    except ValueError:
        raise ConfigError(f"{name} must be a number of seconds, not {raw!r}") from None
    if not value > 0:
        raise ConfigError(f"{name} must be more than 0 seconds, not {raw!r}")
    return value


def _flag(name: str, raw: str) -> bool:
    return raw.strip() == "1"


def _set(name: str, raw: str) -> bool:
    return True


def _ids(name: str, raw: str) -> tuple[str, ...]:
    return tuple(t for t in (x.strip() for x in raw.split(",")) if t)


def _names(name: str, raw: str) -> tuple[str, ...]:
    return tuple(t for t in re.split(r"[\s,]+", raw) if t)


def _json_object(name: str, raw: str) -> dict[str, Any]:
    try:
        value = json.loads(raw)
    except json.JSONDecodeError:
        raise ConfigError(f"{name} is not valid JSON: {raw[:80]!r}") from None
    if not isinstance(value, dict):
        raise ConfigError(f"{name} must be a JSON object, not {raw[:80]!r}")
    return value


@dataclass(frozen=True)
class Variable:
    """One environment variable: the :class:`Settings` field it fills, how it is read, what
    it is for (the README's table)."""

    name: str
    field: str
    parse: Callable[[str, str], Any]
    doc: str


#: Every variable, in the README's order.
VARIABLES: tuple[Variable, ...] = (
    Variable(EXPORT, "export", _text, "kernel: the export path (full-access dashboards)"),
    Variable(PREPARED, "prepared", _text,
             "kernel: the server's validated copy (DuckDB file, opened read-only)"),
    Variable(DB, "db", _text, "kernel: a warehouse URL (`postgresql://…`, `local[N]`, …)"),
    Variable(DB_SCHEMA, "db_schema", _text, "kernel: the warehouse schema"),
    Variable(MAPPING, "mapping", _text, "kernel: a mapping TOML"),
    Variable(MEASURES, "measures", _text, "kernel: a measure registry TOML"),
    Variable(MIN_CELL, "min_cell", _whole, "kernel: small-cell threshold, at least 5 (5)"),
    Variable(THERAPIST, "therapist", _text,
             "kernel: the one therapist a therapist server is fixed to"),
    Variable(SCOPED_DIR, "scoped_dir", _text,
             "kernel: that therapist's tables and `practice.json`"),
    Variable(ALLOWED, "allowed", _ids,
             "kernel (hub supervisor): the therapist ids the picker offers, comma-separated"),
    Variable(DEMO, "demo", _flag, "kernel: `1` when the data is the SYNTHETIC demo"),
    Variable(QUARTER, "quarter", _text, "report kernel: the pack's quarter (`2024Q3`)"),
    Variable(COVER, "report_cover", _json_object,
             "report kernel: the cover facts (JSON object)"),
    Variable(TOKEN, "token", _secret,
             "serve: the access token (server only, never handed to a kernel)"),
    Variable(PUBLIC_NAMES, "public_names", _names,
             "serve: extra host names to answer to (comma- or space-separated)"),
    Variable(MAX_KERNELS, "max_kernels", _positive, "serve: kernels serving pages at once (8)"),
    Variable(IDLE_TIMEOUT, "kernel_idle_timeout", _positive,
             "serve: seconds a kernel may stay without a page (300)"),
    Variable(DASHBOARDS, "dashboards", _text, "serve: the folder holding the notebooks"),
    Variable(OIDC_ID, "oidc_client_id", _secret,
             "hub: the OpenID Connect client id (else `--oidc-client-file`)"),
    Variable(OIDC_SECRET, "oidc_client_secret", _secret, "hub: the client secret"),
    Variable(MAX_MEMORY_MB, "max_memory_mb", _positive,
             "DuckDB's memory cap in MB (2000; at least 128 is used)"),
    Variable(MAX_UNZIP_MB, "max_unzip_mb", _positive,
             "the most a `.zip` export may unpack to, in MB (20000)"),
    Variable(PROGRESS_SECONDS, "progress_seconds", _seconds,
             "seconds between progress lines in a log (5)"),
    Variable(DEBUG, "debug", _set, "set (`1`): an internal error prints its traceback"),
)


@dataclass(frozen=True)
class Settings:
    """Every ``SUPERVISION_*`` variable, read and checked (:data:`VARIABLES` says which field
    each fills; None or empty when unset).

    The kernel fields (``export`` … ``demo``) are what ``supervision serve`` tells a
    dashboard kernel; ``min_cell`` is checked to be at least 5
    (:func:`supervision.privacy.check_min_cell`) by its readers.
    """

    export: str | None = None
    prepared: str | None = None
    db: str | None = None
    db_schema: str | None = None
    mapping: str | None = None
    measures: str | None = None
    min_cell: int = 5
    therapist: str | None = None
    scoped_dir: str | None = None
    allowed: tuple[str, ...] | None = None
    demo: bool = False
    quarter: str | None = None
    report_cover: Mapping[str, Any] = field(default_factory=dict)
    token: str | None = field(default=None, repr=False)
    public_names: tuple[str, ...] = ()
    max_kernels: int | None = None
    kernel_idle_timeout: int | None = None
    dashboards: str | None = None
    oidc_client_id: str | None = field(default=None, repr=False)
    oidc_client_secret: str | None = field(default=None, repr=False)
    max_memory_mb: int | None = None
    max_unzip_mb: int | None = None
    progress_seconds: float = 5.0
    debug: bool = False

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """The settings in ``env`` (default: this process's environment).

        Raises
        ------
        ConfigError
            A variable whose value cannot be read, named with its value.
        """
        env = os.environ if env is None else env
        given = {}
        for var in VARIABLES:
            raw = env.get(var.name, "")
            if raw.strip():
                given[var.field] = var.parse(var.name, raw)
        return cls(**given)


def settings() -> Settings:
    """This process's :class:`Settings`, read from its environment now."""
    return Settings.from_env()


def readme_table() -> str:
    """The README's table of variables (Markdown)."""
    rows = [f"| `{v.name}` | {v.doc} |" for v in VARIABLES]
    return "\n".join(["| variable | what it sets (default) |", "|---|---|", *rows])


__all__ = ["KERNEL_VARS", "VARIABLES", "Settings", "Variable", "readme_table", "settings"]
