"""The ``supervision`` command (domain.md §9).

No traceback ever reaches a user: a :class:`~supervision.errors.SupervisionError`
prints its message and exits 1; anything unexpected prints a short apology with
the error's type and exits 2 (``SUPERVISION_DEBUG=1`` shows the traceback).
"""

from __future__ import annotations

import argparse
import datetime as dt
import re
import sys
import traceback
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from supervision.errors import ConfigError, ExportNotice, SupervisionError
from supervision.settings import settings

if TYPE_CHECKING:
    from supervision.caseload import Caseload


def _date(text: str) -> dt.date:
    """``--since`` / ``--until``: an ISO date ``YYYY-MM-DD`` that exists."""
    if not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", text.strip()):
        raise argparse.ArgumentTypeError(f"expected a date as YYYY-MM-DD, got {text!r}")
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a date of the calendar (month 01–12, a day the month has)"
        ) from None


def _port(text: str) -> int:
    """``--port``: a TCP port number, 1–65535."""
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a port number, got {text!r}") from None
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{port} is not a port number (1–65535)")
    return port


def _notify(command: str, notices: Sequence[str]) -> None:
    """Each notice as an :class:`~supervision.errors.ExportNotice`, shown on standard error as
    ``supervision COMMAND: notice: …`` (standard output stays the JSON or CSV)."""
    def show(message: Warning | str, *_: object, **__: object) -> None:
        print(f"supervision {command}: notice: {message}", file=sys.stderr)

    with warnings.catch_warnings():
        warnings.simplefilter("always", ExportNotice)
        warnings.showwarning = show
        for n in notices:
            warnings.warn(ExportNotice(n), stacklevel=2)


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve() or (a.exists() and b.exists() and a.samefile(b))
    except OSError:
        return False


def _refuse_overwrite(out: str | None, args: argparse.Namespace) -> None:
    """``--out`` must not be the export, a file inside its folder, or the mapping/measures."""
    if not out:
        return
    target = Path(out)
    path = Path(args.path) if getattr(args, "path", None) else None
    if path is not None and (_same_file(target, path) or (
        path.is_dir() and target.resolve().is_relative_to(path.resolve())
    )):
        raise ConfigError(f"--out {out} is inside the export ({args.path}); nothing was "
                          "written. Write the output somewhere outside the export.")
    for flag in ("mapping", "measures"):
        given = getattr(args, flag, None)
        if given and _same_file(target, Path(given)):
            raise ConfigError(f"--out {out} is the --{flag} file; nothing was written")


def _add_common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--mapping", metavar="FILE", help="TOML mapping of export columns/values")
    p.add_argument("--measures", metavar="FILE", help="TOML file extending the measure registry")


