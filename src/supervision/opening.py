"""Opening a caseload — the one place each source is opened: an export (validated into
DuckDB) or warehouse tables (:func:`open_caseload`), the server's prepared copy or a
therapist's bundle (:func:`caseload`, :func:`therapist_context`, what a dashboard kernel is
given), and the session variables that say which.

What a dashboard kernel knows is read from the server-fixed environment, through
:func:`supervision.settings.settings` (the one parser of every ``SUPERVISION_*`` variable).

``supervision serve`` sets these environment variables before it starts Voilà; kernels
inherit the server's environment, and nothing in a browser (URL, widget, comm message)
can change it.

``SUPERVISION_PREPARED``    the server's validated copy of the export, a DuckDB file that
                            kernels open read-only (:mod:`supervision.io.prepared`); the
                            server also sets
``SUPERVISION_EXPORT``      the export path (supervisor and practice dashboards only), which
                            a kernel reads itself only without a prepared file; or
``SUPERVISION_DB``          a warehouse URL (``postgresql://…``, ``local[N]``, ``spark://…``)
``SUPERVISION_DB_SCHEMA``   and its schema, read through
                            :func:`supervision.warehouse.connect_caseload` (exactly one of
                            the export and the warehouse is set)
``SUPERVISION_MAPPING``     optional mapping TOML
``SUPERVISION_MEASURES``    optional measure registry TOML
``SUPERVISION_MIN_CELL``    small-cell threshold (>= 5)
``SUPERVISION_THERAPIST``   set when the server is fixed to one therapist; then
``SUPERVISION_SCOPED_DIR``  holds that therapist's canonical tables (Parquet) and
                            ``practice.json`` (anonymous practice aggregates).  The full
                            export's path and the warehouse URL are *not* given to such a
                            kernel.
``SUPERVISION_THERAPISTS``  set for a supervisor on the hub (``supervision hub``): the
                            therapist ids (comma-separated) the supervisor dashboard may
                            show; its picker offers exactly those (:func:`allowed_therapists`).
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

import pandas as pd

from supervision.caseload import Caseload
from supervision.errors import ConfigError, ScopeError
from supervision.measures import load_registry
from supervision.privacy import check_min_cell
from supervision.settings import (  # noqa: F401  (the variables' names, for the server)
    ALLOWED,
    DB,
    DB_SCHEMA,
    DEMO,
    EXPORT,
    KERNEL_VARS,
    MAPPING,
    MEASURES,
    MIN_CELL,
    PREPARED,
    SCOPED_DIR,
    THERAPIST,
    TOKEN,
    settings,
)

#: Every variable the server sets for a kernel (:data:`supervision.settings.KERNEL_VARS`).
ALL_VARS = KERNEL_VARS

TABLE_FILES = {
    "sessions": "sessions.parquet",
    "episodes": "episodes.parquet",
    "therapists": "therapists.parquet",
}
PRACTICE_FILE = "practice.json"
#: The key of ``practice.json`` holding the expected-response bands handed over.
BANDS_KEY = "expected_bands"
TOKEN_VAR = TOKEN
#: Variables only the server process may hold: never handed to a kernel.
SERVER_ONLY_VARS = (TOKEN_VAR, "JUPYTER_TOKEN", "JUPYTER_TOKEN_FILE")


def min_cell() -> int:
    """The small-cell threshold the server was started with (default 5; at least 5)."""
    return check_min_cell(settings().min_cell)


@functools.cache
def caseload() -> Caseload:
    """The whole caseload, opened once per kernel (supervisor and practice dashboards).

    From the server's prepared copy at ``SUPERVISION_PREPARED`` (opened read-only, no
    re-validation), else the export at ``SUPERVISION_EXPORT`` (read into DuckDB), or from the
    warehouse at ``SUPERVISION_DB`` / ``SUPERVISION_DB_SCHEMA`` (the tables stay there; only
    aggregates come back).  Any message names the warehouse through
    :func:`supervision.warehouse.mask_url`, never with its password.
    """
    conf = settings()
    if conf.therapist:
        raise ScopeError(
            "this server is fixed to one therapist (supervision serve --therapist): only the "
            "therapist dashboard is available"
        )
    path, url = conf.export, conf.db
    if path and url:
        raise ConfigError(f"both {EXPORT} and {DB} are set: the server gives exactly one")
    if url:
        from supervision.warehouse import DEFAULT_SCHEMA, connect_caseload

        return connect_caseload(
            url,
            schema=conf.db_schema or DEFAULT_SCHEMA,
            registry=load_registry(conf.measures),
        )
    if conf.prepared:
        from supervision.io.prepared import open_prepared

        return open_prepared(conf.prepared, registry=load_registry(conf.measures))
    if not path:
        raise ConfigError(
            "no export given: start the dashboards with `supervision serve PATH` or "
            f"`supervision serve --db URL` (the server sets {EXPORT} or {DB})"
        )
    from supervision.io import load_export

    return load_export(
        path,
        mapping=conf.mapping,
        measures=conf.measures,
        progress=False,
    )


def allowed_therapists() -> tuple[str, ...] | None:
    """The therapists a supervisor may pick (``SUPERVISION_THERAPISTS``); None: every one."""
    return settings().allowed


@functools.cache
def therapist_context() -> tuple[Caseload, dict[str, Any]]:
    """The fixed therapist's own rows and the anonymous practice aggregates, loaded once."""
    conf = settings()
    therapist, folder = conf.therapist, conf.scoped_dir
    if not therapist or not folder:
        raise ConfigError(
            "the therapist dashboard needs a server fixed to one therapist: start it with "
            "`supervision serve PATH --therapist ID`"
        )
    return read_bundle(Path(folder), therapist)


