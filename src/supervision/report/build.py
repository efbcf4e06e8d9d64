"""``supervision report``: the quarterly review pack as one self-contained HTML (and PDF).

The driver loads and validates the export here (a bad export or quarter fails on the
command line), then executes a report notebook headless (nbconvert's
``ExecutePreprocessor``) with its parameters in the environment, as ``supervision serve``
does (:mod:`supervision.opening`).  The notebook displays one HTML fragment per section;
the driver wraps them in a page with plotly.js inlined once, so the file opens offline
(from a USB stick) with interactive figures and nothing loaded from the network.

A therapist's pack runs in a kernel that only ever sees that therapist's rows and the
anonymous practice aggregates (a bundle written by :func:`write_therapist_bundle`).

With ``--db URL`` the data is read from the warehouse (``supervision load``) instead of an
export: the practice kernel opens it itself, a therapist kernel still gets only its bundle
(and no ``PG*`` variable), and the cover names the schema and host, never a credential.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import re
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from supervision import opening
from supervision.caseload import Caseload
from supervision.clinical import neurotype
from supervision.demo import DEMO_LABEL, is_demo_export
from supervision.errors import ConfigError, ScopeError, SupervisionError
from supervision.report import page
from supervision.report.sections import COVER, QUARTER

NOTEBOOK_DIR = Path(__file__).resolve().parent
QUARTER_RE = re.compile(r"^(\d{4})Q([1-4])$")
KERNEL_TIMEOUT = 600  # seconds per cell; the demo's cells take a few seconds


@dataclass
class Progress:
    """Progress lines on stderr, each with the seconds since the start."""

    quiet: bool = False
    start: float = field(default_factory=time.perf_counter)

    def __call__(self, message: str) -> None:
        if not self.quiet:
            elapsed = time.perf_counter() - self.start
            print(f"[{elapsed:6.1f}s] {message}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------------- checks
def quarter_window(quarter: str, cl: Caseload) -> tuple[dt.date, dt.date]:
    """First and last day of ``quarter`` ("2024Q3"), checked against the export's dates.

    Raises
    ------
    ConfigError
        ``quarter`` is not written ``YYYYQn``.
    ScopeError
        The quarter holds none of the export's session dates (the message names the range).
    """
    from supervision.periods import date_span, quarter_bounds

    if not QUARTER_RE.match(quarter or ""):
        raise ConfigError(
            f"--quarter {quarter!r} is not a quarter: write it as YYYYQn, e.g. 2024Q3"
        )
    start, end = quarter_bounds(quarter)
    lo, hi = date_span(cl)
    if lo is None or hi is None:
        raise ScopeError("the export holds no sessions, so there is no quarter to report")
    if end < lo or start > hi:
        raise ScopeError(
            f"quarter {quarter} ({start} to {end}) is outside the export's date range "
            f"{lo} to {hi}; choose a quarter from {_q(lo)} to {_q(hi)}"
        )
    return start, end


def _q(d: dt.date) -> str:
    return f"{d.year}Q{(d.month - 1) // 3 + 1}"


def cover_facts(
    cl: Caseload, *, db: str | None = None, schema: str = "supervision"
) -> dict[str, Any]:
    """Facts for the cover: data source, date range, checksum and generation time (UTC).

    For an export the source is its name and the checksum its SHA-256.  For a warehouse
    (``db``) the source is :func:`describe_warehouse` and the checksum is the export's
    SHA-256 as recorded by ``supervision load`` in the schema's ``load_info`` (no hash of the
    tables is computed: that would read every row out of the warehouse); ``kind`` tells the
    cover which of the two it shows.
    """
    from supervision.periods import date_span

    lo, hi = date_span(cl)
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    facts = {
        "kind": "export",
        "source": Path(cl.source).name or cl.source,  # the export's name, not where it sits
        "first_date": str(lo),
        "last_date": str(hi),
        "checksum": cl.checksum or "not available (built from frames)",
        "generated": now.strftime("%Y-%m-%d %H:%M UTC"),
    }
    if db is not None:
        facts["kind"] = "warehouse"
        facts["source"] = describe_warehouse(db, schema, loaded_from=cl.source)
        facts["checksum"] = cl.checksum or "not recorded (tables not written by supervision load)"
    return facts


def describe_warehouse(url: str, schema: str, *, loaded_from: str = "") -> str:
    """Where the tables live, without user name or password.

    >>> describe_warehouse("postgresql://ana:pw@db.example:5433/caseload", "s1")
    "schema 's1' of database 'caseload' on db.example:5433"
    """
    from supervision.warehouse import engine_of, mask_url

    if engine_of(url) == "spark":
        return f"Spark database {schema!r} ({mask_url(url)})"
    parts = urlsplit(url)
    database = unquote(parts.path.lstrip("/")) or "(default database)"
    try:
        port = parts.port
    except ValueError:
        port = None
    query_host = parse_qs(parts.query).get("host", [""])[0]  # ?host=/var/run/postgresql
    host = (parts.hostname or query_host or "the local socket") + (f":{port}" if port else "")
    text = f"schema {schema!r} of database {database!r} on {host}"
    name = Path(loaded_from).name if loaded_from.startswith(("/", ".")) else ""
    return text + (f", loaded from export {name!r}" if name else "")


def safe_name(therapist_id: str) -> str:
    """A filename-safe, collision-resistant form of a therapist id (``T/01`` -> ``T_01``)."""
    clean = re.sub(r"[^A-Za-z0-9._-]", "_", therapist_id).strip("._") or "therapist"
    if clean != therapist_id:
        import hashlib

        clean += "-" + hashlib.sha256(therapist_id.encode()).hexdigest()[:8]
    return clean[:80]


# ---------------------------------------------------------------------- kernels
@contextlib.contextmanager
def environment(values: dict[str, str], *, scoped: bool = False) -> Iterator[None]:
    """Set the report kernel's variables (and clear any other session variable) for a while.

    ``scoped`` (a therapist's pack) also clears the libpq variables (``PG*``) and the
    server's token variables, so that kernel inherits no credential.
    """

    names = [*opening.ALL_VARS, QUARTER, COVER, *opening.SERVER_ONLY_VARS]
    if scoped:
        names += [k for k in os.environ if k.startswith("PG")]
    saved = {k: os.environ.get(k) for k in names}
    try:
        for k in names:
            os.environ.pop(k, None)
        os.environ.update(values)
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def run_notebook(name: str, values: dict[str, str], *, scoped: bool = False) -> list[str]:
    """Execute report notebook ``name`` headless; return its ``text/html`` outputs in order.

    ``scoped``: a therapist's kernel (see :func:`environment`).
    """
    import nbformat
    from nbconvert.preprocessors import CellExecutionError, ExecutePreprocessor

    nb = nbformat.read(NOTEBOOK_DIR / name, as_version=4)
    # The kernel's own log (a notice about its localhost TCP transport) is not for the user;
    # a failing cell still surfaces as CellExecutionError below.
    ep = ExecutePreprocessor(
        timeout=KERNEL_TIMEOUT, kernel_name="python3",
        extra_arguments=["--IPKernelApp.log_level=ERROR"],
    )
    with tempfile.TemporaryDirectory() as work, environment(values, scoped=scoped):
        try:
            ep.preprocess(nb, {"metadata": {"path": work}})
        except CellExecutionError as exc:
            raise SupervisionError(f"the report notebook failed: {_kernel_error(exc)}") from None
    return [
        out["data"]["text/html"]
        for cell in nb.cells
        if cell.cell_type == "code"
        for out in cell.get("outputs", [])
        if out.get("output_type") in ("display_data", "execute_result")
        and "text/html" in out.get("data", {})
    ]


def _kernel_error(exc: Exception) -> str:
    """The kernel's error as one line (``ScopeError: ...``), without the traceback."""
    ename, evalue = getattr(exc, "ename", ""), getattr(exc, "evalue", "")
    return f"{ename}: {evalue}" if ename else str(exc).strip().splitlines()[-1]


def practice_bundle(
    full: Caseload, quarter: str, cover: dict[str, Any], *, min_cell: int
) -> dict[str, Any]:
    """Anonymous aggregates of the whole practice in ``quarter`` for therapist packs.

    Headline, rupture and termination rows, alliance by session and by quarter, retention
    (:func:`supervision.scopes.practice_aggregates`) and the neurotype groups with
    small cells suppressed — no therapist id, no episode id, no row.  Computed once per run
    and shared by every therapist's bundle.
    """
    from supervision.periods import quarter_bounds
    from supervision.report.sections import materialised
    from supervision.scopes import practice_aggregates

    q0, q1 = quarter_bounds(quarter)
    practice = materialised(full.scoped(since=q0, until=q1))
    agg = practice_aggregates(practice)
    groups = neurotype.group_summary(practice, min_cell=min_cell)
    agg["neurotype_groups"] = json.loads(groups.to_json(orient="records"))
    agg["cover"] = cover
    return agg


def write_therapist_bundle(
    full: Caseload, therapist_id: str, quarter: str, folder: Path, practice: dict[str, Any],
    *, min_cell: int,
) -> Path:
    """One therapist's rows (previous quarter's start .. quarter's end) + the practice.

    ``practice`` is :func:`practice_bundle` of the quarter; what is written of it is the
    comparison this therapist may see (:func:`supervision.comparison.gate`: of the last
    quarter closed by the quarter's end and the export's last session — the quarter itself
    once it is over — and nothing that fewer than ``min_cell`` other therapists' episodes
    stand behind).  The
    kernel reads it with :func:`supervision.opening.read_bundle`, which refuses a bundle
    holding any other therapist's rows.
    """
    from supervision.comparison import gate
    from supervision.periods import previous_quarter, quarter_bounds
    from supervision.scopes import dumps

    q0, q1 = quarter_bounds(quarter)
    p0 = quarter_bounds(previous_quarter(quarter))[0]
    folder.mkdir(parents=True, exist_ok=True)
    own = full.scoped(therapist_id=therapist_id, since=p0, until=q1)
    for name, file in opening.TABLE_FILES.items():
        getattr(own, name).execute().to_parquet(folder / file, index=False)
    shown = gate(full, entitled={therapist_id}, min_cell=min_cell, since=q0, until=q1,
                 aggregates=practice, groups=True)
    if "cover" in practice:
        shown["cover"] = practice["cover"]
    (folder / opening.PRACTICE_FILE).write_text(dumps(shown), encoding="utf-8")
    return folder


def kernel_values(
    args: ReportArgs, cover: dict[str, Any], extra: dict[str, str] | None = None
) -> dict[str, str]:
    """The environment of a report kernel (session variables + quarter + cover facts)."""
    values = {
        opening.MIN_CELL: str(args.min_cell),
        QUARTER: args.quarter,
        COVER: json.dumps(cover),
        **(extra or {}),
    }
    if args.measures:
        values[opening.MEASURES] = str(Path(args.measures).resolve())
    return values


# ---------------------------------------------------------------------- the command
@dataclass
class ReportArgs:
    """What ``supervision report`` was asked for (paths as given on the command line)."""

    path: str | None
    quarter: str
    out: str | None = None
    therapist: str | None = None
    per_therapist: str | None = None
    pdf: bool = False
    mapping: str | None = None
    measures: str | None = None
    min_cell: int = 5
    quiet: bool = False
    db: str | None = None
    schema: str = "supervision"


def build_report(args: ReportArgs) -> list[Path]:
    """Write the pack(s) asked for; return the files written (HTML, then PDF if asked)."""
    from supervision.privacy import check_min_cell
    from supervision.warehouse import mask_url

    check_min_cell(args.min_cell)
    if (args.out is None) == (args.per_therapist is None):
        raise ConfigError("give either --out FILE.html or --per-therapist DIR")
    if args.therapist and args.per_therapist:
        raise ConfigError("--therapist and --per-therapist cannot be combined")
    say = Progress(args.quiet)
    say(f"loading {args.path}" if args.db is None else f"opening {mask_url(args.db)}")
    cl = opening.open_caseload(args.path, db=args.db, schema=args.schema, mapping=args.mapping,
                       measures=args.measures)
    quarter_window(args.quarter, cl)
    cover = cover_facts(cl, db=args.db, schema=args.schema)
    if args.db is None and is_demo_export(args.path):  # the generator's mark: say it on paper
        cover["demo"] = DEMO_LABEL
    ids = cl.therapist_ids()
    if args.therapist and args.therapist not in ids:
        raise ScopeError(
            f"therapist {args.therapist!r} is not in this export ({len(ids)} therapists: "
            f"{', '.join(ids[:20])}{' …' if len(ids) > 20 else ''})"
        )
    if args.per_therapist:
        out_dir = Path(args.per_therapist)
        out_dir.mkdir(parents=True, exist_ok=True)
        targets = [(t, out_dir / f"{safe_name(t)}.html") for t in ids]
    else:
        targets = [(args.therapist, Path(args.out))]  # type: ignore[arg-type, list-item]
    practice = None
    if targets[0][0] is not None:
        say("computing the anonymous practice aggregates for therapist packs")
        practice = practice_bundle(cl, args.quarter, cover, min_cell=args.min_cell)
    written: list[Path] = []
    for tid, html_path in targets:
        written += _one_pack(args, cl, cover if practice is None else practice, tid,
                             html_path, say)
    say(f"done: {len(written)} file(s)")
    return written


def _one_pack(
    args: ReportArgs, cl: Caseload, facts: dict[str, Any], tid: str | None, html_path: Path,
    say: Progress,
) -> list[Path]:
    """Execute one notebook, assemble, check and write one HTML (and its PDF).

    ``facts`` is the cover (practice pack) or the practice bundle holding it (therapist).
    """

    cover = facts.get("cover", facts)
    who = f"therapist {tid}" if tid else "the practice"
    with tempfile.TemporaryDirectory(prefix="supervision-report-") as tmp:
        if tid is None:
            extra = opening.source_vars(args.path, db=args.db, schema=args.schema,
                                        mapping=args.mapping)
            name = "practice.ipynb"
        else:
            write_therapist_bundle(cl, tid, args.quarter, Path(tmp), facts,
                                   min_cell=args.min_cell)
            extra = {opening.THERAPIST: tid, opening.SCOPED_DIR: tmp}
            name = "therapist.ipynb"
        say(f"{who}: executing {name} for {args.quarter}")
        fragments = run_notebook(name, kernel_values(args, cover, extra), scoped=tid is not None)
    title = f"{'Therapist ' + tid if tid else 'Practice review'} — {args.quarter}"
    document = page.assemble(fragments, title=title, demo=str(cover.get("demo") or ""))
    page.check_self_contained(document)
    html_path.parent.mkdir(parents=True, exist_ok=True)
    html_path.write_text(document, encoding="utf-8")
    say(f"{who}: wrote {html_path} ({len(document) / 1e6:.1f} MB, {page.count_figures(document)} "
        "figures)")
    written = [html_path]
    if args.pdf:
        pdf_path = html_path.with_suffix(".pdf")
        page.print_pdf(html_path, pdf_path)
        say(f"{who}: wrote {pdf_path}")
        written.append(pdf_path)
    return written


__all__ = [
    "ReportArgs",
    "build_report",
    "cover_facts",
    "describe_warehouse",
    "practice_bundle",
    "quarter_window",
    "safe_name",
    "write_therapist_bundle",
]