def _add_hub(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("hub", help="the practice server: sign-in and roles, on JupyterHub "
                       "(also: supervision hub invite NAME, supervision hub passwd NAME)")
    p.add_argument("path", metavar="PATH", help="export")
    _add_common(p)
    p.add_argument("--roles", required=True, metavar="FILE",
                   help="TOML naming every user: [users.NAME] role = therapist|supervisor|lead")
    p.add_argument("--port", type=_port, default=8000, help="1–65535 (default 8000)")
    p.add_argument("--ip", default="127.0.0.1", metavar="ADDR",
                   help="listen on ADDR (default 127.0.0.1; put TLS in front: docs/hub.md)")
    _add_state_dir(p)
    p.add_argument("--oidc", metavar="ISSUER_URL", help="sign in through the practice's "
                   "identity provider (OpenID Connect), e.g. https://accounts.google.com; "
                   "without it, passwords set with `supervision hub invite/passwd`")
    p.add_argument("--oidc-claim", default="email", choices=["email", "preferred_username"],
                   help="the claim matched to the roles file's login (else NAME); default email")
    p.add_argument("--oidc-client-file", metavar="FILE", help="TOML with client_id and "
                   "client_secret (mode 600); else SUPERVISION_OIDC_CLIENT_ID and "
                   "SUPERVISION_OIDC_CLIENT_SECRET from the environment")
    p.add_argument("--session-hours", type=float, default=8.0, metavar="H",
                   help="a sign-in lasts at most H hours (default 8, a working day)")
    p.add_argument("--public-url", metavar="URL", help="https://HOST/ people use, through "
                   "your TLS reverse proxy: cookies get Secure (docs/hub.md)")
    p.add_argument("--public-name", action="append", default=[], metavar="NAME",
                   help="also answer to this host name (the reverse proxy's)")
    p.add_argument("--cull-timeout", type=int, default=3600, metavar="SECONDS",
                   help="stop a user's server idle this long (default 3600)")
    p.add_argument("--min-cell", type=int, default=5, metavar="N")
    p.set_defaults(func=cmd_hub)
    _add_hub_accounts(sub)


def _add_hub_accounts(sub: argparse._SubParsersAction) -> None:
    """``supervision hub invite NAME`` and ``supervision hub passwd NAME`` (see :func:`main`)."""
    p = sub.add_parser("hub-invite", prog="supervision hub invite", help=argparse.SUPPRESS,
                       description="Issue NAME a one-time enrolment code: with it they set "
                       "their own password at /hub/enrol.")
    p.add_argument("name", metavar="NAME", help="a user name of the roles file")
    _add_state_dir(p)
    p.add_argument("--roles", metavar="FILE", help="check that NAME is in this roles file")
    p.add_argument("--hours", type=float, default=72.0, metavar="H",
                   help="the code expires after H hours (default 72)")
    p.set_defaults(func=cmd_hub_invite)

    p = sub.add_parser("hub-passwd", prog="supervision hub passwd", help=argparse.SUPPRESS,
                       description="Store NAME's password (asked twice; from standard input "
                       "when that is not a terminal).")
    p.add_argument("name", metavar="NAME", help="a user name of the roles file")
    _add_state_dir(p)
    p.add_argument("--roles", metavar="FILE", help="check that NAME is in this roles file")
    p.set_defaults(func=cmd_hub_passwd)


def _add_state_dir(p: argparse.ArgumentParser) -> None:
    p.add_argument("--state-dir", default="supervision-hub", metavar="DIR",
                   help="the hub's database, cookie secret and passwords (default "
                   "./supervision-hub; back it up)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="supervision",
        description="Clinical-supervision dashboards over anonymised caseload exports.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("demo", help="write a SYNTHETIC demo export")
    p.add_argument("--out", default="data/demo", metavar="DIR")
    p.add_argument("--episodes", type=int, default=300, metavar="N")
    p.add_argument("--seed", type=int, default=7, metavar="S")
    p.add_argument("--format", choices=["csv", "parquet"], default="csv")
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("validate", help="check an export; list every problem")
    p.add_argument("path", metavar="PATH")
    _add_common(p)
    p.add_argument("--quiet", action="store_true", help="no progress output")
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser("metrics", help="compute the figures: alliance, rupture and repair, "
                       "endings and outcomes, neurotype match, cases to discuss")
    p.add_argument("path", nargs="?", metavar="PATH", help="export (optional with --db)")
    _add_common(p)
    _add_db(p)
    p.add_argument("--therapist", metavar="ID",
                   help="print only this therapist's figures beside the whole practice's: "
                   "for whoever holds the export, not a copy for the therapist (theirs is "
                   "report --therapist or serve --therapist, through the privacy gate)")
    p.add_argument("--since", metavar="DATE", type=_date, help="YYYY-MM-DD")
    p.add_argument("--until", metavar="DATE", type=_date, help="YYYY-MM-DD")
    p.add_argument("--min-cell", type=int, default=5, metavar="N",
                   help="suppress breakdown cells below N episodes (default 5; at least 5)")
    p.add_argument("--format", choices=["json", "csv"], default="json")
    p.add_argument("--out", metavar="FILE", help="write here instead of standard output")
    p.set_defaults(func=cmd_metrics)

    p = sub.add_parser("gains", help="list sudden gains (or losses) on an outcome "
                       "measure")
    p.add_argument("path", metavar="PATH")
    _add_common(p)
    p.add_argument("--measure", metavar="M",
                   help="outcome measure key (default: the export's only outcome measure)")
    p.add_argument("--losses", action="store_true", help="sudden losses instead of gains")
    p.add_argument("--therapist", metavar="ID")
    p.add_argument("--format", choices=["json", "csv"], default="json")
    p.set_defaults(func=_cmd_gains, db=None, db_parser=p)

    p = sub.add_parser("serve", help="serve the dashboards with Voilà on 127.0.0.1")
    p.add_argument("path", nargs="?", metavar="PATH",
                   help="export (default data/demo, else the SYNTHETIC demo the package "
                   "ships; not with --db)")
    _add_common(p)
    _add_db(p)
    p.add_argument("--ip", default="127.0.0.1", metavar="ADDR",
                   help="listen on ADDR (default 127.0.0.1; any other needs a token)")
    p.add_argument("--token-file", metavar="FILE",
                   help="file holding the access token (or set SUPERVISION_TOKEN)")
    p.add_argument("--public-name", action="append", default=[], metavar="NAME",
                   help="also answer to this host name (a proxy's or DNS name; repeatable; "
                   "loopback names and --ip always)")
    p.add_argument("--max-kernels", type=int, metavar="N",
                   help="kernels serving pages at once (default 8 or SUPERVISION_MAX_KERNELS)")
    p.add_argument("--therapist", metavar="ID", help="fix the server to this therapist's view")
    p.add_argument("--demo-therapist", metavar="ID=URL",
                   help="list on the landing page the therapist view of ID served at URL by "
                   "its own server (make demo)")
    p.add_argument("--port", type=_port, default=8866, help="1–65535 (default 8866)")
    p.add_argument("--min-cell", type=int, default=5, metavar="N")
    p.add_argument("--no-browser", action="store_true", default=True, help=argparse.SUPPRESS)
    p.set_defaults(func=cmd_serve)

    _add_hub(sub)

    p = sub.add_parser("load", help="validate an export and bulk-load it into PostgreSQL")
    p.add_argument("path", metavar="PATH")
    p.add_argument("--into", required=True, metavar="URL",
                   help="postgresql://host/database (password from PGPASSWORD or ~/.pgpass)")
    _add_common(p)
    p.add_argument("--schema", default="supervision", metavar="NAME")
    p.add_argument("--quiet", action="store_true", help="no progress output")
    p.set_defaults(func=cmd_load)

    p = sub.add_parser("report", help="write the quarterly review pack (self-contained HTML/PDF)")
    p.add_argument("path", nargs="?", metavar="PATH", help="export (optional with --db)")
    _add_db(p)
    p.add_argument("--quarter", required=True, metavar="YYYYQn")
    who = p.add_mutually_exclusive_group()
    who.add_argument("--therapist", metavar="ID", help="one therapist's pack")
    who.add_argument("--per-therapist", metavar="DIR", help="one pack per therapist in DIR")
    p.add_argument("--out", metavar="FILE.html", help="the pack (required unless --per-therapist)")
    p.add_argument("--pdf", action="store_true", help="also print FILE.pdf (headless Chromium)")
    _add_common(p)
    p.add_argument("--min-cell", type=int, default=5, metavar="N")
    p.add_argument("--quiet", action="store_true", help="no progress output")
    p.set_defaults(func=cmd_report)

    p = sub.add_parser("expected", help="the practice's expected-response bands and their "
                       "back-test (how well they predicted past episodes)")
    p.add_argument("path", metavar="PATH")
    _add_common(p)
    p.add_argument("--measure", metavar="M", help="outcome measure (default: the first present)")
    p.add_argument("--format", choices=["json", "csv"], default="json")
    p.set_defaults(func=cmd_expected, db=None, db_parser=p)

    return parser


def cmd_demo(args: argparse.Namespace) -> int:
    from supervision.demo import write_demo

    summary = write_demo(Path(args.out), episodes=args.episodes, seed=args.seed, fmt=args.format)
    print(summary)
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    from supervision.io import load_export, summarize
    from supervision.io.scratch import scratch_backend

    # A database file with a memory limit, not RAM: a 2 GB export must not need 20 GB.
    with scratch_backend(args.path) as con:
        caseload = load_export(
            args.path, mapping=args.mapping, measures=args.measures, progress=not args.quiet,
            con=con,
        )
        print(summarize(caseload))
    return 0


def cmd_metrics(args: argparse.Namespace) -> int:
    _refuse_overwrite(args.out, args)
    caseload = _open_caseload(args)
    from supervision.metrics import compute_metrics, metrics_json_bytes, metrics_to_csv

    notices = list(caseload.notices)
    if args.since and args.until and args.since > args.until:
        notices.append(f"--since {args.since} is after --until {args.until}: the window is "
                       "empty, so every figure below is empty or null (swap them?)")
    if args.therapist is not None:
        notices.append(f"the practice figures beside {args.therapist!r} are the whole "
                       "practice's over these dates (minus the therapist's own, the other "
                       "therapists'): this output is for whoever holds the export, not to be "
                       "handed to the therapist; give them report --therapist or serve "
                       "--therapist, which pass the privacy gate")
    _notify(args.command, notices)

    result = compute_metrics(
        caseload, therapist=args.therapist, since=args.since, until=args.until,
        min_cell=args.min_cell,
    )
    if args.format == "csv":
        data = (metrics_to_csv(result) + "\n").encode("utf-8")
    else:  # bytes straight from orjson: a national export's JSON is 100+ MB, held once
        data = metrics_json_bytes(result)
    del result
    if args.out:
        Path(args.out).write_bytes(data)
    else:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
    return 0


def _cmd_gains(args: argparse.Namespace) -> int:
    """One row per sudden gain or loss (domain.md §10): a JSON list of objects, or CSV."""
    import io
    import json

    from supervision.clinical import sudden_gains as sg
    from supervision.csvsafe import csv_writer
    from supervision.errors import ScopeError
    caseload = _open_caseload(args)
    _notify(args.command, caseload.notices)
    known = caseload.therapist_ids()
    if args.therapist is not None and args.therapist not in known:
        raise ScopeError(f"no therapist {args.therapist!r} in this export "
                         f"({len(known)} therapists)")
    measure = args.measure or sg.default_measure(caseload)
    sg.outcome_measure(caseload, measure)
    if measure not in caseload.measures_present():
        present = ", ".join(caseload.measures_present("outcome")) or "none"
        raise ConfigError(f"no {measure} scores in this export; outcome measures with scores: "
                          f"{present}")
    # the whole export, then the therapist's rows: a sample-based cut-off stays the practice's
    events = sg.sudden_events(caseload, measure=measure, kind="loss" if args.losses else "gain")
    if args.therapist is not None:
        events = events.filter(events.therapist_id == args.therapist)
    rows = events.execute().to_dict(orient="records")
    if args.format == "json":
        text = json.dumps(rows, indent=2, allow_nan=False) + "\n"
    else:
        buf = io.StringIO()
        w = csv_writer(buf, lineterminator="\n")
        w.writerow(sg.EVENT_COLUMNS)
        for r in rows:
            w.writerow(str(v).lower() if isinstance(v, bool) else v for v in r.values())
        text = buf.getvalue()
    sys.stdout.write(text)
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from supervision.serve import ExposureError, demo_export, serve

    if args.path is not None and args.db is not None:
        args.db_parser.error("give PATH or --db URL, not both")
    links = []
    if args.demo_therapist:
        who, _, url = args.demo_therapist.partition("=")
        if not who or not url.startswith(("http://", "https://")):
            args.db_parser.error("--demo-therapist takes ID=URL, e.g. T01=http://127.0.0.1:8867/")
        links.append({
            "title": f"Your caseload: reflection (demo therapist {who})",
            "for": f"The therapist's own view as demo therapist {who} sees it. It opens that "
            "therapist's own server (its landing page), fixed to them: only their rows and "
            "anonymous practice figures reach it.",
            "url": url.rstrip("/") + "/"})  # its landing page: a render from here is refused
    try:
        return serve(
            args.path if args.db else (args.path or demo_export()), therapist=args.therapist,
            port=args.port, mapping=args.mapping, measures=args.measures,
            min_cell=args.min_cell, db=args.db, schema=args.schema, ip=args.ip,
            token_file=args.token_file, public_name=args.public_name,
            max_kernels=args.max_kernels, links=links,
        )
    except ExposureError as exc:  # a usage refusal: exit 2, like argparse
        print(f"supervision serve: {exc}", file=sys.stderr)
        return 2


def _hub_module(name: str) -> Any:
    import importlib

    try:
        return importlib.import_module(f"supervision.hub.{name}")
    except ImportError as exc:  # pragma: no cover - the [hub] extra is missing
        raise ConfigError(f"supervision hub needs the [hub] extra: pip install "
                          f"'supervision[hub]' ({exc.name} is missing)") from None


def cmd_hub(args: argparse.Namespace) -> int:
    return _hub_module("server").hub(
        args.path, roles=args.roles, port=args.port, ip=args.ip, state_dir=args.state_dir,
        mapping=args.mapping, measures=args.measures, min_cell=args.min_cell,
        public_name=args.public_name, cull_timeout=args.cull_timeout, oidc_issuer=args.oidc,
        oidc_claim=args.oidc_claim, oidc_client_file=args.oidc_client_file,
        session_hours=args.session_hours, public_url=args.public_url)


def _roles_of(args: argparse.Namespace) -> dict | None:
    return _hub_module("roles").read_roles(args.roles) if args.roles else None


def cmd_hub_invite(args: argparse.Namespace) -> int:
    print(_hub_module("passwords").invite(args.state_dir, args.name, hours=args.hours,
                                          roles=_roles_of(args)))
    return 0


def _read_password(name: str) -> str:
    if not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\r\n")
    import getpass

    first = getpass.getpass(f"New password for {name}: ")
    if getpass.getpass("Again: ") != first:
        raise ConfigError("the two passwords differ; nothing stored")
    return first


def cmd_hub_passwd(args: argparse.Namespace) -> int:
    passwords = _hub_module("passwords")
    roles = _roles_of(args)
    passwords.account_name(args.name, roles)
    print(passwords.set_password(args.state_dir, args.name, _read_password(args.name),
                                 roles=roles))
    return 0


def _add_db(p: argparse.ArgumentParser) -> None:
    p.add_argument("--db", metavar="URL", help="compute in PostgreSQL (postgresql://…, tables "
                   "from `supervision load`) or Spark (local[N], spark://…)")
    p.add_argument("--schema", default="supervision", metavar="NAME",
                   help="PostgreSQL schema / Spark database holding the tables")
    p.set_defaults(db_parser=p)  # so that "neither PATH nor --db" is a usage error (exit 2)


def _open_caseload(args: argparse.Namespace) -> Caseload:
    """The export at PATH in DuckDB; the tables behind ``--db``; or PATH computed on Spark."""
    from supervision.opening import open_caseload

    if args.db is None and args.path is None:
        args.db_parser.error("the following arguments are required: PATH (or --db URL)")
    return open_caseload(args.path, db=args.db, schema=getattr(args, "schema", "supervision"),
                         mapping=args.mapping, measures=args.measures, spark=True)


def cmd_load(args: argparse.Namespace) -> int:
    from supervision.io import load_export
    from supervision.warehouse import load_into

    caseload = load_export(
        args.path, mapping=args.mapping, measures=args.measures, progress=not args.quiet
    )
    _notify(args.command, caseload.notices)
    print(load_into(caseload, args.into, schema=args.schema))
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from supervision.report import ReportArgs, build_report

    if (args.path is None) == (args.db is None):
        args.db_parser.error("give exactly one of PATH and --db URL")
    _refuse_overwrite(args.out, args)
    keys = ("path", "quarter", "out", "therapist", "per_therapist", "pdf", "mapping",
            "measures", "min_cell", "quiet", "db", "schema")
    for path in build_report(ReportArgs(**{k: getattr(args, k) for k in keys})):
        print(path)
    return 0


def cmd_expected(args: argparse.Namespace) -> int:
    """``supervision expected``: the bands (intake, session, percentiles, n) and back-test."""
    import json

    from supervision.clinical.expected import backtest, expected_bands, outcome_measure

    caseload = _open_caseload(args)
    notices = list(caseload.notices)
    present = caseload.measures_present("outcome")
    measure = args.measure or (present[0] if present else None)
    if measure is None:
        raise ConfigError("the export has no outcome scores, so there is nothing to compare "
                          "progress with (outcome measures: "
                          f"{', '.join(m.key for m in caseload.registry.outcome)})")
    outcome_measure(caseload, measure)  # unknown or alliance measure: a clear error
    if measure not in present:
        raise ConfigError(f"the export has no {measure} scores; outcome measures with scores: "
                          f"{', '.join(present) or 'none'}")
    if not args.measure and len(present) > 1:
        notices.append(f"showing {measure}; also present: {', '.join(present[1:])} "
                       "(choose with --measure)")
    _notify(args.command, notices)
    bands = expected_bands(caseload, measure=measure)
    result = {"measure": measure, "bands": [
        {k: (int(v) if k in ("session", "n", "width") else float(v)) for k, v in row.items()}
        for row in bands.to_dict("records")
    ], "backtest": backtest(caseload, measure=measure)}
    if args.format == "csv":
        print(_expected_csv(result))
    else:
        print(json.dumps(result, indent=2, allow_nan=False))
    return 0


def _expected_csv(result: dict) -> str:
    """Long CSV ``measure, section, intake, session, key, value``: a ``bands`` row per band
    figure, a ``backtest`` row per back-test figure (``sensitivity.rate``, ``….ci.low``)."""
    import io

    from supervision.csvsafe import csv_writer

    buf = io.StringIO()
    w = csv_writer(buf, lineterminator="\n")
    w.writerow(["measure", "section", "intake", "session", "key", "value"])
    m = result["measure"]
    for b in result["bands"]:
        for key in ("p10", "p25", "p50", "p75", "p90", "n", "width"):
            w.writerow([m, "bands", b["intake"], b["session"], key, b[key]])
    for key, value in result["backtest"].items():
        if not isinstance(value, dict):
            w.writerow([m, "backtest", "", "", key, value])
            continue
        for sub, v in value.items():
            pairs = zip(("low", "high"), v or (None, None), strict=True) if sub == "ci" else [
                ("", v)]
            for end, x in pairs:
                name = f"{key}.{sub}.{end}" if end else f"{key}.{sub}"
                w.writerow([m, "backtest", "", "", name, "" if x is None else x])
    return buf.getvalue().rstrip("\n")


def _debug() -> bool:
    """``SUPERVISION_DEBUG`` is set (a settings error here must not hide the first one)."""
    try:
        return settings().debug
    except ConfigError:
        return False


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``supervision`` console script."""
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["hub"] and argv[1:2] in (["invite"], ["passwd"]):
        argv = [f"hub-{argv[1]}", *argv[2:]]  # `supervision hub invite NAME`
    args = parser.parse_args(argv)
    func: Callable[[argparse.Namespace], int] = args.func
    command = args.command.replace("hub-", "hub ")
    try:
        return func(args)
    except SupervisionError as exc:
        print(f"supervision {command}: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"supervision {command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except Exception as exc:  # the last line of defence: no traceback reaches a user
        if _debug():
            traceback.print_exc()
        print(
            f"supervision {command}: unexpected internal error ({type(exc).__name__}). "
            "This is a bug in supervision, not in your export; please report it "
            "(run with SUPERVISION_DEBUG=1 for details).",
            file=sys.stderr,
        )
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