def write_bundle(full: Caseload, therapist_id: str, folder: Path, *, min_cell: int) -> Path:
    """Write one therapist's rows and the practice comparison for a therapist kernel.

    Called by the server process: the kernel then never holds another therapist's rows, and
    the practice figures it gets are what :func:`supervision.comparison.gate` lets through
    (the last quarter closed by the export's last session; nothing that fewer than
    ``min_cell`` other therapists' episodes stand behind), with the
    expected-response bands of :func:`supervision.clinical.expected.handover_bands` (its
    reference is the whole practice; the kernel cannot compute it from its own rows).
    Returns ``folder``.
    """
    from supervision.clinical.expected import handover_bands
    from supervision.comparison import gate
    from supervision.scopes import dumps

    folder.mkdir(parents=True, exist_ok=True)
    own = full.scoped(therapist_id=therapist_id)
    for name, file in TABLE_FILES.items():
        getattr(own, name).execute().to_parquet(folder / file, index=False)
    practice = gate(full, entitled={therapist_id}, min_cell=min_cell)
    # the expected-response reference is the whole practice (domain.md §11): its bands, as
    # aggregates, for this therapist's open episodes (supervision.clinical.expected)
    practice[BANDS_KEY] = handover_bands(full, therapist_id, min_cell=min_cell)
    (folder / PRACTICE_FILE).write_text(dumps(practice), encoding="utf-8")
    return folder


def read_bundle(folder: Path, therapist_id: str) -> tuple[Caseload, dict[str, Any]]:
    """Read what :func:`write_bundle` wrote; the caseload comes back scoped to the therapist."""
    frames = {name: pd.read_parquet(folder / file) for name, file in TABLE_FILES.items()}
    ids = set(frames["therapists"]["therapist_id"]) | set(frames["episodes"]["therapist_id"])
    if ids - {therapist_id}:
        raise ScopeError("the therapist bundle holds other therapists' rows; refusing to show it")
    registry = load_registry(settings().measures)
    practice = json.loads((folder / PRACTICE_FILE).read_text(encoding="utf-8"))
    from supervision.clinical.expected import handed_over

    cl = Caseload.from_frames(
        frames["sessions"],
        frames["episodes"],
        frames["therapists"],
        registry=registry,
        source=f"therapist {therapist_id}",
        # the practice's expected-response bands: the only reference this kernel may use
        handed=handed_over(practice.pop(BANDS_KEY, None)),
    )
    return cl.scoped(therapist_id=therapist_id), practice


def open_caseload(
    path: str | Path | None,
    *,
    db: str | None,
    schema: str,
    mapping: str | Path | None,
    measures: str | Path | None,
    spark: bool = False,
) -> Caseload:
    """The export at ``path`` (validated into DuckDB) or the warehouse tables behind ``db``.

    Exactly one of the two, except with ``spark`` (``supervision metrics PATH --db local[N]``):
    then the export is read here and computed on the Spark session ``db`` names.
    """
    from supervision import warehouse
    from supervision.measures import load_registry

    def read() -> Caseload:
        from supervision.io import load_export

        return load_export(path, mapping=mapping, measures=measures, progress=False)

    both = path is not None and db is not None
    if (path is None and db is None) or (both and not spark):
        raise ConfigError("give exactly one of PATH (an export) and --db URL (a warehouse)")
    if db is None:
        return read()
    if path is None:
        if mapping:
            raise ConfigError("--mapping applies to an export; warehouse tables are canonical")
        return warehouse.connect_caseload(db, schema=schema, registry=load_registry(measures))
    if warehouse.engine_of(db) == "postgres":
        raise ConfigError(
            "with --db postgresql://… the tables come from the database: load the export first "
            "(supervision load PATH --into URL), then run supervision metrics --db URL"
        )
    return warehouse.caseload_on_spark(read(), db)


def source_vars(
    path: str | Path | None, *, db: str | None, schema: str, mapping: str | Path | None
) -> dict[str, str]:
    """The session variables naming the data for a full-access kernel (never a scoped one)."""
    if db is not None:
        return {DB: db, DB_SCHEMA: schema}
    values = {EXPORT: str(Path(path).resolve())}  # type: ignore[arg-type]
    if mapping:
        values[MAPPING] = str(Path(mapping).resolve())
    return values


__all__ = ["ALL_VARS", "SERVER_ONLY_VARS", "TOKEN_VAR", "allowed_therapists", "caseload",
           "min_cell", "open_caseload", "read_bundle", "source_vars", "therapist_context",
           "write_bundle"]
